/* value.c -- the value encoding (lua_sandbox.h): the format the walk of encode.c writes, and its
 * one decoder, which pushes Lua values or, without a state, only checks.
 *
 * Invariants:
 *  1. The decoder reads only through the wire reader (bounds-checked; counts are checked against
 *     the bytes left before anything is allocated for them) and never reads past its buffer.
 *  2. It accepts exactly what the encoder writes: minimal varints, one NaN, map keys in strictly
 *     increasing order, no map that should have been an array, no float key that Lua would store
 *     as an integer, no nil inside a table. So decode-then-encode gives back the same bytes, and
 *     checking a value (tlua_value_next) and pushing it accept the same inputs.
 *  3. Tables nest at most TLUA_DEPTH_MAX deep, on both sides. */
#include "lua/tlua_impl.h"

#include <lauxlib.h>

#include <math.h>
#include <string.h>

enum tag {
    TAG_NIL,
    TAG_FALSE,
    TAG_TRUE,
    TAG_INT,
    TAG_FLOAT,
    TAG_STR,
    TAG_ARRAY,
    TAG_MAP,
    TAG_NULL,
};

#define NAN_BITS 0x7ff8000000000000ull

void tlua_put_str(struct wire_writer *w, const void *s, size_t len)
{
    wire_put_u8(w, TAG_STR);
    wire_put_bytes(w, s, len);
}

void tlua_put_int(struct wire_writer *w, int64_t v)
{
    wire_put_u8(w, TAG_INT);
    /* zigzag: small negative numbers stay short */
    wire_put_varint(w, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

static void put_float(struct wire_writer *w, double d)
{
    uint64_t bits = NAN_BITS;
    if (!isnan(d))
        memcpy(&bits, &d, sizeof bits);
    wire_put_u8(w, TAG_FLOAT);
    wire_put_u64(w, bits);
}

void tlua_put_array(struct wire_writer *w, size_t n)
{
    wire_put_u8(w, TAG_ARRAY);
    wire_put_varint(w, n);
}

static const char *value_scalar(struct wire_writer *w, lua_State *L, int idx, bool key)
{
    size_t len;
    const char *s;
    switch (lua_type(L, idx)) {
    case LUA_TBOOLEAN: wire_put_u8(w, lua_toboolean(L, idx) ? TAG_TRUE : TAG_FALSE); return NULL;
    case LUA_TNUMBER:
        if (lua_isinteger(L, idx))
            tlua_put_int(w, lua_tointeger(L, idx));
        else
            put_float(w, lua_tonumber(L, idx));
        return NULL;
    case LUA_TSTRING:
        s = lua_tolstring(L, idx, &len);
        tlua_put_str(w, s, len);
        return NULL;
    default: break;
    }
    if (key)
        return "table keys must be strings, numbers or booleans";
    if (lua_isnil(L, idx)) {
        wire_put_u8(w, TAG_NIL); /* only at the top: tables hold no nil */
        return NULL;
    }
    if (lua_islightuserdata(L, idx) && lua_touserdata(L, idx) == NULL) {
        wire_put_u8(w, TAG_NULL);
        return NULL;
    }
    return lua_type(L, idx) == LUA_TFUNCTION ? "cannot encode a function value"
                                             : "cannot encode a value of this type";
}

static void value_open(struct wire_writer *w, bool map, size_t n)
{
    if (map) {
        wire_put_u8(w, TAG_MAP);
        wire_put_varint(w, n);
    } else {
        tlua_put_array(w, n);
    }
}

static void value_close(struct wire_writer *w, bool map)
{
    (void)w;
    (void)map;
}

const struct tlua_format tlua_value_format = {
    .scalar = value_scalar,
    .open = value_open,
    .close = value_close,
    .item_sep = "",
    .key_sep = "",
};

/* ---- decoding ---- */

static bool fail(struct wire_reader *r, const char *why)
{
    if (wire_reader_ok(r))
        wire_reader_fail(r, why);
    return false;
}

/* Reads the payload of a boolean, number or string tag (pushing it when L is given); false
 * for any other tag. *num gets the number, for the checks on map keys. */
static bool read_scalar(struct wire_reader *r, lua_State *L, uint8_t tag, double *num)
{
    uint64_t u;
    int64_t i;
    size_t len;
    const uint8_t *s;
    switch (tag) {
    case TAG_FALSE:
    case TAG_TRUE:
        if (L)
            lua_pushboolean(L, tag == TAG_TRUE);
        return true;
    case TAG_INT:
        u = wire_get_varint(r);
        i = (int64_t)((u >> 1) ^ (0 - (u & 1)));
        *num = (double)i;
        if (L)
            lua_pushinteger(L, (lua_Integer)i);
        return true;
    case TAG_FLOAT:
        u = wire_get_u64(r);
        memcpy(num, &u, sizeof u);
        if (isnan(*num) && u != NAN_BITS)
            fail(r, "NaN not in its one encoding");
        if (L)
            lua_pushnumber(L, *num);
        return true;
    case TAG_STR:
        s = wire_get_bytes(r, SIZE_MAX, &len);
        if (L && s)
            lua_pushlstring(L, (const char *)s, len);
        return true;
    default: return false;
    }
}

/* Lua turns a float key with an integral value into an integer key, and refuses NaN: the
 * encoder can write neither. */
static bool float_key_ok(double d)
{
    return !isnan(d) && !(d == floor(d) && d >= -0x1p63 && d < 0x1p63);
}

static bool read_key(struct wire_reader *r, lua_State *L, size_t n, size_t *in_range)
{
    uint8_t tag = wire_get_u8(r);
    double num = 0;
    if (!wire_reader_ok(r))
        return false;
    if (!read_scalar(r, L, tag, &num))
        return fail(r, "map key is not a string, number or boolean");
    if (tag == TAG_FLOAT && !float_key_ok(num))
        return fail(r, "map key is a float Lua stores as an integer, or NaN");
    if (tag == TAG_INT && num >= 1 && num <= (double)n)
        (*in_range)++;
    return wire_reader_ok(r);
}

static int span_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    return c ? c : (alen > blen) - (alen < blen);
}

static bool read_map(struct wire_reader *r, lua_State *L, int depth)
{
    size_t n = wire_get_count(r, 2, SIZE_MAX), in_range = 0, prevlen = 0;
    const uint8_t *prev = NULL;
    if (wire_reader_ok(r) && n == 0)
        return fail(r, "empty map (the empty table is an array)");
    if (L && wire_reader_ok(r))
        lua_createtable(L, 0, (int)(n < INT32_MAX ? n : INT32_MAX));
    for (size_t i = 0; i < n && wire_reader_ok(r); i++) {
        size_t start = r->off;
        if (!read_key(r, L, n, &in_range))
            break;
        const uint8_t *key = r->buf + start;
        size_t keylen = r->off - start;
        if (prev && span_cmp(prev, prevlen, key, keylen) >= 0)
            return fail(r, "map keys not in increasing order");
        prev = key, prevlen = keylen;
        if (tlua_value_read(r, L, depth + 1) && L)
            lua_rawset(L, -3);
    }
    if (wire_reader_ok(r) && in_range == n)
        return fail(r, "map with keys 1..n (that table is an array)");
    return wire_reader_ok(r);
}

static bool read_array(struct wire_reader *r, lua_State *L, int depth)
{
    size_t n = wire_get_count(r, 1, SIZE_MAX);
    if (L && wire_reader_ok(r))
        lua_createtable(L, (int)(n < INT32_MAX ? n : INT32_MAX), 0);
    for (size_t i = 1; i <= n && tlua_value_read(r, L, depth + 1); i++)
        if (L)
            lua_rawseti(L, -2, (lua_Integer)i);
    return wire_reader_ok(r);
}

bool tlua_value_read(struct wire_reader *r, lua_State *L, int depth)
{
    uint8_t tag = wire_get_u8(r);
    double num;
    if (!wire_reader_ok(r))
        return false;
    if (read_scalar(r, L, tag, &num))
        return wire_reader_ok(r);
    if ((tag == TAG_ARRAY || tag == TAG_MAP) && depth == TLUA_DEPTH_MAX)
        return fail(r, "tables nested deeper than 64");
    if (L)
        luaL_checkstack(L, 3, "values nested too deep");
    switch (tag) {
    case TAG_NIL:
        if (depth > 0)
            return fail(r, "nil inside a table");
        if (L)
            lua_pushnil(L);
        return true;
    case TAG_NULL:
        if (L)
            lua_pushlightuserdata(L, NULL); /* json.null */
        return true;
    case TAG_ARRAY: return read_array(r, L, depth);
    case TAG_MAP: return read_map(r, L, depth);
    default: return fail(r, "unknown value tag");
    }
}

const uint8_t *tlua_value_next(struct wire_reader *r, size_t *len)
{
    size_t start = r->off;
    if (!tlua_value_read(r, NULL, 0))
        return NULL;
    *len = r->off - start;
    return r->buf + start;
}
