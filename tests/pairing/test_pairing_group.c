/* test_pairing_group.c -- G1 and G2 (each property runs on both groups): the group law against
 * its axioms, constant-time multiplication against double-and-add, fixed-base tables and MSM
 * against sums of single multiplications, the endomorphisms behind GLV/GLS, subgroup checks
 * against [r]P = O, and decoding of valid, malformed and hostile encodings. */
#include <cloister/pairing.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pairing/curve.h"
#include "pairing/field.h"
#include "testutil.h"

#define MAXPT sizeof(bls_g2)

static const struct tu_group *groups[] = {&tu_g1, &tu_g2};

/* A random point of the group: [k]G with a random k. */
static void rand_point(const struct tu_group *g, void *out)
{
    bls_fr k;
    tu_rand_fr(&k);
    g->mul_gen(out, &k);
}

static void group_axioms(void **state)
{
    for (int gi = 0; gi < 2; gi++) {
        const struct tu_group *g = groups[gi];
        uint8_t p[MAXPT], q[MAXPT], s[MAXPT], t[MAXPT], o[MAXPT];
        g->identity(o);
        g->generator(p);
        assert_true(g->on_curve(p) && g->in_subgroup(p) && !g->is_identity(p));
        assert_true(g->on_curve(o) && g->in_subgroup(o) && g->is_identity(o));
        for (int i = 0; i < 20; i++) {
            rand_point(g, q);
            g->add(s, p, q); /* commutative */
            g->add(t, q, p);
            assert_true(g->eq(s, t));
            g->add(t, p, o); /* identity */
            assert_true(g->eq(t, p));
            g->add(t, o, p);
            assert_true(g->eq(t, p));
            g->add(s, p, p); /* doubling through the addition formula */
            g->dbl(t, p);
            assert_true(g->eq(s, t));
            g->neg(t, p); /* inverse */
            g->add(s, p, t);
            assert_true(g->is_identity(s));
            g->sub(s, s, q);
            g->neg(t, q);
            assert_true(g->eq(s, t));
            g->add(s, p, q); /* associativity with a third point */
            g->add(s, s, t);
            assert_true(g->eq(s, p));
            assert_true(g->on_curve(s) && g->in_subgroup(s));
            memcpy(p, q, g->point_size);
        }
        g->dbl(t, o);
        assert_true(g->is_identity(t));
    }
}

static void mul_matches_double_and_add(void **state)
{
    static const char *edge[] = {
        "0000000000000000000000000000000000000000000000000000000000000000",
        "0000000000000000000000000000000000000000000000000000000000000001",
        "0000000000000000000000000000000000000000000000000000000000000002",
        "73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000000", /* r - 1 */
        "00000000000000000000000000000000ac45a4010001a40200000000ffffffff", /* Z^2 - 1 */
        "00000000000000000000000000000000ac45a4010001a4020000000100000000", /* Z^2 */
        "0000000000000000000000000000000100000000000000000000000000000000", /* 2^128 */
    };
    for (int gi = 0; gi < 2; gi++) {
        const struct tu_group *g = groups[gi];
        uint8_t p[MAXPT], a[MAXPT], b[MAXPT], c[MAXPT];
        void *table;
        rand_point(g, p);
        table = g->table_new(p);
        assert_non_null(table);
        for (size_t i = 0; i < 7 + 6; i++) {
            bls_fr k;
            if (i < 7)
                tu_fr_hex(&k, edge[i]);
            else
                tu_rand_fr(&k);
            g->mul(a, p, &k);
            tu_naive_mul(g, b, p, &k);
            assert_true(g->eq(a, b));
            g->table_mul(c, table, &k);
            assert_true(g->eq(c, b));
            g->generator(c);
            g->mul(a, c, &k);
            g->mul_gen(b, &k);
            assert_true(g->eq(a, b));
        }
        g->table_free(table);
        /* the identity as a base */
        bls_fr k;
        tu_rand_fr(&k);
        g->identity(p);
        g->mul(a, p, &k);
        assert_true(g->is_identity(a));
        table = g->table_new(p);
        g->table_mul(a, table, &k);
        assert_true(g->is_identity(a));
        g->table_free(table);
        g->table_free(NULL);
    }
}

static void mul_is_linear(void **state)
{
    for (int gi = 0; gi < 2; gi++) {
        const struct tu_group *g = groups[gi];
        for (int i = 0; i < 6; i++) {
            uint8_t p[MAXPT], x[MAXPT], y[MAXPT], z[MAXPT];
            bls_fr a, b, s;
            rand_point(g, p);
            tu_rand_fr(&a);
            tu_rand_fr(&b);
            g->mul(x, p, &a); /* [a]P + [b]P = [a + b]P */
            g->mul(y, p, &b);
            g->add(x, x, y);
            bls_fr_add(&s, &a, &b);
            g->mul(z, p, &s);
            assert_true(g->eq(x, z));
            g->mul(x, p, &b); /* [a]([b]P) = [ab]P */
            g->mul(x, x, &a);
            bls_fr_mul(&s, &a, &b);
            g->mul(z, p, &s);
            assert_true(g->eq(x, z));
        }
    }
}

static void endomorphisms(void **state)
{
    for (int i = 0; i < 4; i++) {
        bls_fr z, z2, x;
        uint8_t zb[32] = {0};
        uint64_t zv = 0xd201000000010000ULL;
        for (int j = 0; j < 8; j++)
            zb[31 - j] = (uint8_t)(zv >> (8 * j));
        assert_int_equal(bls_fr_from_bytes(&z, zb), BLS_OK);
        bls_fr_sqr(&z2, &z);
        bls_fr_neg(&x, &z);
        bls_g1 p, e, m;
        rand_point(&tu_g1, &p);
        bls_g1_endo(&e, &p); /* acts as [Z^2] */
        bls_g1_mul(&m, &p, &z2);
        assert_true(bls_g1_eq(&e, &m));
        bls_g1_mul_z(&e, &p);
        bls_g1_mul(&m, &p, &z);
        assert_true(bls_g1_eq(&e, &m));
        bls_g2 q, f, n;
        rand_point(&tu_g2, &q);
        bls_g2_endo(&f, &q); /* psi^2 acts as [x^2] = [Z^2] */
        bls_g2_mul(&n, &q, &z2);
        assert_true(bls_g2_eq(&f, &n));
        bls_g2_psi(&f, &q); /* psi acts as [x] */
        bls_g2_mul(&n, &q, &x);
        assert_true(bls_g2_eq(&f, &n));
    }
}

static void msm_matches_single_multiplications(void **state)
{
    static const size_t sizes[] = {0, 1, 2, 3, 5, 17, 64, 300};
    for (int gi = 0; gi < 2; gi++) {
        const struct tu_group *g = groups[gi];
        for (size_t si = 0; si < sizeof sizes / sizeof *sizes; si++) {
            size_t n = sizes[si];
            uint8_t *pts = malloc((n + 1) * g->point_size);
            bls_fr *k = malloc((n + 1) * sizeof *k);
            uint8_t want[MAXPT], got[MAXPT], t[MAXPT];
            assert_non_null(pts);
            assert_non_null(k);
            g->identity(want);
            for (size_t i = 0; i < n; i++) {
                void *p = pts + i * g->point_size;
                if (i % 7 == 3) /* repeated points, opposite points, the identity */
                    memcpy(p, pts, g->point_size);
                else if (i % 7 == 4)
                    g->neg(p, pts);
                else if (i % 11 == 6)
                    g->identity(p);
                else
                    rand_point(g, p);
                if (i % 5 == 2)
                    bls_fr_from_u64(&k[i], 0);
                else if (i % 5 == 3)
                    k[i] = k[0];
                else
                    tu_rand_fr(&k[i]);
                g->mul(t, p, &k[i]);
                g->add(want, want, t);
            }
            assert_int_equal(g->msm(got, pts, k, n), BLS_OK);
            assert_true(g->eq(got, want));
            free(pts);
            free(k);
        }
    }
}

/* Large sums take wider windows than the sizes above: check them by linearity, the sum over all
 * points against the sums over two halves (which use narrower windows). */
static void msm_large_by_halves(void **state)
{
    enum { N = 3000 };
    for (int gi = 0; gi < 2; gi++) {
        const struct tu_group *g = groups[gi];
        uint8_t *pts = malloc(N * g->point_size), all[MAXPT], lo[MAXPT], hi[MAXPT];
        bls_fr *k = malloc(N * sizeof *k);
        assert_non_null(pts);
        assert_non_null(k);
        uint8_t base[MAXPT];
        rand_point(g, base);
        for (size_t i = 0; i < N; i++) { /* cheap distinct points: base, 2 base, 3 base, ... */
            void *p = pts + i * g->point_size;
            if (i == 0)
                memcpy(p, base, g->point_size);
            else
                g->add(p, pts + (i - 1) * g->point_size, base);
            tu_rand_fr(&k[i]);
        }
        assert_int_equal(g->msm(all, pts, k, N), BLS_OK);
        assert_int_equal(g->msm(lo, pts, k, N / 2), BLS_OK);
        assert_int_equal(g->msm(hi, pts + (N / 2) * g->point_size, k + N / 2, N - N / 2), BLS_OK);
        g->add(lo, lo, hi);
        assert_true(g->eq(all, lo));
        /* and against the closed form: sum k_i (i + 1) base */
        bls_fr sum, t, idx;
        bls_fr_from_u64(&sum, 0);
        for (size_t i = 0; i < N; i++) {
            bls_fr_from_u64(&idx, i + 1);
            bls_fr_mul(&t, &k[i], &idx);
            bls_fr_add(&sum, &sum, &t);
        }
        g->mul(hi, base, &sum);
        assert_true(g->eq(all, hi));
        free(pts);
        free(k);
    }
}

/* [vt] out = [e]P for a big-endian byte string e (here r, which Fr cannot hold). */
static void mul_by_bytes(const struct tu_group *g, void *out, const void *p, const uint8_t *e,
                         size_t len)
{
    g->identity(out);
    for (size_t i = 0; i < 8 * len; i++) {
        g->dbl(out, out);
        if ((e[i / 8] >> (7 - i % 8)) & 1)
            g->add(out, out, p);
    }
}

/* Points of the curve outside G1 / G2: x = 1, 2, ... (G2: x = i + u) with a square root. */
static int curve_point(const struct tu_group *g, void *out, uint64_t *x)
{
    for (;; (*x)++) {
        if (g == &tu_g1) {
            bls_g1_affine a;
            bls_fp rhs;
            bls_fp_set_u64(&a.x, *x);
            bls_fp_sqr(&rhs, &a.x);
            bls_fp_mul(&rhs, &rhs, &a.x);
            bls_fp_add(&rhs, &rhs, &BLS_G1_B);
            if (bls_fp_sqrt(&a.y, &rhs)) {
                bls_g1_from_affine(out, &a);
                return 1;
            }
        } else {
            bls_g2_affine a;
            bls_fp2 rhs;
            bls_fp_set_u64(&a.x.c0, *x);
            a.x.c1 = BLS_FP_ONE;
            bls_fp2_sqr(&rhs, &a.x);
            bls_fp2_mul(&rhs, &rhs, &a.x);
            bls_fp2_add(&rhs, &rhs, &BLS_G2_B);
            if (bls_fp2_sqrt(&a.y, &rhs)) {
                bls_g2_from_affine(out, &a);
                return 1;
            }
        }
    }
}

static void subgroup_checks_agree_with_order(void **state)
{
    uint8_t r[32];
    for (int i = 0; i < 32; i++)
        r[31 - i] = (uint8_t)(BLS_R[i / 8] >> (8 * (i % 8)));
    for (int gi = 0; gi < 2; gi++) {
        const struct tu_group *g = groups[gi];
        uint8_t p[MAXPT], t[MAXPT], enc[BLS_G2_BYTES], back[MAXPT];
        uint64_t x = 1;
        for (int i = 0; i < 3; i++, x++) {
            curve_point(g, p, &x);
            assert_true(g->on_curve(p));
            mul_by_bytes(g, t, p, r, sizeof r);
            assert_int_equal(g->in_subgroup(p), g->is_identity(t));
            assert_false(g->in_subgroup(p)); /* the cofactors are large: never hit by chance */
            g->to_bytes(enc, p);             /* decoding refuses it */
            assert_int_equal(g->from_bytes(back, enc), BLS_ERR_NOT_IN_SUBGROUP);
        }
        rand_point(g, p);
        mul_by_bytes(g, t, p, r, sizeof r);
        assert_true(g->is_identity(t));
        assert_true(g->in_subgroup(p));
    }
}

static void encoding_round_trip(void **state)
{
    for (int gi = 0; gi < 2; gi++) {
        const struct tu_group *g = groups[gi];
        uint8_t p[MAXPT], q[MAXPT], enc[BLS_G2_BYTES], enc2[BLS_G2_BYTES];
        for (int i = 0; i < 12; i++) {
            if (i == 0)
                g->identity(p);
            else
                rand_point(g, p);
            if (i == 1)
                g->generator(p);
            g->to_bytes(enc, p);
            assert_true(enc[0] & 0x80);
            assert_int_equal(g->from_bytes(q, enc), BLS_OK);
            assert_true(g->eq(p, q));
            g->neg(q, p); /* the negation differs in the sign flag only */
            g->to_bytes(enc2, q);
            if (i > 0) {
                assert_int_equal(enc[0] ^ enc2[0], 0x20);
                assert_memory_equal(enc + 1, enc2 + 1, g->bytes - 1);
            }
        }
    }
}

static void malformed_encodings(void **state)
{
    for (int gi = 0; gi < 2; gi++) {
        const struct tu_group *g = groups[gi];
        uint8_t p[MAXPT], out[MAXPT], enc[BLS_G2_BYTES];
        size_t n = g->bytes;
        g->generator(out);
        memset(enc, 0, sizeof enc); /* not compressed */
        assert_int_equal(g->from_bytes(p, enc), BLS_ERR_FLAGS);
        enc[0] = 0xc0; /* the identity, then each way of spoiling it */
        assert_int_equal(g->from_bytes(p, enc), BLS_OK);
        assert_true(g->is_identity(p));
        enc[0] = 0xe0;
        assert_int_equal(g->from_bytes(p, enc), BLS_ERR_FLAGS);
        enc[0] = 0xc1;
        assert_int_equal(g->from_bytes(p, enc), BLS_ERR_FLAGS);
        enc[0] = 0xc0;
        enc[n - 1] = 1;
        assert_int_equal(g->from_bytes(p, enc), BLS_ERR_FLAGS);
        enc[0] = 0x40; /* identity flag without compression */
        enc[n - 1] = 0;
        assert_int_equal(g->from_bytes(p, enc), BLS_ERR_FLAGS);
        memset(enc, 0xff, n); /* x >= p */
        enc[0] = 0x9f;
        assert_int_equal(g->from_bytes(p, enc), BLS_ERR_RANGE);
        if (g == &tu_g2) { /* the second coordinate out of range alone */
            g->generator(p);
            g->to_bytes(enc, p);
            memset(enc + 48, 0xff, 48);
            assert_int_equal(g->from_bytes(p, enc), BLS_ERR_RANGE);
        }
        int not_on_curve = 0; /* about half of all x have no point */
        for (uint8_t x = 1; x < 40; x++) {
            memset(enc, 0, n);
            enc[0] = 0x80;
            enc[n - 1] = x;
            int rc = g->from_bytes(p, enc);
            assert_true(rc == BLS_ERR_NOT_ON_CURVE || rc == BLS_ERR_NOT_IN_SUBGROUP);
            not_on_curve += rc == BLS_ERR_NOT_ON_CURVE;
        }
        assert_true(not_on_curve > 5);
        /* random bytes: never a crash; an accepted value round-trips; out is untouched on error */
        for (int i = 0; i < 300; i++) {
            tu_rand_bytes(enc, n);
            if (i % 2)
                enc[0] |= 0x80;
            uint8_t before[MAXPT];
            memcpy(p, out, g->point_size);
            memcpy(before, p, g->point_size);
            int rc = g->from_bytes(p, enc);
            if (rc == BLS_OK) {
                uint8_t again[BLS_G2_BYTES];
                g->to_bytes(again, p);
                assert_memory_equal(again, enc, n);
            } else {
                assert_memory_equal(p, before, g->point_size);
                assert_string_not_equal(bls_strerror(rc), bls_strerror(999));
            }
        }
    }
}

static void hashing_lands_in_the_group(void **state)
{
    static const char dst[] = "CLOISTER-PAIRING-UNIT-TEST";
    for (int gi = 0; gi < 2; gi++) {
        const struct tu_group *g = groups[gi];
        uint8_t a[MAXPT], b[MAXPT];
        g->hash(a, "alice", 5, dst, sizeof dst - 1);
        g->hash(b, "alice", 5, dst, sizeof dst - 1);
        assert_true(g->eq(a, b));
        assert_true(g->in_subgroup(a) && !g->is_identity(a));
        g->hash(b, "alicf", 5, dst, sizeof dst - 1);
        assert_false(g->eq(a, b));
        g->hash(b, "alice", 5, "OTHER", 5);
        assert_false(g->eq(a, b));
        char long_dst[300]; /* oversized DSTs are hashed first (RFC 9380 section 5.3.3) */
        memset(long_dst, 'D', sizeof long_dst);
        g->hash(b, "alice", 5, long_dst, sizeof long_dst);
        assert_true(g->in_subgroup(b));
    }
}

int main(void)
{
    tu_fp_path();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(group_axioms),
        cmocka_unit_test(mul_matches_double_and_add),
        cmocka_unit_test(mul_is_linear),
        cmocka_unit_test(endomorphisms),
        cmocka_unit_test(msm_matches_single_multiplications),
        cmocka_unit_test(msm_large_by_halves),
        cmocka_unit_test(subgroup_checks_agree_with_order),
        cmocka_unit_test(encoding_round_trip),
        cmocka_unit_test(malformed_encodings),
        cmocka_unit_test(hashing_lands_in_the_group),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
