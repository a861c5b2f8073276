/* orch_auth.c -- submissions authenticated by an HMAC, so the token never crosses the bus
 * (orch_auth.h). The key is derived from the token with HKDF; the mac covers the time, a random
 * nonce and the pod spec's exact text (carried as a string, so no re-serialisation can change
 * it). Replays are refused by time (a window of ORCH_AUTH_WINDOW_S either side) and, within the
 * window, by nonce: the scheduler remembers the nonces it accepted (and persists them with its
 * state, so a restart does not open the window again). The set is bounded: when it is full of
 * nonces still inside the window, submissions are refused until some age out. */
#include "orch/host/orch_auth.h"

#include <cloister/crypto.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/hex.h"

#define SUBMIT_MAX (64u << 10)

int orch_auth_key(uint8_t key[ORCH_AUTH_KEY_LEN], const char *token, struct cloister_err *err)
{
    static const char salt[] = "cloister-orch", info[] = "submission mac";
    if (crypto_hkdf(key, ORCH_AUTH_KEY_LEN, salt, sizeof salt - 1, token, strlen(token), info,
                    sizeof info - 1) != 0)
        return cloister_errf(err, CLOISTER_E_FAILED, "cannot derive the submission key");
    return CLOISTER_OK;
}

static void mac(uint8_t out[CRYPTO_SHA256_LEN], const uint8_t key[ORCH_AUTH_KEY_LEN],
                const char *label, int64_t ts, const char *nonce_hex, const char *spec,
                size_t speclen)
{
    size_t cap = strlen(label) + 64 + 2 * ORCH_AUTH_NONCE_LEN + speclen;
    char *m = malloc(cap);
    if (!m) {
        memset(out, 0, CRYPTO_SHA256_LEN); /* verifies nothing: no message has a zero mac */
        return;
    }
    int head = snprintf(m, cap, "%s\n%" PRId64 "\n%s\n", label, ts, nonce_hex);
    memcpy(m + head, spec, speclen);
    crypto_hmac_sha256(out, key, ORCH_AUTH_KEY_LEN, m, (size_t)head + speclen);
    free(m);
}

char *orch_auth_seal_text(const uint8_t key[ORCH_AUTH_KEY_LEN], const char *label, const char *text,
                          int64_t now, char nonce_hex[2 * ORCH_AUTH_NONCE_LEN + 1])
{
    uint8_t nonce[ORCH_AUTH_NONCE_LEN], tag[CRYPTO_SHA256_LEN];
    char tag_hex[2 * CRYPTO_SHA256_LEN + 1];
    if (crypto_random(nonce, sizeof nonce) != 0)
        return NULL;
    hex_encode(nonce_hex, nonce, sizeof nonce);
    mac(tag, key, label, now, nonce_hex, text, strlen(text));
    hex_encode(tag_hex, tag, sizeof tag);
    json_t *msg = json_pack("{s:s, s:I, s:s, s:s}", "spec", text, "ts", (json_int_t)now, "nonce",
                            nonce_hex, "mac", tag_hex);
    char *out = msg ? json_dumps(msg, JSON_COMPACT) : NULL;
    json_decref(msg);
    return out;
}

char *orch_auth_seal(const uint8_t key[ORCH_AUTH_KEY_LEN], const struct orch_pod *p, int64_t now,
                     char nonce_hex[2 * ORCH_AUTH_NONCE_LEN + 1])
{
    char *spec = orch_pod_format(p);
    char *out = spec ? orch_auth_seal_text(key, ORCH_AUTH_SUBMIT, spec, now, nonce_hex) : NULL;
    free(spec);
    return out;
}

void orch_auth_request_label(char *out, size_t cap, const char *method, const char *path)
{
    snprintf(out, cap, "cloister-orch-agent/1 %s %s", method, path);
}

/* Records nonce at ts unless seen; forgets nonces out of the window first. */
static int nonce_take(struct orch_nonces *s, const uint8_t *nonce, int64_t ts, int64_t now,
                      struct cloister_err *err)
{
    for (size_t i = 0; i < s->n;)
        if (s->v[i].ts < now - ORCH_AUTH_WINDOW_S)
            s->v[i] = s->v[--s->n];
        else
            i++;
    for (size_t i = 0; i < s->n; i++)
        if (memcmp(s->v[i].nonce, nonce, ORCH_AUTH_NONCE_LEN) == 0)
            return cloister_errf(err, CLOISTER_E_DENIED, "refused: a replay");
    if (s->n == ORCH_AUTH_NONCES_MAX)
        return cloister_errf(err, CLOISTER_E_TOO_BIG, "refused: %d requests within %d s already",
                             ORCH_AUTH_NONCES_MAX, ORCH_AUTH_WINDOW_S);
    memcpy(s->v[s->n].nonce, nonce, ORCH_AUTH_NONCE_LEN);
    s->v[s->n++].ts = ts;
    return CLOISTER_OK;
}

int orch_auth_open_text(const uint8_t key[ORCH_AUTH_KEY_LEN], const char *label,
                        struct orch_nonces *seen, int64_t now, const void *data, size_t len,
                        char **text, struct cloister_err *err)
{
    json_t *msg = len <= SUBMIT_MAX ? json_loadb(data, len, 0, NULL) : NULL;
    const char *spec = json_string_value(json_object_get(msg, "spec"));
    const char *nonce_hex = json_string_value(json_object_get(msg, "nonce"));
    const char *tag_hex = json_string_value(json_object_get(msg, "mac"));
    json_t *ts = json_object_get(msg, "ts");
    uint8_t nonce[ORCH_AUTH_NONCE_LEN], tag[CRYPTO_SHA256_LEN], want[CRYPTO_SHA256_LEN];
    int rc = CLOISTER_OK;
    *text = NULL;
    if (!spec || !json_is_integer(ts) || !nonce_hex || !tag_hex ||
        hex_decode(nonce, sizeof nonce, nonce_hex, strlen(nonce_hex)) != sizeof nonce ||
        hex_decode(tag, sizeof tag, tag_hex, strlen(tag_hex)) != sizeof tag)
        rc = cloister_errf(err, CLOISTER_E_INVALID,
                           "refused: not {spec, ts, nonce, mac} of the right sizes");
    if (rc == CLOISTER_OK) {
        mac(want, key, label, json_integer_value(ts), nonce_hex, spec,
            json_string_length(json_object_get(msg, "spec")));
        if (!crypto_memeq(want, tag, sizeof tag))
            rc = cloister_errf(err, CLOISTER_E_DENIED, "refused: bad mac");
    }
    if (rc == CLOISTER_OK && (json_integer_value(ts) < now - ORCH_AUTH_WINDOW_S ||
                              json_integer_value(ts) > now + ORCH_AUTH_WINDOW_S))
        rc = cloister_errf(err, CLOISTER_E_DENIED, "refused: its time is %+" PRId64 " s off",
                           (int64_t)json_integer_value(ts) - now);
    if (rc == CLOISTER_OK)
        rc = nonce_take(seen, nonce, json_integer_value(ts), now, err);
    if (rc == CLOISTER_OK && !(*text = strdup(spec)))
        rc = cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
    json_decref(msg);
    return rc;
}

int orch_auth_open(const uint8_t key[ORCH_AUTH_KEY_LEN], struct orch_nonces *seen, int64_t now,
                   const void *data, size_t len, struct orch_pod *out, struct cloister_err *err)
{
    char *spec = NULL;
    int rc = orch_auth_open_text(key, ORCH_AUTH_SUBMIT, seen, now, data, len, &spec, err);
    if (rc != CLOISTER_OK)
        return cloister_err_wrap(err, "submission");
    rc = orch_pod_parse(out, spec, strlen(spec), err);
    free(spec);
    return rc;
}

json_t *orch_nonces_to_json(const struct orch_nonces *s)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < s->n; i++) {
        char hex[2 * ORCH_AUTH_NONCE_LEN + 1];
        hex_encode(hex, s->v[i].nonce, ORCH_AUTH_NONCE_LEN);
        json_array_append_new(a, json_pack("[s, I]", hex, (json_int_t)s->v[i].ts));
    }
    return a;
}

void orch_nonces_from_json(struct orch_nonces *s, const json_t *a)
{
    s->n = 0;
    for (size_t i = 0; i < json_array_size(a) && s->n < ORCH_AUTH_NONCES_MAX; i++) {
        const json_t *e = json_array_get(a, i);
        const char *hex = json_string_value(json_array_get(e, 0));
        if (hex && json_is_integer(json_array_get(e, 1)) &&
            hex_decode(s->v[s->n].nonce, ORCH_AUTH_NONCE_LEN, hex, strlen(hex)) ==
                ORCH_AUTH_NONCE_LEN)
            s->v[s->n++].ts = json_integer_value(json_array_get(e, 1));
    }
}
