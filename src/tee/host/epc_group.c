/* epc_group.c -- EPC accounting groups: every enclave of a group (a pod) draws its EPC pages
 * from one limit, as the kernel's misc cgroup sgx_epc charges EAUG'd pages to a cgroup.
 *
 * An enclave joins its group in tee_create, which charges TEE_EPC_BASE_PAGES at once (SECS, TCS,
 * SSA, stack: what EINIT needs) and refuses the enclave when they do not fit. Its heap grows by
 * asking (TEE_OCALL_EPC_COMMIT, in chunks, with the total it wants): the group grants the
 * difference when the sum of its members stays within the limit, and refuses otherwise, so the
 * allocation that needed the pages fails inside the enclave and the call's error says why.
 * Pages are given back when the enclave is destroyed, and after a restart the enclave starts
 * from the base again. One mutex per group orders every charge, so the sum is never passed even
 * when members grow at once. The original (Vaucher et al.) checked each enclave alone against
 * its pod's limit at EINIT; here the limit is on the sum, at creation and at every growth. */
#define CLOG_MODULE "tee"
#include "tee/host/host.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"

struct tee_epc_group {
    pthread_mutex_t lock;
    char name[TEE_NAME_MAX];
    uint64_t limit, committed, peak, refusals;
    struct tee_enclave *members; /* linked through epc_next */
    char last_refusal[256];
};

static bool group_name_ok(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n >= TEE_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.'))
            return false;
    }
    return true;
}

tee_epc_group *tee_epc_group_new(const char *name, uint64_t limit_pages, struct cloister_err *err)
{
    if (!group_name_ok(name))
        return cloister_errf(err, CLOISTER_E_INVALID,
                             "EPC group name: 1-%d letters, digits, '-', '_' or '.'",
                             TEE_NAME_MAX - 1),
               NULL;
    if (limit_pages == 0)
        return cloister_errf(err, CLOISTER_E_INVALID, "EPC group '%s': the limit must be > 0",
                             name),
               NULL;
    tee_epc_group *g = calloc(1, sizeof *g);
    if (!g)
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory"), NULL;
    pthread_mutex_init(&g->lock, NULL);
    snprintf(g->name, sizeof g->name, "%s", name);
    g->limit = limit_pages;
    return g;
}

void tee_epc_group_free(tee_epc_group *g)
{
    if (!g)
        return;
    if (g->members)
        clog_error("EPC group '%s' freed with enclaves still in it", g->name);
    pthread_mutex_destroy(&g->lock);
    free(g);
}

void tee_epc_group_set_limit(tee_epc_group *g, uint64_t limit_pages)
{
    pthread_mutex_lock(&g->lock);
    g->limit = limit_pages;
    pthread_mutex_unlock(&g->lock);
}

void tee_epc_group_stats(tee_epc_group *g, struct tee_epc_group_stats *out)
{
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&g->lock);
    memcpy(out->name, g->name, sizeof out->name);
    out->limit_pages = g->limit;
    out->committed_pages = g->committed;
    out->peak_committed_pages = g->peak;
    out->refusals = g->refusals;
    memcpy(out->last_refusal, g->last_refusal, sizeof out->last_refusal);
    for (const struct tee_enclave *e = g->members; e; e = e->epc_next)
        out->enclaves++;
    pthread_mutex_unlock(&g->lock);
}

size_t tee_epc_group_members(tee_epc_group *g, struct tee_epc_member *out, size_t cap)
{
    size_t n = 0;
    pthread_mutex_lock(&g->lock);
    for (const struct tee_enclave *e = g->members; e; e = e->epc_next, n++) {
        if (n >= cap)
            continue;
        memcpy(out[n].name, e->name, sizeof out[n].name);
        out[n].pid = e->pid;
        out[n].serial = e->serial;
        out[n].committed_pages = e->epc_committed;
        out[n].refusals = e->epc_refusals;
    }
    pthread_mutex_unlock(&g->lock);
    return n;
}

/* Grows e's charge to pages in all, or refuses. Group lock held. */
static int charge_locked(tee_epc_group *g, struct tee_enclave *e, uint64_t pages,
                         struct cloister_err *err)
{
    if (pages <= e->epc_committed)
        return CLOISTER_OK;
    uint64_t delta = pages - e->epc_committed;
    if (g->committed + delta > g->limit || g->committed + delta < g->committed) {
        g->refusals++;
        e->epc_refusals++;
        snprintf(g->last_refusal, sizeof g->last_refusal,
                 "EPC group '%s' refused enclave '%s' %llu pages (limit %llu, group has %llu)",
                 g->name, e->name, (unsigned long long)pages, (unsigned long long)g->limit,
                 (unsigned long long)g->committed);
        clog_info("%s", g->last_refusal);
        return cloister_errf(err, CLOISTER_E_TOO_BIG, "%s", g->last_refusal);
    }
    g->committed += delta;
    if (g->committed > g->peak)
        g->peak = g->committed;
    e->epc_committed = pages;
    return CLOISTER_OK;
}

int host_epc_join(struct tee_enclave *e, struct cloister_err *err)
{
    tee_epc_group *g = e->opt.epc_group;
    if (!g)
        return CLOISTER_OK;
    pthread_mutex_lock(&g->lock);
    e->epc_committed = 0;
    int rc = charge_locked(g, e, TEE_EPC_BASE_PAGES, err);
    if (rc == CLOISTER_OK) {
        e->epc_next = g->members;
        g->members = e;
    }
    pthread_mutex_unlock(&g->lock);
    return rc;
}

void host_epc_leave(struct tee_enclave *e)
{
    tee_epc_group *g = e->opt.epc_group;
    if (!g)
        return;
    pthread_mutex_lock(&g->lock);
    for (struct tee_enclave **p = &g->members; *p; p = &(*p)->epc_next)
        if (*p == e) {
            *p = e->epc_next;
            g->committed -= e->epc_committed;
            e->epc_committed = 0;
            break;
        }
    pthread_mutex_unlock(&g->lock);
}

void host_epc_reset(struct tee_enclave *e)
{
    tee_epc_group *g = e->opt.epc_group;
    if (!g)
        return;
    pthread_mutex_lock(&g->lock);
    if (e->epc_committed > TEE_EPC_BASE_PAGES) {
        g->committed -= e->epc_committed - TEE_EPC_BASE_PAGES;
        e->epc_committed = TEE_EPC_BASE_PAGES;
    }
    pthread_mutex_unlock(&g->lock);
}

int host_epc_commit(struct tee_enclave *e, const uint8_t *in, size_t inlen,
                    struct cloister_err *err)
{
    tee_epc_group *g = e->opt.epc_group;
    if (!g) /* no text: the answer is no larger than an empty one, so no buffer of the
               enclave's port grows (and its heap keeps what it kept between calls) */
        return cloister_errf(err, CLOISTER_E_STATE, "%s", "");
    struct wire_reader r;
    wire_reader_init(&r, in, inlen);
    uint64_t heap_pages = wire_get_varint(&r);
    if (wire_reader_finish(&r) != 0 || heap_pages > UINT64_MAX - TEE_EPC_BASE_PAGES)
        return cloister_errf(err, CLOISTER_E_INVALID, "epc_commit: %s",
                             wire_reader_ok(&r) ? "page count out of range"
                                                : wire_reader_error(&r));
    pthread_mutex_lock(&g->lock);
    int rc = charge_locked(g, e, TEE_EPC_BASE_PAGES + heap_pages, err);
    pthread_mutex_unlock(&g->lock);
    return rc;
}

void host_epc_explain(struct tee_enclave *e, uint64_t refusals_before, struct cloister_err *err)
{
    tee_epc_group *g = e->opt.epc_group;
    if (!g || !err)
        return;
    pthread_mutex_lock(&g->lock);
    bool refused = e->epc_refusals != refusals_before;
    char why[sizeof g->last_refusal];
    memcpy(why, g->last_refusal, sizeof why);
    pthread_mutex_unlock(&g->lock);
    if (refused)
        cloister_err_wrap(err, "%s", why);
}

uint64_t host_epc_refusals(struct tee_enclave *e)
{
    tee_epc_group *g = e->opt.epc_group;
    if (!g)
        return 0;
    pthread_mutex_lock(&g->lock);
    uint64_t n = e->epc_refusals;
    pthread_mutex_unlock(&g->lock);
    return n;
}
