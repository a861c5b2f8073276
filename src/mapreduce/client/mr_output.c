/* mr_output.c -- results as JSON Lines ({"key": k, "value": v} per line) or CSV (key,value),
 * sorted by key: null and booleans first, then numbers by value, then strings by their bytes,
 * then tables by their encoding. Floats are written with the fewest digits that read back
 * exactly (as the sandbox's json.encode does); NaN and infinities as null. Written atomically. */
#include "mapreduce/client/mr_client.h"

#include "lua/lua_sandbox.h"
#include "util/fileio.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { T_NIL, T_FALSE, T_TRUE, T_INT, T_FLOAT, T_STR, T_ARRAY, T_MAP, T_NULL };

static int64_t unzig(uint64_t z)
{
    return (int64_t)(z >> 1) ^ -(int64_t)(z & 1);
}

static double get_float(struct wire_reader *r)
{
    uint64_t u = wire_get_u64(r);
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

static void put_text(struct wire_writer *w, const char *s)
{
    wire_put_raw(w, s, strlen(s));
}

static void put_float(struct wire_writer *w, double d)
{
    char buf[40];
    if (!isfinite(d)) {
        put_text(w, "null");
        return;
    }
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, d);
        if (strtod(buf, NULL) == d)
            break;
    }
    put_text(w, buf);
    if (!strpbrk(buf, ".eEn"))
        put_text(w, ".0");
}

static void put_json_string(struct wire_writer *w, const uint8_t *s, size_t len)
{
    wire_put_u8(w, '"');
    for (size_t i = 0; i < len; i++) {
        uint8_t c = s[i];
        if (c == '"' || c == '\\') {
            wire_put_u8(w, '\\');
            wire_put_u8(w, c);
        } else if (c < 0x20) {
            char esc[8];
            snprintf(esc, sizeof esc, "\\u%04x", c);
            put_text(w, esc);
        } else {
            wire_put_u8(w, c);
        }
    }
    wire_put_u8(w, '"');
}

/* A map key as a JSON string. */
static int key_json(struct wire_reader *r, struct wire_writer *out)
{
    struct wire_writer k;
    wire_writer_init(&k);
    int rc = mr_value_json(r, &k, TLUA_DEPTH_MAX);
    if (rc == 0 && k.len > 0 && k.buf[0] == '"')
        wire_put_raw(out, k.buf, k.len);
    else if (rc == 0)
        put_json_string(out, k.buf, k.len);
    wire_writer_free(&k);
    return rc;
}

int mr_value_json(struct wire_reader *r, struct wire_writer *out, int depth)
{
    char buf[32];
    size_t len;
    uint8_t tag = wire_get_u8(r);
    if (depth < 0)
        return -1;
    switch (tag) {
    case T_NIL:
    case T_NULL: put_text(out, "null"); break;
    case T_FALSE:
    case T_TRUE: put_text(out, tag == T_TRUE ? "true" : "false"); break;
    case T_INT:
        snprintf(buf, sizeof buf, "%lld", (long long)unzig(wire_get_varint(r)));
        put_text(out, buf);
        break;
    case T_FLOAT: put_float(out, get_float(r)); break;
    case T_STR: {
        const uint8_t *s = wire_get_bytes(r, SIZE_MAX, &len);
        put_json_string(out, s ? s : (const uint8_t *)"", s ? len : 0);
        break;
    }
    case T_ARRAY:
    case T_MAP: {
        size_t n = wire_get_count(r, tag == T_MAP ? 2 : 1, SIZE_MAX);
        wire_put_u8(out, tag == T_MAP ? '{' : '[');
        for (size_t i = 0; i < n && wire_reader_ok(r); i++) {
            if (i > 0)
                wire_put_u8(out, ',');
            if (tag == T_MAP && (key_json(r, out) != 0 || (wire_put_u8(out, ':'), 0)))
                return -1;
            if (mr_value_json(r, out, depth - 1) != 0)
                return -1;
        }
        wire_put_u8(out, tag == T_MAP ? '}' : ']');
        break;
    }
    default: wire_reader_fail(r, "unknown value tag");
    }
    return wire_reader_ok(r) && wire_writer_ok(out) ? 0 : -1;
}

void mr_put_kv(struct wire_writer *w, const uint8_t *k, size_t klen, const uint8_t *v, size_t vlen)
{
    wire_put_u8(w, T_MAP);
    wire_put_varint(w, 2);
    tlua_put_str(w, "key", 3);
    wire_put_raw(w, k, klen);
    tlua_put_str(w, "value", 5);
    wire_put_raw(w, v, vlen);
}

struct line {
    const uint8_t *k, *v;
    size_t klen, vlen;
};

static int rank(uint8_t tag)
{
    static const int ranks[] = {
        [T_NIL] = 0,   [T_NULL] = 0, [T_FALSE] = 1, [T_TRUE] = 2, [T_INT] = 3,
        [T_FLOAT] = 3, [T_STR] = 4,  [T_ARRAY] = 5, [T_MAP] = 5};
    return tag <= T_NULL ? ranks[tag] : 6;
}

static double number(const uint8_t *k, size_t len)
{
    struct wire_reader r;
    wire_reader_init(&r, k + 1, len - 1);
    return k[0] == T_INT ? (double)unzig(wire_get_varint(&r)) : get_float(&r);
}

static int bytes_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    return c ? c : (alen > blen) - (alen < blen);
}

static int line_cmp(const void *pa, const void *pb)
{
    const struct line *a = pa, *b = pb;
    int ra = rank(a->k[0]), rb = rank(b->k[0]);
    if (ra != rb)
        return ra - rb;
    if (ra == 3) {
        double x = number(a->k, a->klen), y = number(b->k, b->klen);
        if (x != y)
            return x < y ? -1 : 1;
    }
    if (ra == 4) {
        struct wire_reader x, y;
        size_t xl, yl;
        wire_reader_init(&x, a->k + 1, a->klen - 1);
        wire_reader_init(&y, b->k + 1, b->klen - 1);
        const uint8_t *xs = wire_get_bytes(&x, SIZE_MAX, &xl),
                      *ys = wire_get_bytes(&y, SIZE_MAX, &yl);
        return bytes_cmp(xs, xl, ys, yl);
    }
    return bytes_cmp(a->k, a->klen, b->k, b->klen);
}

/* A CSV field: JSON text of the value, strings unquoted unless they need CSV quotes. */
static int csv_field(struct wire_writer *out, const uint8_t *v, size_t len)
{
    struct wire_reader r;
    wire_reader_init(&r, v, len);
    if (v[0] == T_STR) {
        size_t n;
        wire_get_u8(&r);
        const uint8_t *s = wire_get_bytes(&r, SIZE_MAX, &n);
        bool quote = n == 0 || memchr(s, ',', n) || memchr(s, '"', n) || memchr(s, '\n', n) ||
                     memchr(s, '\r', n);
        if (!quote) {
            wire_put_raw(out, s, n);
            return 0;
        }
        wire_put_u8(out, '"');
        for (size_t i = 0; i < n; i++) {
            if (s[i] == '"')
                wire_put_u8(out, '"');
            wire_put_u8(out, s[i]);
        }
        wire_put_u8(out, '"');
        return 0;
    }
    struct wire_writer j;
    wire_writer_init(&j);
    int rc = mr_value_json(&r, &j, TLUA_DEPTH_MAX);
    if (rc == 0 && memchr(j.buf, ',', j.len)) {
        wire_put_u8(out, '"');
        for (size_t i = 0; i < j.len; i++) {
            if (j.buf[i] == '"')
                wire_put_u8(out, '"');
            wire_put_u8(out, j.buf[i]);
        }
        wire_put_u8(out, '"');
    } else if (rc == 0) {
        wire_put_raw(out, j.buf, j.len);
    }
    wire_writer_free(&j);
    return rc;
}

static int put_line(struct wire_writer *out, const struct line *l, bool csv)
{
    struct wire_reader r;
    int rc;
    if (csv) {
        rc = csv_field(out, l->k, l->klen);
        wire_put_u8(out, ',');
        if (rc == 0)
            rc = csv_field(out, l->v, l->vlen);
    } else {
        put_text(out, "{\"key\":");
        wire_reader_init(&r, l->k, l->klen);
        rc = mr_value_json(&r, out, TLUA_DEPTH_MAX);
        put_text(out, ",\"value\":");
        wire_reader_init(&r, l->v, l->vlen);
        if (rc == 0)
            rc = mr_value_json(&r, out, TLUA_DEPTH_MAX);
        wire_put_u8(out, '}');
    }
    wire_put_u8(out, '\n');
    return rc;
}

int mr_output_write(const char *path, const uint8_t *pairs, size_t len, bool csv,
                    uint64_t *nresults, struct cloister_err *err)
{
    struct wire_reader r;
    struct line *lines = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    wire_reader_init(&r, pairs, len);
    while (rc == 0 && wire_reader_remaining(&r) > 0) {
        struct line l;
        l.k = tlua_value_next(&r, &l.klen);
        l.v = tlua_value_next(&r, &l.vlen);
        if (!l.k || !l.v)
            rc = cloister_errf(err, CLOISTER_E_PROTOCOL, "malformed results");
        else if (n == cap) {
            cap = cap ? 2 * cap : 1024;
            struct line *p = realloc(lines, cap * sizeof *p);
            if (!p)
                rc = cloister_errf(err, CLOISTER_E_NO_MEMORY, "no memory for the results");
            else
                lines = p;
        }
        if (rc == 0)
            lines[n++] = l;
    }
    if (rc == 0 && n > 1)
        qsort(lines, n, sizeof *lines, line_cmp);
    struct wire_writer out;
    wire_writer_init(&out);
    if (rc == 0 && csv)
        put_text(&out, "key,value\n");
    for (size_t i = 0; rc == 0 && i < n; i++)
        if (put_line(&out, &lines[i], csv) != 0)
            rc = cloister_errf(err, CLOISTER_E_PROTOCOL, "results not representable");
    if (rc == 0 && !wire_writer_ok(&out))
        rc = cloister_errf(err, CLOISTER_E_NO_MEMORY, "no memory for the output");
    if (rc == 0 && file_write_atomic(path, out.buf, out.len, 0644) != 0)
        rc = cloister_errf(err, CLOISTER_E_SYSTEM, "cannot write %s: %s", path, strerror(errno));
    *nresults = n;
    wire_writer_free(&out);
    free(lines);
    return rc;
}
