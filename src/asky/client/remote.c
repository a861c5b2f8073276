/* remote.c -- the member's side of A-Sky's access service (asky_serve.h).
 *
 * put: a fresh nonce; the enclave's offer for it (its HPKE key in evidence binding the nonce);
 * the evidence verified against the caller's policy by tee_prov_package, which seals the
 * request (group, user, proof of membership, a fresh reply key) to the offered key; the reply
 * (envelope and write ticket) opened with the reply key; the object built here and uploaded
 * with the ticket. The host of the service sees no name, no proof and no envelope in clear.
 * user add (admin): a fresh HPKE key pair; the user's name and public key sealed to a verified
 * offer the same way; the key the enclave drew comes back HPKE-encrypted to that public key.
 * get: the object fetched and read with the member's key, as from a directory. Every answer
 * is read up to a byte bound; a refusal of the service comes back as its one-line message. */
#include <cloister/asky_client.h>
#include <cloister/asky_serve.h>
#include <cloister/crypto.h>
#include <cloister/hpke.h>
#include <cloister/tee_trust.h>
#include <cloister/tee_verify.h>
#include <cloister/wire.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "asky/common/ecalls.h"
#include "http/http.h"
#include "util/hex.h"

#define REPLY_MAX (ASKY_BODY_MAX + 4096)

struct asky_session {
    struct asky_remote r;
    struct http_conn *conn; /* kept alive for the session's requests */
    uint8_t id[ASKY_SESSION_ID_LEN], key[32];
    uint64_t seq; /* of the last request */
};

/* The JSON object of an answer (raw, freed), or the service's refusal as an error. */
static int answer(const char *server, unsigned status, char *raw, json_t **out,
                  struct cloister_err *err)
{
    json_t *j = json_loads(raw, 0, NULL);
    free(raw);
    if (!json_is_object(j)) {
        json_decref(j);
        return cloister_errf(err, CLOISTER_E_PROTOCOL, "%s: not an A-Sky service (HTTP %u)", server,
                             status);
    }
    if (status / 100 != 2) {
        const char *msg = json_string_value(json_object_get(j, "error"));
        int rc = cloister_errf(err,
                               status == 403       ? CLOISTER_E_DENIED
                               : status == 404     ? CLOISTER_E_NOT_FOUND
                               : status / 100 == 4 ? CLOISTER_E_INVALID
                                                   : CLOISTER_E_FAILED,
                               "%s", msg ? msg : "refused");
        json_decref(j);
        return rc;
    }
    *out = j;
    return CLOISTER_OK;
}

/* POST (body non-NULL) or GET path, on conn (NULL: a connection of its own); the answer's JSON
 * object, or the service's refusal. */
static int call(struct http_conn *conn, const char *server, const char *path, const char *token,
                json_t *body, json_t **out, struct cloister_err *err)
{
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL, *raw = NULL;
    const char *method = text ? "POST" : "GET";
    size_t len = text ? strlen(text) : 0;
    unsigned status = 0;
    json_decref(body);
    if (body && !text)
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
    int rc = conn
                 ? http_conn_call(conn, method, path, token, text, len, REPLY_MAX, &status, &raw,
                                  err)
                 : http_call(server, method, path, token, text, len, REPLY_MAX, &status, &raw, err);
    free(text);
    return rc == CLOISTER_OK ? answer(server, status, raw, out, err) : rc;
}

/* The hex member key of j, decoded (malloc'd); j released on success. */
static int hex_of(json_t *j, const char *key, uint8_t **out, size_t *len, struct cloister_err *err)
{
    if (!(*out = http_json_unhex(j, key, len)))
        return cloister_errf(err, CLOISTER_E_PROTOCOL, "the service's answer has no \"%s\"", key);
    json_decref(j);
    return CLOISTER_OK;
}

/* The enclave's offer for nonce. */
static int get_offer(const char *server, const uint8_t *nonce, uint8_t **offer, size_t *len,
                     struct cloister_err *err)
{
    json_t *j;
    int rc = call(NULL, server, "/v1/offer", NULL,
                  json_pack("{s:o}", "nonce", http_json_hex(nonce, TEE_PROV_NONCE_LEN)), &j, err);
    if (rc == CLOISTER_OK && (rc = hex_of(j, "offer", offer, len, err)) != CLOISTER_OK)
        json_decref(j);
    return rc;
}

/* The request sealed to the verified offer (tee_prov_package) as the secret `name`: *package
 * malloc'd. */
static int seal_request(const struct asky_remote *r, const uint8_t *nonce, const uint8_t *offer,
                        size_t offer_len, const char *name, const uint8_t *req, size_t reqlen,
                        uint8_t **package, size_t *package_len, struct cloister_err *err)
{
    tee_platform *platform = NULL;
    tee_verifier *v = NULL;
    struct cloister_err e = {0};
    if (!r->ca && !(platform = tee_platform_open(NULL, err)))
        return CLOISTER_E_NOT_FOUND;
    v = tee_verifier_new_file(r->ca ? r->ca : tee_platform_ca_path(platform), err);
    tee_platform_free(platform);
    if (!v)
        return CLOISTER_E_INVALID;
    struct tee_policy p;
    tee_policy_default(&p);
    p.mrenclave = (const uint8_t(*)[TEE_HASH_LEN])r->mrenclave;
    p.n_mrenclave = r->mrenclave ? 1 : 0;
    p.mrsigner = (const uint8_t(*)[TEE_HASH_LEN])r->mrsigner;
    p.n_mrsigner = r->mrsigner ? 1 : 0;
    p.allow_simulated = r->allow_simulated;
    p.allow_debug = r->allow_simulated;
    struct tee_secret secret = {name, req, reqlen};
    int rc = CLOISTER_OK;
    if (tee_prov_package(v, &p, nonce, TEE_PROV_NONCE_LEN, offer, offer_len, &secret, 1, package,
                         package_len, NULL, &e) != 0)
        rc = cloister_errf(err, CLOISTER_E_DENIED, "the service's enclave was refused: %.160s%s",
                           e.msg,
                           r->allow_simulated ? ""
                                              : " (a simulated platform needs "
                                                "--allow-simulated)");
    tee_verifier_free(v);
    return rc;
}

/* The envelope and write ticket the enclave sealed for us (*env malloc'd). */
static int open_reply(const uint8_t reply_key[32], const uint8_t *reply, size_t len, uint8_t **env,
                      size_t *envlen, uint8_t ticket[ASKY_TICKET_LEN], struct cloister_err *err)
{
    if (len < ASKY_REPLY_OVERHEAD + ASKY_TICKET_LEN)
        return cloister_errf(err, CLOISTER_E_PROTOCOL, "the service's reply is truncated");
    size_t ptlen = len - ASKY_REPLY_OVERHEAD;
    uint8_t *pt = malloc(ptlen);
    if (!pt)
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
    if (crypto_aead_open(CRYPTO_AES256_GCM, reply_key, reply, ASKY_REPLY_AAD,
                         strlen(ASKY_REPLY_AAD), reply + CRYPTO_AEAD_NONCE_LEN,
                         len - CRYPTO_AEAD_NONCE_LEN, pt) != 0) {
        free(pt);
        return cloister_errf(err, CLOISTER_E_DENIED,
                             "the service's reply fails authentication (tampered)");
    }
    *envlen = ptlen - ASKY_TICKET_LEN;
    memcpy(ticket, pt + *envlen, ASKY_TICKET_LEN);
    *env = pt;
    return CLOISTER_OK;
}

/* A fresh nonce, the enclave's offer for it, and req sealed to the verified offer. */
static int offer_and_seal(const struct asky_remote *r, const char *name, const uint8_t *req,
                          size_t reqlen, uint8_t **package, size_t *package_len,
                          struct cloister_err *err)
{
    uint8_t nonce[TEE_PROV_NONCE_LEN], *offer = NULL;
    size_t offer_len = 0;
    int rc = tee_prov_nonce(nonce, err);
    if (rc == CLOISTER_OK)
        rc = get_offer(r->server, nonce, &offer, &offer_len, err);
    if (rc == CLOISTER_OK)
        rc = seal_request(r, nonce, offer, offer_len, name, req, reqlen, package, package_len, err);
    free(offer);
    return rc;
}

/* The request under the session's key, with the next sequence number (*msg malloc'd). */
static int session_seal(asky_session *sn, const uint8_t *req, size_t reqlen, uint8_t **msg,
                        size_t *msglen, struct cloister_err *err)
{
    uint8_t nonce[CRYPTO_AEAD_NONCE_LEN] = {0}, aad[sizeof ASKY_SESSION_AAD - 1 + 16 + 8];
    size_t head = ASKY_SESSION_ID_LEN + 8;
    uint8_t *m = malloc(head + reqlen + 16);
    if (!m)
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
    uint64_t seq = ++sn->seq;
    memcpy(m, sn->id, ASKY_SESSION_ID_LEN);
    for (int i = 0; i < 8; i++)
        m[ASKY_SESSION_ID_LEN + i] = (uint8_t)(seq >> (56 - 8 * i));
    memcpy(nonce + 4, m + ASKY_SESSION_ID_LEN, 8);
    memcpy(aad, ASKY_SESSION_AAD, sizeof ASKY_SESSION_AAD - 1);
    memcpy(aad + sizeof ASKY_SESSION_AAD - 1, m, head);
    crypto_aead_seal(CRYPTO_AES256_GCM, sn->key, nonce, aad, sizeof aad, req, reqlen, m + head);
    *msg = m;
    *msglen = head + reqlen + 16;
    return CLOISTER_OK;
}

/* The request sent: sealed to a fresh verified offer (sn NULL) or under the session's key. */
static int send_request(const struct asky_remote *r, asky_session *sn, const uint8_t *req,
                        size_t reqlen, json_t **j, struct cloister_err *err)
{
    uint8_t *package = NULL;
    size_t package_len = 0;
    int rc = sn ? session_seal(sn, req, reqlen, &package, &package_len, err)
                : offer_and_seal(r, ASKY_REQUEST_SECRET, req, reqlen, &package, &package_len, err);
    if (rc == CLOISTER_OK)
        rc = call(
            sn ? sn->conn : NULL, r->server, "/v1/envelope", NULL,
            json_pack("{s:o}", sn ? "session" : "package", http_json_hex(package, package_len)), j,
            err);
    free(package);
    return rc;
}

/* Asks the enclave for an envelope of the group, end to end (sn: in that session). */
static int request_envelope(const struct asky_remote *r, asky_session *sn, const char *group,
                            const char *user, const struct asky_user_keys *k, enum asky_kind kind,
                            unsigned pad, uint8_t **env, size_t *envlen,
                            uint8_t ticket[ASKY_TICKET_LEN], struct cloister_err *err)
{
    uint8_t rnonce[ASKY_REQ_NONCE_LEN], proof[32], reply_key[32], *reply = NULL;
    size_t reply_len = 0;
    struct wire_writer w;
    json_t *j = NULL;
    int rc = CLOISTER_OK;
    if (crypto_random(rnonce, sizeof rnonce) != 0 ||
        crypto_random(reply_key, sizeof reply_key) != 0)
        rc = cloister_errf(err, CLOISTER_E_FAILED, "random number generator failed");
    asky_request_proof(proof, k, group, rnonce);
    wire_writer_init(&w);
    wire_put_str(&w, group);
    wire_put_str(&w, user);
    wire_put_raw(&w, rnonce, sizeof rnonce);
    wire_put_raw(&w, proof, sizeof proof);
    wire_put_u8(&w, (uint8_t)kind);
    wire_put_varint(&w, pad);
    wire_put_raw(&w, reply_key, sizeof reply_key);
    if (rc == CLOISTER_OK && !wire_writer_ok(&w))
        rc = cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
    if (rc == CLOISTER_OK)
        rc = send_request(r, sn, w.buf, w.len, &j, err);
    if (rc == CLOISTER_OK && (rc = hex_of(j, "reply", &reply, &reply_len, err)) != CLOISTER_OK)
        json_decref(j);
    if (rc == CLOISTER_OK)
        rc = open_reply(reply_key, reply, reply_len, env, envlen, ticket, err);
    if (w.buf)
        crypto_wipe(w.buf, w.len);
    wire_writer_free(&w);
    crypto_wipe(reply_key, sizeof reply_key);
    free(reply);
    return rc;
}

/* The policy names an enclave: a remote client sends nothing before it has one to verify. */
static int check_trust(const struct asky_remote *r, struct cloister_err *err)
{
    if (!r->mrenclave && !r->mrsigner)
        return cloister_errf(err, CLOISTER_E_INVALID,
                             "give the service enclave's MRENCLAVE or MRSIGNER to trust");
    return CLOISTER_OK;
}

/* The object of file in, in memory (*obj malloc'd). */
static int build_object(const char *in, enum asky_kind kind, const uint8_t *env, size_t envlen,
                        const uint8_t file_key[ASKY_KEY_LEN], char **obj, size_t *len,
                        struct cloister_err *err)
{
    FILE *f = strcmp(in, "-") == 0 ? stdin : fopen(in, "rb");
    if (!f)
        return cloister_errf(err, CLOISTER_E_NOT_FOUND, "%s: %s", in, strerror(errno));
    FILE *m = open_memstream(obj, len);
    int rc = m ? asky_object_write(m, kind, env, envlen, file_key, ASKY_CHUNK_DEFAULT, f, err)
               : cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
    if (m)
        fclose(m);
    if (f != stdin)
        fclose(f);
    if (rc == CLOISTER_OK && *len > ASKY_BODY_MAX)
        rc = cloister_errf(err, CLOISTER_E_TOO_BIG, "%s: too large for the service (%zu bytes)", in,
                           *len);
    return rc;
}

int asky_remote_envelope(const struct asky_remote *r, const char *group, const char *user,
                         const uint8_t key[ASKY_KEY_LEN], enum asky_kind kind, unsigned pad,
                         uint8_t **env, size_t *envlen, uint8_t ticket[ASKY_TICKET_LEN],
                         struct cloister_err *err)
{
    struct asky_user_keys k;
    *env = NULL;
    *envlen = 0;
    int rc = check_trust(r, err);
    asky_user_keys(&k, key);
    if (rc == CLOISTER_OK)
        rc = request_envelope(r, NULL, group, user, &k, kind, pad, env, envlen, ticket, err);
    asky_user_keys_wipe(&k);
    return rc;
}

int asky_remote_session_open(const struct asky_remote *r, asky_session **out,
                             struct cloister_err *err)
{
    asky_session *sn = calloc(1, sizeof *sn);
    uint8_t *package = NULL;
    size_t package_len = 0, idlen = 0;
    json_t *j = NULL;
    uint8_t *id = NULL;
    int rc = sn ? check_trust(r, err) : cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
    if (rc == CLOISTER_OK && crypto_random(sn->key, sizeof sn->key) != 0)
        rc = cloister_errf(err, CLOISTER_E_FAILED, "random number generator failed");
    if (rc == CLOISTER_OK)
        rc = http_conn_open(r->server, &sn->conn, err);
    if (rc == CLOISTER_OK)
        rc = offer_and_seal(r, ASKY_SESSION_SECRET, sn->key, sizeof sn->key, &package, &package_len,
                            err);
    if (rc == CLOISTER_OK)
        rc = call(sn->conn, r->server, "/v1/session", NULL,
                  json_pack("{s:o}", "package", http_json_hex(package, package_len)), &j, err);
    if (rc == CLOISTER_OK && (rc = hex_of(j, "session", &id, &idlen, err)) != CLOISTER_OK)
        json_decref(j);
    if (rc == CLOISTER_OK && idlen != ASKY_SESSION_ID_LEN)
        rc = cloister_errf(err, CLOISTER_E_PROTOCOL, "the service's session id has a bad length");
    if (rc == CLOISTER_OK) {
        memcpy(sn->id, id, ASKY_SESSION_ID_LEN);
        sn->r = *r;
        *out = sn;
    } else {
        asky_remote_session_close(sn);
    }
    free(id);
    free(package);
    return rc;
}

int asky_remote_session_envelope(asky_session *sn, const char *group, const char *user,
                                 const uint8_t key[ASKY_KEY_LEN], enum asky_kind kind, unsigned pad,
                                 uint8_t **env, size_t *envlen, uint8_t ticket[ASKY_TICKET_LEN],
                                 struct cloister_err *err)
{
    struct asky_user_keys k;
    *env = NULL;
    *envlen = 0;
    asky_user_keys(&k, key);
    int rc = request_envelope(&sn->r, sn, group, user, &k, kind, pad, env, envlen, ticket, err);
    asky_user_keys_wipe(&k);
    return rc;
}

void asky_remote_session_close(asky_session *sn)
{
    if (!sn)
        return;
    http_conn_close(sn->conn);
    crypto_wipe(sn, sizeof *sn);
    free(sn);
}

int asky_remote_put(const struct asky_remote *r, const char *group, const char *user,
                    const uint8_t key[ASKY_KEY_LEN], const char *in, const char *name,
                    enum asky_kind kind, unsigned pad, struct cloister_err *err)
{
    struct asky_user_keys k;
    uint8_t ticket[ASKY_TICKET_LEN], file_key[ASKY_KEY_LEN], *env = NULL;
    size_t envlen = 0, objlen = 0;
    char *obj = NULL;
    int rc = check_trust(r, err);
    if (rc != CLOISTER_OK)
        return rc;
    asky_user_keys(&k, key);
    rc = request_envelope(r, NULL, group, user, &k, kind, pad, &env, &envlen, ticket, err);
    if (rc == CLOISTER_OK && asky_envelope_open(kind, env, envlen, &k, file_key, err) != 0)
        rc = cloister_err_wrap(err, "the envelope the service built");
    if (rc == CLOISTER_OK)
        rc = build_object(in, kind, env, envlen, file_key, &obj, &objlen, err);
    if (rc == CLOISTER_OK)
        rc = asky_remote_object_put(r->server, name, (const uint8_t *)obj, objlen, ticket, err);
    asky_user_keys_wipe(&k);
    crypto_wipe(file_key, sizeof file_key);
    free(env);
    free(obj);
    return rc;
}

/* PUT or GET /v1/objects/NAME with a binary body each way: *obj (malloc'd, GET only) the
 * object, or the service's refusal. */
static int object_call(const char *server, const char *method, const char *name,
                       const char *headers, const uint8_t *body, size_t len, char **obj,
                       size_t *objlen, struct cloister_err *err)
{
    char path[64 + ASKY_NAME_MAX], *raw = NULL;
    unsigned status = 0;
    json_t *j = NULL;
    if (strlen(name) > ASKY_NAME_MAX || strchr(name, '/'))
        return cloister_errf(err, CLOISTER_E_INVALID, "invalid object name");
    snprintf(path, sizeof path, "/v1/objects/%s", name);
    int rc = http_call_bin(server, method, path, headers, body, len, REPLY_MAX, &status, &raw,
                           objlen, err);
    if (rc == CLOISTER_OK && obj && status == 200) {
        *obj = raw;
        return CLOISTER_OK;
    }
    if (rc == CLOISTER_OK)
        rc = answer(server, status, raw, &j, err);
    json_decref(j);
    return rc;
}

int asky_remote_object_put(const char *server, const char *name, const uint8_t *obj, size_t len,
                           const uint8_t ticket[ASKY_TICKET_LEN], struct cloister_err *err)
{
    char headers[128 + 2 * ASKY_TICKET_LEN];
    size_t got;
    int n = snprintf(headers, sizeof headers,
                     "Content-Type: application/octet-stream\r\n" ASKY_TICKET_HEADER ": ");
    hex_encode(headers + n, ticket, ASKY_TICKET_LEN);
    strcat(headers, "\r\n");
    return object_call(server, "PUT", name, headers, obj, len, NULL, &got, err);
}

int asky_remote_get(const char *server, const uint8_t key[ASKY_KEY_LEN], const char *name,
                    const char *out, struct cloister_err *err)
{
    char *obj = NULL;
    size_t len = 0;
    int rc = object_call(server, "GET", name, NULL, NULL, 0, &obj, &len, err);
    FILE *in = rc == CLOISTER_OK ? fmemopen(obj, len ? len : 1, "rb") : NULL;
    if (rc == CLOISTER_OK && !in)
        rc = cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
    if (rc == CLOISTER_OK)
        rc = asky_get_from(in, key, name, out, err);
    if (in)
        fclose(in);
    free(obj);
    return rc;
}

int asky_remote_user_add(const struct asky_remote *r, const char *token, const char *user,
                         uint8_t key[ASKY_KEY_LEN], struct cloister_err *err)
{
    uint8_t pk[HPKE_PUBLIC_LEN], sk[HPKE_SECRET_LEN], *package = NULL, *delivery = NULL;
    size_t package_len = 0, dlen = 0;
    struct wire_writer w;
    json_t *j = NULL;
    int rc = check_trust(r, err);
    if (rc == CLOISTER_OK && hpke_keypair(pk, sk) != 0)
        rc = cloister_errf(err, CLOISTER_E_FAILED, "generating the delivery key failed");
    wire_writer_init(&w);
    wire_put_str(&w, user);
    wire_put_raw(&w, pk, sizeof pk);
    if (rc == CLOISTER_OK && !wire_writer_ok(&w))
        rc = cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
    if (rc == CLOISTER_OK)
        rc = offer_and_seal(r, ASKY_USER_SECRET, w.buf, w.len, &package, &package_len, err);
    if (rc == CLOISTER_OK)
        rc = call(NULL, r->server, "/v1/users/add", token,
                  json_pack("{s:o}", "package", http_json_hex(package, package_len)), &j, err);
    if (rc == CLOISTER_OK && (rc = hex_of(j, "delivery", &delivery, &dlen, err)) != CLOISTER_OK)
        json_decref(j);
    if (rc == CLOISTER_OK && dlen != ASKY_USER_DELIVERY_LEN)
        rc = cloister_errf(err, CLOISTER_E_PROTOCOL, "the service's delivery has a bad length");
    if (rc == CLOISTER_OK)
        rc = asky_user_key_open(key, delivery, sk, user, err);
    crypto_wipe(sk, sizeof sk);
    wire_writer_free(&w);
    free(package);
    free(delivery);
    return rc;
}

int asky_remote_admin(const char *server, const char *token, const char *op, const char *group,
                      const char *user, struct cloister_err *err)
{
    char path[64 + 2 * ASKY_NAME_MAX];
    bool user_op = strcmp(op, "user-remove") == 0;
    const char *who = user_op ? user : group;
    if (!who || strlen(who) > ASKY_NAME_MAX || strchr(who, '/') || strchr(who, ' '))
        return cloister_errf(err, CLOISTER_E_INVALID, "invalid %s name",
                             user_op ? "user" : "group");
    if (user_op)
        snprintf(path, sizeof path, "/v1/users/%s/remove", user);
    else
        snprintf(path, sizeof path, "/v1/groups/%s/%s", group, op);
    json_t *j;
    int rc = call(NULL, server, path, token, json_pack("{s:s?}", "user", user), &j, err);
    if (rc == CLOISTER_OK)
        json_decref(j);
    return rc;
}

/* rekey through the service: the object fetched and opened here with the member's key into a
 * temporary file (mode 0600, removed at once after), then put again as asky_remote_put does:
 * the enclave checks the member's proof and membership, and the object is stored only with the
 * write ticket of that envelope. */
int asky_remote_rekey(const struct asky_remote *r, const char *group, const char *user,
                      const uint8_t key[ASKY_KEY_LEN], const char *name, enum asky_kind kind,
                      unsigned pad, struct cloister_err *err)
{
    const char *tmpdir = getenv("TMPDIR");
    char plain[PATH_MAX];
    int rc = check_trust(r, err);
    if (rc != CLOISTER_OK)
        return rc;
    snprintf(plain, sizeof plain, "%s/asky-rekey-XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
    int fd = mkstemp(plain);
    if (fd < 0)
        return cloister_errf(err, CLOISTER_E_SYSTEM, "temporary file: %s", strerror(errno));
    close(fd);
    rc = asky_remote_get(r->server, key, name, plain, err);
    if (rc == CLOISTER_OK)
        rc = asky_remote_put(r, group, user, key, plain, name, kind, pad, err);
    unlink(plain);
    if (rc != CLOISTER_OK)
        cloister_err_wrap(err, "rekey of '%s'", name);
    return rc;
}
