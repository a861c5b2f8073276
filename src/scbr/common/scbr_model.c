/* scbr_model.c -- subscriptions and publications as single heap blocks, and their semantics.
 *
 * A block is the struct, then its predicate/pair array, then every name and string NUL-terminated,
 * so a copy is one allocation and a free is one call. The builders are the one place values are
 * validated; the parser and the wire decoder both end in them. Integers and doubles compare
 * exactly (no rounding of the integer to a double), so equality and order are the mathematical
 * ones for every pair of finite values. */
#include <cloister/scbr.h>

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scbr/common/scbr_internal.h"

bool scbr_name_valid(const char *s, size_t len)
{
    if (len == 0 || len > SCBR_NAME_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        bool alpha = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
        bool more = (c >= '0' && c <= '9') || c == '.';
        if (!alpha && (i == 0 || !more))
            return false;
    }
    return true;
}

/* Well-formed UTF-8 (no overlongs, no surrogates, nothing past U+10FFFF) without NUL bytes. */
bool scbr_utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        unsigned c = p[i];
        size_t n;
        unsigned min, cp;
        if (c == 0)
            return false;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            n = 1, min = 0x80, cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            n = 2, min = 0x800, cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            n = 3, min = 0x10000, cp = c & 0x07;
        } else {
            return false;
        }
        if (len - i - 1 < n)
            return false;
        for (size_t k = 1; k <= n; k++) {
            if ((p[i + k] & 0xc0) != 0x80)
                return false;
            cp = cp << 6 | (p[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += n + 1;
    }
    return true;
}

static bool value_valid(const struct scbr_value *v, struct cloister_err *err, const char *what)
{
    switch (v->type) {
    case SCBR_INT: return true;
    case SCBR_DOUBLE:
        if (isfinite(v->u.d))
            return true;
        cloister_errf(err, CLOISTER_E_INVALID, "%s: number is not finite", what);
        return false;
    case SCBR_STRING:
        if (v->u.s.len > SCBR_STRING_MAX) {
            cloister_errf(err, CLOISTER_E_TOO_BIG, "%s: string longer than %d bytes", what,
                          SCBR_STRING_MAX);
            return false;
        }
        if (!v->u.s.ptr && v->u.s.len)
            return false;
        if (scbr_utf8_valid(v->u.s.ptr, v->u.s.len))
            return true;
        cloister_errf(err, CLOISTER_E_INVALID,
                      "%s: string is not valid UTF-8 (or holds a NUL byte)", what);
        return false;
    }
    cloister_errf(err, CLOISTER_E_INVALID, "%s: unknown value type", what);
    return false;
}

static bool name_ok(const char *name, struct cloister_err *err)
{
    if (name && scbr_name_valid(name, strlen(name)))
        return true;
    cloister_errf(err, CLOISTER_E_INVALID, "invalid attribute name");
    return false;
}

/* Bump allocation of names and strings inside a block. */
struct strpool {
    char *at;
};

static const char *pool_copy(struct strpool *sp, const char *s, size_t len)
{
    char *d = sp->at;
    if (len)
        memcpy(d, s, len);
    d[len] = 0;
    sp->at += len + 1;
    return d;
}

static size_t value_extra(const struct scbr_value *v)
{
    return v->type == SCBR_STRING ? (size_t)v->u.s.len + 1 : 0;
}

static void value_copy(struct strpool *sp, struct scbr_value *dst, const struct scbr_value *src)
{
    *dst = *src;
    if (src->type == SCBR_STRING)
        dst->u.s.ptr = pool_copy(sp, src->u.s.ptr, src->u.s.len);
}

size_t scbr_sub_block_size(const struct scbr_sub *s)
{
    size_t size = sizeof *s + s->n * sizeof(struct scbr_pred);
    for (size_t i = 0; i < s->n; i++)
        size += strlen(s->preds[i].name) + 1 + value_extra(&s->preds[i].value);
    return size;
}

struct scbr_sub *scbr_sub_copy_into(void *block, const struct scbr_pred *preds, size_t n)
{
    struct scbr_sub *s = block;
    s->n = n;
    s->preds = (struct scbr_pred *)(s + 1);
    struct strpool sp = {(char *)(s->preds + n)};
    for (size_t i = 0; i < n; i++) {
        s->preds[i].op = preds[i].op;
        s->preds[i].name = pool_copy(&sp, preds[i].name, strlen(preds[i].name));
        if (preds[i].op == SCBR_EXISTS)
            s->preds[i].value = (struct scbr_value){.type = SCBR_INT};
        else
            value_copy(&sp, &s->preds[i].value, &preds[i].value);
    }
    return s;
}

struct scbr_sub *scbr_sub_new(const struct scbr_pred *preds, size_t n, struct cloister_err *err)
{
    if (n == 0 || n > SCBR_ITEMS_MAX) {
        cloister_errf(err, CLOISTER_E_INVALID, "a subscription needs 1 to %d predicates",
                      SCBR_ITEMS_MAX);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        if (!name_ok(preds[i].name, err))
            return NULL;
        if ((unsigned)preds[i].op > SCBR_EXISTS) {
            cloister_errf(err, CLOISTER_E_INVALID, "predicate on '%s': unknown operator",
                          preds[i].name);
            return NULL;
        }
        if (preds[i].op == SCBR_EXISTS)
            continue;
        if (!value_valid(&preds[i].value, err, preds[i].name))
            return NULL;
        if (preds[i].op == SCBR_PREFIX && preds[i].value.type != SCBR_STRING) {
            cloister_errf(err, CLOISTER_E_INVALID, "predicate on '%s': prefix needs a string",
                          preds[i].name);
            return NULL;
        }
    }
    struct scbr_sub tmp = {n, (struct scbr_pred *)preds};
    void *block = malloc(scbr_sub_block_size(&tmp));
    if (!block) {
        cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
        return NULL;
    }
    return scbr_sub_copy_into(block, preds, n);
}

static int pair_cmp(const void *a, const void *b)
{
    return strcmp(((const struct scbr_pair *)a)->name, ((const struct scbr_pair *)b)->name);
}

struct scbr_pub *scbr_pub_new(const struct scbr_pair *pairs, size_t n, const void *payload,
                              size_t payload_len, struct cloister_err *err)
{
    if (n == 0 || n > SCBR_ITEMS_MAX) {
        cloister_errf(err, CLOISTER_E_INVALID, "a publication needs 1 to %d attributes",
                      SCBR_ITEMS_MAX);
        return NULL;
    }
    size_t size = sizeof(struct scbr_pub) + n * sizeof *pairs + payload_len;
    for (size_t i = 0; i < n; i++) {
        if (!name_ok(pairs[i].name, err) || !value_valid(&pairs[i].value, err, pairs[i].name))
            return NULL;
        size += strlen(pairs[i].name) + 1 + value_extra(&pairs[i].value);
    }
    struct scbr_pub *p = malloc(size);
    if (!p) {
        cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
        return NULL;
    }
    p->n = n;
    p->pairs = (struct scbr_pair *)(p + 1);
    struct strpool sp = {(char *)(p->pairs + n)};
    for (size_t i = 0; i < n; i++) {
        p->pairs[i].name = pool_copy(&sp, pairs[i].name, strlen(pairs[i].name));
        value_copy(&sp, &p->pairs[i].value, &pairs[i].value);
    }
    p->payload = (const uint8_t *)sp.at;
    p->payload_len = payload_len;
    if (payload_len)
        memcpy(sp.at, payload, payload_len);
    qsort(p->pairs, n, sizeof *p->pairs, pair_cmp);
    for (size_t i = 1; i < n; i++)
        if (strcmp(p->pairs[i - 1].name, p->pairs[i].name) == 0) {
            cloister_errf(err, CLOISTER_E_INVALID, "attribute '%s' appears twice",
                          p->pairs[i].name);
            free(p);
            return NULL;
        }
    return p;
}

void scbr_sub_free(struct scbr_sub *s)
{
    free(s);
}

void scbr_pub_free(struct scbr_pub *p)
{
    free(p);
}

const struct scbr_value *scbr_pub_get(const struct scbr_pub *pub, const char *name)
{
    size_t lo = 0, hi = pub->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(pub->pairs[mid].name, name);
        if (c == 0)
            return &pub->pairs[mid].value;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* Exact order of an integer and a finite double. */
int scbr_cmp_int_double(int64_t i, double d)
{
    if (d >= 9223372036854775808.0)
        return -1;
    if (d < -9223372036854775808.0)
        return 1;
    double t = trunc(d);
    int64_t ti = (int64_t)t;
    if (i != ti)
        return i < ti ? -1 : 1;
    double frac = d - t;
    return frac > 0 ? -1 : frac < 0 ? 1 : 0;
}

int scbr_cmp_bytes(const char *a, size_t alen, const char *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    if (c)
        return c < 0 ? -1 : 1;
    return alen < blen ? -1 : alen > blen ? 1 : 0;
}

bool scbr_value_cmp(const struct scbr_value *a, const struct scbr_value *b, int *order)
{
    if ((a->type == SCBR_STRING) != (b->type == SCBR_STRING))
        return false;
    int c;
    if (a->type == SCBR_STRING)
        c = scbr_cmp_bytes(a->u.s.ptr, a->u.s.len, b->u.s.ptr, b->u.s.len);
    else if (a->type == SCBR_INT && b->type == SCBR_INT)
        c = a->u.i < b->u.i ? -1 : a->u.i > b->u.i;
    else if (a->type == SCBR_INT)
        c = scbr_cmp_int_double(a->u.i, b->u.d);
    else if (b->type == SCBR_INT)
        c = -scbr_cmp_int_double(b->u.i, a->u.d);
    else
        c = a->u.d < b->u.d ? -1 : a->u.d > b->u.d;
    *order = c;
    return true;
}

bool scbr_op_holds(enum scbr_op op, const struct scbr_value *have, const struct scbr_value *want)
{
    if (op == SCBR_EXISTS)
        return true;
    if (op == SCBR_PREFIX)
        return have->type == SCBR_STRING && have->u.s.len >= want->u.s.len &&
               memcmp(have->u.s.ptr, want->u.s.ptr, want->u.s.len) == 0;
    int c;
    if (!scbr_value_cmp(have, want, &c))
        return false;
    switch (op) {
    case SCBR_EQ: return c == 0;
    case SCBR_NE: return c != 0;
    case SCBR_LT: return c < 0;
    case SCBR_LE: return c <= 0;
    case SCBR_GT: return c > 0;
    case SCBR_GE: return c >= 0;
    default: return false;
    }
}

bool scbr_pred_holds(const struct scbr_pred *p, const struct scbr_pub *pub)
{
    const struct scbr_value *have = scbr_pub_get(pub, p->name);
    return have && scbr_op_holds(p->op, have, &p->value);
}

bool scbr_sub_matches(const struct scbr_sub *s, const struct scbr_pub *pub)
{
    for (size_t i = 0; i < s->n; i++)
        if (!scbr_pred_holds(&s->preds[i], pub))
            return false;
    return true;
}
