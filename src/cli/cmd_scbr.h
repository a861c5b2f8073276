/* cmd_scbr.h -- `cloister scbr` in two files: cmd_scbr.c holds the system, its verbs and the
 * verb table; cmd_scbr_demo.c holds its step of `cloister demo`, which runs the same flow as the
 * verbs in one process. */
#ifndef CLOISTER_CLI_CMD_SCBR_H
#define CLOISTER_CLI_CMD_SCBR_H

/* How long a client waits for the router's answer: provisioning and subscribing take an ecall
 * each, which a loaded router may queue behind a full batch. */
#define CLI_SCBR_ANSWER_MS 10000

/* The demo step: offline matching by the three engines, then a router on loopback with a
 * provider, three subscribers, a publisher and an attacker; 0 on success. */
int cli_scbr_demo(void);

#endif
