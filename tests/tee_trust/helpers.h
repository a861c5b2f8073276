/* helpers.h -- what the tee_trust tests share: files, a private platform home per test, and
 * enclave identities made from fake image bytes. Every helper fails the test on error. */
#ifndef CLOISTER_TESTS_TEE_TRUST_HELPERS_H
#define CLOISTER_TESTS_TEE_TRUST_HELPERS_H

#include <cloister/tee_trust.h>
#include <cloister/tee_verify.h>

#include <stddef.h>
#include <stdint.h>

/* A fresh empty directory under the test's CLOISTER_HOME (name may contain no '/'). */
void th_dir(char *out, size_t cap, const char *name);
uint8_t *th_read(const char *path, size_t *len);
void th_write(const char *path, const void *data, size_t len);
/* A platform in <CLOISTER_HOME>/<name>, created on first use. */
tee_platform *th_platform(const char *name);
/* The identity of `image` signed with signer seed `seed_byte` repeated, under config c. */
void th_identity(struct tee_identity *id, const char *image, const struct tee_config *c,
                 uint8_t seed_byte);
/* Asserts a refusal: rc is a CLOISTER_E_* code, the one err holds, with a message. */
void th_refused(int rc, const struct cloister_err *err);
/* tee_self for that identity on platform p. */
tee_self *th_self(tee_platform *p, const char *image, uint16_t product_id, uint16_t svn,
                  uint8_t seed_byte);
/* A policy that pins s's MRENCLAVE and accepts simulated evidence. */
struct tee_policy th_policy_pinned(const tee_self *s);

#endif
