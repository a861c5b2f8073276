/* he.c -- the hybrid-encryption baselines of IBBE-SGX: the group key wrapped for every member
 * under its own public key, with RSA-2048 OAEP (the paper's baseline, here with OAEP rather
 * than PKCS#1 v1.5) or X25519 HPKE (what age/sops-style tools do today).
 *
 * Members live in one array (removal moves the last member into the freed slot) and are
 * stored in chunks of `chunk` members per record, so the same directory store serves both
 * schemes. Every envelope binds the group name and the epoch (OAEP label / HPKE AAD): an
 * envelope replayed from another group or epoch does not open. */
#include "ibbe/common/internal.h"

#include <cloister/crypto.h>
#include <cloister/hpke.h>
#include <cloister/wire.h>

#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <stdlib.h>
#include <string.h>

#define HE_MEMBERS_MAX (1u << 22)
#define HE_CHUNK_MAX (1u << 20)
#define HE_RSA_BITS 2048
#define HE_RSA_ENV 256
#define HE_HPKE_ENV (HPKE_ENC_LEN + IBBE_KEY_LEN + HPKE_TAG_LEN)
#define HE_INFO "CLOISTER-IBBE-HE-V01"

struct he_member {
    char *id;
    EVP_PKEY *rsa;                    /* RSA public key (admin side) */
    uint8_t hpke_pk[HPKE_PUBLIC_LEN]; /* HPKE public key (admin side) */
    uint8_t env[HE_RSA_ENV];          /* envelope: HE_RSA_ENV or HE_HPKE_ENV bytes */
    bool loaded;
};

struct ibbe_he_group {
    enum ibbe_he_scheme scheme;
    char name[IBBE_NAME_MAX + 1];
    uint64_t epoch;
    size_t chunk;
    size_t count, cap;
    struct he_member *m;
    bool has_key;
    uint8_t gk[IBBE_KEY_LEN];
    /* Member index: open addressing over a seeded FNV-1a hash of the id, built on the first
     * lookup, kept by add and remove, dropped when chunks are decoded. */
    uint32_t *index;
    size_t index_cap, index_used; /* used counts deleted slots too */
    uint64_t seed;
};

#define SLOT_EMPTY UINT32_MAX
#define SLOT_DELETED (UINT32_MAX - 1)

static size_t env_len(enum ibbe_he_scheme scheme)
{
    return scheme == IBBE_HE_RSA ? HE_RSA_ENV : HE_HPKE_ENV;
}

int ibbe_he_keypair(enum ibbe_he_scheme scheme, uint8_t **pub, size_t *pub_len, uint8_t **sec,
                    size_t *sec_len)
{
    if (scheme == IBBE_HE_HPKE) {
        *pub = malloc(HPKE_PUBLIC_LEN);
        *sec = malloc(HPKE_SECRET_LEN);
        if (!*pub || !*sec || hpke_keypair(*pub, *sec) != 0) {
            free(*pub);
            free(*sec);
            return -1;
        }
        *pub_len = HPKE_PUBLIC_LEN;
        *sec_len = HPKE_SECRET_LEN;
        return 0;
    }
    EVP_PKEY *k = EVP_RSA_gen(HE_RSA_BITS);
    if (!k)
        return -1;
    *pub = NULL;
    *sec = NULL;
    int pl = i2d_PUBKEY(k, pub), sl = i2d_PrivateKey(k, sec);
    EVP_PKEY_free(k);
    if (pl <= 0 || sl <= 0) {
        OPENSSL_free(*pub);
        OPENSSL_clear_free(*sec, sl > 0 ? (size_t)sl : 0);
        return -1;
    }
    *pub_len = (size_t)pl;
    *sec_len = (size_t)sl;
    return 0;
}

/* The OAEP label / HPKE AAD: the group name and epoch. */
static int binding(struct wire_writer *w, const ibbe_he_group *g)
{
    wire_writer_init(w);
    wire_put_str(w, HE_INFO);
    wire_put_str(w, g->name);
    wire_put_u64(w, g->epoch);
    return wire_writer_ok(w) ? 0 : -1;
}

static EVP_PKEY_CTX *oaep_ctx(EVP_PKEY *k, bool encrypt, const struct wire_writer *label)
{
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(k, NULL);
    void *l = c ? OPENSSL_memdup(label->buf, label->len) : NULL;
    if (!l || (encrypt ? EVP_PKEY_encrypt_init(c) : EVP_PKEY_decrypt_init(c)) <= 0 ||
        EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_OAEP_PADDING) <= 0 ||
        EVP_PKEY_CTX_set_rsa_oaep_md(c, EVP_sha256()) <= 0 ||
        EVP_PKEY_CTX_set0_rsa_oaep_label(c, l, (int)label->len) <= 0) {
        OPENSSL_free(l);
        EVP_PKEY_CTX_free(c);
        return NULL;
    }
    return c;
}

static int wrap_member(const ibbe_he_group *g, struct he_member *m)
{
    struct wire_writer aad;
    int rc = -1;
    if (binding(&aad, g) != 0)
        goto out;
    if (g->scheme == IBBE_HE_HPKE) {
        rc = hpke_seal(m->env, m->env + HPKE_ENC_LEN, HPKE_AEAD_AES256GCM, m->hpke_pk, HE_INFO,
                       strlen(HE_INFO), aad.buf, aad.len, g->gk, IBBE_KEY_LEN, NULL);
    } else {
        EVP_PKEY_CTX *c = oaep_ctx(m->rsa, true, &aad);
        size_t len = HE_RSA_ENV;
        if (c && EVP_PKEY_encrypt(c, m->env, &len, g->gk, IBBE_KEY_LEN) > 0 && len == HE_RSA_ENV)
            rc = 0;
        EVP_PKEY_CTX_free(c);
    }
out:
    wire_writer_free(&aad);
    m->loaded = rc == 0;
    return rc;
}

static void member_clear(struct he_member *m)
{
    free(m->id);
    EVP_PKEY_free(m->rsa);
    memset(m, 0, sizeof *m);
}

static ibbe_he_group *he_alloc(enum ibbe_he_scheme scheme, const char *name, size_t chunk,
                               size_t cap)
{
    if ((scheme != IBBE_HE_RSA && scheme != IBBE_HE_HPKE) || !ibbe_group_name_valid(name) ||
        chunk < 1 || chunk > HE_CHUNK_MAX || cap > HE_MEMBERS_MAX)
        return NULL;
    ibbe_he_group *g = calloc(1, sizeof *g);
    if (!g || (cap && !(g->m = calloc(cap, sizeof *g->m)))) {
        free(g);
        return NULL;
    }
    g->scheme = scheme;
    if (crypto_random(&g->seed, sizeof g->seed) != 0)
        g->seed = 0; /* only the spread of an in-memory index depends on it */
    strcpy(g->name, name);
    g->chunk = chunk;
    g->cap = cap;
    return g;
}

void ibbe_he_free(ibbe_he_group *g)
{
    if (!g)
        return;
    for (size_t i = 0; i < g->cap; i++)
        member_clear(&g->m[i]);
    free(g->m);
    free(g->index);
    crypto_wipe(g, sizeof *g);
    free(g);
}

static void index_drop(ibbe_he_group *g)
{
    free(g->index);
    g->index = NULL;
    g->index_cap = g->index_used = 0;
}

static size_t index_start(const ibbe_he_group *g, const char *id)
{
    uint64_t h = 14695981039346656037ull ^ g->seed;
    for (const unsigned char *p = (const unsigned char *)id; *p; p++)
        h = (h ^ *p) * 1099511628211ull;
    return (size_t)(h & (g->index_cap - 1));
}

/* The slot of id, or NULL. */
static uint32_t *index_slot(const ibbe_he_group *g, const char *id)
{
    for (size_t k = index_start(g, id), n = 0; n < g->index_cap;
         k = (k + 1) & (g->index_cap - 1), n++) {
        uint32_t v = g->index[k];
        if (v == SLOT_EMPTY)
            return NULL;
        if (v != SLOT_DELETED && strcmp(g->m[v].id, id) == 0)
            return &g->index[k];
    }
    return NULL;
}

static void index_insert(ibbe_he_group *g, size_t i)
{
    size_t k = index_start(g, g->m[i].id);
    while (g->index[k] != SLOT_EMPTY && g->index[k] != SLOT_DELETED)
        k = (k + 1) & (g->index_cap - 1);
    if (g->index[k] == SLOT_EMPTY)
        g->index_used++;
    g->index[k] = (uint32_t)i;
}

/* (Re)builds the index with room to grow (at most 3/4 used); -1 when out of memory. */
static int index_ready(ibbe_he_group *g)
{
    if (g->index && 4 * (g->index_used + 1) <= 3 * g->index_cap)
        return 0;
    size_t cap = 64;
    while (cap < 2 * g->count + 64)
        cap *= 2;
    uint32_t *t = malloc(cap * sizeof *t);
    if (!t)
        return -1;
    index_drop(g);
    g->index = t;
    g->index_cap = cap;
    for (size_t k = 0; k < cap; k++)
        t[k] = SLOT_EMPTY;
    for (size_t i = 0; i < g->count; i++)
        if (g->m[i].id)
            index_insert(g, i);
    return 0;
}

static long he_find(const ibbe_he_group *g, const char *id)
{
    ibbe_he_group *mut = (ibbe_he_group *)g; /* the index is a cache: no state changes */
    if (index_ready(mut) == 0) {
        const uint32_t *slot = index_slot(g, id);
        return slot ? (long)*slot : -1;
    }
    for (size_t i = 0; i < g->count; i++) /* no memory for the index: scan */
        if (g->m[i].id && strcmp(g->m[i].id, id) == 0)
            return (long)i;
    return -1;
}

/* Appends a member with its public key (not yet wrapped). */
static int he_append(ibbe_he_group *g, const struct ibbe_he_member *in, struct cloister_err *err)
{
    if (!ibbe_id_valid(in->id))
        return cloister_errf(err, CLOISTER_E_INVALID, "invalid member identity");
    if (g->count == g->cap) {
        size_t cap = g->cap ? 2 * g->cap : 16;
        struct he_member *m = cap <= HE_MEMBERS_MAX ? realloc(g->m, cap * sizeof *m) : NULL;
        if (!m)
            return cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
        memset(m + g->cap, 0, (cap - g->cap) * sizeof *m);
        g->m = m;
        g->cap = cap;
    }
    struct he_member *m = &g->m[g->count];
    if (g->scheme == IBBE_HE_HPKE) {
        if (in->pub_len != HPKE_PUBLIC_LEN)
            return cloister_errf(err, CLOISTER_E_INVALID, "member public key: not an X25519 key");
        memcpy(m->hpke_pk, in->pub, HPKE_PUBLIC_LEN);
    } else {
        const uint8_t *p = in->pub;
        m->rsa = d2i_PUBKEY(NULL, &p, (long)in->pub_len);
        if (!m->rsa || EVP_PKEY_get_base_id(m->rsa) != EVP_PKEY_RSA ||
            EVP_PKEY_get_bits(m->rsa) != HE_RSA_BITS) {
            member_clear(m);
            return cloister_errf(err, CLOISTER_E_INVALID, "member public key: not an RSA-2048 key");
        }
    }
    if (!(m->id = strdup(in->id))) {
        member_clear(m);
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
    }
    g->count++;
    if (g->index && index_ready(g) == 0)
        index_insert(g, g->count - 1);
    else
        index_drop(g);
    return 0;
}

int ibbe_he_create(enum ibbe_he_scheme scheme, const char *name, size_t chunk,
                   const struct ibbe_he_member *members, size_t count, ibbe_he_group **out,
                   struct cloister_err *err)
{
    ibbe_he_group *g = he_alloc(scheme, name, chunk, 0);
    if (!g || count == 0) {
        ibbe_he_free(g);
        return cloister_errf(err, CLOISTER_E_INVALID,
                             "invalid scheme, group name, chunk size or member count");
    }
    g->epoch = 1;
    g->has_key = true;
    int rc = CLOISTER_OK;
    if (crypto_random(g->gk, IBBE_KEY_LEN) != 0)
        rc = cloister_errf(err, CLOISTER_E_FAILED, "random number generator failed");
    for (size_t i = 0; rc == CLOISTER_OK && i < count; i++) {
        if (he_find(g, members[i].id) >= 0)
            rc = cloister_errf(err, CLOISTER_E_EXISTS, "duplicate member identity");
        else if ((rc = he_append(g, &members[i], err)) == CLOISTER_OK &&
                 wrap_member(g, &g->m[i]) != 0)
            rc = cloister_errf(err, CLOISTER_E_FAILED, "wrapping the group key failed");
    }
    if (rc != CLOISTER_OK) {
        ibbe_he_free(g);
        return rc;
    }
    *out = g;
    return CLOISTER_OK;
}

int ibbe_he_add(ibbe_he_group *g, const struct ibbe_he_member *member, struct cloister_err *err)
{
    if (!g->has_key)
        return cloister_errf(err, CLOISTER_E_STATE, "group not held by the admin");
    if (he_find(g, member->id) >= 0)
        return cloister_errf(err, CLOISTER_E_EXISTS, "already a member");
    int rc = he_append(g, member, err);
    if (rc != CLOISTER_OK)
        return rc;
    if (wrap_member(g, &g->m[g->count - 1]) != 0) {
        index_drop(g);
        member_clear(&g->m[--g->count]);
        return cloister_errf(err, CLOISTER_E_FAILED, "wrapping the group key failed");
    }
    return 0;
}

int ibbe_he_remove(ibbe_he_group *g, const char *id, struct cloister_err *err)
{
    if (!g->has_key)
        return cloister_errf(err, CLOISTER_E_STATE, "group not held by the admin");
    long i = he_find(g, id);
    if (i < 0)
        return cloister_errf(err, CLOISTER_E_NOT_FOUND, "not a member");
    if (g->count == 1)
        return cloister_errf(err, CLOISTER_E_INVALID, "cannot remove the last member of a group");
    if (g->index) { /* the last member moves into slot i */
        uint32_t *gone = index_slot(g, id), *moved = index_slot(g, g->m[g->count - 1].id);
        if (moved)
            *moved = (uint32_t)i;
        if (gone)
            *gone = SLOT_DELETED;
    }
    member_clear(&g->m[i]);
    g->m[i] = g->m[--g->count];
    memset(&g->m[g->count], 0, sizeof *g->m);
    g->epoch++;
    if (crypto_random(g->gk, IBBE_KEY_LEN) != 0)
        return cloister_errf(err, CLOISTER_E_FAILED, "random number generator failed");
    for (size_t j = 0; j < g->count; j++)
        if (wrap_member(g, &g->m[j]) != 0)
            return cloister_errf(err, CLOISTER_E_FAILED, "wrapping the group key failed");
    return 0;
}

int ibbe_he_decrypt(const ibbe_he_group *g, const char *id, const uint8_t *sec, size_t sec_len,
                    uint8_t gk[IBBE_KEY_LEN], struct cloister_err *err)
{
    long i = he_find(g, id);
    if (i < 0)
        return cloister_errf(err, CLOISTER_E_NOT_FOUND, "not a member of the group");
    if (!g->m[i].loaded)
        return cloister_errf(err, CLOISTER_E_STATE, "group state incomplete");
    const struct he_member *m = &g->m[i];
    struct wire_writer aad;
    int rc = -1;
    if (binding(&aad, g) != 0)
        goto out;
    if (g->scheme == IBBE_HE_HPKE) {
        if (sec_len == HPKE_SECRET_LEN)
            rc = hpke_open(gk, HPKE_AEAD_AES256GCM, m->env, sec, HE_INFO, strlen(HE_INFO), aad.buf,
                           aad.len, m->env + HPKE_ENC_LEN, IBBE_KEY_LEN + HPKE_TAG_LEN, NULL);
    } else {
        const uint8_t *p = sec;
        EVP_PKEY *k = d2i_AutoPrivateKey(NULL, &p, (long)sec_len);
        EVP_PKEY_CTX *c = k ? oaep_ctx(k, false, &aad) : NULL;
        uint8_t out[HE_RSA_ENV];
        size_t len = sizeof out;
        if (c && EVP_PKEY_decrypt(c, out, &len, m->env, HE_RSA_ENV) > 0 && len == IBBE_KEY_LEN) {
            memcpy(gk, out, IBBE_KEY_LEN);
            rc = 0;
        }
        crypto_wipe(out, sizeof out);
        EVP_PKEY_CTX_free(c);
        EVP_PKEY_free(k);
    }
out:
    wire_writer_free(&aad);
    if (rc != 0)
        return cloister_errf(err, CLOISTER_E_DENIED,
                             "group key does not open: wrong key, or tampered or stale metadata");
    return CLOISTER_OK;
}

int ibbe_he_key(const ibbe_he_group *g, uint8_t gk[IBBE_KEY_LEN])
{
    if (!g->has_key)
        return -1;
    memcpy(gk, g->gk, IBBE_KEY_LEN);
    return 0;
}

const char *ibbe_he_name(const ibbe_he_group *g)
{
    return g->name;
}
uint64_t ibbe_he_epoch(const ibbe_he_group *g)
{
    return g->epoch;
}
size_t ibbe_he_size(const ibbe_he_group *g)
{
    return g->count;
}

size_t ibbe_he_chunks(const ibbe_he_group *g)
{
    return (g->count + g->chunk - 1) / g->chunk;
}

/* ---- records ------------------------------------------------------------------------------ */

int ibbe_he_encode_meta(const ibbe_he_group *g, uint8_t **out, size_t *len)
{
    struct wire_writer w;
    wire_writer_init(&w);
    wire_put_header(&w, "CHGR", 1);
    wire_put_u8(&w, (uint8_t)g->scheme);
    wire_put_str(&w, g->name);
    wire_put_u64(&w, g->epoch);
    wire_put_varint(&w, g->chunk);
    wire_put_varint(&w, g->count);
    return wire_writer_finish(&w, out, len);
}

static size_t chunk_members(const ibbe_he_group *g, size_t chunk)
{
    size_t first = chunk * g->chunk;
    return first >= g->count ? 0 : (g->count - first < g->chunk ? g->count - first : g->chunk);
}

int ibbe_he_encode_chunk(const ibbe_he_group *g, size_t chunk, uint8_t **out, size_t *len)
{
    size_t k = chunk_members(g, chunk), first = chunk * g->chunk;
    if (k == 0)
        return -1;
    struct wire_writer w;
    wire_writer_init(&w);
    wire_put_header(&w, "CHPA", 1);
    wire_put_varint(&w, chunk);
    wire_put_u64(&w, g->epoch);
    wire_put_varint(&w, k);
    for (size_t i = first; i < first + k; i++) {
        wire_put_str(&w, g->m[i].id);
        wire_put_bytes(&w, g->m[i].env, env_len(g->scheme));
    }
    return wire_writer_finish(&w, out, len);
}

int ibbe_he_decode_meta(ibbe_he_group **out, const uint8_t *buf, size_t len,
                        struct cloister_err *err)
{
    struct wire_reader r;
    char name[IBBE_NAME_MAX + 1];
    wire_reader_init(&r, buf, len);
    wire_get_header(&r, "CHGR", 1);
    uint8_t scheme = wire_get_u8(&r);
    wire_get_str(&r, name, sizeof name);
    uint64_t epoch = wire_get_u64(&r);
    uint64_t chunk = wire_get_varint(&r);
    uint64_t count = wire_get_varint(&r);
    if (wire_reader_finish(&r) != 0)
        return cloister_errf(err, CLOISTER_E_INVALID, "HE group record: %s", wire_reader_error(&r));
    if (count < 1 || count > HE_MEMBERS_MAX)
        return cloister_errf(err, CLOISTER_E_INVALID, "HE group record: member count out of range");
    ibbe_he_group *g = he_alloc(scheme, name, chunk, count);
    if (!g)
        return cloister_errf(err, CLOISTER_E_INVALID,
                             "HE group record: bad scheme, name or chunk size");
    g->epoch = epoch;
    g->count = count;
    *out = g;
    return 0;
}

int ibbe_he_decode_chunk(ibbe_he_group *g, size_t chunk, const uint8_t *buf, size_t len,
                         struct cloister_err *err)
{
    size_t k = chunk_members(g, chunk), first = chunk * g->chunk;
    index_drop(g);
    if (k == 0 || g->m[first].loaded)
        return cloister_errf(err, CLOISTER_E_INVALID,
                             "HE chunk record: no such chunk, or already loaded");
    struct wire_reader r;
    wire_reader_init(&r, buf, len);
    wire_get_header(&r, "CHPA", 1);
    uint64_t index = wire_get_varint(&r);
    uint64_t epoch = wire_get_u64(&r);
    uint64_t n = wire_get_varint(&r);
    if (!wire_reader_ok(&r))
        return cloister_errf(err, CLOISTER_E_INVALID, "HE chunk record: %s", wire_reader_error(&r));
    if (index != chunk || n != k)
        return cloister_errf(err, CLOISTER_E_INVALID,
                             "HE chunk record: index or member count does not match the "
                             "group record");
    if (epoch != g->epoch)
        return cloister_errf(err, CLOISTER_E_INVALID,
                             "HE chunk record: epoch differs from the group record's "
                             "(stale or torn update)");
    char id[IBBE_ID_MAX + 1];
    int rc;
    for (size_t i = first; i < first + k; i++) {
        if (wire_get_str(&r, id, sizeof id) != 0 ||
            wire_get_bytes_exact(&r, g->m[i].env, env_len(g->scheme)) != 0) {
            rc = cloister_errf(err, CLOISTER_E_INVALID, "HE chunk record: member: %s",
                               wire_reader_error(&r));
            goto fail;
        }
        if (!ibbe_id_valid(id)) {
            rc = cloister_errf(err, CLOISTER_E_INVALID, "HE chunk record: invalid member identity");
            goto fail;
        }
        if (!(g->m[i].id = strdup(id))) {
            rc = cloister_errf(err, CLOISTER_E_NO_MEMORY, "HE chunk record: out of memory");
            goto fail;
        }
    }
    if (wire_reader_finish(&r) != 0) {
        rc = cloister_errf(err, CLOISTER_E_INVALID, "HE chunk record: %s", wire_reader_error(&r));
        goto fail;
    }
    for (size_t i = first; i < first + k; i++)
        g->m[i].loaded = true;
    return 0;
fail:
    for (size_t i = first; i < first + k; i++)
        member_clear(&g->m[i]);
    return rc;
}
