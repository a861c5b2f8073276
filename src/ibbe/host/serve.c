/* serve.c -- the IBBE-SGX admin daemon (include/cloister/ibbe_serve.h): libmicrohttpd in epoll
 * mode with a small pool of polling threads, JSON bodies with jansson.
 *
 * Connections are bounded (in all, per client address, and in idle time), so idle sockets
 * cannot shut clients out, and epoll has no FD_SETSIZE ceiling. The admin and its enclave are
 * used by one request at a time (a mutex); reads of the store (GET) need neither, so they are
 * answered while an update runs. A request body is collected up to body_max, then routed; the
 * token is checked before the body is read; a request names at most members_max identities,
 * which bounds the work one request can cause. A dead enclave is restarted before the next
 * operation, and an operation that found it dead is retried once (nothing was written: the
 * store is written only after the enclave answers). Every answer is JSON; errors say what was
 * wrong, never anything secret, and a failure of the store, the runtime or the enclave answers
 * 500 with its kind only (its detail, which may name host paths or processes, goes to the
 * log). */
#include <cloister/crypto.h>
#include <cloister/hpke.h>
#include <cloister/ibbe_serve.h>

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#define CLOG_MODULE "ibbe"
#include "http/http.h"
#include "util/hex.h"
#include "util/log.h"

struct ibbe_server {
    struct MHD_Daemon *d;
    ibbe_admin *admin;
    pthread_mutex_t lock; /* the admin: one operation at a time */
    bool stopping;        /* under lock: queued operations are answered 503 */
    struct ibbe_server_options o;
    char *token;
    uint16_t port;
};

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, json_t *j)
{
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (!text)
        return MHD_NO;
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(text), text,
                                                             MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", "application/json");
    enum MHD_Result rc = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return rc;
}

static enum MHD_Result error(struct MHD_Connection *c, unsigned status, const char *msg)
{
    return reply(c, status, json_pack("{s:s}", "error", msg));
}

/* A failure that is not about the request: its kind to the client, its detail to the log. */
static enum MHD_Result internal(struct MHD_Connection *c, const struct cloister_err *err)
{
    char msg[128];
    clog_error("%s", err->msg);
    snprintf(msg, sizeof msg, "internal error (%s); the daemon's log has the detail",
             cloister_strerror(err->code));
    return error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, msg);
}

static json_t *summary_json(const char *name, const struct ibbe_group_summary *g)
{
    return json_pack("{s:s,s:I,s:I,s:I,s:I,s:I,s:I}", "group", name, "epoch", (json_int_t)g->epoch,
                     "oldest_epoch", (json_int_t)g->oldest_epoch, "members", (json_int_t)g->members,
                     "partition_size", (json_int_t)g->partition_size, "partitions",
                     (json_int_t)g->partitions, "bytes", (json_int_t)g->bytes);
}

/* The group as GET returns it (read back from the store, no member decoded). */
static enum MHD_Result group_reply(struct MHD_Connection *c, ibbe_admin *a, const char *name,
                                   unsigned status)
{
    struct ibbe_group_summary g;
    struct cloister_err err;
    if (ibbe_store_group_summary(ibbe_admin_store(a), name, &g, &err) == CLOISTER_OK)
        return reply(c, status, summary_json(name, &g));
    if (err.code == CLOISTER_E_NOT_FOUND)
        return error(c, MHD_HTTP_NOT_FOUND, err.msg);
    return internal(c, &err);
}

/* GET /v1/groups: every group of the store, sorted by name. */
static enum MHD_Result list_reply(struct MHD_Connection *c, ibbe_admin *a)
{
    char **names;
    size_t count;
    struct cloister_err err;
    ibbe_store *s = ibbe_admin_store(a);
    if (ibbe_store_list_groups(s, &names, &count, &err) != CLOISTER_OK)
        return internal(c, &err);
    json_t *arr = json_array();
    for (size_t i = 0; i < count; i++) {
        struct ibbe_group_summary g;
        if (ibbe_store_group_summary(s, names[i], &g, &err) == CLOISTER_OK)
            json_array_append_new(arr, summary_json(names[i], &g));
        else /* listed, but unreadable now (being replaced, or damaged) */
            json_array_append_new(arr, json_pack("{s:s,s:s}", "group", names[i], "error",
                                                 cloister_strerror(err.code)));
    }
    ibbe_store_free_names(names, count);
    return reply(c, MHD_HTTP_OK, json_pack("{s:o}", "groups", arr));
}

/* A JSON array of identity strings into a malloc'd array of borrowed pointers. */
static int id_array(json_t *arr, const char ***ids, size_t *count)
{
    if (!json_is_array(arr) || json_array_size(arr) == 0)
        return -1;
    size_t n = json_array_size(arr);
    const char **v = malloc(n * sizeof *v);
    if (!v)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (!(v[i] = json_string_value(json_array_get(arr, i)))) {
            free(v);
            return -1;
        }
    *ids = v;
    *count = n;
    return 0;
}

/* Whether a failed admin operation refused what the request asked for (409), rather than the
 * store, the runtime or the enclave failing (500). */
static bool refused(int code)
{
    switch (code) {
    case CLOISTER_E_INVALID:
    case CLOISTER_E_EXISTS:
    case CLOISTER_E_NOT_FOUND:
    case CLOISTER_E_DENIED:
    case CLOISTER_E_STATE: return true;
    default: return false;
    }
}

static enum MHD_Result failed(struct MHD_Connection *c, const struct cloister_err *err)
{
    return refused(err->code) ? error(c, MHD_HTTP_CONFLICT, err->msg) : internal(c, err);
}

/* ---- the admin, one operation at a time ------------------------------------------------------ */

enum op { OP_CREATE, OP_ADD, OP_REMOVE, OP_EXTRACT };

struct op_args {
    enum op op;
    const char *group;
    const char **ids;
    size_t count;
    const uint8_t **to; /* extract */
    uint8_t **key;
    size_t *keylen;
};

static int run_op(ibbe_admin *a, const struct op_args *x, struct cloister_err *err)
{
    switch (x->op) {
    case OP_CREATE: return ibbe_admin_create(a, x->group, x->ids, x->count, err);
    case OP_ADD: return ibbe_admin_add(a, x->group, x->ids, x->count, err);
    case OP_REMOVE: return ibbe_admin_remove(a, x->group, x->ids, x->count, err);
    case OP_EXTRACT: return ibbe_admin_extract(a, x->ids, x->to, 1, x->key, x->keylen, err);
    }
    return cloister_errf(err, CLOISTER_E_INVALID, "unknown operation");
}

static int restart(struct ibbe_server *s, struct cloister_err *err)
{
    int rc = ibbe_admin_restart(s->admin, err);
    if (rc == CLOISTER_OK)
        clog_info("the ibbe enclave had died: restarted");
    else
        clog_error("the ibbe enclave had died and does not restart: %s", err->msg);
    return rc;
}

/* Runs the operation under the admin lock: a dead enclave is restarted first, and an operation
 * that finds it dead is retried once. CLOISTER_E_BUSY when the daemon is stopping. */
static int admin_op(struct ibbe_server *s, const struct op_args *x, struct cloister_err *err)
{
    struct tee_info info;
    int rc = CLOISTER_OK;
    pthread_mutex_lock(&s->lock);
    if (s->stopping)
        rc = cloister_errf(err, CLOISTER_E_BUSY, "the daemon is stopping");
    else if (tee_get_info(ibbe_admin_enclave(s->admin), &info) == CLOISTER_OK && !info.alive)
        rc = restart(s, err);
    if (rc == CLOISTER_OK && (rc = run_op(s->admin, x, err)) == CLOISTER_E_DEAD &&
        (rc = restart(s, err)) == CLOISTER_OK)
        rc = run_op(s->admin, x, err);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

static enum MHD_Result extract(struct MHD_Connection *c, struct ibbe_server *s, json_t *body)
{
    const char *user = json_string_value(json_object_get(body, "user"));
    const char *to_hex = json_string_value(json_object_get(body, "to"));
    uint8_t to[HPKE_PUBLIC_LEN], *key;
    const uint8_t *recipient = NULL;
    size_t len;
    struct cloister_err err;
    if (!user)
        return error(c, MHD_HTTP_BAD_REQUEST, "extract: \"user\" (a string) is required");
    if (to_hex) {
        if (hex_decode(to, sizeof to, to_hex, strlen(to_hex)) != (long)sizeof to)
            return error(c, MHD_HTTP_BAD_REQUEST, "extract: \"to\" must be 64 hex digits");
        recipient = to;
    }
    struct op_args x = {.op = OP_EXTRACT,
                        .ids = &user,
                        .to = &recipient,
                        .key = &key,
                        .keylen = &len};
    if (admin_op(s, &x, &err) != CLOISTER_OK)
        return failed(c, &err);
    char *hex = malloc(2 * len + 1);
    enum MHD_Result rc = MHD_NO;
    if (hex) {
        hex_encode(hex, key, len);
        rc = reply(c, MHD_HTTP_OK, json_pack("{s:s,s:s}", "user", user, "key", hex));
        crypto_wipe(hex, 2 * len);
        free(hex);
    }
    crypto_wipe(key, len);
    free(key);
    return rc;
}

/* POST /v1/groups, /v1/groups/G/add, /v1/groups/G/remove. */
static enum MHD_Result change(struct MHD_Connection *c, struct ibbe_server *s, const char *group,
                              const char *op, json_t *body)
{
    bool create = !group;
    json_t *arr = json_object_get(body, create ? "members" : "users");
    const char **ids = NULL;
    size_t count = 0;
    struct cloister_err err;
    if (create && !(group = json_string_value(json_object_get(body, "group"))))
        return error(c, MHD_HTTP_BAD_REQUEST, "create: \"group\" (a string) is required");
    if (!ibbe_group_name_valid(group))
        return error(c, MHD_HTTP_BAD_REQUEST, "invalid group name");
    if (json_array_size(arr) > s->o.members_max) {
        char msg[160];
        snprintf(msg, sizeof msg,
                 "at most %zu identities per request: create the group, then add the rest in "
                 "batches",
                 s->o.members_max);
        return error(c, MHD_HTTP_CONTENT_TOO_LARGE, msg);
    }
    if (id_array(arr, &ids, &count) != 0)
        return error(c, MHD_HTTP_BAD_REQUEST,
                     create ? "create: \"members\" must be a non-empty array of strings"
                            : "\"users\" must be a non-empty array of strings");
    struct op_args x = {.op = create                   ? OP_CREATE
                              : strcmp(op, "add") == 0 ? OP_ADD
                                                       : OP_REMOVE,
                        .group = group,
                        .ids = ids,
                        .count = count};
    int bad = admin_op(s, &x, &err);
    free(ids);
    if (bad == CLOISTER_E_BUSY)
        return error(c, MHD_HTTP_SERVICE_UNAVAILABLE, err.msg);
    /* NOT_FOUND names a missing group or a missing member: only the first is a 404 */
    if (bad && !create && ibbe_store_group_bytes(ibbe_admin_store(s->admin), group) < 0)
        return error(c, MHD_HTTP_NOT_FOUND, err.msg);
    if (bad)
        return failed(c, &err);
    clog_info("group %s %s: %zu %s", group,
              create                   ? "created"
              : strcmp(op, "add") == 0 ? "updated, added"
                                       : "updated, removed",
              count, count == 1 ? "member" : "members");
    return group_reply(c, s->admin, group, create ? MHD_HTTP_CREATED : MHD_HTTP_OK);
}

/* Routes a complete request. */
static enum MHD_Result route(struct MHD_Connection *c, struct ibbe_server *s, const char *method,
                             const char *url, const struct http_body *req)
{
    char group[IBBE_NAME_MAX + 2], op[16];
    bool post = strcmp(method, "POST") == 0, get = strcmp(method, "GET") == 0;
    int tail = 0;
    enum { R_NONE, R_GROUPS, R_GROUP, R_GROUP_OP, R_EXTRACT } r = R_NONE;
    if (strcmp(url, "/v1/groups") == 0)
        r = R_GROUPS;
    else if (strcmp(url, "/v1/extract") == 0)
        r = R_EXTRACT;
    else if (sscanf(url, "/v1/groups/%65[^/]%n", group, &tail) == 1 && url[tail] == '\0')
        r = R_GROUP;
    else if (sscanf(url, "/v1/groups/%65[^/]/%15[a-z]%n", group, op, &tail) == 2 &&
             url[tail] == '\0' && (strcmp(op, "add") == 0 || strcmp(op, "remove") == 0))
        r = R_GROUP_OP;
    if (r == R_NONE)
        return error(c, MHD_HTTP_NOT_FOUND, "no such route");
    if (r == R_GROUPS && get)
        return list_reply(c, s->admin);
    if ((r == R_GROUP && !get) || (r != R_GROUP && !post))
        return error(c, MHD_HTTP_METHOD_NOT_ALLOWED,
                     r == R_GROUP    ? "use GET"
                     : r == R_GROUPS ? "use GET (list) or POST (create)"
                                     : "use POST");
    if (r == R_GROUP)
        return ibbe_group_name_valid(group) ? group_reply(c, s->admin, group, MHD_HTTP_OK)
                                            : error(c, MHD_HTTP_NOT_FOUND, "no such group");
    json_error_t jerr;
    json_t *body = json_loadb(req->data ? req->data : "", req->len, 0, &jerr);
    if (!json_is_object(body)) {
        json_decref(body);
        char msg[256];
        snprintf(msg, sizeof msg, "the body must be a JSON object: %s (line %d, column %d)",
                 jerr.text, jerr.line, jerr.column);
        return error(c, MHD_HTTP_BAD_REQUEST, msg);
    }
    enum MHD_Result rc = r == R_EXTRACT ? extract(c, s, body)
                                        : change(c, s, r == R_GROUPS ? NULL : group, op, body);
    json_decref(body);
    return rc;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **con_cls)
{
    struct ibbe_server *s = cls;
    struct http_body *req = *con_cls;
    if (!req) { /* headers only: check the token before accepting a body */
        if (!http_bearer_ok(c, s->token))
            return error(c, MHD_HTTP_UNAUTHORIZED, "missing or wrong bearer token");
        if (!(req = calloc(1, sizeof *req)))
            return MHD_NO;
        *con_cls = req;
        return MHD_YES;
    }
    if (*upload_size) {
        if (http_body_add(req, upload, *upload_size, s->o.body_max) != 0)
            return MHD_NO;
        *upload_size = 0;
        return MHD_YES;
    }
    if (req->too_big) {
        char msg[64];
        snprintf(msg, sizeof msg, "request body over %zu bytes", s->o.body_max);
        return error(c, MHD_HTTP_CONTENT_TOO_LARGE, msg);
    }
    return route(c, s, method, url, req);
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
    struct http_body *req = *con_cls;
    if (req) {
        http_body_free(req);
        free(req);
        *con_cls = NULL;
    }
}

void ibbe_server_options_init(struct ibbe_server_options *o)
{
    memset(o, 0, sizeof *o);
    o->listen = IBBE_SERVE_LISTEN;
    o->threads = 4;
    o->connections = 4096;
    o->per_ip = 256;
    o->timeout_s = 30;
    o->body_max = (size_t)32 << 20;
    o->members_max = (size_t)1 << 18;
}

int ibbe_server_start(ibbe_admin *a, const char *listen, const char *token, ibbe_server **out,
                      struct cloister_err *err)
{
    struct ibbe_server_options o;
    ibbe_server_options_init(&o);
    o.listen = listen;
    o.token = token;
    return ibbe_server_start_with(a, &o, out, err);
}

int ibbe_server_start_with(ibbe_admin *a, const struct ibbe_server_options *o, ibbe_server **out,
                           struct cloister_err *err)
{
    char host[64];
    unsigned port;
    int used = 0;
    struct sockaddr_in sa = {.sin_family = AF_INET};
    const char *listen = o->listen ? o->listen : IBBE_SERVE_LISTEN;
    if (sscanf(listen, "%63[0-9.]:%u%n", host, &port, &used) != 2 || listen[used] != '\0' ||
        port > 65535 || inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
        return cloister_errf(err, CLOISTER_E_INVALID,
                             "--listen: expected IPv4:PORT, e.g. 127.0.0.1:8080");
    }
    if (!o->token || strlen(o->token) < IBBE_TOKEN_MIN)
        return cloister_errf(err, CLOISTER_E_INVALID, "the token must have at least 16 characters");
    if (!o->threads || !o->connections || !o->per_ip || !o->timeout_s || !o->body_max ||
        !o->members_max)
        return cloister_errf(err, CLOISTER_E_INVALID, "server limits must be positive");
    sa.sin_port = htons((uint16_t)port);
    ibbe_server *s = calloc(1, sizeof *s);
    if (!s || !(s->token = strdup(o->token))) {
        free(s);
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
    }
    pthread_mutex_init(&s->lock, NULL);
    s->admin = a;
    s->o = *o;
    s->o.listen = NULL; /* not kept: the caller's strings */
    s->o.token = NULL;
    s->d = MHD_start_daemon(MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ITC, (uint16_t)port, NULL, NULL,
                            handle, s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                            MHD_OPTION_NOTIFY_COMPLETED, completed, s, MHD_OPTION_THREAD_POOL_SIZE,
                            o->threads, MHD_OPTION_CONNECTION_LIMIT, o->connections,
                            MHD_OPTION_PER_IP_CONNECTION_LIMIT, o->per_ip,
                            MHD_OPTION_CONNECTION_TIMEOUT, o->timeout_s, MHD_OPTION_END);
    if (!s->d) {
        int why = errno;
        ibbe_server_stop(s);
        return cloister_errf(err, CLOISTER_E_SYSTEM, "cannot listen on %s: %s", listen,
                             why ? strerror(why) : "address in use, or not a local address");
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info ? info->port : (uint16_t)port;
    clog_info("serving on %s:%u (epoll, %u threads, at most %u connections, %u per address, "
              "idle timeout %u s)",
              host, (unsigned)s->port, o->threads, o->connections, o->per_ip, o->timeout_s);
    *out = s;
    return 0;
}

uint16_t ibbe_server_port(const ibbe_server *s)
{
    return s->port;
}

/* Frees the server once MHD is stopped (or never started). */
static void server_free(ibbe_server *s)
{
    if (s->token)
        crypto_wipe(s->token, strlen(s->token));
    free(s->token);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

int ibbe_server_stop_within(ibbe_server *s, unsigned ms)
{
    if (!s)
        return CLOISTER_OK;
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += ms / 1000;
    deadline.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    MHD_socket listener = s->d ? MHD_quiesce_daemon(s->d) : MHD_INVALID_SOCKET; /* no new one */
    if (pthread_mutex_timedlock(&s->lock, &deadline) != 0) {
        clog_warn("stopping with an operation still running: it is abandoned (the store keeps "
                  "the group as it was before it)");
        return CLOISTER_E_BUSY;
    }
    s->stopping = true;
    pthread_mutex_unlock(&s->lock);
    if (s->d)
        MHD_stop_daemon(s->d);
    if (listener != MHD_INVALID_SOCKET)
        close(listener); /* quiescing handed it over */
    clog_info("stopped");
    server_free(s);
    return CLOISTER_OK;
}

void ibbe_server_stop(ibbe_server *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->lock);
    s->stopping = true;
    pthread_mutex_unlock(&s->lock);
    if (s->d)
        MHD_stop_daemon(s->d);
    server_free(s);
}
