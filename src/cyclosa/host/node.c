/* node.c -- a Cyclosa node's host (cyclosa_node.h): the peer server (gossip, attestation
 * handshakes, relayed messages), the gossip thread, the search driver and the user's API.
 *
 * The host is untrusted: it moves opaque frames between enclaves and keeps the membership (the
 * peer-sampling view, the sessions' ids, the blacklist), which is public anyway. What it does in
 * clear as a relay is what a relay must do: ask the engine for a query the enclave opened, from
 * this node's address (engine requests leave from the listen address's IP). It never learns whose
 * query that is beyond the peer that sent it, nor whether it is real or a fake.
 *
 * One lock guards the view, the links (peer -> session id, blacklist) and the counters; no call
 * to another node or to the enclave is made under it. A search is at most ATTEMPTS rounds: a
 * relay that fails the real query is blacklisted and the search is drawn again without it. */
#include <cloister/crypto.h>
#include <cloister/cyclosa_node.h>
#include <cloister/search_engine.h>
#include <cloister/tee.h>
#include <cloister/tee_trust.h>
#include <cloister/wire.h>
#include <cloister/xsearch.h>
#include <cloister/xsearch_proxy.h>

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cyclosa/common/cyclosa_msg.h"
#include "http/http.h"
#include "search/common/page.h"
#include "util/fileio.h"
#include "util/prng.h"

#define LINKS_MAX 512
#define ATTEMPTS 4
#define PEER_BODY_MAX (2 * CYCLOSA_HELLO_MAX + 64)
#define PEER_THREADS 4 /* a relay waits on the engine: several messages at once */
#define PEER_TYPE_VALUE "application/octet-stream"
#define PEER_TYPE "Content-Type: " PEER_TYPE_VALUE "\r\n"
#define API_BODY_MAX 8192
#define ENGINE_REPLY_MAX ((size_t)4 << 20)
#define ENGINE_TIMEOUT_S 10

_Static_assert(CYCLOSA_ENGINE_HITS == CYCLOSA_HITS, "the enclave asks for the hits a node shows");
#define ENCLAVE_HEAP ((uint64_t)64 << 20)

struct link {
    char addr[CYCLOSA_ADDR_MAX];
    uint64_t sid;         /* 0: no session */
    int64_t banned_until; /* ms, monotonic */
};

struct cyclosa_node {
    tee_enclave *e;
    struct http_server *peers, *api;
    char addr[CYCLOSA_ADDR_MAX], ip[16], engine[CYCLOSA_ADDR_MAX];
    bool tls; /* the engine over HTTPS, its session in the enclave */
    uint8_t mrenclave[32];
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool stopping, gossiping;
    pthread_t gossip;
    struct cyclosa_view view;
    struct link links[LINKS_MAX];
    size_t nlinks;
    struct cyclosa_node_stats stats;
    double tokens, rate;
    int64_t refill;
    unsigned gossip_ms, blacklist_ms, k_max;
    const cyclosa_sens *sens;
};

static int64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static uint64_t rnd(void *arg)
{
    (void)arg;
    uint64_t v = 0;
    return crypto_random(&v, sizeof v) == 0 ? v : 0; /* gossip's choices need no secrecy */
}

/* An ecall on the writer's bytes; a refusal carries the enclave's own message (tee.h). */
static int ecall(cyclosa_node *n, uint32_t number, struct wire_writer *in, uint8_t **out,
                 size_t *outlen, struct cloister_err *err)
{
    return tee_ecall_writer(n->e, number, in, out, outlen, err);
}

/* ---- links: sessions and the blacklist ---- */

/* The link of addr, made when absent (under the lock); NULL when the table is full. */
static struct link *link_of(cyclosa_node *n, const char *addr)
{
    for (size_t i = 0; i < n->nlinks; i++)
        if (strcmp(n->links[i].addr, addr) == 0)
            return &n->links[i];
    if (n->nlinks == LINKS_MAX) /* forget the first link that is neither banned nor attested */
        for (size_t i = 0; i < n->nlinks; i++)
            if (!n->links[i].sid && n->links[i].banned_until < now_ms()) {
                n->links[i] = n->links[--n->nlinks];
                break;
            }
    if (n->nlinks == LINKS_MAX)
        return NULL;
    struct link *l = &n->links[n->nlinks++];
    memset(l, 0, sizeof *l);
    snprintf(l->addr, sizeof l->addr, "%s", addr);
    return l;
}

static bool banned_locked(cyclosa_node *n, const char *addr)
{
    for (size_t i = 0; i < n->nlinks; i++)
        if (strcmp(n->links[i].addr, addr) == 0)
            return n->links[i].banned_until > now_ms();
    return false;
}

/* Forgets addr's session (in the enclave too); ban: and blacklists it for a while. */
static void drop_link(cyclosa_node *n, const char *addr, bool ban)
{
    uint64_t sid = 0;
    pthread_mutex_lock(&n->lock);
    struct link *l = link_of(n, addr);
    if (l) {
        sid = l->sid;
        l->sid = 0;
        if (ban)
            l->banned_until = now_ms() + n->blacklist_ms;
    }
    if (ban)
        cyclosa_view_remove(&n->view, addr);
    pthread_mutex_unlock(&n->lock);
    if (sid) {
        struct wire_writer w;
        uint8_t *out;
        size_t len;
        wire_writer_init(&w);
        wire_put_u64(&w, sid);
        ecall(n, CYCLOSA_ECALL_FORGET, &w, &out, &len, NULL);
        free(out);
    }
}

/* ---- talking to peers: binary bodies ---- */

/* POSTs in to peer's path from this node's IP, as bytes; *out the answer's bytes (max at most). */
static int peer_post(cyclosa_node *n, const char *peer, const char *path, const uint8_t *in,
                     size_t inlen, size_t max, uint8_t **out, size_t *outlen, unsigned *status,
                     struct cloister_err *err)
{
    char *reply = NULL;
    size_t got = 0;
    *status = 0;
    *out = NULL;
    int rc = http_call_bin_from(n->ip, peer, "POST", path, PEER_TYPE, in, inlen, max + 4096, status,
                                &reply, &got, err);
    if (rc == CLOISTER_OK && *status != 200)
        rc = cloister_errf(err, CLOISTER_E_FAILED, "%s %s: HTTP %u: %.200s", peer, path, *status,
                           reply);
    else if (rc == CLOISTER_OK && got > max)
        rc = cloister_errf(err, CLOISTER_E_PROTOCOL, "%s %s: an answer over %zu bytes", peer, path,
                           max);
    if (rc == CLOISTER_OK) {
        *out = (uint8_t *)reply;
        *outlen = got;
        return rc;
    }
    free(reply);
    return rc;
}

/* ---- gossip ---- */

/* Drops blacklisted peers from the view (under the lock). */
static void unban_view(cyclosa_node *n)
{
    for (size_t i = 0; i < n->view.n;)
        if (banned_locked(n, n->view.v[i].addr))
            cyclosa_view_remove(&n->view, n->view.v[i].addr);
        else
            i++;
}

static void merge(cyclosa_node *n, const uint8_t *buf, size_t len)
{
    struct cyclosa_peer in[CYCLOSA_VIEW_MAX];
    size_t got = 0;
    if (cyclosa_view_decode(buf, len, in, &got, NULL) != CLOISTER_OK)
        return;
    pthread_mutex_lock(&n->lock);
    cyclosa_view_select(&n->view, n->addr, in, got, rnd, NULL);
    unban_view(n);
    pthread_mutex_unlock(&n->lock);
}

/* One active exchange with the oldest peer. */
static void gossip_once(cyclosa_node *n)
{
    char peer[CYCLOSA_ADDR_MAX] = "";
    uint8_t *buf = NULL, *reply = NULL;
    size_t len = 0, rlen = 0;
    unsigned status;
    pthread_mutex_lock(&n->lock);
    cyclosa_view_age(&n->view);
    const char *p = cyclosa_view_oldest(&n->view);
    if (p) {
        snprintf(peer, sizeof peer, "%s", p);
        cyclosa_view_buffer(&n->view, n->addr, rnd, NULL, &buf, &len);
    }
    pthread_mutex_unlock(&n->lock);
    if (!*peer || !buf) {
        free(buf);
        return;
    }
    if (peer_post(n, peer, "/v1/gossip", buf, len, 8192, &reply, &rlen, &status, NULL) == 0)
        merge(n, reply, rlen);
    else
        drop_link(n, peer, true);
    free(buf);
    free(reply);
}

static void *gossip_main(void *arg)
{
    cyclosa_node *n = arg;
    pthread_mutex_lock(&n->lock);
    while (!n->stopping) {
        struct timespec t;
        clock_gettime(CLOCK_REALTIME, &t);
        /* a random offset in [0.5, 1.5) periods, so nodes started together do not beat */
        uint64_t ms = n->gossip_ms / 2 + rnd(NULL) % (n->gossip_ms ? n->gossip_ms : 1);
        t.tv_sec += (time_t)(ms / 1000);
        t.tv_nsec += (long)(ms % 1000) * 1000000;
        if (t.tv_nsec >= 1000000000) {
            t.tv_sec++;
            t.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&n->wake, &n->lock, &t);
        if (n->stopping)
            break;
        pthread_mutex_unlock(&n->lock);
        gossip_once(n);
        pthread_mutex_lock(&n->lock);
    }
    pthread_mutex_unlock(&n->lock);
    return NULL;
}

/* ---- attestation ---- */

/* The session with addr, attesting it first when there is none. */
static int session_with(cyclosa_node *n, const char *addr, uint64_t *sid, struct cloister_err *err)
{
    pthread_mutex_lock(&n->lock);
    struct link *l = link_of(n, addr);
    *sid = l ? l->sid : 0;
    bool banned = l && l->banned_until > now_ms();
    pthread_mutex_unlock(&n->lock);
    if (!l || banned)
        return cloister_errf(err, CLOISTER_E_STATE, "%s is blacklisted", addr);
    if (*sid)
        return CLOISTER_OK;
    struct wire_writer w;
    uint8_t *hello = NULL, *reply = NULL, *fin = NULL;
    size_t hlen = 0, rlen = 0, flen = 0;
    unsigned status = 0;
    wire_writer_init(&w);
    int rc = ecall(n, CYCLOSA_ECALL_HELLO, &w, &hello, &hlen, err);
    if (rc == CLOISTER_OK) {
        struct wire_reader r;
        wire_reader_init(&r, hello, hlen);
        size_t blen = 0;
        const uint8_t *b = wire_get_bytes(&r, CYCLOSA_HELLO_MAX, &blen);
        rc = wire_reader_finish(&r) == 0
                 ? peer_post(n, addr, "/v1/hello", b, blen, CYCLOSA_HELLO_MAX + 16, &reply, &rlen,
                             &status, err)
                 : cloister_errf(err, CLOISTER_E_PROTOCOL, "the enclave's hello is malformed");
    }
    if (rc == CLOISTER_OK) {
        struct wire_reader r;
        size_t blen = 0;
        wire_reader_init(&r, reply, rlen);
        wire_get_u64(&r);
        const uint8_t *b = wire_get_bytes(&r, CYCLOSA_HELLO_MAX, &blen);
        wire_writer_init(&w);
        wire_put_raw(&w, hello, hlen); /* hello is already bytes-framed */
        wire_put_bytes(&w, b, blen);
        rc = wire_reader_finish(&r) == 0
                 ? ecall(n, CYCLOSA_ECALL_FINISH, &w, &fin, &flen, err)
                 : (wire_writer_free(&w),
                    cloister_errf(err, CLOISTER_E_PROTOCOL, "%s: a malformed reply", addr));
    }
    if (rc == CLOISTER_OK) {
        struct wire_reader r;
        wire_reader_init(&r, fin, flen);
        *sid = wire_get_u64(&r);
        if (wire_reader_finish(&r) != 0)
            *sid = 0;
    }
    free(hello);
    free(reply);
    free(fin);
    if (rc != CLOISTER_OK || !*sid) {
        pthread_mutex_lock(&n->lock);
        n->stats.attest_fails += status == 403 || rc == CLOISTER_E_DENIED;
        pthread_mutex_unlock(&n->lock);
        drop_link(n, addr, true);
        return rc != CLOISTER_OK ? rc : cloister_errf(err, CLOISTER_E_PROTOCOL, "no session");
    }
    pthread_mutex_lock(&n->lock);
    if ((l = link_of(n, addr)) != NULL)
        l->sid = *sid;
    pthread_mutex_unlock(&n->lock);
    return CLOISTER_OK;
}

/* ---- relaying ---- */

/* Whether the engine may be asked now (a token bucket of rate per second, burst one second). */
static bool take_token(cyclosa_node *n)
{
    if (n->rate <= 0)
        return true;
    int64_t t = now_ms();
    n->tokens += (double)(t - n->refill) * n->rate / 1000;
    n->refill = t;
    if (n->tokens > n->rate)
        n->tokens = n->rate;
    if (n->tokens < 1)
        return false;
    n->tokens -= 1;
    return true;
}

/* The engine's body for q over plain HTTP (the host sees q). */
static int engine_http(cyclosa_node *n, const char *q, char **reply, struct cloister_err *err)
{
    char path[3 * SEARCH_QUERY_MAX + 64];
    unsigned status = 0;
    int at = snprintf(path, sizeof path, "/search?n=%d&q=", CYCLOSA_HITS);
    http_url_encode(q, path + at);
    int rc = http_call_from(n->ip, n->engine, "GET", path, NULL, NULL, 0, ENGINE_REPLY_MAX, &status,
                            reply, err);
    if (rc == CLOISTER_OK && status != 200)
        rc = cloister_errf(err, CLOISTER_E_FAILED, "the engine answered HTTP %u", status);
    return rc;
}

/* The engine's hits in reply, encoded and cut to fit an answer (*out malloc'd). */
static int engine_hits(const char *reply, uint8_t **out, size_t *len, struct cloister_err *err)
{
    struct search_hits h = {0};
    int rc = xsearch_engine_parse(reply, strlen(reply), &h, err);
    for (size_t i = 0; i < h.n; i++)
        search_hit_clear_matched(&h.v[i]); /* the user needs no matched list */
    *out = NULL;
    while (rc == CLOISTER_OK) {
        if (xsearch_hits_encode(&h, out, len) != CLOISTER_OK)
            rc = cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
        else if (*len + CYCLOSA_ID_LEN + 10 <= CYCLOSA_ANSWER_PLAIN || !h.n)
            break;
        free(*out);
        *out = NULL;
        search_hit_clear(&h.v[--h.n]);
    }
    search_hits_free(&h);
    return rc;
}

/* A TCP connection to the engine from this node's IP (fd), or -1 with err set. */
static int engine_connect(cyclosa_node *n, struct cloister_err *err)
{
    struct sockaddr_in src = {.sin_family = AF_INET}, dst = {.sin_family = AF_INET};
    const char *colon = strrchr(n->engine, ':');
    char host[16] = "";
    if (colon && (size_t)(colon - n->engine) < sizeof host)
        memcpy(host, n->engine, (size_t)(colon - n->engine));
    dst.sin_port = htons((uint16_t)atoi(colon ? colon + 1 : "0"));
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct timeval tv = {.tv_sec = ENGINE_TIMEOUT_S};
    if (fd >= 0 && inet_pton(AF_INET, n->ip, &src.sin_addr) == 1 &&
        inet_pton(AF_INET, host, &dst.sin_addr) == 1 &&
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0 &&
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) == 0 &&
        bind(fd, (struct sockaddr *)&src, sizeof src) == 0 &&
        connect(fd, (struct sockaddr *)&dst, sizeof dst) == 0)
        return fd;
    if (fd >= 0)
        close(fd);
    cloister_errf(err, CLOISTER_E_SYSTEM, "cannot reach the engine");
    return -1;
}

/* Tells the enclave to drop its connection h to the engine (a failed or refused request). */
static void engine_drop(cyclosa_node *n, uint64_t h)
{
    struct wire_writer w;
    uint8_t *out = NULL;
    size_t outlen = 0;
    struct cloister_err ignored;
    wire_writer_init(&w);
    wire_put_u64(&w, h);
    wire_put_u8(&w, 2);
    wire_put_bytes(&w, NULL, 0);
    ecall(n, CYCLOSA_ECALL_ENGINE, &w, &out, &outlen, &ignored);
    free(out);
}

static bool send_all(int fd, const uint8_t *p, size_t len)
{
    while (len) {
        ssize_t w = send(fd, p, len, MSG_NOSIGNAL);
        if (w <= 0)
            return false;
        p += w;
        len -= (size_t)w;
    }
    return true;
}

/* The engine's body for the connection h the enclave opened (its first step in r): the host
 * carries the TLS records between the enclave and the engine's socket, nothing more. */
static int engine_tls(cyclosa_node *n, uint64_t h, struct wire_reader *r, char **body,
                      struct cloister_err *err)
{
    int fd = engine_connect(n, err), rc = fd < 0 ? CLOISTER_E_SYSTEM : CLOISTER_OK;
    uint8_t *step = NULL, buf[16384];
    size_t steplen = 0, blen = 0;
    ssize_t got = 0;
    bool done = false;
    while (rc == CLOISTER_OK && !done) {
        const uint8_t *tx = wire_get_bytes(r, SIZE_MAX, &blen);
        done = wire_get_u8(r) != 0;
        const uint8_t *b = done ? wire_get_bytes(r, SIZE_MAX, &steplen) : NULL;
        if (!wire_reader_ok(r) || (!done && wire_reader_finish(r) != 0))
            rc = cloister_errf(err, CLOISTER_E_PROTOCOL, "the enclave's answer is malformed");
        else if (blen && !send_all(fd, tx, blen))
            rc = cloister_errf(err, CLOISTER_E_FAILED, "the engine closed the connection");
        else if (done && !(*body = strndup((const char *)b, steplen)))
            rc = cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
        if (rc != CLOISTER_OK || done)
            break;
        got = recv(fd, buf, sizeof buf, 0);
        struct wire_writer w;
        wire_writer_init(&w);
        wire_put_u64(&w, h);
        wire_put_u8(&w, got <= 0 ? 1 : 0);
        wire_put_bytes(&w, buf, got > 0 ? (size_t)got : 0);
        free(step);
        step = NULL;
        rc = ecall(n, CYCLOSA_ECALL_ENGINE, &w, &step, &steplen, err);
        wire_reader_init(r, step, steplen);
    }
    if (fd >= 0)
        close(fd);
    if (rc != CLOISTER_OK && !done)
        engine_drop(n, h);
    free(step);
    return rc;
}

/* One relayed message: RELAY, the engine, ANSWER. */
static int relay(cyclosa_node *n, const uint8_t *frame, size_t len, uint8_t **out, size_t *outlen,
                 struct cloister_err *err)
{
    struct wire_writer w;
    uint8_t *opened = NULL, *hits = NULL, id[CYCLOSA_ID_LEN];
    size_t olen = 0, hlen = 0;
    char q[SEARCH_QUERY_MAX + 1];
    wire_writer_init(&w);
    wire_put_bytes(&w, frame, len);
    int rc = ecall(n, CYCLOSA_ECALL_RELAY, &w, &opened, &olen, err);
    struct wire_reader r;
    wire_reader_init(&r, opened, olen);
    uint64_t sid = wire_get_u64(&r);
    wire_get_raw_into(&r, id, sizeof id);
    int got = wire_get_str(&r, q, sizeof q);
    uint64_t h = n->tls ? wire_get_u64(&r) : 0; /* then the TLS session's first step */
    if (rc == CLOISTER_OK && (got != 0 || (!n->tls && wire_reader_finish(&r) != 0)))
        rc = cloister_errf(err, CLOISTER_E_PROTOCOL, "the enclave's answer is malformed");
    pthread_mutex_lock(&n->lock);
    bool opened_ok = rc == CLOISTER_OK;
    if (rc == CLOISTER_OK && !take_token(n))
        rc = cloister_errf(err, CLOISTER_E_BUSY, "this relay is at its engine rate");
    n->stats.refused += rc != CLOISTER_OK;
    n->stats.relayed += rc == CLOISTER_OK;
    pthread_mutex_unlock(&n->lock);
    char *reply = NULL;
    if (rc == CLOISTER_OK)
        rc = n->tls ? engine_tls(n, h, &r, &reply, err) : engine_http(n, q, &reply, err);
    else if (opened_ok && h)
        engine_drop(n, h);
    free(opened);
    crypto_wipe(q, sizeof q);
    if (rc == CLOISTER_OK)
        rc = engine_hits(reply, &hits, &hlen, err);
    free(reply);
    if (rc == CLOISTER_OK) {
        wire_writer_init(&w);
        wire_put_u64(&w, sid);
        wire_put_raw(&w, id, sizeof id);
        wire_put_bytes(&w, hits, hlen);
        rc = ecall(n, CYCLOSA_ECALL_ANSWER, &w, &opened, &olen, err);
        wire_reader_init(&r, opened, olen);
        size_t flen = 0;
        const uint8_t *f = wire_get_bytes(&r, CYCLOSA_ANSWER_FRAME, &flen);
        if (rc == CLOISTER_OK && (wire_reader_finish(&r) != 0 || !(*out = malloc(flen))))
            rc = cloister_errf(err, CLOISTER_E_PROTOCOL, "the enclave's answer is malformed");
        if (rc == CLOISTER_OK) {
            memcpy(*out, f, flen);
            *outlen = flen;
        }
        free(opened);
    }
    free(hits);
    return rc;
}

/* ---- searching ---- */

struct sent {
    char addr[CYCLOSA_ADDR_MAX];
    uint64_t sid;
    uint8_t id[CYCLOSA_ID_LEN];
    const uint8_t *frame;
    size_t len;
};

/* The attested peers of the view (at most cap): their addresses and sessions. */
static size_t candidates(cyclosa_node *n, char (*addr)[CYCLOSA_ADDR_MAX], uint64_t *sids,
                         size_t cap)
{
    struct cyclosa_peer view[CYCLOSA_VIEW_MAX];
    size_t nv = cyclosa_node_view(n, view, CYCLOSA_VIEW_MAX), got = 0;
    for (size_t i = 0; i < nv && got < cap; i++) {
        struct cloister_err e;
        if (session_with(n, view[i].addr, &sids[got], &e) == CLOISTER_OK)
            memcpy(addr[got++], view[i].addr, CYCLOSA_ADDR_MAX);
    }
    return got;
}

/* The real answer, opened: its id must be the one sent. */
static int open_answer(cyclosa_node *n, const struct sent *s, const uint8_t *ans, size_t len,
                       struct search_hits *hits, struct cloister_err *err)
{
    struct wire_writer w;
    uint8_t *out = NULL;
    size_t outlen = 0, hlen = 0;
    wire_writer_init(&w);
    wire_put_u64(&w, s->sid);
    wire_put_bytes(&w, ans, len);
    int rc = ecall(n, CYCLOSA_ECALL_OPEN, &w, &out, &outlen, err);
    struct wire_reader r;
    wire_reader_init(&r, out, outlen);
    const uint8_t *id = wire_get_raw(&r, CYCLOSA_ID_LEN);
    const uint8_t *h = wire_get_bytes(&r, CYCLOSA_ANSWER_PLAIN, &hlen);
    if (rc == CLOISTER_OK && (wire_reader_finish(&r) != 0 || !crypto_memeq(id, s->id, 16)))
        rc = cloister_errf(err, CLOISTER_E_DENIED, "%s answered another message", s->addr);
    if (rc == CLOISTER_OK)
        rc = xsearch_hits_decode(h, hlen, hits, err);
    free(out);
    return rc;
}

/* Sends one message and, for the real one, opens its answer. A peer that fails is dropped. */
static int send_one(cyclosa_node *n, const struct sent *s, bool real, struct cyclosa_result *res,
                    struct cloister_err *err)
{
    uint8_t *ans = NULL;
    size_t alen = 0;
    unsigned status = 0;
    int rc = peer_post(n, s->addr, "/v1/relay", s->frame, s->len, CYCLOSA_ANSWER_FRAME, &ans, &alen,
                       &status, err);
    if (rc == CLOISTER_OK && real)
        rc = open_answer(n, s, ans, alen, &res->hits, err);
    free(ans);
    if (rc != CLOISTER_OK && status != 429) /* 409: a worn-out session; else the peer failed */
        drop_link(n, s->addr, status != 409);
    return rc;
}

/* One round: QUERY in the enclave, then every message sent; CLOISTER_OK when the real answer
 * came back. */
static int round_once(cyclosa_node *n, const char *q, unsigned k, struct cyclosa_result *res,
                      struct cloister_err *err)
{
    char addr[CYCLOSA_VIEW_MAX][CYCLOSA_ADDR_MAX];
    uint64_t sids[CYCLOSA_VIEW_MAX];
    struct sent sent[SEARCH_K_MAX + 1];
    size_t np = candidates(n, addr, sids, CYCLOSA_VIEW_MAX), m = 0, real = 0;
    uint8_t *out = NULL;
    size_t outlen = 0;
    struct wire_writer w;
    wire_writer_init(&w);
    wire_put_str(&w, q);
    wire_put_u8(&w, (uint8_t)k);
    wire_put_varint(&w, np);
    for (size_t i = 0; i < np; i++)
        wire_put_u64(&w, sids[i]);
    int rc = ecall(n, CYCLOSA_ECALL_QUERY, &w, &out, &outlen, err);
    struct wire_reader r;
    wire_reader_init(&r, out, outlen);
    real = wire_get_u8(&r);
    m = wire_get_count(&r, 8 + CYCLOSA_ID_LEN + CYCLOSA_FRAME, SEARCH_K_MAX + 1);
    for (size_t i = 0; i < m && wire_reader_ok(&r); i++) {
        sent[i].sid = wire_get_u64(&r);
        wire_get_raw_into(&r, sent[i].id, CYCLOSA_ID_LEN);
        sent[i].frame = wire_get_bytes(&r, CYCLOSA_FRAME, &sent[i].len);
        *sent[i].addr = 0;
        for (size_t j = 0; j < np; j++)
            if (sids[j] == sent[i].sid)
                memcpy(sent[i].addr, addr[j], CYCLOSA_ADDR_MAX);
    }
    if (rc == CLOISTER_OK && (wire_reader_finish(&r) != 0 || real >= m))
        rc = cloister_errf(err, CLOISTER_E_PROTOCOL, "the enclave's messages are malformed");
    int real_rc = CLOISTER_E_FAILED;
    for (size_t i = 0; rc == CLOISTER_OK && i < m; i++) {
        struct cloister_err e = {0};
        int one = send_one(n, &sent[i], i == real, res, i == real ? err : &e);
        if (i == real)
            real_rc = one;
    }
    if (rc == CLOISTER_OK && real_rc == CLOISTER_OK) {
        res->k = 0;
        memcpy(res->relay, sent[real].addr, CYCLOSA_ADDR_MAX);
        for (size_t i = 0; i < m; i++)
            if (i != real)
                memcpy(res->fakes[res->k++], sent[i].addr, CYCLOSA_ADDR_MAX);
    }
    free(out);
    return rc != CLOISTER_OK ? rc : real_rc;
}

int cyclosa_node_search(cyclosa_node *n, const char *q, int k, const search_attack *own,
                        struct cyclosa_result *r, struct cloister_err *err)
{
    memset(r, 0, sizeof *r);
    size_t len = strlen(q);
    double l = 0;
    uint32_t user;
    if (n->sens)
        r->topic = cyclosa_sens_topic(n->sens, q, len);
    if (k < 0 && n->sens)
        k = (int)cyclosa_sens_k(n->sens, own, q, len, n->k_max, NULL);
    else if (k < 0)
        k = own && search_attack_attribute(own, q, len, &user, &l) ? (int)(l * n->k_max + 0.5) : 0;
    if ((unsigned)k > n->k_max)
        return cloister_errf(err, CLOISTER_E_INVALID, "k = %d is over k max %u", k, n->k_max);
    int rc = CLOISTER_E_FAILED, kept = CLOISTER_OK;
    for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
        struct cloister_err e = {0};
        search_hits_free(&r->hits);
        rc = round_once(n, q, (unsigned)k, r, &e);
        if (rc != CLOISTER_E_STATE || kept == CLOISTER_OK) { /* no peer left says least */
            kept = rc;
            if (err)
                *err = e;
        }
        if (rc == CLOISTER_OK || rc == CLOISTER_E_INVALID)
            break;
        pthread_mutex_lock(&n->lock);
        n->stats.retries++;
        pthread_mutex_unlock(&n->lock);
    }
    pthread_mutex_lock(&n->lock);
    n->stats.searches++;
    pthread_mutex_unlock(&n->lock);
    return kept;
}

/* ---- the peer server ---- */

/* The bytes p as the answer (the request's answer_len says how many). */
static void reply_bytes(const struct http_request *r, const uint8_t *p, size_t len,
                        unsigned *status, char **body)
{
    *body = malloc(len ? len : 1);
    *status = *body ? 200 : 500;
    if (*body) {
        memcpy(*body, p, len);
        *r->answer_len = len;
    }
}

static void reply_err(int rc, const struct cloister_err *err, unsigned *status, char **body)
{
    *status = http_status_of(rc);
    *body = http_error_json(err->msg);
}

static void on_gossip(cyclosa_node *n, const struct http_request *r, unsigned *status, char **body)
{
    const uint8_t *in = (const uint8_t *)r->body;
    size_t len = r->len;
    struct cyclosa_peer got[CYCLOSA_VIEW_MAX];
    struct cloister_err err = {0};
    size_t ngot = 0, blen = 0;
    uint8_t *buf = NULL;
    int rc = cyclosa_view_decode(in, len, got, &ngot, &err);
    if (rc != CLOISTER_OK) {
        reply_err(rc, &err, status, body);
        return;
    }
    pthread_mutex_lock(&n->lock);
    rc = cyclosa_view_buffer(&n->view, n->addr, rnd, NULL, &buf, &blen);
    cyclosa_view_select(&n->view, n->addr, got, ngot, rnd, NULL);
    unban_view(n);
    pthread_mutex_unlock(&n->lock);
    if (rc == CLOISTER_OK)
        reply_bytes(r, buf, blen, status, body);
    else
        *status = 500;
    free(buf);
}

static void on_hello(cyclosa_node *n, const struct http_request *r, unsigned *status, char **body)
{
    struct wire_writer w;
    struct cloister_err err = {0};
    uint8_t *out = NULL;
    size_t outlen = 0;
    wire_writer_init(&w);
    wire_put_bytes(&w, (const uint8_t *)r->body, r->len);
    int rc = ecall(n, CYCLOSA_ECALL_ACCEPT, &w, &out, &outlen, &err);
    if (rc == CLOISTER_OK)
        reply_bytes(r, out, outlen, status, body);
    else
        reply_err(rc, &err, status, body);
    pthread_mutex_lock(&n->lock);
    n->stats.attest_fails += rc == CLOISTER_E_DENIED;
    pthread_mutex_unlock(&n->lock);
    free(out);
}

static void on_relay(cyclosa_node *n, const struct http_request *r, unsigned *status, char **body)
{
    struct cloister_err err = {0};
    uint8_t *out = NULL;
    size_t outlen = 0;
    int rc = relay(n, (const uint8_t *)r->body, r->len, &out, &outlen, &err);
    if (rc == CLOISTER_OK)
        reply_bytes(r, out, outlen, status, body);
    else
        reply_err(rc, &err, status, body);
    free(out);
}

static void handle_peer(void *arg, const struct http_request *r, unsigned *status, char **body,
                        const char **type)
{
    cyclosa_node *n = arg;
    if (strcmp(r->method, "POST") != 0) {
        *status = 405;
        *body = http_error_json("expected POST with a binary body");
    } else if (strcmp(r->url, "/v1/gossip") == 0) {
        on_gossip(n, r, status, body);
    } else if (strcmp(r->url, "/v1/hello") == 0) {
        on_hello(n, r, status, body);
    } else if (strcmp(r->url, "/v1/relay") == 0) {
        on_relay(n, r, status, body);
    } else {
        *status = 404;
        *body = http_error_json("no such path (POST /v1/gossip, /v1/hello, /v1/relay)");
    }
    if (*status == 200)
        *type = PEER_TYPE_VALUE;
}

/* ---- the user's API ---- */

static char *result_json(const char *q, const struct cyclosa_result *res)
{
    json_t *hits = json_array();
    for (size_t i = 0; i < res->hits.n; i++)
        json_array_append_new(hits,
                              json_pack("{s:s,s:s,s:s}", "url", res->hits.v[i].url, "title",
                                        res->hits.v[i].title, "snippet", res->hits.v[i].snippet));
    json_t *j = json_pack("{s:s,s:I,s:s,s:s,s:o}", "query", q, "k", (json_int_t)res->k, "topic",
                          cyclosa_topic_name(res->topic), "relay", res->relay, "hits", hits);
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    return s;
}

static void on_search(cyclosa_node *n, const struct http_request *r, unsigned *status, char **body)
{
    json_t *j = json_loadb(r->body, r->len, 0, NULL);
    const char *q = json_string_value(json_object_get(j, "q"));
    json_t *jk = json_object_get(j, "k");
    struct cyclosa_result res;
    struct cloister_err err = {0};
    if (!q || (jk && !json_is_integer(jk))) {
        *status = 400;
        *body = http_error_json("expected {\"q\": QUERY[, \"k\": K]}");
    } else {
        int rc = cyclosa_node_search(n, q, jk ? (int)json_integer_value(jk) : -1, NULL, &res, &err);
        *status = rc == CLOISTER_OK ? 200 : http_status_of(rc);
        *body = rc == CLOISTER_OK ? result_json(q, &res) : http_error_json(err.msg);
        search_hits_free(&res.hits);
    }
    json_decref(j);
}

/* The search page (search/common/page.c, X-Search's broker's too): GET /?q=QUERY[&k=K] searches
 * and renders the real query's answer with the k and topic it got. */
static char *on_page(cyclosa_node *n, const struct http_request *r, unsigned *status)
{
    const char *q = http_arg(r, "q"), *ks = http_arg(r, "k");
    char *end = NULL, note[160];
    long k = ks && *ks ? strtol(ks, &end, 10) : -1;
    struct cyclosa_result res = {0};
    struct cloister_err err = {0};
    struct search_page pg = {"Cyclosa", q, -1, NULL, NULL, NULL};
    *status = 200;
    if (end && (*end || k < 0 || k > SEARCH_K_MAX)) {
        *status = 400;
        pg.error = "bad parameters (k 0..64)";
    } else if (q && *q) {
        int rc = cyclosa_node_search(n, q, (int)k, NULL, &res, &err);
        if (rc == CLOISTER_OK) {
            snprintf(note, sizeof note,
                     "k = %u fake queries sent, topic %s; the real one relayed by %s", res.k,
                     cyclosa_topic_name(res.topic), res.relay);
            pg.note = note;
            pg.hits = &res.hits;
        } else {
            *status = http_status_of(rc);
            pg.error = err.msg;
        }
    }
    char *out = search_page_render(&pg);
    search_hits_free(&res.hits);
    return out;
}

static void handle_api(void *arg, const struct http_request *r, unsigned *status, char **body,
                       const char **type)
{
    cyclosa_node *n = arg;
    if (strcmp(r->method, "GET") == 0 && strcmp(r->url, "/") == 0) {
        *body = on_page(n, r, status);
        *type = "text/html; charset=utf-8";
    } else if (strcmp(r->method, "POST") == 0 && strcmp(r->url, "/v1/search") == 0) {
        on_search(n, r, status, body);
    } else {
        *status = 404;
        *body = http_error_json("no such path (GET /, POST /v1/search)");
    }
}

/* ---- life cycle ---- */

/* Starts the enclave: the image signed at start with a fresh key unless a signature is given. */
static int start_enclave(cyclosa_node *n, const struct cyclosa_node_options *o,
                         struct cloister_err *err)
{
    char image[PATH_MAX];
    struct tee_options t;
    tee_options_init(&t);
    if (o->backend && tee_backend_parse(o->backend, &t.backend, NULL) != 0)
        return cloister_errf(err, CLOISTER_E_INVALID, "unknown enclave backend '%s' (proc or sim)",
                             o->backend);
    t.enclave = o->enclave;
    t.home = o->home;
    t.wait = TEE_WAIT_BLOCK;
    t.max_message = 4 * CYCLOSA_ANSWER_FRAME;
    if (!o->signature)
        return tee_create_signed(&t, "cyclosa", ENCLAVE_HEAP, &n->e, err);
    if (tee_image_path("cyclosa", image, sizeof image, NULL) != CLOISTER_OK)
        return cloister_errf(err, CLOISTER_E_NOT_FOUND,
                             "cannot find the cyclosa enclave image (set CLOISTER_ENCLAVE_DIR)");
    t.image = image;
    t.signature = o->signature;
    int rc = tee_create(&t, &n->e, err);
    if (rc != CLOISTER_OK)
        cloister_err_wrap(err, "starting the cyclosa enclave");
    return rc;
}

/* INIT: the table's size and first queries, the platform CA. */
static int init_enclave(cyclosa_node *n, const struct cyclosa_node_options *o,
                        struct cloister_err *err)
{
    tee_platform *platform = tee_platform_open(o->home, err);
    uint8_t *ca = NULL, *out = NULL;
    size_t calen = 0, outlen = 0;
    if (!platform)
        return CLOISTER_E_NOT_FOUND;
    int rc = file_read_all(tee_platform_ca_path(platform), 1 << 20, &ca, &calen) == 0
                 ? CLOISTER_OK
                 : cloister_errf(err, CLOISTER_E_NOT_FOUND, "cannot read the platform's CA");
    tee_platform_free(platform);
    struct wire_writer w;
    wire_writer_init(&w);
    wire_put_varint(&w, o->table ? o->table : CYCLOSA_TABLE_DEFAULT);
    wire_put_bytes(&w, ca, calen);
    wire_put_varint(&w, o->npopular);
    for (size_t i = 0; i < o->npopular; i++)
        wire_put_str(&w, o->popular[i]);
    free(ca);
    ca = NULL;
    calen = 0;
    if (rc == CLOISTER_OK && o->engine_ca && file_read_all(o->engine_ca, 1 << 20, &ca, &calen) != 0)
        rc = cloister_errf(err, CLOISTER_E_NOT_FOUND, "cannot read the engine's CA %s",
                           o->engine_ca);
    char ip[16] = "";
    const char *colon = strrchr(o->engine, ':');
    if (colon && (size_t)(colon - o->engine) < sizeof ip)
        memcpy(ip, o->engine, (size_t)(colon - o->engine));
    wire_put_bytes(&w, ca, calen);
    wire_put_str(&w, ip);
    free(ca);
    n->tls = o->engine_ca != NULL;
    if (rc != CLOISTER_OK) {
        wire_writer_free(&w);
        return rc;
    }
    rc = ecall(n, CYCLOSA_ECALL_INIT, &w, &out, &outlen, err);
    if (rc == CLOISTER_OK && outlen == 32)
        memcpy(n->mrenclave, out, 32);
    free(out);
    return rc;
}

static void set_options(cyclosa_node *n, const struct cyclosa_node_options *o)
{
    cyclosa_view_init(&n->view, o->view ? o->view : CYCLOSA_VIEW_DEFAULT,
                      o->set_ps ? o->healer : CYCLOSA_HEALER_DEFAULT,
                      o->set_ps ? o->swapper : CYCLOSA_SWAPPER_DEFAULT);
    n->gossip_ms = o->gossip_ms ? o->gossip_ms : 1000;
    n->blacklist_ms = o->blacklist_ms ? o->blacklist_ms : 30000;
    n->k_max = o->k_max ? o->k_max : CYCLOSA_K_MAX;
    n->rate = o->engine_rate;
    n->tokens = o->engine_rate;
    n->refill = now_ms();
    n->sens = o->sens;
}

static int start_servers(cyclosa_node *n, const struct cyclosa_node_options *o,
                         struct cloister_err *err)
{
    const char *colon = o->listen ? strrchr(o->listen, ':') : NULL;
    if (!colon || (size_t)(colon - o->listen) >= sizeof n->ip)
        return cloister_errf(err, CLOISTER_E_INVALID, "the node's address: IPv4:PORT");
    memcpy(n->ip, o->listen, (size_t)(colon - o->listen));
    if (o->api && strncmp(o->api, "127.", 4) != 0)
        return cloister_errf(err, CLOISTER_E_INVALID, "the API listens on 127.0.0.0/8 only");
    int rc = http_server_start_pool(o->listen, NULL, PEER_BODY_MAX, 0, PEER_THREADS, handle_peer, n,
                                    &n->peers, err);
    if (rc == CLOISTER_OK)
        snprintf(n->addr, sizeof n->addr, "%s:%u", n->ip, (unsigned)http_server_port(n->peers));
    if (rc == CLOISTER_OK && o->api)
        rc = http_server_start(o->api, NULL, API_BODY_MAX, handle_api, n, &n->api, err);
    return rc;
}

int cyclosa_node_start(const struct cyclosa_node_options *o, cyclosa_node **out,
                       struct cloister_err *err)
{
    if (!o->engine || strlen(o->engine) >= CYCLOSA_ADDR_MAX)
        return cloister_errf(err, CLOISTER_E_INVALID, "the engine: IPv4:PORT");
    if (o->k_max > SEARCH_K_MAX)
        return cloister_errf(err, CLOISTER_E_INVALID, "k max: at most %d", SEARCH_K_MAX);
    cyclosa_node *n = calloc(1, sizeof *n);
    if (!n)
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
    pthread_mutex_init(&n->lock, NULL);
    pthread_cond_init(&n->wake, NULL);
    snprintf(n->engine, sizeof n->engine, "%s", o->engine);
    set_options(n, o);
    int rc = start_enclave(n, o, err);
    if (rc == CLOISTER_OK)
        rc = init_enclave(n, o, err);
    if (rc == CLOISTER_OK)
        rc = start_servers(n, o, err);
    for (size_t i = 0; rc == CLOISTER_OK && i < o->nseeds; i++)
        if (strcmp(o->seeds[i], n->addr) != 0)
            cyclosa_view_add(&n->view, o->seeds[i]);
    if (rc == CLOISTER_OK) {
        if (pthread_create(&n->gossip, NULL, gossip_main, n) == 0)
            n->gossiping = true;
        else
            rc = cloister_errf(err, CLOISTER_E_SYSTEM, "cannot start the gossip thread");
    }
    if (rc != CLOISTER_OK) {
        cyclosa_node_stop(n);
        return rc;
    }
    *out = n;
    return CLOISTER_OK;
}

int cyclosa_nodes_start(const struct cyclosa_node_options *tmpl, const char *prefix, int first_host,
                        const char *first_seed, size_t n, uint64_t *rng, cyclosa_node **out,
                        struct cloister_err *err)
{
    for (size_t i = 0; i < n; i++) {
        char listen[CYCLOSA_ADDR_MAX];
        const char *seed = i ? cyclosa_node_addr(out[prng_next(rng) % i]) : first_seed;
        struct cyclosa_node_options o = *tmpl;
        snprintf(listen, sizeof listen, "%s.%d:0", prefix, first_host + (int)i);
        o.listen = listen;
        o.seeds = &seed;
        o.nseeds = seed ? 1 : 0;
        int rc = cyclosa_node_start(&o, &out[i], err);
        if (rc != CLOISTER_OK) {
            while (i) {
                cyclosa_node_stop(out[--i]);
                out[i] = NULL;
            }
            return rc;
        }
    }
    return CLOISTER_OK;
}

const char *cyclosa_node_addr(const cyclosa_node *n)
{
    return n->addr;
}

uint16_t cyclosa_node_api_port(const cyclosa_node *n)
{
    return n->api ? http_server_port(n->api) : 0;
}

void cyclosa_node_mrenclave(const cyclosa_node *n, uint8_t out[32])
{
    memcpy(out, n->mrenclave, 32);
}

size_t cyclosa_node_view(cyclosa_node *n, struct cyclosa_peer *out, size_t cap)
{
    pthread_mutex_lock(&n->lock);
    size_t got = n->view.n < cap ? n->view.n : cap;
    memcpy(out, n->view.v, got * sizeof *out);
    pthread_mutex_unlock(&n->lock);
    return got;
}

void cyclosa_node_stats(cyclosa_node *n, struct cyclosa_node_stats *out)
{
    pthread_mutex_lock(&n->lock);
    *out = n->stats;
    pthread_mutex_unlock(&n->lock);
}

void cyclosa_node_stop(cyclosa_node *n)
{
    if (!n)
        return;
    pthread_mutex_lock(&n->lock);
    n->stopping = true;
    pthread_cond_signal(&n->wake);
    pthread_mutex_unlock(&n->lock);
    if (n->gossiping)
        pthread_join(n->gossip, NULL);
    if (n->api)
        http_server_stop(n->api);
    if (n->peers)
        http_server_stop(n->peers);
    tee_destroy(n->e);
    pthread_cond_destroy(&n->wake);
    pthread_mutex_destroy(&n->lock);
    free(n);
}
