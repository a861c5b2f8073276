/* test_orch_nats.c -- the cluster over NATS against a real nats-server on loopback: node agents
 * are the built `cloister orch node --nats` run as processes (so that one can be killed -9), pods
 * are sent with orch_submit_nats.
 *
 * test_cluster: the scheduler runs in this process (orch_sched). Standard pods of 600 MiB on
 * nodes of 1 GiB: one pod fits a node. Checked: pods are placed on distinct nodes, a pod waits
 * in the queue until a pod ends and frees its node, submissions signed with a wrong token, a
 * malformed body, a replayed submission (captured on the bus, sent again once its pod ended) and
 * a forged one (the captured mac over another spec) are refused, `orch ls --nats` lists the
 * pending and the running pods, the pods of a node killed -9 are placed on a node that still
 * reports, and after a partition (a node stopped past dead-after while its pod moved) the pod
 * that came back with its node is stopped there, so that it runs once.
 *
 * test_restart: the scheduler is the built `cloister orch scheduler`, killed -9 three times
 * while 30 pods of 100 MiB are submitted (some while it is down) and placed on two nodes with
 * room for 20; after the last restart every pod is either running on exactly one node or
 * pending, none twice, none lost, and the stored state agrees with the agents.
 *
 * Skips, saying why, when nats-server is not installed. */
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

#include <jansson.h>

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
    char out[160];
    snprintf(out, sizeof out, "%s/node-%d.txt", dir, i);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
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

static void submit_sized(const char *name, const char *token, double duration_s, uint64_t mem)
{
    struct orch_pod p = {.mem_request = mem, .mem_use = mem, .duration_s = duration_s};
    snprintf(p.name, sizeof p.name, "%s", name);
    struct cloister_err err;
    if (orch_submit_nats(bus_server_url(srv), token, &p, &err) != CLOISTER_OK)
        fail_msg("%s", err.msg);
}

static void submit(const char *name, const char *token, double duration_s)
{
    submit_sized(name, token, duration_s, 600u << 20);
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

/* `orch ls --nats` (*ls, to free): how many nodes list pod running, *node the last of them. */
static size_t ls_running(json_t **ls, const char *pod, char *node, size_t cap)
{
    char *text = NULL;
    struct cloister_err err;
    if (orch_ls_nats(bus_server_url(srv), 1100, &text, &err) != CLOISTER_OK) /* reports: 1 s */
        fail_msg("%s", err.msg);
    *ls = json_loads(text, 0, NULL);
    free(text);
    size_t i, k, seen = 0;
    json_t *n, *p;
    json_array_foreach(json_object_get(*ls, "nodes"), i, n)
    {
        json_array_foreach(json_object_get(n, "pods"), k, p)
        {
            if (strcmp(json_string_value(json_object_get(p, "name")), pod) == 0 &&
                strcmp(json_string_value(json_object_get(p, "state")), "running") == 0) {
                seen++;
                snprintf(node, cap, "%s", json_string_value(json_object_get(n, "node")));
            }
        }
    }
    return seen;
}

/* `orch ls --nats`: "waiter" pending (the scheduler's stored queue), "long" running on its node
 * (the node's report), once. A loaded machine may miss a report in one listing's window: a
 * few listings are allowed. */
static void ls_check(const char *long_node)
{
    json_t *ls;
    char node[16] = "";
    size_t seen = ls_running(&ls, "long", node, sizeof node);
    for (int t = 0; t < 10 && seen != 1; t++) {
        json_decref(ls);
        seen = ls_running(&ls, "long", node, sizeof node);
    }
    assert_int_equal(seen, 1);
    assert_string_equal(node, long_node);
    json_t *pending = json_object_get(ls, "pending");
    assert_int_equal(json_array_size(pending), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(pending, 0), "name")),
                        "waiter");
    json_decref(ls);
}

/* A partition: the node of "long" stops (SIGSTOP) past dead-after, "long" moves to a fresh
 * node; the stopped node comes back still running it, and the scheduler stops it there. */
static void partition(orch_sched *s, int held, int fresh)
{
    char node[16] = "", name[16];
    snprintf(name, sizeof name, "n-%d", fresh + 1);
    kill(nodes[held], SIGSTOP);
    node_start(fresh);
    for (int t = 0; t < 300; t++) {
        if (orch_sched_where(s, "long", node, sizeof node) == 1 && strcmp(node, name) == 0)
            break;
        sleep_ms(50);
    }
    assert_string_equal(node, name);
    kill(nodes[held], SIGCONT);
    char path[160], ep[32] = "", *reply = NULL;
    uint8_t *out = NULL;
    size_t len = 0;
    snprintf(path, sizeof path, "%s/node-%d.txt", dir, held);
    assert_int_equal(file_read_all(path, 4096, &out, &len), 0);
    char *text = strndup((const char *)out, len), *at = strstr(text, "listening on ");
    assert_non_null(at);
    assert_int_equal(sscanf(at + 13, "%31[0-9.:]", ep), 1);
    free(text);
    free(out);
    bool stopped = false;
    for (int t = 0; t < 200 && !stopped; t++, sleep_ms(50)) {
        unsigned status = 0;
        struct cloister_err err;
        assert_int_equal(orch_request(ep, "GET", "/pods", NULL, NULL, &status, &reply, &err), 0);
        stopped = strstr(reply, "\"name\":\"long\",\"state\":\"stopped\"") != NULL;
        free(reply);
    }
    assert_true(stopped);
    snprintf(name, sizeof name, "n-%d", fresh + 1);
    assert_int_equal(orch_sched_where(s, "long", node, sizeof node), 1);
    assert_string_equal(node, name);
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

    /* Placed: one pod per node. The submission of "short" is captured on the bus. */
    char short_node[16], long_node[16], waiter_node[16], node[16];
    struct bus *b = bus_connect(bus_server_url(srv), NULL, &err);
    assert_non_null(b);
    struct bus_sub *spy = bus_subscribe(b, "orch.submit", &err);
    assert_non_null(spy);
    submit("short", TOKEN, 3);
    uint8_t *captured = NULL;
    size_t captured_len = 0;
    assert_int_equal(bus_sub_next(spy, 5000, NULL, 0, &captured, &captured_len, &err), 0);
    assert_non_null(captured);
    bus_sub_close(spy);
    submit("long", TOKEN, 60);
    assert_int_equal(wait_where(s, "short", 1, short_node), 1);
    assert_int_equal(wait_where(s, "long", 1, long_node), 1);
    assert_string_not_equal(short_node, long_node);

    /* Pending until "short" ends and its node reports the memory free. */
    submit("waiter", TOKEN, 60);
    assert_int_equal(wait_where(s, "waiter", 0, node), 0);
    sleep_ms(100); /* its queue stored */
    ls_check(long_node);
    assert_int_equal(orch_sched_where(s, "short", node, sizeof node), 1);
    assert_int_equal(wait_where(s, "waiter", 1, waiter_node), 1);
    assert_string_equal(waiter_node, short_node);

    /* A wrong token, a malformed spec, garbage, the token in clear, "short" replayed once it
     * ended, a forged spec under its mac: never queued, and the scheduler goes on. */
    submit("intruder", "not-the-token-0123456789abcdef", 5);
    assert_int_equal(orch_sched_where(s, "short", node, sizeof node), CLOISTER_E_NOT_FOUND);
    char *forged = strndup((const char *)captured, captured_len), *at = strstr(forged, "short");
    assert_non_null(at);
    memcpy(at, "forge", 5);
    const char *bad[] = {
        "{\"spec\": \"{\\\"name\\\": \\\"bad\\\"}\", \"ts\": 1, \"nonce\": \"00\"}",
        "{\"token\": \"" TOKEN "\", \"pod\": {\"name\": \"clear\"}}", "\x01not json",
        (const char *)forged};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_equal(bus_post(b, "orch.submit", bad[i], strlen(bad[i]), &err), CLOISTER_OK);
    assert_int_equal(bus_post(b, "orch.submit", captured, captured_len, &err), CLOISTER_OK);
    assert_int_equal(bus_flush(b, 5000, &err), CLOISTER_OK);
    bus_close(b);
    free(forged);
    free(captured);
    sleep_ms(1000);
    const char *refused[] = {"intruder", "bad", "clear", "forge", "short"};
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++)
        assert_int_equal(orch_sched_where(s, refused[i], node, sizeof node), CLOISTER_E_NOT_FOUND);

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
    partition(s, 1 - victim, victim);
    orch_sched_stop(s);
    for (int i = 0; i < NODES; i++)
        node_kill(i, SIGTERM);
}

static pid_t sched_spawn(void)
{
    char log[160];
    snprintf(log, sizeof log, "%s/sched.log", dir);
    char *argv[] = {
        CLOISTER_BIN,   "orch",     "scheduler",    "--nats", (char *)bus_server_url(srv),
        "--token-file", token_file, "--dead-after", "4",      NULL};
    char *envp[] = {"CLOISTER_LOG=info", NULL};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, log, O_WRONLY | O_CREAT | O_APPEND, 0600);
    pid_t pid;
    assert_int_equal(posix_spawn(&pid, CLOISTER_BIN, &fa, NULL, argv, envp), 0);
    posix_spawn_file_actions_destroy(&fa);
    return pid;
}

static void sched_kill(pid_t pid, long after_ms)
{
    sleep_ms(after_ms);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

#define RESTART_PODS 30

static const char *str(const json_t *j)
{
    return json_is_string(j) ? json_string_value(j) : "";
}

/* Counts, per pod r-NN, how often it runs on an agent (*running in all) and how often the
 * stored state lists it (pending or placed). */
static void census(struct bus_kv *kv, int runs[RESTART_PODS], int listed[RESTART_PODS],
                   int *running)
{
    memset(runs, 0, RESTART_PODS * sizeof *runs);
    memset(listed, 0, RESTART_PODS * sizeof *listed);
    *running = 0;
    uint8_t *data = NULL;
    size_t len = 0;
    struct cloister_err err;
    json_t *st = bus_kv_get(kv, "state", &data, &len, NULL, &err) == CLOISTER_OK
                     ? json_loadb((const char *)data, len, 0, NULL)
                     : NULL;
    free(data);
    const char *lists[] = {"queue", "placed"};
    for (size_t l = 0; l < 2; l++)
        for (size_t i = 0; i < json_array_size(json_object_get(st, lists[l])); i++) {
            json_t *e = json_array_get(json_object_get(st, lists[l]), i);
            json_t *spec = json_loads(str(l ? json_object_get(e, "spec") : e), 0, NULL);
            int k = -1;
            if (sscanf(str(json_object_get(spec, "name")), "r-%d", &k) == 1 && k >= 0 &&
                k < RESTART_PODS)
                listed[k]++;
            json_decref(spec);
        }
    json_decref(st);
    for (int n = 0; n < 2; n++) {
        char path[160], agent[64], *reply = NULL;
        unsigned status = 0;
        snprintf(path, sizeof path, "%s/node-%d.txt", dir, n);
        FILE *f = fopen(path, "r");
        if (!f || fscanf(f, "node %*s listening on %63s", agent) != 1 ||
            orch_request(agent, "GET", "/pods", NULL, NULL, &status, &reply, &err) != CLOISTER_OK) {
            if (f)
                fclose(f);
            continue;
        }
        fclose(f);
        json_t *o = json_loads(reply, 0, NULL), *pods = json_object_get(o, "pods");
        for (size_t i = 0; i < json_array_size(pods); i++) {
            json_t *p = json_array_get(pods, i);
            int k = -1;
            if (strcmp(str(json_object_get(p, "state")), "running") == 0 &&
                sscanf(str(json_object_get(p, "name")), "r-%d", &k) == 1 && k >= 0 &&
                k < RESTART_PODS) {
                runs[k]++;
                (*running)++;
            }
        }
        json_decref(o);
        free(reply);
    }
}

static int unlisted(const int listed[RESTART_PODS])
{
    int n = 0;
    for (int i = 0; i < RESTART_PODS; i++)
        n += listed[i] == 0;
    return n;
}

static void test_restart(void **state)
{
    (void)state;
    if (!srv)
        skip();
    struct cloister_err err;
    struct bus *b = bus_connect(bus_server_url(srv), NULL, &err);
    assert_non_null(b);
    bus_stream_delete(b, "ORCH_SUBMIT", &err);
    bus_stream_delete(b, "KV_ORCH_SCHED", &err);
    for (int i = 0; i < 2; i++)
        node_start(i);
    pid_t sched = sched_spawn();
    char name[16];
    for (int i = 0; i < RESTART_PODS; i++) {
        snprintf(name, sizeof name, "r-%02d", i);
        submit_sized(name, TOKEN, 60, 100u << 20);
        if (i == 9) /* killed while it places the first ten, down for the next ten */
            sched_kill(sched, 300);
        if (i == 19) { /* restarted, killed again once it found the nodes */
            sched = sched_spawn();
            sched_kill(sched, 1500);
            sched = sched_spawn();
        }
    }
    sched_kill(sched, 200);
    sched = sched_spawn();

    struct bus_kv *kv = bus_kv_open(b, "ORCH_SCHED", 64 << 20, 4 << 20, &err);
    assert_non_null(kv);
    int runs[RESTART_PODS] = {0}, listed[RESTART_PODS] = {0}, running = 0;
    /* The last scheduler may still be reading submissions when 20 pods run: wait for every one. */
    for (int t = 0; t < 300 && (running < 20 || unlisted(listed) > 0); t++) {
        sleep_ms(50);
        census(kv, runs, listed, &running);
    }
    sleep_ms(1500); /* nothing more may be placed: the nodes are full */
    census(kv, runs, listed, &running);
    assert_int_equal(running, 20);
    for (int i = 0; i < RESTART_PODS; i++) {
        assert_true(runs[i] <= 1);
        assert_int_equal(listed[i], 1);
    }
    kill(sched, SIGTERM);
    waitpid(sched, NULL, 0);
    bus_kv_close(kv);
    bus_close(b);
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
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_cluster),
                                       cmocka_unit_test(test_restart)};
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
