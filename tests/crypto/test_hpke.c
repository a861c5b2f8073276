/* test_hpke.c -- HPKE against RFC 9180: every committed test vector field by field (key pairs,
 * shared secret, key, base_nonce, exporter_secret, each encryption and export), then the context
 * rules (sequence numbers, exhaustion, replay and reordering), mode and key mismatches, API
 * misuse, single-shot calls, and the key-file / sealed-message codec. */
#include <cloister/hpke.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "crypto/hpke_internal.h"
#include "crypto/hpke_wire.h"
#include "util/hex.h"

#define VECTORS CLOISTER_SOURCE_DIR "/tests/vectors/hpke-rfc9180.json"

/* ---- vector helpers ---- */

static size_t get_hex(json_t *obj, const char *name, uint8_t *out, size_t max)
{
    const char *hex = json_string_value(json_object_get(obj, name));
    if (!hex)
        fail_msg("vector field %s is missing", name);
    long n = hex_decode(out, max, hex, strlen(hex));
    if (n < 0)
        fail_msg("vector field %s is not hex of at most %zu bytes", name, max);
    return (size_t)n;
}

static bool has(json_t *obj, const char *name)
{
    return json_object_get(obj, name) != NULL;
}

static void assert_field(json_t *obj, const char *name, const uint8_t *got, size_t len)
{
    uint8_t want[64];
    assert_int_equal(get_hex(obj, name, want, sizeof want), len);
    assert_memory_equal(got, want, len);
}

/* Loads (or derives from ikm and checks) the key pair X of a vector; false when absent. */
static bool vector_keypair(json_t *v, char x, uint8_t sk[32], uint8_t pk[32])
{
    char ikm_name[] = "ikmX", sk_name[] = "skXm", pk_name[] = "pkXm";
    ikm_name[3] = sk_name[2] = pk_name[2] = x;
    if (!has(v, sk_name))
        return false;
    uint8_t ikm[64], derived_sk[32], derived_pk[32];
    get_hex(v, sk_name, sk, 32);
    get_hex(v, pk_name, pk, 32);
    if (has(v, ikm_name)) {
        size_t n = get_hex(v, ikm_name, ikm, sizeof ikm);
        assert_int_equal(hpke_derive_keypair(derived_pk, derived_sk, ikm, n), 0);
        assert_memory_equal(derived_sk, sk, 32);
        assert_memory_equal(derived_pk, pk, 32);
    }
    assert_int_equal(hpke_public_from_secret(derived_pk, sk), 0);
    assert_memory_equal(derived_pk, pk, 32);
    return true;
}

static void check_vector(json_t *v, const uint8_t *pt, size_t pt_len)
{
    const char *name = json_string_value(json_object_get(v, "name"));
    enum hpke_mode mode = (enum hpke_mode)json_integer_value(json_object_get(v, "mode"));
    enum hpke_aead aead = (enum hpke_aead)json_integer_value(json_object_get(v, "aead_id"));
    uint8_t info[64], psk[64], psk_id[64], sk_e[32], pk_e[32], sk_r[32], pk_r[32], sk_s[32],
        pk_s[32], shared[32], shared2[32], enc[32], enc2[32];
    size_t info_len = get_hex(v, "info", info, sizeof info);
    print_message("vector %s (mode %d, aead %#x)\n", name, mode, aead);

    assert_true(vector_keypair(v, 'E', sk_e, pk_e));
    assert_true(vector_keypair(v, 'R', sk_r, pk_r));
    bool auth = vector_keypair(v, 'S', sk_s, pk_s);
    assert_int_equal(auth, mode == HPKE_MODE_AUTH || mode == HPKE_MODE_AUTH_PSK);
    struct hpke_auth as = {0}, ar = {0};
    if (auth) {
        as.sender_secret = sk_s;
        ar.sender_public = pk_s;
    }
    if (has(v, "psk")) {
        as.psk = ar.psk = psk;
        as.psk_len = ar.psk_len = get_hex(v, "psk", psk, sizeof psk);
        as.psk_id = ar.psk_id = psk_id;
        as.psk_id_len = ar.psk_id_len = get_hex(v, "psk_id", psk_id, sizeof psk_id);
    }
    assert_int_equal(hpke_auth_mode(&as), mode);
    assert_int_equal(hpke_auth_mode(&ar), mode);

    /* KEM: enc is pkE, both sides reach the published shared secret. */
    assert_int_equal(hpke_encap_derand(shared, enc, pk_r, auth ? sk_s : NULL, sk_e), 0);
    assert_memory_equal(enc, pk_e, 32);
    assert_int_equal(hpke_decap(shared2, enc, sk_r, auth ? pk_s : NULL), 0);
    assert_memory_equal(shared, shared2, 32);
    if (has(v, "shared_secret"))
        assert_field(v, "shared_secret", shared, 32);

    /* Key schedule on both sides. */
    hpke_ctx *s = hpke_sender_new_derand(enc2, aead, pk_r, info, info_len, &as, sk_e);
    hpke_ctx *r = hpke_recipient_new(aead, enc, sk_r, info, info_len, &ar);
    assert_non_null(s);
    assert_non_null(r);
    assert_memory_equal(enc2, enc, 32);
    assert_int_equal(hpke_ctx_mode(s), mode);
    assert_int_equal(hpke_ctx_aead(r), aead);
    assert_memory_equal(s->exporter_secret, r->exporter_secret, 32);
    if (has(v, "exporter_secret"))
        assert_field(v, "exporter_secret", s->exporter_secret, 32);
    if (has(v, "key")) {
        assert_field(v, "key", s->key, s->key_len);
        assert_field(v, "key", r->key, r->key_len);
        assert_field(v, "base_nonce", s->base_nonce, HPKE_NONCE_LEN);
        assert_field(v, "base_nonce", r->base_nonce, HPKE_NONCE_LEN);
    }

    json_t *encryptions = json_object_get(v, "encryptions");
    assert_true(encryptions || aead == HPKE_AEAD_EXPORT_ONLY);
    size_t i;
    json_t *e;
    json_array_foreach(encryptions, i, e)
    {
        uint64_t seq = (uint64_t)json_integer_value(json_object_get(e, "seq"));
        uint8_t aad[32], ct[128], want[128], back[128];
        size_t aad_len = get_hex(e, "aad", aad, sizeof aad);
        size_t ct_len = get_hex(e, "ct", want, sizeof want);
        assert_int_equal(ct_len, pt_len + HPKE_TAG_LEN);
        if (has(e, "nonce")) {
            uint8_t nonce[HPKE_NONCE_LEN];
            memcpy(nonce, s->base_nonce, sizeof nonce);
            for (int b = 0; b < 8; b++)
                nonce[HPKE_NONCE_LEN - 1 - b] ^= (uint8_t)(seq >> (8 * b));
            assert_field(e, "nonce", nonce, sizeof nonce);
        }
        s->seq = seq;
        assert_int_equal(hpke_ctx_seal(s, aad, aad_len, pt, pt_len, ct), 0);
        assert_memory_equal(ct, want, ct_len);
        assert_int_equal(hpke_ctx_seq(s), seq + 1);
        r->seq = seq;
        assert_int_equal(hpke_ctx_open(r, aad, aad_len, want, ct_len, back), 0);
        assert_memory_equal(back, pt, pt_len);
        assert_int_equal(hpke_ctx_seq(r), seq + 1);
    }
    if (aead == HPKE_AEAD_EXPORT_ONLY) {
        uint8_t ct[64], back[64];
        assert_int_equal(hpke_ctx_seal(s, NULL, 0, pt, pt_len, ct), -1);
        assert_int_equal(hpke_ctx_open(r, NULL, 0, ct, pt_len + HPKE_TAG_LEN, back), -1);
    }

    json_t *exports = json_object_get(v, "exports");
    assert_true(json_array_size(exports) > 0);
    json_array_foreach(exports, i, e)
    {
        uint8_t context[64], out_s[64], out_r[64];
        size_t context_len = get_hex(e, "context", context, sizeof context);
        size_t len = (size_t)json_integer_value(json_object_get(e, "L"));
        assert_true(len <= sizeof out_s);
        assert_int_equal(hpke_ctx_export(s, out_s, len, context, context_len), 0);
        assert_int_equal(hpke_ctx_export(r, out_r, len, context, context_len), 0);
        assert_field(e, "value", out_s, len);
        assert_field(e, "value", out_r, len);
    }
    hpke_ctx_free(s);
    hpke_ctx_free(r);
}

static void rfc9180_vectors(void **state)
{
    json_error_t err;
    json_t *root = json_load_file(VECTORS, 0, &err);
    if (!root)
        fail_msg("%s:%d: %s", VECTORS, err.line, err.text);
    uint8_t pt[128];
    size_t pt_len = get_hex(root, "pt", pt, sizeof pt);
    json_t *vectors = json_object_get(root, "vectors");
    size_t i, checked[4] = {0}, per_aead[3] = {0}, export_only = 0;
    json_t *v;
    json_array_foreach(vectors, i, v)
    {
        check_vector(v, pt, pt_len);
        int mode = (int)json_integer_value(json_object_get(v, "mode"));
        int aead = (int)json_integer_value(json_object_get(v, "aead_id"));
        checked[mode]++;
        if (aead == HPKE_AEAD_EXPORT_ONLY)
            export_only++;
        else
            per_aead[aead - 1]++;
    }
    /* A.1 (AES-128-GCM) and A.2 (ChaCha20-Poly1305) in 4 modes, A.7 export-only in 4 modes,
     * and the JSON file's AES-256-GCM base and auth vectors. */
    assert_int_equal(json_array_size(vectors), 14);
    assert_int_equal(per_aead[0], 4);
    assert_int_equal(per_aead[1], 2);
    assert_int_equal(per_aead[2], 4);
    assert_int_equal(export_only, 4);
    assert_true(checked[0] == 4 && checked[1] == 3 && checked[2] == 4 && checked[3] == 3);
    json_decref(root);
}

/* ---- contexts ---- */

struct parties {
    uint8_t pk_r[32], sk_r[32], pk_s[32], sk_s[32], psk[32], enc[32];
    struct hpke_auth as, ar;
};

static void parties_init(struct parties *p, enum hpke_mode mode)
{
    memset(p, 0, sizeof *p);
    assert_int_equal(hpke_keypair(p->pk_r, p->sk_r), 0);
    assert_int_equal(hpke_keypair(p->pk_s, p->sk_s), 0);
    assert_int_equal(crypto_random(p->psk, sizeof p->psk), 0);
    if (mode == HPKE_MODE_AUTH || mode == HPKE_MODE_AUTH_PSK) {
        p->as.sender_secret = p->sk_s;
        p->ar.sender_public = p->pk_s;
    }
    if (mode == HPKE_MODE_PSK || mode == HPKE_MODE_AUTH_PSK) {
        p->as.psk = p->ar.psk = p->psk;
        p->as.psk_len = p->ar.psk_len = sizeof p->psk;
        p->as.psk_id = p->ar.psk_id = (const uint8_t *)"id-1";
        p->as.psk_id_len = p->ar.psk_id_len = 4;
    }
}

static const enum hpke_aead aeads[] = {HPKE_AEAD_AES128GCM, HPKE_AEAD_AES256GCM,
                                       HPKE_AEAD_CHACHA20POLY1305};

static void round_trip_every_suite_and_mode(void **state)
{
    for (size_t a = 0; a < 3; a++) {
        for (int mode = 0; mode < 4; mode++) {
            struct parties p;
            parties_init(&p, (enum hpke_mode)mode);
            hpke_ctx *s = hpke_sender_new(p.enc, aeads[a], p.pk_r, "info", 4, &p.as);
            hpke_ctx *r = hpke_recipient_new(aeads[a], p.enc, p.sk_r, "info", 4, &p.ar);
            assert_non_null(s);
            assert_non_null(r);
            assert_int_equal(hpke_ctx_mode(r), mode);
            for (size_t len = 0; len < 3000; len += 571) {
                uint8_t pt[3000], ct[3000 + HPKE_TAG_LEN], back[3000];
                assert_int_equal(crypto_random(pt, len), 0);
                assert_int_equal(hpke_ctx_seal(s, &len, sizeof len, pt, len, ct), 0);
                assert_int_equal(hpke_ctx_open(r, &len, sizeof len, ct, len + HPKE_TAG_LEN, back),
                                 0);
                assert_memory_equal(back, pt, len);
            }
            assert_int_equal(hpke_ctx_seq(s), 6);
            assert_int_equal(hpke_ctx_seq(r), 6);
            uint8_t x1[100], x2[100];
            assert_int_equal(hpke_ctx_export(s, x1, sizeof x1, "ctx", 3), 0);
            assert_int_equal(hpke_ctx_export(r, x2, sizeof x2, "ctx", 3), 0);
            assert_memory_equal(x1, x2, sizeof x1);
            hpke_ctx_free(s);
            hpke_ctx_free(r);
        }
    }
}

/* Messages must be opened in the order they were sealed; a failed open changes nothing. */
static void sequence_order_replay(void **state)
{
    struct parties p;
    parties_init(&p, HPKE_MODE_BASE);
    hpke_ctx *s = hpke_sender_new(p.enc, HPKE_AEAD_AES128GCM, p.pk_r, NULL, 0, NULL);
    hpke_ctx *r = hpke_recipient_new(HPKE_AEAD_AES128GCM, p.enc, p.sk_r, NULL, 0, NULL);
    assert_non_null(s);
    assert_non_null(r);
    uint8_t ct0[5 + 16], ct1[5 + 16], back[5];
    assert_int_equal(hpke_ctx_seal(s, NULL, 0, "zero!", 5, ct0), 0);
    assert_int_equal(hpke_ctx_seal(s, NULL, 0, "one!!", 5, ct1), 0);
    assert_int_equal(hpke_ctx_open(r, NULL, 0, ct1, sizeof ct1, back), -1); /* reordered */
    assert_int_equal(hpke_ctx_seq(r), 0);
    assert_int_equal(hpke_ctx_open(r, NULL, 0, ct0, sizeof ct0, back), 0);
    assert_memory_equal(back, "zero!", 5);
    assert_int_equal(hpke_ctx_open(r, NULL, 0, ct0, sizeof ct0, back), -1); /* replayed */
    assert_int_equal(hpke_ctx_open(r, NULL, 0, ct1, sizeof ct1, back), 0);
    assert_memory_equal(back, "one!!", 5);
    assert_int_equal(hpke_ctx_seq(r), 2);
    hpke_ctx_free(s);
    hpke_ctx_free(r);
}

static void sequence_exhaustion_refused(void **state)
{
    struct parties p;
    parties_init(&p, HPKE_MODE_BASE);
    hpke_ctx *s = hpke_sender_new(p.enc, HPKE_AEAD_CHACHA20POLY1305, p.pk_r, NULL, 0, NULL);
    hpke_ctx *r = hpke_recipient_new(HPKE_AEAD_CHACHA20POLY1305, p.enc, p.sk_r, NULL, 0, NULL);
    assert_non_null(s);
    assert_non_null(r);
    uint8_t ct[3 + 16], ct2[3 + 16], back[3];
    s->seq = r->seq = UINT64_MAX - 1;
    assert_int_equal(hpke_ctx_seal(s, NULL, 0, "end", 3, ct), 0);
    assert_int_equal(hpke_ctx_seq(s), UINT64_MAX);
    assert_int_equal(hpke_ctx_seal(s, NULL, 0, "end", 3, ct2), -1);
    assert_int_equal(hpke_ctx_seq(s), UINT64_MAX);
    assert_int_equal(hpke_ctx_open(r, NULL, 0, ct, sizeof ct, back), 0);
    assert_int_equal(hpke_ctx_open(r, NULL, 0, ct, sizeof ct, back), -1);
    assert_int_equal(hpke_ctx_seq(r), UINT64_MAX);
    hpke_ctx_free(s);
    hpke_ctx_free(r);
}

/* Sealed in one mode, opened in every other: the recipient derives other keys and refuses. */
static void mode_mismatch_refused(void **state)
{
    struct parties p[4];
    for (int m = 0; m < 4; m++)
        parties_init(&p[m], (enum hpke_mode)m);
    for (int m = 1; m < 4; m++) { /* one recipient, sender and psk for all */
        memcpy(p[m].pk_r, p[0].pk_r, 32);
        memcpy(p[m].sk_r, p[0].sk_r, 32);
    }
    for (int sm = 0; sm < 4; sm++) {
        uint8_t enc[32], ct[4 + 16], back[4];
        assert_int_equal(hpke_seal(enc, ct, HPKE_AEAD_AES256GCM, p[0].pk_r, "i", 1, "a", 1, "data",
                                   4, &p[sm].as),
                         0);
        for (int rm = 0; rm < 4; rm++) {
            int rc = hpke_open(back, HPKE_AEAD_AES256GCM, enc, p[0].sk_r, "i", 1, "a", 1, ct,
                               sizeof ct, &p[rm].ar);
            assert_int_equal(rc, sm == rm ? 0 : -1);
        }
    }
}

/* One single-shot open of the message that wrong_inputs_refused seals, with one input changed. */
struct attempt {
    enum hpke_aead aead;
    const uint8_t *enc, *sk_r;
    const char *info, *aad;
    const uint8_t *ct;
    size_t ct_len;
    struct hpke_auth auth;
};

static int try_open(struct attempt a)
{
    uint8_t pt[64];
    return hpke_open(pt, a.aead, a.enc, a.sk_r, a.info, strlen(a.info), a.aad, strlen(a.aad), a.ct,
                     a.ct_len, &a.auth);
}

/* Right mode, wrong ingredient: every variation is refused. */
static void wrong_inputs_refused(void **state)
{
    struct parties p, other;
    parties_init(&p, HPKE_MODE_AUTH_PSK);
    parties_init(&other, HPKE_MODE_AUTH_PSK);
    uint8_t enc[32], ct[4 + 16], bad_enc[32], bad_ct[4 + 16];
    assert_int_equal(
        hpke_seal(enc, ct, HPKE_AEAD_AES128GCM, p.pk_r, "info", 4, "aad", 3, "data", 4, &p.as), 0);
    const struct attempt good = {HPKE_AEAD_AES128GCM, enc, p.sk_r, "info", "aad", ct,
                                 sizeof ct,           p.ar};
    assert_int_equal(try_open(good), 0);
    struct attempt a = good;
    a.auth.sender_public = other.pk_s; /* another sender */
    assert_int_equal(try_open(a), -1);
    a = good;
    a.auth.psk = other.psk; /* another psk */
    assert_int_equal(try_open(a), -1);
    a = good;
    a.auth.psk_id = (const uint8_t *)"id-2"; /* another psk id */
    assert_int_equal(try_open(a), -1);
    a = good;
    a.sk_r = other.sk_r; /* another recipient */
    assert_int_equal(try_open(a), -1);
    a = good;
    a.info = "infO";
    assert_int_equal(try_open(a), -1);
    a = good;
    a.aad = "aaD";
    assert_int_equal(try_open(a), -1);
    a = good;
    a.aead = HPKE_AEAD_CHACHA20POLY1305; /* another AEAD */
    assert_int_equal(try_open(a), -1);
    a = good;
    a.ct_len--; /* truncated */
    assert_int_equal(try_open(a), -1);
    a = good;
    a.enc = bad_enc;
    for (size_t i = 0; i < sizeof enc; i++) { /* tampered enc */
        memcpy(bad_enc, enc, sizeof enc);
        bad_enc[i] ^= 0x04;
        assert_int_equal(try_open(a), -1);
    }
    a = good;
    a.ct = bad_ct;
    for (size_t i = 0; i < sizeof ct; i++) { /* tampered ciphertext */
        memcpy(bad_ct, ct, sizeof ct);
        bad_ct[i] ^= 0x10;
        assert_int_equal(try_open(a), -1);
    }
    assert_int_equal(try_open(good), 0);
}

static void misuse_refused(void **state)
{
    struct parties p;
    parties_init(&p, HPKE_MODE_AUTH);
    uint8_t enc[32], ct[32], back[32], out[16];
    struct hpke_auth a = {.sender_public = p.pk_s};
    assert_null(hpke_sender_new(enc, HPKE_AEAD_AES128GCM, p.pk_r, NULL, 0, &a));
    a = (struct hpke_auth){.sender_secret = p.sk_s};
    assert_null(hpke_recipient_new(HPKE_AEAD_AES128GCM, enc, p.sk_r, NULL, 0, &a));
    a = (struct hpke_auth){.sender_secret = p.sk_s, .sender_public = p.pk_s};
    assert_int_equal(hpke_auth_mode(&a), -1);
    a = (struct hpke_auth){.psk = p.psk, .psk_len = 32}; /* psk without id */
    assert_int_equal(hpke_auth_mode(&a), -1);
    assert_null(hpke_sender_new(enc, HPKE_AEAD_AES128GCM, p.pk_r, NULL, 0, &a));
    a = (struct hpke_auth){.psk_id = (const uint8_t *)"x", .psk_id_len = 1}; /* id without psk */
    assert_int_equal(hpke_auth_mode(&a), -1);
    a = (struct hpke_auth){.psk = p.psk,
                           .psk_len = 31,
                           .psk_id = (const uint8_t *)"x",
                           .psk_id_len = 1}; /* psk too short */
    assert_int_equal(hpke_auth_mode(&a), -1);
    assert_null(hpke_sender_new(enc, (enum hpke_aead)4, p.pk_r, NULL, 0, NULL));
    assert_null(hpke_recipient_new((enum hpke_aead)0, p.pk_s, p.sk_r, NULL, 0, NULL));

    static const uint8_t low_order[32] = {1};
    assert_null(hpke_sender_new(enc, HPKE_AEAD_AES128GCM, low_order, NULL, 0, NULL));
    assert_null(hpke_recipient_new(HPKE_AEAD_AES128GCM, low_order, p.sk_r, NULL, 0, NULL));

    hpke_ctx *s = hpke_sender_new(enc, HPKE_AEAD_AES128GCM, p.pk_r, NULL, 0, NULL);
    hpke_ctx *r = hpke_recipient_new(HPKE_AEAD_AES128GCM, enc, p.sk_r, NULL, 0, NULL);
    assert_non_null(s);
    assert_non_null(r);
    assert_int_equal(hpke_ctx_seal(s, NULL, 0, "hello", 5, ct), 0);
    assert_int_equal(hpke_ctx_open(s, NULL, 0, ct, 21, back), -1);   /* a sender cannot open */
    assert_int_equal(hpke_ctx_seal(r, NULL, 0, "hello", 5, ct), -1); /* nor a recipient seal */
    assert_int_equal(hpke_ctx_export(s, out, 0, NULL, 0), 0);
    uint8_t *big = malloc(HPKE_EXPORT_MAX + 1);
    assert_non_null(big);
    assert_int_equal(hpke_ctx_export(s, big, HPKE_EXPORT_MAX, NULL, 0), 0);
    assert_int_equal(hpke_ctx_export(s, big, HPKE_EXPORT_MAX + 1, NULL, 0), -1);
    free(big);
    hpke_ctx_free(s);
    hpke_ctx_free(r);
    hpke_ctx_free(NULL);

    uint8_t ikm[HPKE_IKM_MIN] = {0}, pk[32], sk[32];
    assert_int_equal(hpke_derive_keypair(pk, sk, ikm, sizeof ikm - 1), -1);
    assert_int_equal(hpke_derive_keypair(pk, sk, ikm, sizeof ikm), 0);
}

/* ---- the file codec ---- */

static void wire_round_trip(void **state)
{
    uint8_t pk[32], sk[32], pk2[32], sk2[32], ct[40];
    const char *err = NULL;
    assert_int_equal(hpke_keypair(pk, sk), 0);
    assert_int_equal(crypto_random(ct, sizeof ct), 0);

    struct wire_writer w;
    wire_writer_init(&w);
    hpke_wire_put_public(&w, pk);
    assert_int_equal(hpke_wire_get_public(pk2, w.buf, w.len, &err), 0);
    assert_memory_equal(pk, pk2, 32);
    assert_int_equal(hpke_wire_get_secret(sk2, pk2, w.buf, w.len, &err), -1);
    assert_non_null(strstr(err, "expected an HPKE secret key"));
    wire_writer_free(&w);

    wire_writer_init(&w);
    hpke_wire_put_secret(&w, sk, pk);
    assert_int_equal(hpke_wire_get_secret(sk2, pk2, w.buf, w.len, &err), 0);
    assert_memory_equal(sk, sk2, 32);
    assert_memory_equal(pk, pk2, 32);
    w.buf[w.len - 1] ^= 1; /* a damaged public half is detected */
    assert_int_equal(hpke_wire_get_secret(sk2, pk2, w.buf, w.len, &err), -1);
    assert_non_null(strstr(err, "public_key"));
    assert_non_null(strstr(err, "does not match"));
    wire_writer_free(&w);

    struct hpke_message m = {HPKE_AEAD_CHACHA20POLY1305, HPKE_MODE_AUTH, {0}, ct, sizeof ct}, back;
    memcpy(m.enc, pk, 32);
    wire_writer_init(&w);
    hpke_wire_put_message(&w, &m);
    assert_true(wire_writer_ok(&w));
    assert_int_equal(hpke_wire_get_message(&back, w.buf, w.len, &err), 0);
    assert_int_equal(back.aead, m.aead);
    assert_int_equal(back.mode, m.mode);
    assert_memory_equal(back.enc, m.enc, 32);
    assert_int_equal(back.ct_len, sizeof ct);
    assert_memory_equal(back.ct, ct, sizeof ct);
    for (size_t len = 0; len < w.len; len++) /* every truncation */
        assert_int_equal(hpke_wire_get_message(&back, w.buf, len, &err), -1);
    wire_writer_free(&w);
}

/* One decode of a message whose byte at off is replaced: fails naming field. */
static void assert_message_error(size_t off, uint8_t value, const char *field)
{
    uint8_t ct[20] = {0};
    struct hpke_message m = {HPKE_AEAD_AES128GCM, HPKE_MODE_BASE, {0}, ct, sizeof ct}, back;
    struct wire_writer w;
    const char *err = NULL;
    wire_writer_init(&w);
    hpke_wire_put_message(&w, &m);
    w.buf[off] = value;
    assert_int_equal(hpke_wire_get_message(&back, w.buf, w.len, &err), -1);
    if (!strstr(err, field))
        fail_msg("error '%s' does not name '%s'", err, field);
    wire_writer_free(&w);
}

static void wire_errors_name_the_field(void **state)
{
    /* Layout: magic 0-3, version 4-5, kem 6-7, kdf 8-9, aead 10-11, mode 12, enc 13-45,
     * ciphertext length 46, ciphertext 47-66. */
    assert_message_error(0, 'X', "expected an HPKE sealed message");
    assert_message_error(5, 9, "unsupported record version");
    assert_message_error(7, 0x21, "kem_id at offset 6");
    assert_message_error(9, 2, "kdf_id at offset 8");
    assert_message_error(11, 0xff, "aead_id at offset 10");
    assert_message_error(12, 4, "mode at offset 12");
    assert_message_error(13, 31, "enc at offset 13");
    assert_message_error(46, 15, "ciphertext at offset 46");
    assert_message_error(46, 21, "ciphertext");

    uint8_t ct[20] = {0}, extra[128];
    struct hpke_message m = {HPKE_AEAD_AES128GCM, HPKE_MODE_BASE, {0}, ct, sizeof ct}, back;
    struct wire_writer w;
    const char *err = NULL;
    wire_writer_init(&w);
    hpke_wire_put_message(&w, &m);
    memcpy(extra, w.buf, w.len);
    extra[w.len] = 0;
    assert_int_equal(hpke_wire_get_message(&back, extra, w.len + 1, &err), -1);
    assert_non_null(strstr(err, "trailing bytes"));
    wire_writer_free(&w);

    m.aead = HPKE_AEAD_EXPORT_ONLY; /* nothing can be sealed with it */
    wire_writer_init(&w);
    hpke_wire_put_message(&w, &m);
    assert_int_equal(hpke_wire_get_message(&back, w.buf, w.len, &err), -1);
    assert_non_null(strstr(err, "aead_id at offset 10"));
    wire_writer_free(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rfc9180_vectors),
        cmocka_unit_test(round_trip_every_suite_and_mode),
        cmocka_unit_test(sequence_order_replay),
        cmocka_unit_test(sequence_exhaustion_refused),
        cmocka_unit_test(mode_mismatch_refused),
        cmocka_unit_test(wrong_inputs_refused),
        cmocka_unit_test(misuse_refused),
        cmocka_unit_test(wire_round_trip),
        cmocka_unit_test(wire_errors_name_the_field),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
