/* group.c -- a group's public state: partitions of members with their IBBE header and wrapped
 * group key, the wire records the store keeps, and member decryption of the group key.
 *
 * Nothing here needs γ. Member lists are kept in clear (as in the original system); each
 * member's hash H(id) is recomputed on decoding, never trusted from the store. Removing a
 * member moves the partition's last member into its slot (the set, not the order, matters). */
#include "ibbe/common/internal.h"

#include <cloister/crypto.h>
#include <cloister/wire.h>

#include <stdlib.h>
#include <string.h>

#define PARTITIONS_MAX (1u << 20)

bool ibbe_group_name_valid(const char *name)
{
    size_t len = name ? strnlen(name, IBBE_NAME_MAX + 1) : 0;
    if (len == 0 || len > IBBE_NAME_MAX || name[0] == '.')
        return false;
    return strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == len;
}

ibbe_group *ibbe_group_alloc(const char *name, size_t n, size_t partitions)
{
    if (!ibbe_group_name_valid(name) || n < 1 || n > IBBE_PARTITION_MAX ||
        partitions > PARTITIONS_MAX)
        return NULL;
    ibbe_group *g = calloc(1, sizeof *g);
    if (!g)
        return NULL;
    if (partitions && !(g->parts = calloc(partitions, sizeof *g->parts))) {
        free(g);
        return NULL;
    }
    strcpy(g->name, name);
    g->n = n;
    g->count = partitions;
    return g;
}

static void partition_clear(struct ibbe_partition *p)
{
    for (size_t i = 0; i < p->count; i++)
        free(p->ids[i]);
    free(p->ids);
    free(p->hashes);
    memset(p, 0, sizeof *p);
}

int ibbe_partition_append(struct ibbe_partition *p, const char *id, const bls_fr *hash)
{
    if (p->count == p->cap) {
        size_t cap = p->cap ? 2 * p->cap : 8;
        char **ids = realloc(p->ids, cap * sizeof *ids);
        if (!ids)
            return -1;
        p->ids = ids;
        bls_fr *hashes = realloc(p->hashes, cap * sizeof *hashes);
        if (!hashes)
            return -1;
        p->hashes = hashes;
        p->cap = cap;
    }
    if (!(p->ids[p->count] = strdup(id)))
        return -1;
    p->hashes[p->count++] = *hash;
    return 0;
}

static void partition_delete(struct ibbe_partition *p, size_t i)
{
    free(p->ids[i]);
    p->count--;
    p->ids[i] = p->ids[p->count];
    p->hashes[i] = p->hashes[p->count];
}

/* ---- member index ---------------------------------------------------------------------------- */

#define SLOT_EMPTY UINT32_MAX
#define SLOT_DELETED (UINT32_MAX - 1)

void ibbe_group_index_drop(ibbe_group *g)
{
    free(g->index);
    g->index = NULL;
    g->index_cap = g->index_used = 0;
}

static size_t slot_start(const ibbe_group *g, const bls_fr *hash)
{
    return (size_t)(hash->l[0] & (g->index_cap - 1));
}

/* The slot holding (part, i)'s member, found by its hash and identity; NULL if none. */
static struct ibbe_slot *index_slot(const ibbe_group *g, const char *id, const bls_fr *hash)
{
    for (size_t k = slot_start(g, hash), n = 0; n < g->index_cap;
         k = (k + 1) & (g->index_cap - 1), n++) {
        struct ibbe_slot *s = &g->index[k];
        if (s->part == SLOT_EMPTY)
            return NULL;
        if (s->part != SLOT_DELETED && strcmp(g->parts[s->part].ids[s->i], id) == 0)
            return s;
    }
    return NULL;
}

static void index_insert(ibbe_group *g, const bls_fr *hash, size_t part, size_t i)
{
    size_t k = slot_start(g, hash);
    while (g->index[k].part != SLOT_EMPTY && g->index[k].part != SLOT_DELETED)
        k = (k + 1) & (g->index_cap - 1);
    if (g->index[k].part == SLOT_EMPTY)
        g->index_used++;
    g->index[k] = (struct ibbe_slot){(uint32_t)part, (uint32_t)i};
}

/* (Re)builds the index for the current members with room to grow; -1 when out of memory. */
static int index_build(ibbe_group *g)
{
    size_t members = ibbe_group_size(g), cap = 64;
    while (cap < 2 * members + 64)
        cap *= 2;
    struct ibbe_slot *t = malloc(cap * sizeof *t);
    if (!t)
        return -1;
    free(g->index);
    g->index = t;
    g->index_cap = cap;
    g->index_used = 0;
    for (size_t k = 0; k < cap; k++)
        t[k].part = SLOT_EMPTY;
    for (size_t p = 0; p < g->count; p++)
        for (size_t i = 0; i < g->parts[p].count; i++)
            index_insert(g, &g->parts[p].hashes[i], p, i);
    return 0;
}

/* Makes sure the index exists with room for one more member (used slots at most 3/4). */
static int index_ready(ibbe_group *g)
{
    if (g->index && 4 * (g->index_used + 1) <= 3 * g->index_cap)
        return 0;
    return index_build(g);
}

int ibbe_group_locate(const ibbe_group *g, const char *id, size_t *part, size_t *i)
{
    bls_fr h;
    ibbe_group *mut = (ibbe_group *)g; /* the index is a cache: building it changes no state */
    if (ibbe_hash_id(&h, id) != 0 || index_ready(mut) != 0)
        return -1;
    const struct ibbe_slot *s = index_slot(g, id, &h);
    if (!s)
        return -1;
    *part = s->part;
    *i = s->i;
    return 0;
}

int ibbe_group_append(ibbe_group *g, size_t part, const char *id, const bls_fr *hash)
{
    struct ibbe_partition *p = &g->parts[part];
    if (ibbe_partition_append(p, id, hash) != 0)
        return -1;
    if (g->index && index_ready(g) == 0)
        index_insert(g, hash, part, p->count - 1);
    else
        ibbe_group_index_drop(g);
    return 0;
}

void ibbe_group_delete(ibbe_group *g, size_t part, size_t i)
{
    struct ibbe_partition *p = &g->parts[part];
    if (g->index) {
        struct ibbe_slot *s = index_slot(g, p->ids[i], &p->hashes[i]);
        struct ibbe_slot *last = index_slot(g, p->ids[p->count - 1], &p->hashes[p->count - 1]);
        if (last)
            last->i = (uint32_t)i;
        if (s)
            s->part = SLOT_DELETED;
    }
    partition_delete(p, i);
}

void ibbe_group_drop_partition(ibbe_group *g, size_t part)
{
    struct ibbe_partition *p = &g->parts[part], *last = &g->parts[g->count - 1];
    if (g->index)
        for (size_t i = 0; i < last->count; i++) {
            struct ibbe_slot *s = index_slot(g, last->ids[i], &last->hashes[i]);
            if (s)
                s->part = (uint32_t)part;
        }
    free(p->ids);
    free(p->hashes);
    *p = *last;
    g->count--;
}

static void swap_bytes(unsigned char *a, unsigned char *b, size_t size)
{
    for (size_t k = 0; k < size; k++) {
        unsigned char t = a[k];
        a[k] = b[k];
        b[k] = t;
    }
}

static void sift_down(unsigned char *v, size_t root, size_t n, size_t size,
                      int (*cmp)(const void *, const void *))
{
    for (size_t child; (child = 2 * root + 1) < n; root = child) {
        if (child + 1 < n && cmp(v + child * size, v + (child + 1) * size) < 0)
            child++;
        if (cmp(v + root * size, v + child * size) >= 0)
            return;
        swap_bytes(v + root * size, v + child * size, size);
    }
}

void ibbe_sort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
    unsigned char *v = base;
    for (size_t i = n / 2; i-- > 0;)
        sift_down(v, i, n, size, cmp);
    for (size_t end = n; end-- > 1;) {
        swap_bytes(v, v + end * size, size);
        sift_down(v, 0, end, size, cmp);
    }
}

void ibbe_group_forget_partition(ibbe_group *g, size_t part)
{
    ibbe_group_index_drop(g);
    partition_clear(&g->parts[part]);
}

int ibbe_group_grow(ibbe_group *g)
{
    if (g->count >= PARTITIONS_MAX)
        return -1;
    struct ibbe_partition *parts = realloc(g->parts, (g->count + 1) * sizeof *parts);
    if (!parts)
        return -1;
    g->parts = parts;
    memset(&parts[g->count++], 0, sizeof *parts);
    return 0;
}

void ibbe_group_truncate(ibbe_group *g, size_t partitions)
{
    ibbe_group_index_drop(g);
    while (g->count > partitions)
        partition_clear(&g->parts[--g->count]);
}

bool ibbe_group_complete(const ibbe_group *g)
{
    for (size_t i = 0; i < g->count; i++)
        if (!g->parts[i].loaded)
            return false;
    return g->count > 0;
}

void ibbe_group_free(ibbe_group *g)
{
    if (!g)
        return;
    ibbe_group_truncate(g, 0);
    free(g->parts);
    free(g->links);
    crypto_wipe(g, sizeof *g);
    free(g);
}

int ibbe_group_key(const ibbe_group *g, uint8_t gk[IBBE_KEY_LEN])
{
    if (!g->has_key)
        return -1;
    memcpy(gk, g->gk, IBBE_KEY_LEN);
    return 0;
}

int ibbe_group_push_link(ibbe_group *g, const uint8_t link[IBBE_WRAP_BYTES])
{
    if (g->nlinks == IBBE_LINKS_MAX) {
        memmove(g->links, g->links + 1, (g->nlinks - 1) * sizeof *g->links);
        g->nlinks--;
    } else if (g->nlinks == g->links_cap) {
        size_t cap = g->links_cap ? 2 * g->links_cap : 16;
        uint8_t(*links)[IBBE_WRAP_BYTES] = realloc(g->links, cap * sizeof *links);
        if (!links)
            return -1;
        g->links = links;
        g->links_cap = cap;
    }
    memcpy(g->links[g->nlinks++], link, IBBE_WRAP_BYTES);
    return 0;
}

uint64_t ibbe_group_oldest_epoch(const ibbe_group *g)
{
    return g->epoch - g->nlinks;
}

int ibbe_group_key_regress(const ibbe_group *g, const uint8_t gk[IBBE_KEY_LEN], uint64_t epoch,
                           uint8_t out[IBBE_KEY_LEN], struct cloister_err *err)
{
    if (epoch > g->epoch)
        return cloister_errf(err, CLOISTER_E_DENIED,
                             "epoch %llu is newer than group %s's (%llu): the store holds an "
                             "older copy of the group",
                             (unsigned long long)epoch, g->name, (unsigned long long)g->epoch);
    if (epoch < ibbe_group_oldest_epoch(g))
        return cloister_errf(err, CLOISTER_E_NOT_FOUND,
                             "group %s keeps the keys of epochs %llu to %llu, not of epoch %llu",
                             g->name, (unsigned long long)ibbe_group_oldest_epoch(g),
                             (unsigned long long)g->epoch, (unsigned long long)epoch);
    uint8_t k[IBBE_KEY_LEN];
    int rc = CLOISTER_OK;
    memcpy(k, gk, IBBE_KEY_LEN);
    for (uint64_t e = g->epoch; e > epoch && rc == CLOISTER_OK; e--)
        if (ibbe_link_unwrap(k, k, g->links[g->nlinks - (g->epoch - e) - 1], g->name, e) != 0)
            rc = cloister_errf(err, CLOISTER_E_DENIED,
                               "group %s: the key of epoch %llu does not open from epoch %llu "
                               "(tampered group record)",
                               g->name, (unsigned long long)e - 1, (unsigned long long)e);
    if (rc == CLOISTER_OK)
        memcpy(out, k, IBBE_KEY_LEN);
    crypto_wipe(k, sizeof k);
    return rc;
}

const char *ibbe_group_name(const ibbe_group *g)
{
    return g->name;
}
uint64_t ibbe_group_epoch(const ibbe_group *g)
{
    return g->epoch;
}
size_t ibbe_group_capacity(const ibbe_group *g)
{
    return g->n;
}
size_t ibbe_group_partitions(const ibbe_group *g)
{
    return g->count;
}

size_t ibbe_group_size(const ibbe_group *g)
{
    size_t total = 0;
    for (size_t i = 0; i < g->count; i++)
        total += g->parts[i].count;
    return total;
}

size_t ibbe_group_partition_size(const ibbe_group *g, size_t part)
{
    return part < g->count ? g->parts[part].count : 0;
}

const char *ibbe_group_member(const ibbe_group *g, size_t part, size_t i)
{
    return part < g->count && i < g->parts[part].count ? g->parts[part].ids[i] : NULL;
}

long ibbe_group_find(const ibbe_group *g, const char *id)
{
    size_t part, i;
    if (ibbe_group_locate(g, id, &part, &i) == 0)
        return (long)part;
    if (g->index) /* indexed: not a member */
        return -1;
    for (size_t p = 0; p < g->count; p++) /* no memory for the index: scan */
        for (size_t j = 0; j < g->parts[p].count; j++)
            if (strcmp(g->parts[p].ids[j], id) == 0)
                return (long)p;
    return -1;
}

/* ---- records ------------------------------------------------------------------------------ */

static size_t varint_len(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

size_t ibbe_partition_record_bytes(const ibbe_group *g, size_t part)
{
    const struct ibbe_partition *p = &g->parts[part];
    size_t total = WIRE_HEADER_LEN + varint_len(part) + 8 + IBBE_HEADER_BYTES + IBBE_WRAP_BYTES +
                   varint_len(p->count);
    for (size_t i = 0; i < p->count; i++) {
        size_t len = strlen(p->ids[i]);
        total += varint_len(len) + len;
    }
    return total;
}

int ibbe_group_encode_meta(const ibbe_group *g, uint8_t **out, size_t *len)
{
    struct wire_writer w;
    wire_writer_init(&w);
    wire_put_header(&w, "CIGR", 2);
    wire_put_str(&w, g->name);
    wire_put_u64(&w, g->epoch);
    wire_put_varint(&w, g->n);
    wire_put_varint(&w, g->count);
    wire_put_varint(&w, g->nlinks);
    for (size_t i = 0; i < g->nlinks; i++)
        wire_put_raw(&w, g->links[i], IBBE_WRAP_BYTES);
    return wire_writer_finish(&w, out, len);
}

int ibbe_group_encode_partition(const ibbe_group *g, size_t part, uint8_t **out, size_t *len)
{
    if (part >= g->count)
        return -1;
    const struct ibbe_partition *p = &g->parts[part];
    struct wire_writer w;
    wire_writer_init(&w);
    wire_put_header(&w, "CIPA", 1);
    wire_put_varint(&w, part);
    wire_put_u64(&w, g->epoch);
    uint8_t hdr[IBBE_HEADER_BYTES];
    ibbe_header_to_bytes(hdr, &p->hdr);
    wire_put_raw(&w, hdr, sizeof hdr);
    wire_put_raw(&w, p->wrap, IBBE_WRAP_BYTES);
    wire_put_varint(&w, p->count);
    for (size_t i = 0; i < p->count; i++)
        wire_put_str(&w, p->ids[i]);
    return wire_writer_finish(&w, out, len);
}

int ibbe_group_decode_meta(ibbe_group **out, const uint8_t *buf, size_t len,
                           struct cloister_err *err)
{
    struct wire_reader r;
    wire_reader_init(&r, buf, len);
    char name[IBBE_NAME_MAX + 1];
    uint16_t version = wire_get_header(&r, "CIGR", 2);
    wire_get_str(&r, name, sizeof name);
    uint64_t epoch = wire_get_u64(&r);
    uint64_t n = wire_get_varint(&r);
    uint64_t count = wire_get_varint(&r);
    size_t nlinks = version >= 2 ? wire_get_count(&r, IBBE_WRAP_BYTES, IBBE_LINKS_MAX) : 0;
    const uint8_t *links = wire_get_raw(&r, nlinks * IBBE_WRAP_BYTES);
    if (wire_reader_finish(&r) != 0)
        return cloister_errf(err, CLOISTER_E_INVALID, "group record: %s", wire_reader_error(&r));
    if (!ibbe_group_name_valid(name))
        return cloister_errf(err, CLOISTER_E_INVALID, "group record: invalid group name");
    if (n < 1 || n > IBBE_PARTITION_MAX)
        return cloister_errf(err, CLOISTER_E_INVALID, "group record: partition size out of range");
    if (count < 1 || count > PARTITIONS_MAX)
        return cloister_errf(err, CLOISTER_E_INVALID, "group record: partition count out of range");
    if (epoch < 1 || nlinks >= epoch)
        return cloister_errf(err, CLOISTER_E_INVALID,
                             "group record: more key regression links than epochs");
    ibbe_group *g = ibbe_group_alloc(name, n, count);
    if (g && nlinks && !(g->links = malloc(nlinks * IBBE_WRAP_BYTES))) {
        ibbe_group_free(g);
        g = NULL;
    }
    if (!g)
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "group record: out of memory");
    if (nlinks)
        memcpy(g->links, links, nlinks * IBBE_WRAP_BYTES);
    g->nlinks = g->links_cap = nlinks;
    g->epoch = epoch;
    *out = g;
    return 0;
}

int ibbe_group_decode_partition(ibbe_group *g, size_t part, const uint8_t *buf, size_t len,
                                struct cloister_err *err)
{
    if (part >= g->count || g->parts[part].loaded)
        return cloister_errf(err, CLOISTER_E_INVALID,
                             "partition record: no such partition, or already loaded");
    struct ibbe_partition p = {0};
    struct wire_reader r;
    wire_reader_init(&r, buf, len);
    wire_get_header(&r, "CIPA", 1);
    uint64_t index = wire_get_varint(&r);
    uint64_t epoch = wire_get_u64(&r);
    const uint8_t *hdr = wire_get_raw(&r, IBBE_HEADER_BYTES);
    wire_get_raw_into(&r, p.wrap, IBBE_WRAP_BYTES);
    size_t count = wire_get_count(&r, 2, g->n);
    if (!wire_reader_ok(&r))
        return cloister_errf(err, CLOISTER_E_INVALID, "partition record: %s",
                             wire_reader_error(&r));
    if (index != part)
        return cloister_errf(err, CLOISTER_E_INVALID,
                             "partition record: index does not match its position");
    if (epoch != g->epoch)
        return cloister_errf(err, CLOISTER_E_INVALID,
                             "partition record: epoch differs from the group record's "
                             "(stale or torn update)");
    if (count == 0)
        return cloister_errf(err, CLOISTER_E_INVALID, "partition record: empty partition");
    if (ibbe_header_from_bytes(&p.hdr, hdr, err) != 0)
        return -1;
    char id[IBBE_ID_MAX + 1];
    int rc;
    for (size_t i = 0; i < count; i++) {
        bls_fr h;
        if (wire_get_str(&r, id, sizeof id) != 0) {
            rc = cloister_errf(err, CLOISTER_E_INVALID, "partition record: member: %s",
                               wire_reader_error(&r));
            goto fail;
        }
        if (ibbe_hash_id(&h, id) != 0) {
            rc = cloister_errf(err, CLOISTER_E_INVALID,
                               "partition record: invalid member identity");
            goto fail;
        }
        if (ibbe_partition_append(&p, id, &h) != 0) {
            rc = cloister_errf(err, CLOISTER_E_NO_MEMORY, "partition record: out of memory");
            goto fail;
        }
    }
    if (wire_reader_finish(&r) != 0) {
        rc = cloister_errf(err, CLOISTER_E_INVALID, "partition record: %s", wire_reader_error(&r));
        goto fail;
    }
    p.loaded = true;
    g->parts[part] = p;
    ibbe_group_index_drop(g);
    return 0;
fail:
    partition_clear(&p);
    return rc;
}

/* ---- member decryption -------------------------------------------------------------------- */

int ibbe_group_decrypt(const ibbe_pk *pk, const ibbe_group *g, const char *id,
                       const struct ibbe_usk *usk, uint8_t gk[IBBE_KEY_LEN], uint64_t *epoch,
                       struct cloister_err *err)
{
    bls_fr mine;
    if (ibbe_hash_id(&mine, id) != 0)
        return cloister_errf(err, CLOISTER_E_INVALID, "invalid identity");
    if (g->n > pk->n)
        return cloister_errf(err, CLOISTER_E_INVALID,
                             "group partitions are larger than the public key allows");
    long part = ibbe_group_find(g, id); /* only loaded partitions list members */
    if (part < 0)
        return cloister_errf(err, CLOISTER_E_NOT_FOUND, "%.64s is not a member of %s", id, g->name);
    const struct ibbe_partition *p = &g->parts[part];
    struct ibbe_poly poly;
    uint8_t b[IBBE_KEY_LEN];
    int rc = CLOISTER_OK;
    if (ibbe_poly_from_hashes(&poly, p->hashes, p->count) != 0)
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
    if (ibbe_decrypt_user(pk, &poly, &mine, usk, &p->hdr, b) != 0)
        rc = cloister_errf(err, CLOISTER_E_FAILED, "cannot decrypt the partition header");
    else if (ibbe_unwrap_key(gk, b, p->wrap, g->name, (size_t)part, g->epoch) != 0)
        rc = cloister_errf(err, CLOISTER_E_DENIED,
                           "group key does not open: wrong user key, "
                           "or tampered or stale metadata");
    if (rc == 0 && epoch)
        *epoch = g->epoch;
    crypto_wipe(b, sizeof b);
    ibbe_poly_free(&poly);
    return rc;
}
