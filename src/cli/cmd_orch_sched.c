/* cmd_orch_sched.c -- `cloister orch scheduler`: the scheduler service over NATS
 * (docs/orchestration.md, the cluster over NATS). The work is orch_sched (orch_nats.c); this is
 * its options and the wait for SIGINT or SIGTERM. */
#include <cloister/crypto.h>
#include <cloister/orch_serve.h>

#include <stdio.h>

#include "cli/cli.h"
#include "cli/cli_util.h"
#include "cli/cmd_orch.h"

static const char *const SCHED_POLICIES[] = {"binpack", "spread", "random", NULL};

int cli_orch_scheduler(int argc, char **argv)
{
    const char *nats = NULL, *token_file = NULL;
    struct opt_choice policy = {SCHED_POLICIES, 0};
    long long queue = 1024, dead_s = 5;
    const struct opt_def opts[] = {
        {"nats", OPT_STRING, &nats, "URL", "the NATS server of the cluster", OPT_REQUIRED, 0, 0},
        {"token-file", OPT_STRING, &token_file, "FILE",
         "the cluster's token, which signs submissions and placements (created when missing)",
         OPT_REQUIRED, 0, 0},
        {"policy", OPT_CHOICE, &policy, "POLICY", "binpack (default), spread or random", 0, 0, 0},
        {"queue", OPT_INT, &queue, "PODS", "pending pods at most (default 1024; 1 MiB)", 0, 1,
         65536},
        {"dead-after", OPT_INT, &dead_s, "SECONDS",
         "a node silent this long is dropped and its pods rescheduled (default 5)", 0, 2, 3600},
        {0}};
    const struct opt_cmd cmd = {
        "orch scheduler",
        "",
        "Place pods submitted over NATS on the node agents that report there.",
        opts,
        0,
        0,
        "Node agents started with --nats report their capacity and measured use every second;\n"
        "`orch submit --nats` sends pods here. Pending pods wait in a bounded queue and are\n"
        "placed by the paper's rule and the policy as soon as one fits; the pods of a node\n"
        "that stops reporting go back to the head of the queue. Submissions come from the\n"
        "JetStream stream ORCH_SUBMIT (signed, replays refused); the queue and placements are\n"
        "kept in the bucket ORCH_SCHED, so a scheduler killed -9 restarts where it was.\n"
        "Decisions go to stderr.",
        "cloister orch scheduler --nats nats://127.0.0.1:4222 --token-file token --policy "
        "spread\n"};
    int nargs, rc = opt_parse(&cmd, argc, argv, &nargs);
    if (rc != OPT_OK)
        return opt_exit_code(rc);
    if (cli_hold_secrets() != CLI_OK)
        return CLI_FAIL;
    char token[256];
    if ((rc = cli_load_token(token_file, 16, token, sizeof token)) != CLI_OK)
        return rc;
    cli_stop_signals_block();
    struct orch_sched_options o = {.nats = nats,
                                   .token = token,
                                   .policy = (enum orch_policy)policy.index,
                                   .queue_pods = (size_t)queue,
                                   .dead_ms = dead_s * 1000,
                                   .seed = (uint64_t)cli_now_s()};
    orch_sched *s;
    struct cloister_err err;
    rc = orch_sched_start(&o, &s, &err);
    crypto_wipe(token, sizeof token);
    if (rc != CLOISTER_OK)
        return cli_fail("scheduler: %s", err.msg);
    printf("scheduler on %s (%s)\n", nats, SCHED_POLICIES[policy.index]);
    fflush(stdout);
    cli_stop_signals_wait("scheduler");
    orch_sched_stop(s);
    return CLI_OK;
}
