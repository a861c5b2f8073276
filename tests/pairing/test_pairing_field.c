/* test_pairing_field.c -- Fp, Fp2, Fp12 and Fr against OpenSSL BIGNUM as a differential oracle,
 * algebraic identities of the tower (Frobenius, cyclotomic squaring, sparse products), and the
 * scalar split and recoding used by every constant-time multiplication. */
#include <cloister/pairing.h>

#include <openssl/bn.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "pairing/field.h"
#include "pairing/scalar.h"
#include "testutil.h"

static BIGNUM *bn_p, *bn_r;
static BN_CTX *ctx;

static int setup(void **state)
{
    uint8_t b[48];
    for (int i = 0; i < 48; i++)
        b[47 - i] = (uint8_t)(BLS_P[i / 8] >> (8 * (i % 8)));
    bn_p = BN_bin2bn(b, 48, NULL);
    for (int i = 0; i < 32; i++)
        b[31 - i] = (uint8_t)(BLS_R[i / 8] >> (8 * (i % 8)));
    bn_r = BN_bin2bn(b, 32, NULL);
    ctx = BN_CTX_new();
    return 0;
}

static int teardown(void **state)
{
    BN_free(bn_p);
    BN_free(bn_r);
    BN_CTX_free(ctx);
    return 0;
}

static BIGNUM *bn_of_fp(const bls_fp *a)
{
    uint8_t b[48];
    bls_fp_to_bytes(b, a);
    return BN_bin2bn(b, 48, NULL);
}

static void fp_of_bn(bls_fp *r, const BIGNUM *v)
{
    uint8_t b[48];
    assert_int_equal(BN_bn2binpad(v, b, 48), 48);
    assert_int_equal(bls_fp_from_bytes(r, b), 0);
}

static void assert_fp_bn(const bls_fp *a, const BIGNUM *want)
{
    BIGNUM *got = bn_of_fp(a);
    assert_int_equal(BN_cmp(got, want), 0);
    BN_free(got);
}

/* A random element, with the edge values 0, 1, p - 1 and p - 2 first. */
static void fp_sample(bls_fp *r, int i)
{
    BIGNUM *v = BN_new();
    if (i < 2) {
        BN_set_word(v, (BN_ULONG)i);
    } else if (i < 4) {
        BN_sub(v, bn_p, BN_value_one());
        BN_sub_word(v, (BN_ULONG)(i - 2));
    } else {
        uint8_t b[64];
        tu_rand_bytes(b, sizeof b);
        BN_bin2bn(b, 64, v);
        BN_mod(v, v, bn_p, ctx);
    }
    fp_of_bn(r, v);
    BN_free(v);
}

static void fp_vs_bignum(void **state)
{
    for (int i = 0; i < 300; i++) {
        bls_fp a, b, r;
        fp_sample(&a, i);
        fp_sample(&b, (i * 7 + 3) % 300);
        BIGNUM *x = bn_of_fp(&a), *y = bn_of_fp(&b), *want = BN_new();
        bls_fp_add(&r, &a, &b);
        BN_mod_add(want, x, y, bn_p, ctx);
        assert_fp_bn(&r, want);
        bls_fp_sub(&r, &a, &b);
        BN_mod_sub(want, x, y, bn_p, ctx);
        assert_fp_bn(&r, want);
        bls_fp_mul(&r, &a, &b);
        BN_mod_mul(want, x, y, bn_p, ctx);
        assert_fp_bn(&r, want);
        bls_fp_sqr(&r, &a);
        BN_mod_sqr(want, x, bn_p, ctx);
        assert_fp_bn(&r, want);
        bls_fp_neg(&r, &a);
        BN_mod_sub(want, bn_p, x, bn_p, ctx);
        assert_fp_bn(&r, want);
        bls_fp_inv(&r, &a);
        if (BN_is_zero(x))
            BN_zero(want);
        else
            BN_mod_inverse(want, x, bn_p, ctx);
        assert_fp_bn(&r, want);
        /* square roots: a^2 always has one, and is_square agrees with the Legendre symbol */
        bls_fp sq, root, check;
        bls_fp_sqr(&sq, &a);
        assert_true(bls_fp_sqrt(&root, &sq));
        bls_fp_sqr(&check, &root);
        assert_true(bls_fp_eq(&check, &sq));
        uint64_t has_root = bls_fp_sqrt(&root, &a);
        assert_int_equal(has_root, bls_fp_is_square(&a) | bls_fp_is_zero(&a));
        /* sgn0 and the ZCash half comparison on canonical values */
        assert_int_equal(bls_fp_sgn0(&a), BN_is_odd(x));
        BIGNUM *half = BN_new();
        BN_rshift1(half, bn_p);
        assert_int_equal(bls_fp_is_larger_half(&a), BN_cmp(x, half) > 0);
        BN_free(half);
        BN_free(x);
        BN_free(y);
        BN_free(want);
    }
}

/* a += p: an operand below 2p, as the unreduced sums fed to products are. */
static void add_p(bls_fp *a)
{
    uint64_t carry = 0;
    for (int j = 0; j < 6; j++)
        carry = mont_adc(a->l[j], BLS_P[j], carry, &a->l[j]);
}

/* The mulx/adcx/adox product against the portable one on the same operands: random values below
 * 2p (the products take sums left unreduced), the edges 0, 1, p - 1, p, 2p - 1, and the
 * extremes of each limb, all fully reduced and equal. Skipped on CPUs without BMI2 and ADX. */
static void fp_mul_adx_vs_portable(void **state)
{
    if (strcmp(bls_fp_select(BLS_FP_AUTO), "adx") != 0)
        skip();
    static const uint64_t edges[][6] = {
        {0},
        {1},
        {0xb9feffffffffaaaaULL, 0x1eabfffeb153ffffULL, 0x6730d2a0f6b0f624ULL, 0x64774b84f38512bfULL,
         0x4b1ba7b6434bacd7ULL, 0x1a0111ea397fe69aULL}, /* p - 1 */
        {0xb9feffffffffaaabULL, 0x1eabfffeb153ffffULL, 0x6730d2a0f6b0f624ULL, 0x64774b84f38512bfULL,
         0x4b1ba7b6434bacd7ULL, 0x1a0111ea397fe69aULL}, /* p */
        {0x73fdffffffff5555ULL, 0x3d57fffd62a7ffffULL, 0xce61a541ed61ec48ULL, 0xc8ee9709e70a257eULL,
         0x96374f6c869759aeULL, 0x340223d472ffcd34ULL}, /* 2p - 1 */
        {~0ULL, ~0ULL, ~0ULL, ~0ULL, ~0ULL, 0x1fffffffffffffffULL >> 4},
    };
    enum { EDGES = sizeof edges / sizeof *edges, N = EDGES + 2000 };
    for (int i = 0; i < N; i++) {
        bls_fp a, b, want, got;
        if (i < EDGES * EDGES) {
            memcpy(a.l, edges[i % EDGES], sizeof a.l);
            memcpy(b.l, edges[i / EDGES], sizeof b.l);
        } else {
            fp_sample(&a, 4 + i);
            fp_sample(&b, 5 + i);
            if (i & 1)
                add_p(&a);
            if (i & 2)
                add_p(&b);
        }
        bls_fp_select(BLS_FP_PORTABLE);
        bls_fp_mul(&want, &a, &b);
        bls_fp_select(BLS_FP_AUTO);
        bls_fp_mul(&got, &a, &b);
        assert_memory_equal(got.l, want.l, sizeof got.l);
        assert_true(mont_less_than(got.l, BLS_P, 6));
    }
    tu_fp_path();
}

static void fp_encoding_bounds(void **state)
{
    uint8_t b[48];
    bls_fp r;
    assert_int_equal(BN_bn2binpad(bn_p, b, 48), 48);
    assert_int_equal(bls_fp_from_bytes(&r, b), -1); /* p itself */
    memset(b, 0xff, sizeof b);
    assert_int_equal(bls_fp_from_bytes(&r, b), -1);
    BIGNUM *v = BN_dup(bn_p);
    BN_sub_word(v, 1);
    BN_bn2binpad(v, b, 48);
    assert_int_equal(bls_fp_from_bytes(&r, b), 0);
    uint8_t back[48];
    bls_fp_to_bytes(back, &r);
    assert_memory_equal(back, b, 48);
    BN_free(v);
}

static void fp2_sample(bls_fp2 *r, int i)
{
    fp_sample(&r->c0, i);
    fp_sample(&r->c1, (i * 13 + 5) % 300);
}

static void fp2_vs_bignum(void **state)
{
    for (int i = 0; i < 100; i++) {
        bls_fp2 a, b, r;
        fp2_sample(&a, i);
        fp2_sample(&b, i + 101);
        BIGNUM *a0 = bn_of_fp(&a.c0), *a1 = bn_of_fp(&a.c1), *b0 = bn_of_fp(&b.c0),
               *b1 = bn_of_fp(&b.c1), *t = BN_new(), *u = BN_new(), *w = BN_new();
        /* (a0 + a1 u)(b0 + b1 u) = (a0 b0 - a1 b1) + (a0 b1 + a1 b0) u */
        bls_fp2_mul(&r, &a, &b);
        BN_mod_mul(t, a0, b0, bn_p, ctx);
        BN_mod_mul(u, a1, b1, bn_p, ctx);
        BN_mod_sub(w, t, u, bn_p, ctx);
        assert_fp_bn(&r.c0, w);
        BN_mod_mul(t, a0, b1, bn_p, ctx);
        BN_mod_mul(u, a1, b0, bn_p, ctx);
        BN_mod_add(w, t, u, bn_p, ctx);
        assert_fp_bn(&r.c1, w);
        bls_fp2 s;
        bls_fp2_sqr(&s, &a);
        bls_fp2_mul(&r, &a, &a);
        assert_true(bls_fp2_eq(&s, &r));
        if (!bls_fp2_is_zero(&a)) {
            bls_fp2_inv(&r, &a);
            bls_fp2_mul(&r, &r, &a);
            bls_fp2 one = {BLS_FP_ONE, {{0}}};
            assert_true(bls_fp2_eq(&r, &one));
        }
        bls_fp2 root, check;
        assert_true(bls_fp2_sqrt(&root, &s));
        bls_fp2_sqr(&check, &root);
        assert_true(bls_fp2_eq(&check, &s));
        /* a is a square in Fp2 exactly when its norm is a square in Fp */
        bls_fp norm, t2;
        bls_fp_sqr(&norm, &a.c0);
        bls_fp_sqr(&t2, &a.c1);
        bls_fp_add(&norm, &norm, &t2);
        if (!bls_fp2_is_zero(&a))
            assert_int_equal(bls_fp2_sqrt(&root, &a), bls_fp_is_square(&norm));
        BIGNUM *all[] = {a0, a1, b0, b1, t, u, w};
        for (size_t j = 0; j < sizeof all / sizeof *all; j++)
            BN_free(all[j]);
    }
}

static void fp12_sample(bls_fp12 *r, int i)
{
    bls_fp *c = &r->c0.c0.c0;
    for (int j = 0; j < 12; j++)
        fp_sample(&c[j], 4 + (i * 12 + j) % 290);
}

/* r = a^e by square-and-multiply over the big-endian bytes of e */
static void fp12_pow_bytes(bls_fp12 *r, const bls_fp12 *a, const uint8_t *e, size_t len)
{
    bls_fp12 acc;
    bls_fp12_one(&acc);
    for (size_t i = 0; i < 8 * len; i++) {
        bls_fp12_sqr(&acc, &acc);
        if ((e[i / 8] >> (7 - i % 8)) & 1)
            bls_fp12_mul(&acc, &acc, a);
    }
    *r = acc;
}

static void fp12_identities(void **state)
{
    uint8_t pbytes[48];
    BN_bn2binpad(bn_p, pbytes, 48);
    for (int i = 0; i < 6; i++) {
        bls_fp12 a, b, c, x, y, z;
        fp12_sample(&a, i);
        fp12_sample(&b, i + 10);
        fp12_sample(&c, i + 20);
        bls_fp12_mul(&x, &a, &b); /* commutative, associative */
        bls_fp12_mul(&y, &b, &a);
        assert_true(bls_fp12_eq(&x, &y));
        bls_fp12_mul(&x, &x, &c);
        bls_fp12_mul(&y, &b, &c);
        bls_fp12_mul(&y, &a, &y);
        assert_true(bls_fp12_eq(&x, &y));
        bls_fp12_sqr(&x, &a);
        bls_fp12_mul(&y, &a, &a);
        assert_true(bls_fp12_eq(&x, &y));
        bls_fp12_inv(&x, &a);
        bls_fp12_mul(&x, &x, &a);
        assert_true(bls_fp12_is_one(&x));
        /* Frobenius: a^p, then its second and third powers */
        fp12_pow_bytes(&x, &a, pbytes, 48);
        bls_fp12_frobenius(&y, &a, 1);
        assert_true(bls_fp12_eq(&x, &y));
        bls_fp12_frobenius(&z, &y, 1);
        bls_fp12_frobenius(&x, &a, 2);
        assert_true(bls_fp12_eq(&x, &z));
        bls_fp12_frobenius(&z, &z, 1);
        bls_fp12_frobenius(&x, &a, 3);
        assert_true(bls_fp12_eq(&x, &z));
        /* the sparse line product equals the full product with the same element */
        bls_fp12 line = {0};
        line.c0.c0 = b.c0.c0;
        line.c0.c1 = b.c0.c1;
        line.c1.c1 = b.c1.c1;
        bls_fp12_mul(&x, &a, &line);
        bls_fp12_mul_by_014(&y, &a, &b.c0.c0, &b.c0.c1, &b.c1.c1);
        assert_true(bls_fp12_eq(&x, &y));
        /* cyclotomic squaring on f^((p^6 - 1)(p^2 + 1)), which lies in the cyclotomic subgroup */
        bls_fp12 f, g;
        bls_fp12_conj(&f, &a);
        bls_fp12_inv(&g, &a);
        bls_fp12_mul(&f, &f, &g);
        bls_fp12_frobenius(&g, &f, 2);
        bls_fp12_mul(&f, &f, &g);
        bls_fp12_cyclotomic_sqr(&x, &f);
        bls_fp12_sqr(&y, &f);
        assert_true(bls_fp12_eq(&x, &y));
    }
}

static BIGNUM *bn_of_fr(const bls_fr *a)
{
    uint8_t b[32];
    bls_fr_to_bytes(b, a);
    return BN_bin2bn(b, 32, NULL);
}

static void assert_fr_bn(const bls_fr *a, const BIGNUM *want)
{
    BIGNUM *got = bn_of_fr(a);
    assert_int_equal(BN_cmp(got, want), 0);
    BN_free(got);
}

static void fr_vs_bignum(void **state)
{
    for (int i = 0; i < 300; i++) {
        uint8_t wide[64];
        tu_rand_bytes(wide, sizeof wide);
        size_t len = i < 10 ? (size_t)(i * 7) % 65 : 64;
        bls_fr a, b, r;
        bls_fr_from_wide(&a, wide, len);
        BIGNUM *x = BN_bin2bn(wide, (int)len, NULL), *want = BN_new();
        BN_mod(x, x, bn_r, ctx);
        assert_fr_bn(&a, x);
        tu_rand_fr(&b);
        if (i == 0)
            bls_fr_from_u64(&b, 0);
        BIGNUM *y = bn_of_fr(&b);
        bls_fr_add(&r, &a, &b);
        BN_mod_add(want, x, y, bn_r, ctx);
        assert_fr_bn(&r, want);
        bls_fr_sub(&r, &a, &b);
        BN_mod_sub(want, x, y, bn_r, ctx);
        assert_fr_bn(&r, want);
        bls_fr_mul(&r, &a, &b);
        BN_mod_mul(want, x, y, bn_r, ctx);
        assert_fr_bn(&r, want);
        bls_fr_sqr(&r, &a);
        BN_mod_sqr(want, x, bn_r, ctx);
        assert_fr_bn(&r, want);
        bls_fr_neg(&r, &b);
        BN_mod_sub(want, bn_r, y, bn_r, ctx);
        assert_fr_bn(&r, want);
        bls_fr_inv(&r, &b);
        if (BN_is_zero(y))
            BN_zero(want);
        else
            BN_mod_inverse(want, y, bn_r, ctx);
        assert_fr_bn(&r, want);
        BN_free(x);
        BN_free(y);
        BN_free(want);
    }
}

static void fr_encoding(void **state)
{
    uint8_t b[32], back[32];
    bls_fr a;
    BN_bn2binpad(bn_r, b, 32);
    assert_int_equal(bls_fr_from_bytes(&a, b), BLS_ERR_RANGE);
    memset(b, 0xff, sizeof b);
    assert_int_equal(bls_fr_from_bytes(&a, b), BLS_ERR_RANGE);
    BIGNUM *v = BN_dup(bn_r);
    BN_sub_word(v, 1);
    BN_bn2binpad(v, b, 32);
    assert_int_equal(bls_fr_from_bytes(&a, b), BLS_OK);
    bls_fr_to_bytes(back, &a);
    assert_memory_equal(back, b, 32);
    bls_fr one, sum;
    bls_fr_from_u64(&one, 1);
    bls_fr_add(&sum, &a, &one);
    assert_true(bls_fr_is_zero(&sum));
    BN_free(v);
    bls_fr k1, k2;
    assert_int_equal(bls_fr_random(&k1), 0);
    assert_int_equal(bls_fr_random(&k2), 0);
    assert_false(bls_fr_is_zero(&k1));
    assert_false(bls_fr_eq(&k1, &k2));
}

static void fr_batch_inverse(void **state)
{
    enum { N = 37 };
    bls_fr in[N], out[N], one;
    bls_fr_from_u64(&one, 1);
    for (int i = 0; i < N; i++)
        tu_rand_fr(&in[i]);
    bls_fr_from_u64(&in[0], 0);
    bls_fr_from_u64(&in[17], 0);
    bls_fr_batch_inv(out, in, N);
    for (int i = 0; i < N; i++) {
        bls_fr check;
        if (bls_fr_is_zero(&in[i])) {
            assert_true(bls_fr_is_zero(&out[i]));
            continue;
        }
        bls_fr_mul(&check, &out[i], &in[i]);
        assert_true(bls_fr_eq(&check, &one));
    }
    bls_fr_batch_inv(out, in, 0);
}

static BIGNUM *bn_of_limbs(const uint64_t *v, int n)
{
    uint8_t b[64];
    for (int i = 0; i < 8 * n; i++)
        b[8 * n - 1 - i] = (uint8_t)(v[i / 8] >> (8 * (i % 8)));
    return BN_bin2bn(b, 8 * n, NULL);
}

static void scalar_split_and_recode(void **state)
{
    BIGNUM *z2 = BN_new();
    BN_set_word(z2, 0xd201000000010000ULL);
    BN_sqr(z2, z2, ctx);
    for (int i = 0; i < 400; i++) {
        bls_fr k;
        BIGNUM *kb;
        if (i < 6) { /* 0, 1, z^2 - 1, z^2, z^2 + 1, r - 1 */
            BIGNUM *v = BN_new();
            if (i < 2) {
                BN_set_word(v, (BN_ULONG)i);
            } else if (i < 5) {
                BN_copy(v, z2);
                BN_add_word(v, 1);
                BN_sub_word(v, (BN_ULONG)(4 - i));
            } else {
                BN_sub(v, bn_r, BN_value_one());
            }
            uint8_t b[32];
            BN_bn2binpad(v, b, 32);
            assert_int_equal(bls_fr_from_bytes(&k, b), BLS_OK);
            BN_free(v);
        } else {
            tu_rand_fr(&k);
        }
        kb = bn_of_fr(&k);
        for (int dims = 2; dims <= 4; dims += 2) {
            /* k = sum parts[d] L^d with every part below L (L = Z^2 or Z) */
            uint64_t parts[4][2];
            bls_scalar_split(parts, dims, &k);
            BIGNUM *l = BN_new(), *sum = BN_new(), *part = NULL;
            BN_set_word(l, 0xd201000000010000ULL);
            if (dims == 2)
                BN_sqr(l, l, ctx);
            BN_zero(sum);
            for (int d = dims - 1; d >= 0; d--) {
                part = bn_of_limbs(parts[d], 2);
                assert_true(BN_cmp(part, l) < 0);
                BN_mul(sum, sum, l, ctx);
                BN_add(sum, sum, part);
                BN_free(part);
            }
            assert_int_equal(BN_cmp(sum, kb), 0);
            /* signed 5-bit digits of each part recombine to it */
            int ndigits = bls_scalar_digits(dims, 5);
            for (int d = 0; d < dims; d++) {
                uint8_t mag[26], neg[26];
                bls_scalar_recode(mag, neg, parts[d], 2, 5, ndigits);
                BIGNUM *acc = BN_new();
                BN_zero(acc);
                for (int j = ndigits - 1; j >= 0; j--) {
                    assert_true(mag[j] <= 16);
                    BN_lshift(acc, acc, 5);
                    if (neg[j])
                        BN_sub_word(acc, mag[j]);
                    else
                        BN_add_word(acc, mag[j]);
                }
                part = bn_of_limbs(parts[d], 2);
                assert_int_equal(BN_cmp(acc, part), 0);
                BN_free(part);
                BN_free(acc);
            }
            BN_free(l);
            BN_free(sum);
        }
        BN_free(kb);
    }
    BN_free(z2);
}

int main(void)
{
    tu_fp_path();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fp_vs_bignum),
        cmocka_unit_test(fp_mul_adx_vs_portable),
        cmocka_unit_test(fp_encoding_bounds),
        cmocka_unit_test(fp2_vs_bignum),
        cmocka_unit_test(fp12_identities),
        cmocka_unit_test(fr_vs_bignum),
        cmocka_unit_test(fr_encoding),
        cmocka_unit_test(fr_batch_inverse),
        cmocka_unit_test(scalar_split_and_recode),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
