/* prov_bus_codec.h -- the provisioning bus's three messages on the wire (internal to
 * provision/; prov_bus.h gives their layout and who sends each). One encoder and one decoder
 * per message, shared by prov_bus.c and the fuzz targets (fuzz/provision/). A decoded message
 * points into the buffer it was decoded from (offer, package, extra, info): it lives as long as
 * that buffer. A decoder checks everything that needs no session state (bounds, version, names,
 * the token's form, the answer's status); the client checks the seat number against its own. */
#ifndef CLOISTER_PROV_BUS_CODEC_H
#define CLOISTER_PROV_BUS_CODEC_H

#include "provision/prov_bus.h"

#include <cloister/wire.h>

#define PROV_MSG_VERSION 1
#define PROV_ANSWER_PACKAGE 1
#define PROV_ANSWER_REFUSED 2
#define PROV_TOKEN_BYTES 12
#define PROV_TOKEN_HEX (2 * PROV_TOKEN_BYTES) /* lower-case hex */
#define PROV_INFO_MAX ((size_t)64 << 10)

/* In the pool: a seat the client offers. */
struct prov_bus_msg_seat {
    char session[PROV_BUS_NAME_MAX + 1];
    uint32_t seat;
    uint8_t nonce[TEE_PROV_NONCE_LEN];
    const uint8_t *info;
    size_t info_len; /* at most PROV_INFO_MAX */
};

/* To the client: a worker enclave's offer for a seat, answered on the token's subject. */
struct prov_bus_msg_offer {
    uint32_t seat;
    char token[PROV_TOKEN_HEX + 1];
    char label[PROV_BUS_NAME_MAX + 1];
    const uint8_t *offer;
    size_t offer_len;
};

/* To the worker: the package (and the session's extra bytes), or a refusal and why. */
struct prov_bus_msg_answer {
    uint8_t status; /* PROV_ANSWER_PACKAGE or PROV_ANSWER_REFUSED */
    const uint8_t *package;
    size_t package_len;
    const uint8_t *extra;
    size_t extra_len;
    char message[CLOISTER_ERR_MAX];
};

/* 1..PROV_BUS_NAME_MAX of A-Z a-z 0-9 _ - (pool, session and label names). */
bool prov_bus_name_ok(const char *s);

/* Encoders append to w; each returns 0, or -1 when w could not grow. */
int prov_bus_msg_seat_encode(const struct prov_bus_msg_seat *m, struct wire_writer *w);
int prov_bus_msg_offer_encode(const struct prov_bus_msg_offer *m, struct wire_writer *w);
int prov_bus_msg_answer_encode(const struct prov_bus_msg_answer *m, struct wire_writer *w);

/* Decoders: 0, or -1 for a malformed message (m is then undefined). */
int prov_bus_msg_seat_decode(struct prov_bus_msg_seat *m, const uint8_t *buf, size_t len);
int prov_bus_msg_offer_decode(struct prov_bus_msg_offer *m, const uint8_t *buf, size_t len);
int prov_bus_msg_answer_decode(struct prov_bus_msg_answer *m, const uint8_t *buf, size_t len);

#endif
