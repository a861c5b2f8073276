/* cmd_asky.h -- what the `cloister asky` verbs (cmd_asky.c) share with the A-Sky step of the demo
 * tour (cmd_asky_demo.c). Internal to the CLI. */
#ifndef CLOISTER_CLI_CMD_ASKY_H
#define CLOISTER_CLI_CMD_ASKY_H

#include <cloister/asky_host.h>

#include <stdbool.h>

/* Opens the access service of a store (tee: "proc", "sim" or NULL); prints why it failed and
 * returns CLI_FAIL, or CLI_OK. */
int cli_asky_open(const char *store, const char *tee, const char *db, asky_service **s);
/* Reads a user key file (cloister-asky-user1... text); CLI_OK or CLI_FAIL naming the file. */
int cli_asky_read_key(const char *path, uint8_t key[ASKY_KEY_LEN]);
/* What `put --server` trusts (options of TRUST_OPTS). */
struct cli_asky_trust {
    const char *ca, *mrenclave, *mrsigner;
    bool allow_simulated;
};
#define TRUST_OPTS(t)                                                                               \
    {"mrenclave",                                                                                   \
     OPT_STRING,                                                                                    \
     &(t).mrenclave,                                                                                \
     "H",                                                                                           \
     "--server: the MRENCLAVE the service's enclave must have (or --mrsigner)",                     \
     0,                                                                                             \
     0,                                                                                             \
     0},                                                                                            \
        {"mrsigner", OPT_STRING, &(t).mrsigner, "H", "--server: the signer it must have", 0, 0, 0}, \
        {"ca", OPT_STRING, &(t).ca, "CERT", "--server: trusted platform CA (default: this one's)",  \
         0,    0,          0},                                                                      \
    {                                                                                               \
        "allow-simulated", OPT_FLAG, &(t).allow_simulated, NULL,                                    \
            "--server: accept a simulated platform's evidence", 0, 0, 0                             \
    }
/* put --server (in NULL: rekey of name) and group --server (cmd_asky_serve.c): CLI_OK, or
 * CLI_FAIL after saying why. */
int cli_asky_remote_put(const char *server, const struct cli_asky_trust *t, const char *group,
                        const char *user, const uint8_t key[ASKY_KEY_LEN], const char *in,
                        const char *name, enum asky_kind kind, unsigned pad);
int cli_asky_remote_group(const char *server, const char *token_file, const char *op,
                          const char *group, const char *user);
int cli_asky_remote_user_add(const char *server, const char *token_file,
                             const struct cli_asky_trust *t, const char *user,
                             uint8_t key[ASKY_KEY_LEN]);
/* `cloister asky serve`. */
int cli_asky_serve(int argc, char **argv);
/* The `cloister demo` step of A-Sky. */
int cli_asky_demo(void);

#endif
