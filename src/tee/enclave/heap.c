/* heap.c -- the trusted heap.
 *
 * tee_malloc and friends serve a call's allocations from its enclave's EPC heap (src/epc: a
 * budgeted region paged out encrypted, as SGX pages its EPC); the dispatcher makes that heap
 * current around every handler. Outside calls (the runtime's own bookkeeping) they use the
 * process heap; tee_free and tee_realloc find which heap a pointer belongs to. Memory for
 * secrets is not here but in src/tee/secret, below the trust code and the platform.
 *
 * Growth is asked of the host (tee_heap_commit): the host charges the pages to the enclave's EPC
 * accounting group and refuses past the group's limit, as the kernel's sgx_epc cgroup refuses an
 * EAUG. */
#include "tee/enclave/rt.h"

#include <cloister/epc.h>
#include <cloister/tee_enclave.h>

#include <stdatomic.h>
#include <stdlib.h>

static _Thread_local epc_heap *current_heap;

epc_heap *tee_heap_switch(epc_heap *h)
{
    epc_heap *prev = current_heap;
    current_heap = h;
    return prev;
}

epc_heap *tee_heap_new(const struct tee_config *c)
{
    struct epc_config cfg = {
        .size = (size_t)c->heap_size,
        .budget = c->epc_budget == TEE_EPC_UNLIMITED ? EPC_BUDGET_UNLIMITED : (size_t)c->epc_budget,
        .pager = EPC_PAGER_AUTO,
        /* A handler thread would run under the proc backend's seccomp filter (TSYNC), whose
         * allowlist has neither read(2) nor sched_setaffinity. */
        .serve = EPC_SERVE_SIGNAL,
    };
    return epc_heap_create(&cfg);
}

int tee_heap_commit(void *arg, uint64_t pages)
{
    struct tee_rt *rt = arg;
    struct tee_env *env = tee_env_current();
    if (atomic_load(&rt->commit_unasked) || !env || env->rt != rt || !env->port || env->in_ocall)
        return 0; /* granted now, reported with the next request (which carries the total) */
    uint8_t buf[WIRE_VARINT_MAX];
    struct wire_writer w;
    wire_writer_init_fixed(&w, buf, sizeof buf);
    wire_put_varint(&w, pages);
    uint8_t *out;
    size_t outlen;
    /* Not from this heap: an allocation here would ask again (the answer is empty anyway). */
    epc_heap *prev = tee_heap_switch(NULL);
    int rc = tee_ocall(env, TEE_OCALL_EPC_COMMIT, w.buf, w.len, &out, &outlen);
    tee_heap_switch(prev);
    free(out);
    if (rc == CLOISTER_E_STATE || rc == CLOISTER_E_NO_ECALL) {
        atomic_store(&rt->commit_unasked, true); /* no group on this host */
        return 0;
    }
    return rc == CLOISTER_OK ? 0 : -1;
}

void *tee_malloc(size_t n)
{
    return current_heap ? epc_malloc(current_heap, n) : malloc(n);
}

void *tee_calloc(size_t count, size_t size)
{
    return current_heap ? epc_calloc(current_heap, count, size) : calloc(count, size);
}

void *tee_realloc(void *p, size_t n)
{
    if (!p)
        return tee_malloc(n);
    epc_heap *h = epc_heap_owner(p);
    return h ? epc_realloc(h, p, n) : realloc(p, n);
}

void tee_free(void *p)
{
    epc_heap *h = epc_heap_owner(p);
    if (h)
        epc_free(h, p);
    else
        free(p);
}

void *tee_lua_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    (void)ud;
    (void)osize;
    if (nsize == 0) {
        tee_free(ptr);
        return NULL;
    }
    return tee_realloc(ptr, nsize);
}
