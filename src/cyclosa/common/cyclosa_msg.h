/* cyclosa_msg.h -- the boundary of the `cyclosa` enclave and the relay messages between
 * enclaves: numbers and layouts shared by the trusted side (src/cyclosa/enclave) and the node's
 * host (src/cyclosa/host), and the pure codecs of msg.c (fuzzed).
 *
 *   INIT    in: varint table capacity, bytes platform CA, varint n, str popular query x n
 *           out: raw MRENCLAVE 32 (the value peers must show)
 *   HELLO   in: -             out: bytes hello = raw X25519 key 32 || bytes evidence whose report
 *                             data is tee_bind_report_data(key, CYCLOSA_HELLO_LABEL)
 *   ACCEPT  in: bytes hello   out: u64 session id, bytes reply = raw key 32 || bytes evidence
 *                             whose report data is tee_bind_report_data(key, the hello's key)
 *   FINISH  in: bytes own hello, bytes reply               out: u64 session id
 *   QUERY   in: str query, u8 k, varint n, u64 session id x n (attested peers to choose from)
 *           out: u8 the real one's index, varint m, (u64 session id, raw id 16, bytes frame) x m
 *   RELAY   in: bytes frame   out: u64 session id, raw id 16, str query (added to the table)
 *   ANSWER  in: u64 session id, raw id 16, bytes hits (xsearch.h)   out: bytes answer frame
 *   OPEN    in: u64 session id, bytes answer frame      out: raw id 16, bytes hits
 *   FORGET  in: u64 session id                          out: -
 *
 * Sessions. Both ends draw an X25519 key in the enclave; evidence binds it; the verifier policy
 * pins MRENCLAVE to the enclave's own. id = the first 8 bytes of SHA-256(initiator key ||
 * responder key), and HKDF-SHA256 (salt CYCLOSA_KDF_LABEL, ikm the X25519 secret, info the two
 * keys) gives one AES-256-GCM key per direction.
 *
 * frame = u64 session id (big-endian) || nonce 12 || AES-256-GCM(direction key, aad = id 8 || kind,
 *         plaintext of a fixed size) || tag 16
 * query plaintext  (CYCLOSA_QUERY_PLAIN bytes)  = raw id 16 || str query || zeros
 * answer plaintext (CYCLOSA_ANSWER_PLAIN bytes) = raw id 16 || bytes hits || zeros */
#ifndef CLOISTER_CYCLOSA_MSG_H
#define CLOISTER_CYCLOSA_MSG_H

#include <cloister/error.h>
#include <cloister/export.h>
#include <cloister/search.h>

#include <stddef.h>
#include <stdint.h>

enum {
    CYCLOSA_ECALL_INIT = 1,
    CYCLOSA_ECALL_HELLO = 2,
    CYCLOSA_ECALL_ACCEPT = 3,
    CYCLOSA_ECALL_FINISH = 4,
    CYCLOSA_ECALL_QUERY = 5,
    CYCLOSA_ECALL_RELAY = 6,
    CYCLOSA_ECALL_ANSWER = 7,
    CYCLOSA_ECALL_OPEN = 8,
    CYCLOSA_ECALL_FORGET = 9,
    CYCLOSA_ECALL_ENGINE = 10, /* a step of the relay's TLS session with the engine */
};

#define CYCLOSA_HELLO_LABEL "CLOISTER-CYCLOSA-V01 hello"
#define CYCLOSA_KDF_LABEL "CLOISTER-CYCLOSA-V01 session"
#define CYCLOSA_ID_LEN 16
#define CYCLOSA_ENGINE_HITS 10 /* results a relay asks of the engine (CYCLOSA_HITS) */
#define CYCLOSA_KIND_QUERY 'q'
#define CYCLOSA_KIND_ANSWER 'a'
#define CYCLOSA_QUERY_PLAIN (CYCLOSA_ID_LEN + 2 + SEARCH_QUERY_MAX)
#define CYCLOSA_ANSWER_PLAIN ((size_t)16 << 10) /* ten hits of the engine fit easily */
#define CYCLOSA_FRAME_OVERHEAD (8 + 12 + 16)
#define CYCLOSA_FRAME (CYCLOSA_FRAME_OVERHEAD + CYCLOSA_QUERY_PLAIN)
#define CYCLOSA_ANSWER_FRAME (CYCLOSA_FRAME_OVERHEAD + CYCLOSA_ANSWER_PLAIN)
#define CYCLOSA_HELLO_MAX 16384 /* a hello or a reply: a key and evidence */
#define CYCLOSA_TABLE_MAX ((size_t)1 << 24)

/* The parts of a frame of plaintext size plain; refused unless exactly that size. */
struct cyclosa_frame {
    uint64_t sid;
    const uint8_t *nonce, *ct; /* ct: plain + 16 bytes */
};
int cyclosa_frame_parse(const uint8_t *buf, size_t len, size_t plain, struct cyclosa_frame *f,
                        struct cloister_err *err);

/* Query plaintext: writes exactly CYCLOSA_QUERY_PLAIN bytes (q at most SEARCH_QUERY_MAX). */
int cyclosa_query_encode(const uint8_t id[CYCLOSA_ID_LEN], const char *q,
                         uint8_t out[CYCLOSA_QUERY_PLAIN]);
/* Decodes it: q gets the query (NUL-terminated, at most SEARCH_QUERY_MAX bytes, no NUL inside);
 * the padding must be zeros. */
int cyclosa_query_decode(const uint8_t *p, size_t len, uint8_t id[CYCLOSA_ID_LEN],
                         char q[SEARCH_QUERY_MAX + 1], struct cloister_err *err);
/* Answer plaintext (CYCLOSA_ANSWER_PLAIN bytes): the hits that fit, in order. */
int cyclosa_answer_encode(const uint8_t id[CYCLOSA_ID_LEN], const uint8_t *hits, size_t hitslen,
                          uint8_t *out);
/* *hits points into p. */
int cyclosa_answer_decode(const uint8_t *p, size_t len, uint8_t id[CYCLOSA_ID_LEN],
                          const uint8_t **hits, size_t *hitslen, struct cloister_err *err);

#endif
