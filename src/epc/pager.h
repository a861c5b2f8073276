/* pager.h -- the paged region under an EPC heap (see pager.c for the design).
 *
 * Internal to src/epc/ and its tests: the heap (heap.c) puts an allocator on top; tests and
 * benchmarks use the region directly to control exactly which pages are touched, and reach the
 * untrusted backing store to tamper with it. */
#ifndef CLOISTER_EPC_PAGER_H
#define CLOISTER_EPC_PAGER_H

#include <cloister/epc.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EPC_MIN_BUDGET_PAGES 16u
#define EPC_MAX_SIZE ((size_t)1 << 40)
/* Most pages evicted in one block: 512 pages (2 MiB) are what one page-table page maps. */
#define EPC_MAX_CLUSTER 512u

struct epc_pager;

/* NULL with errno set after logging why. */
struct epc_pager *epc_pager_create(const struct epc_config *cfg);
void epc_pager_destroy(struct epc_pager *p);

/* The region (page-aligned) and its size in bytes. */
uint8_t *epc_pager_base(const struct epc_pager *p);
size_t epc_pager_size(const struct epc_pager *p);
/* The mechanism actually in use (never EPC_PAGER_AUTO); AUTO for an unlimited budget. */
enum epc_pager_kind epc_pager_kind(const struct epc_pager *p);
/* Pages per eviction block: a fault that finds the budget full evicts the oldest resident page
 * and the other resident pages of its aligned block (CLOISTER_EPC_CLUSTER; by default 512, or an
 * eighth of the budget if that is less; 1 is the old one-eviction-per-fault path). */
size_t epc_pager_cluster(const struct epc_pager *p);

/* Fills the paging fields of out (not the heap_* fields). Plain memory (no pager) leaves the
 * resident counts 0: the heap fills them from the allocator, without a system call (the proc
 * backend's seccomp allowlist has no mincore). */
void epc_pager_stats(struct epc_pager *p, struct epc_stats *out);

/* Ends the process after one line on stderr naming what broke (and the page, unless it is
 * SIZE_MAX). Async-signal-safe: used inside fault handlers, where nothing else may run. */
_Noreturn void epc_fatal(const char *what, size_t page, int err);

/* Test hooks. Whether page i is resident now. */
bool epc_pager_resident(struct epc_pager *p, size_t page);
/* The untrusted backing-store slot of page i: ciphertext (EPC_PAGE_SIZE bytes) followed by
 * the 16-byte tag. Meaningful once the page has been evicted. */
uint8_t *epc_pager_backing_slot(struct epc_pager *p, size_t page);
#define EPC_SLOT_SIZE (EPC_PAGE_SIZE + 16u)

#endif
