/* probe.c -- the memory-cliff measurement shared by `make bench` and `cloister epc`.
 *
 * Random accesses chain through memory: the next address mixes the value just read, so each
 * access waits for the previous one, as a pointer chase does, without building a chain first
 * (which would itself take millions of faults above the budget). Sequential accesses touch one
 * word per 64-byte line, so a page that is not resident costs one fault per 64 accesses.
 * Batches grow until one takes 20 ms, then run until `seconds` have passed; the result is the
 * total time over the total count, faults included: they are what is being measured. The CPU
 * time of the timed accesses comes beside it: on a shared machine it leaves out the time spent
 * waiting for a core. It is the whole process's (getrusage RUSAGE_SELF), so that the work of a
 * fault-handling thread (CLOISTER_EPC_SERVE=thread) counts: probe with nothing else running. */
#include <cloister/epc.h>

#include <errno.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#define LINE_WORDS 8 /* one 8-byte word per 64-byte line */

__extension__ typedef unsigned __int128 u128;

struct cursor {
    uint64_t *mem;
    size_t words;
    uint64_t state; /* random: generator; sequential: position */
};

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* CPU time of the process, every thread (user + system). */
static double process_cpu_ns(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ((double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 +
            (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec)) *
           1e3;
}

static void run_random(struct cursor *c, uint64_t n)
{
    uint64_t *mem = c->mem, s = c->state, v = 0;
    size_t words = c->words;
    for (uint64_t k = 0; k < n; k++) {
        s ^= s >> 12;
        s ^= s << 25;
        s ^= s >> 27;
        uint64_t h = (s + v) * 0x2545F4914F6CDD1Dull;
        size_t i = (size_t)(((u128)h * words) >> 64); /* uniform in [0, words) */
        v = mem[i];
        mem[i] = v + 1;
    }
    c->state = s;
}

static void run_sequential(struct cursor *c, uint64_t n)
{
    uint64_t *mem = c->mem;
    size_t pos = (size_t)c->state, words = c->words;
    for (uint64_t k = 0; k < n; k++) {
        mem[pos]++;
        pos += LINE_WORDS;
        if (pos >= words)
            pos = 0;
    }
    c->state = pos;
}

int epc_probe_access(epc_heap *h, size_t working_set, enum epc_pattern pattern, double seconds,
                     struct epc_probe *out)
{
    memset(out, 0, sizeof *out);
    struct cursor c = {epc_malloc(h, working_set), working_set / 8, 0x9e3779b97f4a7c15ull};
    if (!c.mem || c.words < LINE_WORDS) {
        epc_free(h, c.mem);
        errno = ENOMEM;
        return -1;
    }
    memset(c.mem, 0, c.words * 8); /* every page touched once; the tail stays resident */
    if (pattern == EPC_PATTERN_SEQUENTIAL)
        c.state = 0;
    void (*run)(struct cursor *, uint64_t) = pattern == EPC_PATTERN_RANDOM ? run_random
                                                                           : run_sequential;
    struct epc_stats before, after;
    epc_heap_stats(h, &before);
    uint64_t batch = 1024, total = 0;
    double spent = 0, cpu0 = process_cpu_ns();
    while (spent < seconds * 1e9) {
        double t0 = now_ns();
        run(&c, batch);
        double dt = now_ns() - t0;
        spent += dt;
        total += batch;
        if (dt < 20e6 && batch < (1ull << 32))
            batch *= 2;
    }
    double cpu = process_cpu_ns() - cpu0;
    epc_heap_stats(h, &after);
    uint64_t faults = after.faults - before.faults;
    out->accesses = total;
    out->ns_per_access = spent / (double)total;
    out->cpu_ns_per_access = cpu / (double)total;
    out->faults_per_access = (double)faults / (double)total;
    out->handler_ns_per_fault = faults ? (double)(after.fault_ns - before.fault_ns) / (double)faults
                                       : 0;
    epc_free(h, c.mem);
    return 0;
}
