/* test_wire.c -- the codec: round trips, every error path with its offset, and a differential
 * check of varints against a straightforward reference encoder. */
#include <cloister/wire.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static void round_trip(void **state)
{
    struct wire_writer w;
    wire_writer_init(&w);
    wire_put_header(&w, "CLTS", 2);
    wire_put_u8(&w, 0xab);
    wire_put_u16(&w, 0x1234);
    wire_put_u32(&w, 0xdeadbeef);
    wire_put_u64(&w, 0x0102030405060708ull);
    wire_put_varint(&w, 300);
    wire_put_bytes(&w, "key", 3);
    wire_put_str(&w, "hello");
    assert_true(wire_writer_ok(&w));

    struct wire_reader r;
    wire_reader_init(&r, w.buf, w.len);
    assert_int_equal(wire_get_header(&r, "CLTS", 2), 2);
    assert_int_equal(wire_get_u8(&r), 0xab);
    assert_int_equal(wire_get_u16(&r), 0x1234);
    assert_int_equal(wire_get_u32(&r), 0xdeadbeef);
    assert_true(wire_get_u64(&r) == 0x0102030405060708ull);
    assert_int_equal(wire_get_varint(&r), 300);
    size_t n;
    const uint8_t *p = wire_get_bytes(&r, 16, &n);
    assert_non_null(p);
    assert_int_equal(n, 3);
    assert_memory_equal(p, "key", 3);
    char s[8];
    assert_int_equal(wire_get_str(&r, s, sizeof s), 0);
    assert_string_equal(s, "hello");
    assert_int_equal(wire_reader_finish(&r), 0);
    assert_string_equal(wire_reader_error(&r), "ok");
    wire_writer_free(&w);
}

static void big_endian_layout(void **state)
{
    uint8_t buf[6];
    struct wire_writer w;
    wire_writer_init_fixed(&w, buf, sizeof buf);
    wire_put_u16(&w, 0x0102);
    wire_put_u32(&w, 0x03040506);
    assert_true(wire_writer_ok(&w));
    const uint8_t want[] = {1, 2, 3, 4, 5, 6};
    assert_memory_equal(buf, want, 6);
    wire_put_u8(&w, 7); /* fixed buffer full */
    assert_false(wire_writer_ok(&w));
    assert_int_equal(w.len, 6);
}

/* Reference LEB128 encoder, written independently of the codec. */
static size_t ref_varint(uint64_t v, uint8_t *out)
{
    size_t n = 0;
    while (v >= 0x80) {
        out[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    out[n++] = (uint8_t)v;
    return n;
}

static void varint_differential(void **state)
{
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (int i = 0; i < 20000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        uint64_t v = x >> (x % 64); /* all magnitudes */
        uint8_t want[10];
        size_t wn = ref_varint(v, want);
        struct wire_writer w;
        wire_writer_init(&w);
        wire_put_varint(&w, v);
        assert_int_equal(w.len, wn);
        assert_memory_equal(w.buf, want, wn);
        struct wire_reader r;
        wire_reader_init(&r, w.buf, w.len);
        assert_true(wire_get_varint(&r) == v);
        assert_int_equal(wire_reader_finish(&r), 0);
        wire_writer_free(&w);
    }
}

static void expect_error(const uint8_t *buf, size_t len, const char *msg)
{
    struct wire_reader r;
    wire_reader_init(&r, buf, len);
    assert_int_equal(wire_get_varint(&r), 0);
    assert_false(wire_reader_ok(&r));
    assert_string_equal(wire_reader_error(&r), msg);
}

static void varint_errors(void **state)
{
    const uint8_t overlong[] = {0x80, 0x00};
    expect_error(overlong, 2, "offset 0: varint is not minimally encoded");
    const uint8_t overflow[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02};
    expect_error(overflow, 10, "offset 0: varint overflows 64 bits");
    const uint8_t eleven[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x81, 0x01};
    expect_error(eleven, 11, "offset 0: varint longer than 10 bytes");
    const uint8_t cut[] = {0x80};
    expect_error(cut, 1, "offset 1: truncated input");
    const uint8_t max[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    struct wire_reader r;
    wire_reader_init(&r, max, sizeof max);
    assert_true(wire_get_varint(&r) == UINT64_MAX);
    assert_int_equal(wire_reader_finish(&r), 0);
}

static void errors_are_sticky_with_offset(void **state)
{
    const uint8_t buf[] = {0x00, 0x01, 0x05, 'a', 'b'};
    struct wire_reader r;
    wire_reader_init(&r, buf, sizeof buf);
    assert_int_equal(wire_get_u16(&r), 1);
    size_t n;
    assert_null(wire_get_bytes(&r, 100, &n)); /* claims 5 bytes, has 2 */
    assert_int_equal(n, 0);
    assert_string_equal(wire_reader_error(&r), "offset 3: truncated input");
    assert_int_equal(wire_get_u8(&r), 0); /* sticky: no further reads */
    assert_int_equal(wire_reader_remaining(&r), 0);
    assert_int_equal(wire_reader_finish(&r), -1);
}

static void limits(void **state)
{
    const uint8_t big[] = {0x05, 1, 2, 3, 4, 5};
    struct wire_reader r;
    size_t n;
    wire_reader_init(&r, big, sizeof big);
    assert_null(wire_get_bytes(&r, 4, &n));
    assert_string_equal(wire_reader_error(&r), "offset 0: byte string longer than allowed");

    uint8_t key[4];
    wire_reader_init(&r, big, sizeof big);
    assert_int_equal(wire_get_bytes_exact(&r, key, sizeof key), -1);

    const uint8_t nul[] = {0x03, 'a', 0, 'b'};
    char s[8];
    wire_reader_init(&r, nul, sizeof nul);
    assert_int_equal(wire_get_str(&r, s, sizeof s), -1);
    assert_string_equal(wire_reader_error(&r), "offset 0: string contains a NUL byte");

    const uint8_t count[] = {0x64, 0, 0, 0, 0}; /* 100 elements of >= 4 bytes in 4 bytes */
    wire_reader_init(&r, count, sizeof count);
    assert_int_equal(wire_get_count(&r, 4, 1000), 0);
    assert_string_equal(wire_reader_error(&r), "offset 0: element count exceeds the input");
    wire_reader_init(&r, count, sizeof count);
    assert_int_equal(wire_get_count(&r, 0, 10), 0);
    assert_string_equal(wire_reader_error(&r), "offset 0: element count exceeds the limit");

    const uint8_t trailing[] = {1, 2};
    wire_reader_init(&r, trailing, sizeof trailing);
    wire_get_u8(&r);
    assert_int_equal(wire_reader_finish(&r), -1);
    assert_string_equal(wire_reader_error(&r), "offset 1: trailing bytes after the message");
}

static void headers(void **state)
{
    struct wire_reader r;
    const uint8_t v3[] = {'C', 'L', 'T', 'S', 0, 3};
    wire_reader_init(&r, v3, sizeof v3);
    assert_int_equal(wire_get_header(&r, "CLTS", 2), 0);
    assert_string_equal(wire_reader_error(&r), "offset 4: unsupported record version");
    wire_reader_init(&r, v3, sizeof v3);
    assert_int_equal(wire_get_header(&r, "XXXX", 9), 0);
    assert_string_equal(wire_reader_error(&r), "offset 0: wrong magic: not this kind of record");
    wire_reader_init(&r, v3, 3);
    assert_int_equal(wire_get_header(&r, "CLTS", 9), 0);
    assert_string_equal(wire_reader_error(&r), "offset 0: truncated input");
}

/* Every prefix of a valid message must fail cleanly, never succeed or crash. */
static void every_truncation_fails(void **state)
{
    struct wire_writer w;
    wire_writer_init(&w);
    wire_put_header(&w, "CLTS", 1);
    wire_put_varint(&w, 1u << 20);
    wire_put_bytes(&w, "0123456789", 10);
    wire_put_u64(&w, 42);
    for (size_t cut = 0; cut < w.len; cut++) {
        struct wire_reader r;
        wire_reader_init(&r, w.buf, cut);
        size_t n;
        wire_get_header(&r, "CLTS", 1);
        wire_get_varint(&r);
        wire_get_bytes(&r, 64, &n);
        wire_get_u64(&r);
        assert_int_equal(wire_reader_finish(&r), -1);
    }
    wire_writer_free(&w);
}

static void writer_grows(void **state)
{
    struct wire_writer w;
    wire_writer_init(&w);
    uint8_t block[1000];
    memset(block, 0x5a, sizeof block);
    for (int i = 0; i < 1000; i++)
        wire_put_raw(&w, block, sizeof block);
    assert_true(wire_writer_ok(&w));
    assert_int_equal(w.len, 1000000);
    size_t len;
    uint8_t *buf = wire_writer_take(&w, &len);
    assert_int_equal(len, 1000000);
    assert_int_equal(buf[999999], 0x5a);
    free(buf);
    assert_null(w.buf);
}

static void writer_finish_takes_or_frees(void **state)
{
    struct wire_writer w;
    wire_writer_init(&w);
    wire_put_u32(&w, 7);
    uint8_t *out = NULL;
    size_t len = 0;
    assert_int_equal(wire_writer_finish(&w, &out, &len), 0);
    assert_int_equal(len, 4);
    assert_int_equal(out[3], 7);
    free(out);

    uint8_t small[2];
    wire_writer_init_fixed(&w, small, sizeof small);
    wire_put_u32(&w, 7); /* overflows the fixed buffer */
    out = NULL;
    assert_int_equal(wire_writer_finish(&w, &out, &len), -1);
    assert_null(out);
    assert_null(w.buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(round_trip),
        cmocka_unit_test(big_endian_layout),
        cmocka_unit_test(varint_differential),
        cmocka_unit_test(varint_errors),
        cmocka_unit_test(errors_are_sticky_with_offset),
        cmocka_unit_test(limits),
        cmocka_unit_test(headers),
        cmocka_unit_test(every_truncation_fails),
        cmocka_unit_test(writer_grows),
        cmocka_unit_test(writer_finish_takes_or_frees),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
