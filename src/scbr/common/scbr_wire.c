/* scbr_wire.c -- compact binary encoding of subscriptions and publications (wire.h codec).
 *
 *   subscription: header "CSBS" v1, count, then per predicate: name (bytes), op (u8),
 *                 value unless op is exists
 *   publication:  header "CSBP" v1, count, then per pair: name (bytes), value; payload (bytes)
 *   value:        type (u8: 0 int, 1 double, 2 string), then u64 two's complement, u64 IEEE-754
 *                 bits, or bytes
 *
 * The decoder copies names and strings NUL-terminated into a scratch area and hands the result
 * to the builders, which apply every rule of the data model; it never trusts a count before
 * wire_get_count has checked the input can hold it. */
#include <cloister/scbr.h>
#include <cloister/wire.h>

#include <stdlib.h>
#include <string.h>

#include "scbr/common/scbr_internal.h"

#define SCBR_PAYLOAD_MAX (64u << 20)

static void put_value(struct wire_writer *w, const struct scbr_value *v)
{
    wire_put_u8(w, (uint8_t)v->type);
    if (v->type == SCBR_INT) {
        wire_put_u64(w, (uint64_t)v->u.i);
    } else if (v->type == SCBR_DOUBLE) {
        uint64_t bits;
        memcpy(&bits, &v->u.d, sizeof bits);
        wire_put_u64(w, bits);
    } else {
        wire_put_bytes(w, v->u.s.ptr, v->u.s.len);
    }
}

/* The encoded record, or NULL when the writer ran out of memory. */
static uint8_t *take(struct wire_writer *w, size_t *len)
{
    uint8_t *out;
    return wire_writer_finish(w, &out, len) == 0 ? out : NULL;
}

uint8_t *scbr_sub_encode(const struct scbr_sub *s, size_t *len)
{
    struct wire_writer w;
    wire_writer_init(&w);
    wire_put_header(&w, "CSBS", 1);
    wire_put_varint(&w, s->n);
    for (size_t i = 0; i < s->n; i++) {
        wire_put_str(&w, s->preds[i].name);
        wire_put_u8(&w, (uint8_t)s->preds[i].op);
        if (s->preds[i].op != SCBR_EXISTS)
            put_value(&w, &s->preds[i].value);
    }
    return take(&w, len);
}

uint8_t *scbr_pub_encode(const struct scbr_pub *p, size_t *len)
{
    struct wire_writer w;
    wire_writer_init(&w);
    wire_put_header(&w, "CSBP", 1);
    wire_put_varint(&w, p->n);
    for (size_t i = 0; i < p->n; i++) {
        wire_put_str(&w, p->pairs[i].name);
        put_value(&w, &p->pairs[i].value);
    }
    wire_put_bytes(&w, p->payload, p->payload_len);
    return take(&w, len);
}

struct decoder {
    struct wire_reader r;
    char *scratch;
    size_t used;
};

static const char *get_text(struct decoder *d, size_t max, uint32_t *len)
{
    size_t n;
    const uint8_t *p = wire_get_bytes(&d->r, max, &n);
    if (!p)
        return NULL;
    char *out = d->scratch + d->used;
    memcpy(out, p, n);
    out[n] = 0;
    d->used += n + 1;
    *len = (uint32_t)n;
    return out;
}

static const char *get_name(struct decoder *d)
{
    uint32_t n;
    const char *name = get_text(d, SCBR_NAME_MAX, &n);
    if (name && !scbr_name_valid(name, n)) {
        wire_reader_fail(&d->r, "invalid attribute name");
        return NULL;
    }
    return name;
}

static void get_value(struct decoder *d, struct scbr_value *v)
{
    uint8_t type = wire_get_u8(&d->r);
    if (type == SCBR_INT) {
        v->type = SCBR_INT;
        v->u.i = (int64_t)wire_get_u64(&d->r);
    } else if (type == SCBR_DOUBLE) {
        uint64_t bits = wire_get_u64(&d->r);
        v->type = SCBR_DOUBLE;
        memcpy(&v->u.d, &bits, sizeof bits);
    } else if (type == SCBR_STRING) {
        v->type = SCBR_STRING;
        v->u.s.ptr = get_text(d, SCBR_STRING_MAX, &v->u.s.len);
        if (!v->u.s.ptr)
            v->u.s.ptr = "", v->u.s.len = 0;
    } else {
        wire_reader_fail(&d->r, "unknown value type");
        *v = (struct scbr_value){.type = SCBR_INT};
    }
}

/* Starts decoding: a scratch area of twice the input holds every copied name and string. */
static bool decoder_init(struct decoder *d, const void *buf, size_t len, struct cloister_err *err)
{
    wire_reader_init(&d->r, buf, len);
    d->used = 0;
    d->scratch = malloc(2 * len + 2);
    if (!d->scratch)
        cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
    return d->scratch != NULL;
}

static bool decoder_failed(struct decoder *d, struct cloister_err *err)
{
    if (wire_reader_ok(&d->r))
        return false;
    cloister_errf(err, CLOISTER_E_INVALID, "wire: %s", wire_reader_error(&d->r));
    return true;
}

struct scbr_sub *scbr_sub_decode(const void *buf, size_t len, struct cloister_err *err)
{
    struct decoder d;
    if (!decoder_init(&d, buf, len, err))
        return NULL;
    struct scbr_sub *s = NULL;
    wire_get_header(&d.r, "CSBS", 1);
    size_t n = wire_get_count(&d.r, 3, SCBR_ITEMS_MAX);
    struct scbr_pred *preds = calloc(n ? n : 1, sizeof *preds);
    if (!preds) {
        cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < n && wire_reader_ok(&d.r); i++) {
        preds[i].name = get_name(&d);
        uint8_t op = wire_get_u8(&d.r);
        if (op > SCBR_EXISTS)
            wire_reader_fail(&d.r, "unknown operator");
        preds[i].op = (enum scbr_op)op;
        if (wire_reader_ok(&d.r) && op != SCBR_EXISTS)
            get_value(&d, &preds[i].value);
    }
    wire_reader_finish(&d.r);
    if (!decoder_failed(&d, err))
        s = scbr_sub_new(preds, n, err);
done:
    free(preds);
    free(d.scratch);
    return s;
}

struct scbr_pub *scbr_pub_decode(const void *buf, size_t len, struct cloister_err *err)
{
    struct decoder d;
    if (!decoder_init(&d, buf, len, err))
        return NULL;
    struct scbr_pub *p = NULL;
    wire_get_header(&d.r, "CSBP", 1);
    size_t n = wire_get_count(&d.r, 4, SCBR_ITEMS_MAX);
    struct scbr_pair *pairs = calloc(n ? n : 1, sizeof *pairs);
    if (!pairs) {
        cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < n && wire_reader_ok(&d.r); i++) {
        pairs[i].name = get_name(&d);
        if (wire_reader_ok(&d.r))
            get_value(&d, &pairs[i].value);
    }
    size_t plen = 0;
    const uint8_t *payload = wire_get_bytes(&d.r, SCBR_PAYLOAD_MAX, &plen);
    wire_reader_finish(&d.r);
    if (!decoder_failed(&d, err))
        p = scbr_pub_new(pairs, n, payload, plen, err);
done:
    free(pairs);
    free(d.scratch);
    return p;
}
