/* cmd_orch.h -- what `cloister orch` shares with its demo step (cmd_orch_demo.c). */
#ifndef CLOISTER_CMD_ORCH_H
#define CLOISTER_CMD_ORCH_H

#include <cloister/orch.h>

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* Signs pod.enclave (heap bytes of heap) with a fresh signer into DIR/pod.sig; image and sig get
 * the paths. Returns CLI_OK or CLI_FAIL. */
int cli_orch_sign_pod(const char *dir, uint64_t heap, char *image, size_t icap, char *sig,
                      size_t scap);
/* `orch scheduler` (cmd_orch_sched.c). */
int cli_orch_scheduler(int argc, char **argv);

#endif
