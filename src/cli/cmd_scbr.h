/* cmd_scbr.h -- what the two files of `cloister scbr` share: cmd_scbr.c holds the system, its
 * verbs and the verb table; cmd_scbr_demo.c holds its step of `cloister demo` (cli.h), which runs
 * the same flow as the verbs in one process. */
#ifndef CLOISTER_CLI_CMD_SCBR_H
#define CLOISTER_CLI_CMD_SCBR_H

/* How long a client waits for the router's answer: provisioning and subscribing take an ecall
 * each, which a loaded router may queue behind a full batch. */
#define CLI_SCBR_ANSWER_MS 10000

/* `cloister scbr shard-demo` (cmd_scbr_shard_demo.c): one router paging beside four shards. */
int cli_scbr_shard_demo(int argc, char **argv);
/* The shard step of `cloister demo`: the same, smaller, then the front resharded to five. */
int cli_scbr_shard_step(void);

#endif
