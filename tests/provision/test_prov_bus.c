/* test_prov_bus.c -- attested provisioning over the bus (prov_bus.h) against a real nats-server
 * started by the test on loopback: an enclave with the pinned identity gets the secrets, the
 * seat info and the extra bytes; one with another identity, or one whose offer is bound to
 * another nonce, is refused and holds no secret, and its seat goes to the next worker; a seat
 * of an ended session and a malformed seat are dropped. The enclaves are the runtime's trusted
 * half in-process (tee_self), the client's verifier the platform's CA. Every test skips when
 * nats-server is not installed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "helpers.h"
#include "provision/prov_bus.h"
#include "util/fileio.h"

#include <cloister/tee_verify.h>

static char dir[] = "/tmp/cloister-test-prov-XXXXXX";
static struct bus_server *srv;
static struct bus *bus;
static tee_platform *plat;
static tee_verifier *ver;

static const uint8_t key[32] = "0123456789abcdef0123456789abcde";
static const struct tee_secret secret = {"job:key", key, sizeof key};

static int group_setup(void **state)
{
    struct cloister_err err;
    plat = th_platform("prov-bus");
    ver = tee_verifier_new_file(tee_platform_ca_path(plat), &err);
    if (!ver || !mkdtemp(dir))
        return -1;
    srv = bus_server_start(dir, &err);
    if (!srv) {
        fprintf(stderr, "test_prov_bus: %s%s\n", err.msg,
                err.code == CLOISTER_E_NOT_FOUND ? ": every test skipped" : "");
        return err.code == CLOISTER_E_NOT_FOUND ? 0 : -1;
    }
    bus = bus_connect(bus_server_url(srv), NULL, &err);
    return bus ? 0 : -1;
}

static int group_teardown(void **state)
{
    bus_close(bus);
    bus_server_stop(srv);
    file_remove_tree(dir);
    tee_verifier_free(ver);
    tee_platform_free(plat);
    return 0;
}

#define NEED_SERVER()                                                                              \
    do {                                                                                           \
        if (!srv)                                                                                  \
            skip();                                                                                \
    } while (0)

/* ---- the worker's enclave: tee_self behind the callbacks a host would relay ---- */

struct enclave {
    tee_self *s;
    bool wrong_nonce; /* offers for a nonce of its own, not the seat's */
};

static int enclave_offer(void *arg, const uint8_t *nonce, size_t nonce_len, uint8_t **offer,
                         size_t *offer_len, struct cloister_err *err)
{
    struct enclave *e = arg;
    uint8_t other[32] = {0};
    return tee_prov_offer(e->s, e->wrong_nonce ? other : nonce, nonce_len, offer, offer_len, err);
}

static int enclave_accept(void *arg, const uint8_t *package, size_t len, struct cloister_err *err)
{
    struct enclave *e = arg;
    uint8_t *sealed = NULL;
    size_t sealed_len;
    int rc = tee_prov_accept(e->s, package, len, TEE_SEAL_MRENCLAVE, &sealed, &sealed_len, err);
    free(sealed);
    return rc;
}

static bool holds_key(struct enclave *e)
{
    uint8_t buf[64];
    size_t len;
    return tee_secret_get(e->s, secret.name, buf, sizeof buf, &len, NULL) == 0 &&
           len == sizeof key && memcmp(buf, key, len) == 0;
}

static struct prov_bus_client *client(const char *pool, const char *session,
                                      const struct tee_policy *p, uint32_t seats)
{
    static const uint8_t info[] = "job 7", extra[] = "sealed code";
    struct prov_bus_client_config c = {.pool = pool,
                                       .session = session,
                                       .verifier = ver,
                                       .policy = p,
                                       .secrets = &secret,
                                       .nsecrets = 1,
                                       .info = info,
                                       .info_len = sizeof info,
                                       .extra = extra,
                                       .extra_len = sizeof extra};
    struct cloister_err err = {0};
    struct prov_bus_client *pc = prov_bus_client_start(bus, &c, seats, &err);
    if (!pc)
        fail_msg("%s", err.msg);
    return pc;
}

static int join_within(const char *pool, struct enclave *e, int64_t ms, struct prov_bus_seat *seat,
                       struct cloister_err *err)
{
    struct prov_bus_enclave ops = {enclave_offer, enclave_accept, e};
    return prov_bus_join(bus, pool, &ops, "test", ms, 3000, seat, err);
}

static int join(const char *pool, struct enclave *e, struct prov_bus_seat *seat,
                struct cloister_err *err)
{
    return join_within(pool, e, 3000, seat, err);
}

static void provisions_the_pinned_enclave(void **state)
{
    NEED_SERVER();
    struct enclave good = {th_self(plat, "worker", 1, 1, 0x41), false};
    struct tee_policy p = th_policy_pinned(good.s);
    struct prov_bus_client *pc = client("p1", "s1", &p, 1);
    struct prov_bus_seat seat;
    struct cloister_err err = {0};
    if (join("p1", &good, &seat, &err) != 0)
        fail_msg("%s", err.msg);
    assert_true(holds_key(&good));
    assert_string_equal(seat.session, "s1");
    assert_int_equal(seat.seat, 0);
    assert_string_equal((const char *)seat.info, "job 7");
    assert_string_equal((const char *)seat.extra, "sealed code");
    prov_bus_seat_free(&seat);
    struct prov_bus_stats st;
    prov_bus_client_stats(pc, &st);
    assert_int_equal(st.provisioned, 1);
    assert_int_equal(st.refused, 0);
    assert_true(st.simulated);
    /* The one seat is taken: nothing more to join. */
    assert_int_equal(join_within("p1", &good, 300, &seat, &err), CLOISTER_E_TIMEOUT);
    prov_bus_client_stop(pc);
    tee_self_free(good.s);
}

/* Another identity, then an offer bound to the wrong nonce: refused, no key; the seat is put
 * back and the pinned enclave takes it. */
static void refuses_other_enclaves(void **state)
{
    NEED_SERVER();
    struct enclave good = {th_self(plat, "worker", 1, 1, 0x41), false};
    struct enclave other = {th_self(plat, "intruder", 1, 1, 0x42), false};
    struct enclave replayer = {th_self(plat, "worker", 1, 1, 0x41), true};
    struct tee_policy p = th_policy_pinned(good.s);
    struct prov_bus_client *pc = client("p2", "s2", &p, 1);
    struct prov_bus_seat seat;
    struct cloister_err err = {0};
    assert_int_equal(join("p2", &other, &seat, &err), CLOISTER_E_DENIED);
    assert_non_null(strstr(err.msg, "refused"));
    assert_false(holds_key(&other));
    assert_int_equal(join("p2", &replayer, &seat, &err), CLOISTER_E_DENIED);
    assert_false(holds_key(&replayer));
    if (join("p2", &good, &seat, &err) != 0)
        fail_msg("%s", err.msg);
    assert_true(holds_key(&good));
    prov_bus_seat_free(&seat);
    struct prov_bus_stats st;
    prov_bus_client_stats(pc, &st);
    assert_int_equal(st.provisioned, 1);
    assert_int_equal(st.refused, 2);
    assert_true(st.last_refusal[0] != 0);
    prov_bus_client_stop(pc);
    tee_self_free(good.s);
    tee_self_free(other.s);
    tee_self_free(replayer.s);
}

/* Seats outlive their session in the pool: a worker drops them, and drops a malformed one. */
static void drops_stale_and_malformed_seats(void **state)
{
    NEED_SERVER();
    struct enclave good = {th_self(plat, "worker", 1, 1, 0x41), false};
    struct tee_policy p = th_policy_pinned(good.s);
    prov_bus_client_stop(client("p3", "s3", &p, 1));
    struct prov_bus_seat seat;
    struct cloister_err err = {0};
    assert_int_equal(join("p3", &good, &seat, &err), CLOISTER_E_NOT_FOUND);
    assert_int_equal(bus_publish(bus, "prov.p3.seat", NULL, 0, "\x01junk", 5, NULL, NULL, &err), 0);
    assert_int_equal(join("p3", &good, &seat, &err), CLOISTER_E_INVALID);
    assert_int_equal(join_within("p3", &good, 300, &seat, &err), CLOISTER_E_TIMEOUT);
    assert_false(holds_key(&good));
    tee_self_free(good.s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(provisions_the_pinned_enclave),
        cmocka_unit_test(refuses_other_enclaves),
        cmocka_unit_test(drops_stale_and_malformed_seats),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
