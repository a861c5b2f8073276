/* orch_auth.h -- authenticated control operations without the token on the wire (orch_auth.c).
 *
 * A signed message is {"spec": TEXT, "ts": UNIX-SECONDS, "nonce": 32 HEX, "mac": 64 HEX} with
 * mac = HMAC-SHA256(k, LABEL "\n" ts "\n" nonce "\n" TEXT) and k = HKDF-SHA256(token, salt
 * "cloister-orch", info "submission mac"). The label says what the message is for, so that one
 * cannot be replayed as another: "cloister-orch-submit/1" for a submission on the bus (TEXT a
 * pod spec), "cloister-orch-agent/1 METHOD PATH" for a request to a node agent (TEXT its body).
 * The receiver refuses a bad mac, a time off by more than the window, and a nonce already seen
 * within it. */
#ifndef CLOISTER_ORCH_AUTH_H
#define CLOISTER_ORCH_AUTH_H

#include <cloister/error.h>
#include <cloister/orch.h>

#include <jansson.h>
#include <stdint.h>

#define ORCH_AUTH_KEY_LEN 32
#define ORCH_AUTH_NONCE_LEN 16
#define ORCH_AUTH_WINDOW_S 120
#define ORCH_AUTH_NONCES_MAX 4096

#define ORCH_AUTH_SUBMIT "cloister-orch-submit/1"
#define ORCH_AUTH_LABEL_MAX 320

int orch_auth_key(uint8_t key[ORCH_AUTH_KEY_LEN], const char *token, struct cloister_err *err);

/* text signed for label (malloc'd), or NULL (out of memory, no CSPRNG); *nonce_hex receives the
 * nonce. */
char *orch_auth_seal_text(const uint8_t key[ORCH_AUTH_KEY_LEN], const char *label, const char *text,
                          int64_t now, char nonce_hex[2 * ORCH_AUTH_NONCE_LEN + 1]);
/* The label of a request to a node agent. */
void orch_auth_request_label(char *out, size_t cap, const char *method, const char *path);

/* The signed submission of p at time now (malloc'd text), or NULL (out of memory, no CSPRNG).
 * *nonce_hex (33 bytes) receives the nonce, the message's id on the stream. */
char *orch_auth_seal(const uint8_t key[ORCH_AUTH_KEY_LEN], const struct orch_pod *p, int64_t now,
                     char nonce_hex[2 * ORCH_AUTH_NONCE_LEN + 1]);

/* Nonces seen within the window. */
struct orch_nonce {
    uint8_t nonce[ORCH_AUTH_NONCE_LEN];
    int64_t ts;
};
struct orch_nonces {
    struct orch_nonce v[ORCH_AUTH_NONCES_MAX];
    size_t n;
};

/* Checks a signed message for label and gives its text (*text malloc'd): refused when malformed,
 * its mac does not verify, its time is outside the window around now, or its nonce was seen
 * (which it then records). */
int orch_auth_open_text(const uint8_t key[ORCH_AUTH_KEY_LEN], const char *label,
                        struct orch_nonces *seen, int64_t now, const void *data, size_t len,
                        char **text, struct cloister_err *err);
/* Checks a submission and reads its pod: refused when malformed, its mac does not verify, its
 * time is outside the window around now, or its nonce was seen (which it then records). */
int orch_auth_open(const uint8_t key[ORCH_AUTH_KEY_LEN], struct orch_nonces *seen, int64_t now,
                   const void *data, size_t len, struct orch_pod *out, struct cloister_err *err);

/* The nonces as [[hex, ts], ...] and back (the scheduler's persisted state). */
json_t *orch_nonces_to_json(const struct orch_nonces *s);
void orch_nonces_from_json(struct orch_nonces *s, const json_t *a);

#endif
