/* wire.h -- the one binary codec of cloister, for messages and persisted records.
 *
 * Format: fixed-width integers are big-endian; varints are unsigned LEB128 of at most 10 bytes
 * and must be minimal (one value, one encoding, so that encodings can be hashed and MAC'd);
 * byte strings are a varint length then the bytes. Records start with a header: 4 magic bytes
 * and a 16-bit version, so formats can evolve.
 *
 * Errors are sticky. A reader that hits the end, a bad varint or a bad header records the first
 * error and its offset, returns zeroes/NULL from then on and never reads past its buffer; check
 * wire_reader_ok() or wire_reader_finish() once after decoding a whole message. A writer that
 * cannot grow (or overflows a fixed buffer) likewise records the failure.
 *
 *     struct wire_writer w; wire_writer_init(&w);
 *     wire_put_header(&w, "CLHP", 1); wire_put_u32(&w, id); wire_put_bytes(&w, key, 32);
 *     ... wire_writer_ok(&w), w.buf, w.len ... wire_writer_free(&w);
 *
 *     struct wire_reader r; wire_reader_init(&r, buf, len);
 *     uint16_t v = wire_get_header(&r, "CLHP", 1); uint32_t id = wire_get_u32(&r);
 *     size_t n; const uint8_t *key = wire_get_bytes(&r, &n);
 *     if (wire_reader_finish(&r) != 0) fprintf(stderr, "%s\n", wire_reader_error(&r));
 */
#ifndef CLOISTER_WIRE_H
#define CLOISTER_WIRE_H

#include <cloister/export.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WIRE_MAGIC_LEN 4
#define WIRE_HEADER_LEN 6
#define WIRE_VARINT_MAX 10

struct wire_writer {
    uint8_t *buf;
    size_t len, cap;
    bool fixed; /* buf is the caller's and never grows */
    bool failed;
};

struct wire_reader {
    const uint8_t *buf;
    size_t len, off;
    const char *error; /* first error, static string */
    size_t error_off;  /* offset where it happened */
};

/* Writer. A growing writer owns buf: free it with wire_writer_free (which wipes it, since
 * messages may carry secrets) or take it with wire_writer_take. */
CLOISTER_API void wire_writer_init(struct wire_writer *w);
CLOISTER_API void wire_writer_init_fixed(struct wire_writer *w, uint8_t *buf, size_t cap);
CLOISTER_API bool wire_writer_ok(const struct wire_writer *w);
CLOISTER_API uint8_t *wire_writer_take(struct wire_writer *w, size_t *len);
CLOISTER_API void wire_writer_free(struct wire_writer *w);
/* Ends a growing writer: if it failed, frees it and returns -1; else hands its buffer to *out
 * and *len (the caller frees it) and returns 0. Replaces "check, then take or free". */
CLOISTER_API int wire_writer_finish(struct wire_writer *w, uint8_t **out, size_t *len);
/* Room for n more bytes at w->buf + w->len (advance with wire_writer_commit), or NULL. The
 * common case (room already there) is inline: encoding sits on every enclave crossing. */
CLOISTER_API uint8_t *wire_writer_grow(struct wire_writer *w, size_t n);
static inline uint8_t *wire_writer_reserve(struct wire_writer *w, size_t n)
{
    if (!w->failed && n <= w->cap - w->len)
        return w->buf + w->len;
    return wire_writer_grow(w, n);
}
static inline void wire_writer_commit(struct wire_writer *w, size_t n)
{
    w->len += n;
}

CLOISTER_API void wire_put_u8(struct wire_writer *w, uint8_t v);
CLOISTER_API void wire_put_u16(struct wire_writer *w, uint16_t v);
CLOISTER_API void wire_put_u32(struct wire_writer *w, uint32_t v);
CLOISTER_API void wire_put_u64(struct wire_writer *w, uint64_t v);
/* Varints below 128 (counts, lengths, numbers: most of them) take the inline path. */
CLOISTER_API void wire_put_varint_long(struct wire_writer *w, uint64_t v);
static inline void wire_put_varint(struct wire_writer *w, uint64_t v)
{
    if (v < 0x80 && !w->failed && w->len < w->cap)
        w->buf[w->len++] = (uint8_t)v;
    else
        wire_put_varint_long(w, v);
}
CLOISTER_API void wire_put_raw(struct wire_writer *w, const void *p,
                               size_t n); /* no length prefix */
CLOISTER_API void wire_put_bytes(struct wire_writer *w, const void *p, size_t n);
CLOISTER_API void wire_put_str(struct wire_writer *w, const char *s);
CLOISTER_API void wire_put_header(struct wire_writer *w, const char magic[WIRE_MAGIC_LEN],
                                  uint16_t version);

/* Reader. Pointers returned point into the reader's buffer (zero-copy). */
CLOISTER_API void wire_reader_init(struct wire_reader *r, const void *buf, size_t len);
CLOISTER_API bool wire_reader_ok(const struct wire_reader *r);
CLOISTER_API size_t wire_reader_remaining(const struct wire_reader *r);
/* Fails (and returns -1) if an error occurred or bytes are left over. */
CLOISTER_API int wire_reader_finish(struct wire_reader *r);
/* "offset 12: varint too long" style message; "ok" when there is no error. */
CLOISTER_API const char *wire_reader_error(const struct wire_reader *r);
/* Records an error at the current offset (for checks by the caller, e.g. a bad enum value). */
CLOISTER_API void wire_reader_fail(struct wire_reader *r, const char *error);

CLOISTER_API uint8_t wire_get_u8(struct wire_reader *r);
CLOISTER_API uint16_t wire_get_u16(struct wire_reader *r);
CLOISTER_API uint32_t wire_get_u32(struct wire_reader *r);
CLOISTER_API uint64_t wire_get_u64(struct wire_reader *r);
CLOISTER_API uint64_t wire_get_varint_long(struct wire_reader *r);
static inline uint64_t wire_get_varint(struct wire_reader *r)
{
    if (!r->error && r->off < r->len && r->buf[r->off] < 0x80)
        return r->buf[r->off++];
    return wire_get_varint_long(r);
}
CLOISTER_API const uint8_t *wire_get_raw(struct wire_reader *r, size_t n);
/* Copies exactly n bytes; returns -1 (and zero-fills dst) on error. */
CLOISTER_API int wire_get_raw_into(struct wire_reader *r, void *dst, size_t n);
/* A length-prefixed byte string of at most max bytes. */
CLOISTER_API const uint8_t *wire_get_bytes(struct wire_reader *r, size_t max, size_t *len);
/* A length-prefixed byte string of exactly n bytes, copied to dst. */
CLOISTER_API int wire_get_bytes_exact(struct wire_reader *r, void *dst, size_t n);
/* A length-prefixed string without NUL bytes, copied NUL-terminated into dst[cap]. */
CLOISTER_API int wire_get_str(struct wire_reader *r, char *dst, size_t cap);
/* An element count whose elements each take at least min_elem_size bytes: refused if the
 * remaining input cannot hold them or it exceeds max, so callers can allocate safely. */
CLOISTER_API size_t wire_get_count(struct wire_reader *r, size_t min_elem_size, size_t max);
/* Checks magic and returns the version, refused outside [1, max_version]. */
CLOISTER_API uint16_t wire_get_header(struct wire_reader *r, const char magic[WIRE_MAGIC_LEN],
                                      uint16_t max_version);

#endif
