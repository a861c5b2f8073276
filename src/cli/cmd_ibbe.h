/* cmd_ibbe.h -- what the `cloister ibbe` verbs (cmd_ibbe.c) share with the IBBE step of the demo
 * tour (cmd_ibbe_demo.c). Internal to the CLI. */
#ifndef CLOISTER_CLI_CMD_IBBE_H
#define CLOISTER_CLI_CMD_IBBE_H

#include <cloister/ibbe_admin.h>

/* Opens the admin of a store with the ibbe enclave (tee: "proc", "sim" or NULL); prints why
 * it failed and returns CLI_FAIL, or CLI_OK. */
int cli_ibbe_open_admin(const char *store, const char *tee, ibbe_admin **a);
/* The `cloister demo` step of IBBE-SGX. */
int cli_ibbe_demo(void);

#endif
