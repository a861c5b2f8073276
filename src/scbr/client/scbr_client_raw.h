/* scbr_client_raw.h -- what tests and the demo need to play an attacker on the wire: the
 * exact bytes a client last sent, and sending arbitrary bytes as one client message (a replayed
 * or altered copy); and the decoder of the router's key answer, for its fuzz target. Not part of
 * the library's API: a real client has no reason to do either. */
#ifndef CLOISTER_SCBR_CLIENT_RAW_H
#define CLOISTER_SCBR_CLIENT_RAW_H

#include <cloister/scbr_client.h>

/* The last message this client sent, exactly as sent; CLOISTER_E_STATE before any. */
int scbr_client_last_sent(const scbr_client *c, const uint8_t **msg, size_t *len);
int scbr_client_send_raw(scbr_client *c, const void *msg, size_t len, struct cloister_err *err);
/* Decodes the router's KEY answer (body) to the question asked with nonce, and opens its sealed
 * part with sk (scbr_client_router_key). 0, or CLOISTER_E_PROTOCOL when it does not decode. */
int scbr_client_key_answer(struct scbr_client_key_info *info, const uint8_t *body, size_t len,
                           const uint8_t sk[SCBR_SK_LEN], const uint8_t *nonce, size_t nonce_len,
                           struct cloister_err *err);

#endif
