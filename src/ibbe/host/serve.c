/* serve.c -- the IBBE-SGX admin daemon (include/cloister/ibbe_serve.h): libmicrohttpd with its
 * internal polling thread (one request at a time: the admin and its enclave are not shared
 * between threads), JSON bodies with jansson.
 *
 * A request body is collected up to BODY_MAX, then routed. The token is checked before the
 * body is read. Every answer is JSON; errors say what was wrong, never anything secret. */
#include <cloister/crypto.h>
#include <cloister/hpke.h>
#include <cloister/ibbe_serve.h>

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "util/hex.h"

#define BODY_MAX ((size_t)64 << 20)
#define IDS_MAX (1u << 24)

struct ibbe_server {
    struct MHD_Daemon *d;
    ibbe_admin *admin;
    char *token;
    uint16_t port;
};

struct request {
    char *body;
    size_t len;
    bool too_big;
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

/* The group as GET returns it (read back from the store). */
static enum MHD_Result group_reply(struct MHD_Connection *c, ibbe_admin *a, const char *name,
                                   unsigned status)
{
    ibbe_group *g;
    struct cloister_err err;
    ibbe_store *s = ibbe_admin_store(a);
    if (ibbe_store_load_group(s, name, &g, &err) != CLOISTER_OK)
        return error(c,
                     err.code == CLOISTER_E_NOT_FOUND ? MHD_HTTP_NOT_FOUND
                                                      : MHD_HTTP_INTERNAL_SERVER_ERROR,
                     err.msg);
    json_t *j = json_pack(
        "{s:s,s:I,s:I,s:I,s:I,s:I}", "group", name, "epoch", (json_int_t)ibbe_group_epoch(g),
        "members", (json_int_t)ibbe_group_size(g), "partition_size",
        (json_int_t)ibbe_group_capacity(g), "partitions", (json_int_t)ibbe_group_partitions(g),
        "bytes", (json_int_t)ibbe_store_group_bytes(s, name));
    ibbe_group_free(g);
    return reply(c, status, j);
}

/* A JSON array of identity strings into a malloc'd array of borrowed pointers. */
static int id_array(json_t *arr, const char ***ids, size_t *count)
{
    if (!json_is_array(arr) || json_array_size(arr) == 0 || json_array_size(arr) > IDS_MAX)
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

/* Status of a refused admin operation: what the request asked for is refused (409), anything
 * else is the store, the runtime or the enclave failing (500). */
static unsigned refusal(int code)
{
    switch (code) {
    case CLOISTER_E_INVALID:
    case CLOISTER_E_EXISTS:
    case CLOISTER_E_NOT_FOUND:
    case CLOISTER_E_DENIED:
    case CLOISTER_E_STATE: return MHD_HTTP_CONFLICT;
    default: return MHD_HTTP_INTERNAL_SERVER_ERROR;
    }
}

static enum MHD_Result extract(struct MHD_Connection *c, ibbe_admin *a, json_t *body)
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
    if (ibbe_admin_extract(a, &user, &recipient, 1, &key, &len, &err) != CLOISTER_OK)
        return error(c, refusal(err.code), err.msg);
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
static enum MHD_Result change(struct MHD_Connection *c, ibbe_admin *a, const char *group,
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
    if (id_array(arr, &ids, &count) != 0)
        return error(c, MHD_HTTP_BAD_REQUEST,
                     create ? "create: \"members\" must be a non-empty array of strings"
                            : "\"users\" must be a non-empty array of strings");
    int bad = create                   ? ibbe_admin_create(a, group, ids, count, &err)
              : strcmp(op, "add") == 0 ? ibbe_admin_add(a, group, ids, count, &err)
                                       : ibbe_admin_remove(a, group, ids, count, &err);
    free(ids);
    /* NOT_FOUND names a missing group or a missing member: only the first is a 404 */
    if (bad && !create && ibbe_store_group_bytes(ibbe_admin_store(a), group) < 0)
        return error(c, MHD_HTTP_NOT_FOUND, err.msg);
    if (bad)
        return error(c, refusal(err.code), err.msg);
    return group_reply(c, a, group, create ? MHD_HTTP_CREATED : MHD_HTTP_OK);
}

/* Routes a complete request. */
static enum MHD_Result route(struct MHD_Connection *c, ibbe_admin *a, const char *method,
                             const char *url, const struct request *req)
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
    if ((r == R_GROUP && !get) || (r != R_GROUP && !post))
        return error(c, MHD_HTTP_METHOD_NOT_ALLOWED, r == R_GROUP ? "use GET" : "use POST");
    if (r == R_GROUP)
        return ibbe_group_name_valid(group) ? group_reply(c, a, group, MHD_HTTP_OK)
                                            : error(c, MHD_HTTP_NOT_FOUND, "no such group");
    json_error_t jerr;
    json_t *body = json_loadb(req->body ? req->body : "", req->len, 0, &jerr);
    if (!json_is_object(body)) {
        json_decref(body);
        char msg[256];
        snprintf(msg, sizeof msg, "the body must be a JSON object: %s (line %d, column %d)",
                 jerr.text, jerr.line, jerr.column);
        return error(c, MHD_HTTP_BAD_REQUEST, msg);
    }
    enum MHD_Result rc = r == R_EXTRACT ? extract(c, a, body)
                                        : change(c, a, r == R_GROUPS ? NULL : group, op, body);
    json_decref(body);
    return rc;
}

static bool authorized(struct MHD_Connection *c, const char *token)
{
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    size_t want = strlen(token);
    if (!h || strncmp(h, "Bearer ", 7) != 0 || strlen(h + 7) != want)
        return false;
    return crypto_memeq(h + 7, token, want);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **con_cls)
{
    struct ibbe_server *s = cls;
    struct request *req = *con_cls;
    if (!req) { /* headers only: check the token before accepting a body */
        if (!authorized(c, s->token))
            return error(c, MHD_HTTP_UNAUTHORIZED, "missing or wrong bearer token");
        if (!(req = calloc(1, sizeof *req)))
            return MHD_NO;
        *con_cls = req;
        return MHD_YES;
    }
    if (*upload_size) {
        if (req->too_big || req->len + *upload_size > BODY_MAX) {
            req->too_big = true;
        } else {
            char *grown = realloc(req->body, req->len + *upload_size + 1);
            if (!grown)
                return MHD_NO;
            memcpy(grown + req->len, upload, *upload_size);
            req->body = grown;
            req->len += *upload_size;
        }
        *upload_size = 0;
        return MHD_YES;
    }
    if (req->too_big)
        return error(c, MHD_HTTP_CONTENT_TOO_LARGE, "request body over 64 MiB");
    return route(c, s->admin, method, url, req);
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
    struct request *req = *con_cls;
    if (req) {
        free(req->body);
        free(req);
        *con_cls = NULL;
    }
}

int ibbe_server_start(ibbe_admin *a, const char *listen, const char *token, ibbe_server **out,
                      struct cloister_err *err)
{
    char host[64];
    unsigned port;
    int used = 0;
    struct sockaddr_in sa = {.sin_family = AF_INET};
    if (sscanf(listen, "%63[0-9.]:%u%n", host, &port, &used) != 2 || listen[used] != '\0' ||
        port > 65535 || inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
        return cloister_errf(err, CLOISTER_E_INVALID,
                             "--listen: expected IPv4:PORT, e.g. 127.0.0.1:8080");
    }
    if (strlen(token) < IBBE_TOKEN_MIN)
        return cloister_errf(err, CLOISTER_E_INVALID, "the token must have at least 16 characters");
    sa.sin_port = htons((uint16_t)port);
    ibbe_server *s = calloc(1, sizeof *s);
    if (!s || !(s->token = strdup(token))) {
        free(s);
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
    }
    s->admin = a;
    s->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, (uint16_t)port, NULL, NULL, handle, s,
                            MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                            MHD_OPTION_NOTIFY_COMPLETED, completed, s,
                            MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_END);
    if (!s->d) {
        ibbe_server_stop(s);
        return cloister_errf(err, CLOISTER_E_SYSTEM,
                             "cannot listen there (address in use, or not a local address)");
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info ? info->port : (uint16_t)port;
    *out = s;
    return 0;
}

uint16_t ibbe_server_port(const ibbe_server *s)
{
    return s->port;
}

void ibbe_server_stop(ibbe_server *s)
{
    if (!s)
        return;
    if (s->d)
        MHD_stop_daemon(s->d);
    if (s->token)
        crypto_wipe(s->token, strlen(s->token));
    free(s->token);
    free(s);
}
