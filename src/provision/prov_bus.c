/* prov_bus.c -- attested HPKE provisioning over the bus (prov_bus.h, docs/bus.md).
 *
 * The verification and the sealing are the runtime's (tee_prov_package on the client,
 * the enclave's offer and accept ecalls on the worker): this file only carries the nonce, the
 * offer and the package between them, the way SCBR's router relays them over ZeroMQ. The client
 * keeps one nonce per seat; an offer is judged against the nonce of the seat it names, so an
 * offer made for another seat or session fails the binding. Each offer gets its own answer
 * subject (a random token the worker picks), so a seat taken twice (redelivered after its
 * first worker died) never mixes the answers. */
#include "provision/prov_bus.h"
#include "provision/prov_bus_codec.h"

#include "util/hex.h"
#include "util/log.h"

#include <cloister/crypto.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SUBJECT_MAX 200
#define SEATS_MAX 4096
#define SEAT_WAIT_MS 30000
#define REFUSED_RETRY_MS 1000
#define POOL_BYTES ((int64_t)16 << 20)
#define SESSION_BYTES ((int64_t)256 << 20)
#define POLL_MS 200

/* The pool's stream: both sides create it when missing. */
static int pool_ensure(struct bus *b, const char *pool, char *stream, size_t scap, char *subject,
                       size_t jcap, struct cloister_err *err)
{
    if (!prov_bus_name_ok(pool))
        return cloister_errf(err, CLOISTER_E_INVALID,
                             "provisioning pool names are 1..%d of A-Z a-z 0-9 _ -",
                             PROV_BUS_NAME_MAX);
    snprintf(stream, scap, "PROV_%s", pool);
    snprintf(subject, jcap, "prov.%s.seat", pool);
    struct bus_stream_config sc = {.name = stream,
                                   .subject = subject,
                                   .retention = BUS_WORK_QUEUE,
                                   .max_bytes = POOL_BYTES,
                                   .max_msg_size = (int32_t)PROV_INFO_MAX * 2};
    return bus_stream_ensure(b, &sc, err);
}

static void session_names(const char *session, char stream[SUBJECT_MAX], char offers[SUBJECT_MAX])
{
    snprintf(stream, SUBJECT_MAX, "PROVS_%s", session);
    snprintf(offers, SUBJECT_MAX, "prov.%s.offer", session);
}

/* ---- the client ---- */

struct prov_bus_client {
    struct bus *b;
    struct prov_bus_client_config c;
    char session[PROV_BUS_NAME_MAX + 1];
    char stream[SUBJECT_MAX], seat_subject[SUBJECT_MAX], session_stream[SUBJECT_MAX];
    struct bus_consumer *offers;
    pthread_t thread;
    bool started;
    volatile bool stop;
    pthread_mutex_t lock; /* nonces, nseats, stats */
    uint8_t (*nonces)[TEE_PROV_NONCE_LEN];
    uint32_t nseats;
    struct prov_bus_stats stats;
};

int prov_bus_client_add_seats(struct prov_bus_client *pc, uint32_t n, struct cloister_err *err)
{
    pthread_mutex_lock(&pc->lock);
    uint32_t first = pc->nseats;
    void *grown = first + n <= SEATS_MAX && n > 0
                      ? realloc(pc->nonces, (size_t)(first + n) * TEE_PROV_NONCE_LEN)
                      : NULL;
    int rc = 0;
    if (!grown)
        rc = cloister_errf(err, CLOISTER_E_INVALID, "1..%d seats per session", SEATS_MAX);
    else
        pc->nonces = grown;
    for (uint32_t i = first; rc == 0 && i < first + n; i++)
        rc = tee_prov_nonce(pc->nonces[i], err);
    if (rc == 0)
        pc->nseats = first + n;
    pthread_mutex_unlock(&pc->lock);
    for (uint32_t i = first; rc == 0 && i < first + n; i++) {
        struct prov_bus_msg_seat m = {.seat = i, .info = pc->c.info, .info_len = pc->c.info_len};
        snprintf(m.session, sizeof m.session, "%s", pc->c.session);
        memcpy(m.nonce, pc->nonces[i], sizeof m.nonce);
        struct wire_writer w;
        wire_writer_init(&w);
        rc = prov_bus_msg_seat_encode(&m, &w) == 0
                 ? bus_publish(pc->b, pc->seat_subject, NULL, 0, w.buf, w.len, NULL, NULL, err)
                 : cloister_errf(err, CLOISTER_E_NO_MEMORY, "no memory for a seat");
        wire_writer_free(&w);
    }
    return rc;
}

static void answer(struct prov_bus_client *pc, const char *token, uint8_t status,
                   const uint8_t *package, size_t package_len, const char *message)
{
    char subject[SUBJECT_MAX];
    snprintf(subject, sizeof subject, "prov.%s.answer.%s", pc->c.session, token);
    struct prov_bus_msg_answer m = {.status = status,
                                    .package = package,
                                    .package_len = package_len};
    if (status == PROV_ANSWER_PACKAGE) {
        m.extra = pc->c.extra;
        m.extra_len = pc->c.extra_len;
    }
    snprintf(m.message, sizeof m.message, "%s", message);
    struct wire_writer w;
    wire_writer_init(&w);
    struct cloister_err e = {0};
    if (prov_bus_msg_answer_encode(&m, &w) != 0 ||
        bus_publish(pc->b, subject, NULL, 0, w.buf, w.len, NULL, NULL, &e) != 0)
        clog_warn("provisioning %s: cannot answer an offer: %s", pc->c.session, e.msg);
    wire_writer_free(&w);
}

/* Judges one offer message and answers it (a malformed one gets no answer). */
static void judge(struct prov_bus_client *pc, const uint8_t *msg, size_t len)
{
    struct prov_bus_msg_offer o;
    bool decoded = prov_bus_msg_offer_decode(&o, msg, len) == 0;
    pthread_mutex_lock(&pc->lock);
    bool ok = decoded && o.seat < pc->nseats;
    uint8_t nonce[TEE_PROV_NONCE_LEN];
    if (ok)
        memcpy(nonce, pc->nonces[o.seat], sizeof nonce);
    else
        pc->stats.malformed++;
    pthread_mutex_unlock(&pc->lock);
    if (!ok)
        return;
    uint8_t *package = NULL;
    size_t package_len = 0;
    struct tee_claims claims = {0};
    struct cloister_err e = {0};
    bool provisioned = tee_prov_package(pc->c.verifier, pc->c.policy, nonce, sizeof nonce, o.offer,
                                        o.offer_len, pc->c.secrets, pc->c.nsecrets, &package,
                                        &package_len, &claims, &e) == 0;
    pthread_mutex_lock(&pc->lock);
    if (provisioned) {
        pc->stats.provisioned++;
        pc->stats.simulated |= claims.simulated;
    } else {
        pc->stats.refused++;
        snprintf(pc->stats.last_refusal, sizeof pc->stats.last_refusal, "%s", e.msg);
    }
    pthread_mutex_unlock(&pc->lock);
    if (provisioned)
        answer(pc, o.token, PROV_ANSWER_PACKAGE, package, package_len, "");
    else
        answer(pc, o.token, PROV_ANSWER_REFUSED, NULL, 0, e.msg);
    if (pc->c.on_offer)
        pc->c.on_offer(pc->c.arg, o.seat, o.label, provisioned, provisioned ? &claims : NULL,
                       provisioned ? NULL : e.msg);
    free(package);
}

static void *client_main(void *arg)
{
    struct prov_bus_client *pc = arg;
    while (!pc->stop) {
        struct bus_msg *m = NULL;
        size_t got = 0;
        struct cloister_err e = {0};
        if (bus_fetch(pc->offers, &m, 1, POLL_MS, &got, &e) != 0) {
            if (!pc->stop)
                clog_warn("provisioning %s: %s", pc->c.session, e.msg);
            struct timespec ts = {0, POLL_MS * 1000000L};
            nanosleep(&ts, NULL);
            continue;
        }
        if (got == 0)
            continue;
        size_t len;
        const uint8_t *d = bus_msg_data(m, &len);
        judge(pc, d, len);
        bus_msg_ack(m, NULL);
        bus_msg_free(m);
    }
    return NULL;
}

struct prov_bus_client *prov_bus_client_start(struct bus *b, const struct prov_bus_client_config *c,
                                              uint32_t nseats, struct cloister_err *err)
{
    if (!prov_bus_name_ok(c->session) || !c->verifier || !c->policy ||
        c->info_len > PROV_INFO_MAX) {
        cloister_errf(err, CLOISTER_E_INVALID,
                      "provisioning: a session name (1..%d of A-Z a-z 0-9 _ -), a verifier, a "
                      "policy and at most %zu bytes of seat info are required",
                      PROV_BUS_NAME_MAX, PROV_INFO_MAX);
        return NULL;
    }
    struct prov_bus_client *pc = calloc(1, sizeof *pc);
    if (!pc) {
        cloister_errf(err, CLOISTER_E_NO_MEMORY, "no memory for a provisioning session");
        return NULL;
    }
    pc->b = b;
    pc->c = *c;
    snprintf(pc->session, sizeof pc->session, "%s", c->session);
    pc->c.session = pc->session;
    pthread_mutex_init(&pc->lock, NULL);
    char offers[SUBJECT_MAX], subjects[SUBJECT_MAX];
    session_names(pc->session, pc->session_stream, offers);
    snprintf(subjects, sizeof subjects, "prov.%s.>", pc->session);
    int64_t msg_max = (int64_t)bus_max_payload(b);
    struct bus_stream_config sc = {.name = pc->session_stream,
                                   .subject = subjects,
                                   .retention = BUS_WORK_QUEUE,
                                   .max_bytes = SESSION_BYTES,
                                   .max_msg_size = (int32_t)msg_max};
    struct bus_consumer_config cc = {.stream = pc->session_stream,
                                     .durable = "provisioner",
                                     .filter = offers};
    int rc = pool_ensure(b, c->pool, pc->stream, sizeof pc->stream, pc->seat_subject,
                         sizeof pc->seat_subject, err);
    if (rc == 0)
        rc = bus_stream_ensure(b, &sc, err);
    if (rc == 0 && !(pc->offers = bus_consumer_open(b, &cc, err)))
        rc = CLOISTER_E_FAILED;
    if (rc == 0 && nseats > 0)
        rc = prov_bus_client_add_seats(pc, nseats, err);
    if (rc == 0 && pthread_create(&pc->thread, NULL, client_main, pc) != 0)
        rc = cloister_errf(err, CLOISTER_E_SYSTEM, "cannot start the provisioning thread");
    pc->started = rc == 0;
    if (rc != 0) {
        prov_bus_client_stop(pc);
        return NULL;
    }
    return pc;
}

void prov_bus_client_stats(struct prov_bus_client *pc, struct prov_bus_stats *out)
{
    pthread_mutex_lock(&pc->lock);
    *out = pc->stats;
    pthread_mutex_unlock(&pc->lock);
}

void prov_bus_client_stop(struct prov_bus_client *pc)
{
    if (!pc)
        return;
    pc->stop = true;
    if (pc->started)
        pthread_join(pc->thread, NULL);
    bus_consumer_close(pc->offers);
    bus_stream_delete(pc->b, pc->session_stream, NULL);
    free(pc->nonces);
    pthread_mutex_destroy(&pc->lock);
    free(pc);
}

/* ---- the worker ---- */

static int copy_bytes(uint8_t **dst, size_t *dlen, const uint8_t *src, size_t len)
{
    *dst = NULL;
    *dlen = len;
    if (len == 0)
        return 0;
    if (!(*dst = malloc(len)))
        return -1;
    memcpy(*dst, src, len);
    return 0;
}

/* Publishes the enclave's offer for the seat under a fresh token (hex, written to token). */
static int send_offer(struct bus *b, const struct prov_bus_msg_seat *s,
                      const struct prov_bus_enclave *e, const char *label,
                      char token[PROV_TOKEN_HEX + 1], struct cloister_err *err)
{
    uint8_t raw[PROV_TOKEN_BYTES], *offer = NULL;
    size_t offer_len = 0;
    if (crypto_random(raw, sizeof raw) != 0)
        return cloister_errf(err, CLOISTER_E_SYSTEM, "no randomness for a provisioning token");
    hex_encode(token, raw, sizeof raw);
    int rc = e->offer(e->arg, s->nonce, sizeof s->nonce, &offer, &offer_len, err);
    if (rc != 0)
        return rc;
    char stream[SUBJECT_MAX], offers[SUBJECT_MAX];
    session_names(s->session, stream, offers);
    struct prov_bus_msg_offer m = {.seat = s->seat, .offer = offer, .offer_len = offer_len};
    snprintf(m.token, sizeof m.token, "%s", token);
    snprintf(m.label, sizeof m.label, "%s", label);
    struct wire_writer w;
    wire_writer_init(&w);
    rc = prov_bus_msg_offer_encode(&m, &w) == 0
             ? bus_publish(b, offers, NULL, 0, w.buf, w.len, NULL, NULL, err)
             : cloister_errf(err, CLOISTER_E_NO_MEMORY, "no memory for an offer");
    wire_writer_free(&w);
    free(offer);
    if (rc == CLOISTER_E_NOT_FOUND)
        rc = cloister_errf(err, CLOISTER_E_NOT_FOUND, "provisioning session %s has ended",
                           s->session);
    return rc;
}

/* Waits for the answer to the offer made under token, keeping the seat reserved meanwhile;
 * accepts the package. */
static int take_answer(struct bus *b, const struct prov_bus_msg_seat *s, const char *token,
                       struct bus_msg *seat_msg, const struct prov_bus_enclave *e,
                       int64_t answer_ms, struct prov_bus_seat *out, struct cloister_err *err)
{
    char stream[SUBJECT_MAX], offers[SUBJECT_MAX], filter[SUBJECT_MAX], durable[SUBJECT_MAX];
    session_names(s->session, stream, offers);
    snprintf(filter, sizeof filter, "prov.%s.answer.%s", s->session, token);
    snprintf(durable, sizeof durable, "w%s", token);
    struct bus_consumer_config cc = {.stream = stream, .durable = durable, .filter = filter};
    struct bus_consumer *c = bus_consumer_open(b, &cc, err);
    if (!c)
        return CLOISTER_E_FAILED;
    struct bus_msg *m = NULL;
    size_t got = 0;
    int rc = 0;
    for (int64_t waited = 0; rc == 0 && got == 0 && waited < answer_ms; waited += POLL_MS) {
        rc = bus_fetch(c, &m, 1, POLL_MS, &got, err);
        bus_msg_in_progress(seat_msg, NULL);
    }
    if (rc == 0 && got == 0)
        rc = cloister_errf(err, CLOISTER_E_TIMEOUT,
                           "no answer from provisioning session %s within %lld ms", s->session,
                           (long long)answer_ms);
    size_t len = 0;
    const uint8_t *d = got ? bus_msg_data(m, &len) : NULL;
    struct prov_bus_msg_answer a;
    if (rc == 0 && prov_bus_msg_answer_decode(&a, d, len) != 0)
        rc = cloister_errf(err, CLOISTER_E_INVALID, "malformed answer from provisioning session %s",
                           s->session);
    if (rc == 0 && a.status == PROV_ANSWER_REFUSED)
        rc = cloister_errf(err, CLOISTER_E_DENIED, "session %s refused this enclave: %.160s",
                           s->session, a.message);
    if (rc == 0)
        rc = e->accept(e->arg, a.package, a.package_len, err);
    if (rc == 0 && (copy_bytes(&out->extra, &out->extra_len, a.extra, a.extra_len) != 0 ||
                    copy_bytes(&out->info, &out->info_len, s->info, s->info_len) != 0))
        rc = cloister_errf(err, CLOISTER_E_NO_MEMORY, "no memory for a seat");
    if (got) {
        bus_msg_ack(m, NULL);
        bus_msg_free(m);
    }
    bus_consumer_close(c);
    return rc;
}

int prov_bus_join(struct bus *b, const char *pool, const struct prov_bus_enclave *e,
                  const char *label, int64_t timeout_ms, int64_t answer_ms,
                  struct prov_bus_seat *out, struct cloister_err *err)
{
    char stream[SUBJECT_MAX], subject[SUBJECT_MAX];
    memset(out, 0, sizeof *out);
    int rc = pool_ensure(b, pool, stream, sizeof stream, subject, sizeof subject, err);
    struct bus_consumer_config cc = {.stream = stream,
                                     .durable = "seats",
                                     .ack_wait_ms = SEAT_WAIT_MS};
    struct bus_consumer *c = rc == 0 ? bus_consumer_open(b, &cc, err) : NULL;
    if (!c)
        return rc != 0 ? rc : CLOISTER_E_FAILED;
    struct bus_msg *m = NULL;
    size_t got = 0, len = 0;
    rc = bus_fetch(c, &m, 1, timeout_ms > 0 ? timeout_ms : 1, &got, err);
    if (rc == 0 && got == 0)
        rc = cloister_errf(err, CLOISTER_E_TIMEOUT, "no seat in pool %s yet", pool);
    struct prov_bus_msg_seat s = {0};
    char token[PROV_TOKEN_HEX + 1];
    const uint8_t *d = rc == 0 ? bus_msg_data(m, &len) : NULL;
    if (rc == 0 && prov_bus_msg_seat_decode(&s, d, len) != 0) {
        bus_msg_term(m, NULL);
        rc = cloister_errf(err, CLOISTER_E_INVALID, "a malformed seat in pool %s (dropped)", pool);
    } else if (rc == 0) {
        rc = send_offer(b, &s, e, label ? label : "worker", token, err);
        if (rc == 0)
            rc = take_answer(b, &s, token, m, e, answer_ms > 0 ? answer_ms : 10000, out, err);
        if (rc == 0) {
            snprintf(out->session, sizeof out->session, "%s", s.session);
            out->seat = s.seat;
            rc = bus_msg_ack_sync(m, err);
        } else if (rc == CLOISTER_E_NOT_FOUND) {
            bus_msg_term(m, NULL);
        } else {
            bus_msg_nak(m, rc == CLOISTER_E_DENIED ? REFUSED_RETRY_MS : 0, NULL);
        }
        if (rc != 0)
            prov_bus_seat_free(out);
    }
    bus_msg_free(m);
    bus_consumer_close(c);
    return rc;
}

void prov_bus_seat_free(struct prov_bus_seat *s)
{
    free(s->info);
    free(s->extra);
    memset(s, 0, sizeof *s);
}
