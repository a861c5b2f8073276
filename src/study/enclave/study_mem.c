/* study_mem.c -- the study's memory kernels (study_mem.h). Sequential accesses step one cache
 * line at a time and wrap; random ones draw a word with xorshift64* and map it into the working
 * set by multiply-shift (no division in the loop). Reads are summed, writes store the counter. */
#include "study_mem.h"

static const char *const pattern_names[STUDY_PATTERNS] = {"seq_read", "seq_write", "rand_read",
                                                          "rand_write"};

const char *study_pattern_name(enum study_pattern p)
{
    return p < STUDY_PATTERNS ? pattern_names[p] : "?";
}

static inline uint64_t next(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 0x2545F4914F6CDD1Dull;
}

/* A word index below words (< 2^32 words: 32 GiB, far beyond any working set here). */
static inline size_t pick(uint64_t *s, size_t words)
{
    return (size_t)(((next(s) >> 32) * (uint64_t)words) >> 32);
}

void study_cursor_init(struct study_cursor *c)
{
    c->at = 0;
    c->seed = 0x9e3779b97f4a7c15ull;
}

uint64_t study_mem_run(uint64_t *buf, size_t words, enum study_pattern p, uint64_t n,
                       struct study_cursor *c)
{
    volatile uint64_t *w = buf;
    uint64_t sum = 0, s = c->seed;
    size_t at = c->at < words ? c->at : 0;
    for (uint64_t i = 0; i < n; i++) {
        switch (p) {
        case STUDY_SEQ_READ: sum += w[at]; break;
        case STUDY_SEQ_WRITE: w[at] = i; break;
        case STUDY_RAND_READ: sum += w[pick(&s, words)]; break;
        default: w[pick(&s, words)] = i; break;
        }
        if (p <= STUDY_SEQ_WRITE && (at += 8) >= words)
            at = 0;
    }
    c->at = at;
    c->seed = s;
    return sum;
}
