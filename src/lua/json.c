/* json.c -- the sandbox's `json` library: json.encode(v), json.decode(s) and json.null.
 *
 * encode writes JSON with the walk of encode.c: the same arrays and maps as the value encoding
 * (the empty table is `[]`), object members in key order, so a table has one JSON text.
 * decode is a recursive-descent parser of RFC 8259 JSON.
 *
 * Invariants (the input is the job's, so hostile):
 *  1. The parser reads s[0..n) only: every look goes through peek(), which sees the end.
 *  2. Nesting is limited to TLUA_DEPTH_MAX on both sides; the C stack stays small.
 *  3. Strings are UTF-8, both ways: invalid bytes and lone surrogates in \u escapes are refused,
 *     so what decode accepts encode can write back. Numbers out of the double range are refused.
 *  4. An error names the function, what was wrong and where ("json.decode: expected ':' at byte
 *     12"); decode raises it as a Lua error, encode after freeing its buffer.
 *  5. encode's output counts against the state's memory limit before it becomes a Lua string.
 *  6. Numbers are written and read in the C locale: cloister never calls setlocale. */
#include "lua/tlua_impl.h"

#include <lauxlib.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- UTF-8 ---- */

/* The length of the well-formed UTF-8 sequence at s[0..n), or 0 (RFC 3629: no overlong forms,
 * no surrogates, nothing past U+10FFFF). */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    if (s[0] < 0x80)
        return 1;
    size_t len = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 ? 2 : 0;
    if (len == 0 || len > n || s[0] > 0xf4)
        return 0;
    for (size_t i = 1; i < len; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] > 0x9f) ||
        (s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] > 0x8f))
        return 0;
    return len;
}

static bool utf8_valid(const char *s, size_t n)
{
    for (size_t i = 0, len; i < n; i += len)
        if ((len = utf8_seq((const unsigned char *)s + i, n - i)) == 0)
            return false;
    return true;
}

/* ---- encode ---- */

static void put_str(struct wire_writer *w, const char *s)
{
    wire_put_raw(w, s, strlen(s));
}

static void put_string(struct wire_writer *w, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    wire_put_u8(w, '"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *esc = c == '"'    ? "\\\""
                          : c == '\\' ? "\\\\"
                          : c == '\n' ? "\\n"
                          : c == '\r' ? "\\r"
                          : c == '\t' ? "\\t"
                                      : NULL;
        if (esc) {
            put_str(w, esc);
        } else if (c < 0x20) {
            char u[7] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15], 0};
            put_str(w, u);
        } else {
            wire_put_u8(w, c);
        }
    }
    wire_put_u8(w, '"');
}

/* The shortest of %.15g..%.17g that reads back as d, marked as a float ("1.0") so that decode
 * gives a float again. */
static void put_float(struct wire_writer *w, double d)
{
    char buf[40];
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, sizeof buf - 2, "%.*g", prec, d);
        if (strtod(buf, NULL) == d)
            break;
    }
    if (!strpbrk(buf, ".e"))
        strcat(buf, ".0");
    put_str(w, buf);
}

static const char *json_scalar(struct wire_writer *w, lua_State *L, int idx, bool key)
{
    int type = lua_type(L, idx);
    if (key && type != LUA_TSTRING)
        return "object keys must be strings";
    size_t n;
    const char *s;
    char buf[24];
    switch (type) {
    case LUA_TNIL: put_str(w, "null"); return NULL;
    case LUA_TLIGHTUSERDATA:
        if (lua_touserdata(L, idx) != NULL)
            break;
        put_str(w, "null");
        return NULL;
    case LUA_TBOOLEAN: put_str(w, lua_toboolean(L, idx) ? "true" : "false"); return NULL;
    case LUA_TNUMBER:
        if (lua_isinteger(L, idx)) {
            snprintf(buf, sizeof buf, LUA_INTEGER_FMT, lua_tointeger(L, idx));
            put_str(w, buf);
        } else if (isfinite(lua_tonumber(L, idx))) {
            put_float(w, lua_tonumber(L, idx));
        } else {
            return "NaN and infinity have no JSON form";
        }
        return NULL;
    case LUA_TSTRING:
        s = lua_tolstring(L, idx, &n);
        if (!utf8_valid(s, n))
            return "string is not valid UTF-8";
        put_string(w, s, n);
        return NULL;
    default: break;
    }
    return type == LUA_TFUNCTION ? "cannot encode a function value"
                                 : "cannot encode a value of this type";
}

static void json_open(struct wire_writer *w, bool map, size_t n)
{
    (void)n;
    wire_put_u8(w, map ? '{' : '[');
}

static void json_close(struct wire_writer *w, bool map)
{
    wire_put_u8(w, map ? '}' : ']');
}

static const struct tlua_format json_format = {
    .scalar = json_scalar,
    .open = json_open,
    .close = json_close,
    .item_sep = ",",
    .key_sep = ":",
};

static int push_text(lua_State *L)
{
    const struct wire_writer *w = lua_touserdata(L, 1);
    lua_pushlstring(L, (const char *)w->buf, w->len);
    return 1;
}

static int json_encode(lua_State *L)
{
    luaL_checkany(L, 1);
    lua_settop(L, 1);
    struct wire_writer w;
    wire_writer_init(&w);
    const char *why;
    enum tlua_enc rc = tlua_encode(L, 1, &json_format, &w, tlua_memory_left(L), &why);
    int status = LUA_OK;
    if (rc == TLUA_ENC_OK) {
        /* Copying the text into Lua may raise a memory error: catch it, free w, raise it again. */
        lua_pushcfunction(L, push_text);
        lua_pushlightuserdata(L, &w);
        status = lua_pcall(L, 1, 1, 0);
    }
    wire_writer_free(&w);
    if (status != LUA_OK)
        return lua_error(L);
    if (rc == TLUA_ENC_LIMIT)
        return luaL_error(L, "json.encode: the text would pass the Lua memory limit");
    if (rc == TLUA_ENC_BAD)
        return luaL_error(L, "json.encode: %s", why);
    return 1;
}

/* ---- decode ---- */

struct parser {
    lua_State *L;
    const char *s;
    size_t n, i;
};

static int parse_value(struct parser *p, int depth);

static int parse_error(struct parser *p, const char *what)
{
    return luaL_error(p->L, "json.decode: %s at byte %I", what, (lua_Integer)(p->i + 1));
}

/* The byte at i, or -1 at the end. */
static int peek(const struct parser *p)
{
    return p->i < p->n ? (unsigned char)p->s[p->i] : -1;
}

static void skip_space(struct parser *p)
{
    while (peek(p) == ' ' || peek(p) == '\t' || peek(p) == '\n' || peek(p) == '\r')
        p->i++;
}

static void expect(struct parser *p, int c, const char *what)
{
    skip_space(p);
    if (peek(p) != c)
        parse_error(p, what);
    p->i++;
}

static void parse_word(struct parser *p, const char *word)
{
    size_t len = strlen(word);
    if (p->n - p->i < len || memcmp(p->s + p->i, word, len) != 0)
        parse_error(p, "unexpected character");
    p->i += len;
}

static size_t digits(struct parser *p)
{
    size_t start = p->i;
    while (peek(p) >= '0' && peek(p) <= '9')
        p->i++;
    return p->i - start;
}

/* Number errors point at the number's first byte. */
static int number_error(struct parser *p, size_t start, const char *what)
{
    p->i = start;
    return parse_error(p, what);
}

/* RFC 8259 number grammar first, then Lua's own conversion of the checked text: an integer
 * when it is written as one and fits, else a float. */
static int parse_number(struct parser *p)
{
    size_t start = p->i;
    if (peek(p) == '-')
        p->i++;
    size_t whole = digits(p);
    if (whole == 0 || (whole > 1 && p->s[p->i - whole] == '0'))
        return number_error(p, start, "bad number");
    if (peek(p) == '.') {
        p->i++;
        if (digits(p) == 0)
            return number_error(p, start, "bad number");
    }
    if (peek(p) == 'e' || peek(p) == 'E') {
        p->i++;
        if (peek(p) == '+' || peek(p) == '-')
            p->i++;
        if (digits(p) == 0)
            return number_error(p, start, "bad number");
    }
    char buf[128];
    size_t len = p->i - start;
    if (len >= sizeof buf)
        return number_error(p, start, "number too long");
    memcpy(buf, p->s + start, len);
    buf[len] = 0;
    if (lua_stringtonumber(p->L, buf) == 0 ||
        (!lua_isinteger(p->L, -1) && !isfinite(lua_tonumber(p->L, -1))))
        return number_error(p, start, "number out of range");
    return 1;
}

static int hex4(struct parser *p)
{
    int v = 0;
    for (int k = 0; k < 4; k++, p->i++) {
        int c = peek(p), d = c >= '0' && c <= '9'   ? c - '0'
                             : c >= 'a' && c <= 'f' ? c - 'a' + 10
                             : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                                    : -1;
        if (d < 0)
            return parse_error(p, "bad \\u escape");
        v = v << 4 | d;
    }
    return v;
}

static void add_utf8(luaL_Buffer *b, unsigned long cp)
{
    char u[4];
    size_t n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    static const unsigned char lead[] = {0, 0, 0xc0, 0xe0, 0xf0};
    for (size_t k = n - 1; k > 0; k--, cp >>= 6)
        u[k] = (char)(0x80 | (cp & 0x3f));
    u[0] = (char)(lead[n] | cp);
    luaL_addlstring(b, u, n);
}

/* After "\u": one code point, from a surrogate pair when it takes two escapes. */
static unsigned long parse_code_point(struct parser *p)
{
    unsigned long cp = (unsigned long)hex4(p);
    if (cp >= 0xdc00 && cp <= 0xdfff)
        parse_error(p, "lone surrogate in \\u escape");
    if (cp < 0xd800 || cp > 0xdbff)
        return cp;
    if (p->n - p->i < 2 || p->s[p->i] != '\\' || p->s[p->i + 1] != 'u')
        parse_error(p, "lone surrogate in \\u escape");
    p->i += 2;
    unsigned long lo = (unsigned long)hex4(p);
    if (lo < 0xdc00 || lo > 0xdfff)
        parse_error(p, "lone surrogate in \\u escape");
    return 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
}

static void parse_escape(struct parser *p, luaL_Buffer *b)
{
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    int c = peek(p);
    const char *hit = c > 0 ? strchr(from, c) : NULL;
    p->i++;
    if (c == 'u')
        add_utf8(b, parse_code_point(p));
    else if (hit)
        luaL_addchar(b, to[hit - from]);
    else
        parse_error(p, "bad escape");
}

/* After the opening quote. Runs of plain bytes are copied whole; the result must be UTF-8. */
static int parse_string(struct parser *p)
{
    luaL_Buffer b;
    luaL_buffinit(p->L, &b);
    for (;;) {
        size_t run = p->i;
        while (peek(p) >= 0x20 && peek(p) != '"' && peek(p) != '\\')
            p->i++;
        luaL_addlstring(&b, p->s + run, p->i - run);
        int c = peek(p);
        if (c == '"')
            break;
        if (c != '\\')
            parse_error(p, c < 0 ? "unterminated string" : "control character in string");
        p->i++;
        parse_escape(p, &b);
    }
    p->i++;
    luaL_pushresult(&b);
    size_t n;
    const char *s = lua_tolstring(p->L, -1, &n);
    if (!utf8_valid(s, n))
        return parse_error(p, "string is not valid UTF-8");
    return 1;
}

/* The items of an array or the members of an object, after its opening bracket. */
static int parse_items(struct parser *p, int depth, bool object)
{
    int close = object ? '}' : ']';
    lua_newtable(p->L);
    skip_space(p);
    if (peek(p) == close) {
        p->i++;
        return 1;
    }
    for (lua_Integer i = 1;; i++) {
        if (object) {
            expect(p, '"', "expected a string key");
            parse_string(p);
            expect(p, ':', "expected ':'");
        }
        parse_value(p, depth + 1);
        if (object)
            lua_rawset(p->L, -3);
        else
            lua_rawseti(p->L, -2, i);
        skip_space(p);
        if (peek(p) == close)
            break;
        expect(p, ',', object ? "expected ',' or '}'" : "expected ',' or ']'");
    }
    p->i++;
    return 1;
}

static int parse_value(struct parser *p, int depth)
{
    skip_space(p);
    int c = peek(p);
    if (c == '[' || c == '{') {
        if (depth == TLUA_DEPTH_MAX)
            return parse_error(p, "nested deeper than 64");
        luaL_checkstack(p->L, 3, "json.decode: nested too deep");
        p->i++;
        return parse_items(p, depth, c == '{');
    }
    switch (c) {
    case '"': p->i++; return parse_string(p);
    case 't':
    case 'f':
        parse_word(p, c == 't' ? "true" : "false");
        lua_pushboolean(p->L, c == 't');
        return 1;
    case 'n':
        parse_word(p, "null");
        lua_pushlightuserdata(p->L, NULL);
        return 1;
    case -1: return parse_error(p, "unexpected end of input");
    default:
        if (c == '-' || (c >= '0' && c <= '9'))
            return parse_number(p);
        return parse_error(p, "unexpected character");
    }
}

static int json_decode(lua_State *L)
{
    struct parser p = {.L = L};
    p.s = luaL_checklstring(L, 1, &p.n);
    parse_value(&p, 0);
    skip_space(&p);
    if (p.i != p.n)
        return parse_error(&p, "trailing characters");
    return 1;
}

int tlua_open_json(lua_State *L)
{
    static const luaL_Reg funcs[] = {{"encode", json_encode},
                                     {"decode", json_decode},
                                     {NULL, NULL}};
    luaL_newlib(L, funcs);
    lua_pushlightuserdata(L, NULL);
    lua_setfield(L, -2, "null");
    return 1;
}
