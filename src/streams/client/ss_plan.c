/* ss_plan.c -- a pipeline file planned into segments (ss_plan.h).
 *
 * The file is never interpreted here: a plain runner loads it in the Lua sandbox and describes
 * it (ss_prelude.lua, __ss_describe: one line per fact), and this file parses the description.
 * A segment is "partitionable" -- it may run as several replicas, each holding the keys of one
 * partition -- when each of its keyed stages (reduce, scan, window) is its first stage and comes
 * right after a key_by, which ends the previous segment: the previous segment's replicas then
 * send each key to one replica. Any other stateful segment runs as one replica. */
#include "streams/client/ss_plan.h"

#include "streams/host/ss_host.h"
#include "util/fileio.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int read_config(struct ss_plan *p, const char *path, const struct ss_options *o,
                       struct cloister_err *err)
{
    uint8_t *text = NULL;
    size_t len = 0;
    if (file_read_all(path, SS_MESSAGE_MAX / 2, &text, &len) != 0)
        return cloister_errf(err, CLOISTER_E_NOT_FOUND, "cannot read the pipeline %s: %s", path,
                             strerror(errno));
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    char name[SS_NAME_MAX];
    snprintf(name, sizeof name, "%s", base);
    wire_put_str(&p->config, name);
    wire_put_bytes(&p->config, text, len);
    wire_put_varint(&p->config, o->nparams);
    for (size_t i = 0; i < 2 * o->nparams; i++)
        wire_put_str(&p->config, o->params[i]);
    free(text);
    if (o->nparams > SS_PARAMS_MAX || !wire_writer_ok(&p->config))
        return cloister_errf(err, CLOISTER_E_INVALID, "too many or too long parameters");
    crypto_sha256(p->hash, p->config.buf, p->config.len);
    return 0;
}

static int keep_column(struct ss_plan *p, const char *name, struct cloister_err *err)
{
    if (p->ncolumns == SS_COLUMNS_MAX)
        return cloister_errf(err, CLOISTER_E_INVALID, "more than %d columns", SS_COLUMNS_MAX);
    if (!(p->columns[p->ncolumns] = strdup(name)))
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "no memory");
    p->ncolumns++;
    return 0;
}

/* Parses the runner's description (ss_prelude.lua, __ss_describe). */
static int parse_description(struct ss_plan *p, const char *d, size_t len, struct cloister_err *err)
{
    char *text = strndup(d, len), *save = NULL;
    if (!text)
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "no memory");
    int rc = 0;
    for (char *line = strtok_r(text, "\n", &save); line && rc == 0;
         line = strtok_r(NULL, "\n", &save)) {
        unsigned idx, sec, hdr, sep;
        char op[32];
        int n = 0;
        if (strncmp(line, "name ", 5) == 0) {
            snprintf(p->pipeline, sizeof p->pipeline, "%s", line + 5);
        } else if (strncmp(line, "policy ", 7) == 0) {
            continue;
        } else if (strncmp(line, "column ", 7) == 0) {
            rc = keep_column(p, line + 7, err);
        } else if (strncmp(line, "durable ", 8) == 0) {
            snprintf(p->src_durable, sizeof p->src_durable, "%s", line + 8);
        } else if (strncmp(line, "filter ", 7) == 0) {
            snprintf(p->src_filter, sizeof p->src_filter, "%s", line + 7);
        } else if (sscanf(line, "source %15s %u %u %n", op, &hdr, &sep, &n) == 3 && n > 0) {
            p->src_csv = strcmp(op, "csv") == 0;
            p->src_kind = strcmp(op, "nats") == 0        ? SS_SOURCE_NATS
                          : strcmp(op, "jetstream") == 0 ? SS_SOURCE_JETSTREAM
                                                         : SS_SOURCE_FILE;
            p->src_header = hdr;
            p->src_sep = (char)sep;
            snprintf(p->src_path, sizeof p->src_path, "%s", line + n);
        } else if (sscanf(line, "stage %u %31s %u", &idx, op, &sec) == 3 && idx >= 1 &&
                   idx <= SS_STAGES_MAX) {
            p->stage_secure[idx] = sec;
            p->secure_stages += sec != 0;
            snprintf(p->stage_op[idx], sizeof p->stage_op[idx], "%s", op);
            p->nstages = idx;
        } else if (sscanf(line, "sink %15s %u %n", p->sink_kind, &hdr, &n) == 2 && n > 0) {
            snprintf(p->sink_path, sizeof p->sink_path, "%s", line + n);
        } else {
            rc = cloister_errf(err, CLOISTER_E_INVALID, "too many stages or a bad description");
        }
    }
    free(text);
    return rc;
}

int ss_plan_runner(const struct ss_plan *p, const struct ss_options *o, struct ss_host **h,
                   struct wire_writer *d, struct cloister_err *err)
{
    uint8_t *out = NULL;
    size_t outlen = 0;
    struct wire_writer in;
    wire_writer_init(&in);
    wire_put_bytes(&in, p->config.buf, p->config.len);
    int rc = ss_host_start(SS_TEE_NONE, o, NULL, h, err);
    if (rc == 0)
        rc = wire_writer_ok(&in)
                 ? ss_host_call(*h, SS_CALL_DESCRIBE, in.buf, in.len, &out, &outlen, err)
                 : cloister_errf(err, CLOISTER_E_NO_MEMORY, "no memory");
    if (rc == 0 && d)
        wire_put_raw(d, out, outlen);
    wire_writer_free(&in);
    free(out);
    return rc;
}

static bool stateful(const char *op)
{
    return strcmp(op, "reduce") == 0 || strcmp(op, "scan") == 0 || strcmp(op, "window") == 0;
}

/* "2-filter-secure", "3-5-key_by-map"; partitionable as the top of the file says. */
static void describe_segment(struct ss_plan *p, struct ss_segment_plan *g)
{
    char name[sizeof g->name]; /* not g->name itself: GCC cannot tell it from the op names */
    if (g->first == g->last)
        snprintf(name, sizeof name, "%u-%s%s", g->first, p->stage_op[g->first],
                 g->secure ? "-secure" : "");
    else
        snprintf(name, sizeof name, "%u-%u-%s-%s%s", g->first, g->last, p->stage_op[g->first],
                 p->stage_op[g->last], g->secure ? "-secure" : "");
    memcpy(g->name, name, sizeof name);
    g->partitionable = true;
    for (uint32_t i = g->first; i <= g->last; i++)
        if (stateful(p->stage_op[i]) &&
            (i != g->first || i == 1 || strcmp(p->stage_op[i - 1], "key_by") != 0))
            g->partitionable = false;
}

/* Groups the stages into maximal runs with the same flag in secure[] (1..nstages). */
static void group(struct ss_plan *p, const bool *secure)
{
    p->nseg = 0;
    for (unsigned i = 1; i <= p->nstages; i++) {
        struct ss_segment_plan *g = &p->seg[p->nseg];
        if (p->nseg > 0 && g[-1].secure == secure[i]) {
            g[-1].last = i;
            continue;
        }
        *g = (struct ss_segment_plan){.first = i, .last = i, .secure = secure[i]};
        p->nseg++;
    }
    for (unsigned i = 0; i < p->nseg; i++)
        describe_segment(p, &p->seg[i]);
}

/* A plain stage that may run in a neighbouring enclave: it holds no state (which would then
 * take the enclave's bounded heap) and writes nothing itself. */
static bool movable(const char *op)
{
    return strcmp(op, "map") == 0 || strcmp(op, "filter") == 0 || strcmp(op, "flat_map") == 0 ||
           strcmp(op, "key_by") == 0;
}

void ss_plan_fuse(struct ss_plan *p)
{
    bool secure[SS_STAGES_MAX + 1];
    memcpy(secure, p->stage_secure, sizeof secure);
    for (unsigned i = 2; i <= p->nstages; i++)
        secure[i] = secure[i] || (secure[i - 1] && movable(p->stage_op[i]));
    for (unsigned i = p->nstages; i-- > 1;)
        secure[i] = secure[i] || (secure[i + 1] && movable(p->stage_op[i]));
    group(p, secure);
}

int ss_plan_load(struct ss_plan *p, const char *path, const struct ss_options *o,
                 struct cloister_err *err)
{
    memset(p, 0, sizeof *p);
    wire_writer_init(&p->config);
    struct ss_host *h = NULL;
    struct wire_writer d;
    wire_writer_init(&d);
    int rc = read_config(p, path, o, err);
    if (rc == 0)
        rc = ss_plan_runner(p, o, &h, &d, err);
    ss_host_stop(h);
    struct wire_reader r;
    wire_reader_init(&r, d.buf, d.len);
    size_t dlen = 0, hlen = 0;
    const uint8_t *desc = rc == 0 ? wire_get_bytes(&r, SS_MESSAGE_MAX, &dlen) : NULL;
    const uint8_t *hdr = rc == 0 ? wire_get_bytes(&r, sizeof p->header - 1, &hlen) : NULL;
    if (rc == 0 && (!desc || !hdr))
        rc = cloister_errf(err, CLOISTER_E_INVALID, "malformed description");
    if (rc == 0) {
        memcpy(p->header, hdr, hlen);
        p->header[hlen] = '\0';
        rc = parse_description(p, (const char *)desc, dlen, err);
    }
    wire_writer_free(&d);
    if (rc == 0)
        group(p, p->stage_secure);
    return rc;
}

void ss_plan_free(struct ss_plan *p)
{
    for (size_t i = 0; i < p->ncolumns; i++)
        free(p->columns[i]);
    p->ncolumns = 0;
    wire_writer_free(&p->config);
}

int ss_plan_find(const struct ss_plan *p, const char *name)
{
    char *end = NULL;
    unsigned long first = strtoul(name, &end, 10);
    for (unsigned i = 0; i < p->nseg; i++)
        if (strcmp(p->seg[i].name, name) == 0 ||
            (end && *end == '\0' && end != name && first == p->seg[i].first))
            return (int)i;
    return -1;
}

int ss_plan_source_open(const struct ss_plan *p, const char *url, struct ss_source *s,
                        struct cloister_err *err)
{
    s->csv = p->src_csv;
    s->header = p->src_header;
    s->sep = p->src_sep;
    if (p->src_kind != SS_SOURCE_FILE) {
        struct ss_nats_source ns = {.kind = p->src_kind,
                                    .url = url,
                                    .name = p->src_path,
                                    .durable = p->src_durable,
                                    .filter = p->src_filter[0] ? p->src_filter : NULL,
                                    .follow = p->src_header};
        return ss_source_open_nats(s, &ns, err);
    }
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < p->ncolumns; i++)
        rc = ss_source_keep(s, p->columns[i], err);
    return rc == 0 ? ss_source_open(s, p->src_path, err) : rc;
}
