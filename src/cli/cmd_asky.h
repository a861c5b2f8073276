/* cmd_asky.h -- what the `cloister asky` verbs (cmd_asky.c) share with the A-Sky step of the demo
 * tour (cmd_asky_demo.c). Internal to the CLI. */
#ifndef CLOISTER_CLI_CMD_ASKY_H
#define CLOISTER_CLI_CMD_ASKY_H

#include <cloister/asky_host.h>

/* Opens the access service of a store (tee: "proc", "sim" or NULL); prints why it failed and
 * returns CLI_FAIL, or CLI_OK. */
int cli_asky_open(const char *store, const char *tee, asky_service **s);
/* Reads a user key file (cloister-asky-user1... text); CLI_OK or CLI_FAIL naming the file. */
int cli_asky_read_key(const char *path, uint8_t key[ASKY_KEY_LEN]);
/* The `cloister demo` step of A-Sky. */
int cli_asky_demo(void);

#endif
