/* pss.c -- gossip peer sampling (Jelasity, Voulgaris, Guerraoui, Kermarrec, van Steen, ACM TOCS
 * 2007), the view's logic and its exchange format (cyclosa_node.h).
 *
 * A view is an array of (address, age). The active thread ages the view, gossips with its oldest
 * peer (tail selection), pushes a buffer and pulls the peer's; the passive side answers with its
 * own buffer; both then run select. Building a buffer permutes the view and moves the H oldest
 * entries last, and the view keeps that order, so that the swapper step of select (drop from the
 * head) drops what was just sent. The array has room for a view and a full received buffer, so
 * select appends first and trims after, as the paper's pseudo-code does. */
#include <cloister/cyclosa_pss.h>
#include <cloister/wire.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cyclosa_view_init(struct cyclosa_view *v, size_t c, size_t healer, size_t swapper)
{
    memset(v, 0, sizeof *v);
    v->c = c < 2 ? 2 : c > CYCLOSA_VIEW_MAX ? CYCLOSA_VIEW_MAX : c;
    v->healer = healer;
    v->swapper = swapper;
}

static long find(const struct cyclosa_view *v, const char *addr)
{
    for (size_t i = 0; i < v->n; i++)
        if (strcmp(v->v[i].addr, addr) == 0)
            return (long)i;
    return -1;
}

static void drop(struct cyclosa_view *v, size_t i)
{
    memmove(&v->v[i], &v->v[i + 1], (v->n - i - 1) * sizeof v->v[0]);
    v->n--;
}

void cyclosa_view_add(struct cyclosa_view *v, const char *addr)
{
    if (v->n >= v->c || find(v, addr) >= 0 || strlen(addr) >= CYCLOSA_ADDR_MAX)
        return;
    snprintf(v->v[v->n].addr, CYCLOSA_ADDR_MAX, "%s", addr);
    v->v[v->n++].age = 0;
}

void cyclosa_view_remove(struct cyclosa_view *v, const char *addr)
{
    long i = find(v, addr);
    if (i >= 0)
        drop(v, (size_t)i);
}

const char *cyclosa_view_oldest(const struct cyclosa_view *v)
{
    size_t best = 0;
    for (size_t i = 1; i < v->n; i++)
        if (v->v[i].age > v->v[best].age)
            best = i;
    return v->n ? v->v[best].addr : NULL;
}

void cyclosa_view_age(struct cyclosa_view *v)
{
    for (size_t i = 0; i < v->n; i++)
        v->v[i].age++;
}

static void swap(struct cyclosa_peer *a, struct cyclosa_peer *b)
{
    struct cyclosa_peer t = *a;
    *a = *b;
    *b = t;
}

/* Moves the h oldest entries to the end (a partial selection sort from the back). */
static void oldest_last(struct cyclosa_view *v, size_t h)
{
    for (size_t k = 0; k < h && k < v->n; k++) {
        size_t end = v->n - 1 - k, best = 0;
        for (size_t i = 1; i <= end; i++)
            if (v->v[i].age >= v->v[best].age)
                best = i;
        swap(&v->v[best], &v->v[end]);
    }
}

int cyclosa_view_buffer(struct cyclosa_view *v, const char *self, uint64_t (*rnd)(void *),
                        void *arg, uint8_t **out, size_t *len)
{
    for (size_t i = v->n; i > 1; i--)
        swap(&v->v[i - 1], &v->v[rnd(arg) % i]);
    oldest_last(v, v->healer);
    size_t take = v->c / 2 >= 1 ? v->c / 2 - 1 : 0;
    if (take > v->n)
        take = v->n;
    struct wire_writer w;
    wire_writer_init(&w);
    wire_put_varint(&w, take + 1);
    wire_put_str(&w, self);
    wire_put_varint(&w, 0);
    for (size_t i = 0; i < take; i++) {
        wire_put_str(&w, v->v[i].addr);
        wire_put_varint(&w, v->v[i].age);
    }
    return wire_writer_finish(&w, out, len) == 0 ? CLOISTER_OK : CLOISTER_E_NO_MEMORY;
}

/* Whether s is a dotted IPv4 address and a port 1..65535, nothing else. */
static bool is_endpoint(const char *s)
{
    unsigned a, b, c, d, port;
    char tail;
    return sscanf(s, "%3u.%3u.%3u.%3u:%5u%c", &a, &b, &c, &d, &port, &tail) == 5 && a < 256 &&
           b < 256 && c < 256 && d < 256 && port > 0 && port < 65536 &&
           strspn(s, "0123456789.:") == strlen(s);
}

int cyclosa_view_decode(const uint8_t *buf, size_t len, struct cyclosa_peer *out, size_t *n,
                        struct cloister_err *err)
{
    struct wire_reader r;
    wire_reader_init(&r, buf, len);
    size_t count = wire_get_count(&r, 2, CYCLOSA_VIEW_MAX);
    *n = 0;
    for (size_t i = 0; i < count && wire_reader_ok(&r); i++) {
        if (wire_get_str(&r, out[i].addr, CYCLOSA_ADDR_MAX) != 0)
            break;
        uint64_t age = wire_get_varint(&r);
        if (!is_endpoint(out[i].addr) || age > UINT32_MAX)
            wire_reader_fail(&r, "a peer is not IPv4:PORT with an age");
        out[i].age = (unsigned)age;
    }
    if (wire_reader_finish(&r) != 0)
        return cloister_errf(err, CLOISTER_E_INVALID, "view buffer: %s", wire_reader_error(&r));
    *n = count;
    return CLOISTER_OK;
}

static void dedupe_youngest(struct cyclosa_view *v)
{
    for (size_t i = 0; i < v->n; i++)
        for (size_t j = i + 1; j < v->n;) {
            if (strcmp(v->v[i].addr, v->v[j].addr) != 0) {
                j++;
                continue;
            }
            if (v->v[j].age < v->v[i].age)
                v->v[i].age = v->v[j].age;
            drop(v, j);
        }
}

void cyclosa_view_select(struct cyclosa_view *v, const char *self, const struct cyclosa_peer *in,
                         size_t n, uint64_t (*rnd)(void *), void *arg)
{
    for (size_t i = 0; i < n && i < CYCLOSA_VIEW_MAX; i++)
        if (strcmp(in[i].addr, self) != 0)
            v->v[v->n++] = in[i];
    dedupe_youngest(v);
    size_t h = v->n > v->c ? v->n - v->c : 0;
    oldest_last(v, h < v->healer ? h : v->healer);
    v->n -= h < v->healer ? h : v->healer;
    size_t s = v->n > v->c ? v->n - v->c : 0;
    for (size_t i = 0; i < s && i < v->swapper; i++)
        drop(v, 0);
    while (v->n > v->c)
        drop(v, (size_t)(rnd(arg) % v->n));
}
