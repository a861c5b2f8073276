/* group_admin.c -- IBBE-SGX group management with γ (the enclave side, as a library).
 *
 * create: gk fresh, members cut into ⌈N/n⌉ partitions, each with an O(s) enclave encryption
 *         and gk wrapped under its broadcast key: O(N) field operations + O(m) group operations.
 * add:    first partition with room: C2 ← C2^{γ+H}, C3 ← C3^{γ+H} (k and b unchanged, so the
 *         wrap stays valid); a new partition wrapping the current gk when all are full.
 * remove: gk fresh, epoch + 1, the old gk wrapped under the new (key regression, kept in the
 *         group record); C3 ← C3^{1/(γ+H)} in the member's partition (an emptied
 *         partition is replaced by the last one); every partition re-keyed with a fresh k
 *         (a batch of removals shares one re-keying):
 *         C1 = w^{-k}, C2 = C3^k, b = KDF(v^k). When fewer than half the slots are used
 *         (IBBE_REPARTITION_DIVISOR) and fewer partitions would do, the members are packed
 *         again into ⌈N/n⌉ partitions instead (O(N), amortised over the removals that led
 *         there).
 * Duplicate identities are refused (on create by a hash set of H(id), on add by the group's
 * member index: both O(1) per member). */
#include "ibbe/enclave/secret.h"

#include <cloister/crypto.h>

#include <stdlib.h>
#include <string.h>

/* Encrypts partition i of g to its members and wraps g->gk under the broadcast key. */
static int seal_partition(const ibbe_msk *msk, ibbe_group *g, size_t i, bool fresh_c3)
{
    struct ibbe_partition *p = &g->parts[i];
    uint8_t b[IBBE_KEY_LEN];
    int rc = fresh_c3 ? ibbe_encrypt(msk, p->hashes, p->count, &p->hdr, b)
                      : ibbe_secret_rekey(msk, NULL, &p->hdr, b);
    if (rc == 0)
        rc = ibbe_wrap_key(p->wrap, b, g->gk, g->name, i, g->epoch);
    crypto_wipe(b, sizeof b);
    p->loaded = rc == 0;
    return rc;
}

/* Whether two members share H(id) (a repeated identity: equal hashes are equal identities but
 * for a hash collision, which IBBE could not tell apart either), *which the second of them. A
 * hash set indexed by the low bits of H: O(N). -1 when out of memory. */
static int repeated_identity(const bls_fr *hashes, size_t count, bool *repeated, size_t *which)
{
    size_t cap = 64;
    while (cap < 2 * count)
        cap *= 2;
    uint32_t *t = malloc(cap * sizeof *t);
    if (!t)
        return -1;
    memset(t, 0xff, cap * sizeof *t); /* UINT32_MAX: empty */
    *repeated = false;
    for (size_t i = 0; i < count && !*repeated; i++) {
        size_t k = (size_t)(hashes[i].l[0] & (cap - 1));
        while (t[k] != UINT32_MAX && !(*repeated = bls_fr_eq(&hashes[t[k]], &hashes[i])))
            k = (k + 1) & (cap - 1);
        t[k] = (uint32_t)i;
        *which = i;
    }
    free(t);
    return 0;
}

/* Fills an empty g with the members, ⌈N/n⌉ partitions, each sealed to g->gk. */
static int build_partitions(const ibbe_msk *msk, ibbe_group *g, const char *const *ids,
                            const bls_fr *hashes, size_t count, struct cloister_err *err)
{
    size_t m = (count + g->n - 1) / g->n;
    for (size_t i = 0; i < m; i++) {
        if (ibbe_group_grow(g) != 0)
            return cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
        for (size_t j = i * g->n; j < count && j < (i + 1) * g->n; j++)
            if (ibbe_group_append(g, i, ids[j], &hashes[j]) != 0)
                return cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
        if (seal_partition(msk, g, i, true) != 0)
            return cloister_errf(err, CLOISTER_E_FAILED, "partition encryption failed");
    }
    return 0;
}

int ibbe_group_create(const ibbe_msk *msk, const char *name, const char *const *ids, size_t count,
                      ibbe_group **out, struct cloister_err *err)
{
    return ibbe_group_create_at(msk, name, ids, count, 1, out, err);
}

int ibbe_group_create_at(const ibbe_msk *msk, const char *name, const char *const *ids,
                         size_t count, uint64_t epoch, ibbe_group **out, struct cloister_err *err)
{
    if (!ibbe_group_name_valid(name))
        return cloister_errf(err, CLOISTER_E_INVALID, "invalid group name");
    if (count == 0)
        return cloister_errf(err, CLOISTER_E_INVALID, "a group needs at least one member");
    bls_fr *hashes = count <= UINT32_MAX / 2 ? malloc(count * sizeof *hashes) : NULL;
    ibbe_group *g = ibbe_group_alloc(name, msk->pk->n, 0);
    bool repeated;
    size_t which = 0;
    int rc;
    if (!hashes || !g) {
        rc = cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < count; i++)
        if (ibbe_hash_id(&hashes[i], ids[i]) != 0) {
            rc = cloister_errf(err, CLOISTER_E_INVALID, "invalid member identity '%.64s'", ids[i]);
            goto out;
        }
    if (repeated_identity(hashes, count, &repeated, &which) != 0) {
        rc = cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
        goto out;
    }
    if (repeated) {
        rc = cloister_errf(err, CLOISTER_E_EXISTS, "duplicate member identity %.64s", ids[which]);
        goto out;
    }
    g->epoch = epoch;
    if (crypto_random(g->gk, IBBE_KEY_LEN) != 0) {
        rc = cloister_errf(err, CLOISTER_E_FAILED, "random number generator failed");
        goto out;
    }
    g->has_key = true;
    if ((rc = build_partitions(msk, g, ids, hashes, count, err)) != CLOISTER_OK)
        goto out;
    *out = g;
    g = NULL;
out:
    ibbe_group_free(g);
    free(hashes);
    return rc;
}

/* Adding H: C2 and C3 raised to γ + H. Removing H: C3 raised to 1/(γ + H) (C2 is then
 * recomputed from C3 by the re-keying). */
static int raise_header(const ibbe_msk *msk, struct ibbe_partition *p, const bls_fr *hash,
                        bool remove)
{
    bls_fr e;
    if (ibbe_secret_exponent(msk, hash, remove, &e) != 0)
        return -1;
    if (!remove)
        bls_g1_mul(&p->hdr.c2, &p->hdr.c2, &e);
    bls_g1_mul(&p->hdr.c3, &p->hdr.c3, &e);
    crypto_wipe(&e, sizeof e);
    return 0;
}

int ibbe_group_add(const ibbe_msk *msk, ibbe_group *g, const char *id, struct cloister_err *err)
{
    bls_fr h;
    if (!g->has_key)
        return cloister_errf(err, CLOISTER_E_STATE, "group not opened by the admin");
    if (ibbe_hash_id(&h, id) != 0)
        return cloister_errf(err, CLOISTER_E_INVALID, "invalid member identity");
    if (ibbe_group_find(g, id) >= 0)
        return cloister_errf(err, CLOISTER_E_EXISTS, "%.64s is already a member of %s", id,
                             g->name);
    size_t i = 0;
    while (i < g->count && g->parts[i].count >= g->n)
        i++;
    if (i == g->count) {
        if (ibbe_group_grow(g) != 0 || ibbe_group_append(g, i, id, &h) != 0)
            return cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
        if (seal_partition(msk, g, i, true) != 0)
            return cloister_errf(err, CLOISTER_E_FAILED, "partition encryption failed");
        return 0;
    }
    if (ibbe_group_append(g, i, id, &h) != 0)
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
    if (raise_header(msk, &g->parts[i], &h, false) != 0) {
        ibbe_group_delete(g, i, g->parts[i].count - 1);
        return cloister_errf(err, CLOISTER_E_FAILED, "identity collides with the master secret");
    }
    return 0;
}

/* Packs the members of g into ⌈N/n⌉ fresh partitions sealed to g->gk. */
static int repartition(const ibbe_msk *msk, ibbe_group *g, struct cloister_err *err)
{
    size_t total = ibbe_group_size(g), k = 0;
    const char **ids = malloc(total * sizeof *ids);
    bls_fr *hashes = malloc(total * sizeof *hashes);
    ibbe_group *fresh = ibbe_group_alloc(g->name, g->n, 0);
    int rc;
    if (!ids || !hashes || !fresh) {
        rc = cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
        goto out;
    }
    for (size_t p = 0; p < g->count; p++)
        for (size_t i = 0; i < g->parts[p].count; i++, k++) {
            ids[k] = g->parts[p].ids[i];
            hashes[k] = g->parts[p].hashes[i];
        }
    fresh->epoch = g->epoch;
    memcpy(fresh->gk, g->gk, IBBE_KEY_LEN);
    if ((rc = build_partitions(msk, fresh, ids, hashes, total, err)) != CLOISTER_OK)
        goto out;
    ibbe_group_truncate(g, 0); /* drops the index too */
    free(g->parts);
    g->parts = fresh->parts;
    g->count = fresh->count;
    fresh->parts = NULL;
    fresh->count = 0;
out:
    ibbe_group_free(fresh);
    free(ids);
    free(hashes);
    return rc;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Refuses a batch with a non-member, a repeated identity or every member: g stays as it was. */
static int check_removals(const ibbe_group *g, const char *const *ids, size_t count,
                          struct cloister_err *err)
{
    size_t part, i;
    if (count == 0)
        return cloister_errf(err, CLOISTER_E_INVALID, "no member to remove");
    for (size_t k = 0; k < count; k++)
        if (ibbe_group_locate(g, ids[k], &part, &i) != 0)
            return cloister_errf(err, CLOISTER_E_NOT_FOUND, "%.64s is not a member of %s", ids[k],
                                 g->name);
    if (count >= ibbe_group_size(g))
        return cloister_errf(err, CLOISTER_E_INVALID, "cannot remove the last member of a group");
    const char **sorted = malloc(count * sizeof *sorted);
    if (!sorted)
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
    memcpy(sorted, ids, count * sizeof *sorted);
    ibbe_sort(sorted, count, sizeof *sorted, cmp_str);
    int rc = CLOISTER_OK;
    for (size_t k = 1; k < count && rc == CLOISTER_OK; k++)
        if (strcmp(sorted[k - 1], sorted[k]) == 0)
            rc = cloister_errf(err, CLOISTER_E_INVALID, "%.64s is twice in one removal", sorted[k]);
    free(sorted);
    return rc;
}

/* A fresh gk at epoch + 1, and the key regression link that gives the old gk to holders of the
 * new one. */
static int next_epoch(ibbe_group *g, struct cloister_err *err)
{
    uint8_t old[IBBE_KEY_LEN], link[IBBE_WRAP_BYTES];
    int rc = CLOISTER_OK;
    memcpy(old, g->gk, IBBE_KEY_LEN);
    if (crypto_random(g->gk, IBBE_KEY_LEN) != 0)
        rc = cloister_errf(err, CLOISTER_E_FAILED, "random number generator failed");
    else if (ibbe_link_wrap(link, g->gk, old, g->name, ++g->epoch) != 0 ||
             ibbe_group_push_link(g, link) != 0)
        rc = cloister_errf(err, CLOISTER_E_NO_MEMORY, "cannot link the new group key to the old");
    crypto_wipe(old, sizeof old);
    return rc;
}

int ibbe_group_remove_many(const ibbe_msk *msk, ibbe_group *g, const char *const *ids, size_t count,
                           struct cloister_err *err)
{
    if (!g->has_key)
        return cloister_errf(err, CLOISTER_E_STATE, "group not opened by the admin");
    int rc = check_removals(g, ids, count, err);
    if (rc != CLOISTER_OK)
        return rc;
    for (size_t k = 0; k < count; k++) {
        size_t part, i;
        if (ibbe_group_locate(g, ids[k], &part, &i) != 0)
            return cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
        struct ibbe_partition *p = &g->parts[part];
        bls_fr h = p->hashes[i];
        if (p->count > 1 && raise_header(msk, p, &h, true) != 0)
            return cloister_errf(err, CLOISTER_E_FAILED,
                                 "identity collides with the master secret");
        ibbe_group_delete(g, part, i);
        if (p->count == 0)
            ibbe_group_drop_partition(g, part);
    }
    if ((rc = next_epoch(g, err)) != CLOISTER_OK)
        return rc;
    size_t total = ibbe_group_size(g), needed = (total + g->n - 1) / g->n;
    if (total * IBBE_REPARTITION_DIVISOR < g->count * g->n && needed < g->count)
        return repartition(msk, g, err);
    for (size_t j = 0; j < g->count; j++)
        if (seal_partition(msk, g, j, false) != 0)
            return cloister_errf(err, CLOISTER_E_FAILED, "partition re-keying failed");
    return 0;
}

int ibbe_group_remove(const ibbe_msk *msk, ibbe_group *g, const char *id, struct cloister_err *err)
{
    return ibbe_group_remove_many(msk, g, &id, 1, err);
}

int ibbe_group_admin_open(const ibbe_msk *msk, ibbe_group *g, struct cloister_err *err)
{
    if (!ibbe_group_complete(g))
        return cloister_errf(err, CLOISTER_E_STATE,
                             "group state incomplete: a partition record is missing");
    if (g->n != msk->pk->n)
        return cloister_errf(err, CLOISTER_E_INVALID,
                             "group partition size differs from the public key's");
    uint8_t b[IBBE_KEY_LEN], gk[IBBE_KEY_LEN];
    int rc = CLOISTER_OK;
    for (size_t i = 0; i < g->count && rc == CLOISTER_OK; i++) {
        struct ibbe_partition *p = &g->parts[i];
        bls_fr t;
        bls_g1 c3;
        if (ibbe_secret_product(msk, p->hashes, p->count, &t) != 0) {
            rc = cloister_errf(err, CLOISTER_E_FAILED, "identity collides with the master secret");
            break;
        }
        ibbe_secret_c3(msk, &t, &c3);
        crypto_wipe(&t, sizeof t);
        if (!bls_g1_eq(&c3, &p->hdr.c3))
            rc = cloister_errf(err, CLOISTER_E_DENIED,
                               "tampered metadata: a partition's C3 "
                               "does not match its member list");
        else if (ibbe_decrypt_admin(msk, p->hashes, p->count, &p->hdr, b) != 0 ||
                 ibbe_unwrap_key(i == 0 ? g->gk : gk, b, p->wrap, g->name, i, g->epoch) != 0)
            rc = cloister_errf(err, CLOISTER_E_DENIED,
                               "tampered metadata: a partition's group key does not open");
        else if (i > 0 && !crypto_memeq(gk, g->gk, IBBE_KEY_LEN))
            rc = cloister_errf(err, CLOISTER_E_DENIED,
                               "tampered metadata: partitions wrap different group keys");
    }
    g->has_key = rc == CLOISTER_OK;
    if (rc != CLOISTER_OK)
        crypto_wipe(g->gk, IBBE_KEY_LEN);
    crypto_wipe(b, sizeof b);
    crypto_wipe(gk, sizeof gk);
    return rc;
}
