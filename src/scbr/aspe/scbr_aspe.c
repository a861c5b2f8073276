/* scbr_aspe.c -- the ASPE baseline (see scbr_aspe.h for the scheme and its limits).
 *
 * Layout: a key holds M1^T, M2^T (to encrypt points), M1^-1, M2^-1 (to encrypt bounds) and the
 * split bits; an index holds every bound of every subscription as 2 d' contiguous doubles, and
 * per subscription the range of its bounds, so a match is one pass over one array. */
#include <cloister/crypto.h>
#include <cloister/scbr_aspe.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "scbr/common/scbr_internal.h"

#define EXTRA_DIMS 4 /* the constant 1 and three random dimensions */
#define COND_MAX 1e3
#define INVERSE_TOL 1e-12

struct scbr_aspe_key {
    size_t d, dim;
    char **names;
    double *scale;
    double *m1t, *m2t, *m1inv, *m2inv; /* dim x dim, row-major */
    uint8_t *split;                    /* 1: split the point's coordinate; 0: the bound's */
};

/* Uniform in [-1, 1) from 64 random bits. */
static double unit_from(uint64_t bits)
{
    return (double)(bits >> 11) * (2.0 / 9007199254740992.0) - 1.0;
}

/* A stream of random doubles, drawn from crypto_random in blocks. */
struct randstream {
    uint64_t buf[64];
    size_t at;
    int failed;
};

static double rand_unit(struct randstream *rs)
{
    if (rs->at == 0 || rs->at == 64) {
        if (crypto_random(rs->buf, sizeof rs->buf) != 0)
            rs->failed = 1;
        rs->at = 0;
    }
    return unit_from(rs->buf[rs->at++]);
}

static void randstream_wipe(struct randstream *rs)
{
    crypto_wipe(rs->buf, sizeof rs->buf);
}

/* Gauss-Jordan with partial pivoting; -1 if singular. a is destroyed. */
static int invert(double *a, double *inv, size_t n)
{
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            inv[i * n + j] = i == j;
    for (size_t c = 0; c < n; c++) {
        size_t piv = c;
        for (size_t r = c + 1; r < n; r++)
            if (fabs(a[r * n + c]) > fabs(a[piv * n + c]))
                piv = r;
        if (fabs(a[piv * n + c]) < 1e-9)
            return -1;
        for (size_t j = 0; j < n; j++) {
            double t = a[c * n + j];
            a[c * n + j] = a[piv * n + j], a[piv * n + j] = t;
            t = inv[c * n + j];
            inv[c * n + j] = inv[piv * n + j], inv[piv * n + j] = t;
        }
        double f = 1.0 / a[c * n + c];
        for (size_t j = 0; j < n; j++)
            a[c * n + j] *= f, inv[c * n + j] *= f;
        for (size_t r = 0; r < n; r++) {
            if (r == c || a[r * n + c] == 0)
                continue;
            double g = a[r * n + c];
            for (size_t j = 0; j < n; j++)
                a[r * n + j] -= g * a[c * n + j], inv[r * n + j] -= g * inv[c * n + j];
        }
    }
    return 0;
}

static double norm_inf(const double *a, size_t n)
{
    double best = 0;
    for (size_t i = 0; i < n; i++) {
        double row = 0;
        for (size_t j = 0; j < n; j++)
            row += fabs(a[i * n + j]);
        best = row > best ? row : best;
    }
    return best;
}

/* Draws M and its inverse until the inverse is accurate and M well conditioned; stores M^T. */
static int draw_matrix(struct randstream *rs, size_t n, double *mt, double *minv, double *work)
{
    for (int attempt = 0; attempt < 16; attempt++) {
        double *m = work, *copy = work + n * n;
        for (size_t i = 0; i < n * n; i++)
            m[i] = rand_unit(rs);
        if (rs->failed)
            return -1;
        memcpy(copy, m, n * n * sizeof *m);
        if (invert(copy, minv, n) != 0 || norm_inf(m, n) * norm_inf(minv, n) > COND_MAX)
            continue;
        double err = 0;
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < n; j++) {
                double s = 0;
                for (size_t k = 0; k < n; k++)
                    s += m[i * n + k] * minv[k * n + j];
                err = fmax(err, fabs(s - (i == j)));
            }
        if (err > INVERSE_TOL)
            continue;
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < n; j++)
                mt[i * n + j] = m[j * n + i];
        return 0;
    }
    return -1;
}

void scbr_aspe_key_free(scbr_aspe_key *k)
{
    if (!k)
        return;
    size_t mat = k->dim * k->dim * sizeof(double);
    double *mats[] = {k->m1t, k->m2t, k->m1inv, k->m2inv};
    for (int i = 0; i < 4; i++) {
        if (mats[i])
            crypto_wipe(mats[i], mat);
        free(mats[i]);
    }
    if (k->split)
        crypto_wipe(k->split, k->dim);
    free(k->split);
    for (size_t i = 0; k->names && i < k->d; i++)
        free(k->names[i]);
    free(k->names);
    free(k->scale);
    free(k);
}

scbr_aspe_key *scbr_aspe_keygen(const struct scbr_aspe_attr *schema, size_t n,
                                struct cloister_err *err)
{
    if (n == 0 || n > 64) {
        cloister_errf(err, CLOISTER_E_INVALID, "aspe: the schema needs 1 to 64 attributes");
        return NULL;
    }
    scbr_aspe_key *k = calloc(1, sizeof *k);
    if (!k)
        goto nomem;
    k->d = n;
    k->dim = n + EXTRA_DIMS;
    size_t mat = k->dim * k->dim;
    k->names = calloc(n, sizeof *k->names);
    k->scale = calloc(n, sizeof *k->scale);
    k->m1t = malloc(mat * sizeof(double));
    k->m2t = malloc(mat * sizeof(double));
    k->m1inv = malloc(mat * sizeof(double));
    k->m2inv = malloc(mat * sizeof(double));
    k->split = malloc(k->dim);
    double *work = malloc(2 * mat * sizeof(double));
    if (!k->names || !k->scale || !k->m1t || !k->m2t || !k->m1inv || !k->m2inv || !k->split ||
        !work) {
        free(work);
        goto nomem;
    }
    for (size_t i = 0; i < n; i++) {
        if (!scbr_name_valid(schema[i].name, strlen(schema[i].name)) || !(schema[i].scale > 0) ||
            !isfinite(schema[i].scale)) {
            cloister_errf(err, CLOISTER_E_INVALID, "aspe: schema attribute %zu: bad name or scale",
                          i);
            free(work);
            scbr_aspe_key_free(k);
            return NULL;
        }
        if (!(k->names[i] = strdup(schema[i].name))) {
            free(work);
            goto nomem;
        }
        k->scale[i] = schema[i].scale;
    }
    struct randstream rs = {.at = 0};
    int rc = draw_matrix(&rs, k->dim, k->m1t, k->m1inv, work) |
             draw_matrix(&rs, k->dim, k->m2t, k->m2inv, work);
    for (size_t i = 0; i < k->dim; i++)
        k->split[i] = rand_unit(&rs) >= 0;
    crypto_wipe(work, 2 * mat * sizeof(double));
    free(work);
    randstream_wipe(&rs);
    if (rc != 0 || rs.failed) {
        cloister_errf(err, CLOISTER_E_FAILED, "aspe: could not draw a well-conditioned key");
        scbr_aspe_key_free(k);
        return NULL;
    }
    return k;
nomem:
    cloister_errf(err, CLOISTER_E_NO_MEMORY, "aspe: out of memory");
    scbr_aspe_key_free(k);
    return NULL;
}

size_t scbr_aspe_dim(const scbr_aspe_key *k)
{
    return k->dim;
}

static long attr_index(const scbr_aspe_key *k, const char *name)
{
    for (size_t i = 0; i < k->d; i++)
        if (strcmp(k->names[i], name) == 0)
            return (long)i;
    return -1;
}

static bool numeric(const struct scbr_value *v, double *x)
{
    if (v->type == SCBR_STRING)
        return false;
    *x = v->type == SCBR_INT ? (double)v->u.i : v->u.d;
    return true;
}

/* out = mt * v (mt is M^T or M^-1, row-major). */
static void mat_vec(const double *mt, const double *v, double *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        double s = 0;
        for (size_t j = 0; j < n; j++)
            s += mt[i * n + j] * v[j];
        out[i] = s;
    }
}

/* Splits v into shares a + b where split[i] == which, copies it elsewhere; then encrypts the
 * shares with the two matrices into out[0..dim) and out[dim..2 dim). */
static void split_encrypt(const scbr_aspe_key *k, const double *v, uint8_t which, const double *ma,
                          const double *mb, struct randstream *rs, double *out)
{
    size_t n = k->dim;
    double a[64 + EXTRA_DIMS], b[64 + EXTRA_DIMS];
    for (size_t i = 0; i < n; i++) {
        if (k->split[i] == which) {
            a[i] = (fabs(v[i]) + 1) * rand_unit(rs);
            b[i] = v[i] - a[i];
        } else {
            a[i] = b[i] = v[i];
        }
    }
    mat_vec(ma, a, out, n);
    mat_vec(mb, b, out + n, n);
    crypto_wipe(a, sizeof a);
    crypto_wipe(b, sizeof b);
}

double *scbr_aspe_encrypt_pub(const scbr_aspe_key *k, const struct scbr_pub *p,
                              struct cloister_err *err)
{
    double v[64 + EXTRA_DIMS];
    for (size_t i = 0; i < k->d; i++) {
        const struct scbr_value *val = scbr_pub_get(p, k->names[i]);
        double x;
        if (!val || !numeric(val, &x)) {
            cloister_errf(err, CLOISTER_E_INVALID,
                          "aspe: the publication lacks numeric attribute '%s'", k->names[i]);
            return NULL;
        }
        double g = x * k->scale[i], r = round(g);
        if (fabs(g - r) > 1e-6 * fmax(1, fabs(g)) || fabs(r) > ASPE_GRID_MAX) {
            cloister_errf(err, CLOISTER_E_INVALID,
                          "aspe: '%s' is off the grid or beyond 2^16 after scaling", k->names[i]);
            return NULL;
        }
        v[i] = r;
    }
    struct randstream rs = {.at = 0};
    v[k->d] = 1;
    for (size_t i = k->d + 1; i < k->dim; i++)
        v[i] = rand_unit(&rs) * 1024;
    double *ct = malloc(2 * k->dim * sizeof *ct);
    if (ct)
        split_encrypt(k, v, 1, k->m1t, k->m2t, &rs, ct);
    randstream_wipe(&rs);
    crypto_wipe(v, sizeof v);
    if (!ct || rs.failed) {
        cloister_errf(err, ct ? CLOISTER_E_SYSTEM : CLOISTER_E_NO_MEMORY, "aspe: %s",
                      ct ? "no randomness" : "out of memory");
        free(ct);
        return NULL;
    }
    return ct;
}

struct scbr_aspe_index {
    size_t dim;
    double *bounds; /* 2 dim doubles per bound */
    size_t nbounds, capbounds;
    struct asub {
        uint32_t id, first; /* index of its first bound */
    } * subs;
    size_t nsubs, capsubs;
};

scbr_aspe_index *scbr_aspe_index_create(size_t dim)
{
    scbr_aspe_index *idx = calloc(1, sizeof *idx);
    if (idx)
        idx->dim = dim;
    return idx;
}

void scbr_aspe_index_destroy(scbr_aspe_index *idx)
{
    if (!idx)
        return;
    free(idx->bounds);
    free(idx->subs);
    free(idx);
}

/* One bound sign * (P_j - T) + 1/2 > 0 in grid units. */
struct bound {
    size_t j;
    double sign, t;
};

/* Turns a predicate into at most two grid bounds; -1 if ASPE cannot express it. For integer
 * grid values: x >= v iff P >= ceil(v s), x > v iff P >= floor(v s) + 1, and symmetrically. */
static int to_bounds(const scbr_aspe_key *k, const struct scbr_pred *q, struct bound *b, size_t *nb,
                     struct cloister_err *err)
{
    long j = attr_index(k, q->name);
    if (j < 0) {
        cloister_errf(err, CLOISTER_E_INVALID, "aspe: attribute '%s' is not in the schema",
                      q->name);
        return -1;
    }
    if (q->op == SCBR_EXISTS)
        return 0;
    double x;
    if (q->op == SCBR_NE || q->op == SCBR_PREFIX || !numeric(&q->value, &x)) {
        cloister_errf(err, CLOISTER_E_INVALID,
                      "aspe: cannot express '%s %s' (only = < <= > >= on numbers)", q->name,
                      scbr_op_name(q->op));
        return -1;
    }
    double g = x * k->scale[j], r = round(g);
    if (fabs(g - r) <= 1e-9 * fmax(1, fabs(g)))
        g = r;
    if (fabs(g) > ASPE_GRID_MAX) {
        cloister_errf(err, CLOISTER_E_INVALID, "aspe: bound on '%s' is beyond 2^16 after scaling",
                      q->name);
        return -1;
    }
    double lo = q->op == SCBR_GT ? floor(g) + 1 : ceil(g);
    double hi = q->op == SCBR_LT ? ceil(g) - 1 : floor(g);
    if (q->op == SCBR_GE || q->op == SCBR_GT || q->op == SCBR_EQ)
        b[(*nb)++] = (struct bound){(size_t)j, 1, lo};
    if (q->op == SCBR_LE || q->op == SCBR_LT || q->op == SCBR_EQ)
        b[(*nb)++] = (struct bound){(size_t)j, -1, hi};
    return 0;
}

static int grow(void **v, size_t *cap, size_t need, size_t esize)
{
    if (need <= *cap)
        return 0;
    size_t ncap = *cap ? *cap : 16;
    while (ncap < need)
        ncap *= 2;
    void *g = realloc(*v, ncap * esize);
    if (!g)
        return -1;
    *v = g;
    *cap = ncap;
    return 0;
}

int scbr_aspe_index_add(scbr_aspe_index *idx, const scbr_aspe_key *k, const struct scbr_sub *s,
                        uint32_t id, struct cloister_err *err)
{
    if (k->dim != idx->dim)
        return cloister_errf(err, CLOISTER_E_INVALID, "aspe: key and index dimensions differ");
    struct bound *b = malloc(2 * s->n * sizeof *b);
    size_t nb = 0;
    if (!b)
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "aspe: out of memory");
    for (size_t i = 0; i < s->n; i++)
        if (to_bounds(k, &s->preds[i], b, &nb, err) != 0) {
            free(b);
            return CLOISTER_E_INVALID;
        }
    size_t two = 2 * k->dim;
    if (idx->nbounds + nb > UINT32_MAX ||
        grow((void **)&idx->bounds, &idx->capbounds, (idx->nbounds + nb) * two, sizeof(double)) ||
        grow((void **)&idx->subs, &idx->capsubs, idx->nsubs + 1, sizeof *idx->subs)) {
        free(b);
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "aspe: out of memory");
    }
    struct randstream rs = {.at = 0};
    double q[64 + EXTRA_DIMS];
    for (size_t c = 0; c < nb; c++) {
        double r = 1 + (rand_unit(&rs) + 1) * 4; /* r in [1, 9) */
        memset(q, 0, sizeof q);
        q[b[c].j] = r * b[c].sign;
        q[k->d] = r * (-b[c].sign * b[c].t + 0.5);
        split_encrypt(k, q, 0, k->m1inv, k->m2inv, &rs, idx->bounds + (idx->nbounds + c) * two);
    }
    crypto_wipe(q, sizeof q);
    randstream_wipe(&rs);
    free(b);
    if (rs.failed)
        return cloister_errf(err, CLOISTER_E_SYSTEM, "aspe: no randomness");
    idx->subs[idx->nsubs++] = (struct asub){id, (uint32_t)idx->nbounds};
    idx->nbounds += nb;
    return 0;
}

static double dot(const double *a, const double *b, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += a[i] * b[i];
    return s;
}

size_t scbr_aspe_index_match(const scbr_aspe_index *idx, const double *ct, uint32_t *ids,
                             size_t cap)
{
    size_t two = 2 * idx->dim, count = 0;
    for (size_t s = 0; s < idx->nsubs; s++) {
        size_t end = s + 1 < idx->nsubs ? idx->subs[s + 1].first : idx->nbounds;
        bool ok = true;
        for (size_t c = idx->subs[s].first; c < end && ok; c++)
            ok = dot(idx->bounds + c * two, ct, two) > 0;
        if (ok) {
            if (count < cap)
                ids[count] = idx->subs[s].id;
            count++;
        }
    }
    return count;
}

size_t scbr_aspe_index_bytes(const scbr_aspe_index *idx)
{
    return sizeof *idx + idx->capbounds * sizeof(double) + idx->capsubs * sizeof *idx->subs;
}
