/* msm_impl.h -- [vt] multi-scalar multiplication sum [k_i]P_i (Pippenger's bucket method),
 * written once for G1 and G2 (included by msm.c after it defines PT, AFF, FE, FE_ONE,
 * EC(name), FE_(op) and EC_DIMS; EC(phi) comes from curve.h).
 *
 * Each term is first split like a scalar multiplication (GLV on G1, GLS on G2: EC_DIMS terms
 * with 128- or 64-bit scalars on the images phi^d(P)), which halves or quarters the windows of
 * the bucket reduction. Scalars are cut into signed c-bit digits (buckets 1..2^(c-1); a
 * negative digit adds -P). For each window the points are sorted into their buckets (counting sort) and every bucket is
 * summed as a tree of affine additions: each round adds disjoint pairs in all buckets at once,
 * sharing one field inversion (Montgomery's trick), so an addition costs about 6 products
 * instead of 11 for a projective one. The buckets are then combined with the running-sum trick
 * (sum_b b B_b with 2 additions per bucket) and the windows by Horner's rule. Everything here
 * handles public data only and branches freely. */

struct EC(msm_ctx) {
    size_t n;         /* points kept (not the identity, scalar not zero) */
    AFF *points;      /* their affine forms */
    uint64_t (*k)[2]; /* their scalars: split parts, at most 128 bits */
    uint8_t *carry;   /* recoding carry per scalar */
    long *digit;      /* the current window's digits */
    AFF *list;        /* the current window's points grouped by bucket */
    size_t *start, *count;
    FE *den, *prefix; /* one inversion batch (at most n / 2 pairs) */
    int c;            /* window bits */
};

/* The signed digit of window w for scalar i, propagating the recoding carry upwards. */
static long EC(msm_digit)(struct EC(msm_ctx) * m, size_t i, int w)
{
    int pos = w * m->c, limb = pos / 64, shift = pos % 64;
    uint64_t bits = limb < 2 ? m->k[i][limb] >> shift : 0;
    if (shift + m->c > 64 && limb + 1 < 2)
        bits |= m->k[i][limb + 1] << (64 - shift);
    long d = (long)(bits & ((1ul << m->c) - 1)) + m->carry[i];
    m->carry[i] = d > (1l << (m->c - 1));
    return d - ((long)m->carry[i] << m->c);
}

/* One round: adds disjoint pairs in every bucket with one inversion; returns 0 when every
 * bucket already held at most one point. */
static int EC(msm_round)(struct EC(msm_ctx) * m, size_t nbuckets)
{
    size_t pairs = 0;
    FE acc = FE_ONE, inv;
    for (size_t b = 0; b < nbuckets; b++) {
        const AFF *l = m->list + m->start[b];
        for (size_t j = 0; j + 1 < m->count[b]; j += 2) {
            const AFF *p = &l[j], *q = &l[j + 1];
            FE d;
            if (!FE_(eq)(&p->x, &q->x))
                FE_(sub)(&d, &q->x, &p->x);
            else if (FE_(eq)(&p->y, &q->y))
                FE_(dbl)(&d, &p->y); /* doubling: the group has no point of order 2 */
            else
                d = FE_ONE; /* P + (-P): dropped below */
            m->prefix[pairs] = acc;
            FE_(mul)(&acc, &acc, &d);
            m->den[pairs++] = d;
        }
    }
    if (pairs == 0)
        return 0;
    FE_(inv)(&inv, &acc);
    for (size_t i = pairs; i-- > 0;) { /* den[i] <- 1 / den[i] */
        FE t;
        FE_(mul)(&t, &m->prefix[i], &inv);
        FE_(mul)(&inv, &inv, &m->den[i]);
        m->den[i] = t;
    }
    pairs = 0;
    for (size_t b = 0; b < nbuckets; b++) {
        AFF *l = m->list + m->start[b];
        size_t cnt = m->count[b], w = 0;
        for (size_t j = 0; j + 1 < cnt; j += 2) {
            const AFF p = l[j], q = l[j + 1];
            const FE *dinv = &m->den[pairs++];
            FE lambda, t;
            if (!FE_(eq)(&p.x, &q.x)) {
                FE_(sub)(&lambda, &q.y, &p.y);
            } else if (FE_(eq)(&p.y, &q.y)) {
                FE_(sqr)(&lambda, &p.x);
                FE_(dbl)(&t, &lambda);
                FE_(add)(&lambda, &lambda, &t);
            } else {
                continue;
            }
            /* results are written at w <= j / 2, never over a pair still to be read */
            FE_(mul)(&lambda, &lambda, dinv);
            FE_(sqr)(&t, &lambda);
            FE_(sub)(&t, &t, &p.x);
            FE_(sub)(&l[w].x, &t, &q.x);
            FE_(sub)(&t, &p.x, &l[w].x);
            FE_(mul)(&t, &t, &lambda);
            FE_(sub)(&l[w].y, &t, &p.y);
            w++;
        }
        if (cnt % 2)
            l[w++] = l[cnt - 1];
        m->count[b] = w;
    }
    return 1;
}

/* out = sum_b (b + 1) B_b for window w. */
static void EC(msm_window)(struct EC(msm_ctx) * m, int w, PT *out)
{
    size_t nbuckets = (size_t)1 << (m->c - 1);
    for (size_t b = 0; b < nbuckets; b++)
        m->count[b] = 0;
    for (size_t i = 0; i < m->n; i++) {
        long d = m->digit[i] = EC(msm_digit)(m, i, w);
        if (d)
            m->count[labs(d) - 1]++;
    }
    size_t at = 0;
    for (size_t b = 0; b < nbuckets; b++) {
        m->start[b] = at;
        at += m->count[b];
        m->count[b] = 0;
    }
    for (size_t i = 0; i < m->n; i++) {
        long d = m->digit[i];
        if (!d)
            continue;
        size_t b = (size_t)labs(d) - 1;
        AFF *slot = &m->list[m->start[b] + m->count[b]++];
        *slot = m->points[i];
        if (d < 0)
            FE_(neg)(&slot->y, &slot->y);
    }
    while (EC(msm_round)(m, nbuckets))
        ;
    PT running, total;
    EC(identity)(&running);
    EC(identity)(&total);
    for (size_t b = nbuckets; b-- > 0;) {
        if (m->count[b])
            EC(add_affine)(&running, &running, &m->list[m->start[b]]);
        EC(add)(&total, &total, &running);
    }
    *out = total;
}

/* The window width minimising windows * (8 n + 23 * 2^(c-1)) field products for n points
 * with scalars of the given bit length (an affine bucket addition costs about 6 products plus
 * bookkeeping, a bucket of the running sum two projective additions). */
static int EC(msm_window_bits)(size_t n, int bits)
{
    int best = 1;
    double best_cost = 0;
    for (int c = 1; c <= 16; c++) {
        double windows = (bits + 1 + c - 1) / c;
        double cost = windows * (8.0 * (double)n + 23.0 * (double)(1ul << (c - 1)));
        if (c == 1 || cost < best_cost)
            best = c, best_cost = cost;
    }
    return best;
}

int EC(msm)(PT *out, const PT *points, const bls_fr *scalars, size_t n)
{
    /* Each term splits like a scalar multiplication: k P = sum_d k_d phi^d(P) with EC_DIMS
     * parts of 256 / EC_DIMS bits, so the windows only cover the short parts. */
    const int bits = 256 / EC_DIMS;
    struct EC(msm_ctx) m = {0};
    if (n > SIZE_MAX / EC_DIMS)
        return BLS_ERR_ALLOC;
    size_t cap = n ? n * EC_DIMS : 1; /* calloc checks cap * size for overflow */
    m.c = EC(msm_window_bits)(n * EC_DIMS, bits);
    size_t nbuckets = (size_t)1 << (m.c - 1);
    int windows = (bits + 1 + m.c - 1) / m.c;
    PT *sums = calloc((size_t)windows, sizeof *sums), *kept = calloc(cap, sizeof *kept);
    m.points = calloc(cap, sizeof *m.points);
    m.list = calloc(cap, sizeof *m.list);
    m.k = calloc(cap, sizeof *m.k);
    m.carry = calloc(cap, 1);
    m.digit = calloc(cap, sizeof *m.digit);
    m.den = calloc(cap / 2 + 1, sizeof *m.den);
    m.prefix = calloc(cap, sizeof *m.prefix);
    m.start = calloc(nbuckets, sizeof *m.start);
    m.count = calloc(nbuckets, sizeof *m.count);
    int status = BLS_ERR_ALLOC;
    if (!sums || !kept || !m.points || !m.list || !m.k || !m.carry || !m.digit || !m.den ||
        !m.prefix || !m.start || !m.count)
        goto done;
    for (size_t i = 0; i < n; i++) {
        if (EC(is_identity)(&points[i]) || bls_fr_is_zero(&scalars[i]))
            continue;
        uint64_t parts[EC_DIMS][2];
        PT image = points[i];
        bls_scalar_split(parts, EC_DIMS, &scalars[i]);
        for (int d = 0; d < EC_DIMS; d++) {
            if (d > 0)
                EC(phi)(&image, &image);
            kept[m.n] = image;
            m.k[m.n][0] = parts[d][0];
            m.k[m.n][1] = parts[d][1];
            m.n++;
        }
    }
    EC(batch_to_affine)(m.points, kept, m.n, m.prefix);
    /* windows low to high (the recoding carry moves up), then Horner from the top */
    for (int w = 0; w < windows; w++)
        EC(msm_window)(&m, w, &sums[w]);
    PT acc;
    EC(identity)(&acc);
    for (int w = windows; w-- > 0;) {
        for (int s = 0; s < m.c && w != windows - 1; s++)
            EC(dbl)(&acc, &acc);
        EC(add)(&acc, &acc, &sums[w]);
    }
    *out = acc;
    status = BLS_OK;
done:
    free(sums);
    free(kept);
    free(m.points);
    free(m.list);
    free(m.k);
    free(m.carry);
    free(m.digit);
    free(m.den);
    free(m.prefix);
    free(m.start);
    free(m.count);
    return status;
}
