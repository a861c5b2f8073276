/* cmd_enclave.h -- the verbs of `cloister enclave`, in two files: cmd_enclave.c holds the system,
 * its verb table and the verbs that run an enclave (tee-core); cmd_enclave_trust.c holds the
 * identity and verification verbs below (tee-trust). Each verb gets argv[0] = the verb and
 * returns the exit code (cli.h). The demo step (cmd_enclave_demo.c) provisions as the
 * `provision` verb does, with the function below. */
#ifndef CLOISTER_CLI_CMD_ENCLAVE_H
#define CLOISTER_CLI_CMD_ENCLAVE_H

#include <cloister/tee.h>
#include <cloister/tee_trust.h>

#include <stddef.h>
#include <stdint.h>

/* An ecall that has not answered in this time gets its enclave killed (tee.h). */
#define CMD_ENCLAVE_CALL_TIMEOUT_MS 30000

/* The provisioner's half: nonce, the enclave's offer, verification, package, acceptance. The
 * claims of the accepted evidence and the number of secrets the enclave now holds come back.
 * Returns CLI_OK, or CLI_FAIL after saying why. */
int cmd_enclave_provision_secrets(tee_enclave *e, tee_verifier *v, const struct tee_policy *policy,
                                  const struct tee_secret *secrets, size_t n,
                                  struct tee_claims *claims, uint64_t *held);

/* IMAGE as every verb takes it: a file, else the name of an installed image ("hello", found by
 * tee_image_path) when it has no '/' and no .enclave suffix. *image points at given or at path
 * (cap bytes). Returns CLI_OK, or CLI_FAIL when no installed image has that name. */
int cmd_enclave_image(const char *given, char *path, size_t cap, const char **image);

/* keygen --out KEY: a new Ed25519 signer key. */
int cmd_enclave_keygen(int argc, char **argv);
/* sign IMAGE --key KEY [--config FILE]: audit the image, print what is vouched for, sign. */
int cmd_enclave_sign(int argc, char **argv);
/* info IMAGE: identity (when signed) and audit. */
int cmd_enclave_info(int argc, char **argv);
/* verify EVIDENCE --ca CERT [policy]: check evidence, print its claims. */
int cmd_enclave_verify(int argc, char **argv);
/* platform: create (on first use) and show the simulated platform and its CA certificate. */
int cmd_enclave_platform(int argc, char **argv);

#endif
