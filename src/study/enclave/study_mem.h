/* study_mem.h -- the memory kernels of the memory-protection study, shared by the study enclave
 * and the native configuration of `cloister study memory-protection` (the same code measured
 * inside and outside an enclave), and the study enclave's ecalls. */
#ifndef CLOISTER_STUDY_MEM_H
#define CLOISTER_STUDY_MEM_H

#include <stddef.h>
#include <stdint.h>

/* The access patterns, after stress-ng's memory stressors and pmbw's sweeps: one 8-byte word
 * per 64-byte line in order (sequential), or a uniformly random word (random). */
enum study_pattern {
    STUDY_SEQ_READ,
    STUDY_SEQ_WRITE,
    STUDY_RAND_READ,
    STUDY_RAND_WRITE,
    STUDY_PATTERNS
};

/* "seq_read", "seq_write", "rand_read", "rand_write". */
const char *study_pattern_name(enum study_pattern p);
/* Where a sweep goes on from: the next line of the sequential patterns, the random generator's
 * state. Kept between runs, so that a repeated run does not find the pages the last one made
 * resident. */
struct study_cursor {
    size_t at;
    uint64_t seed;
};
/* A cursor at the start: line 0, a fixed seed. */
void study_cursor_init(struct study_cursor *c);
/* n accesses of pattern p over words 64-bit words at buf (words >= 8), from c (advanced);
 * returns a checksum of what was read, so that the compiler keeps the reads. */
uint64_t study_mem_run(uint64_t *buf, size_t words, enum study_pattern p, uint64_t n,
                       struct study_cursor *c);

enum {
    STUDY_ECALL_PREPARE = 1, /* in: u64 working-set bytes; allocates and touches it; out: - */
    STUDY_ECALL_MEM = 2,     /* in: u8 pattern, u64 accesses; out: u64 checksum */
    STUDY_ECALL_ECHO = 3,    /* in: -; out: - (one enclave transition and back) */
    STUDY_ECALL_ALLOC = 4,   /* in: u32 bytes, u64 count; malloc, touch, free, count times */
};

#endif
