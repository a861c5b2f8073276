/* test_lua_values.c -- the value encoding and the JSON library: Lua values round-trip through
 * the wire encoding with their types (integer or float, -0.0, NaN, strings with any byte,
 * nested tables), equal tables encode to equal bytes, every malformed encoding is refused both
 * by tlua_value_next and as call arguments; JSON round-trips and refuses bad input with the
 * place of the error. */
#include "lua/lua_sandbox.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

static const char *const job =
    "function echo(...) return ... end\n"
    "function make()\n"
    "  return 1, -1, 1.0, -0.0, 0/0, math.huge, math.mininteger, 'a\\0b\\255', true, false,\n"
    "    nil, {}, {1, 2, {3}}, {a = 1, [true] = 2, [1.5] = 3, [3] = 4, [-7] = 'x'}, json.null,\n"
    "    {nested = {deep = {1, json.null, 'z'}}}\n"
    "end\n"
    "function check(i, f, nz, nan, s, t)\n"
    "  assert(math.type(i) == 'integer' and i == 1)\n"
    "  assert(math.type(f) == 'float' and f == 1.0)\n"
    "  assert(1 / nz == -math.huge and nan ~= nan and s == 'a\\0b\\255')\n"
    "  assert(t.a == 1 and t[true] == 2 and t[1.5] == 3 and t[3] == 4 and t[-7] == 'x')\n"
    "end\n"
    "function forward(t) local u = {} for i = 100, 1, -1 do u['k' .. i] = t['k' .. i] end\n"
    "  return u end\n"
    "function keyed() local t = {} for i = 1, 100 do t['k' .. i] = i end return t end\n"
    "function cycle() local t = {} t.self = t return t end\n"
    "function fn() return print end\n"
    "function badkey() return {[{}] = 1} end\n";

static struct tlua *task(void)
{
    struct tlua_options o = {.job = "values", .task = "t#1"};
    struct cloister_err err;
    struct tlua *t = tlua_new(&o, &err);
    assert_non_null(t);
    if (tlua_load(t, job, strlen(job), "job.lua", &err) != CLOISTER_OK)
        fail_msg("%s", err.msg);
    return t;
}

static void results_of(struct tlua *t, const char *fn, const uint8_t *args, size_t len,
                       struct wire_writer *out)
{
    struct cloister_err err;
    wire_writer_init(out);
    if (tlua_call(t, fn, args, len, NULL, out, &err) != CLOISTER_OK)
        fail_msg("%s: %s", fn, err.msg);
}

/* The results of make(), passed to pass(), come back as the same bytes; *made keeps them. */
static void assert_passes(struct tlua *t, const char *make, const char *pass,
                          struct wire_writer *made)
{
    struct wire_writer again;
    results_of(t, make, NULL, 0, made);
    results_of(t, pass, made->buf, made->len, &again);
    assert_int_equal(made->len, again.len);
    assert_memory_equal(made->buf, again.buf, made->len);
    wire_writer_free(&again);
}

static void round_trip(void **state)
{
    struct tlua *t = task();
    struct wire_writer made;
    assert_passes(t, "make", "echo", &made);

    /* The encodings of the leading scalars, byte for byte. */
    const uint8_t head[] = {0x03, 0x02, 0x03, 0x01, 0x04, 0x3f, 0xf0, 0, 0, 0, 0,
                            0,    0,    0x04, 0x80, 0,    0,    0,    0, 0, 0, 0,
                            0x04, 0x7f, 0xf8, 0,    0,    0,    0,    0, 0};
    assert_memory_equal(made.buf, head, sizeof head);

    /* Split into values: 16 of them, then nothing left. */
    struct wire_reader r;
    wire_reader_init(&r, made.buf, made.len);
    size_t n = 0, len;
    for (; wire_reader_remaining(&r) > 0; n++)
        assert_non_null(tlua_value_next(&r, &len));
    assert_int_equal(n, 16);

    /* Types survive: check() receives values encoded by C and by Lua. */
    struct wire_writer args, none;
    wire_writer_init(&args);
    tlua_put_int(&args, 1);
    wire_put_raw(&args, made.buf + 4, 9 + 9 + 9); /* 1.0, -0.0, NaN */
    tlua_put_str(&args, "a\0b\xff", 4);
    wire_reader_init(&r, made.buf, made.len);
    for (int i = 0; i < 13; i++)
        tlua_value_next(&r, &len);
    const uint8_t *map = tlua_value_next(&r, &len);
    wire_put_raw(&args, map, len);
    results_of(t, "check", args.buf, args.len, &none);

    wire_writer_free(&args), wire_writer_free(&none);
    wire_writer_free(&made);
    tlua_free(t);
}

/* A table built in two orders encodes to the same bytes (map keys sorted). */
static void canonical_maps(void **state)
{
    struct tlua *t = task();
    struct wire_writer made;
    assert_passes(t, "keyed", "forward", &made);
    wire_writer_free(&made);
    tlua_free(t);
}

static void unencodable_values(void **state)
{
    static const struct {
        const char *fn, *expect;
    } cases[] = {
        {"cycle", "a result: tables nested deeper than 64 (a cycle?)"},
        {"fn", "a result: cannot encode a function value"},
        {"badkey", "a result: table keys must be strings, numbers or booleans"},
    };
    struct tlua *t = task();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct wire_writer out;
        wire_writer_init(&out);
        struct cloister_err err;
        assert_int_equal(tlua_call(t, cases[i].fn, NULL, 0, NULL, &out, &err), CLOISTER_E_FAILED);
        assert_non_null(strstr(err.msg, cases[i].expect));
        assert_int_equal(out.len, 0);
        wire_writer_free(&out);
    }
    tlua_free(t);
}

struct bad {
    const char *why;
    uint8_t bytes[16];
    size_t len;
};

static const struct bad bad[] = {
    {"unknown value tag", {0x09}, 1},
    {"truncated input", {0x05, 0x05, 'a'}, 3},
    {"varint is not minimally encoded", {0x03, 0x80, 0x00}, 3},
    {"NaN not in its one encoding", {0x04, 0x7f, 0xf8, 0, 0, 0, 0, 0, 1}, 9},
    {"map keys not in increasing order", {0x07, 2, 0x05, 1, 'b', 0x02, 0x05, 1, 'a', 0x02}, 10},
    {"map keys not in increasing order", {0x07, 2, 0x05, 1, 'a', 0x02, 0x05, 1, 'a', 0x02}, 10},
    {"map with keys 1..n", {0x07, 1, 0x03, 0x02, 0x02}, 5},
    {"empty map", {0x07, 0}, 2},
    {"nil inside a table", {0x06, 1, 0x00}, 3},
    {"map key is a float Lua stores as an integer",
     {0x07, 1, 0x04, 0x40, 0, 0, 0, 0, 0, 0, 0, 0x02},
     12},
    {"map key is not a string", {0x07, 1, 0x06, 0, 0x02}, 5},
    {"map key is not a string", {0x07, 1, 0x08, 0x02}, 4},
    {"element count exceeds the input", {0x06, 5, 0x02}, 3},
};

static void malformed_values_refused(void **state)
{
    struct tlua *t = task();
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct wire_reader r;
        size_t len;
        wire_reader_init(&r, bad[i].bytes, bad[i].len);
        assert_null(tlua_value_next(&r, &len));
        print_message("%s -> %s\n", bad[i].why, wire_reader_error(&r));
        assert_non_null(strstr(wire_reader_error(&r), bad[i].why));
        struct cloister_err err;
        assert_int_equal(tlua_call(t, "echo", bad[i].bytes, bad[i].len, NULL, NULL, &err),
                         CLOISTER_E_INVALID);
        assert_non_null(strstr(err.msg, bad[i].why));
    }
    tlua_free(t);
}

static void depth_limit(void **state)
{
    uint8_t deep[2 * (TLUA_DEPTH_MAX + 1) + 1];
    for (int i = 0; i <= TLUA_DEPTH_MAX; i++)
        deep[2 * i] = 0x06, deep[2 * i + 1] = 1;
    deep[2 * (TLUA_DEPTH_MAX + 1)] = 0x02;
    struct wire_reader r;
    size_t len;
    wire_reader_init(&r, deep, sizeof deep);
    assert_null(tlua_value_next(&r, &len));
    assert_non_null(strstr(wire_reader_error(&r), "nested deeper than 64"));
    /* One level less is fine. */
    wire_reader_init(&r, deep + 2, sizeof deep - 2);
    assert_non_null(tlua_value_next(&r, &len));
}

static const char *const json_job =
    "local function eq(a, b) assert(a == b, tostring(a) .. ' ~= ' .. tostring(b)) end\n"
    "function encode()\n"
    "  eq(json.encode({1, 2, 3}), '[1,2,3]')\n"
    "  eq(json.encode({b = 1, a = 'x', c = {true, false, json.null}}),\n"
    "     '{\"a\":\"x\",\"b\":1,\"c\":[true,false,null]}')\n"
    "  eq(json.encode('q\"\\\\\\n\\1/\\u{e9}'), '\"q\\\\\"\\\\\\\\\\\\n\\\\u0001/\\u{e9}\"')\n"
    "  eq(json.encode(1.5), '1.5'); eq(json.encode(1.0), '1.0'); eq(json.encode(0.1), '0.1')\n"
    "  eq(json.encode(-0.0), '-0.0'); eq(json.encode(1e300), '1e+300')\n"
    "  eq(json.encode(math.mininteger), '-9223372036854775808')\n"
    "  eq(json.encode({}), '[]'); eq(json.encode(nil), 'null')\n"
    "end\n"
    "function decode()\n"
    "  eq(math.type(json.decode('1')), 'integer'); eq(math.type(json.decode('1.0')), 'float')\n"
    "  eq(math.type(json.decode('1e2')), 'float'); eq(json.decode(' -12 '), -12)\n"
    "  eq(json.decode('\"\\\\u00e9\\\\ud83d\\\\ude00\\\\n\"'), '\\u{e9}\\u{1f600}\\n')\n"
    "  local v = json.decode('{\"a\": [1, {\"b\": null}], \"c\": \"\"}')\n"
    "  eq(v.a[1], 1); eq(v.a[2].b, json.null); eq(v.c, '')\n"
    "  eq(math.type(json.decode('9223372036854775808')), 'float')\n"
    "end\n"
    "function round_trip()\n"
    "  local v = {name = 'x\\u{1f600}', list = {1, 2.5, -3, {}, {k = false}}, n = json.null}\n"
    "  local s = json.encode(v)\n"
    "  eq(json.encode(json.decode(s)), s)\n"
    "end\n"
    "function refuse(text, want)\n"
    "  local ok, e = pcall(json.decode, text)\n"
    "  assert(not ok, 'accepted: ' .. text)\n"
    "  assert(e:find(want, 1, true), e .. ' lacks ' .. want)\n"
    "end\n"
    "function refuse_encode(want)\n"
    "  local cyc = {}; cyc[1] = cyc\n"
    "  local values = {nan = 0/0, inf = math.huge, fn = print, cycle = cyc, utf8 = '\\255',\n"
    "                  key = {[true] = 1}, sparse = {[1] = 1, [3] = 3}}\n"
    "  local ok, e = pcall(json.encode, values[want])\n"
    "  assert(not ok, 'encoded ' .. want)\n"
    "  return e\n"
    "end\n";

static void json_codec(void **state)
{
    struct tlua_options o = {.job = "json", .task = "t#1"};
    struct cloister_err err;
    struct tlua *t = tlua_new(&o, &err);
    assert_int_equal(tlua_load(t, json_job, strlen(json_job), "json.lua", &err), CLOISTER_OK);
    static const char *const fns[] = {"encode", "decode", "round_trip"};
    for (size_t i = 0; i < 3; i++)
        if (tlua_call(t, fns[i], NULL, 0, NULL, NULL, &err) != CLOISTER_OK)
            fail_msg("%s", err.msg);

    static const char *const refused[][2] = {
        {"", "unexpected end of input at byte 1"},
        {"[1,", "unexpected end of input at byte 4"},
        {"[1 2]", "expected ',' or ']' at byte 4"},
        {"{1:2}", "expected a string key at byte 2"},
        {"{\"a\" 1}", "expected ':' at byte 6"},
        {"01", "bad number at byte 1"},
        {"[1.]", "bad number at byte 2"},
        {"-", "bad number"},
        {"1e", "bad number"},
        {"tru", "unexpected character at byte 1"},
        {"\"\\x\"", "bad escape"},
        {"\"\\ud800\"", "lone surrogate"},
        {"\"\\udc00\"", "lone surrogate"},
        {"\"\\u12g4\"", "bad \\u escape"},
        {"\"a\x01\"", "control character in string"},
        {"\"\xff\"", "string is not valid UTF-8"},
        {"\"\xed\xa0\x80\"", "string is not valid UTF-8"},
        {"\"abc", "unterminated string"},
        {"1e400", "number out of range at byte 1"},
        {"[1] x", "trailing characters at byte 5"},
        {"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[" /* 65 brackets: one too deep */
         "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]",
         "nested deeper than 64 at byte 65"},
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        struct wire_writer args;
        wire_writer_init(&args);
        tlua_put_str(&args, refused[i][0], strlen(refused[i][0]));
        tlua_put_str(&args, refused[i][1], strlen(refused[i][1]));
        if (tlua_call(t, "refuse", args.buf, args.len, NULL, NULL, &err) != CLOISTER_OK)
            fail_msg("%s", err.msg);
        wire_writer_free(&args);
    }

    static const char *const unencodable[][2] = {
        {"nan", "json.encode: NaN and infinity have no JSON form"},
        {"inf", "json.encode: NaN and infinity have no JSON form"},
        {"fn", "json.encode: cannot encode a function value"},
        {"cycle", "json.encode: tables nested deeper than 64 (a cycle?)"},
        {"utf8", "json.encode: string is not valid UTF-8"},
        {"key", "json.encode: object keys must be strings"},
        {"sparse", "json.encode: object keys must be strings"},
    };
    for (size_t i = 0; i < sizeof unencodable / sizeof unencodable[0]; i++) {
        struct wire_writer args, out;
        wire_writer_init(&args), wire_writer_init(&out);
        tlua_put_str(&args, unencodable[i][0], strlen(unencodable[i][0]));
        assert_int_equal(tlua_call(t, "refuse_encode", args.buf, args.len, NULL, &out, &err),
                         CLOISTER_OK);
        assert_true(out.len > 2);
        print_message("%s -> %.*s\n", unencodable[i][0], (int)out.len - 2, out.buf + 2);
        assert_non_null(memmem(out.buf, out.len, unencodable[i][1], strlen(unencodable[i][1])));
        wire_writer_free(&args), wire_writer_free(&out);
    }
    tlua_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(round_trip),         cmocka_unit_test(canonical_maps),
        cmocka_unit_test(unencodable_values), cmocka_unit_test(malformed_values_refused),
        cmocka_unit_test(depth_limit),        cmocka_unit_test(json_codec),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
