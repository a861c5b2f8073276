/* fixture.h -- what the enclave runtime's tests share: signing the test image with a fresh key
 * and options for either backend. */
#ifndef CLOISTER_TEST_TEE_FIXTURE_H
#define CLOISTER_TEST_TEE_FIXTURE_H

#include <cloister/tee.h>
#include <cloister/tee_trust.h>

#include <limits.h>

struct fixture {
    char image[PATH_MAX];
    char sig[PATH_MAX];
    char home[PATH_MAX];
    char store[PATH_MAX]; /* emptied by fixture_sign: every run starts without sealed blobs */
    struct tee_identity id;
};

/* Signs <build>/enclaves/<name>.enclave with a fresh signer into $CLOISTER_HOME/<tag>.sig
 * (config: the defaults with the given product id and svn). Aborts the test on failure. */
void fixture_sign(struct fixture *f, const char *name, const char *tag, uint16_t product_id,
                  uint16_t svn);
/* The same image signed again by the same signer as other (another config, so another
 * MRENCLAVE but the same MRSIGNER). */
void fixture_resign(struct fixture *f, const struct fixture *other, const char *tag, uint16_t svn);
/* Options for the fixture's image, the test enclave's code for sim, a store of its own. */
void fixture_options(const struct fixture *f, struct tee_options *o, enum tee_backend b);
/* tee_create that fails the test with its error message when it fails. */
tee_enclave *fixture_create(const struct tee_options *o);

#endif
