/* scbr_parse.c -- the SCBR text language: a hand-written lexer and recursive-descent parser.
 *
 *   subscription := predicate ("and" predicate)*
 *   predicate    := NAME OP VALUE | NAME "exists" | NAME "prefix" STRING     OP: = != < <= > >=
 *   publication  := NAME "=" VALUE ("," NAME "=" VALUE)*
 *   VALUE        := integer | decimal | "string" (escapes \" and \\ only)
 *   NAME         := [A-Za-z_][A-Za-z0-9_.]*
 *
 * Each line is parsed into a scratch area (names and unescaped strings, NUL-terminated), then the
 * builder of scbr_model.c copies it into one block. Every error says where (file:line:col, 1-based
 * byte columns) and what was expected, and names what was found. */
#include <cloister/scbr.h>

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scbr/common/scbr_internal.h"

struct lexer {
    const char *s;
    size_t len, pos;
    const char *file;
    unsigned line;
    struct cloister_err *err;
    char *scratch; /* room for every name and string of the line, NUL-terminated */
    size_t used;
};

static void skip_space(struct lexer *lx)
{
    while (lx->pos < lx->len && (lx->s[lx->pos] == ' ' || lx->s[lx->pos] == '\t'))
        lx->pos++;
}

static bool at_end(struct lexer *lx)
{
    skip_space(lx);
    return lx->pos >= lx->len || lx->s[lx->pos] == '#';
}

/* What is at the cursor, for "found ..." in messages. */
static void describe_here(struct lexer *lx, char *out, size_t cap)
{
    if (at_end(lx)) {
        snprintf(out, cap, "end of line");
        return;
    }
    size_t n = 0;
    while (lx->pos + n < lx->len && n < 16 && lx->s[lx->pos + n] != ' ' &&
           lx->s[lx->pos + n] != '\t')
        n++;
    unsigned char c = (unsigned char)lx->s[lx->pos];
    if (c < 0x20 || c == 0x7f)
        snprintf(out, cap, "byte 0x%02x", c);
    else
        snprintf(out, cap, "'%.*s'", (int)n, lx->s + lx->pos);
}

static bool fail_at(struct lexer *lx, size_t pos, const char *expected, const char *found)
{
    cloister_errf(lx->err, CLOISTER_E_INVALID, "%s:%u:%zu: expected %s, found %s", lx->file,
                  lx->line, pos + 1, expected, found);
    return false;
}

static bool expected(struct lexer *lx, const char *what)
{
    char found[48];
    describe_here(lx, found, sizeof found);
    return fail_at(lx, lx->pos, what, found);
}

static bool is_name_start(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static bool is_name_char(char c)
{
    return is_name_start(c) || (c >= '0' && c <= '9') || c == '.';
}

static size_t word_len(struct lexer *lx)
{
    size_t n = 0;
    if (lx->pos < lx->len && is_name_start(lx->s[lx->pos]))
        while (lx->pos + n < lx->len && is_name_char(lx->s[lx->pos + n]))
            n++;
    return n;
}

static bool accept_word(struct lexer *lx, const char *w)
{
    skip_space(lx);
    size_t n = word_len(lx);
    if (n != strlen(w) || memcmp(lx->s + lx->pos, w, n) != 0)
        return false;
    lx->pos += n;
    return true;
}

static bool parse_name(struct lexer *lx, const char **out)
{
    skip_space(lx);
    size_t n = word_len(lx);
    if (n == 0)
        return expected(lx, "an attribute name");
    if (n > SCBR_NAME_MAX)
        return fail_at(lx, lx->pos, "an attribute name of at most 255 bytes", "a longer one");
    char *d = lx->scratch + lx->used;
    memcpy(d, lx->s + lx->pos, n);
    d[n] = 0;
    lx->used += n + 1;
    lx->pos += n;
    *out = d;
    return true;
}

static bool parse_string(struct lexer *lx, struct scbr_value *v)
{
    size_t start = lx->pos;
    char *d = lx->scratch + lx->used;
    size_t n = 0;
    lx->pos++; /* opening quote */
    for (;;) {
        if (lx->pos >= lx->len)
            return fail_at(lx, lx->pos, "a closing '\"'", "end of line");
        char c = lx->s[lx->pos];
        if (c == '"')
            break;
        if (c == '\\') {
            char e = lx->pos + 1 < lx->len ? lx->s[lx->pos + 1] : 0;
            if (e != '"' && e != '\\')
                return fail_at(lx, lx->pos, "\\\" or \\\\ (the only escapes)",
                               "another backslash sequence");
            c = e;
            lx->pos++;
        }
        d[n++] = c;
        lx->pos++;
    }
    lx->pos++; /* closing quote */
    d[n] = 0;
    if (n > SCBR_STRING_MAX)
        return fail_at(lx, start, "a string of at most 65535 bytes", "a longer one");
    if (!scbr_utf8_valid(d, n))
        return fail_at(lx, start, "a UTF-8 string", "invalid UTF-8 or a NUL byte");
    lx->used += n + 1;
    v->type = SCBR_STRING;
    v->u.s.ptr = d;
    v->u.s.len = (uint32_t)n;
    return true;
}

static size_t digits(struct lexer *lx, size_t at)
{
    size_t n = 0;
    while (at + n < lx->len && lx->s[at + n] >= '0' && lx->s[at + n] <= '9')
        n++;
    return n;
}

static bool parse_number(struct lexer *lx, struct scbr_value *v)
{
    size_t start = lx->pos, at = start;
    if (lx->s[at] == '-')
        at++;
    size_t nd = digits(lx, at);
    if (nd == 0)
        return expected(lx, "a value (integer, decimal or \"string\")");
    at += nd;
    bool is_double = false;
    if (at < lx->len && lx->s[at] == '.') {
        size_t f = digits(lx, at + 1);
        if (f == 0)
            return fail_at(lx, at + 1, "digits after the decimal point", "none");
        at += 1 + f;
        is_double = true;
    }
    if (at < lx->len && (lx->s[at] == 'e' || lx->s[at] == 'E')) {
        size_t e = at + 1;
        if (e < lx->len && (lx->s[e] == '+' || lx->s[e] == '-'))
            e++;
        size_t x = digits(lx, e);
        if (x == 0)
            return fail_at(lx, e, "exponent digits", "none");
        at = e + x;
        is_double = true;
    }
    if (at < lx->len && is_name_char(lx->s[at]))
        return fail_at(lx, at, "a separator after the number", "more characters");
    char buf[400];
    if (at - start >= sizeof buf)
        return fail_at(lx, start, "a number of at most 399 characters", "a longer one");
    memcpy(buf, lx->s + start, at - start);
    buf[at - start] = 0;
    errno = 0;
    if (is_double) {
        double d = strtod(buf, NULL);
        if (!isfinite(d))
            return fail_at(lx, start, "a finite decimal", "one out of range");
        v->type = SCBR_DOUBLE;
        v->u.d = d;
    } else {
        long long i = strtoll(buf, NULL, 10);
        if (errno == ERANGE)
            return fail_at(lx, start, "a 64-bit integer", "one out of range");
        v->type = SCBR_INT;
        v->u.i = i;
    }
    lx->pos = at;
    return true;
}

static bool parse_value(struct lexer *lx, struct scbr_value *v)
{
    skip_space(lx);
    if (lx->pos < lx->len && lx->s[lx->pos] == '"')
        return parse_string(lx, v);
    if (lx->pos < lx->len &&
        (lx->s[lx->pos] == '-' || (lx->s[lx->pos] >= '0' && lx->s[lx->pos] <= '9')))
        return parse_number(lx, v);
    return expected(lx, "a value (integer, decimal or \"string\")");
}

static bool parse_op(struct lexer *lx, enum scbr_op *op)
{
    skip_space(lx);
    const char *s = lx->s + lx->pos;
    size_t left = lx->len - lx->pos;
    static const struct {
        const char *text;
        enum scbr_op op;
    } ops[] = {{"!=", SCBR_NE}, {"<=", SCBR_LE}, {">=", SCBR_GE},
               {"=", SCBR_EQ},  {"<", SCBR_LT},  {">", SCBR_GT}};
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        size_t n = strlen(ops[i].text);
        if (left >= n && memcmp(s, ops[i].text, n) == 0) {
            lx->pos += n;
            *op = ops[i].op;
            return true;
        }
    }
    if (accept_word(lx, "exists")) {
        *op = SCBR_EXISTS;
        return true;
    }
    if (accept_word(lx, "prefix")) {
        *op = SCBR_PREFIX;
        return true;
    }
    return expected(lx, "an operator (= != < <= > >= exists prefix)");
}

static bool parse_pred(struct lexer *lx, struct scbr_pred *p)
{
    if (!parse_name(lx, &p->name) || !parse_op(lx, &p->op))
        return false;
    p->value = (struct scbr_value){.type = SCBR_INT};
    if (p->op == SCBR_EXISTS)
        return true;
    skip_space(lx);
    if (p->op == SCBR_PREFIX && (lx->pos >= lx->len || lx->s[lx->pos] != '"'))
        return expected(lx, "a \"string\" after prefix");
    return parse_value(lx, &p->value);
}

static bool lexer_init(struct lexer *lx, const char *text, size_t len, const char *file,
                       unsigned line, struct cloister_err *err)
{
    *lx = (struct lexer){text, len, 0, file ? file : "<input>", line, err, malloc(2 * len + 2), 0};
    if (!lx->scratch)
        cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
    return lx->scratch != NULL;
}

/* Up to SCBR_ITEMS_MAX items; the arrays are small, so they live on the heap once per line. */
struct scbr_sub *scbr_parse_sub(const char *text, size_t len, const char *file, unsigned line,
                                struct cloister_err *err)
{
    struct lexer lx;
    if (!lexer_init(&lx, text, len, file, line, err))
        return NULL;
    struct scbr_pred *preds = malloc(SCBR_ITEMS_MAX * sizeof *preds);
    struct scbr_sub *s = NULL;
    size_t n = 0;
    if (!preds) {
        cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
        goto done;
    }
    for (;;) {
        if (n == SCBR_ITEMS_MAX) {
            expected(&lx, "at most 1024 predicates");
            goto done;
        }
        if (!parse_pred(&lx, &preds[n++]))
            goto done;
        if (at_end(&lx))
            break;
        if (!accept_word(&lx, "and")) {
            expected(&lx, "'and' or the end of the line");
            goto done;
        }
    }
    s = scbr_sub_new(preds, n, err);
done:
    free(preds);
    free(lx.scratch);
    return s;
}

struct scbr_pub *scbr_parse_pub(const char *text, size_t len, const char *file, unsigned line,
                                struct cloister_err *err)
{
    struct lexer lx;
    if (!lexer_init(&lx, text, len, file, line, err))
        return NULL;
    struct scbr_pair *pairs = malloc(SCBR_ITEMS_MAX * sizeof *pairs);
    struct scbr_pub *p = NULL;
    size_t n = 0;
    if (!pairs) {
        cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
        goto done;
    }
    for (;;) {
        if (n == SCBR_ITEMS_MAX) {
            expected(&lx, "at most 1024 attributes");
            goto done;
        }
        skip_space(&lx);
        size_t name_pos = lx.pos;
        struct scbr_pair *pr = &pairs[n];
        if (!parse_name(&lx, &pr->name))
            goto done;
        for (size_t i = 0; i < n; i++)
            if (strcmp(pairs[i].name, pr->name) == 0) {
                fail_at(&lx, name_pos, "a new attribute name", "a repeated one");
                goto done;
            }
        skip_space(&lx);
        if (lx.pos >= lx.len || lx.s[lx.pos] != '=') {
            expected(&lx, "'='");
            goto done;
        }
        lx.pos++;
        if (!parse_value(&lx, &pr->value))
            goto done;
        n++;
        if (at_end(&lx))
            break;
        if (lx.s[lx.pos] != ',') {
            expected(&lx, "',' or the end of the line");
            goto done;
        }
        lx.pos++;
    }
    p = scbr_pub_new(pairs, n, NULL, 0, err);
done:
    free(pairs);
    free(lx.scratch);
    return p;
}

/* Calls item() for every line that holds something other than blanks and a comment. */
static int for_each_line(const char *text, size_t len, const char *file, struct cloister_err *err,
                         int (*item)(void *ctx, const char *line, size_t n, const char *file,
                                     unsigned lineno, struct cloister_err *err),
                         void *ctx)
{
    unsigned lineno = 0;
    size_t at = 0;
    while (at < len) {
        const char *nl = memchr(text + at, '\n', len - at);
        size_t n = nl ? (size_t)(nl - (text + at)) : len - at;
        const char *line = text + at;
        at += n + 1;
        lineno++;
        if (n && line[n - 1] == '\r')
            n--;
        size_t k = 0;
        while (k < n && (line[k] == ' ' || line[k] == '\t'))
            k++;
        if (k == n || line[k] == '#')
            continue;
        int rc = item(ctx, line, n, file, lineno, err);
        if (rc != 0)
            return rc;
    }
    return 0;
}

#define LIST_PUSH(list, item, err)                                                                 \
    do {                                                                                           \
        if (((list)->n & ((list)->n - 1)) == 0) {                                                  \
            size_t cap = (list)->n ? 2 * (list)->n : 1;                                            \
            void *grown = realloc((list)->v, cap * sizeof *(list)->v);                             \
            if (!grown) {                                                                          \
                return cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");                  \
            }                                                                                      \
            (list)->v = grown;                                                                     \
        }                                                                                          \
        (list)->v[(list)->n++] = (item);                                                           \
    } while (0)

static int add_sub(void *ctx, const char *line, size_t n, const char *file, unsigned lineno,
                   struct cloister_err *err)
{
    struct scbr_sub_list *l = ctx;
    struct scbr_sub *s = scbr_parse_sub(line, n, file, lineno, err);
    if (!s)
        return CLOISTER_E_INVALID;
    LIST_PUSH(l, s, err);
    return 0;
}

static int add_pub(void *ctx, const char *line, size_t n, const char *file, unsigned lineno,
                   struct cloister_err *err)
{
    struct scbr_pub_list *l = ctx;
    struct scbr_pub *p = scbr_parse_pub(line, n, file, lineno, err);
    if (!p)
        return CLOISTER_E_INVALID;
    LIST_PUSH(l, p, err);
    return 0;
}

int scbr_parse_subs(const char *text, size_t len, const char *file, struct scbr_sub_list *out,
                    struct cloister_err *err)
{
    *out = (struct scbr_sub_list){0};
    int rc = for_each_line(text, len, file ? file : "<input>", err, add_sub, out);
    if (rc != 0)
        scbr_sub_list_free(out);
    return rc;
}

int scbr_parse_pubs(const char *text, size_t len, const char *file, struct scbr_pub_list *out,
                    struct cloister_err *err)
{
    *out = (struct scbr_pub_list){0};
    int rc = for_each_line(text, len, file ? file : "<input>", err, add_pub, out);
    if (rc != 0)
        scbr_pub_list_free(out);
    return rc;
}

void scbr_sub_list_free(struct scbr_sub_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        scbr_sub_free(l->v[i]);
    free(l->v);
    *l = (struct scbr_sub_list){0};
}

void scbr_pub_list_free(struct scbr_pub_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        scbr_pub_free(l->v[i]);
    free(l->v);
    *l = (struct scbr_pub_list){0};
}

const char *scbr_op_name(enum scbr_op op)
{
    static const char *const names[] = {"=", "!=", "<", "<=", ">", ">=", "prefix", "exists"};
    return (unsigned)op <= SCBR_EXISTS ? names[op] : "?";
}

void scbr_text_put(struct scbr_text *t, const char *s, size_t n)
{
    if (t->failed)
        return;
    if (t->len + n + 1 > t->cap) {
        size_t cap = (t->len + n + 1) * 2;
        char *grown = realloc(t->buf, cap);
        if (!grown) {
            t->failed = true;
            return;
        }
        t->buf = grown, t->cap = cap;
    }
    memcpy(t->buf + t->len, s, n);
    t->len += n;
    t->buf[t->len] = 0;
}

void scbr_text_printf(struct scbr_text *t, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) {
        t->failed = true;
    } else if ((size_t)n < sizeof small) {
        scbr_text_put(t, small, (size_t)n);
    } else {
        char *big = malloc((size_t)n + 1);
        if (!big) {
            t->failed = true;
            return;
        }
        va_start(ap, fmt);
        vsnprintf(big, (size_t)n + 1, fmt, ap);
        va_end(ap);
        scbr_text_put(t, big, (size_t)n);
        free(big);
    }
}

char *scbr_text_take(struct scbr_text *t)
{
    if (!t->failed && t->buf)
        return t->buf;
    free(t->buf);
    return NULL;
}

static void put(struct scbr_text *t, const char *s, size_t n)
{
    scbr_text_put(t, s, n);
}

static void puts_text(struct scbr_text *t, const char *s)
{
    put(t, s, strlen(s));
}

static void put_value(struct scbr_text *t, const struct scbr_value *v)
{
    char buf[64];
    if (v->type == SCBR_INT) {
        snprintf(buf, sizeof buf, "%" PRId64, v->u.i);
        puts_text(t, buf);
    } else if (v->type == SCBR_DOUBLE) {
        /* The shortest form that reads back as the same double: 228.24, not 228.24000000000001. */
        for (int digits = 1; digits <= 17; digits++) {
            snprintf(buf, sizeof buf, "%.*g", digits, v->u.d);
            if (strtod(buf, NULL) == v->u.d)
                break;
        }
        if (!strpbrk(buf, ".e"))
            strcat(buf, ".0");
        puts_text(t, buf);
    } else {
        put(t, "\"", 1);
        for (uint32_t i = 0; i < v->u.s.len; i++) {
            char c = v->u.s.ptr[i];
            if (c == '"' || c == '\\')
                put(t, "\\", 1);
            put(t, &c, 1);
        }
        put(t, "\"", 1);
    }
}

char *scbr_sub_format(const struct scbr_sub *s)
{
    struct scbr_text t = {0};
    for (size_t i = 0; i < s->n; i++) {
        if (i)
            puts_text(&t, " and ");
        puts_text(&t, s->preds[i].name);
        put(&t, " ", 1);
        puts_text(&t, scbr_op_name(s->preds[i].op));
        if (s->preds[i].op != SCBR_EXISTS) {
            put(&t, " ", 1);
            put_value(&t, &s->preds[i].value);
        }
    }
    return scbr_text_take(&t);
}

char *scbr_pub_format(const struct scbr_pub *p)
{
    struct scbr_text t = {0};
    for (size_t i = 0; i < p->n; i++) {
        if (i)
            puts_text(&t, ", ");
        puts_text(&t, p->pairs[i].name);
        puts_text(&t, " = ");
        put_value(&t, &p->pairs[i].value);
    }
    return scbr_text_take(&t);
}
