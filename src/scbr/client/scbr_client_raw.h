/* scbr_client_raw.h -- what tests and the demo need to play an attacker on the wire: the
 * exact bytes a client last sent, and sending arbitrary bytes as one client message (a replayed
 * or altered copy). Not part of the library's API: a real client has no reason to do either. */
#ifndef CLOISTER_SCBR_CLIENT_RAW_H
#define CLOISTER_SCBR_CLIENT_RAW_H

#include <cloister/scbr_client.h>

/* The last message this client sent, exactly as sent; CLOISTER_E_STATE before any. */
int scbr_client_last_sent(const scbr_client *c, const uint8_t **msg, size_t *len);
int scbr_client_send_raw(scbr_client *c, const void *msg, size_t len, struct cloister_err *err);

#endif
