/* sswu_impl.h -- RFC 9380's simplified SWU map (section 6.6.2, straight-line form of appendix
 * F.2) to the isogenous curve E': y^2 = x^3 + A x + B, followed by the isogeny map to E
 * (appendix E), written once for G1 (Fp, 11-isogeny) and G2 (Fp2, 3-isogeny).
 *
 * Included by hash_to_curve.c after it defines FE, PT, FE_(op), MAP(name), sqrt_ratio,
 * SSWU_A, SSWU_B, SSWU_Z, FE_ONE and the isogeny coefficient arrays ISO_XNUM, ISO_XDEN,
 * ISO_YNUM, ISO_YDEN (ascending powers). The output is projective, so the isogeny costs no
 * inversion: (x_num y_den : y y_num x_den : x_den y_den). */

/* sum c[i] x^i by Horner's rule */
static void MAP(poly)(FE *r, const FE *c, size_t n, const FE *x)
{
    FE acc = c[n - 1];
    for (size_t i = n - 1; i-- > 0;) {
        FE_(mul)(&acc, &acc, x);
        FE_(add)(&acc, &acc, &c[i]);
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
    FE_(inv)(&t, &tv4);
    FE_(mul)(&x, &x, &t);

    FE xn, xd, yn, yd;
    MAP(poly)(&xn, ISO_XNUM, sizeof ISO_XNUM / sizeof ISO_XNUM[0], &x);
    MAP(poly)(&xd, ISO_XDEN, sizeof ISO_XDEN / sizeof ISO_XDEN[0], &x);
    MAP(poly)(&yn, ISO_YNUM, sizeof ISO_YNUM / sizeof ISO_YNUM[0], &x);
    MAP(poly)(&yd, ISO_YDEN, sizeof ISO_YDEN / sizeof ISO_YDEN[0], &x);
    FE_(mul)(&out->x, &xn, &yd);
    FE_(mul)(&out->y, &y, &yn);
    FE_(mul)(&out->y, &out->y, &xd);
    FE_(mul)(&out->z, &xd, &yd);
}
