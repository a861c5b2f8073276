/* ec_impl.h -- the group law and constant-time scalar multiplication of a short Weierstrass
 * curve y^2 = x^3 + b (a = 0), written once for G1 (over Fp) and G2 (over Fp2).
 *
 * Included by g1.c and g2.c after they define:
 *   PT, AFF, FE         point, affine point and coordinate types
 *   EC(name)            the public name of a group function (bls_g1_##name)
 *   FE_(op)             the coordinate field's function (bls_fp_##op)
 *   fe_mul_b, fe_mul_b3 multiplication by b and 3b (a few additions)
 *   fe_endo_x           the X multiplier of the [Z^2] endomorphism
 *   EC_DIMS, EC(phi)    the GLV/GLS dimension (2 or 4) and the endomorphism acting as [L],
 *                       L = Z^2 (dims 2) or Z (dims 4), see scalar.c
 *   FE_ONE, GEN_X, GEN_Y
 *
 * Points are homogeneous projective (X : Y : Z) with the complete formulas of Renes, Costello
 * and Batina (eprint 2015/1060, algorithms 7, 8 and 9 for a = 0): one code path for every pair
 * of inputs, identity and doubling included, so the sequence of field operations never depends
 * on the points. Scalar multiplication splits k into EC_DIMS parts of 256 / EC_DIMS bits
 * (scalar.c), recodes them into signed 5-bit digits and walks the windows once for all parts:
 * G1 (2 parts) does 125 doublings and 52 additions, G2 (4 parts) 60 doublings and 52
 * additions, of entries read from 16-entry tables with masked selection and masked negation. */

void EC(identity)(PT *out)
{
    static const FE zero;
    out->x = zero;
    out->y = FE_ONE;
    out->z = zero;
}

void EC(generator)(PT *out)
{
    out->x = GEN_X;
    out->y = GEN_Y;
    out->z = FE_ONE;
}

void EC(add)(PT *out, const PT *p, const PT *q)
{
    FE t0, t1, t2, t3, t4, x3, y3, z3;
    FE_(mul)(&t0, &p->x, &q->x);
    FE_(mul)(&t1, &p->y, &q->y);
    FE_(mul)(&t2, &p->z, &q->z);
    FE_(add)(&t3, &p->x, &p->y);
    FE_(add)(&t4, &q->x, &q->y);
    FE_(mul)(&t3, &t3, &t4);
    FE_(add)(&t4, &t0, &t1);
    FE_(sub)(&t3, &t3, &t4);
    FE_(add)(&t4, &p->y, &p->z);
    FE_(add)(&x3, &q->y, &q->z);
    FE_(mul)(&t4, &t4, &x3);
    FE_(add)(&x3, &t1, &t2);
    FE_(sub)(&t4, &t4, &x3);
    FE_(add)(&x3, &p->x, &p->z);
    FE_(add)(&y3, &q->x, &q->z);
    FE_(mul)(&x3, &x3, &y3);
    FE_(add)(&y3, &t0, &t2);
    FE_(sub)(&y3, &x3, &y3);
    FE_(add)(&x3, &t0, &t0);
    FE_(add)(&t0, &x3, &t0);
    fe_mul_b3(&t2, &t2);
    FE_(add)(&z3, &t1, &t2);
    FE_(sub)(&t1, &t1, &t2);
    fe_mul_b3(&y3, &y3);
    FE_(mul)(&x3, &t4, &y3);
    FE_(mul)(&t2, &t3, &t1);
    FE_(sub)(&x3, &t2, &x3);
    FE_(mul)(&y3, &y3, &t0);
    FE_(mul)(&t1, &t1, &z3);
    FE_(add)(&y3, &t1, &y3);
    FE_(mul)(&t0, &t0, &t3);
    FE_(mul)(&z3, &z3, &t4);
    FE_(add)(&z3, &z3, &t0);
    out->x = x3;
    out->y = y3;
    out->z = z3;
}

void EC(add_affine)(PT *out, const PT *p, const AFF *q)
{
    FE t0, t1, t2, t3, t4, x3, y3, z3;
    FE_(mul)(&t0, &p->x, &q->x);
    FE_(mul)(&t1, &p->y, &q->y);
    FE_(add)(&t3, &q->x, &q->y);
    FE_(add)(&t4, &p->x, &p->y);
    FE_(mul)(&t3, &t3, &t4);
    FE_(add)(&t4, &t0, &t1);
    FE_(sub)(&t3, &t3, &t4);
    FE_(mul)(&t4, &q->y, &p->z);
    FE_(add)(&t4, &t4, &p->y);
    FE_(mul)(&y3, &q->x, &p->z);
    FE_(add)(&y3, &y3, &p->x);
    FE_(add)(&x3, &t0, &t0);
    FE_(add)(&t0, &x3, &t0);
    fe_mul_b3(&t2, &p->z);
    FE_(add)(&z3, &t1, &t2);
    FE_(sub)(&t1, &t1, &t2);
    fe_mul_b3(&y3, &y3);
    FE_(mul)(&x3, &t4, &y3);
    FE_(mul)(&t2, &t3, &t1);
    FE_(sub)(&x3, &t2, &x3);
    FE_(mul)(&y3, &y3, &t0);
    FE_(mul)(&t1, &t1, &z3);
    FE_(add)(&y3, &t1, &y3);
    FE_(mul)(&t0, &t0, &t3);
    FE_(mul)(&z3, &z3, &t4);
    FE_(add)(&z3, &z3, &t0);
    out->x = x3;
    out->y = y3;
    out->z = z3;
}

void EC(dbl)(PT *out, const PT *p)
{
    FE t0, t1, t2, x3, y3, z3;
    FE_(sqr)(&t0, &p->y);
    FE_(dbl)(&z3, &t0);
    FE_(dbl)(&z3, &z3);
    FE_(dbl)(&z3, &z3);
    FE_(mul)(&t1, &p->y, &p->z);
    FE_(sqr)(&t2, &p->z);
    fe_mul_b3(&t2, &t2);
    FE_(mul)(&x3, &t2, &z3);
    FE_(add)(&y3, &t0, &t2);
    FE_(mul)(&z3, &t1, &z3);
    FE_(dbl)(&t1, &t2);
    FE_(add)(&t2, &t1, &t2);
    FE_(sub)(&t0, &t0, &t2);
    FE_(mul)(&y3, &t0, &y3);
    FE_(add)(&y3, &x3, &y3);
    FE_(mul)(&t1, &p->x, &p->y);
    FE_(mul)(&x3, &t0, &t1);
    FE_(dbl)(&x3, &x3);
    out->x = x3;
    out->y = y3;
    out->z = z3;
}

void EC(neg)(PT *out, const PT *p)
{
    out->x = p->x;
    FE_(neg)(&out->y, &p->y);
    out->z = p->z;
}

void EC(sub)(PT *out, const PT *p, const PT *q)
{
    PT t;
    EC(neg)(&t, q);
    EC(add)(out, p, &t);
}

bool EC(eq)(const PT *p, const PT *q)
{
    /* X1 Z2 = X2 Z1 and Y1 Z2 = Y2 Z1 (also right for the identity, (0 : Y : 0)) */
    FE a, b, c, d;
    FE_(mul)(&a, &p->x, &q->z);
    FE_(mul)(&b, &q->x, &p->z);
    FE_(mul)(&c, &p->y, &q->z);
    FE_(mul)(&d, &q->y, &p->z);
    return (FE_(eq)(&a, &b) & FE_(eq)(&c, &d)) != 0;
}

bool EC(is_identity)(const PT *p)
{
    return FE_(is_zero)(&p->z) != 0;
}

bool EC(on_curve)(const PT *p)
{
    /* Y^2 Z = X^3 + b Z^3, and not (0 : 0 : 0) */
    FE lhs, rhs, t;
    FE_(sqr)(&lhs, &p->y);
    FE_(mul)(&lhs, &lhs, &p->z);
    FE_(sqr)(&rhs, &p->x);
    FE_(mul)(&rhs, &rhs, &p->x);
    FE_(sqr)(&t, &p->z);
    FE_(mul)(&t, &t, &p->z);
    fe_mul_b(&t, &t);
    FE_(add)(&rhs, &rhs, &t);
    return (FE_(eq)(&lhs, &rhs) & (FE_(is_zero)(&p->y) ^ 1)) != 0;
}

void EC(cmov)(PT *r, const PT *a, uint64_t bit)
{
    FE_(cmov)(&r->x, &a->x, bit);
    FE_(cmov)(&r->y, &a->y, bit);
    FE_(cmov)(&r->z, &a->z, bit);
}

uint64_t EC(to_affine)(AFF *r, const PT *p)
{
    FE zinv;
    FE_(inv)(&zinv, &p->z); /* 0 for the identity, so r = (0, 0) */
    FE_(mul)(&r->x, &p->x, &zinv);
    FE_(mul)(&r->y, &p->y, &zinv);
    return FE_(is_zero)(&p->z) ^ 1;
}

void EC(from_affine)(PT *r, const AFF *a)
{
    r->x = a->x;
    r->y = a->y;
    r->z = FE_ONE;
}

void EC(batch_to_affine)(AFF *r, const PT *a, size_t n, FE *scratch)
{
    if (n == 0)
        return;
    FE acc = FE_ONE, inv;
    for (size_t i = 0; i < n; i++) {
        scratch[i] = acc;
        FE_(mul)(&acc, &acc, &a[i].z);
    }
    FE_(inv)(&inv, &acc);
    for (size_t i = n; i-- > 0;) {
        FE zinv;
        FE_(mul)(&zinv, &scratch[i], &inv);
        FE_(mul)(&inv, &inv, &a[i].z);
        FE_(mul)(&r[i].x, &a[i].x, &zinv);
        FE_(mul)(&r[i].y, &a[i].y, &zinv);
    }
}

void EC(endo)(PT *r, const PT *p)
{
    fe_endo_x(&r->x, &p->x);
    FE_(neg)(&r->y, &p->y);
    r->z = p->z;
}

void EC(mul_z)(PT *r, const PT *p)
{
    /* Z = 2^63 + 2^62 + 2^60 + 2^57 + 2^48 + 2^16: left to right over its bits. */
    PT acc = *p;
    for (int bit = 62; bit >= 0; bit--) {
        EC(dbl)(&acc, &acc);
        if ((0xd201000000010000ULL >> bit) & 1)
            EC(add)(&acc, &acc, p);
    }
    *r = acc;
}

bool EC(in_subgroup)(const PT *p)
{
    if (!EC(on_curve)(p))
        return false;
    return EC(subgroup_check)(p);
}

#define EC_WINDOW 5
#define EC_TABLE 16 /* 2^(EC_WINDOW - 1) */
#define EC_DIGITS_MAX 26

/* r = sign * table[mag - 1], or the identity when mag is 0, reading every entry. */
static void EC(lookup)(PT *r, const PT table[EC_TABLE], uint8_t mag, uint8_t neg)
{
    EC(identity)(r);
    for (unsigned j = 0; j < EC_TABLE; j++)
        EC(cmov)(r, &table[j], bls_ct_eq(mag, j + 1));
    FE y;
    FE_(neg)(&y, &r->y);
    FE_(cmov)(&r->y, &y, neg);
}

void EC(mul)(PT *out, const PT *p, const bls_fr *k)
{
    const int digits = bls_scalar_digits(EC_DIMS, EC_WINDOW);
    uint64_t parts[EC_DIMS][2];
    uint8_t mag[EC_DIMS][EC_DIGITS_MAX], neg[EC_DIMS][EC_DIGITS_MAX];
    PT table[EC_DIMS][EC_TABLE], acc, t;
    bls_scalar_split(parts, EC_DIMS, k);
    for (int d = 0; d < EC_DIMS; d++)
        bls_scalar_recode(mag[d], neg[d], parts[d], 2, EC_WINDOW, digits);
    /* table[0] = 1P..16P, table[d] = phi(table[d - 1]) = [L^d] table[0] */
    table[0][0] = *p;
    EC(dbl)(&table[0][1], p);
    for (int i = 2; i < EC_TABLE; i++)
        EC(add)(&table[0][i], &table[0][i - 1], p);
    for (int d = 1; d < EC_DIMS; d++)
        for (int i = 0; i < EC_TABLE; i++)
            EC(phi)(&table[d][i], &table[d - 1][i]);
    EC(identity)(&acc);
    for (int i = digits - 1; i >= 0; i--) {
        if (i != digits - 1)
            for (int s = 0; s < EC_WINDOW; s++)
                EC(dbl)(&acc, &acc);
        for (int d = 0; d < EC_DIMS; d++) {
            EC(lookup)(&t, table[d], mag[d][i], neg[d][i]);
            EC(add)(&acc, &acc, &t);
        }
    }
    *out = acc;
    crypto_wipe(parts, sizeof parts);
    crypto_wipe(mag, sizeof mag);
    crypto_wipe(neg, sizeof neg);
    crypto_wipe(table, sizeof table);
}
