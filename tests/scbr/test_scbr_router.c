/* test_scbr_router.c -- the SCBR router end to end over loopback: a real router (proc enclave,
 * signed with a fresh key under the test's CLOISTER_HOME) runs in a thread of this process;
 * real clients provision, subscribe and publish through ZeroMQ. What subscribers receive is
 * compared with the plaintext oracle (scbr_sub_matches); refusals are read back from the
 * enclave's counters. */
#include <cloister/crypto.h>
#include <cloister/scbr.h>
#include <cloister/scbr_client.h>
#include <cloister/scbr_host.h>
#include <cloister/tee_trust.h>

#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <zmq.h>

#include "scbr/client/scbr_client_raw.h"
#include "scbr/common/scbr_proto.h"
#include "util/fileio.h"

#define WAIT_MS 5000
#define QUIET_MS 300 /* how long "nothing more arrives" is watched */

struct router {
    scbr_router *r;
    struct cloister_err err;
    char endpoint[256];
    uint8_t mrenclave[32], mrsigner[32];
};

static char home[4096], image[4200], sig[4300];
static uint8_t sk[SCBR_SK_LEN];
static uint64_t queue_bytes, total_bytes; /* the next router's bounds (0: defaults) */
static uint32_t senders_max;

/* state: a directory name under home, or NULL; listen: "tcp://127.0.0.1:*" or an endpoint. */
static void router_start(struct router *t, const char *state, const char *listen, unsigned idle_ms)
{
    char dir[4400];
    memset(t, 0, sizeof *t);
    struct scbr_router_options o;
    scbr_router_options_init(&o);
    o.listen = listen;
    o.backend = TEE_BACKEND_PROC;
    o.image = image;
    o.signature = sig;
    o.home = home;
    o.idle_timeout_ms = idle_ms;
    o.index = SCBR_INDEX_POSET;
    o.queue_bytes = queue_bytes;
    o.total_bytes = total_bytes;
    o.senders_max = senders_max;
    if (state) {
        snprintf(dir, sizeof dir, "%s/%s", home, state);
        o.state_dir = dir;
    }
    if (scbr_router_open(&o, &t->r, &t->err) != 0 ||
        scbr_router_identity(t->r, t->mrenclave, t->mrsigner, &t->err) != 0 ||
        scbr_router_start(t->r, &t->err) != 0)
        fail_msg("router: %s", t->err.msg);
    snprintf(t->endpoint, sizeof t->endpoint, "%s", scbr_router_endpoint(t->r));
}

static void router_stop(struct router *t)
{
    if (scbr_router_stop(t->r, &t->err) != 0)
        fail_msg("router: %s", t->err.msg);
    scbr_router_close(t->r);
}

static scbr_client *client(const struct router *t)
{
    struct cloister_err err;
    scbr_client *c = scbr_client_connect(t->endpoint, sk, &err);
    if (!c)
        fail_msg("client: %s", err.msg);
    return c;
}

static tee_verifier *verifier(tee_platform **platform)
{
    struct cloister_err err;
    *platform = tee_platform_open(home, &err);
    assert_non_null(*platform);
    tee_verifier *v = tee_verifier_new_file(tee_platform_ca_path(*platform), &err);
    assert_non_null(v);
    return v;
}

static void provision(struct router *t)
{
    struct cloister_err err;
    if (scbr_client_provision_local(t->endpoint, t->mrenclave, home, sk, WAIT_MS, &err) != 0)
        fail_msg("provision: %s", err.msg);
}

static uint32_t subscribe(scbr_client *c, const char *filter)
{
    struct cloister_err err;
    struct scbr_sub *s = scbr_parse_sub(filter, strlen(filter), "test", 1, &err);
    assert_non_null(s);
    uint32_t id;
    if (scbr_client_subscribe(c, s, &id, WAIT_MS, &err) != 0)
        fail_msg("subscribe: %s", err.msg);
    scbr_sub_free(s);
    return id;
}

static void publish(scbr_client *c, const char *header, const char *payload)
{
    struct cloister_err err;
    struct scbr_pub *p = scbr_parse_pub(header, strlen(header), "test", 1, &err);
    assert_non_null(p);
    assert_int_equal(scbr_client_publish(c, p, payload, strlen(payload), &err), 0);
    scbr_pub_free(p);
}

/* The next delivery must be `want`. */
static void expect_payload(scbr_client *c, const char *want)
{
    struct cloister_err err;
    uint8_t *got;
    size_t len;
    int n = scbr_client_receive(c, &got, &len, WAIT_MS, &err);
    if (n != 1)
        fail_msg("expected \"%s\", got %s", want, n == 0 ? "nothing" : err.msg);
    if (len != strlen(want) || memcmp(got, want, len) != 0)
        fail_msg("expected \"%s\", got \"%.*s\"", want, (int)len, (const char *)got);
    free(got);
}

static void expect_nothing(scbr_client *c)
{
    struct cloister_err err;
    uint8_t *got = NULL;
    size_t len;
    int n = scbr_client_receive(c, &got, &len, QUIET_MS, &err);
    if (n == 1)
        fail_msg("unexpected delivery \"%.*s\"", (int)len, (const char *)got);
    assert_int_equal(n, 0);
}

static void stats(const struct router *t, struct scbr_router_stats *st)
{
    struct cloister_err err;
    scbr_client *c = scbr_client_connect(t->endpoint, NULL, &err);
    assert_non_null(c);
    if (scbr_client_stats(c, st, WAIT_MS, &err) != 0)
        fail_msg("stats: %s", err.msg);
    scbr_client_close(c);
}

/* Before SK is provisioned nothing is accepted (and a publisher is told); a provider whose
 * policy names another enclave refuses to provision; a provider learns which SK the router
 * holds before replacing it, and the subscribers a new SK drops are told. */
static void test_provisioning(void **state)
{
    struct router t;
    router_start(&t, NULL, "tcp://127.0.0.1:*", 0);
    scbr_client *c = client(&t);
    struct cloister_err err;
    struct scbr_sub *s = scbr_parse_sub("x = 1", 5, "test", 1, &err);
    uint32_t id;
    assert_int_equal(scbr_client_subscribe(c, s, &id, WAIT_MS, &err), CLOISTER_E_STATE);
    assert_int_equal(err.code, CLOISTER_E_STATE);
    assert_non_null(strstr(err.msg, "no key provisioned"));
    assert_null(strstr(err.msg, "no key provisioned: no key provisioned")); /* said once */
    publish(c, "x = 1", "before SK"); /* the publisher learns it at its sync */
    assert_int_equal(scbr_client_sync(c, WAIT_MS, &err), CLOISTER_E_STATE);
    assert_non_null(strstr(err.msg, "refused 1 publication(s): no key provisioned"));

    uint8_t wrong[1][TEE_HASH_LEN] = {{1}};
    tee_platform *platform;
    tee_verifier *v = verifier(&platform);
    struct tee_policy p;
    tee_policy_default(&p);
    p.mrenclave = (const uint8_t(*)[TEE_HASH_LEN])wrong;
    p.n_mrenclave = 1;
    p.allow_simulated = true;
    scbr_client *prov = scbr_client_connect(t.endpoint, NULL, &err);
    assert_int_equal(scbr_client_provision(prov, v, &p, sk, NULL, NULL, WAIT_MS, &err),
                     CLOISTER_E_DENIED);
    assert_non_null(strstr(err.msg, "evidence was refused"));
    scbr_client_close(prov);
    tee_verifier_free(v);
    tee_platform_free(platform);

    provision(&t);
    assert_int_equal(scbr_client_subscribe(c, s, &id, WAIT_MS, &err), 0);
    scbr_sub_free(s);

    /* whoever provisions another SK does not inherit the subscriptions made under the old one */
    struct scbr_router_stats st;
    stats(&t, &st);
    assert_int_equal(st.enclave.subscriptions, 1);
    uint8_t old[SCBR_SK_LEN];
    memcpy(old, sk, sizeof sk);
    assert_int_equal(crypto_random(sk, sizeof sk), 0);
    scbr_client *prober = scbr_client_connect(t.endpoint, NULL, &err);
    struct scbr_client_key_info key; /* what a provider is told before replacing SK */
    assert_int_equal(scbr_client_router_key(prober, old, &key, WAIT_MS, &err), 0);
    assert_true(key.has_key && key.same && key.subscriptions == 1);
    assert_int_equal(scbr_client_router_key(prober, sk, &key, WAIT_MS, &err), 0);
    assert_true(key.has_key && !key.same && !key.pinned); /* another SK learns no more: */
    assert_int_equal(key.subscriptions, 0);               /* neither count nor check value */
    scbr_client_close(prober);
    provision(&t);
    uint8_t *got = NULL;
    size_t len;
    assert_int_equal(scbr_client_receive(c, &got, &len, WAIT_MS, &err), CLOISTER_E_STATE);
    assert_non_null(strstr(err.msg, "subscriptions were dropped")); /* the subscriber is told */
    scbr_client *fresh = client(&t);
    subscribe(fresh, "y = 2");
    stats(&t, &st);
    assert_int_equal(st.enclave.subscriptions, 1);
    assert_int_equal(scbr_client_unsubscribe(c, id, WAIT_MS, &err), CLOISTER_E_DENIED); /* old SK */
    assert_non_null(strstr(err.msg, "tampered"));
    memcpy(sk, old, sizeof sk);
    scbr_client_close(fresh);
    scbr_client_close(c);
    router_stop(&t);
}

/* A random workload: each of three subscribers gets exactly the publications that match one
 * of its filters, once each, in publication order. */
static void test_end_to_end(void **state)
{
    enum { NSUBS = 24, NPUBS = 300, NCLIENTS = 3 };
    char *st, *pt;
    size_t sl, pl;
    struct scbr_sub_list subs;
    struct scbr_pub_list pubs;
    struct cloister_err err;
    assert_int_equal(scbr_gen(SCBR_WORKLOAD_RANDOM, NSUBS, NPUBS, 42, &st, &sl, &pt, &pl, &err), 0);
    assert_int_equal(scbr_parse_subs(st, sl, "subs", &subs, &err), 0);
    assert_int_equal(scbr_parse_pubs(pt, pl, "pubs", &pubs, &err), 0);
    struct router t;
    router_start(&t, NULL, "tcp://127.0.0.1:*", 0);
    provision(&t);
    scbr_client *c[NCLIENTS], *pub = client(&t);
    for (int k = 0; k < NCLIENTS; k++)
        c[k] = client(&t);
    for (size_t i = 0; i < subs.n; i++) {
        uint32_t id;
        assert_int_equal(scbr_client_subscribe(c[i % NCLIENTS], subs.v[i], &id, WAIT_MS, &err), 0);
    }
    size_t total = 0;
    for (size_t j = 0; j < pubs.n; j++) {
        char payload[32];
        snprintf(payload, sizeof payload, "pub-%zu", j);
        assert_int_equal(scbr_client_publish(pub, pubs.v[j], payload, strlen(payload), &err), 0);
    }
    for (int k = 0; k < NCLIENTS; k++) {
        for (size_t j = 0; j < pubs.n; j++) {
            bool match = false;
            for (size_t i = (size_t)k; i < subs.n && !match; i += NCLIENTS)
                match = scbr_sub_matches(subs.v[i], pubs.v[j]);
            char payload[32];
            snprintf(payload, sizeof payload, "pub-%zu", j);
            if (match) {
                expect_payload(c[k], payload);
                total++;
            }
        }
        expect_nothing(c[k]);
    }
    assert_true(total > 20); /* the workload exercises the router */
    struct scbr_router_stats s;
    stats(&t, &s);
    assert_int_equal(s.enclave.published, NPUBS);
    assert_int_equal(s.host.delivered, total);
    assert_int_equal(s.enclave.subscriptions, NSUBS);
    assert_int_equal(
        s.enclave.refused_tampered + s.enclave.refused_replayed + s.enclave.refused_truncated, 0);
    for (int k = 0; k < NCLIENTS; k++)
        scbr_client_close(c[k]);
    scbr_client_close(pub);
    router_stop(&t);
    scbr_sub_list_free(&subs);
    scbr_pub_list_free(&pubs);
    free(st);
    free(pt);
}

/* Re-encodes a client message with its envelope changed by fn. */
static size_t rewrap(const uint8_t *msg, size_t len, uint8_t *out, size_t cap, size_t cut,
                     size_t flip)
{
    struct scbr_msg m;
    struct cloister_err err;
    assert_int_equal(scbr_msg_decode(&m, msg, len, &err), 0);
    uint8_t body[1024];
    assert_true(m.body_len <= sizeof body && m.body_len > cut);
    memcpy(body, m.body, m.body_len);
    if (flip)
        body[m.body_len - flip] ^= 0x40;
    struct wire_writer w;
    wire_writer_init_fixed(&w, out, cap);
    scbr_msg_encode(&w, m.kind, body, m.body_len - cut, m.payload, m.payload_len);
    assert_true(wire_writer_ok(&w));
    return w.len;
}

static void test_refusals(void **state)
{
    struct router t;
    router_start(&t, NULL, "tcp://127.0.0.1:*", 0);
    provision(&t);
    scbr_client *sub = client(&t), *pub = client(&t), *other = client(&t);
    subscribe(sub, "symbol = \"ACME\"");
    publish(pub, "symbol = \"ACME\", price = 1", "genuine");
    expect_payload(sub, "genuine");

    const uint8_t *last;
    size_t len, n;
    uint8_t copy[2048], bad[2048];
    assert_int_equal(scbr_client_last_sent(pub, &last, &len), 0);
    assert_true(len <= sizeof copy);
    memcpy(copy, last, len);
    struct cloister_err err;
    assert_int_equal(scbr_client_send_raw(pub, copy, len, &err), 0);   /* replayed */
    assert_int_equal(scbr_client_send_raw(other, copy, len, &err), 0); /* another sender */
    n = rewrap(copy, len, bad, sizeof bad, 0, 3);                      /* tag altered */
    assert_int_equal(scbr_client_send_raw(pub, bad, n, &err), 0);
    n = rewrap(copy, len, bad, sizeof bad, 0, 30); /* ciphertext altered */
    assert_int_equal(scbr_client_send_raw(pub, bad, n, &err), 0);
    n = rewrap(copy, len, bad, sizeof bad, 5, 0); /* envelope cut short */
    assert_int_equal(scbr_client_send_raw(pub, bad, n, &err), 0);
    assert_int_equal(scbr_client_send_raw(pub, copy, len - 3, &err), 0); /* frame cut short */
    publish(pub, "symbol = \"ACME\", price = 2", "fresh");
    expect_payload(sub, "fresh"); /* only the genuine, fresh one got through */
    expect_nothing(sub);

    struct scbr_router_stats s;
    stats(&t, &s);
    assert_int_equal(s.enclave.refused_replayed, 1);
    assert_int_equal(s.enclave.refused_tampered, 3);
    assert_int_equal(s.enclave.refused_truncated, 1);
    assert_int_equal(s.host.malformed, 1);
    assert_int_equal(s.enclave.published, 2);
    assert_int_equal(s.host.delivered, 2);
    scbr_client_close(sub);
    scbr_client_close(pub);
    scbr_client_close(other);
    router_stop(&t);
}

/* A keyless client's frames over the shared body limit (SCBR_BODY_MAX) among genuine
 * publications: each is refused alone and counted, every genuine publication is delivered. */
static void test_oversized_frames(void **state)
{
    struct router t;
    router_start(&t, NULL, "tcp://127.0.0.1:*", 0);
    provision(&t);
    scbr_client *sub = client(&t), *pub = client(&t);
    struct cloister_err err;
    scbr_client *stranger = scbr_client_connect(t.endpoint, NULL, &err);
    assert_non_null(stranger);
    subscribe(sub, "n >= 0");
    size_t body_len = SCBR_BODY_MAX + 1;
    uint8_t *body = calloc(1, body_len);
    assert_non_null(body);
    struct wire_writer w;
    wire_writer_init(&w);
    scbr_msg_encode(&w, SCBR_MSG_PUBLISH, body, body_len, "x", 1);
    assert_true(wire_writer_ok(&w));
    char payload[32];
    for (int i = 0; i < 200; i++) {
        if (i % 20 == 10)
            assert_int_equal(scbr_client_send_raw(stranger, w.buf, w.len, &err), 0);
        snprintf(payload, sizeof payload, "p%d", i);
        publish(pub, "n = 1", payload);
    }
    for (int i = 0; i < 200; i++) {
        snprintf(payload, sizeof payload, "p%d", i);
        expect_payload(sub, payload);
    }
    struct scbr_router_stats s;
    for (int i = 0; i < 100 && (stats(&t, &s), s.host.malformed < 10); i++) {
        struct timespec ts = {0, 50 * 1000 * 1000}; /* the stranger's frames come on their own */
        nanosleep(&ts, NULL);                       /* connection: maybe after the last pub */
    }
    assert_int_equal(s.host.malformed, 10);
    assert_int_equal(s.enclave.published, 200);
    wire_writer_free(&w);
    free(body);
    scbr_client_close(stranger);
    scbr_client_close(sub);
    scbr_client_close(pub);
    router_stop(&t);
}

/* Appends one subscribe item (sender, envelope of `filter` at seq 1) to a batch ecall input. */
static void put_subscribe_item(struct wire_writer *w, crypto_aead *a, uint64_t epoch,
                               const uint8_t *sender, size_t sender_len, const char *filter)
{
    struct cloister_err err;
    struct scbr_sub *sub = scbr_parse_sub(filter, strlen(filter), "test", 1, &err);
    assert_non_null(sub);
    size_t len;
    uint8_t *pt = scbr_sub_encode(sub, &len), nonce[SCBR_NONCE_LEN];
    assert_non_null(pt);
    assert_int_equal(crypto_random(nonce, sizeof nonce), 0);
    struct wire_writer env;
    wire_writer_init(&env);
    size_t seal_len = sender_len > SCBR_SENDER_MAX ? SCBR_SENDER_MAX
                                                   : sender_len; /* refused first */
    assert_int_equal(
        scbr_envelope_seal(a, SCBR_MSG_SUBSCRIBE, sender, seal_len, epoch, 1, nonce, pt, len, &env),
        0);
    wire_put_bytes(w, sender, sender_len);
    wire_put_bytes(w, env.buf, env.len);
    wire_writer_free(&env);
    free(pt);
    scbr_sub_free(sub);
}

static uint64_t enclave_subscriptions(const struct router *t)
{
    struct scbr_router_stats s;
    stats(t, &s);
    return s.enclave.subscriptions;
}

/* A batch ecall (as a hostile host would send it) answers every item: a bad one is refused
 * alone and the others are registered and answered; a batch whose framing is broken fails
 * whole and registers nothing (no orphan subscriptions). */
static void test_batch_items(void **state)
{
    struct router t;
    router_start(&t, NULL, "tcp://127.0.0.1:*", 0);
    provision(&t);
    uint8_t key[32], a_id[16], b_id[16], long_id[SCBR_SENDER_MAX + 8];
    assert_int_equal(scbr_derive_key(key, sk, SCBR_KEY_HEADER), 0);
    crypto_aead *a = crypto_aead_new(CRYPTO_AES256_GCM, key);
    assert_non_null(a);
    memset(a_id, 0xa1, sizeof a_id);
    memset(b_id, 0xb2, sizeof b_id);
    memset(long_id, 0xc3, sizeof long_id);
    tee_enclave *e = scbr_router_enclave(t.r);
    uint8_t *out = NULL, none = 0;
    size_t outlen;
    struct cloister_err err;
    struct wire_reader r;
    if (tee_ecall(e, SCBR_ECALL_SUBSCRIBE, &none, 1, &out, &outlen, &err) != CLOISTER_OK)
        fail_msg("empty batch: %s", err.msg);
    wire_reader_init(&r, out, outlen);
    uint64_t epoch = wire_get_u64(&r); /* an empty batch tells the epoch */
    free(out);
    struct wire_writer w;
    wire_writer_init(&w);
    wire_put_varint(&w, 3);
    put_subscribe_item(&w, a, epoch, a_id, sizeof a_id, "n = 1");
    put_subscribe_item(&w, a, epoch, long_id, sizeof long_id, "n = 2");
    put_subscribe_item(&w, a, epoch, b_id, sizeof b_id, "n = 3");
    if (tee_ecall(e, SCBR_ECALL_SUBSCRIBE, w.buf, w.len, &out, &outlen, &err) != CLOISTER_OK)
        fail_msg("batch: %s", err.msg);
    wire_reader_init(&r, out, outlen);
    assert_true(wire_get_u64(&r) == epoch);
    assert_int_equal(wire_get_varint(&r), 3);
    assert_int_equal(wire_get_u8(&r), SCBR_ST_OK);
    wire_get_u32(&r);
    assert_int_equal(wire_get_u8(&r), SCBR_ST_TOO_BIG);
    assert_int_equal(wire_get_u32(&r), 0);
    assert_int_equal(wire_get_u8(&r), SCBR_ST_OK);
    wire_get_u32(&r);
    assert_int_equal(wire_reader_finish(&r), 0);
    free(out);
    assert_int_equal(enclave_subscriptions(&t), 2);

    w.len = 0; /* the same kind of batch, framing broken by a trailing byte */
    wire_put_varint(&w, 1);
    put_subscribe_item(&w, a, epoch, b_id + 1, sizeof b_id - 1, "n = 4");
    wire_put_u8(&w, 0);
    assert_int_equal(tee_ecall(e, SCBR_ECALL_SUBSCRIBE, w.buf, w.len, &out, &outlen, &err),
                     CLOISTER_E_INVALID);
    free(out);
    assert_int_equal(enclave_subscriptions(&t), 2);
    wire_writer_free(&w);
    crypto_aead_free(a);
    router_stop(&t);
}

/* A publisher learns the router's verdict: another SK, accepted, and no router at all (a
 * timeout naming the endpoint); "not provisioned" is checked in test_provisioning. */
static void test_publish_verdict(void **state)
{
    struct router t;
    struct cloister_err err;
    router_start(&t, NULL, "tcp://127.0.0.1:*", 0);
    scbr_client *pub = client(&t);
    provision(&t);
    uint8_t other_sk[SCBR_SK_LEN];
    assert_int_equal(crypto_random(other_sk, sizeof other_sk), 0);
    scbr_client *stranger = scbr_client_connect(t.endpoint, other_sk, &err);
    assert_non_null(stranger);
    publish(stranger, "n = 1", "another SK");
    publish(stranger, "n = 1", "another SK");
    assert_int_equal(scbr_client_sync(stranger, WAIT_MS, &err), CLOISTER_E_DENIED);
    assert_non_null(strstr(err.msg, "refused 2 publication(s): tampered"));
    publish(pub, "n = 1", "genuine");
    assert_int_equal(scbr_client_sync(pub, WAIT_MS, &err), 0);
    scbr_client_close(stranger);
    scbr_client_close(pub);
    router_stop(&t);

    pub = client(&t); /* nobody listens there any more: the first publication waits for the
                         router's epoch, in vain */
    scbr_client_set_timeout(pub, QUIET_MS);
    struct scbr_pub *h = scbr_parse_pub("n = 1", 5, "test", 1, &err);
    assert_int_equal(scbr_client_publish(pub, h, "void", 4, &err), CLOISTER_E_TIMEOUT);
    assert_non_null(strstr(err.msg, t.endpoint));
    scbr_pub_free(h);
    scbr_client_close(pub);
}

/* A reply as a hostile host sends it. */
static void host_send(void *host, const uint8_t *to, size_t to_len, uint8_t kind, const void *body,
                      size_t len)
{
    struct wire_writer frame;
    wire_writer_init(&frame);
    scbr_reply_encode(&frame, kind, SCBR_ST_OK, 7, body, len);
    assert_true(wire_writer_ok(&frame));
    assert_int_equal(zmq_send(host, to, to_len, ZMQ_SNDMORE), (int)to_len);
    assert_int_equal(zmq_send(host, frame.buf, frame.len, 0), (int)frame.len);
    wire_writer_free(&frame);
}

/* What a hostile host sends a subscriber as a delivery of publication (publisher, seq). */
static void host_deliver(void *host, const uint8_t *to, size_t to_len, const uint8_t *publisher,
                         size_t publisher_len, uint64_t seq, const void *payload, size_t len)
{
    struct wire_writer body;
    wire_writer_init(&body);
    struct scbr_delivery d = {seq, publisher, publisher_len, payload, len};
    scbr_delivery_encode(&body, &d);
    host_send(host, to, to_len, SCBR_REPLY_DELIVERY, body.buf, body.len);
    wire_writer_free(&body);
}

/* The host plays the router (a ZeroMQ ROUTER on loopback) with a captured sealed payload: it
 * opens as its own publication only, and a publication delivered again is dropped. */
static void test_payload_bound(void **state)
{
    void *ctx = zmq_ctx_new(), *host = zmq_socket(ctx, ZMQ_ROUTER);
    char ep[256];
    size_t ep_len = sizeof ep;
    assert_int_equal(zmq_bind(host, "tcp://127.0.0.1:*"), 0);
    assert_int_equal(zmq_getsockopt(host, ZMQ_LAST_ENDPOINT, ep, &ep_len), 0);
    struct cloister_err err;
    scbr_client *pub = scbr_client_connect(ep, sk, &err), *sub = scbr_client_connect(ep, sk, &err);
    assert_true(pub && sub);
    uint8_t *sealed, *got, *clear;
    size_t sealed_len, len, clear_len;
    assert_int_equal(scbr_client_payload_seal(pub, sk, "bound", 5, &sealed, &sealed_len, &err), 0);
    struct scbr_pub *h = scbr_parse_pub("k = 1", 5, "test", 1, &err);
    uint8_t pub_id[64], sub_id[64], msg[4096];
    assert_int_equal(scbr_client_heartbeat(pub, &err), 0); /* the host learns its id, */
    int pub_len = zmq_recv(host, pub_id, sizeof pub_id, 0);
    assert_true(pub_len > 0 && zmq_recv(host, msg, sizeof msg, 0) > 0);
    host_send(host, pub_id, pub_len, SCBR_REPLY_SYNCED, NULL, 0); /* and tells it an epoch */
    assert_int_equal(scbr_client_publish(pub, h, sealed, sealed_len, &err), 0);
    assert_true(zmq_recv(host, pub_id, sizeof pub_id, 0) > 0); /* the publisher's sync */
    assert_true(zmq_recv(host, msg, sizeof msg, 0) > 0);
    int n = zmq_recv(host, pub_id, sizeof pub_id, 0);
    assert_int_equal(n, pub_len);
    n = zmq_recv(host, msg, sizeof msg, 0);
    struct scbr_msg m;
    struct scbr_envelope e;
    assert_int_equal(scbr_msg_decode(&m, msg, (size_t)n, &err), 0);
    assert_int_equal(scbr_envelope_decode(&e, m.body, m.body_len), SCBR_ST_OK);
    assert_int_equal(scbr_client_heartbeat(sub, &err), 0); /* the host learns its id */
    int sub_len = zmq_recv(host, sub_id, sizeof sub_id, 0);
    assert_true(pub_len > 0 && sub_len > 0 && zmq_recv(host, msg, sizeof msg, 0) > 0);

    host_deliver(host, sub_id, sub_len, pub_id, pub_len, e.seq, m.payload, m.payload_len);
    assert_int_equal(scbr_client_receive(sub, &got, &len, WAIT_MS, &err), 1);
    assert_int_equal(scbr_client_payload_open(sub, sk, got, len, &clear, &clear_len, &err), 0);
    assert_memory_equal(clear, "bound", 5);
    free(clear);
    free(got);
    for (int i = 0; i < 3; i++) /* the same publication again: dropped */
        host_deliver(host, sub_id, sub_len, pub_id, pub_len, e.seq, m.payload, m.payload_len);
    expect_nothing(sub);
    struct {
        const uint8_t *publisher;
        int len;
        uint64_t seq;
    } other[] = {{pub_id, pub_len, e.seq + 1}, {sub_id, sub_len, e.seq}};
    for (size_t i = 0; i < 2; i++) { /* as another publication: delivered, but does not open */
        host_deliver(host, sub_id, sub_len, other[i].publisher, other[i].len, other[i].seq,
                     m.payload, m.payload_len);
        assert_int_equal(scbr_client_receive(sub, &got, &len, WAIT_MS, &err), 1);
        assert_int_equal(scbr_client_payload_open(sub, sk, got, len, &clear, &clear_len, &err),
                         CLOISTER_E_DENIED);
        free(got);
    }
    free(sealed);
    scbr_pub_free(h);
    scbr_client_close(sub);
    scbr_client_close(pub);
    zmq_close(host);
    zmq_ctx_term(ctx);
}

/* A payload sealed end to end crosses the router intact; the router only ever held ciphertext;
 * another SK or one flipped bit is refused. */
static void test_payload_end_to_end(void **state)
{
    struct router t;
    router_start(&t, NULL, "tcp://127.0.0.1:*", 0);
    provision(&t);
    scbr_client *sub = client(&t), *pub = client(&t);
    subscribe(sub, "k = 1");
    static const char secret[] = "for subscribers only";
    uint8_t *sealed, *got, *clear;
    size_t sealed_len, len, clear_len;
    struct cloister_err err;
    assert_int_equal(
        scbr_client_payload_seal(pub, sk, secret, sizeof secret, &sealed, &sealed_len, &err), 0);
    assert_null(memmem(sealed, sealed_len, "subscribers", 11));
    struct scbr_pub *h = scbr_parse_pub("k = 1", 5, "test", 1, &err);
    assert_int_equal(scbr_client_publish(pub, h, sealed, sealed_len, &err), 0);
    assert_int_equal(scbr_client_receive(sub, &got, &len, WAIT_MS, &err), 1);
    assert_int_equal(scbr_client_payload_open(sub, sk, got, len, &clear, &clear_len, &err), 0);
    assert_int_equal(clear_len, sizeof secret);
    assert_memory_equal(clear, secret, sizeof secret);
    free(clear);
    uint8_t other[SCBR_SK_LEN] = {0};
    assert_int_equal(scbr_client_payload_open(sub, other, got, len, &clear, &clear_len, &err),
                     CLOISTER_E_DENIED);
    got[len - 1] ^= 1;
    assert_int_equal(scbr_client_payload_open(sub, sk, got, len, &clear, &clear_len, &err),
                     CLOISTER_E_DENIED);
    assert_int_equal(scbr_client_payload_open(sub, sk, got, 27, &clear, &clear_len, &err),
                     CLOISTER_E_INVALID);
    free(got);
    free(sealed);
    scbr_pub_free(h);
    scbr_client_close(sub);
    scbr_client_close(pub);
    router_stop(&t);
}

/* The data provider's key file: none yet, then made once (0600) and kept. */
static void test_keys(void **state)
{
    char dir[4400], path[4500];
    uint8_t first[SCBR_SK_LEN], again[SCBR_SK_LEN];
    struct cloister_err err;
    struct stat st;
    snprintf(dir, sizeof dir, "%s/keys-test", home);
    snprintf(path, sizeof path, "%s/sk", dir);
    assert_int_equal(scbr_client_keys_load(dir, first, &err), CLOISTER_E_NOT_FOUND);
    assert_int_equal(scbr_client_keys_create(dir, &err), 0);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(scbr_client_keys_load(dir, first, &err), 0);
    assert_int_equal(scbr_client_keys_create(dir, &err), 0);
    assert_int_equal(scbr_client_keys_load(dir, again, &err), 0);
    assert_memory_equal(first, again, SCBR_SK_LEN);
}

/* Polls the counters until `want` subscriptions remain; alive heartbeats meanwhile. */
static void wait_subscriptions(const struct router *t, uint64_t want, scbr_client *alive)
{
    struct scbr_router_stats s;
    struct cloister_err err;
    for (int i = 0; i < 200; i++) {
        assert_int_equal(scbr_client_heartbeat(alive, &err), 0);
        stats(t, &s);
        if (s.enclave.subscriptions == want)
            return;
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    fail_msg("still %llu subscriptions, expected %llu", (unsigned long long)s.enclave.subscriptions,
             (unsigned long long)want);
}

static void test_unsubscribe_disconnect(void **state)
{
    struct router t;
    router_start(&t, NULL, "tcp://127.0.0.1:*", 1000);
    provision(&t);
    scbr_client *a = client(&t), *b = client(&t), *quiet = client(&t), *pub = client(&t);
    uint32_t a1 = subscribe(a, "x = 1"), a2 = subscribe(a, "x >= 1");
    subscribe(b, "x = 1");
    subscribe(quiet, "x = 99");
    publish(pub, "x = 1", "one");
    expect_payload(a, "one"); /* two of its filters match: one delivery */
    expect_nothing(a);
    expect_payload(b, "one");

    struct cloister_err err;
    assert_int_equal(scbr_client_unsubscribe(b, a1, WAIT_MS, &err), CLOISTER_E_DENIED); /* a's */
    assert_non_null(strstr(err.msg, "denied"));
    assert_int_equal(scbr_client_unsubscribe(a, a2, WAIT_MS, &err), 0);
    assert_int_equal(scbr_client_unsubscribe(a, a2, WAIT_MS, &err), CLOISTER_E_DENIED); /* gone */
    publish(pub, "x = 2", "two");
    publish(pub, "x = 1", "three");
    expect_payload(a, "three");
    expect_payload(b, "three");
    expect_nothing(a);

    scbr_client_close(b);         /* bye: its subscription goes at once */
    wait_subscriptions(&t, 2, a); /* a1 and quiet's */
    wait_subscriptions(&t, 1, a); /* quiet was silent past the timeout; a kept talking */
    struct scbr_router_stats s;
    stats(&t, &s);
    assert_int_equal(s.host.dropped_subscribers, 2);
    assert_int_equal(s.enclave.unsubscribed, 1);
    assert_int_equal(s.enclave.refused_other, 2);
    scbr_client_close(a);
    scbr_client_close(quiet);
    scbr_client_close(pub);
    router_stop(&t);
}

/* The exact bytes c sent last (a capture for replaying), into copy[1024]. */
static size_t capture(const scbr_client *c, uint8_t copy[1024])
{
    const uint8_t *last;
    size_t len;
    assert_int_equal(scbr_client_last_sent(c, &last, &len), 0);
    assert_true(len <= 1024);
    memcpy(copy, last, len);
    return len;
}

/* The capture replayed on c's connection after the epoch moved on: refused as stale (c is
 * told at its sync, and learns the new epoch), and sub receives nothing. */
static void expect_stale_replay(scbr_client *c, const uint8_t *copy, size_t len, scbr_client *sub)
{
    struct cloister_err err;
    assert_int_equal(scbr_client_send_raw(c, copy, len, &err), 0);
    if (sub)
        expect_nothing(sub);
    assert_int_equal(scbr_client_sync(c, WAIT_MS, &err), CLOISTER_E_FAILED);
    assert_non_null(strstr(err.msg, "stale epoch"));
}

static void test_restart(void **state)
{
    struct router t;
    router_start(&t, "restart-state", "tcp://127.0.0.1:*", 0);
    provision(&t);
    scbr_client *sub = client(&t), *pub = client(&t), *gone = client(&t);
    subscribe(sub, "symbol prefix \"AC\"");
    subscribe(gone, "symbol exists");
    publish(pub, "symbol = \"ACME\"", "before");
    expect_payload(sub, "before");
    expect_payload(gone, "before");
    uint8_t copy[1024];
    size_t len = capture(pub, copy);
    char endpoint[256];
    snprintf(endpoint, sizeof endpoint, "%s", t.endpoint);
    router_stop(&t);
    scbr_client_close(gone); /* while no router runs: its bye is lost, it just vanishes */
    struct scbr_router_stats s;

    /* a new router process tree on the same port: SK and subscriptions come back sealed */
    router_start(&t, "restart-state", endpoint, 1000);
    struct cloister_err err;
    assert_int_equal(scbr_client_stats(sub, &s, WAIT_MS, &err), 0); /* sub reconnected */
    assert_int_equal(s.enclave.subscriptions, 2);
    expect_stale_replay(pub, copy, len, NULL);  /* sealed before the restart */
    publish(pub, "symbol = \"ACNE\"", "after"); /* sealed for the new epoch */
    expect_payload(sub, "after");
    expect_nothing(sub);
    wait_subscriptions(&t, 1, sub); /* the vanished subscriber timed out; sub kept talking */
    stats(&t, &s);
    assert_int_equal(s.enclave.refused_stale, 1);
    assert_int_equal(s.host.dropped_subscribers, 1);
    scbr_client_close(sub);
    scbr_client_close(pub);
    router_stop(&t);
}

/* kill -9 of the router's enclave process; returns once the router restarted it (within 2 s). */
static void kill_enclave(struct router *t)
{
    struct tee_info info;
    assert_int_equal(tee_get_info(scbr_router_enclave(t->r), &info), CLOISTER_OK);
    uint64_t restarts = info.stats.restarts;
    assert_int_equal(kill(info.pid, SIGKILL), 0);
    for (int i = 0; i < 40 && info.stats.restarts == restarts; i++) {
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
        assert_int_equal(tee_get_info(scbr_router_enclave(t->r), &info), CLOISTER_OK);
    }
    assert_int_equal(info.stats.restarts, restarts + 1);
}

/* The enclave process is killed under an idle router: the router restarts it at once (not at
 * the next batch), SK comes back from the runtime's sealed store and the subscriptions from the
 * state file; statistics work and the first publication afterwards is delivered. */
static void test_enclave_crash(void **state)
{
    struct router t;
    router_start(&t, "crash-state", "tcp://127.0.0.1:*", 0);
    provision(&t);
    scbr_client *sub = client(&t), *pub = client(&t);
    subscribe(sub, "n >= 0");
    char path[4400];
    snprintf(path, sizeof path, "%s/crash-state/subscriptions.sealed", home);
    for (int i = 0; i < 100 && access(path, F_OK) != 0; i++) { /* persisted within 200 ms */
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    assert_int_equal(access(path, F_OK), 0);
    kill_enclave(&t); /* restarted at once, with no traffic */
    struct scbr_router_stats st;
    stats(&t, &st); /* answered by the new instance, the subscription reloaded */
    assert_int_equal(st.enclave.subscriptions, 1);
    publish(pub, "n = 1", "first after the restart");
    expect_payload(sub, "first after the restart"); /* no batch is lost to the dead enclave */
    scbr_client_close(sub);
    scbr_client_close(pub);
    router_stop(&t);
}

/* ---- issue 11: provisioning, crashes, queues, senders, protocol versions ---- */

struct flood {
    const char *endpoint;
    volatile int stop;
    int sent;
};

/* A stranger without credentials asks for provisioning offers as fast as it can. */
static void *flood_offers(void *arg)
{
    struct flood *f = arg;
    struct cloister_err err;
    scbr_client *c = scbr_client_connect(f->endpoint, NULL, &err);
    uint8_t nonce[32] = {1};
    struct wire_writer w;
    wire_writer_init(&w);
    scbr_msg_encode(&w, SCBR_MSG_PROV_OFFER, nonce, sizeof nonce, NULL, 0);
    while (c && !f->stop && f->sent < 20000 && scbr_client_send_raw(c, w.buf, w.len, &err) == 0)
        f->sent++;
    wire_writer_free(&w);
    scbr_client_close(c);
    return NULL;
}

static int provision_as(const struct router *t, const uint8_t key[SCBR_SK_LEN], const uint8_t *seed,
                        struct cloister_err *err)
{
    tee_platform *platform;
    tee_verifier *v = verifier(&platform);
    struct tee_policy p;
    tee_policy_default(&p);
    p.mrenclave = (const uint8_t(*)[TEE_HASH_LEN])t->mrenclave;
    p.n_mrenclave = 1;
    p.allow_simulated = true;
    scbr_client *c = scbr_client_connect(t->endpoint, NULL, err);
    assert_non_null(c);
    int rc = scbr_client_provision(c, v, &p, key, seed, NULL, WAIT_MS, err);
    scbr_client_close(c);
    tee_verifier_free(v);
    tee_platform_free(platform);
    return rc;
}

/* The first signed provisioning pins the provider: a stranger (unsigned, or signed by its own
 * key, with its own SK) is refused and the router keeps SK and the subscriptions; the genuine
 * provider provisions again while a stranger floods offers; the pin survives a restart. */
static void test_pinned_provider(void **state)
{
    struct router t;
    struct cloister_err err;
    router_start(&t, "pinned-state", "tcp://127.0.0.1:*", 0);
    uint8_t genuine[32], stranger[32], pk[32], other_sk[SCBR_SK_LEN];
    assert_int_equal(crypto_ed25519_keypair(pk, stranger), 0);
    assert_int_equal(crypto_ed25519_keypair(pk, genuine), 0);
    assert_int_equal(crypto_random(other_sk, sizeof other_sk), 0);
    if (provision_as(&t, sk, genuine, &err) != 0)
        fail_msg("provision: %s", err.msg);
    scbr_client *sub = client(&t), *pub = client(&t);
    subscribe(sub, "n >= 0");

    assert_int_equal(provision_as(&t, other_sk, stranger, &err), CLOISTER_E_DENIED);
    assert_non_null(strstr(err.msg, "pinned"));
    assert_int_equal(provision_as(&t, other_sk, NULL, &err), CLOISTER_E_DENIED);
    struct scbr_client_key_info key;
    scbr_client *prober = scbr_client_connect(t.endpoint, NULL, &err);
    assert_int_equal(scbr_client_router_key(prober, sk, &key, WAIT_MS, &err), 0);
    assert_true(key.has_key && key.same && key.pinned && key.subscriptions == 1);
    assert_memory_equal(key.provider, pk, 32);
    scbr_client_close(prober);
    publish(pub, "n = 1", "still SK");
    expect_payload(sub, "still SK");

    struct flood f = {t.endpoint, 0, 0};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, flood_offers, &f), 0);
    while (f.sent < 200) {
        struct timespec ts = {0, 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    for (int i = 0; i < 3; i++) /* while the flood goes on */
        if (provision_as(&t, sk, genuine, &err) != 0)
            fail_msg("genuine provider during the flood: %s", err.msg);
    f.stop = 1;
    pthread_join(th, NULL);
    struct scbr_router_stats st;
    for (int i = 0; i < 100 && (stats(&t, &st), st.host.offers_refused == 0); i++) {
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    assert_true(st.host.offers_refused > 0);
    assert_int_equal(st.enclave.subscriptions, 1);
    publish(pub, "n = 2", "after the flood");
    expect_payload(sub, "after the flood");
    scbr_client_close(pub);
    scbr_client_close(sub);
    char endpoint[256];
    snprintf(endpoint, sizeof endpoint, "%s", t.endpoint);
    router_stop(&t);

    router_start(&t, "pinned-state", endpoint, 0); /* the pin is sealed with the secrets */
    assert_int_equal(provision_as(&t, other_sk, stranger, &err), CLOISTER_E_DENIED);
    if (provision_as(&t, sk, genuine, &err) != 0)
        fail_msg("after a restart: %s", err.msg);
    router_stop(&t);
    char dir[4400]; /* the sealed secrets (and pin) of this image: the other tests start afresh */
    snprintf(dir, sizeof dir, "%s/enclaves/scbr", home);
    assert_int_equal(file_remove_tree(dir), 0);
}

/* A publication captured before the enclave is killed (-9) and replayed after its restart is
 * refused as sealed for an older epoch, however recent the persisted state; the publisher
 * carries on in the new epoch. */
static void test_crash_replay(void **state)
{
    struct router t;
    router_start(&t, "replay-state", "tcp://127.0.0.1:*", 0);
    provision(&t);
    scbr_client *sub = client(&t), *pub = client(&t);
    subscribe(sub, "n >= 0");
    publish(pub, "n = 1", "once");
    expect_payload(sub, "once");
    uint8_t copy[1024];
    size_t len = capture(pub, copy);
    kill_enclave(&t); /* right after the publication: before any export of its seq */
    expect_stale_replay(pub, copy, len, sub);
    subscribe(sub, "n = 5"); /* sealed for the old epoch, refused, sealed again and accepted */
    publish(pub, "n = 2", "twice");
    expect_payload(sub, "twice");
    struct scbr_router_stats st;
    stats(&t, &st);
    assert_int_equal(st.enclave.refused_stale, 2); /* the replay, the first "n = 5" */
    assert_int_equal(st.enclave.published, 1);     /* in this enclave's life: "twice" only */
    scbr_client_close(sub);
    scbr_client_close(pub);
    router_stop(&t);
}

/* A raw DEALER that reads nothing after subscribing: a tiny receive buffer, one message. */
static void *stuck_subscriber(void *ctx, const char *endpoint, const uint8_t id[16])
{
    void *s = zmq_socket(ctx, ZMQ_DEALER);
    int one = 1, small = 4096;
    assert_int_equal(zmq_setsockopt(s, ZMQ_ROUTING_ID, id, 16), 0);
    assert_int_equal(zmq_setsockopt(s, ZMQ_RCVHWM, &one, sizeof one), 0);
    assert_int_equal(zmq_setsockopt(s, ZMQ_RCVBUF, &small, sizeof small), 0);
    assert_int_equal(zmq_connect(s, endpoint), 0);
    uint8_t frame[4096], key[32], nonce[SCBR_NONCE_LEN];
    struct wire_writer w, env;
    wire_writer_init(&w);
    wire_writer_init(&env);
    scbr_msg_encode(&w, SCBR_MSG_SYNC, NULL, 0, NULL, 0);
    assert_int_equal(zmq_send(s, w.buf, w.len, 0), (int)w.len);
    int n = zmq_recv(s, frame, sizeof frame, 0);
    struct scbr_reply r;
    struct cloister_err err;
    assert_int_equal(scbr_reply_decode(&r, frame, (size_t)n, &err), 0);
    struct scbr_sub *sub = scbr_parse_sub("n >= 0", 6, "test", 1, &err);
    size_t len;
    uint8_t *pt = scbr_sub_encode(sub, &len);
    assert_int_equal(scbr_derive_key(key, sk, SCBR_KEY_HEADER), 0);
    crypto_aead *a = crypto_aead_new(CRYPTO_AES256_GCM, key);
    assert_int_equal(crypto_random(nonce, sizeof nonce), 0);
    assert_int_equal(
        scbr_envelope_seal(a, SCBR_MSG_SUBSCRIBE, id, 16, r.epoch, 1, nonce, pt, len, &env), 0);
    w.len = 0;
    scbr_msg_encode(&w, SCBR_MSG_SUBSCRIBE, env.buf, env.len, NULL, 0);
    assert_int_equal(zmq_send(s, w.buf, w.len, 0), (int)w.len);
    n = zmq_recv(s, frame, sizeof frame, 0);
    assert_int_equal(scbr_reply_decode(&r, frame, (size_t)n, &err), 0);
    assert_int_equal(r.kind, SCBR_REPLY_SUBSCRIBED);
    crypto_aead_free(a);
    free(pt);
    scbr_sub_free(sub);
    wire_writer_free(&w);
    wire_writer_free(&env);
    return s;
}

/* Two subscribers that never read hold at most their byte budget each (1 MiB), and together
 * at most the global one (1.5 MiB); the rest of the deliveries are dropped and counted, and what
 * they held is freed once they are gone. */
static void test_queue_bytes(void **state)
{
    struct router t;
    queue_bytes = 1 << 20;
    total_bytes = 3 << 19;
    router_start(&t, NULL, "tcp://127.0.0.1:*", 0);
    queue_bytes = total_bytes = 0;
    provision(&t);
    void *ctx = zmq_ctx_new(), *stuck[2];
    for (int i = 0; i < 2; i++) {
        uint8_t id[16];
        memset(id, 0x9c + i, sizeof id);
        stuck[i] = stuck_subscriber(ctx, t.endpoint, id);
    }
    scbr_client *pub = client(&t);
    enum { N = 96, SIZE = 256 << 10 };
    char *payload = malloc(SIZE + 1);
    memset(payload, 'p', SIZE);
    payload[SIZE] = 0;
    struct scbr_router_stats st;
    struct cloister_err err;
    uint64_t most = 0;
    for (int i = 0; i < N; i++) {
        publish(pub, "n = 1", payload);
        if (i % 16 == 15) {
            assert_int_equal(scbr_client_sync(pub, WAIT_MS, &err), 0);
            stats(&t, &st);
            most = st.host.queued_bytes > most ? st.host.queued_bytes : most;
        }
    }
    assert_int_equal(scbr_client_sync(pub, WAIT_MS, &err), 0);
    stats(&t, &st);
    assert_true(most > (1 << 20) && most <= (3 << 19)); /* more than one's budget, within all's */
    assert_true(st.host.dropped > 0);
    assert_int_equal(st.host.delivered + st.host.dropped, 2 * N);
    for (int i = 0; i < 2; i++) /* they leave: ZeroMQ drops their queues, the bytes go */
        zmq_close(stuck[i]);
    for (int i = 0; i < 100 && (stats(&t, &st), st.host.queued_bytes); i++) {
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    assert_int_equal(st.host.queued_bytes, 0);
    free(payload);
    scbr_client_close(pub);
    zmq_ctx_term(ctx);
    router_stop(&t);
}

/* With room for 4 senders, 12 one-shot publishers in turn are all delivered: idle senders are
 * evicted (a subscriber is not), and the epoch moves on so that an evicted publisher's old
 * publication, whose sequence number is forgotten, is refused when replayed. */
static void test_sender_eviction(void **state)
{
    struct router t;
    senders_max = 4;
    router_start(&t, NULL, "tcp://127.0.0.1:*", 0);
    senders_max = 0;
    provision(&t);
    scbr_client *sub = client(&t), *first = client(&t);
    subscribe(sub, "n >= 0");
    struct cloister_err err;
    publish(first, "n = 0", "first");
    expect_payload(sub, "first");
    uint8_t copy[1024];
    size_t len = capture(first, copy);
    for (int i = 1; i <= 12; i++) {
        char payload[32];
        snprintf(payload, sizeof payload, "one-shot %d", i);
        scbr_client *p = client(&t);
        publish(p, "n = 1", payload);
        assert_int_equal(scbr_client_sync(p, WAIT_MS, &err), 0);
        expect_payload(sub, payload);
        scbr_client_close(p);
    }
    struct scbr_router_stats st;
    stats(&t, &st);
    assert_true(st.enclave.senders_evicted > 0);
    assert_true(st.enclave.senders <= 4);
    expect_stale_replay(first, copy, len, sub);
    publish(sub, "n = 2", "the subscriber kept its subscription");
    expect_payload(sub, "the subscriber kept its subscription");
    scbr_client_close(first);
    scbr_client_close(sub);
    router_stop(&t);
}

/* A client of the previous protocol version is told so (and a reply of the previous version
 * is refused with a message that says it). */
static void test_old_protocol(void **state)
{
    struct router t;
    router_start(&t, NULL, "tcp://127.0.0.1:*", 0);
    scbr_client *c = client(&t);
    struct cloister_err err;
    const uint8_t old_stats[] = {'C', 'S', 'R', 'M', 0, 1, SCBR_MSG_STATS, 0};
    assert_int_equal(scbr_client_send_raw(c, old_stats, sizeof old_stats, &err), 0);
    assert_int_equal(scbr_client_sync(c, WAIT_MS, &err), CLOISTER_E_INVALID);
    assert_non_null(strstr(err.msg, "newer SCBR protocol"));
    const uint8_t old_reply[] = {'C', 'S', 'R', 'R', 0, 1, SCBR_REPLY_SYNCED, 0, 0};
    struct scbr_reply r;
    assert_int_equal(scbr_reply_decode(&r, old_reply, sizeof old_reply, &err), CLOISTER_E_PROTOCOL);
    assert_non_null(strstr(err.msg, "older version"));
    scbr_client_close(c);
    router_stop(&t);
}

/* A fresh home: no platform, no sealed SK nor subscriptions from an earlier run. */
static int setup(void **state)
{
    const char *h = getenv("CLOISTER_HOME");
    assert_non_null(h);
    snprintf(home, sizeof home, "%s", h);
    assert_int_equal(file_remove_tree(home), 0);
    assert_int_equal(file_mkdirs(home, 0700), 0);
    snprintf(image, sizeof image, "%s/enclaves/scbr.enclave", CLOISTER_BINARY_DIR);
    snprintf(sig, sizeof sig, "%s/scbr-test.sig", home);
    uint8_t seed[32], pk[32];
    struct cloister_err err;
    assert_int_equal(crypto_ed25519_keypair(pk, seed), 0);
    if (scbr_router_sign(image, seed, 0, 0, sig, &err) != 0)
        fail_msg("%s", err.msg);
    return crypto_random(sk, sizeof sk);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_keys),
                                       cmocka_unit_test(test_provisioning),
                                       cmocka_unit_test(test_end_to_end),
                                       cmocka_unit_test(test_refusals),
                                       cmocka_unit_test(test_oversized_frames),
                                       cmocka_unit_test(test_batch_items),
                                       cmocka_unit_test(test_publish_verdict),
                                       cmocka_unit_test(test_payload_bound),
                                       cmocka_unit_test(test_payload_end_to_end),
                                       cmocka_unit_test(test_unsubscribe_disconnect),
                                       cmocka_unit_test(test_enclave_crash),
                                       cmocka_unit_test(test_restart),
                                       cmocka_unit_test(test_pinned_provider),
                                       cmocka_unit_test(test_crash_replay),
                                       cmocka_unit_test(test_queue_bytes),
                                       cmocka_unit_test(test_sender_eviction),
                                       cmocka_unit_test(test_old_protocol)};
    return cmocka_run_group_tests(tests, setup, NULL);
}
