/* cmd_enclave.h -- the verbs of `cloister enclave`, in two files: cmd_enclave.c holds the system,
 * its verb table and the verbs that run an enclave (tee-core); cmd_enclave_trust.c holds the
 * identity and verification verbs below (tee-trust). Each verb gets argv[0] = the verb and
 * returns the exit code (cli.h). */
#ifndef CLOISTER_CLI_CMD_ENCLAVE_H
#define CLOISTER_CLI_CMD_ENCLAVE_H

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
