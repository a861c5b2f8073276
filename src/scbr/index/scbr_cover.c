/* scbr_cover.c -- the covering relation between subscriptions (Siena, Carzaniga et al. 2001).
 *
 * A covers B when every publication matching B matches A. The test is sound -- it never claims
 * a covering that does not hold -- and complete for what the workloads use: conjunctions of
 * bounds on one attribute are folded into an interval (int and double bounds compare exactly,
 * strings bytewise, a prefix is a lower bound) before each predicate of A is checked against it.
 * An equality of A needs BOTH of B's bounds equal to its value and closed: the original SCBR
 * checked one bound only and judged {x = 5} equivalent to {x >= 5, x <= 10}. */
#include <string.h>

#include "scbr/index/scbr_cover.h"

static bool is_string_pred(const struct scbr_pred *p)
{
    return p->op == SCBR_PREFIX || (p->op != SCBR_EXISTS && p->value.type == SCBR_STRING);
}

static int cmp(const struct scbr_value *a, const struct scbr_value *b)
{
    int c = 0;
    scbr_value_cmp(a, b, &c);
    return c;
}

static bool starts_with(const struct scbr_value *s, const struct scbr_value *prefix)
{
    return s->u.s.len >= prefix->u.s.len &&
           memcmp(s->u.s.ptr, prefix->u.s.ptr, prefix->u.s.len) == 0;
}

/* The interval B imposes on one attribute, for values of one class (numbers or strings). */
struct bounds {
    const struct scbr_value *lo, *hi;
    bool lo_closed, hi_closed;
    bool constrained; /* some predicate of B forces the attribute into this class */
    bool present;     /* some predicate of B names the attribute */
};

static void tighten_lo(struct bounds *b, const struct scbr_value *v, bool closed)
{
    int c = b->lo ? cmp(v, b->lo) : 1;
    if (c > 0 || (c == 0 && !closed))
        b->lo = v, b->lo_closed = closed;
}

static void tighten_hi(struct bounds *b, const struct scbr_value *v, bool closed)
{
    int c = b->hi ? cmp(v, b->hi) : -1;
    if (c < 0 || (c == 0 && !closed))
        b->hi = v, b->hi_closed = closed;
}

static void fold(struct bounds *b, const struct scbr_sub *sub, const char *name, bool strings)
{
    memset(b, 0, sizeof *b);
    for (size_t i = 0; i < sub->n; i++) {
        const struct scbr_pred *q = &sub->preds[i];
        if (strcmp(q->name, name) != 0)
            continue;
        b->present = true;
        if (q->op == SCBR_EXISTS || is_string_pred(q) != strings)
            continue;
        b->constrained = true;
        switch (q->op) {
        case SCBR_EQ:
            tighten_lo(b, &q->value, true);
            tighten_hi(b, &q->value, true);
            break;
        case SCBR_GT: tighten_lo(b, &q->value, false); break;
        case SCBR_GE: tighten_lo(b, &q->value, true); break;
        case SCBR_LT: tighten_hi(b, &q->value, false); break;
        case SCBR_LE: tighten_hi(b, &q->value, true); break;
        case SCBR_PREFIX: tighten_lo(b, &q->value, true); break;
        default: break;
        }
    }
}

/* Does B hold a predicate `name OP w` with w equal to v (op != or prefix implying v)? */
static bool has_ne(const struct scbr_sub *b, const struct scbr_pred *p)
{
    for (size_t i = 0; i < b->n; i++) {
        const struct scbr_pred *q = &b->preds[i];
        if (q->op == SCBR_NE && strcmp(q->name, p->name) == 0 &&
            is_string_pred(q) == is_string_pred(p) && cmp(&q->value, &p->value) == 0)
            return true;
    }
    return false;
}

static bool implies_prefix(const struct scbr_sub *b, const struct scbr_pred *p)
{
    for (size_t i = 0; i < b->n; i++) {
        const struct scbr_pred *q = &b->preds[i];
        if ((q->op == SCBR_PREFIX || (q->op == SCBR_EQ && q->value.type == SCBR_STRING)) &&
            strcmp(q->name, p->name) == 0 && starts_with(&q->value, &p->value))
            return true;
    }
    return false;
}

static bool above(const struct bounds *b, const struct scbr_value *v, bool strict)
{
    if (!b->lo)
        return false;
    int c = cmp(b->lo, v);
    return c > 0 || (c == 0 && (!strict || !b->lo_closed));
}

static bool below(const struct bounds *b, const struct scbr_value *v, bool strict)
{
    if (!b->hi)
        return false;
    int c = cmp(b->hi, v);
    return c < 0 || (c == 0 && (!strict || !b->hi_closed));
}

/* Is predicate p implied by subscription b? */
static bool implied(const struct scbr_pred *p, const struct scbr_sub *b)
{
    struct bounds bd;
    fold(&bd, b, p->name, is_string_pred(p));
    if (p->op == SCBR_EXISTS)
        return bd.present;
    if (!bd.constrained)
        return false;
    const struct scbr_value *v = &p->value;
    switch (p->op) {
    case SCBR_GE: return above(&bd, v, false);
    case SCBR_GT: return above(&bd, v, true);
    case SCBR_LE: return below(&bd, v, false);
    case SCBR_LT: return below(&bd, v, true);
    case SCBR_EQ:
        return bd.lo && bd.hi && bd.lo_closed && bd.hi_closed && cmp(bd.lo, v) == 0 &&
               cmp(bd.hi, v) == 0;
    case SCBR_NE: return above(&bd, v, true) || below(&bd, v, true) || has_ne(b, p);
    case SCBR_PREFIX: return implies_prefix(b, p);
    default: return false;
    }
}

bool scbr_covers(const struct scbr_sub *a, const struct scbr_sub *b)
{
    for (size_t i = 0; i < a->n; i++)
        if (!implied(&a->preds[i], b))
            return false;
    return true;
}

bool scbr_eq_disjoint(const struct scbr_sub *a, const struct scbr_sub *b)
{
    for (size_t i = 0; i < a->n; i++) {
        if (a->preds[i].op != SCBR_EQ)
            continue;
        for (size_t k = 0; k < b->n; k++) {
            int c = 0;
            if (b->preds[k].op == SCBR_EQ && strcmp(a->preds[i].name, b->preds[k].name) == 0 &&
                (!scbr_value_cmp(&a->preds[i].value, &b->preds[k].value, &c) || c != 0))
                return true;
        }
    }
    return false;
}

uint64_t scbr_attr_signature(const struct scbr_sub *s)
{
    uint64_t sig = 0;
    for (size_t i = 0; i < s->n; i++) {
        uint32_t h = 2166136261u;
        for (const char *c = s->preds[i].name; *c; c++)
            h = (h ^ (unsigned char)*c) * 16777619u;
        sig |= (uint64_t)1 << (h & 63);
    }
    return sig;
}
