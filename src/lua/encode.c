/* encode.c -- the walk from a Lua value to bytes, shared by the value encoding (value.c) and
 * JSON (json.c); see tlua_impl.h.
 *
 * Invariants:
 *  1. Nothing here raises a Lua error or runs Lua code: raw access only (no metamethods), no
 *     number-to-string conversion in place (it would break `next`), lua_checkstack before each
 *     level. What is allocated with malloc is freed on every path.
 *  2. Tables nest at most TLUA_DEPTH_MAX deep, which also ends a walk round a cycle.
 *  3. After each item the output is checked against the caller's limit, so a small table that
 *     refers to one large string a million times stops at the limit, not at a gigabyte.
 *  4. Map entries are encoded in `next` order into the output, then permuted into the order of
 *     their encoded keys: canonical bytes without encoding any key twice. */
#include "lua/tlua_impl.h"

#include <stdlib.h>
#include <string.h>

struct walk {
    lua_State *L;
    const struct tlua_format *f;
    struct wire_writer *w;
    size_t limit;
    const char *why;
};

struct entry {
    size_t off, keylen, len; /* within the map's region of the output */
};

static enum tlua_enc walk_value(struct walk *k, int idx, int depth, bool key);

static enum tlua_enc bad(struct walk *k, const char *why)
{
    k->why = why;
    return TLUA_ENC_BAD;
}

static enum tlua_enc check(struct walk *k)
{
    if (!wire_writer_ok(k->w))
        return bad(k, "out of memory for the output");
    return k->w->len > k->limit ? TLUA_ENC_LIMIT : TLUA_ENC_OK;
}

/* Counts the entries of table t into *n; true when its keys are exactly 1..n. */
static bool is_array(lua_State *L, int t, size_t *n)
{
    size_t count = 0, positive = 0;
    lua_Integer max = 0;
    lua_pushnil(L);
    while (lua_next(L, t)) {
        count++;
        if (lua_isinteger(L, -2) && lua_tointeger(L, -2) >= 1) {
            positive++;
            if (lua_tointeger(L, -2) > max)
                max = lua_tointeger(L, -2);
        }
        lua_pop(L, 1);
    }
    *n = count;
    /* count distinct keys, all integers >= 1, the largest count: exactly 1..count. */
    return positive == count && (size_t)max == count;
}

static void put_sep(struct wire_writer *w, const char *sep)
{
    wire_put_raw(w, sep, strlen(sep));
}

static enum tlua_enc walk_array(struct walk *k, int t, size_t n, int depth)
{
    enum tlua_enc rc = TLUA_ENC_OK;
    for (size_t i = 1; i <= n && rc == TLUA_ENC_OK; i++) {
        if (i > 1)
            put_sep(k->w, k->f->item_sep);
        lua_rawgeti(k->L, t, (lua_Integer)i);
        rc = walk_value(k, lua_gettop(k->L), depth + 1, false);
        lua_pop(k->L, 1);
    }
    return rc;
}

static int entry_cmp(const void *a, const void *b, void *base)
{
    const struct entry *x = a, *y = b;
    const uint8_t *p = base;
    int c = memcmp(p + x->off, p + y->off, x->keylen < y->keylen ? x->keylen : y->keylen);
    return c ? c : (x->keylen > y->keylen) - (x->keylen < y->keylen);
}

/* Rewrites the n entries after region in the order of their keys, with the item separator. */
static enum tlua_enc sort_entries(struct walk *k, size_t region, struct entry *e, size_t n)
{
    size_t len = k->w->len - region;
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy)
        return bad(k, "out of memory for the output");
    memcpy(copy, k->w->buf + region, len);
    qsort_r(e, n, sizeof *e, entry_cmp, copy);
    k->w->len = region;
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            put_sep(k->w, k->f->item_sep);
        wire_put_raw(k->w, copy + e[i].off, e[i].len);
    }
    explicit_bzero(copy, len); /* job data: the enclave's heap keeps no stray copies */
    free(copy);
    return check(k);
}

static enum tlua_enc walk_map(struct walk *k, int t, size_t n, int depth)
{
    struct entry *e = malloc(n * sizeof *e);
    if (!e)
        return bad(k, "out of memory for the output");
    size_t region = k->w->len, i = 0;
    enum tlua_enc rc = TLUA_ENC_OK;
    lua_pushnil(k->L);
    /* is_array counted n entries just before, and no Lua code runs here: next visits n. */
    while (rc == TLUA_ENC_OK && lua_next(k->L, t)) {
        int top = lua_gettop(k->L);
        size_t off = k->w->len;
        rc = walk_value(k, top - 1, depth + 1, true);
        size_t keylen = k->w->len - off;
        put_sep(k->w, k->f->key_sep);
        if (rc == TLUA_ENC_OK)
            rc = walk_value(k, top, depth + 1, false);
        e[i++] = (struct entry){off - region, keylen, k->w->len - off};
        lua_pop(k->L, rc == TLUA_ENC_OK ? 1 : 2); /* keep the key for next, unless we stop */
    }
    if (rc == TLUA_ENC_OK)
        rc = sort_entries(k, region, e, i);
    free(e);
    return rc;
}

static enum tlua_enc walk_table(struct walk *k, int t, int depth)
{
    if (depth == TLUA_DEPTH_MAX)
        return bad(k, "tables nested deeper than 64 (a cycle?)");
    if (!lua_checkstack(k->L, 4))
        return bad(k, "out of Lua stack");
    size_t n;
    bool array = is_array(k->L, t, &n);
    k->f->open(k->w, !array, n);
    enum tlua_enc rc = array ? walk_array(k, t, n, depth) : walk_map(k, t, n, depth);
    if (rc == TLUA_ENC_OK)
        k->f->close(k->w, !array);
    return rc;
}

static enum tlua_enc walk_value(struct walk *k, int idx, int depth, bool key)
{
    if (!key && lua_type(k->L, idx) == LUA_TTABLE) {
        enum tlua_enc rc = walk_table(k, idx, depth);
        return rc == TLUA_ENC_OK ? check(k) : rc;
    }
    const char *why = k->f->scalar(k->w, k->L, idx, key);
    return why ? bad(k, why) : check(k);
}

enum tlua_enc tlua_encode(lua_State *L, int idx, const struct tlua_format *f, struct wire_writer *w,
                          size_t limit, const char **why)
{
    struct walk k = {.L = L, .f = f, .w = w, .limit = limit, .why = NULL};
    enum tlua_enc rc = walk_value(&k, lua_absindex(L, idx), 0, false);
    *why = k.why;
    return rc;
}
