/* prng.h -- the one seeded generator of workloads (generators, benchmarks): SplitMix64, small,
 * fast and reproducible across machines. Never for keys or nonces: those come from
 * crypto_random() (the OS CSPRNG). */
#ifndef CLOISTER_UTIL_PRNG_H
#define CLOISTER_UTIL_PRNG_H

#include <stdint.h>

/* The next 64 random bits of the sequence that *state (any seed) selects. */
static inline uint64_t prng_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Uniform in [0, 1), 53 bits. */
static inline double prng_uniform(uint64_t *state)
{
    return (double)(prng_next(state) >> 11) / 9007199254740992.0;
}

#endif
