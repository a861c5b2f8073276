/* serve.c -- A-Sky's access service over HTTP+JSON (asky_serve.h): routes on the shared HTTP
 * server (src/http), every operation a call of the access service's library (asky_host.h).
 *
 * Requests run on a pool of threads (the service is safe to call from several, and the enclave
 * keeps several sealed requests pending at once). Bodies are bounded in bytes while they arrive; membership
 * changes need the bearer token; member requests need none, since the enclave itself checks
 * each one (a proof of membership inside a request sealed to its attested key). Objects travel
 * as binary bodies (PUT and GET /v1/objects/NAME, the write ticket in a header): the body the
 * HTTP layer collected is what gets stored, and a stored object is handed back without a copy.
 * Every other answer is JSON; a refusal names what was wrong, a failure of the store or the
 * enclave answers 500 with its kind only (its detail goes to the log). */
#include <cloister/asky_client.h>
#include <cloister/asky_serve.h>
#include <cloister/crypto.h>
#include <cloister/tee.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#define CLOG_MODULE "asky"
#include "http/http.h"
#include "util/fileio.h"
#include "util/hex.h"
#include "util/log.h"

struct asky_server {
    struct http_server *http;
    asky_service *s;
};

struct answer {
    unsigned *status;
    char **body;
    const char **type;
    size_t *len; /* of a binary body */
};

static void reply(const struct answer *a, unsigned status, json_t *j)
{
    *a->status = status;
    *a->body = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
}

static void fail(const struct answer *a, unsigned status, const char *msg)
{
    *a->status = status;
    *a->body = http_error_json(msg);
}

static void failed(const struct answer *a, const struct cloister_err *err)
{
    switch (err->code) {
    case CLOISTER_E_INVALID: fail(a, MHD_HTTP_BAD_REQUEST, err->msg); return;
    case CLOISTER_E_DENIED: fail(a, MHD_HTTP_FORBIDDEN, err->msg); return;
    case CLOISTER_E_NOT_FOUND: fail(a, MHD_HTTP_NOT_FOUND, err->msg); return;
    case CLOISTER_E_EXISTS:
    case CLOISTER_E_STATE: fail(a, MHD_HTTP_CONFLICT, err->msg); return;
    default: break;
    }
    char msg[128];
    clog_error("%s", err->msg);
    snprintf(msg, sizeof msg, "internal error (%s); the service's log has the detail",
             cloister_strerror(err->code));
    fail(a, MHD_HTTP_INTERNAL_SERVER_ERROR, msg);
}

static void info(const struct answer *a, struct asky_server *srv)
{
    struct tee_info ti;
    if (tee_get_info(asky_service_enclave(srv->s), &ti) != CLOISTER_OK) {
        fail(a, MHD_HTTP_INTERNAL_SERVER_ERROR, "the enclave does not answer");
        return;
    }
    reply(a, MHD_HTTP_OK,
          json_pack("{s:s,s:o,s:o}", "service", "asky", "mrenclave",
                    http_json_hex(ti.mrenclave, 32), "mrsigner", http_json_hex(ti.mrsigner, 32)));
}

/* POST /v1/offer {"nonce"}, /v1/session {"package"} and /v1/envelope {"package"} or
 * {"session"}: hex in, hex out, the enclave in between. */
static void sealed(const struct answer *a, struct asky_server *srv, const char *url, json_t *body)
{
    size_t len, outlen = ASKY_SESSION_ID_LEN;
    bool offer = strcmp(url, "/v1/offer") == 0, open = strcmp(url, "/v1/session") == 0;
    bool session = !offer && !open && json_object_get(body, "session");
    const char *field = offer ? "nonce" : session ? "session" : "package";
    uint8_t *in = http_json_unhex(body, field, &len), *out = NULL, id[ASKY_SESSION_ID_LEN];
    struct cloister_err err;
    if (!in) {
        char msg[96];
        snprintf(msg, sizeof msg, "%s: \"%s\" (hex) is required", url + 4, field);
        fail(a, MHD_HTTP_BAD_REQUEST, msg);
        return;
    }
    int rc = offer     ? asky_sealed_offer(srv->s, in, len, &out, &outlen, &err)
             : open    ? asky_session_open(srv->s, in, len, id, &err)
             : session ? asky_session_envelope(srv->s, in, len, &out, &outlen, &err)
                       : asky_sealed_envelope(srv->s, in, len, &out, &outlen, &err);
    free(in);
    if (rc != CLOISTER_OK)
        failed(a, &err);
    else
        reply(a, MHD_HTTP_OK,
              json_pack("{s:o}",
                        offer  ? "offer"
                        : open ? "session"
                               : "reply",
                        http_json_hex(open ? id : out, outlen)));
    free(out);
}

/* PUT /v1/objects/NAME: the object's bytes as the body, stored as they arrived (no copy),
 * once the enclave recognises the write ticket of ASKY_TICKET_HEADER. */
static void object_put(const struct answer *a, struct asky_server *srv, const char *name,
                       const struct http_request *r)
{
    const char *hex = http_header(r, ASKY_TICKET_HEADER);
    uint8_t ticket[ASKY_TICKET_LEN];
    struct cloister_err err;
    if (!hex || strlen(hex) != 2 * ASKY_TICKET_LEN ||
        hex_decode(ticket, sizeof ticket, hex, 2 * ASKY_TICKET_LEN) != ASKY_TICKET_LEN)
        fail(a, MHD_HTTP_BAD_REQUEST, ASKY_TICKET_HEADER " (32 bytes in hex) is required");
    else if (asky_object_store(srv->s, name, (const uint8_t *)r->body, r->len, ticket, &err) !=
             CLOISTER_OK)
        failed(a, &err);
    else
        reply(a, MHD_HTTP_CREATED, json_pack("{s:s}", "name", name));
}

/* GET /v1/objects/NAME: the object's bytes as the body (application/octet-stream). */
static void object_get(const struct answer *a, struct asky_server *srv, const char *name)
{
    uint8_t *obj;
    size_t len;
    struct cloister_err err;
    int rc = asky_object_load(asky_service_dir(srv->s), name, ASKY_BODY_MAX, &obj, &len, &err);
    if (rc == CLOISTER_E_NOT_FOUND)
        fail(a, MHD_HTTP_NOT_FOUND, "no such object");
    else if (rc != CLOISTER_OK)
        failed(a, &err);
    else {
        *a->status = MHD_HTTP_OK;
        *a->body = (char *)obj;
        *a->len = len;
        *a->type = "application/octet-stream";
    }
}

static void object_list(const struct answer *a, struct asky_server *srv)
{
    char **names;
    size_t n;
    struct cloister_err err;
    if (asky_list(asky_service_dir(srv->s), &names, &n, &err) != CLOISTER_OK) {
        failed(a, &err);
        return;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, json_string(names[i]));
    asky_names_free(names, n);
    reply(a, MHD_HTTP_OK, json_pack("{s:o}", "objects", arr));
}

/* POST /v1/users/add {"package": hex} (token checked by the caller): the new user's key comes
 * back only HPKE-encrypted to the public key inside the package. */
static void user_add(const struct answer *a, struct asky_server *srv, json_t *body)
{
    size_t len;
    uint8_t *pkg = http_json_unhex(body, "package", &len), delivery[ASKY_USER_DELIVERY_LEN];
    struct cloister_err err;
    if (!pkg)
        fail(a, MHD_HTTP_BAD_REQUEST, "user add: \"package\" (hex) is required");
    else if (asky_user_add_sealed(srv->s, pkg, len, delivery, &err) != CLOISTER_OK)
        failed(a, &err);
    else {
        clog_info("membership changed (user added)");
        reply(a, MHD_HTTP_CREATED,
              json_pack("{s:o}", "delivery", http_json_hex(delivery, sizeof delivery)));
    }
    free(pkg);
}

/* POST /v1/groups/G/OP {"user": U} and /v1/users/U/remove (token checked by the caller). */
static void admin(const struct answer *a, struct asky_server *srv, const char *group,
                  const char *op, const char *user)
{
    struct cloister_err err;
    int rc;
    if (!group)
        rc = asky_user_remove(srv->s, user, &err);
    else if (!user)
        rc = cloister_errf(&err, CLOISTER_E_INVALID, "\"user\" (a string) is required");
    else if (strcmp(op, "create") == 0)
        rc = asky_group_create(srv->s, group, user, &err);
    else if (strcmp(op, "add") == 0)
        rc = asky_group_add(srv->s, group, user, &err);
    else
        rc = asky_group_remove(srv->s, group, user, &err);
    if (rc != CLOISTER_OK) {
        failed(a, &err);
        return;
    }
    clog_info("membership changed (%s)", group ? op : "user removed"); /* no names in logs */
    reply(a, MHD_HTTP_OK, json_pack("{s:b}", "ok", 1));
}

static void route(struct asky_server *srv, const struct http_request *r, const struct answer *a)
{
    char name[ASKY_NAME_MAX + 2], op[16];
    int tail = 0;
    bool get = strcmp(r->method, "GET") == 0, post = strcmp(r->method, "POST") == 0,
         put = strcmp(r->method, "PUT") == 0;
    if (get && strcmp(r->url, "/v1/info") == 0) {
        info(a, srv);
        return;
    }
    if (get && strcmp(r->url, "/v1/objects") == 0) {
        object_list(a, srv);
        return;
    }
    bool object = sscanf(r->url, "/v1/objects/%129[^/]%n", name, &tail) == 1 && !r->url[tail];
    if (get && object) {
        object_get(a, srv, name);
        return;
    }
    if (put && object) {
        object_put(a, srv, name, r);
        return;
    }
    bool grp = sscanf(r->url, "/v1/groups/%129[^/]/%15[a-z]%n", name, op, &tail) == 2 &&
               !r->url[tail] &&
               (!strcmp(op, "create") || !strcmp(op, "add") || !strcmp(op, "remove"));
    bool usr = !grp && sscanf(r->url, "/v1/users/%129[^/]/%15[a-z]%n", name, op, &tail) == 2 &&
               !r->url[tail] && !strcmp(op, "remove");
    bool uadd = !strcmp(r->url, "/v1/users/add");
    bool known = object || grp || usr || uadd || !strcmp(r->url, "/v1/offer") ||
                 !strcmp(r->url, "/v1/session") || !strcmp(r->url, "/v1/envelope");
    if (!known) {
        fail(a, MHD_HTTP_NOT_FOUND, "no such route");
        return;
    }
    if (!post || object) {
        fail(a, MHD_HTTP_METHOD_NOT_ALLOWED, object ? "use GET or PUT" : "use POST");
        return;
    }
    if ((grp || usr || uadd) && !r->authorized) {
        fail(a, MHD_HTTP_UNAUTHORIZED, "missing or wrong bearer token");
        return;
    }
    if (usr) {
        admin(a, srv, NULL, op, name);
        return;
    }
    json_error_t jerr;
    json_t *body = json_loadb(r->body, r->len, 0, &jerr);
    if (!json_is_object(body)) {
        char msg[256];
        snprintf(msg, sizeof msg, "the body must be a JSON object: %s (line %d, column %d)",
                 jerr.text, jerr.line, jerr.column);
        fail(a, MHD_HTTP_BAD_REQUEST, msg);
    } else if (uadd) {
        user_add(a, srv, body);
    } else if (grp) {
        admin(a, srv, name, op, json_string_value(json_object_get(body, "user")));
    } else {
        sealed(a, srv, r->url, body);
    }
    json_decref(body);
}

static void handle(void *arg, const struct http_request *r, unsigned *status, char **body,
                   const char **type)
{
    const struct answer a = {status, body, type, r->answer_len};
    *type = NULL;
    route(arg, r, &a);
}

int asky_server_start(asky_service *s, const char *listen, const char *token, size_t body_max,
                      unsigned threads, asky_server **out, struct cloister_err *err)
{
    if (!token || strlen(token) < ASKY_TOKEN_MIN)
        return cloister_errf(err, CLOISTER_E_INVALID, "the token must have at least %d characters",
                             ASKY_TOKEN_MIN);
    asky_server *srv = calloc(1, sizeof *srv);
    if (!srv)
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
    srv->s = s;
    int rc = http_server_start_pool(listen ? listen : ASKY_SERVE_LISTEN, token,
                                    body_max ? body_max : ASKY_BODY_MAX, 0, threads, handle, srv,
                                    &srv->http, err);
    if (rc != CLOISTER_OK) {
        free(srv);
        return rc;
    }
    clog_info("serving on port %u", (unsigned)http_server_port(srv->http));
    *out = srv;
    return CLOISTER_OK;
}

uint16_t asky_server_port(const asky_server *srv)
{
    return http_server_port(srv->http);
}

void asky_server_stop(asky_server *srv)
{
    if (!srv)
        return;
    http_server_stop(srv->http); /* waits for the request in progress */
    clog_info("stopped");
    free(srv);
}
