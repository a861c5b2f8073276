/* engine_tls.h -- the relay's HTTPS request to the engine, its TLS session inside the enclave. */
#ifndef CLOISTER_CYCLOSA_ENGINE_TLS_H
#define CLOISTER_CYCLOSA_ENGINE_TLS_H

#include <cloister/wire.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ETLS_REPLY_MAX ((size_t)1 << 20) /* the engine's response, headers and body */

struct etls_ctx;
struct etls;

/* A client context trusting only the CA certificates in pem (PEM, one or more), verifying the
 * engine at ip (IPv4) against its certificate's IP addresses. NULL on a bad CA (msg says why). */
struct etls_ctx *etls_ctx_new(const uint8_t *pem, size_t len, const char *ip, char *msg,
                              size_t cap);
void etls_ctx_free(struct etls_ctx *c);

/* A connection that will send GET path (HTTP/1.1, Connection: close); NULL when out of memory. */
struct etls *etls_new(struct etls_ctx *c, const char *path);
void etls_free(struct etls *t);

/* One step: in (the engine's bytes since the last step) fed to the session; appends to out
 * bytes (ciphertext to send to the engine), then u8 done and, once done, bytes (the response's
 * body, status 200 only). Returns 0 (more to come), 1 (done), or -1 with msg set (the connection
 * is then useless). */
int etls_step(struct etls *t, const uint8_t *in, size_t inlen, bool eof, struct wire_writer *out,
              char *msg, size_t cap);

#endif
