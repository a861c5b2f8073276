/* wire.c -- see wire.h for the format. Every read goes through take(), the single place that
 * checks bounds, so no decoder can read past its buffer. */
#include <cloister/wire.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

void wire_writer_init(struct wire_writer *w)
{
    memset(w, 0, sizeof *w);
}

void wire_writer_init_fixed(struct wire_writer *w, uint8_t *buf, size_t cap)
{
    *w = (struct wire_writer){.buf = buf, .cap = cap, .fixed = true};
}

bool wire_writer_ok(const struct wire_writer *w)
{
    return !w->failed;
}

uint8_t *wire_writer_grow(struct wire_writer *w, size_t n)
{
    if (w->failed)
        return NULL;
    if (n > w->cap - w->len) {
        size_t need = w->len + n, cap = w->cap ? w->cap : 64;
        while (cap < need && cap <= SIZE_MAX / 2)
            cap *= 2;
        uint8_t *grown = (w->fixed || cap < need || need < n) ? NULL : malloc(cap);
        if (!grown) {
            w->failed = true;
            return NULL;
        }
        /* Copy-and-wipe rather than realloc: the old buffer may hold key material. */
        if (w->len)
            memcpy(grown, w->buf, w->len);
        if (w->buf)
            OPENSSL_clear_free(w->buf, w->cap);
        w->buf = grown;
        w->cap = cap;
    }
    return w->buf + w->len;
}

uint8_t *wire_writer_take(struct wire_writer *w, size_t *len)
{
    uint8_t *buf = w->buf;
    *len = w->len;
    memset(w, 0, sizeof *w);
    return buf;
}

void wire_writer_free(struct wire_writer *w)
{
    if (!w->fixed && w->buf)
        OPENSSL_clear_free(w->buf, w->cap);
    memset(w, 0, sizeof *w);
}

int wire_writer_finish(struct wire_writer *w, uint8_t **out, size_t *len)
{
    if (!wire_writer_ok(w)) {
        wire_writer_free(w);
        return -1;
    }
    *out = wire_writer_take(w, len);
    return 0;
}

void wire_put_raw(struct wire_writer *w, const void *p, size_t n)
{
    uint8_t *dst = wire_writer_reserve(w, n);
    if (dst && n) {
        memcpy(dst, p, n);
        w->len += n;
    }
}

/* Small fields are written straight into reserved space: no memcpy call per integer. */
static void put_be(struct wire_writer *w, uint64_t v, int bytes)
{
    uint8_t *dst = wire_writer_reserve(w, (size_t)bytes);
    if (!dst)
        return;
    for (int i = 0; i < bytes; i++)
        dst[i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
    w->len += (size_t)bytes;
}

void wire_put_u8(struct wire_writer *w, uint8_t v)
{
    put_be(w, v, 1);
}
void wire_put_u16(struct wire_writer *w, uint16_t v)
{
    put_be(w, v, 2);
}
void wire_put_u32(struct wire_writer *w, uint32_t v)
{
    put_be(w, v, 4);
}
void wire_put_u64(struct wire_writer *w, uint64_t v)
{
    put_be(w, v, 8);
}

static size_t varint_len(uint64_t v)
{
    return v ? (size_t)(64 - __builtin_clzll(v) + 6) / 7 : 1;
}

void wire_put_varint_long(struct wire_writer *w, uint64_t v)
{
    size_t n = varint_len(v);
    uint8_t *dst = wire_writer_reserve(w, n);
    if (!dst)
        return;
    for (size_t i = 0; i + 1 < n; i++, v >>= 7)
        dst[i] = (uint8_t)(v | 0x80);
    dst[n - 1] = (uint8_t)v;
    w->len += n;
}

void wire_put_bytes(struct wire_writer *w, const void *p, size_t n)
{
    wire_put_varint(w, n);
    wire_put_raw(w, p, n);
}

void wire_put_str(struct wire_writer *w, const char *s)
{
    wire_put_bytes(w, s, strlen(s));
}

void wire_put_header(struct wire_writer *w, const char magic[WIRE_MAGIC_LEN], uint16_t version)
{
    uint8_t *dst = wire_writer_reserve(w, WIRE_HEADER_LEN);
    if (!dst)
        return;
    memcpy(dst, magic, WIRE_MAGIC_LEN);
    dst[4] = (uint8_t)(version >> 8);
    dst[5] = (uint8_t)version;
    w->len += WIRE_HEADER_LEN;
}

void wire_reader_init(struct wire_reader *r, const void *buf, size_t len)
{
    *r = (struct wire_reader){.buf = buf, .len = len};
}

bool wire_reader_ok(const struct wire_reader *r)
{
    return r->error == NULL;
}

size_t wire_reader_remaining(const struct wire_reader *r)
{
    return r->error ? 0 : r->len - r->off;
}

void wire_reader_fail(struct wire_reader *r, const char *error)
{
    if (!r->error) {
        r->error = error;
        r->error_off = r->off;
    }
}

int wire_reader_finish(struct wire_reader *r)
{
    if (!r->error && r->off != r->len)
        wire_reader_fail(r, "trailing bytes after the message");
    return r->error ? -1 : 0;
}

const char *wire_reader_error(const struct wire_reader *r)
{
    static _Thread_local char msg[96];
    if (!r->error)
        return "ok";
    snprintf(msg, sizeof msg, "offset %zu: %s", r->error_off, r->error);
    return msg;
}

static const uint8_t *take(struct wire_reader *r, size_t n)
{
    if (r->error)
        return NULL;
    if (n > r->len - r->off) {
        wire_reader_fail(r, "truncated input");
        return NULL;
    }
    const uint8_t *p = r->buf + r->off;
    r->off += n;
    return p;
}

static uint64_t get_be(struct wire_reader *r, int bytes)
{
    const uint8_t *p = take(r, (size_t)bytes);
    uint64_t v = 0;
    for (int i = 0; p && i < bytes; i++)
        v = v << 8 | p[i];
    return v;
}

uint8_t wire_get_u8(struct wire_reader *r)
{
    return (uint8_t)get_be(r, 1);
}
uint16_t wire_get_u16(struct wire_reader *r)
{
    return (uint16_t)get_be(r, 2);
}
uint32_t wire_get_u32(struct wire_reader *r)
{
    return (uint32_t)get_be(r, 4);
}
uint64_t wire_get_u64(struct wire_reader *r)
{
    return get_be(r, 8);
}

uint64_t wire_get_varint_long(struct wire_reader *r)
{
    uint64_t v = 0;
    size_t start = r->off;
    for (int i = 0; i < WIRE_VARINT_MAX; i++) {
        const uint8_t *p = take(r, 1);
        if (!p)
            return 0;
        uint64_t bits = *p & 0x7f;
        if (i == 9 && bits > 1) {
            r->off = start;
            wire_reader_fail(r, "varint overflows 64 bits");
            return 0;
        }
        v |= bits << (7 * i);
        if (!(*p & 0x80)) {
            if (i > 0 && bits == 0) {
                r->off = start;
                wire_reader_fail(r, "varint is not minimally encoded");
                return 0;
            }
            return v;
        }
    }
    r->off = start;
    wire_reader_fail(r, "varint longer than 10 bytes");
    return 0;
}

const uint8_t *wire_get_raw(struct wire_reader *r, size_t n)
{
    return take(r, n);
}

int wire_get_raw_into(struct wire_reader *r, void *dst, size_t n)
{
    const uint8_t *p = take(r, n);
    if (!p) {
        memset(dst, 0, n);
        return -1;
    }
    memcpy(dst, p, n);
    return 0;
}

const uint8_t *wire_get_bytes(struct wire_reader *r, size_t max, size_t *len)
{
    size_t start = r->off;
    uint64_t n = wire_get_varint(r);
    *len = 0;
    if (r->error)
        return NULL;
    if (n > max) {
        r->off = start;
        wire_reader_fail(r, "byte string longer than allowed");
        return NULL;
    }
    const uint8_t *p = take(r, (size_t)n);
    if (p)
        *len = (size_t)n;
    return p;
}

int wire_get_bytes_exact(struct wire_reader *r, void *dst, size_t n)
{
    size_t start = r->off, len;
    const uint8_t *p = wire_get_bytes(r, n, &len);
    if (p && len != n) {
        r->off = start;
        wire_reader_fail(r, "byte string has the wrong length");
        p = NULL;
    }
    if (!p) {
        memset(dst, 0, n);
        return -1;
    }
    memcpy(dst, p, n);
    return 0;
}

int wire_get_str(struct wire_reader *r, char *dst, size_t cap)
{
    size_t start = r->off, len;
    const uint8_t *p = cap ? wire_get_bytes(r, cap - 1, &len) : NULL;
    if (p && memchr(p, 0, len)) {
        r->off = start;
        wire_reader_fail(r, "string contains a NUL byte");
        p = NULL;
    }
    if (!p) {
        if (cap)
            dst[0] = 0;
        if (!cap)
            wire_reader_fail(r, "no room for the string");
        return -1;
    }
    memcpy(dst, p, len);
    dst[len] = 0;
    return 0;
}

size_t wire_get_count(struct wire_reader *r, size_t min_elem_size, size_t max)
{
    size_t start = r->off;
    uint64_t n = wire_get_varint(r);
    if (r->error)
        return 0;
    size_t room = min_elem_size ? (r->len - r->off) / min_elem_size : SIZE_MAX;
    if (n > max || n > room) {
        r->off = start;
        wire_reader_fail(r, n > max ? "element count exceeds the limit"
                                    : "element count exceeds the input");
        return 0;
    }
    return (size_t)n;
}

uint16_t wire_get_header(struct wire_reader *r, const char magic[WIRE_MAGIC_LEN],
                         uint16_t max_version)
{
    size_t start = r->off;
    const uint8_t *m = take(r, WIRE_MAGIC_LEN);
    if (m && memcmp(m, magic, WIRE_MAGIC_LEN) != 0) {
        r->off = start;
        wire_reader_fail(r, "wrong magic: not this kind of record");
        return 0;
    }
    uint16_t version = wire_get_u16(r);
    if (m && !r->error && (version == 0 || version > max_version)) {
        r->off = start + WIRE_MAGIC_LEN;
        wire_reader_fail(r, "unsupported record version");
        return 0;
    }
    return r->error ? 0 : version;
}
