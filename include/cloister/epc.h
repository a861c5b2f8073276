/* epc.h -- the enclave page cache emulator: a heap whose resident memory has a budget, paged
 * out encrypted the way SGX pages its EPC.
 *
 * An epc_heap is a region of virtual memory (its size) of which at most `budget` bytes are
 * resident at a time. Touching a page that is not resident is a fault served in the faulting
 * thread: if the budget is full, the oldest resident page is evicted (FIFO) -- sealed with
 * AES-256-GCM under a random per-heap key into an untrusted backing store (nonce = page index
 * and the page's version, page index as associated data) and dropped -- then the faulting page
 * is loaded back (opened, checked, mapped) or, on first touch, mapped as zeros. Versions live in
 * trusted memory, so a tampered or replayed page in the backing store ends the process with an
 * integrity error: the heap never hands back data it cannot vouch for. Nothing is delayed
 * artificially; the cost per fault is the real cost of the fault, the crypto and the mapping.
 *
 * Faults are caught with userfaultfd (EPC_PAGER_UFFD, preferred) or with mprotect + SIGSEGV
 * (EPC_PAGER_SIGSEGV). With EPC_BUDGET_UNLIMITED (an Ice-Lake-class EPC larger than any
 * working set) the region is plain memory: no faults, no crypto.
 *
 * The one rule for callers: never pass a pointer into an EPC heap to a system call. The kernel
 * cannot take these faults for us, so a syscall that meets a non-resident page fails with
 * EFAULT. Copy through a buffer outside the heap (the enclave runtime's ocall path does).
 * Do not touch the heap from asynchronous signal handlers either. An EPC heap is not inherited
 * by fork(). Allocation functions are thread-safe. */
#ifndef CLOISTER_EPC_H
#define CLOISTER_EPC_H

#include <cloister/error.h>
#include <cloister/export.h>
#include <cloister/wire.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define EPC_PAGE_SIZE 4096u
/* SGX1's usable EPC: 93.5 MiB of the 128 MiB Processor Reserved Memory. */
#define EPC_BUDGET_SGX1 ((size_t)98041856)
/* No budget: the whole region may stay resident. */
#define EPC_BUDGET_UNLIMITED SIZE_MAX

enum epc_pager_kind {
    EPC_PAGER_AUTO,    /* CLOISTER_EPC_PAGER=uffd|sigsegv if set, else uffd when the kernel has
                          it, else sigsegv */
    EPC_PAGER_UFFD,    /* userfaultfd, faults delivered as SIGBUS to the faulting thread */
    EPC_PAGER_SIGSEGV, /* mprotect(PROT_NONE) on non-resident pages, SIGSEGV handler */
};

/* Who serves a userfaultfd fault (docs/epc.md, section 2). */
enum epc_serve {
    EPC_SERVE_AUTO,   /* CLOISTER_EPC_SERVE=thread|signal if set, else signal */
    EPC_SERVE_SIGNAL, /* the faulting thread, in its SIGBUS handler */
    EPC_SERVE_THREAD, /* a handler thread per region, on the faulting thread's core if it is
                         pinned to one; the faulting thread sleeps in the kernel meanwhile */
};

struct epc_config {
    size_t size;   /* bytes of address space, rounded up to pages; at most 1 TiB */
    size_t budget; /* resident bytes (rounded down to pages, at least 16 pages), or
                      EPC_BUDGET_UNLIMITED */
    enum epc_pager_kind pager;
    enum epc_serve serve; /* ignored by the sigsegv mechanism */
};

typedef struct epc_heap epc_heap;

/* Creates a heap; NULL with errno set (EINVAL bad config, ENOSYS no paging mechanism,
 * ENOMEM) after logging the reason. */
CLOISTER_API epc_heap *epc_heap_create(const struct epc_config *cfg);
/* Unmaps the region and the backing store and wipes the key. NULL is fine. */
CLOISTER_API void epc_heap_destroy(epc_heap *h);

/* malloc/calloc/realloc/free over the region: 16-byte aligned, NULL with errno = ENOMEM when
 * the region is full. epc_realloc(h, p, 0) frees p and returns NULL. */
CLOISTER_API void *epc_malloc(epc_heap *h, size_t n);
CLOISTER_API void *epc_calloc(epc_heap *h, size_t count, size_t size);
CLOISTER_API void *epc_realloc(epc_heap *h, void *p, size_t n);
CLOISTER_API void epc_free(epc_heap *h, void *p);
/* Commitment, for EPC accounting groups (tee.h): once set, the heap asks fn(arg, pages) before
 * it grows past the pages already granted, chunk_pages at a time; pages is the total wanted
 * (a prefix of the region). fn returns 0 to grant them; anything else makes the allocation fail
 * with ENOMEM and leaves the heap as it was. fn is called without the heap's lock (it may free
 * and allocate), possibly from several threads at once; grants only raise what is committed.
 * NULL fn: no asking (the default). */
typedef int (*epc_commit_fn)(void *arg, uint64_t pages);
CLOISTER_API void epc_heap_set_commit(epc_heap *h, epc_commit_fn fn, void *arg, size_t chunk_pages);
/* True when p points into the heap's region. */
CLOISTER_API bool epc_owns(const epc_heap *h, const void *p);
/* The live heap whose region holds p, or NULL (p is then not an EPC allocation). */
CLOISTER_API epc_heap *epc_heap_owner(const void *p);
/* A lua_Alloc (lua_newstate(epc_lua_alloc, heap)): every allocation of the state is paged. */
CLOISTER_API void *epc_lua_alloc(void *heap, void *ptr, size_t osize, size_t nsize);

struct epc_stats {
    const char *pager; /* "userfaultfd", "sigsegv" or "none" (unlimited budget) */
    bool unlimited;
    uint64_t size;           /* region bytes */
    uint64_t budget_pages;   /* 0 when unlimited */
    uint64_t resident_pages; /* now (no pager: the pages the allocator has reached) */
    uint64_t peak_resident_pages;
    uint64_t faults; /* accesses that found their page not resident */
    uint64_t evictions;
    uint64_t bytes_encrypted; /* evicted pages sealed */
    uint64_t bytes_decrypted; /* pages opened back (first touches decrypt nothing) */
    uint64_t fault_ns;        /* time spent serving faults, inside the handler */
    uint64_t heap_in_use;     /* bytes handed out by the allocator, headers included */
    uint64_t heap_peak;
};

CLOISTER_API void epc_heap_stats(epc_heap *h, struct epc_stats *out);

/* The counters as a wire record, to cross the enclave boundary: header "CEPS" v1, u8 pager
 * (0 none, 1 userfaultfd, 2 sigsegv), u8 unlimited (0 or 1), then varints size, budget_pages,
 * resident_pages, peak_resident_pages, faults, evictions, bytes_encrypted, bytes_decrypted,
 * fault_ns, heap_in_use, heap_peak. Decoding refuses anything else (*err says what, at which
 * offset; CLOISTER_E_INVALID) and fills out only on success. */
CLOISTER_API void epc_stats_encode(const struct epc_stats *s, struct wire_writer *w);
CLOISTER_API int epc_stats_decode(struct epc_stats *out, const void *buf, size_t len,
                                  struct cloister_err *err);
/* Human-readable lines ("  faults   1234 ..."), each starting with indent. */
CLOISTER_API void epc_stats_print(FILE *out, const struct epc_stats *s, const char *indent);
/* A jansson object (json_t *) with the same fields; the caller owns it. */
CLOISTER_API struct json_t *epc_stats_json(const struct epc_stats *s);

/* The memory-cliff probe (benchmark and demo): allocates `working_set` bytes from h, touches
 * them once, then times accesses for at least `seconds`. An access is a read-modify-write of
 * one 8-byte word: at a random word whose address depends on the previous value read (so
 * accesses do not overlap and latency shows), or the next 64-byte line, wrapping around. */
enum epc_pattern { EPC_PATTERN_RANDOM, EPC_PATTERN_SEQUENTIAL };

struct epc_probe {
    uint64_t accesses;
    double ns_per_access;
    double faults_per_access;
    double handler_ns_per_fault; /* time inside the fault handler, per fault (0 if none) */
    /* CPU time (user + system) of the whole process per access, the timed accesses only (a
     * fault-handling thread's work included): waiting for a core, on a shared machine, does
     * not inflate it. */
    double cpu_ns_per_access;
};

/* 0, or -1 with errno = ENOMEM when the heap cannot hold the working set. */
CLOISTER_API int epc_probe_access(epc_heap *h, size_t working_set, enum epc_pattern pattern,
                                  double seconds, struct epc_probe *out);

/* Parses a budget given in MiB ("93.5", "128") or "unlimited" into bytes (rounded down to
 * pages). Returns 0, or -1 for anything else (negative, zero, not a number, over 1 TiB). */
CLOISTER_API int epc_parse_budget(const char *text, size_t *bytes);
/* Formats a budget as "93.5 MiB" or "unlimited". */
CLOISTER_API void epc_format_budget(size_t bytes, char *out, size_t cap);

#endif
