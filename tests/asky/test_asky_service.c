/* test_asky_service.c -- the access service (asky_host.h) and the member API (asky_client.h)
 * with the asky enclave in-process (sim): random membership churn checked against a set
 * oracle (after every step a fresh object is written by a member, and every user, member or
 * not, tries to open it with its own key: members open it, everyone else fails
 * cryptographically); a non-member gets no envelope and a wrong proof is refused; the store
 * holds no name and no key (its SQLite database included); a rolled-back group record and a
 * tampered one are refused; a user's key is delivered by HPKE to the user's key pair only;
 * remote members through the server, one-shot and in sessions (a replayed, tampered or unknown
 * session request refused). */
#include <cloister/asky_client.h>
#include <cloister/asky_serve.h>
#include <cloister/crypto.h>
#include <cloister/hpke.h>
#include <cloister/tee.h>
#include <cloister/tee_enclave.h>
#include <cloister/tee_trust.h>
#include <cloister/tee_verify.h>
#include <cloister/wire.h>

#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "util/fileio.h"
#include "util/hex.h"
#include "util/prng.h"

TEE_ENCLAVE_DECLARE(asky);

#define USERS 12
#define STEPS 40

static char dir[1024];
static asky_service *svc;
static char names[USERS][32];
static uint8_t keys[USERS][ASKY_KEY_LEN];

static void open_service(void)
{
    struct asky_service_options o = {.backend = "sim", .enclave = &tee_enclave_asky};
    struct cloister_err err;
    if (asky_service_open(dir, &o, &svc, &err) != CLOISTER_OK)
        fail_msg("asky_service_open: %s", err.msg);
}

static int setup(void **state)
{
    const char *home = getenv("CLOISTER_HOME");
    char cmd[PATH_MAX + 16];
    snprintf(dir, sizeof dir, "%s/asky-service", home ? home : "/tmp/cloister-test");
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    open_service();
    struct cloister_err err;
    for (int i = 0; i < USERS; i++) {
        snprintf(names[i], sizeof names[i], "zebra-user-%02d", i);
        if (asky_user_add(svc, names[i], keys[i], &err) != CLOISTER_OK)
            fail_msg("user add: %s", err.msg);
    }
    assert_int_equal(asky_user_add(svc, names[0], keys[0], &err), CLOISTER_E_EXISTS);
    return 0;
}

static int teardown(void **state)
{
    asky_service_close(svc);
    return 0;
}

static void write_input(const char *path, const char *text)
{
    assert_int_equal(file_write_atomic(path, text, strlen(text), 0600), 0);
}

/* Writes object `name` as member `who`; checks every user against the oracle in[]. */
static void check_oracle(const char *group, const bool in[USERS], int who, const char *name)
{
    char src[PATH_MAX + 16], dst[PATH_MAX + 16];
    struct cloister_err err;
    snprintf(src, sizeof src, "%s/plain.txt", dir);
    snprintf(dst, sizeof dst, "%s/back.txt", dir);
    write_input(src, "the quarterly numbers");
    if (asky_put(svc, group, names[who], keys[who], src, name, ASKY_INDEXED, ASKY_PAD_POW2, &err) !=
        CLOISTER_OK)
        fail_msg("put as %s: %s", names[who], err.msg);
    for (int u = 0; u < USERS; u++) {
        unlink(dst);
        int rc = asky_get(dir, keys[u], name, dst, &err);
        if (in[u]) {
            if (rc != CLOISTER_OK)
                fail_msg("member %d cannot open: %s", u, err.msg);
            uint8_t *data;
            size_t len;
            assert_int_equal(file_read_all(dst, 1024, &data, &len), 0);
            assert_int_equal(len, strlen("the quarterly numbers"));
            free(data);
        } else {
            assert_int_equal(rc, CLOISTER_E_DENIED);
            assert_int_not_equal(access(dst, F_OK), 0); /* nothing left behind */
        }
    }
}

static void test_churn_oracle(void **state)
{
    uint64_t p = 15;
    bool in[USERS] = {false};
    struct cloister_err err;
    assert_int_equal(asky_group_create(svc, "secret-team", names[0], &err), CLOISTER_OK);
    assert_int_equal(asky_group_create(svc, "secret-team", names[1], &err), CLOISTER_E_EXISTS);
    in[0] = true;
    for (int step = 0; step < STEPS; step++) {
        int u = (int)(prng_next(&p) % USERS);
        int rc = in[u] ? asky_group_remove(svc, "secret-team", names[u], &err)
                       : asky_group_add(svc, "secret-team", names[u], &err);
        if (rc != CLOISTER_OK)
            fail_msg("step %d: %s", step, err.msg);
        in[u] = !in[u];
        int who = -1;
        for (int i = 0; i < USERS; i++)
            if (in[i])
                who = i;
        if (who >= 0 && step % 4 == 0) {
            char obj[32];
            snprintf(obj, sizeof obj, "obj-%d", step);
            check_oracle("secret-team", in, who, obj);
        }
        for (int i = 0; i < USERS && who >= 0; i++)
            if (!in[i]) { /* a non-member gets no envelope */
                char src[PATH_MAX + 16];
                snprintf(src, sizeof src, "%s/plain.txt", dir);
                assert_int_equal(asky_put(svc, "secret-team", names[i], keys[i], src, "x",
                                          ASKY_INDEXED, 0, &err),
                                 CLOISTER_E_DENIED);
                break;
            }
    }
}

/* Lazy revocation, then rekey: a removed member still opens the old object (it may have kept
 * its file key), and no longer once the object is rekeyed; the others still do. */
static void test_rekey(void **state)
{
    (void)state;
    char src[PATH_MAX + 16], dst[PATH_MAX + 16];
    struct cloister_err err;
    snprintf(src, sizeof src, "%s/plain.txt", dir);
    snprintf(dst, sizeof dst, "%s/back.txt", dir);
    write_input(src, "the old minutes");
    assert_int_equal(asky_group_create(svc, "rekey-team", names[0], &err), 0);
    assert_int_equal(asky_group_add(svc, "rekey-team", names[1], &err), 0);
    assert_int_equal(asky_group_add(svc, "rekey-team", names[2], &err), 0);
    assert_int_equal(
        asky_put(svc, "rekey-team", names[0], keys[0], src, "old", ASKY_INDEXED, 0, &err), 0);
    assert_int_equal(asky_group_remove(svc, "rekey-team", names[1], &err), 0);
    assert_int_equal(asky_get(dir, keys[1], "old", dst, &err), CLOISTER_OK); /* lazy */
    /* a non-member cannot rekey, and rekeying needs a key that opens the object */
    assert_int_equal(asky_rekey(svc, "rekey-team", names[1], keys[1], "old", ASKY_INDEXED, 0, &err),
                     CLOISTER_E_DENIED);
    assert_int_equal(asky_rekey(svc, "rekey-team", names[2], keys[2], "old", ASKY_INDEXED, 0, &err),
                     0);
    unlink(dst);
    assert_int_equal(asky_get(dir, keys[1], "old", dst, &err), CLOISTER_E_DENIED);
    assert_int_equal(access(dst, F_OK), -1);
    for (int u = 0; u < 3; u += 2) {
        uint8_t *data;
        size_t len;
        assert_int_equal(asky_get(dir, keys[u], "old", dst, &err), CLOISTER_OK);
        assert_int_equal(file_read_all(dst, 1024, &data, &len), 0);
        assert_int_equal(len, strlen("the old minutes"));
        assert_memory_equal(data, "the old minutes", len);
        free(data);
    }
    assert_int_equal(
        asky_rekey(svc, "rekey-team", names[0], keys[0], "missing", ASKY_INDEXED, 0, &err),
        CLOISTER_E_NOT_FOUND);
}

static void test_wrong_proof(void **state)
{
    struct cloister_err err;
    char src[PATH_MAX + 16];
    snprintf(src, sizeof src, "%s/plain.txt", dir);
    write_input(src, "x");
    assert_int_equal(asky_group_create(svc, "proof-team", names[2], &err), CLOISTER_OK);
    /* names[2]'s name with names[3]'s key */
    assert_int_equal(
        asky_put(svc, "proof-team", names[2], keys[3], src, "p", ASKY_INDEXED, 0, &err),
        CLOISTER_E_DENIED);
    assert_int_equal(asky_put(svc, "no-team", names[2], keys[2], src, "p", ASKY_INDEXED, 0, &err),
                     CLOISTER_E_NOT_FOUND);
    assert_int_equal(
        asky_put(svc, "proof-team", names[2], keys[2], src, "../p", ASKY_INDEXED, 0, &err),
        CLOISTER_E_INVALID);
}

/* Whether any file under dir (the store, its logs) holds the bytes needle. */
static bool store_holds(const void *needle, size_t len)
{
    char cmd[PATH_MAX + 32], path[PATH_MAX];
    snprintf(cmd, sizeof cmd, "find '%s' -type f", dir);
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    bool found = false;
    while (fgets(path, sizeof path, f)) {
        path[strcspn(path, "\n")] = '\0';
        uint8_t *data;
        size_t n;
        if (file_read_all(path, (size_t)1 << 26, &data, &n) != 0)
            continue;
        found |= memmem(data, n, needle, len) != NULL;
        free(data);
    }
    pclose(f);
    return found;
}

/* No file of the store holds a user or group name or a user key. */
static void test_store_has_no_names(void **state)
{
    for (int i = 0; i < USERS; i++) {
        assert_false(store_holds(names[i], strlen(names[i])));
        assert_false(store_holds(keys[i], ASKY_KEY_LEN));
    }
    assert_false(store_holds("secret-team", 11));
    assert_false(store_holds("proof-team", 10));
}

/* The record (malloc'd) of the one group of the SQLite store at that version. */
static uint8_t *group_row(sqlite3 *db, int version, size_t *len)
{
    sqlite3_stmt *st;
    assert_int_equal(
        sqlite3_prepare_v2(db, "SELECT rec FROM asky_groups WHERE version = ?1", -1, &st, NULL),
        SQLITE_OK);
    sqlite3_bind_int(st, 1, version);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    *len = (size_t)sqlite3_column_bytes(st, 0);
    uint8_t *rec = malloc(*len);
    assert_non_null(rec);
    memcpy(rec, sqlite3_column_blob(st, 0), *len);
    sqlite3_finalize(st);
    return rec;
}

/* Puts rec back as its group's row (the id and version are its first 40 bytes). */
static void group_put(sqlite3 *db, const uint8_t *rec, size_t len)
{
    sqlite3_stmt *st;
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | rec[32 + i];
    assert_int_equal(
        sqlite3_prepare_v2(db, "UPDATE asky_groups SET rec = ?1, version = ?2 WHERE id = ?3", -1,
                           &st, NULL),
        SQLITE_OK);
    sqlite3_bind_blob(st, 1, rec, (int)len, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)v);
    sqlite3_bind_blob(st, 3, rec, 32, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    assert_int_equal(sqlite3_changes(db), 1);
    sqlite3_finalize(st);
}

static void test_rollback_refused(void **state)
{
    struct cloister_err err;
    char path[PATH_MAX], src[PATH_MAX + 16];
    sqlite3 *db;
    snprintf(path, sizeof path, "%s/asky.db", dir);
    snprintf(src, sizeof src, "%s/plain.txt", dir);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 10000);
    assert_int_equal(asky_group_create(svc, "roll-team", names[4], &err), CLOISTER_OK);
    assert_int_equal(asky_group_add(svc, "roll-team", names[5], &err), CLOISTER_OK);
    /* keep the record of version 2 (names[5] a member), then remove names[5] */
    size_t oldlen, newlen;
    uint8_t *old = group_row(db, 2, &oldlen);
    assert_int_equal(asky_group_remove(svc, "roll-team", names[5], &err), CLOISTER_OK);
    uint8_t *cur = group_row(db, 3, &newlen);
    /* the old record put back: names[5] would be a member again; refused as stale */
    group_put(db, old, oldlen);
    assert_int_equal(asky_group_add(svc, "roll-team", names[6], &err), CLOISTER_E_DENIED);
    assert_non_null(strstr(err.msg, "rolled back"));
    assert_int_equal(
        asky_put(svc, "roll-team", names[5], keys[5], src, "back", ASKY_INDEXED, 0, &err),
        CLOISTER_E_DENIED);
    /* a fresh service process sees the same refusal (the epoch record is in the store) */
    asky_service_close(svc);
    open_service();
    assert_int_equal(asky_group_add(svc, "roll-team", names[6], &err), CLOISTER_E_DENIED);
    /* a flipped byte in the current record: refused too; the record restored, accepted */
    cur[60] ^= 1;
    group_put(db, cur, newlen);
    assert_int_equal(asky_group_add(svc, "roll-team", names[6], &err), CLOISTER_E_DENIED);
    assert_non_null(strstr(err.msg, "not authentic"));
    cur[60] ^= 1;
    group_put(db, cur, newlen);
    assert_int_equal(asky_group_add(svc, "roll-team", names[6], &err), CLOISTER_OK);
    sqlite3_close(db);
    free(old);
    free(cur);
}

/* The user's key leaves the enclave only HPKE-encrypted to the key pair the user made: it
 * opens with that secret key and that name only, and the key opened is the user's. */
static void test_key_delivery(void **state)
{
    struct cloister_err err;
    uint8_t pk[HPKE_PUBLIC_LEN], sk[HPKE_SECRET_LEN], pk2[HPKE_PUBLIC_LEN], sk2[HPKE_SECRET_LEN];
    uint8_t delivery[ASKY_USER_DELIVERY_LEN], key[ASKY_KEY_LEN];
    assert_int_equal(hpke_keypair(pk, sk), 0);
    assert_int_equal(hpke_keypair(pk2, sk2), 0);
    assert_int_equal(asky_user_deliver(svc, "zebra-delivered", pk, delivery, &err), CLOISTER_OK);
    assert_int_equal(asky_user_key_open(key, delivery, sk2, "zebra-delivered", &err),
                     CLOISTER_E_DENIED);
    assert_int_equal(asky_user_key_open(key, delivery, sk, "zebra-other", &err), CLOISTER_E_DENIED);
    delivery[40] ^= 1;
    assert_int_equal(asky_user_key_open(key, delivery, sk, "zebra-delivered", &err),
                     CLOISTER_E_DENIED);
    delivery[40] ^= 1;
    assert_int_equal(asky_user_key_open(key, delivery, sk, "zebra-delivered", &err), CLOISTER_OK);
    assert_int_equal(asky_user_deliver(svc, "zebra-delivered", pk, delivery, &err),
                     CLOISTER_E_EXISTS);
    /* the key is the user's: it writes and reads in a group of its own */
    char src[PATH_MAX + 16], dst[PATH_MAX + 16];
    snprintf(src, sizeof src, "%s/plain.txt", dir);
    snprintf(dst, sizeof dst, "%s/delivered.txt", dir);
    write_input(src, "delivered");
    assert_int_equal(asky_group_create(svc, "zebra-solo", "zebra-delivered", &err), CLOISTER_OK);
    assert_int_equal(
        asky_put(svc, "zebra-solo", "zebra-delivered", key, src, "solo", ASKY_INDEXED, 0, &err),
        CLOISTER_OK);
    assert_int_equal(asky_get(dir, key, "solo", dst, &err), CLOISTER_OK);
    assert_false(store_holds(key, sizeof key));
    crypto_wipe(sk, sizeof sk);
    crypto_wipe(sk2, sizeof sk2);
    crypto_wipe(key, sizeof key);
}

/* Sealed envelope requests of one member, several threads at once against the server: each
 * request with an offer of its own, or (session) all in one session. */
struct asker {
    const struct asky_remote *r;
    const uint8_t *key;
    bool session;
    int ok;
};

static void *asker_thread(void *arg)
{
    struct asker *a = arg;
    struct asky_user_keys k;
    struct cloister_err err;
    asky_session *sn = NULL;
    asky_user_keys(&k, a->key);
    if (a->session && asky_remote_session_open(a->r, &sn, &err) != CLOISTER_OK)
        return NULL;
    for (int i = 0; i < 4; i++) {
        uint8_t *env = NULL, ticket[ASKY_TICKET_LEN], fk[ASKY_KEY_LEN];
        size_t len = 0;
        int rc = sn ? asky_remote_session_envelope(sn, "zebra-remote-team", "zebra-remote", a->key,
                                                   ASKY_INDEXED, 0, &env, &len, ticket, &err)
                    : asky_remote_envelope(a->r, "zebra-remote-team", "zebra-remote", a->key,
                                           ASKY_INDEXED, 0, &env, &len, ticket, &err);
        if (rc == CLOISTER_OK && asky_envelope_open(ASKY_INDEXED, env, len, &k, fk, &err) == 0)
            a->ok++;
        free(env);
    }
    asky_remote_session_close(sn);
    asky_user_keys_wipe(&k);
    return NULL;
}

/* A session opened by hand through the host's API (the client's format rebuilt here): its
 * first request is answered, the same request again is refused as a replay, a tampered one
 * and one of an unknown session are refused. */
static void session_by_hand(const uint8_t mrenclave[32], const uint8_t *key)
{
    struct cloister_err err;
    uint8_t nonce[TEE_PROV_NONCE_LEN], skey[32], id[ASKY_SESSION_ID_LEN], *offer = NULL;
    uint8_t *pkg = NULL, *reply = NULL;
    size_t offer_len = 0, pkg_len = 0, reply_len = 0;
    assert_int_equal(tee_prov_nonce(nonce, &err), CLOISTER_OK);
    assert_int_equal(crypto_random(skey, sizeof skey), 0);
    assert_int_equal(asky_sealed_offer(svc, nonce, sizeof nonce, &offer, &offer_len, &err), 0);
    tee_platform *platform = tee_platform_open(NULL, &err);
    assert_non_null(platform);
    tee_verifier *v = tee_verifier_new_file(tee_platform_ca_path(platform), &err);
    tee_platform_free(platform);
    assert_non_null(v);
    struct tee_policy p;
    tee_policy_default(&p);
    p.mrenclave = (const uint8_t(*)[TEE_HASH_LEN])mrenclave;
    p.n_mrenclave = 1;
    p.allow_simulated = p.allow_debug = true;
    struct tee_secret secret = {"asky:session", skey, sizeof skey};
    assert_int_equal(tee_prov_package(v, &p, nonce, sizeof nonce, offer, offer_len, &secret, 1,
                                      &pkg, &pkg_len, NULL, &err),
                     0);
    tee_verifier_free(v);
    assert_int_equal(asky_session_open(svc, pkg, pkg_len, id, &err), CLOISTER_OK);
    /* the request: str group, str user, nonce 16, proof 32, u8 kind, varint pad, reply key */
    struct asky_user_keys k;
    uint8_t rnonce[ASKY_REQ_NONCE_LEN] = {7}, proof[32], reply_key[32] = {9};
    asky_user_keys(&k, key);
    asky_request_proof(proof, &k, "zebra-remote-team", rnonce);
    asky_user_keys_wipe(&k);
    struct wire_writer w;
    wire_writer_init(&w);
    wire_put_str(&w, "zebra-remote-team");
    wire_put_str(&w, "zebra-remote");
    wire_put_raw(&w, rnonce, sizeof rnonce);
    wire_put_raw(&w, proof, sizeof proof);
    wire_put_u8(&w, ASKY_INDEXED);
    wire_put_varint(&w, 0);
    wire_put_raw(&w, reply_key, sizeof reply_key);
    assert_true(wire_writer_ok(&w));
    static const char label[] = "CLOISTER-ASKY-V01 session request";
    uint8_t msg[512], gcm_nonce[12] = {0}, aad[sizeof label - 1 + 24];
    memcpy(msg, id, sizeof id);
    memset(msg + 16, 0, 8);
    msg[23] = 1; /* seq 1 */
    memcpy(gcm_nonce + 4, msg + 16, 8);
    memcpy(aad, label, sizeof label - 1);
    memcpy(aad + sizeof label - 1, msg, 24);
    assert_true(24 + w.len + 16 <= sizeof msg);
    crypto_aead_seal(CRYPTO_AES256_GCM, skey, gcm_nonce, aad, sizeof aad, w.buf, w.len, msg + 24);
    size_t len = 24 + w.len + 16;
    wire_writer_free(&w);
    assert_int_equal(asky_session_envelope(svc, msg, len, &reply, &reply_len, &err), CLOISTER_OK);
    free(reply);
    assert_int_equal(asky_session_envelope(svc, msg, len, &reply, &reply_len, &err),
                     CLOISTER_E_DENIED);
    assert_non_null(strstr(err.msg, "replayed"));
    msg[30] ^= 1;
    msg[23] = 2;
    assert_int_equal(asky_session_envelope(svc, msg, len, &reply, &reply_len, &err),
                     CLOISTER_E_DENIED);
    msg[0] ^= 1;
    assert_int_equal(asky_session_envelope(svc, msg, len, &reply, &reply_len, &err),
                     CLOISTER_E_STATE);
    free(offer);
    free(pkg);
    crypto_wipe(skey, sizeof skey);
}

/* user add through the service (in-process, on loopback): the admin's client verifies the
 * enclave (MRENCLAVE pinned), seals the name and its public key to it, and gets the key back
 * HPKE-encrypted; a wrong token, or another MRENCLAVE pinned, gets no user. */
static void test_remote_user_add(void **state)
{
    static const char token[] = "remote-admin-token-0123456789";
    struct cloister_err err;
    struct tee_info ti;
    asky_server *srv;
    char endpoint[32];
    uint8_t key[ASKY_KEY_LEN], other[32] = {1};
    assert_int_equal(asky_server_start(svc, "127.0.0.1:0", token, 0, 2, &srv, &err), CLOISTER_OK);
    snprintf(endpoint, sizeof endpoint, "127.0.0.1:%u", (unsigned)asky_server_port(srv));
    assert_int_equal(tee_get_info(asky_service_enclave(svc), &ti), CLOISTER_OK);
    struct asky_remote r = {.server = endpoint, .mrenclave = other, .allow_simulated = true};
    assert_int_equal(asky_remote_user_add(&r, token, "zebra-remote", key, &err), CLOISTER_E_DENIED);
    r.mrenclave = ti.mrenclave;
    assert_int_not_equal(
        asky_remote_user_add(&r, "wrong-token-0123456789", "zebra-remote", key, &err), CLOISTER_OK);
    if (asky_remote_user_add(&r, token, "zebra-remote", key, &err) != CLOISTER_OK)
        fail_msg("remote user add: %s", err.msg);
    assert_int_equal(asky_remote_user_add(&r, token, "zebra-remote", key, &err),
                     CLOISTER_E_INVALID); /* 409: exists */
    char src[PATH_MAX + 16], dst[PATH_MAX + 16];
    snprintf(src, sizeof src, "%s/plain.txt", dir);
    snprintf(dst, sizeof dst, "%s/remote.txt", dir);
    write_input(src, "remote");
    assert_int_equal(asky_group_create(svc, "zebra-remote-team", "zebra-remote", &err),
                     CLOISTER_OK);
    /* four one-shot clients at once (the runtime keeps four offers pending), then four in
     * sessions: every envelope opens */
    struct asker a[8];
    pthread_t t[8];
    for (int i = 0; i < 8; i++) {
        a[i] = (struct asker){&r, key, i >= 4, 0};
        assert_int_equal(pthread_create(&t[i], NULL, asker_thread, &a[i]), 0);
        if (i == 3)
            for (int j = 0; j < 4; j++)
                pthread_join(t[j], NULL);
    }
    for (int i = 0; i < 8; i++) {
        if (i >= 4)
            pthread_join(t[i], NULL);
        assert_int_equal(a[i].ok, 4);
    }
    /* a session is refused with another MRENCLAVE pinned; a non-member's request in one is */
    asky_session *sn = NULL;
    uint8_t *env = NULL, ticket[ASKY_TICKET_LEN];
    size_t envlen = 0;
    r.mrenclave = other;
    assert_int_equal(asky_remote_session_open(&r, &sn, &err), CLOISTER_E_DENIED);
    r.mrenclave = ti.mrenclave;
    assert_int_equal(asky_remote_session_open(&r, &sn, &err), CLOISTER_OK);
    assert_int_equal(asky_remote_session_envelope(sn, "zebra-remote-team", names[0], keys[0],
                                                  ASKY_INDEXED, 0, &env, &envlen, ticket, &err),
                     CLOISTER_E_DENIED);
    asky_remote_session_close(sn);
    asky_server_stop(srv);
    session_by_hand(ti.mrenclave, key);
    assert_int_equal(asky_put(svc, "zebra-remote-team", "zebra-remote", key, src, "remote",
                              ASKY_INDEXED, 0, &err),
                     CLOISTER_OK);
    assert_int_equal(asky_get(dir, key, "remote", dst, &err), CLOISTER_OK);
    assert_false(store_holds(key, sizeof key));
    crypto_wipe(key, sizeof key);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_churn_oracle),
        cmocka_unit_test(test_wrong_proof),
        cmocka_unit_test(test_store_has_no_names),
        cmocka_unit_test(test_key_delivery),
        cmocka_unit_test(test_remote_user_add),
        cmocka_unit_test(test_rollback_refused),
        cmocka_unit_test(test_rekey),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
