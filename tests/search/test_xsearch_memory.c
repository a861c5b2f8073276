/* test_xsearch_memory.c -- the proxy's host keeps no query: a proxy (its host in a child process
 * of this test, its enclave in a grandchild, proc backend) serves searches for a canary query
 * and others; then every readable mapping of the host process (/proc/PID/mem: what a core dump
 * holds) is scanned for the canary, which must not be found. The host necessarily handles the
 * OR-ed query it sends to the engine (the engine sees it anyway): what this checks is that no
 * copy outlives the request, in its heap, the buffers of the libraries it uses or the rings it
 * shares with the enclave. The child is forked before any thread starts, so it inherits none of
 * the client's memory. Skipped, with a message, where /proc/PID/mem cannot be read. */
#include <cloister/search_engine.h>
#include <cloister/tee_enclave.h>
#include <cloister/xsearch_client.h>
#include <cloister/xsearch_proxy.h>

#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

TEE_ENCLAVE_DECLARE(xsearch);

/* The canary is spelled backwards here and turned around at run time, so that no copy of it
 * sits in this program's read-only data (which the child maps too). */
#define CANARY_BACKWARDS "akkouqmulp yranacxqz"

static int to_child[2], from_child[2];
static pid_t child;

/* The proxy in the child: the engine's endpoint in, "PORT HEX-MRENCLAVE" out, runs until its
 * pipe closes. */
static void child_main(void)
{
    char engine[64] = "";
    ssize_t n = read(to_child[0], engine, sizeof engine - 1);
    if (n <= 0)
        _exit(1);
    engine[n] = 0;
    struct xsearch_proxy_options o = {.engine = engine,
                                      .listen = "127.0.0.1:0",
                                      .backend = "proc",
                                      .enclave = &tee_enclave_xsearch,
                                      .history = 100,
                                      .threads = 2};
    xsearch_proxy *p;
    struct cloister_err err;
    char out[128];
    uint8_t mre[32];
    if (xsearch_proxy_start(&o, &p, &err) != CLOISTER_OK) {
        fprintf(stderr, "proxy: %s\n", err.msg);
        _exit(1);
    }
    xsearch_proxy_mrenclave(p, mre);
    int len = snprintf(out, sizeof out, "%u ", (unsigned)xsearch_proxy_port(p));
    for (int i = 0; i < 32; i++)
        len += snprintf(out + len, sizeof out - (size_t)len, "%02x", mre[i]);
    if (write(from_child[1], out, (size_t)len) != len)
        _exit(1);
    while (read(to_child[0], out, sizeof out) > 0)
        ;
    xsearch_proxy_stop(p);
    _exit(0);
}

#define CHUNK ((size_t)1 << 20)
#define REGION_MAX ((unsigned long)1 << 30) /* larger: a sanitizer's shadow, not the host's data */

/* Occurrences of needle in [lo, hi) of mem, read a chunk at a time (chunks overlap by the
 * needle's length, so none is missed at a boundary); *readable set when any byte was read. */
static long scan_region(int mem, unsigned long lo, unsigned long hi, const char *needle,
                        const char *line, bool *readable)
{
    static char buf[CHUNK];
    size_t nl = strlen(needle);
    long found = 0;
    for (unsigned long at = lo; at < hi; at += CHUNK - nl) {
        size_t want = hi - at < CHUNK ? hi - at : CHUNK;
        ssize_t got = pread(mem, buf, want, (off_t)at);
        if (got <= 0)
            break;
        *readable = true;
        for (char *p = buf; (p = memmem(p, (size_t)got - (size_t)(p - buf), needle, nl)); p++) {
            fprintf(stderr, "%s found at %#lx in %s", needle, at + (unsigned long)(p - buf), line);
            found++;
        }
        if ((size_t)got < want || at + want >= hi)
            break;
    }
    return found;
}

/* Occurrences of needle in the readable mappings of pid; -1 when they cannot be read. */
static long scan(pid_t pid, const char *needle)
{
    char path[64], line[512];
    snprintf(path, sizeof path, "/proc/%d/maps", (int)pid);
    FILE *maps = fopen(path, "r");
    snprintf(path, sizeof path, "/proc/%d/mem", (int)pid);
    int mem = open(path, O_RDONLY);
    long found = 0;
    bool readable = false;
    while (maps && mem >= 0 && fgets(line, sizeof line, maps)) {
        unsigned long lo, hi;
        char perms[8];
        if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) == 3 && perms[0] == 'r' &&
            hi - lo <= REGION_MAX && !strstr(line, "[vvar]") && !strstr(line, "[vsyscall]"))
            found += scan_region(mem, lo, hi, needle, line, &readable);
    }
    if (maps)
        fclose(maps);
    if (mem >= 0)
        close(mem);
    return readable ? found : -1;
}

static void test_no_query_in_host_memory(void **state)
{
    (void)state;
    const char *home = getenv("CLOISTER_HOME");
    char dir[PATH_MAX], corpus[PATH_MAX + 16], cmd[2 * PATH_MAX + 32], engine_ep[64], line[128];
    struct cloister_err err;
    snprintf(dir, sizeof dir, "%s/xsearch-memory", home ? home : "/tmp/cloister-test");
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s'", dir, dir);
    assert_int_equal(system(cmd), 0);
    snprintf(corpus, sizeof corpus, "%s/corpus.db", dir);
    struct search_log log;
    struct search_gen_options g;
    search_gen_options_init(&g);
    g.users = 2;
    struct search_corpus_options c = {500, 1};
    search_engine *engine;
    assert_int_equal(search_gen_log(&g, &log, &err), CLOISTER_OK);
    assert_int_equal(search_corpus_build(&log, &c, corpus, &err), CLOISTER_OK);
    assert_int_equal(search_engine_start(corpus, "127.0.0.1:0", NULL, &engine, &err), 0);
    int n = snprintf(engine_ep, sizeof engine_ep, "127.0.0.1:%u",
                     (unsigned)search_engine_port(engine));
    assert_int_equal(write(to_child[1], engine_ep, (size_t)n), n);
    ssize_t got = read(from_child[0], line, sizeof line - 1);
    assert_true(got > 0);
    line[got] = 0;
    char proxy_ep[64], hex[65];
    unsigned port;
    uint8_t mre[32];
    assert_int_equal(sscanf(line, "%u %64s", &port, hex), 2);
    for (int i = 0; i < 32; i++)
        sscanf(hex + 2 * i, "%2hhx", &mre[i]);
    snprintf(proxy_ep, sizeof proxy_ep, "127.0.0.1:%u", port);
    struct xsearch_trust t = {proxy_ep, NULL, mre, true};
    xsearch_client *client;
    struct search_hits h;
    assert_int_equal(xsearch_client_new(&t, &client, &err), CLOISTER_OK);
    char canary[sizeof CANARY_BACKWARDS], word[16];
    for (size_t i = 0; i < sizeof canary - 1; i++)
        canary[i] = CANARY_BACKWARDS[sizeof canary - 2 - i];
    canary[sizeof canary - 1] = 0;
    snprintf(word, sizeof word, "%.9s", canary);
    for (size_t i = 0; i < 40; i++) {
        const char *q = i == 20 ? canary : log.q[i * 7].text;
        if (xsearch_client_search(client, q, 3, SEARCH_FILTER_MATCH, 5, &h, &err) != CLOISTER_OK)
            fail_msg("search '%s': %s", q, err.msg);
        search_hits_free(&h);
    }
    long found = scan(child, word), control = scan(child, engine_ep);
    xsearch_client_free(client);
    close(to_child[1]);
    int status;
    assert_int_equal(waitpid(child, &status, 0), child);
    search_engine_stop(engine);
    search_log_free(&log);
    if (found < 0) {
        fprintf(stderr, "skipped: /proc/%d/mem cannot be read here\n", (int)child);
        skip();
    }
    assert_true(control > 0); /* the scan does see the host's heap: the engine's address */
    assert_int_equal(found, 0);
}

int main(void)
{
    if (pipe(to_child) != 0 || pipe(from_child) != 0 || (child = fork()) < 0)
        return 1;
    if (child == 0) {
        close(to_child[1]);
        close(from_child[0]);
        child_main();
    }
    close(to_child[0]);
    close(from_child[1]);
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_no_query_in_host_memory)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
