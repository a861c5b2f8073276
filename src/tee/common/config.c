/* config.c -- the signed enclave config: defaults, range checks, the `key = value` text form
 * and the fixed-length wire form that is hashed into MRENCLAVE.
 *
 * The text parser works on (pointer, length) slices of the input so it never copies or
 * NUL-terminates untrusted text, and every error names the line it was found on. */
#include "tee/common/common.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define PAGE 4096ull
#define SIZE_LIMIT (1ull << 40) /* 1 TiB: heap and EPC budget */
#define KiB 1024ull
#define MiB (1024ull * KiB)
#define GiB (1024ull * MiB)

void tee_config_default(struct tee_config *c)
{
    *c = (struct tee_config){.heap_size = TEE_HEAP_DEFAULT,
                             .epc_budget = TEE_EPC_DEFAULT,
                             .threads = TEE_THREADS_DEFAULT};
}

static int check_size(const char *key, uint64_t v, struct cloister_err *err)
{
    if (v < PAGE || v > SIZE_LIMIT || v % PAGE)
        return cloister_errf(err, CLOISTER_E_INVALID,
                             "%s must be a multiple of 4 KiB between 4 KiB and 1 TiB, got %" PRIu64,
                             key, v);
    return 0;
}

int tee_config_check(const struct tee_config *c, struct cloister_err *err)
{
    if (check_size("heap_size", c->heap_size, err))
        return -1;
    if (c->epc_budget != TEE_EPC_UNLIMITED && check_size("epc_budget", c->epc_budget, err))
        return -1;
    if (c->threads < 1 || c->threads > TEE_THREADS_MAX)
        return cloister_errf(err, CLOISTER_E_INVALID, "threads must be between 1 and %d, got %u",
                             TEE_THREADS_MAX, c->threads);
    return 0;
}

/* ---- text form ---- */

struct slice {
    const char *p;
    size_t n;
};

static bool is_space(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\r';
}

static struct slice trim(struct slice s)
{
    while (s.n && is_space(s.p[0])) {
        s.p++;
        s.n--;
    }
    while (s.n && is_space(s.p[s.n - 1]))
        s.n--;
    return s;
}

static bool slice_is(struct slice s, const char *word)
{
    return s.n == strlen(word) && memcmp(s.p, word, s.n) == 0;
}

/* Decimal digits; returns how many were consumed, or -1 on overflow past max. */
static int parse_digits(struct slice *s, uint64_t *out, uint64_t max)
{
    int count = 0;
    uint64_t v = 0;
    while (s->n && s->p[0] >= '0' && s->p[0] <= '9') {
        unsigned d = (unsigned)(s->p[0] - '0');
        if (v > (max - d) / 10)
            return -1;
        v = v * 10 + d;
        s->p++;
        s->n--;
        count++;
    }
    *out = v;
    return count;
}

static uint64_t unit_of(struct slice u)
{
    static const struct {
        const char *name;
        uint64_t mult;
    } units[] = {{"", 1},    {"B", 1},     {"K", KiB}, {"KiB", KiB},
                 {"M", MiB}, {"MiB", MiB}, {"G", GiB}, {"GiB", GiB}};
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (slice_is(u, units[i].name))
            return units[i].mult;
    return 0;
}

/* "16 MiB", "93.5 MiB", "65536", or "unlimited" when allowed. */
static int parse_size(struct slice v, bool allow_unlimited, uint64_t *out, const char **why)
{
    if (allow_unlimited && slice_is(v, "unlimited")) {
        *out = TEE_EPC_UNLIMITED;
        return 0;
    }
    uint64_t whole, frac = 0, scale = 1;
    int nd = parse_digits(&v, &whole, SIZE_LIMIT);
    if (nd <= 0) {
        *why = nd < 0 ? "is too large" : "is not a size (e.g. 65536, 64 KiB, 93.5 MiB)";
        return -1;
    }
    if (v.n && v.p[0] == '.') {
        v.p++;
        v.n--;
        int nf = parse_digits(&v, &frac, 999999999);
        if (nf <= 0 || nf > 9) {
            *why = "has a bad fraction (at most 9 digits after the point)";
            return -1;
        }
        for (int i = 0; i < nf; i++)
            scale *= 10;
    }
    uint64_t unit = unit_of(trim(v));
    if (!unit) {
        *why = "has an unknown unit (use B, KiB, MiB or GiB)";
        return -1;
    }
    if (whole > SIZE_LIMIT / unit) {
        *why = "is larger than 1 TiB";
        return -1;
    }
    /* frac < scale <= 1e9 and unit <= 2^30, so frac * unit fits in 64 bits. */
    if (frac * unit % scale) {
        *why = "is not a whole number of bytes";
        return -1;
    }
    *out = whole * unit + frac * unit / scale;
    return 0;
}

static int parse_uint(struct slice v, uint64_t max, uint64_t *out, const char **why)
{
    int nd = parse_digits(&v, out, max);
    if (nd <= 0 || v.n) {
        *why = nd < 0 ? "is out of range" : "is not a non-negative integer";
        return -1;
    }
    return 0;
}

enum key_id { K_HEAP, K_EPC, K_THREADS, K_PRODUCT, K_SVN, K_DEBUG, K_COUNT };

static const struct {
    const char *name;
    enum key_id id;
} keys[] = {{"heap_size", K_HEAP},     {"epc_budget", K_EPC},       {"threads", K_THREADS},
            {"product_id", K_PRODUCT}, {"security_version", K_SVN}, {"svn", K_SVN},
            {"debug", K_DEBUG}};

/* Applies one value; on failure *why says what was wrong with it. */
static int apply(struct tee_config *c, enum key_id id, struct slice v, const char **why)
{
    uint64_t n;
    switch (id) {
    case K_HEAP: return parse_size(v, false, &c->heap_size, why);
    case K_EPC: return parse_size(v, true, &c->epc_budget, why);
    case K_THREADS:
        if (parse_uint(v, UINT16_MAX, &n, why))
            return -1;
        c->threads = (uint16_t)n;
        return 0;
    case K_PRODUCT:
    case K_SVN:
        if (parse_uint(v, UINT16_MAX, &n, why))
            return -1;
        *(id == K_PRODUCT ? &c->product_id : &c->svn) = (uint16_t)n;
        return 0;
    case K_DEBUG:
        if (!slice_is(v, "true") && !slice_is(v, "false")) {
            *why = "must be true or false";
            return -1;
        }
        c->debug = slice_is(v, "true");
        return 0;
    default: *why = "is not a known key"; return -1;
    }
}

static int parse_line(struct tee_config *c, struct slice line, size_t lineno, size_t seen[K_COUNT],
                      struct cloister_err *err)
{
    const char *hash = memchr(line.p, '#', line.n);
    if (hash)
        line.n = (size_t)(hash - line.p);
    line = trim(line);
    if (!line.n)
        return 0;
    if (memchr(line.p, '\0', line.n))
        return cloister_errf(err, CLOISTER_E_INVALID, "line %zu: contains a NUL byte", lineno);
    const char *eq = memchr(line.p, '=', line.n);
    if (!eq)
        return cloister_errf(err, CLOISTER_E_INVALID, "line %zu: expected 'key = value'", lineno);
    struct slice key = trim((struct slice){line.p, (size_t)(eq - line.p)});
    struct slice val = trim((struct slice){eq + 1, line.n - (size_t)(eq - line.p) - 1});
    int shown = key.n > 40 ? 40 : (int)key.n;
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        if (!slice_is(key, keys[i].name))
            continue;
        enum key_id id = keys[i].id;
        if (seen[id])
            return cloister_errf(err, CLOISTER_E_INVALID,
                                 "line %zu: '%.*s' is already set on line %zu", lineno, shown,
                                 key.p, seen[id]);
        seen[id] = lineno;
        const char *why = "";
        if (!val.n)
            return cloister_errf(err, CLOISTER_E_INVALID, "line %zu: '%.*s' has no value", lineno,
                                 shown, key.p);
        if (apply(c, id, val, &why))
            return cloister_errf(err, CLOISTER_E_INVALID, "line %zu: %.*s value '%.*s' %s", lineno,
                                 shown, key.p, val.n > 40 ? 40 : (int)val.n, val.p, why);
        struct cloister_err range;
        if (tee_config_check(c, &range))
            return cloister_errf(err, CLOISTER_E_INVALID, "line %zu: %s", lineno, range.msg);
        return 0;
    }
    return cloister_errf(err, CLOISTER_E_INVALID,
                         "line %zu: unknown key '%.*s' (known: heap_size, epc_budget, threads, "
                         "product_id, security_version, debug)",
                         lineno, shown, key.p);
}

int tee_config_parse(struct tee_config *c, const char *text, size_t len, struct cloister_err *err)
{
    struct tee_config tmp;
    tee_config_default(&tmp);
    size_t seen[K_COUNT] = {0}, lineno = 0;
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        if (parse_line(&tmp, (struct slice){p, n}, ++lineno, seen, err))
            return -1;
        p += n + (nl ? 1 : 0);
    }
    *c = tmp;
    return 0;
}

static const char *format_size(char *buf, size_t cap, uint64_t v)
{
    static const struct {
        uint64_t unit;
        const char *name;
    } units[] = {{GiB, "GiB"}, {MiB, "MiB"}, {KiB, "KiB"}};
    if (v == TEE_EPC_UNLIMITED) {
        snprintf(buf, cap, "unlimited");
        return buf;
    }
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        uint64_t u = units[i].unit;
        if (v < u)
            continue;
        if (v % u == 0) {
            snprintf(buf, cap, "%" PRIu64 " %s", v / u, units[i].name);
            return buf;
        }
        if (v <= SIZE_LIMIT && (v * 10) % u == 0) {
            snprintf(buf, cap, "%" PRIu64 ".%" PRIu64 " %s", v / u, (v * 10 / u) % 10,
                     units[i].name);
            return buf;
        }
    }
    snprintf(buf, cap, "%" PRIu64, v);
    return buf;
}

int tee_config_format(const struct tee_config *c, char *out, size_t cap)
{
    char heap[32], epc[32];
    return snprintf(out, cap,
                    "heap_size = %s\nepc_budget = %s\nthreads = %u\nproduct_id = %u\n"
                    "security_version = %u\ndebug = %s\n",
                    format_size(heap, sizeof heap, c->heap_size),
                    format_size(epc, sizeof epc, c->epc_budget), c->threads, c->product_id, c->svn,
                    c->debug ? "true" : "false");
}

/* ---- wire form ---- */

void tee_config_encode(const struct tee_config *c, uint8_t out[TEE_CONFIG_WIRE_LEN])
{
    struct wire_writer w;
    wire_writer_init_fixed(&w, out, TEE_CONFIG_WIRE_LEN);
    wire_put_header(&w, "CLCF", 1);
    wire_put_u64(&w, c->heap_size);
    wire_put_u64(&w, c->epc_budget);
    wire_put_u16(&w, c->threads);
    wire_put_u16(&w, c->product_id);
    wire_put_u16(&w, c->svn);
    wire_put_u8(&w, c->debug ? 1 : 0);
}

int tee_config_decode(struct tee_config *c, const void *buf, size_t len, struct cloister_err *err)
{
    struct wire_reader r;
    wire_reader_init(&r, buf, len);
    wire_get_header(&r, "CLCF", 1);
    struct tee_config tmp = {.heap_size = wire_get_u64(&r), .epc_budget = wire_get_u64(&r)};
    tmp.threads = wire_get_u16(&r);
    tmp.product_id = wire_get_u16(&r);
    tmp.svn = wire_get_u16(&r);
    uint8_t flags = wire_get_u8(&r);
    if (flags > 1)
        wire_reader_fail(&r, "unknown flag bits");
    if (tee_wire_finish(&r, "config", err))
        return -1;
    tmp.debug = flags & 1;
    struct cloister_err why;
    if (tee_config_check(&tmp, &why))
        return cloister_errf(err, CLOISTER_E_INVALID, "config: %s", why.msg);
    *c = tmp;
    return 0;
}
