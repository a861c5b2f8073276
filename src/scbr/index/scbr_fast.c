/* scbr_fast.c -- cloister's own matcher: equality pivots in a hash table, compact residuals.
 *
 * Attribute names are interned to small integers once, at registration; a publication is
 * resolved to a slot per attribute (one hash lookup per pair, stamped so nothing is cleared
 * between publications). Each subscription is filed in exactly one list:
 *   - an equality list keyed by (attribute, value) when it has an `=` predicate (the SCBR
 *     workload's `symbol =`, OpIndex's pivot): the publication probes one key per pair, so
 *     only subscriptions agreeing on a pivot value are ever looked at;
 *   - otherwise the presence list of its least-populated attribute (every predicate needs its
 *     attribute present), visited only when the publication carries that attribute.
 * A list is one contiguous arena of variable-length records -- an 8-byte header (id, count,
 * flags), the residual predicates at 16 bytes each over attribute numbers, then their strings
 * -- so matching streams through memory instead of chasing a pointer per candidate, and the
 * pivot, implied by the list's key, is not stored at all (24 bytes for a stock subscription,
 * plus its id map slot). Records keep insertion order, so ids registered in increasing order
 * come out sorted. Removal marks the record dead; a list whose dead bytes exceed half its arena
 * is compacted (the id map, id -> (list, offset), follows the moved records), so removal is
 * amortised O(1). Numbers are keyed canonically (an integral double as the integer) so `x = 5`
 * and `x = 5.0` share a key and a publication's 5.0 finds both; every record of an equality
 * list therefore satisfies its dropped pivot. */
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
            uint32_t off, len; /* in the record's string area */
        } s;
    } v;
};

enum { REC_DEAD = 1, REC_PIVOT = 2, REC_STRINGS = 4 };

struct frec {
    uint32_t id;
    uint16_t n;       /* residual predicates */
    uint16_t flags;   /* REC_* */
    struct fpred p[]; /* then the strings, padded to 8 bytes */
};

enum { KEY_NONE, KEY_INT, KEY_DOUBLE, KEY_STRING };

struct flist {
    unsigned char *arena;   /* records, 8-byte aligned */
    size_t used, cap, dead; /* bytes */
    uint32_t n;             /* live records */
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
    uint32_t *presence;             /* attribute -> its presence list */
    const struct scbr_value **slot; /* per attribute: the publication's value */
    uint32_t *slot_stamp;
    size_t nattrs, capattrs;
    uint32_t stamp;
    struct scbr_idmap ids; /* id -> (list << 32) | offset of its record */
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
        scbr_mem_free(m, l->arena, l->cap);
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

static const struct flist *eq_find(const struct fast *f, uint32_t attr, const struct scbr_value *v,
                                   uint64_t h)
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

static bool has_string(const struct scbr_pred *q)
{
    return q->op != SCBR_EXISTS && q->value.type == SCBR_STRING;
}

/* Bytes of a record: header, predicates, strings, rounded up to 8. */
static size_t rec_size(const struct frec *r)
{
    size_t size = sizeof *r + r->n * sizeof(struct fpred);
    if (r->flags & REC_STRINGS)
        for (uint16_t i = 0; i < r->n; i++)
            if (r->p[i].type == SCBR_STRING)
                size += r->p[i].v.s.len;
    return (size + 7) & ~(size_t)7;
}

/* The pivot: an `=` predicate, a string one if any (strings are the likelier discriminators),
 * else n. */
static size_t pick_pivot(const struct scbr_sub *s)
{
    size_t pivot = s->n;
    for (size_t i = 0; i < s->n; i++)
        if (s->preds[i].op == SCBR_EQ &&
            (pivot == s->n || (has_string(&s->preds[i]) && !has_string(&s->preds[pivot]))))
            pivot = i;
    return pivot;
}

/* Writes s without its pivot as a record at r (sized by the caller from the same inputs). */
static void write_record(struct frec *r, const struct scbr_sub *s, const uint32_t *attrs,
                         size_t pivot, uint32_t id)
{
    r->id = id;
    r->n = (uint16_t)(s->n - (pivot < s->n));
    r->flags = pivot < s->n ? REC_PIVOT : 0;
    char *strings = (char *)(r->p + r->n);
    uint32_t off = 0;
    struct fpred *p = r->p;
    for (size_t i = 0; i < s->n; i++) {
        if (i == pivot)
            continue;
        const struct scbr_pred *q = &s->preds[i];
        memset(p, 0, sizeof *p);
        p->attr = attrs[i];
        p->op = (uint8_t)q->op;
        p->type = (uint8_t)(q->op == SCBR_EXISTS ? SCBR_INT : q->value.type);
        if (has_string(q)) {
            memcpy(strings + off, q->value.u.s.ptr, q->value.u.s.len);
            p->v.s.off = off, p->v.s.len = q->value.u.s.len;
            off += q->value.u.s.len;
            r->flags |= REC_STRINGS;
        } else if (p->type == SCBR_INT) {
            p->v.i = q->op == SCBR_EXISTS ? 0 : q->value.u.i;
        } else {
            p->v.d = q->value.u.d;
        }
        p++;
    }
    /* Padding is zeroed so arenas hold no stale bytes. */
    size_t end = (size_t)(strings + off - (char *)r);
    memset(strings + off, 0, ((end + 7) & ~(size_t)7) - end);
}

static uint64_t locate(uint32_t list, size_t off)
{
    return (uint64_t)list << 32 | off;
}

static int fast_insert(void *e, struct scbr_mem *m, const struct scbr_sub *s, uint32_t id)
{
    struct fast *f = e;
    if (scbr_idmap_get(&f->ids, id)) {
        errno = EEXIST;
        return -1;
    }
    uint32_t attrs[SCBR_ITEMS_MAX], list = 0;
    size_t pivot = pick_pivot(s), size = sizeof(struct frec), n = s->n;
    if (n > SCBR_ITEMS_MAX)
        goto nomem;
    for (size_t i = 0; i < n; i++) {
        int64_t a = attr_intern(f, m, s->preds[i].name);
        if (a < 0)
            goto nomem;
        attrs[i] = (uint32_t)a;
        /* Without a pivot: the presence list of the least-populated attribute. */
        uint32_t presence = f->presence[a];
        if (i == 0 || f->lists[presence].n < f->lists[list].n)
            list = presence;
        if (i != pivot)
            size += sizeof(struct fpred) +
                    (has_string(&s->preds[i]) ? s->preds[i].value.u.s.len : 0);
    }
    size = (size + 7) & ~(size_t)7;
    if (pivot < n && eq_list(f, m, attrs[pivot], &s->preds[pivot].value, &list))
        goto nomem;
    struct flist *l = &f->lists[list];
    if (l->used + size > UINT32_MAX ||
        scbr_mem_grow(m, (void **)&l->arena, &l->cap, l->used + size, 1) ||
        scbr_idmap_put(&f->ids, m, id, locate(list, l->used)))
        goto nomem;
    write_record((struct frec *)(l->arena + l->used), s, attrs, pivot, id);
    l->used += size;
    l->n++;
    f->subs++;
    f->preds += n;
    return 0;
nomem:
    errno = ENOMEM;
    return -1;
}

/* Squeezes the dead records out of list, moving the live ones down in order. */
static void compact(struct fast *f, uint32_t list)
{
    struct flist *l = &f->lists[list];
    size_t to = 0;
    for (size_t at = 0; at < l->used;) {
        struct frec *r = (struct frec *)(l->arena + at);
        size_t size = rec_size(r);
        if (!(r->flags & REC_DEAD)) {
            if (to != at) {
                memmove(l->arena + to, r, size);
                *scbr_idmap_get(&f->ids, ((struct frec *)(l->arena + to))->id) = locate(list, to);
            }
            to += size;
        }
        at += size;
    }
    l->used = to;
    l->dead = 0;
}

static int fast_remove(void *e, struct scbr_mem *m, uint32_t id)
{
    struct fast *f = e;
    uint64_t *v = scbr_idmap_get(&f->ids, id);
    if (!v) {
        errno = ENOENT;
        return -1;
    }
    uint32_t list = (uint32_t)(*v >> 32);
    struct flist *l = &f->lists[list];
    struct frec *r = (struct frec *)(l->arena + (uint32_t)*v);
    r->flags |= REC_DEAD;
    l->dead += rec_size(r);
    l->n--;
    f->subs--;
    f->preds -= r->n + ((r->flags & REC_PIVOT) != 0);
    scbr_idmap_del(&f->ids, id);
    if (2 * l->dead > l->used)
        compact(f, list);
    return 0;
}

/* Which orders (bit 0: less, 1: equal, 2: greater) satisfy each comparison operator: a
 * table instead of a switch, so that mixed operators cost no mispredicted branch. */
static const uint8_t accepts[] = {
    [SCBR_EQ] = 2, [SCBR_NE] = 5, [SCBR_LT] = 1, [SCBR_LE] = 3, [SCBR_GT] = 4, [SCBR_GE] = 6};

static inline bool pred_holds(const struct fast *f, const struct frec *r, const struct fpred *p)
{
    if (f->slot_stamp[p->attr] != f->stamp)
        return false;
    const struct scbr_value *have = f->slot[p->attr];
    if (p->op == SCBR_EXISTS)
        return true;
    /* Same-typed numbers, the common case, compare inline; the rest as the model says. */
    if (p->type == have->type && p->type != SCBR_STRING && p->op != SCBR_PREFIX) {
        int c = p->type == SCBR_INT ? (have->u.i > p->v.i) - (have->u.i < p->v.i)
                                    : (have->u.d > p->v.d) - (have->u.d < p->v.d);
        return accepts[p->op] >> (c + 1) & 1;
    }
    struct scbr_value want = {.type = (enum scbr_type)p->type};
    if (p->type == SCBR_STRING) {
        want.u.s.ptr = (const char *)(r->p + r->n) + p->v.s.off;
        want.u.s.len = p->v.s.len;
    } else if (p->type == SCBR_INT) {
        want.u.i = p->v.i;
    } else {
        want.u.d = p->v.d;
    }
    return scbr_op_holds((enum scbr_op)p->op, have, &want);
}

/* Room for every live record of the list is reserved first, so a candidate's id is stored
 * unconditionally and kept by adding its verdict to the count: no branch on the outcome. */
static int scan(const struct fast *f, struct scbr_mem *m, const struct flist *l,
                struct scbr_ids *out)
{
    if (scbr_mem_grow(m, (void **)&out->v, &out->cap, out->n + l->n + 1, sizeof *out->v))
        return -1;
    uint32_t *ids = out->v;
    size_t n = out->n;
    for (const unsigned char *at = l->arena, *end = at + l->used; at < end;) {
        const struct frec *r = (const struct frec *)at;
        at += rec_size(r);
        bool ok = !(r->flags & REC_DEAD);
        for (uint16_t i = 0; i < r->n && ok; i++)
            ok = pred_holds(f, r, &r->p[i]);
        ids[n] = r->id;
        n += ok;
    }
    out->n = n;
    return 0;
}

static int fast_match(void *e, struct scbr_mem *m, const struct scbr_pub *pub, struct scbr_ids *out)
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

const struct scbr_engine scbr_engine_fast = {"fast",      fast_create, fast_destroy, fast_insert,
                                             fast_remove, fast_match,  fast_stats};
