/* sswu_impl.h -- RFC 9380's simplified SWU map (section 6.6.2, straight-line form of appendix
 * F.2) to the isogenous curve E': y^2 = x^3 + A x + B, followed by the isogeny map to E
 * (appendix E), written once for G1 (Fp, 11-isogeny) and G2 (Fp2, 3-isogeny).
 *
 * Included by hash_to_curve.c after it defines FE, PT, FE_(op), MAP(name), sqrt_ratio,
 * SSWU_A, SSWU_B, SSWU_Z, FE_ONE and the isogeny coefficient arrays ISO_XNUM, ISO_XDEN,
 * ISO_YNUM, ISO_YDEN (ascending powers). Nothing is inverted: SSWU's x = X/Z stays a fraction,
 * the isogeny's polynomials are evaluated homogeneously in (X, Z), and the output is
 * projective. With x_num, y_num of one degree more than x_den and as y_den (both isogenies),
 * x' = X_num / (Z X_den) and y' = y Y_num / Y_den, so the point is
 * (X_num Y_den : y Y_num X_den Z : X_den Y_den Z). This saves the field inversion that
 * dominated the map. */

#define MAP_NPOW (sizeof ISO_YNUM / sizeof ISO_YNUM[0])
_Static_assert(sizeof ISO_XNUM / sizeof ISO_XNUM[0] == sizeof ISO_XDEN / sizeof ISO_XDEN[0] + 1 &&
                   MAP_NPOW == sizeof ISO_YDEN / sizeof ISO_YDEN[0] &&
                   MAP_NPOW >= sizeof ISO_XNUM / sizeof ISO_XNUM[0],
               "isogeny degrees as the homogeneous evaluation expects");

/* Z^(n-1) sum c[i] (X/Z)^i = sum c[i] X^i Z^(n-1-i) by Horner's rule; zpow[k] = Z^k. */
static void MAP(poly)(FE *r, const FE *c, size_t n, const FE *x, const FE *zpow)
{
    FE acc = c[n - 1], t;
    for (size_t i = n - 1; i-- > 0;) {
        FE_(mul)(&acc, &acc, x);
        FE_(mul)(&t, &c[i], &zpow[n - 1 - i]);
        FE_(add)(&acc, &acc, &t);
    }
    *r = acc;
}

static void MAP(map_to_curve)(PT *out, const FE *u)
{
    FE tv1, tv2, tv3, tv4, tv5, tv6, x, y, y1, t;
    FE_(sqr)(&tv1, u);
    FE_(mul)(&tv1, &SSWU_Z, &tv1);
    FE_(sqr)(&tv2, &tv1);
    FE_(add)(&tv2, &tv2, &tv1);
    FE_(add)(&tv3, &tv2, &FE_ONE);
    FE_(mul)(&tv3, &SSWU_B, &tv3);
    FE_(neg)(&tv4, &tv2);
    FE_(cmov)(&tv4, &SSWU_Z, FE_(is_zero)(&tv2));
    FE_(mul)(&tv4, &SSWU_A, &tv4);
    FE_(sqr)(&tv2, &tv3);
    FE_(sqr)(&tv6, &tv4);
    FE_(mul)(&tv5, &SSWU_A, &tv6);
    FE_(add)(&tv2, &tv2, &tv5);
    FE_(mul)(&tv2, &tv2, &tv3);
    FE_(mul)(&tv6, &tv6, &tv4);
    FE_(mul)(&tv5, &SSWU_B, &tv6);
    FE_(add)(&tv2, &tv2, &tv5);
    FE_(mul)(&x, &tv1, &tv3);
    uint64_t is_gx1_square = MAP(sqrt_ratio)(&y1, &tv2, &tv6);
    FE_(mul)(&y, &tv1, u);
    FE_(mul)(&y, &y, &y1);
    FE_(cmov)(&x, &tv3, is_gx1_square);
    FE_(cmov)(&y, &y1, is_gx1_square);
    uint64_t e1 = bls_ct_eq(FE_(sgn0)(u), FE_(sgn0)(&y));
    FE_(neg)(&t, &y);
    FE_(cmov)(&y, &t, e1 ^ 1);
    /* x = X / tv4: tv4 is -A tv2 or A Z, never zero */
    FE xn, xd, yn, yd, zpow[MAP_NPOW];
    zpow[1] = tv4;
    for (size_t k = 2; k < MAP_NPOW; k++)
        FE_(mul)(&zpow[k], &zpow[k - 1], &tv4);
    MAP(poly)(&xn, ISO_XNUM, sizeof ISO_XNUM / sizeof ISO_XNUM[0], &x, zpow);
    MAP(poly)(&xd, ISO_XDEN, sizeof ISO_XDEN / sizeof ISO_XDEN[0], &x, zpow);
    MAP(poly)(&yn, ISO_YNUM, sizeof ISO_YNUM / sizeof ISO_YNUM[0], &x, zpow);
    MAP(poly)(&yd, ISO_YDEN, sizeof ISO_YDEN / sizeof ISO_YDEN[0], &x, zpow);
    FE_(mul)(&xd, &xd, &tv4);
    FE_(mul)(&out->x, &xn, &yd);
    FE_(mul)(&out->y, &y, &yn);
    FE_(mul)(&out->y, &out->y, &xd);
    FE_(mul)(&out->z, &xd, &yd);
}

#undef MAP_NPOW
