/* test_orch_nats.c -- the cluster over NATS against a real nats-server on loopback: node agents
 * are the built `cloister orch node --nats` run as processes (so that one can be killed -9), the
 * scheduler runs in this process (orch_sched), pods are sent with orch_submit_nats. Standard pods
 * of 600 MiB on nodes of 1 GiB: one pod fits a node. Checked: pods are placed on distinct nodes,
 * a pod waits in the queue until a pod ends and frees its node, submissions with a wrong token
 * or a malformed body are ignored, and the pods of a node killed -9 are placed on a node that
 * still reports. Skips, saying why, when nats-server is not installed. */
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <cloister/orch_serve.h>

#include "bus/bus.h"
#include "util/fileio.h"

#define TOKEN "0123456789abcdef0123456789abcdef"
#define CLOISTER_BIN CLOISTER_BINARY_DIR "/src/cli/cloister"
#define NODES 3

extern char **environ;

static char dir[] = "/tmp/cloister-test-orch-nats-XXXXXX";
static char token_file[128];
static struct bus_server *srv;
static pid_t nodes[NODES];

static void sleep_ms(long ms)
{
    nanosleep(&(struct timespec){ms / 1000, (ms % 1000) * 1000000L}, NULL);
}

/* Starts node n-(i+1) with 1 GiB for pods, reporting on the bus. */
static void node_start(int i)
{
    char name[16];
    snprintf(name, sizeof name, "n-%d", i + 1);
    char *argv[] = {CLOISTER_BIN,
                    "orch",
                    "node",
                    "--name",
                    name,
                    "--mem",
                    "1",
                    "--nats",
                    (char *)bus_server_url(srv),
                    "--token-file",
                    token_file,
                    NULL};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    assert_int_equal(posix_spawn(&nodes[i], CLOISTER_BIN, &fa, NULL, argv, environ), 0);
    posix_spawn_file_actions_destroy(&fa);
}

static void node_kill(int i, int sig)
{
    if (nodes[i] <= 0)
        return;
    kill(nodes[i], sig);
    waitpid(nodes[i], NULL, 0);
    nodes[i] = 0;
}

static void submit(const char *name, const char *token, double duration_s)
{
    struct orch_pod p = {.mem_request = 600u << 20,
                         .mem_use = 600u << 20,
                         .duration_s = duration_s};
    snprintf(p.name, sizeof p.name, "%s", name);
    struct cloister_err err;
    if (orch_submit_nats(bus_server_url(srv), token, &p, &err) != CLOISTER_OK)
        fail_msg("%s", err.msg);
}

/* Waits up to 15 s for where(pod) to be want; returns it, node filled when placed. */
static int wait_where(orch_sched *s, const char *pod, int want, char *node)
{
    int rc = CLOISTER_E_NOT_FOUND;
    for (int t = 0; t < 300 && (rc = orch_sched_where(s, pod, node, 16)) != want; t++)
        sleep_ms(50);
    return rc;
}

static void wait_nodes(orch_sched *s, size_t want)
{
    for (int t = 0; t < 300 && orch_sched_nodes(s) != want; t++)
        sleep_ms(50);
    assert_int_equal(orch_sched_nodes(s), want);
}

static void test_cluster(void **state)
{
    (void)state;
    if (!srv)
        skip();
    struct orch_sched_options o = {.nats = bus_server_url(srv),
                                   .token = TOKEN,
                                   .policy = ORCH_BINPACK,
                                   .dead_ms = 4000};
    orch_sched *s;
    struct cloister_err err;
    if (orch_sched_start(&o, &s, &err) != CLOISTER_OK)
        fail_msg("%s", err.msg);
    node_start(0);
    node_start(1);
    wait_nodes(s, 2);

    /* Placed: one pod per node. */
    char short_node[16], long_node[16], waiter_node[16], node[16];
    submit("short", TOKEN, 3);
    submit("long", TOKEN, 60);
    assert_int_equal(wait_where(s, "short", 1, short_node), 1);
    assert_int_equal(wait_where(s, "long", 1, long_node), 1);
    assert_string_not_equal(short_node, long_node);

    /* Pending until "short" ends and its node reports the memory free. */
    submit("waiter", TOKEN, 60);
    assert_int_equal(wait_where(s, "waiter", 0, node), 0);
    assert_int_equal(orch_sched_where(s, "short", node, sizeof node), 1);
    assert_int_equal(wait_where(s, "waiter", 1, waiter_node), 1);
    assert_string_equal(waiter_node, short_node);

    /* A wrong token, a malformed spec, garbage: never queued, and the scheduler goes on. */
    submit("intruder", "not-the-token-0123456789abcdef", 5);
    struct bus *b = bus_connect(bus_server_url(srv), NULL, &err);
    assert_non_null(b);
    const char *bad[] = {"{\"token\": \"" TOKEN "\", \"pod\": {\"name\": \"bad\", \"epc\": -1}}",
                         "{\"token\": \"" TOKEN "\"}", "\x01not json"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_equal(bus_post(b, "orch.submit", bad[i], strlen(bad[i]), &err), CLOISTER_OK);
    assert_int_equal(bus_flush(b, 5000, &err), CLOISTER_OK);
    bus_close(b);
    sleep_ms(1000);
    assert_int_equal(orch_sched_where(s, "intruder", node, sizeof node), CLOISTER_E_NOT_FOUND);
    assert_int_equal(orch_sched_where(s, "bad", node, sizeof node), CLOISTER_E_NOT_FOUND);

    /* A third node joins; the node of "waiter" is killed -9: "waiter" moves to it. */
    node_start(2);
    wait_nodes(s, 3);
    int victim = strcmp(waiter_node, "n-1") == 0 ? 0 : 1;
    node_kill(victim, SIGKILL);
    for (int t = 0; t < 300; t++) {
        if (orch_sched_where(s, "waiter", node, sizeof node) == 1 && strcmp(node, "n-3") == 0)
            break;
        sleep_ms(50);
    }
    assert_string_equal(node, "n-3");
    assert_int_equal(orch_sched_where(s, "long", node, sizeof node), 1);
    assert_string_equal(node, long_node);
    assert_int_equal(orch_sched_nodes(s), 2);
    orch_sched_stop(s);
}

static int group_setup(void **state)
{
    (void)state;
    struct cloister_err err;
    if (!mkdtemp(dir))
        return -1;
    snprintf(token_file, sizeof token_file, "%s/token", dir);
    if (file_write_atomic(token_file, TOKEN "\n", strlen(TOKEN) + 1, 0600) != 0)
        return -1;
    srv = bus_server_start(dir, &err);
    if (!srv)
        fprintf(stderr, "test_orch_nats: %s%s\n", err.msg,
                err.code == CLOISTER_E_NOT_FOUND ? ": skipped" : "");
    return srv || err.code == CLOISTER_E_NOT_FOUND ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    for (int i = 0; i < NODES; i++)
        node_kill(i, SIGTERM);
    bus_server_stop(srv);
    file_remove_tree(dir);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_cluster)};
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
