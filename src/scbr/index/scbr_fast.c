/* scbr_fast.c -- cloister's own matcher: equality pivots in a hash table, compiled residuals.
 *
 * Attribute names are interned to small integers once, at registration; a publication is
 * resolved to a slot per attribute (one hash lookup per pair, stamped so nothing is cleared
 * between publications). Each subscription is compiled into one record -- 16-byte predicates
 * over attribute numbers, its strings behind them -- and filed in exactly one list:
 *   - an equality list keyed by (attribute, value) when it has an `=` predicate (the SCBR
 *     workload's `symbol =`, OpIndex's pivot): the publication probes one key per pair, so
 *     only subscriptions agreeing on a pivot value are ever looked at;
 *   - otherwise the presence list of its least-populated attribute (every predicate needs its
 *     attribute present), visited only when the publication carries that attribute.
 * Candidates then run their other predicates against the slots. Numbers are keyed canonically
 * (an integral double as the integer) so `x = 5` and `x = 5.0` share a key and a publication's
 * 5.0 finds both. Removal is O(1): a record knows its list and position (swap-remove). */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "scbr/index/scbr_idmap.h"

struct fpred {
    uint32_t attr;
    uint8_t op, type;
    uint16_t pad;
    union {
        int64_t i;
        double d;
        struct {
            uint32_t off, len;
        } s;
    } v;
};

struct frec {
    uint32_t id;
    uint32_t list, pos; /* where the record is filed */
    uint16_t n, pivot;  /* predicates; the pivot (skipped when matching), or n if none */
    uint32_t size;      /* bytes of the record, for the allocator */
    struct fpred p[];   /* then the strings */
};

enum { KEY_NONE, KEY_INT, KEY_DOUBLE, KEY_STRING };

struct flist {
    struct frec **v;
    uint32_t n, cap;
    uint32_t attr;
    uint8_t kind; /* KEY_NONE: the presence list of attr */
    union {
        int64_t i;
        double d;
        struct {
            char *ptr;
            uint32_t len;
        } s;
    } key;
};

struct hslot {
    uint64_t hash;
    uint32_t list; /* list index + 1; 0 = empty */
};

struct attr_slot {
    uint64_t hash;
    uint32_t attr; /* attribute + 1; 0 = empty */
};

struct fast {
    struct flist *lists;
    size_t nlists, caplists;
    struct hslot *eq; /* (attr, value) -> equality list */
    size_t eqcap, eqn;
    struct attr_slot *names; /* name -> attribute */
    size_t namecap;
    char **attr_name;
    uint32_t *presence; /* attribute -> its presence list */
    const struct scbr_value **slot; /* per attribute: the publication's value */
    uint32_t *slot_stamp;
    size_t nattrs, capattrs;
    uint32_t stamp;
    struct scbr_idmap ids; /* id -> record */
    size_t subs, preds;
};

static uint64_t hash_bytes(const void *p, size_t n, uint64_t seed)
{
    const unsigned char *c = p;
    uint64_t h = 0xcbf29ce484222325ull ^ seed;
    for (size_t i = 0; i < n; i++)
        h = (h ^ c[i]) * 0x100000001b3ull;
    return h ^ (h >> 29);
}

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    return x ^ (x >> 33);
}

/* The canonical key of a value: integral doubles in range become integers. */
static uint8_t key_of(const struct scbr_value *v, int64_t *i, double *d)
{
    if (v->type == SCBR_INT) {
        *i = v->u.i;
        return KEY_INT;
    }
    if (v->type == SCBR_DOUBLE) {
        if (v->u.d == trunc(v->u.d) && v->u.d >= -9223372036854775808.0 &&
            v->u.d < 9223372036854775808.0) {
            *i = (int64_t)v->u.d;
            return KEY_INT;
        }
        *d = v->u.d;
        return KEY_DOUBLE;
    }
    return KEY_STRING;
}

static uint64_t key_hash(uint32_t attr, const struct scbr_value *v)
{
    int64_t i = 0;
    double d = 0;
    uint8_t kind = key_of(v, &i, &d);
    if (kind == KEY_STRING)
        return hash_bytes(v->u.s.ptr, v->u.s.len, attr * 0x9e3779b97f4a7c15ull);
    uint64_t bits;
    if (kind == KEY_INT)
        bits = (uint64_t)i;
    else
        memcpy(&bits, &d, sizeof bits);
    return mix(bits ^ ((uint64_t)attr << 40) ^ kind);
}

static bool key_equal(const struct flist *l, uint32_t attr, const struct scbr_value *v)
{
    int64_t i = 0;
    double d = 0;
    uint8_t kind = key_of(v, &i, &d);
    if (l->attr != attr || l->kind != kind)
        return false;
    if (kind == KEY_INT)
        return l->key.i == i;
    if (kind == KEY_DOUBLE)
        return l->key.d == d;
    return l->key.s.len == v->u.s.len && memcmp(l->key.s.ptr, v->u.s.ptr, v->u.s.len) == 0;
}

static void *fast_create(struct scbr_mem *m)
{
    return scbr_mem_calloc(m, 1, sizeof(struct fast));
}

static void fast_destroy(void *e, struct scbr_mem *m)
{
    struct fast *f = e;
    for (size_t i = 0; i < f->nlists; i++) {
        struct flist *l = &f->lists[i];
        for (uint32_t k = 0; k < l->n; k++)
            scbr_mem_free(m, l->v[k], l->v[k]->size);
        scbr_mem_free(m, l->v, l->cap * sizeof *l->v);
        if (l->kind == KEY_STRING)
            scbr_mem_free(m, l->key.s.ptr, l->key.s.len + 1);
    }
    for (size_t a = 0; a < f->nattrs; a++)
        scbr_mem_free(m, f->attr_name[a], strlen(f->attr_name[a]) + 1);
    scbr_mem_free(m, f->lists, f->caplists * sizeof *f->lists);
    scbr_mem_free(m, f->eq, f->eqcap * sizeof *f->eq);
    scbr_mem_free(m, f->names, f->namecap * sizeof *f->names);
    scbr_mem_free(m, f->attr_name, f->capattrs * sizeof *f->attr_name);
    scbr_mem_free(m, f->presence, f->capattrs * sizeof *f->presence);
    scbr_mem_free(m, f->slot, f->capattrs * sizeof *f->slot);
    scbr_mem_free(m, f->slot_stamp, f->capattrs * sizeof *f->slot_stamp);
    scbr_idmap_free(&f->ids, m);
    scbr_mem_free(m, f, sizeof *f);
}

/* The attribute number of name, or -1 if no subscription ever named it. */
static int64_t attr_find(const struct fast *f, const char *name, uint64_t h)
{
    if (!f->namecap)
        return -1;
    for (size_t i = h & (f->namecap - 1);; i = (i + 1) & (f->namecap - 1)) {
        const struct attr_slot *s = &f->names[i];
        if (!s->attr)
            return -1;
        if (s->hash == h && strcmp(f->attr_name[s->attr - 1], name) == 0)
            return s->attr - 1;
    }
}

static void attr_place(struct attr_slot *slots, size_t cap, uint64_t h, uint32_t attr)
{
    size_t i = h & (cap - 1);
    while (slots[i].attr)
        i = (i + 1) & (cap - 1);
    slots[i] = (struct attr_slot){h, attr + 1};
}

/* The four per-attribute arrays grow together: all new ones are allocated before any old one is
 * released, so a failure changes nothing. */
static int grow_attr_arrays(struct fast *f, struct scbr_mem *m)
{
    if (f->nattrs < f->capattrs)
        return 0;
    size_t ncap = f->capattrs ? 2 * f->capattrs : 16, old = f->capattrs;
    void **arrays[] = {(void **)&f->attr_name, (void **)&f->presence, (void **)&f->slot,
                       (void **)&f->slot_stamp};
    const size_t sizes[] = {sizeof *f->attr_name, sizeof *f->presence, sizeof *f->slot,
                            sizeof *f->slot_stamp};
    void *fresh[4] = {0};
    for (size_t k = 0; k < 4; k++)
        if (!(fresh[k] = scbr_mem_calloc(m, ncap, sizes[k]))) {
            while (k--)
                scbr_mem_free(m, fresh[k], ncap * sizes[k]);
            return -1;
        }
    for (size_t k = 0; k < 4; k++) {
        if (old)
            memcpy(fresh[k], *arrays[k], old * sizes[k]);
        scbr_mem_free(m, *arrays[k], old * sizes[k]);
        *arrays[k] = fresh[k];
    }
    f->capattrs = ncap;
    return 0;
}

static int new_list(struct fast *f, struct scbr_mem *m, uint32_t *index)
{
    if (f->nlists >= UINT32_MAX - 1 ||
        scbr_mem_grow(m, (void **)&f->lists, &f->caplists, f->nlists + 1, sizeof *f->lists))
        return -1;
    memset(&f->lists[f->nlists], 0, sizeof *f->lists);
    *index = (uint32_t)f->nlists++;
    return 0;
}

/* The attribute number of name, interned on first use with an empty presence list. */
static int64_t attr_intern(struct fast *f, struct scbr_mem *m, const char *name)
{
    uint64_t h = hash_bytes(name, strlen(name), 0);
    int64_t a = attr_find(f, name, h);
    if (a >= 0)
        return a;
    if (2 * (f->nattrs + 1) > f->namecap) {
        size_t ncap = f->namecap ? 2 * f->namecap : 32;
        struct attr_slot *ns = scbr_mem_calloc(m, ncap, sizeof *ns);
        if (!ns)
            return -1;
        for (size_t i = 0; i < f->namecap; i++)
            if (f->names[i].attr)
                attr_place(ns, ncap, f->names[i].hash, f->names[i].attr - 1);
        scbr_mem_free(m, f->names, f->namecap * sizeof *f->names);
        f->names = ns, f->namecap = ncap;
    }
    uint32_t list;
    size_t len = strlen(name);
    char *copy = NULL;
    if (grow_attr_arrays(f, m) || new_list(f, m, &list) || !(copy = scbr_mem_alloc(m, len + 1)))
        return -1;
    memcpy(copy, name, len + 1);
    a = (int64_t)f->nattrs++;
    f->attr_name[a] = copy;
    f->presence[a] = list;
    f->lists[list].attr = (uint32_t)a;
    f->lists[list].kind = KEY_NONE;
    attr_place(f->names, f->namecap, h, (uint32_t)a);
    return a;
}

static void eq_place(struct hslot *slots, size_t cap, uint64_t h, uint32_t list)
{
    size_t i = h & (cap - 1);
    while (slots[i].list)
        i = (i + 1) & (cap - 1);
    slots[i] = (struct hslot){h, list + 1};
}

static const struct flist *eq_find(const struct fast *f, uint32_t attr,
                                   const struct scbr_value *v, uint64_t h)
{
    if (!f->eqcap)
        return NULL;
    for (size_t i = h & (f->eqcap - 1);; i = (i + 1) & (f->eqcap - 1)) {
        const struct hslot *s = &f->eq[i];
        if (!s->list)
            return NULL;
        if (s->hash == h && key_equal(&f->lists[s->list - 1], attr, v))
            return &f->lists[s->list - 1];
    }
}

/* The equality list of (attr, v), created on first use. */
static int eq_list(struct fast *f, struct scbr_mem *m, uint32_t attr, const struct scbr_value *v,
                   uint32_t *index)
{
    uint64_t h = key_hash(attr, v);
    const struct flist *l = eq_find(f, attr, v, h);
    if (l) {
        *index = (uint32_t)(l - f->lists);
        return 0;
    }
    if (2 * (f->eqn + 1) > f->eqcap) {
        size_t ncap = f->eqcap ? 2 * f->eqcap : 64;
        struct hslot *ns = scbr_mem_calloc(m, ncap, sizeof *ns);
        if (!ns)
            return -1;
        for (size_t i = 0; i < f->eqcap; i++)
            if (f->eq[i].list)
                eq_place(ns, ncap, f->eq[i].hash, f->eq[i].list - 1);
        scbr_mem_free(m, f->eq, f->eqcap * sizeof *f->eq);
        f->eq = ns, f->eqcap = ncap;
    }
    char *str = NULL;
    if (v->type == SCBR_STRING) {
        if (!(str = scbr_mem_alloc(m, v->u.s.len + 1)))
            return -1;
        memcpy(str, v->u.s.ptr, v->u.s.len);
        str[v->u.s.len] = 0;
    }
    if (new_list(f, m, index)) {
        if (str)
            scbr_mem_free(m, str, v->u.s.len + 1);
        return -1;
    }
    struct flist *nl = &f->lists[*index];
    nl->attr = attr;
    nl->kind = key_of(v, &nl->key.i, &nl->key.d);
    if (str)
        nl->key.s.ptr = str, nl->key.s.len = v->u.s.len;
    eq_place(f->eq, f->eqcap, h, *index);
    f->eqn++;
    return 0;
}

/* Compiles s into one record; attributes are interned on the way. */
static struct frec *compile(struct fast *f, struct scbr_mem *m, const struct scbr_sub *s,
                            uint32_t id)
{
    size_t strings = 0;
    for (size_t i = 0; i < s->n; i++)
        if (s->preds[i].op != SCBR_EXISTS && s->preds[i].value.type == SCBR_STRING)
            strings += s->preds[i].value.u.s.len;
    size_t size = sizeof(struct frec) + s->n * sizeof(struct fpred) + strings;
    if (s->n > UINT16_MAX - 1 || size > UINT32_MAX)
        return NULL;
    struct frec *r = scbr_mem_alloc(m, size);
    if (!r)
        return NULL;
    r->id = id;
    r->n = (uint16_t)s->n;
    r->pivot = r->n;
    r->size = (uint32_t)size;
    char *tail = (char *)(r->p + s->n);
    uint32_t off = 0;
    for (size_t i = 0; i < s->n; i++) {
        const struct scbr_pred *q = &s->preds[i];
        int64_t a = attr_intern(f, m, q->name);
        if (a < 0) {
            scbr_mem_free(m, r, size);
            return NULL;
        }
        struct fpred *p = &r->p[i];
        memset(p, 0, sizeof *p);
        p->attr = (uint32_t)a;
        p->op = (uint8_t)q->op;
        p->type = (uint8_t)q->value.type;
        if (q->op == SCBR_EXISTS) {
            p->type = SCBR_INT;
        } else if (q->value.type == SCBR_STRING) {
            memcpy(tail + off, q->value.u.s.ptr, q->value.u.s.len);
            p->v.s.off = off, p->v.s.len = q->value.u.s.len;
            off += q->value.u.s.len;
        } else if (q->value.type == SCBR_INT) {
            p->v.i = q->value.u.i;
        } else {
            p->v.d = q->value.u.d;
        }
        if (q->op == SCBR_EQ && (r->pivot == r->n || (q->value.type == SCBR_STRING &&
                                                      r->p[r->pivot].type != SCBR_STRING)))
            r->pivot = (uint16_t)i;
    }
    return r;
}

static struct scbr_value pred_value(const struct frec *r, const struct fpred *p)
{
    struct scbr_value v = {.type = (enum scbr_type)p->type};
    if (p->type == SCBR_STRING) {
        v.u.s.ptr = (const char *)(r->p + r->n) + p->v.s.off;
        v.u.s.len = p->v.s.len;
    } else if (p->type == SCBR_INT) {
        v.u.i = p->v.i;
    } else {
        v.u.d = p->v.d;
    }
    return v;
}

static int file_record(struct fast *f, struct scbr_mem *m, struct frec *r, uint32_t list)
{
    struct flist *l = &f->lists[list];
    if (l->n == l->cap) {
        size_t cap = l->cap;
        if (cap >= UINT32_MAX / 2 ||
            scbr_mem_grow(m, (void **)&l->v, &cap, (size_t)l->n + 1, sizeof *l->v))
            return -1;
        l->cap = (uint32_t)cap;
    }
    r->list = list;
    r->pos = l->n;
    l->v[l->n++] = r;
    return 0;
}

static int fast_insert(void *e, struct scbr_mem *m, const struct scbr_sub *s, uint32_t id)
{
    struct fast *f = e;
    if (scbr_idmap_get(&f->ids, id)) {
        errno = EEXIST;
        return -1;
    }
    struct frec *r = compile(f, m, s, id);
    if (!r)
        goto nomem;
    uint32_t list;
    if (r->pivot < r->n) {
        struct scbr_value v = pred_value(r, &r->p[r->pivot]);
        if (eq_list(f, m, r->p[r->pivot].attr, &v, &list))
            goto nomem_rec;
    } else {
        list = f->presence[r->p[0].attr];
        for (uint16_t i = 1; i < r->n; i++) {
            uint32_t other = f->presence[r->p[i].attr];
            if (f->lists[other].n < f->lists[list].n)
                list = other;
        }
    }
    if (scbr_idmap_put(&f->ids, m, id, (uint64_t)(uintptr_t)r))
        goto nomem_rec;
    if (file_record(f, m, r, list)) {
        scbr_idmap_del(&f->ids, id);
        goto nomem_rec;
    }
    f->subs++;
    f->preds += s->n;
    return 0;
nomem_rec:
    scbr_mem_free(m, r, r->size);
nomem:
    errno = ENOMEM;
    return -1;
}

static int fast_remove(void *e, struct scbr_mem *m, uint32_t id)
{
    struct fast *f = e;
    uint64_t *v = scbr_idmap_get(&f->ids, id);
    if (!v) {
        errno = ENOENT;
        return -1;
    }
    struct frec *r = (struct frec *)(uintptr_t)*v;
    struct flist *l = &f->lists[r->list];
    struct frec *last = l->v[--l->n];
    l->v[r->pos] = last;
    last->pos = r->pos;
    scbr_idmap_del(&f->ids, id);
    f->subs--;
    f->preds -= r->n;
    scbr_mem_free(m, r, r->size);
    return 0;
}

static bool pred_holds(const struct fast *f, const struct frec *r, const struct fpred *p)
{
    if (f->slot_stamp[p->attr] != f->stamp)
        return false;
    const struct scbr_value *have = f->slot[p->attr];
    if (p->op == SCBR_EXISTS)
        return true;
    if (p->type == SCBR_INT && have->type == SCBR_INT) {
        int64_t a = have->u.i, b = p->v.i;
        switch (p->op) {
        case SCBR_EQ: return a == b;
        case SCBR_NE: return a != b;
        case SCBR_LT: return a < b;
        case SCBR_LE: return a <= b;
        case SCBR_GT: return a > b;
        case SCBR_GE: return a >= b;
        default: return false;
        }
    }
    struct scbr_value want = pred_value(r, p);
    return scbr_op_holds((enum scbr_op)p->op, have, &want);
}

static int scan(const struct fast *f, struct scbr_mem *m, const struct flist *l,
                struct scbr_ids *out)
{
    for (uint32_t k = 0; k < l->n; k++) {
        const struct frec *r = l->v[k];
        bool ok = true;
        for (uint16_t i = 0; i < r->n && ok; i++)
            ok = i == r->pivot || pred_holds(f, r, &r->p[i]);
        if (ok && scbr_ids_push(out, m, r->id))
            return -1;
    }
    return 0;
}

static int fast_match(void *e, struct scbr_mem *m, const struct scbr_pub *pub,
                      struct scbr_ids *out)
{
    struct fast *f = e;
    if (++f->stamp == 0) {
        memset(f->slot_stamp, 0, f->capattrs * sizeof *f->slot_stamp);
        f->stamp = 1;
    }
    uint32_t attrs[64];
    size_t na = 0;
    bool overflow = false;
    for (size_t i = 0; i < pub->n; i++) {
        const char *name = pub->pairs[i].name;
        int64_t a = attr_find(f, name, hash_bytes(name, strlen(name), 0));
        if (a < 0)
            continue;
        f->slot[a] = &pub->pairs[i].value;
        f->slot_stamp[a] = f->stamp;
        if (na < 64)
            attrs[na++] = (uint32_t)a;
        else
            overflow = true;
    }
    for (size_t k = 0; k < (overflow ? f->nattrs : na); k++) {
        uint32_t a = overflow ? (uint32_t)k : attrs[k];
        if (f->slot_stamp[a] != f->stamp)
            continue;
        const struct scbr_value *v = f->slot[a];
        const struct flist *l = eq_find(f, a, v, key_hash(a, v));
        if ((l && scan(f, m, l, out)) || scan(f, m, &f->lists[f->presence[a]], out))
            return -1;
    }
    return 0;
}

static void fast_stats(const void *e, struct scbr_index_stats *st)
{
    const struct fast *f = e;
    st->subscriptions = f->subs;
    st->predicates = f->preds;
    st->nodes = f->subs;
}

const struct scbr_engine scbr_engine_fast = {"fast",        fast_create, fast_destroy,
                                             fast_insert,   fast_remove, fast_match,
                                             fast_stats};
