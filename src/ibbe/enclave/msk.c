/* msk.c -- the enclave half of IBBE: setup, extract, O(s) encryption and admin decryption
 * with the master secret γ.
 *
 * Setup draws γ and the generators h = [a]G1, g = [b]G2 (a, b discarded) and computes the n
 * powers h^{γ^i} from a fixed-base table of h (additions only). The master key keeps fixed-base
 * tables of h, g and w = g^γ, so every later operation on them is a table multiplication:
 * extract is g^{1/(γ+H)}, encrypt is C3 = h^t, C2 = h^{tk}, C1 = w^{-k} with t = ∏(γ + H_i)
 * computed directly in Fr (O(s)). Admin decryption: C2^{1/P(γ)} = h^k, so v^k = e(h^k, g).
 * γ itself is kept in secret memory (tee_secret_alloc). */
#include "ibbe/enclave/secret.h"

#include <cloister/crypto.h>
#include <cloister/tee_enclave.h>

#include <stdlib.h>
#include <string.h>

void ibbe_msk_free(ibbe_msk *msk)
{
    if (!msk)
        return;
    bls_g1_table_free(msk->h_table);
    bls_g2_table_free(msk->g_table);
    bls_g2_table_free(msk->w_table);
    if (msk->gamma)
        tee_secret_free(msk->gamma, sizeof *msk->gamma); /* wipes γ */
    free(msk);
}

/* Tables for a γ and a public key (pk->w already equal to g^γ). γ alone lives in secret memory
 * (tee_secret_alloc: memfd_secret or mlock'd pages); the tables hold only public points. */
static ibbe_msk *msk_new(const bls_fr *gamma, const ibbe_pk *pk)
{
    ibbe_msk *msk = calloc(1, sizeof *msk);
    if (!msk)
        return NULL;
    if (!(msk->gamma = tee_secret_alloc(sizeof *msk->gamma))) {
        free(msk);
        return NULL;
    }
    *msk->gamma = *gamma;
    msk->pk = pk;
    msk->h_table = bls_g1_table_new(&pk->hpow[0]);
    msk->g_table = bls_g2_table_new(&pk->g);
    msk->w_table = bls_g2_table_new(&pk->w);
    if (!msk->h_table || !msk->g_table || !msk->w_table) {
        ibbe_msk_free(msk);
        return NULL;
    }
    return msk;
}

int ibbe_setup(size_t n, ibbe_msk **out_msk, ibbe_pk **out_pk)
{
    if (n < 1 || n > IBBE_PARTITION_MAX)
        return -1;
    ibbe_pk *pk = calloc(1, sizeof *pk);
    if (!pk || !(pk->hpow = malloc((n + 1) * sizeof *pk->hpow))) {
        ibbe_pk_free(pk);
        return -1;
    }
    pk->n = n;
    bls_fr a, b, gamma, pw;
    if (bls_fr_random(&a) != 0 || bls_fr_random(&b) != 0 || bls_fr_random(&gamma) != 0) {
        ibbe_pk_free(pk);
        return -1;
    }
    bls_g1_mul_gen(&pk->hpow[0], &a);
    bls_g2_mul_gen(&pk->g, &b);
    bls_g2_mul(&pk->w, &pk->g, &gamma);
    bls_pairing(&pk->v, &pk->hpow[0], &pk->g);
    crypto_wipe(&a, sizeof a);
    crypto_wipe(&b, sizeof b);
    ibbe_msk *msk = msk_new(&gamma, pk);
    if (!msk) {
        crypto_wipe(&gamma, sizeof gamma);
        ibbe_pk_free(pk);
        return -1;
    }
    pw = gamma;
    for (size_t i = 1; i <= n; i++) {
        bls_g1_table_mul(&pk->hpow[i], msk->h_table, &pw);
        bls_fr_mul(&pw, &pw, &gamma);
    }
    crypto_wipe(&pw, sizeof pw);
    crypto_wipe(&gamma, sizeof gamma);
    *out_msk = msk;
    *out_pk = pk;
    return 0;
}

void ibbe_msk_to_bytes(uint8_t out[BLS_FR_BYTES], const ibbe_msk *msk)
{
    bls_fr_to_bytes(out, msk->gamma);
}

int ibbe_msk_from_bytes(ibbe_msk **out, const uint8_t in[BLS_FR_BYTES], const ibbe_pk *pk)
{
    bls_fr gamma;
    bls_g2 w;
    int rc = -1;
    if (bls_fr_from_bytes(&gamma, in) != BLS_OK || bls_fr_is_zero(&gamma))
        goto out;
    bls_g2_mul(&w, &pk->g, &gamma);
    if (!bls_g2_eq(&w, &pk->w))
        goto out; /* γ of another public key */
    if ((*out = msk_new(&gamma, pk)))
        rc = 0;
out:
    crypto_wipe(&gamma, sizeof gamma);
    return rc;
}

int ibbe_secret_exponent(const ibbe_msk *msk, const bls_fr *hash, bool invert, bls_fr *out)
{
    bls_fr_add(out, msk->gamma, hash);
    if (bls_fr_is_zero(out))
        return -1;
    if (invert)
        bls_fr_inv(out, out);
    return 0;
}

int ibbe_secret_product(const ibbe_msk *msk, const bls_fr *hashes, size_t s, bls_fr *t)
{
    bls_fr f;
    bls_fr_from_u64(t, 1);
    for (size_t i = 0; i < s; i++) {
        bls_fr_add(&f, msk->gamma, &hashes[i]);
        bls_fr_mul(t, t, &f);
    }
    crypto_wipe(&f, sizeof f);
    return bls_fr_is_zero(t) ? -1 : 0;
}

void ibbe_secret_c3(const ibbe_msk *msk, const bls_fr *t, bls_g1 *c3)
{
    bls_g1_table_mul(c3, msk->h_table, t);
}

int ibbe_secret_rekey(const ibbe_msk *msk, const bls_fr *t, struct ibbe_header *hdr,
                      uint8_t b[IBBE_KEY_LEN])
{
    bls_fr k, tk;
    bls_gt vk;
    if (bls_fr_random(&k) != 0)
        return -1;
    if (t) {
        bls_fr_mul(&tk, t, &k);
        bls_g1_table_mul(&hdr->c2, msk->h_table, &tk);
        crypto_wipe(&tk, sizeof tk);
    } else {
        bls_g1_mul(&hdr->c2, &hdr->c3, &k);
    }
    bls_gt_exp(&vk, &msk->pk->v, &k);
    bls_fr_neg(&k, &k);
    bls_g2_table_mul(&hdr->c1, msk->w_table, &k);
    int rc = ibbe_kdf_broadcast(b, &vk);
    crypto_wipe(&k, sizeof k);
    crypto_wipe(&vk, sizeof vk);
    return rc;
}

int ibbe_extract(const ibbe_msk *msk, const char *id, struct ibbe_usk *usk)
{
    bls_fr h, e;
    if (ibbe_hash_id(&h, id) != 0 || ibbe_secret_exponent(msk, &h, true, &e) != 0)
        return -1;
    bls_g2_table_mul(&usk->d, msk->g_table, &e);
    crypto_wipe(&e, sizeof e);
    return 0;
}

int ibbe_encrypt(const ibbe_msk *msk, const bls_fr *hashes, size_t s, struct ibbe_header *hdr,
                 uint8_t key[IBBE_KEY_LEN])
{
    bls_fr t;
    int rc = -1;
    if (s >= 1 && s <= msk->pk->n && ibbe_secret_product(msk, hashes, s, &t) == 0) {
        ibbe_secret_c3(msk, &t, &hdr->c3);
        rc = ibbe_secret_rekey(msk, &t, hdr, key);
    }
    crypto_wipe(&t, sizeof t);
    return rc;
}

int ibbe_decrypt_admin(const ibbe_msk *msk, const bls_fr *hashes, size_t s,
                       const struct ibbe_header *hdr, uint8_t key[IBBE_KEY_LEN])
{
    bls_fr t;
    bls_g1 hk;
    bls_gt vk;
    int rc = -1;
    if (s >= 1 && s <= msk->pk->n && ibbe_secret_product(msk, hashes, s, &t) == 0) {
        bls_fr_inv(&t, &t);
        bls_g1_mul(&hk, &hdr->c2, &t);
        bls_pairing(&vk, &hk, &msk->pk->g);
        rc = ibbe_kdf_broadcast(key, &vk);
        crypto_wipe(&hk, sizeof hk);
        crypto_wipe(&vk, sizeof vk);
    }
    crypto_wipe(&t, sizeof t);
    return rc;
}
