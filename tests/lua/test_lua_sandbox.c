/* test_lua_sandbox.c -- the trusted Lua sandbox: a word count equal to a C counter on random
 * text; every escape and every budget fails the call with a clear message naming the job, the
 * task, the function and the line, while the same state and the next task keep working and the
 * process gets its memory back; print, seeds and the shapes of errors. */
#include "lua/lua_sandbox.h"

#include <malloc.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define MEMORY ((size_t)64 << 20)
#define INSTRUCTIONS 20000000u
#define OUTPUT ((size_t)64 << 10)

static struct tlua *task_with(const char *src, const struct tlua_options *o)
{
    struct cloister_err err;
    struct tlua *t = tlua_new(o, &err);
    if (!t)
        fail_msg("tlua_new: %s", err.msg);
    if (tlua_load(t, src, strlen(src), "job.lua", &err) != CLOISTER_OK)
        fail_msg("tlua_load: %s", err.msg);
    return t;
}

static struct tlua *task(const char *src)
{
    struct tlua_options o = {.job = "test",
                             .task = "t#1",
                             .seed = 1,
                             .memory = MEMORY,
                             .instructions = INSTRUCTIONS,
                             .output = OUTPUT};
    return task_with(src, &o);
}

/* Calls fn with string arguments (NULL-terminated), emitted pairs to *emits; the results are
 * collected (so they count against the output budget) and dropped. */
static int call(struct tlua *t, const char *fn, struct wire_writer *emits, struct cloister_err *err,
                ...)
{
    struct wire_writer args, results;
    wire_writer_init(&args);
    wire_writer_init(&results);
    va_list ap;
    va_start(ap, err);
    for (const char *s; (s = va_arg(ap, const char *));)
        tlua_put_str(&args, s, strlen(s));
    va_end(ap);
    int rc = tlua_call(t, fn, args.buf, args.len, emits, &results, err);
    wire_writer_free(&args);
    wire_writer_free(&results);
    return rc;
}

/* ---- word count against a C counter ---- */

static const char *const wc_job = "function map(file, line)\n"
                                  "  for w in line:gmatch('%S+') do emit(w, 1) end\n"
                                  "end\n"
                                  "function reduce(word, counts)\n"
                                  "  local n = 0\n"
                                  "  for _, c in ipairs(counts) do n = n + c end\n"
                                  "  emit(word, n)\n"
                                  "end\n";

#define VOCAB 40

struct group {
    const uint8_t *key;
    size_t keylen;
    struct wire_writer values; /* the encoded counts */
    size_t n;
};

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint32_t next_random(void)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (uint32_t)(rng >> 11);
}

static struct group *find_group(struct group *g, size_t *ng, const uint8_t *key, size_t len)
{
    for (size_t i = 0; i < *ng; i++)
        if (g[i].keylen == len && memcmp(g[i].key, key, len) == 0)
            return &g[i];
    g[*ng] = (struct group){.key = key, .keylen = len};
    wire_writer_init(&g[*ng].values);
    return &g[(*ng)++];
}

static void word_count(void **state)
{
    char vocab[VOCAB][16];
    long expect[VOCAB] = {0};
    for (int i = 0; i < VOCAB; i++)
        snprintf(vocab[i], sizeof vocab[i], "w%c%d", 'a' + i % 26, i);
    struct tlua *mapper = task(wc_job);
    struct wire_writer pairs;
    wire_writer_init(&pairs);
    struct cloister_err err;
    for (int line = 0; line < 500; line++) {
        char text[512] = "";
        for (int k = (int)(next_random() % 12); k > 0; k--) {
            int w = (int)(next_random() % VOCAB);
            expect[w]++;
            strcat(text, next_random() % 3 ? " " : "\t  ");
            strcat(text, vocab[w]);
        }
        assert_int_equal(call(mapper, "map", &pairs, &err, "input.txt", text, NULL), CLOISTER_OK);
    }
    tlua_free(mapper);

    struct group groups[VOCAB];
    size_t ngroups = 0, len;
    struct wire_reader r;
    wire_reader_init(&r, pairs.buf, pairs.len);
    while (wire_reader_remaining(&r) > 0) {
        const uint8_t *key = tlua_value_next(&r, &len);
        assert_non_null(key);
        struct group *g = find_group(groups, &ngroups, key, len);
        const uint8_t *value = tlua_value_next(&r, &len);
        assert_non_null(value);
        wire_put_raw(&g->values, value, len);
        g->n++;
    }

    struct tlua *reducer = task(wc_job);
    struct wire_writer out;
    wire_writer_init(&out);
    size_t used = 0;
    for (int i = 0; i < VOCAB; i++)
        used += expect[i] > 0;
    assert_int_equal(ngroups, used);
    for (size_t i = 0; i < ngroups; i++) {
        struct wire_writer args;
        wire_writer_init(&args);
        wire_put_raw(&args, groups[i].key, groups[i].keylen);
        tlua_put_array(&args, groups[i].n);
        wire_put_raw(&args, groups[i].values.buf, groups[i].values.len);
        out.len = 0;
        assert_int_equal(tlua_call(reducer, "reduce", args.buf, args.len, &out, NULL, &err),
                         CLOISTER_OK);
        int w = atoi((const char *)groups[i].key + 4);
        struct wire_writer want;
        wire_writer_init(&want);
        tlua_put_str(&want, vocab[w], strlen(vocab[w]));
        tlua_put_int(&want, expect[w]);
        assert_int_equal(out.len, want.len);
        assert_memory_equal(out.buf, want.buf, want.len);
        wire_writer_free(&want);
        wire_writer_free(&args);
        wire_writer_free(&groups[i].values);
    }
    tlua_free(reducer);
    wire_writer_free(&out);
    wire_writer_free(&pairs);
}

/* ---- escapes and budgets ---- */

struct escape {
    const char *body;   /* the body of function run() */
    const char *expect; /* in the message */
    int code;
};

/* A table of n + 1 elements whose border (#t) is 2^n: {[1]=1, [2]=1, [4]=1, ...} built by a
 * constructor keeps every key in the hash part, where the length search doubles its way up. */
#define BORDER(n)                                                                                  \
    "local k = {}\nfor i = 0, " #n " do k[#k + 1] = '[' .. (1 << i) .. ']=1' end\n"                \
    "local t = load('return {' .. table.concat(k, ',') .. '}')()\nassert(#t == 1 << " #n ")\n"

static const struct escape escapes[] = {
    {"return io.open('/etc/passwd')", "attempt to index a nil value (global 'io')",
     CLOISTER_E_FAILED},
    {"os.execute('id')", "attempt to index a nil value (global 'os')", CLOISTER_E_FAILED},
    {"require('os')", "attempt to call a nil value (global 'require')", CLOISTER_E_FAILED},
    {"dofile('/etc/passwd')", "(global 'dofile')", CLOISTER_E_FAILED},
    {"loadfile('/etc/passwd')", "(global 'loadfile')", CLOISTER_E_FAILED},
    {"assert(load('\\27Lua\\84\\0\\25\\147\\13\\10\\26\\10'))", "attempt to load a binary chunk",
     CLOISTER_E_FAILED},
    {"assert(load('\\27Lua\\84\\0', 'x', 'b'))", "attempt to load a binary chunk",
     CLOISTER_E_FAILED},
    {"local parts = {'\\27Lua', '\\84\\0'}\n"
     "assert(load(function() return table.remove(parts, 1) end))",
     "attempt to load a binary chunk", CLOISTER_E_FAILED},
    {"return string.dump(run)", "attempt to call a nil value (field 'dump')", CLOISTER_E_FAILED},
    {"return ('').dump(run)", "attempt to call a nil value (field 'dump')", CLOISTER_E_FAILED},
    {"return debug.getinfo(1)", "attempt to index a nil value (global 'debug')", CLOISTER_E_FAILED},
    {"return getmetatable('').__index.dump", "attempt to index a boolean value", CLOISTER_E_FAILED},
    {"getmetatable('').__index = {}", "attempt to index a boolean value", CLOISTER_E_FAILED},
    {"return coroutine.wrap(run)", "(global 'coroutine')", CLOISTER_E_FAILED},
    {"return package.loaded", "(global 'package')", CLOISTER_E_FAILED},
    {"collectgarbage('stop')", "collectgarbage('stop') is not allowed", CLOISTER_E_FAILED},
    {"collectgarbage('generational')", "collectgarbage('generational') is not allowed",
     CLOISTER_E_FAILED},
    {"math.randomseed()", "math.randomseed needs a seed", CLOISTER_E_FAILED},
    {"setmetatable({}, {__gc = function() while true do end end})",
     "__gc metamethods are not allowed", CLOISTER_E_FAILED},
    {"local s = 'x'\nfor i = 1, 40 do s = s .. s end", "Lua memory limit 64 MiB exceeded",
     CLOISTER_E_TOO_BIG},
    {"return string.rep('x', 1 << 30)", "Lua memory limit 64 MiB exceeded", CLOISTER_E_TOO_BIG},
    {"local t = {}\nfor i = 1, 1e9 do t[i] = {i} end", "Lua memory limit 64 MiB exceeded",
     CLOISTER_E_TOO_BIG},
    {"local t = {}\nwhile true do pcall(function() t[#t + 1] = ('x'):rep(64) .. #t end) end",
     "exceeded", 0},
    {"while true do end", "instruction limit 20000000 exceeded in function 'run' at job.lua:3",
     CLOISTER_E_TIMEOUT},
    {"while true do pcall(function() while true do end end) end", "instruction limit",
     CLOISTER_E_TIMEOUT},
    {"local function f() return 1 + f() end\nreturn f()", "Lua memory limit 64 MiB exceeded",
     CLOISTER_E_TOO_BIG},
    {BORDER(40) "table.insert(t, 1, 0)", "instruction limit", CLOISTER_E_TIMEOUT},
    {BORDER(30) "setmetatable(t, {__index = rawlen})\ntable.sort(t)", "instruction limit",
     CLOISTER_E_TIMEOUT},
    {"table.move({}, 1, 1 << 40, 1)", "instruction limit", CLOISTER_E_TIMEOUT},
    {"while true do emit('k', ('x'):rep(1000)) end",
     "output limit 64 KiB exceeded in function 'run' at job.lua:3", CLOISTER_E_TOO_BIG},
    {"while true do pcall(emit, 'k', ('x'):rep(1000)) end", "output limit 64 KiB exceeded",
     CLOISTER_E_TOO_BIG},
    {"return ('x'):rep(100000)", "output limit 64 KiB exceeded in function 'run'",
     CLOISTER_E_TOO_BIG},
    {"local t = {}\nlocal s = ('x'):rep(1000)\nfor i = 1, 1000 do t[i] = s end\nemit('k', t)",
     "output limit", CLOISTER_E_TOO_BIG},
    {"error('boom')", "boom in function 'run' at job.lua:3", CLOISTER_E_FAILED},
    {"error({})", "(error object is a table value) in function 'run' at job.lua:3",
     CLOISTER_E_FAILED},
    {"emit('k', print)", "emit: the value: cannot encode a function value", CLOISTER_E_FAILED},
    {"emit(nil, 1)", "emit: the key is nil", CLOISTER_E_FAILED},
};

static const char *const healthy = "function ok() emit('a', 1) return 2 end\n";

static void check_healthy(struct tlua *t)
{
    struct wire_writer out;
    wire_writer_init(&out);
    struct cloister_err err;
    assert_int_equal(call(t, "ok", &out, &err, NULL), CLOISTER_OK);
    const uint8_t want[] = {0x05, 1, 'a', 0x03, 2};
    assert_int_equal(out.len, sizeof want);
    assert_memory_equal(out.buf, want, sizeof want);
    wire_writer_free(&out);
}

static void run_escape(const struct escape *e)
{
    char src[1024];
    snprintf(src, sizeof src, "%sfunction run()\n%s\nend\n", healthy, e->body);
    struct tlua *t = task(src);
    struct wire_writer out;
    wire_writer_init(&out);
    wire_put_raw(&out, "keep", 4);
    struct cloister_err err;
    int rc = call(t, "run", &out, &err, NULL);
    print_message("%-60.60s -> %s\n", e->body, err.msg);
    assert_int_not_equal(rc, CLOISTER_OK);
    if (e->code)
        assert_int_equal(rc, e->code);
    assert_non_null(strstr(err.msg, e->expect));
    assert_true(strncmp(err.msg, "job test, task t#1: ", 20) == 0);
    assert_int_equal(out.len, 4); /* what the failed call emitted is gone */
    check_healthy(t);             /* the same state still works */
    wire_writer_free(&out);
    tlua_free(t);
}

static void escapes_fail_cleanly(void **state)
{
    for (size_t i = 0; i < sizeof escapes / sizeof escapes[0]; i++)
        run_escape(&escapes[i]);
    struct tlua *next = task(healthy); /* and the next task too */
    check_healthy(next);
    tlua_free(next);
}

/* Failed tasks give all their memory back to the process. */
static void failures_leak_nothing(void **state)
{
    run_escape(&escapes[0]); /* warm up the allocator's arenas */
    size_t before = mallinfo2().uordblks;
    for (int round = 0; round < 3; round++)
        for (size_t i = 0; i < sizeof escapes / sizeof escapes[0]; i++)
            run_escape(&escapes[i]);
    size_t after = mallinfo2().uordblks;
    print_message("heap in use: %zu -> %zu bytes\n", before, after);
    assert_true(after < before + (64 << 10));
}

static void bytecode_refused_at_load(void **state)
{
    struct tlua_options o = {.job = "test", .task = "t#2"};
    struct cloister_err err;
    struct tlua *t = tlua_new(&o, &err);
    assert_non_null(t);
    static const char chunk[] = "\x1bLua\x54\x00\x19\x93\r\n\x1a\n";
    assert_int_equal(tlua_load(t, chunk, sizeof chunk - 1, "job.lua", &err), CLOISTER_E_INVALID);
    assert_non_null(strstr(err.msg, "attempt to load a binary chunk"));
    assert_int_equal(tlua_load(t, "x = = 1", 7, "job.lua", &err), CLOISTER_E_INVALID);
    assert_non_null(strstr(err.msg, "job test, task t#2: job.lua:1:"));
    tlua_free(t);
}

static void missing_function_and_bad_args(void **state)
{
    struct tlua *t = task(healthy);
    struct cloister_err err;
    assert_true(tlua_has(t, "ok"));
    assert_false(tlua_has(t, "combine"));
    assert_int_equal(call(t, "combine", NULL, &err, NULL), CLOISTER_E_NOT_FOUND);
    assert_string_equal(err.msg, "job test, task t#1: the job defines no function 'combine' "
                                 "in function 'combine'");
    const uint8_t bad[] = {0x05, 9, 'x'};
    assert_int_equal(tlua_call(t, "ok", bad, sizeof bad, NULL, NULL, &err), CLOISTER_E_INVALID);
    assert_non_null(strstr(err.msg, "bad arguments: offset"));
    assert_int_equal(call(t, "ok", NULL, &err, NULL), CLOISTER_E_FAILED);
    assert_non_null(strstr(err.msg, "emit: function 'ok' cannot emit"));
    check_healthy(t);
    tlua_free(t);
}

static void messages_name_job_task_function_line(void **state)
{
    struct tlua_options o = {.job = "wordcount", .task = "map#17", .instructions = 100000000};
    struct tlua *t = task_with("function map(k, v)\n"
                               "  local n = 0\n"
                               "  while true do n = n + 1 end\n"
                               "end\n"
                               "local function helper(x) return x.y end\n"
                               "function reduce(k, v) return (helper(nil)) end\n",
                               &o);
    struct cloister_err err;
    assert_int_equal(call(t, "map", NULL, &err, NULL), CLOISTER_E_TIMEOUT);
    assert_string_equal(err.msg, "job wordcount, task map#17: instruction limit 100000000 "
                                 "exceeded in function 'map' at job.lua:3");
    assert_int_equal(call(t, "reduce", NULL, &err, NULL), CLOISTER_E_FAILED);
    assert_string_equal(err.msg, "job wordcount, task map#17: attempt to index a nil value "
                                 "(local 'x') in function 'helper' at job.lua:5");
    tlua_free(t);

    struct tlua_options big = {.job = "wordcount", .task = "map#17"};
    t = task_with("function map() local t = {} for i = 1, 1e12 do t[i] = i end end", &big);
    assert_int_equal(call(t, "map", NULL, &err, NULL), CLOISTER_E_TOO_BIG);
    assert_string_equal(err.msg, "job wordcount, task map#17: Lua memory limit 64 MiB exceeded "
                                 "in function 'map'");
    tlua_free(t);
}

/* With room for Lua's whole stack (a million slots), deep recursion ends in "stack overflow";
 * with less, in the memory limit (the escapes above). */
static void deep_recursion(void **state)
{
    struct tlua_options o = {.job = "test", .task = "t#5", .memory = (size_t)256 << 20};
    struct tlua *t = task_with("local function f(n)\n  return 1 + f(n + 1)\nend\n"
                               "function run() return f(1) end\n"
                               "function ok() emit('a', 1) return 2 end\n",
                               &o);
    struct cloister_err err;
    assert_int_equal(call(t, "run", NULL, &err, NULL), CLOISTER_E_FAILED);
    assert_string_equal(err.msg, "job test, task t#5: stack overflow in function 'f' at job.lua:2");
    check_healthy(t);
    tlua_free(t);
}

static void print_goes_to_the_log(void **state)
{
    struct tlua_options o = {.job = "test", .task = "t#3", .log = 16};
    struct tlua *t = task_with("print('hello', 1, true)\nprint(('x'):rep(100))\n", &o);
    size_t len;
    const char *log = tlua_log(t, &len);
    assert_int_equal(len, 16);
    assert_memory_equal(log, "hello\t1\ttrue\nxxx", 16);
    struct tlua_stats s;
    tlua_stats(t, &s);
    assert_int_equal(s.log_dropped, 101 - 3);
    assert_true(s.memory > 0 && s.memory <= s.memory_peak);
    tlua_free(t);
}

static void random_is_seeded_per_task(void **state)
{
    const char *src = "function draw() return math.random(1 << 40), math.random() end\n"
                      "function reseed() math.randomseed(5) return math.random(1000) end\n";
    struct tlua_options o = {.job = "test", .task = "t#4", .seed = 7};
    struct tlua *a = task_with(src, &o), *b = task_with(src, &o);
    o.seed = 8;
    struct tlua *c = task_with(src, &o);
    struct wire_writer ra, rb, rc;
    wire_writer_init(&ra), wire_writer_init(&rb), wire_writer_init(&rc);
    struct cloister_err err;
    assert_int_equal(tlua_call(a, "draw", NULL, 0, NULL, &ra, &err), CLOISTER_OK);
    assert_int_equal(tlua_call(b, "draw", NULL, 0, NULL, &rb, &err), CLOISTER_OK);
    assert_int_equal(tlua_call(c, "draw", NULL, 0, NULL, &rc, &err), CLOISTER_OK);
    assert_int_equal(ra.len, rb.len);
    assert_memory_equal(ra.buf, rb.buf, ra.len);
    assert_false(ra.len == rc.len && memcmp(ra.buf, rc.buf, ra.len) == 0);
    ra.len = rc.len = 0;
    assert_int_equal(tlua_call(a, "reseed", NULL, 0, NULL, &ra, &err), CLOISTER_OK);
    assert_int_equal(tlua_call(c, "reseed", NULL, 0, NULL, &rc, &err), CLOISTER_OK);
    assert_memory_equal(ra.buf, rc.buf, ra.len);
    wire_writer_free(&ra), wire_writer_free(&rb), wire_writer_free(&rc);
    tlua_free(a), tlua_free(b), tlua_free(c);
}

/* Allowed corners: the sandbox keeps what jobs need. */
static void allowed_corners(void **state)
{
    struct tlua *t = task(
        "function run()\n"
        "  assert(string.rep('', 1 << 62) == '' and ('ab'):rep(3, ',') == 'ab,ab,ab')\n"
        "  local t = {3, 1, 2}; table.sort(t); table.insert(t, 4); table.remove(t, 1)\n"
        "  local big = {}\n" /* appending and popping are not charged as shifts */
        "  for i = 1, 200000 do table.insert(big, i) end\n"
        "  for i = 1, 200000 do table.remove(big) end\n"
        "  assert(table.concat(t, ' ') == '2 3 4')\n"
        "  assert(table.concat(table.move({1, 2, 3}, 1, 3, 2), ' ') == '1 1 2 3')\n"
        "  local f = assert(load('return 1 + ...')); assert(f(1) == 2)\n"
        "  local g = assert(load('return x', 'c', 't', {x = 5})); assert(g() == 5)\n"
        "  assert(collectgarbage('count') > 0 and collectgarbage() == 0)\n"
        "  assert(getmetatable('') == false and ('abc'):upper() == 'ABC')\n"
        "  assert(utf8.len('h\\u{e9}') == 2 and math.type(1) == 'integer')\n"
        "  setmetatable({}, {__index = function() end})\n"
        "  assert(not pcall(error, 'x') and select('#', 1, 2) == 2)\n"
        "end\n");
    struct cloister_err err;
    if (call(t, "run", NULL, &err, NULL) != CLOISTER_OK)
        fail_msg("%s", err.msg);
    tlua_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(word_count),
        cmocka_unit_test(escapes_fail_cleanly),
        cmocka_unit_test(failures_leak_nothing),
        cmocka_unit_test(bytecode_refused_at_load),
        cmocka_unit_test(missing_function_and_bad_args),
        cmocka_unit_test(messages_name_job_task_function_line),
        cmocka_unit_test(deep_recursion),
        cmocka_unit_test(print_goes_to_the_log),
        cmocka_unit_test(random_is_seeded_per_task),
        cmocka_unit_test(allowed_corners),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
