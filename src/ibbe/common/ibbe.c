/* ibbe.c -- the public half of Delerablée's IBBE on BLS12-381: identity hashing, the public
 * key and its encoding, set polynomials, public (γ-less) encryption and member decryption.
 *
 * Placement: h and its powers, C2, C3 in G1; g, w, user keys, C1 in G2; v = e(h, g). A member
 * i of S with Q = P/(x + H_i) (synthetic division) and c = 1/Q(0) computes
 *     A = h^{c (Q(γ) - Q(0)) / γ}    (one MSM over h^{γ^0..s-2} with the coefficients Q_1..)
 *     v^k = e(A, C1) · e(C2^c, d_i)
 * since e(A, w^{-k}) = v^{-kc(Q(γ) - Q(0))} and e(C2, d_i) = v^{k Q(γ)}. Scaling the G1
 * inputs by c replaces the reference's GT exponentiation by 1/∏_{j≠i} H_j. */
#include "ibbe/common/internal.h"

#include <cloister/crypto.h>
#include <cloister/wire.h>

#include <stdlib.h>
#include <string.h>

bool ibbe_id_valid(const char *id)
{
    size_t len = id ? strnlen(id, IBBE_ID_MAX + 1) : 0;
    return len > 0 && len <= IBBE_ID_MAX && !strchr(id, '\n') && !strchr(id, '\r');
}

int ibbe_hash_id(bls_fr *out, const char *id)
{
    if (!ibbe_id_valid(id))
        return -1;
    bls_hash_to_fr(out, id, strlen(id), IBBE_DST, strlen(IBBE_DST));
    return bls_fr_is_zero(out) ? -1 : 0;
}

int ibbe_kdf_broadcast(uint8_t key[IBBE_KEY_LEN], const bls_gt *k)
{
    uint8_t ikm[BLS_GT_BYTES];
    bls_gt_to_bytes(ikm, k);
    int rc = crypto_hkdf(key, IBBE_KEY_LEN, NULL, 0, ikm, sizeof ikm, IBBE_BKEY_INFO,
                         strlen(IBBE_BKEY_INFO));
    crypto_wipe(ikm, sizeof ikm);
    return rc;
}

/* The AEAD key and associated data of a wrapped group key: a partition's (label IBBE_AAD_LABEL,
 * a = partition, b = epoch, key from b) or a key-regression link's (IBBE_LINK_LABEL, a = the
 * older epoch, b = the newer, key from the newer gk). */
static int wrap_params(uint8_t kek[IBBE_KEY_LEN], struct wire_writer *aad, const char *label,
                       const char *info, const uint8_t key[IBBE_KEY_LEN], const char *name,
                       uint64_t a, uint64_t b)
{
    wire_writer_init(aad);
    wire_put_str(aad, label);
    wire_put_str(aad, name);
    wire_put_u64(aad, a);
    wire_put_u64(aad, b);
    if (!wire_writer_ok(aad))
        return -1;
    return crypto_hkdf(kek, IBBE_KEY_LEN, NULL, 0, key, IBBE_KEY_LEN, info, strlen(info));
}

static int wrap_with(uint8_t wrap[IBBE_WRAP_BYTES], const char *label, const char *info,
                     const uint8_t key[IBBE_KEY_LEN], const uint8_t gk[IBBE_KEY_LEN],
                     const char *name, uint64_t a, uint64_t b)
{
    uint8_t kek[IBBE_KEY_LEN];
    struct wire_writer aad;
    int rc = -1;
    if (wrap_params(kek, &aad, label, info, key, name, a, b) == 0 &&
        crypto_random(wrap, CRYPTO_AEAD_NONCE_LEN) == 0)
        rc = crypto_aead_seal(CRYPTO_AES256_GCM, kek, wrap, aad.buf, aad.len, gk, IBBE_KEY_LEN,
                              wrap + CRYPTO_AEAD_NONCE_LEN);
    crypto_wipe(kek, sizeof kek);
    wire_writer_free(&aad);
    return rc;
}

static int unwrap_with(uint8_t gk[IBBE_KEY_LEN], const char *label, const char *info,
                       const uint8_t key[IBBE_KEY_LEN], const uint8_t wrap[IBBE_WRAP_BYTES],
                       const char *name, uint64_t a, uint64_t b)
{
    uint8_t kek[IBBE_KEY_LEN];
    struct wire_writer aad;
    int rc = -1;
    if (wrap_params(kek, &aad, label, info, key, name, a, b) == 0)
        rc = crypto_aead_open(CRYPTO_AES256_GCM, kek, wrap, aad.buf, aad.len,
                              wrap + CRYPTO_AEAD_NONCE_LEN, IBBE_WRAP_BYTES - CRYPTO_AEAD_NONCE_LEN,
                              gk);
    crypto_wipe(kek, sizeof kek);
    wire_writer_free(&aad);
    return rc;
}

int ibbe_wrap_key(uint8_t wrap[IBBE_WRAP_BYTES], const uint8_t b[IBBE_KEY_LEN],
                  const uint8_t gk[IBBE_KEY_LEN], const char *name, size_t part, uint64_t epoch)
{
    return wrap_with(wrap, IBBE_AAD_LABEL, IBBE_WRAP_INFO, b, gk, name, part, epoch);
}

int ibbe_unwrap_key(uint8_t gk[IBBE_KEY_LEN], const uint8_t b[IBBE_KEY_LEN],
                    const uint8_t wrap[IBBE_WRAP_BYTES], const char *name, size_t part,
                    uint64_t epoch)
{
    return unwrap_with(gk, IBBE_AAD_LABEL, IBBE_WRAP_INFO, b, wrap, name, part, epoch);
}

int ibbe_link_wrap(uint8_t link[IBBE_WRAP_BYTES], const uint8_t newer[IBBE_KEY_LEN],
                   const uint8_t older[IBBE_KEY_LEN], const char *name, uint64_t epoch)
{
    return wrap_with(link, IBBE_LINK_LABEL, IBBE_LINK_INFO, newer, older, name, epoch - 1, epoch);
}

int ibbe_link_unwrap(uint8_t older[IBBE_KEY_LEN], const uint8_t newer[IBBE_KEY_LEN],
                     const uint8_t link[IBBE_WRAP_BYTES], const char *name, uint64_t epoch)
{
    return unwrap_with(older, IBBE_LINK_LABEL, IBBE_LINK_INFO, newer, link, name, epoch - 1, epoch);
}

/* ---- public key --------------------------------------------------------------------------- */

size_t ibbe_pk_capacity(const ibbe_pk *pk)
{
    return pk->n;
}

void ibbe_pk_free(ibbe_pk *pk)
{
    if (!pk)
        return;
    free(pk->hpow);
    free(pk);
}

int ibbe_pk_encode(const ibbe_pk *pk, uint8_t **out, size_t *len)
{
    struct wire_writer w;
    wire_writer_init(&w);
    wire_put_header(&w, "CIPK", 1);
    wire_put_varint(&w, pk->n);
    uint8_t buf[BLS_G2_BYTES];
    bls_g2_to_bytes(buf, &pk->g);
    wire_put_raw(&w, buf, BLS_G2_BYTES);
    bls_g2_to_bytes(buf, &pk->w);
    wire_put_raw(&w, buf, BLS_G2_BYTES);
    for (size_t i = 0; i <= pk->n; i++) {
        bls_g1_to_bytes(buf, &pk->hpow[i]);
        wire_put_raw(&w, buf, BLS_G1_BYTES);
    }
    return wire_writer_finish(&w, out, len);
}

int ibbe_pk_decode(ibbe_pk **out, const uint8_t *buf, size_t len, struct cloister_err *err)
{
    struct wire_reader r;
    wire_reader_init(&r, buf, len);
    wire_get_header(&r, "CIPK", 1);
    uint64_t n = wire_get_varint(&r);
    if (!wire_reader_ok(&r))
        return cloister_errf(err, CLOISTER_E_INVALID, "public key: truncated or bad header");
    if (n < 1 || n > IBBE_PARTITION_MAX)
        return cloister_errf(err, CLOISTER_E_INVALID, "public key: partition size out of range");
    if (wire_reader_remaining(&r) != 2 * BLS_G2_BYTES + (n + 1) * BLS_G1_BYTES)
        return cloister_errf(err, CLOISTER_E_INVALID,
                             "public key: length does not match the partition size");
    ibbe_pk *pk = calloc(1, sizeof *pk);
    if (!pk || !(pk->hpow = malloc((n + 1) * sizeof *pk->hpow))) {
        ibbe_pk_free(pk);
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "public key: out of memory");
    }
    pk->n = n;
    const char *why = "g or w is not a point of G2";
    if (bls_g2_from_bytes(&pk->g, wire_get_raw(&r, BLS_G2_BYTES)) != BLS_OK ||
        bls_g2_from_bytes(&pk->w, wire_get_raw(&r, BLS_G2_BYTES)) != BLS_OK)
        goto fail;
    why = "a power of h is not a point of G1";
    for (size_t i = 0; i <= n; i++)
        if (bls_g1_from_bytes(&pk->hpow[i], wire_get_raw(&r, BLS_G1_BYTES)) != BLS_OK)
            goto fail;
    why = "degenerate generator";
    if (bls_g1_is_identity(&pk->hpow[0]) || bls_g2_is_identity(&pk->g) ||
        bls_g2_is_identity(&pk->w))
        goto fail;
    bls_pairing(&pk->v, &pk->hpow[0], &pk->g);
    *out = pk;
    return 0;
fail:
    ibbe_pk_free(pk);
    return cloister_errf(err, CLOISTER_E_INVALID, "public key: %s", why);
}

/* ---- user keys and headers ---------------------------------------------------------------- */

void ibbe_usk_to_bytes(uint8_t out[IBBE_USK_BYTES], const struct ibbe_usk *usk)
{
    bls_g2_to_bytes(out, &usk->d);
}

int ibbe_usk_from_bytes(struct ibbe_usk *usk, const uint8_t in[IBBE_USK_BYTES])
{
    return bls_g2_from_bytes(&usk->d, in) == BLS_OK && !bls_g2_is_identity(&usk->d) ? 0 : -1;
}

void ibbe_header_to_bytes(uint8_t out[IBBE_HEADER_BYTES], const struct ibbe_header *hdr)
{
    bls_g2_to_bytes(out, &hdr->c1);
    bls_g1_to_bytes(out + BLS_G2_BYTES, &hdr->c2);
    bls_g1_to_bytes(out + BLS_G2_BYTES + BLS_G1_BYTES, &hdr->c3);
}

int ibbe_header_from_bytes(struct ibbe_header *hdr, const uint8_t in[IBBE_HEADER_BYTES],
                           struct cloister_err *err)
{
    struct ibbe_header h;
    if (bls_g2_from_bytes(&h.c1, in) != BLS_OK)
        return cloister_errf(err, CLOISTER_E_INVALID, "header: C1 is not a point of G2");
    if (bls_g1_from_bytes(&h.c2, in + BLS_G2_BYTES) != BLS_OK)
        return cloister_errf(err, CLOISTER_E_INVALID, "header: C2 is not a point of G1");
    if (bls_g1_from_bytes(&h.c3, in + BLS_G2_BYTES + BLS_G1_BYTES) != BLS_OK)
        return cloister_errf(err, CLOISTER_E_INVALID, "header: C3 is not a point of G1");
    *hdr = h;
    return 0;
}

/* ---- polynomials -------------------------------------------------------------------------- */

void ibbe_poly_free(struct ibbe_poly *p)
{
    free(p->coef);
    p->coef = NULL;
    p->degree = 0;
}

/* c[0..d] ← c·(x + a) as c[0..d+1] (room for d + 2 coefficients). */
static void mul_root(bls_fr *c, size_t d, const bls_fr *a)
{
    c[d + 1] = c[d];
    for (size_t j = d; j > 0; j--) {
        bls_fr t;
        bls_fr_mul(&t, a, &c[j]);
        bls_fr_add(&c[j], &t, &c[j - 1]);
    }
    bls_fr_mul(&c[0], &c[0], a);
}

int ibbe_poly_mul_root(struct ibbe_poly *p, const bls_fr *a)
{
    bls_fr *c = realloc(p->coef, (p->degree + 2) * sizeof *c);
    if (!c)
        return -1;
    p->coef = c;
    mul_root(c, p->degree, a);
    p->degree++;
    return 0;
}

int ibbe_poly_div_root(struct ibbe_poly *p, const bls_fr *a)
{
    size_t d = p->degree;
    if (d == 0)
        return -1;
    /* P = (x + a) Q + R: q_{d-1} = p_d, q_{j-1} = p_j - a q_j, R = p_0 - a q_0 = 0. */
    bls_fr *c = p->coef, carry = c[d], t;
    for (size_t j = d; j > 0; j--) {
        bls_fr q = carry;
        bls_fr_mul(&t, a, &q);
        bls_fr_sub(&carry, &c[j - 1], &t);
        c[j - 1] = q;
    }
    if (bls_fr_is_zero(&carry)) {
        p->degree = d - 1;
        return 0;
    }
    /* -a is not a root: restore P = (x + a) Q + R, leaving the caller's polynomial intact. */
    for (size_t j = d - 1; j > 0; j--) {
        bls_fr_mul(&t, a, &c[j]);
        bls_fr_add(&c[j], &t, &c[j - 1]);
    }
    bls_fr_mul(&t, a, &c[0]);
    bls_fr_add(&c[0], &t, &carry);
    return -1;
}

/* Below this many coefficients schoolbook multiplication beats Karatsuba's extra additions. */
#define KARATSUBA_MIN 32
#define LEAF_ROOTS 32

/* out[0..nx+ny-2] = x · y, schoolbook. */
static void poly_mul_school(bls_fr *out, const bls_fr *x, size_t nx, const bls_fr *y, size_t ny)
{
    bls_fr t;
    for (size_t k = 0; k < nx + ny - 1; k++)
        bls_fr_from_u64(&out[k], 0);
    for (size_t i = 0; i < nx; i++)
        for (size_t j = 0; j < ny; j++) {
            bls_fr_mul(&t, &x[i], &y[j]);
            bls_fr_add(&out[i + j], &out[i + j], &t);
        }
}

/* out[0..nx+ny-2] = x · y, Karatsuba for large balanced operands; -1 when out of memory. */
static int poly_mul(bls_fr *out, const bls_fr *x, size_t nx, const bls_fr *y, size_t ny)
{
    size_t m = ((nx > ny ? nx : ny) + 1) / 2; /* x1 and y1 have at most m coefficients */
    if (nx < KARATSUBA_MIN || ny < KARATSUBA_MIN || nx <= m || ny <= m) {
        poly_mul_school(out, x, nx, y, ny);
        return 0;
    }
    /* x = x0 + x1 t^m, y = y0 + y1 t^m; z1 = (x0 + x1)(y0 + y1) - z0 - z2. */
    size_t n1x = nx - m, n1y = ny - m, nz2 = n1x + n1y - 1;
    bls_fr *sx = malloc((4 * m - 1) * sizeof *sx), *sy = sx + m, *z1 = sy + m;
    if (!sx)
        return -1;
    for (size_t i = 0; i < m; i++) {
        sx[i] = x[i];
        sy[i] = y[i];
        if (i < n1x)
            bls_fr_add(&sx[i], &sx[i], &x[m + i]);
        if (i < n1y)
            bls_fr_add(&sy[i], &sy[i], &y[m + i]);
    }
    int rc = poly_mul(z1, sx, m, sy, m);
    for (size_t k = 0; k < nx + ny - 1; k++)
        bls_fr_from_u64(&out[k], 0);
    if (rc == 0)
        rc = poly_mul(out, x, m, y, m); /* z0 in out[0..2m-2] */
    if (rc == 0)
        rc = poly_mul(out + 2 * m, x + m, n1x, y + m, n1y); /* z2 in out[2m..] */
    if (rc == 0) {
        for (size_t k = 0; k < 2 * m - 1; k++)
            bls_fr_sub(&z1[k], &z1[k], &out[k]);
        for (size_t k = 0; k < nz2; k++)
            bls_fr_sub(&z1[k], &z1[k], &out[2 * m + k]);
        for (size_t k = 0; k < 2 * m - 1; k++)
            bls_fr_add(&out[m + k], &out[m + k], &z1[k]);
    }
    free(sx);
    return rc;
}

/* out[0..s] = ∏ (x + hashes[i]) by a product tree. */
static int poly_product(bls_fr *out, const bls_fr *hashes, size_t s)
{
    if (s <= LEAF_ROOTS) {
        bls_fr_from_u64(&out[0], 1);
        for (size_t i = 0; i < s; i++)
            mul_root(out, i, &hashes[i]);
        return 0;
    }
    size_t a = s / 2, b = s - a;
    bls_fr *left = malloc((s + 2) * sizeof *left), *right = left + a + 1;
    if (!left)
        return -1;
    int rc = poly_product(left, hashes, a);
    if (rc == 0)
        rc = poly_product(right, hashes + a, b);
    if (rc == 0)
        rc = poly_mul(out, left, a + 1, right, b + 1);
    free(left);
    return rc;
}

int ibbe_poly_from_hashes(struct ibbe_poly *p, const bls_fr *hashes, size_t s)
{
    p->degree = 0;
    p->coef = malloc((s + 1) * sizeof *p->coef);
    if (!p->coef)
        return -1;
    if (poly_product(p->coef, hashes, s) != 0) {
        ibbe_poly_free(p);
        return -1;
    }
    p->degree = s;
    return 0;
}

/* ---- encrypt and decrypt ------------------------------------------------------------------ */

int ibbe_encrypt_public(const ibbe_pk *pk, const bls_fr *hashes, size_t s, struct ibbe_header *hdr,
                        uint8_t key[IBBE_KEY_LEN])
{
    if (s < 1 || s > pk->n)
        return -1;
    struct ibbe_poly p;
    if (ibbe_poly_from_hashes(&p, hashes, s) != 0)
        return -1;
    int rc = bls_g1_msm(&hdr->c3, pk->hpow, p.coef, s + 1);
    ibbe_poly_free(&p);
    bls_fr k;
    if (rc != BLS_OK || bls_fr_random(&k) != 0)
        return -1;
    bls_gt vk;
    bls_g1_mul(&hdr->c2, &hdr->c3, &k);
    bls_gt_exp(&vk, &pk->v, &k);
    bls_fr_neg(&k, &k);
    bls_g2_mul(&hdr->c1, &pk->w, &k);
    rc = ibbe_kdf_broadcast(key, &vk);
    crypto_wipe(&k, sizeof k);
    crypto_wipe(&vk, sizeof vk);
    return rc;
}

int ibbe_decrypt_user(const ibbe_pk *pk, const struct ibbe_poly *p, const bls_fr *mine,
                      const struct ibbe_usk *usk, const struct ibbe_header *hdr,
                      uint8_t key[IBBE_KEY_LEN])
{
    size_t s = p->degree;
    if (s < 1 || s > pk->n)
        return -1;
    struct ibbe_poly q = {s, malloc((s + 1) * sizeof(bls_fr))};
    if (!q.coef)
        return -1;
    memcpy(q.coef, p->coef, (s + 1) * sizeof(bls_fr));
    int rc = -1;
    if (ibbe_poly_div_root(&q, mine) != 0)
        goto out; /* not a member of this set */
    bls_fr c;
    bls_fr_inv(&c, &q.coef[0]);
    bls_g1 in1[2];
    bls_g2 in2[2] = {hdr->c1, usk->d};
    for (size_t j = 1; j <= q.degree; j++)
        bls_fr_mul(&q.coef[j - 1], &q.coef[j], &c);
    if (q.degree == 0)
        bls_g1_identity(&in1[0]);
    else if (bls_g1_msm(&in1[0], pk->hpow, q.coef, q.degree) != BLS_OK)
        goto out;
    bls_g1_mul(&in1[1], &hdr->c2, &c);
    bls_gt vk;
    if (bls_pairing_multi(&vk, in1, in2, 2) != BLS_OK)
        goto out;
    rc = ibbe_kdf_broadcast(key, &vk);
    crypto_wipe(&vk, sizeof vk);
    crypto_wipe(in2, sizeof in2);
out:
    ibbe_poly_free(&q);
    return rc;
}
