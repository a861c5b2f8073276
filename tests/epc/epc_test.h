/* epc_test.h -- what the EPC tests share: a seeded generator, the pagers to run every case
 * with, and a child process for tests whose expected outcome is the end of the process. */
#ifndef CLOISTER_TESTS_EPC_TEST_H
#define CLOISTER_TESTS_EPC_TEST_H

#include <cloister/epc.h>

#include <stddef.h>
#include <stdint.h>

/* xorshift64*: fast, and the same sequence on every run for a given seed. */
static inline uint64_t test_rng(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 0x2545F4914F6CDD1Dull;
}

/* Both fault mechanisms; every paging test runs once with each. */
extern const enum epc_pager_kind test_pagers[2];

/* Smaller workloads under the sanitizers keep the ASan run of the suite short. */
#if defined(__SANITIZE_ADDRESS__)
#define TEST_SCALE 4
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_SCALE 4
#endif
#endif
#ifndef TEST_SCALE
#define TEST_SCALE 1
#endif

/* Runs fn(arg) in a forked child with its stderr captured into err (NUL-terminated). Returns
 * the raw wait status. The child exits 0 when fn returns. */
int test_in_child(void (*fn)(void *arg), void *arg, char *err, size_t cap);

#endif
