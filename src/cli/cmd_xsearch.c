/* cmd_xsearch.c -- `cloister xsearch ...`: X-Search (docs/search.md). `proxy` serves the enclave
 * proxy in front of a search engine until SIGINT or SIGTERM; `query` is the client: it verifies
 * the proxy's enclave and sends one query sealed to it, then prints the filtered results. */
#include <cloister/tee_enclave.h>
#include <cloister/xsearch_client.h>
#include <cloister/xsearch_proxy.h>

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cli_util.h"
#include "util/hex.h"

TEE_ENCLAVE_DECLARE(xsearch);

static const char *const filter_names[] = {"none", "words", "match", NULL};

static int cmd_proxy(int argc, char **argv)
{
    const char *listen = XSEARCH_LISTEN, *engine = NULL, *map = NULL, *tee = NULL;
    long long history = 0, kmax = XSEARCH_K_MAX_DEFAULT, cache_mb = 0, threads = 4;
    const struct opt_def opts[] = {
        {"engine", OPT_STRING, &engine, "URL",
         "the search engine: IP:PORT of `search engine`, or a template "
         "http://IP:PORT/PATH?q={q}&n={n}",
         OPT_REQUIRED, 0, 0},
        {"engine-map", OPT_STRING, &map, "JSON",
         "where the engine's answer holds the results: {\"hits\": \"a.b\", \"url\": .., "
         "\"title\": .., \"snippet\": .., \"matched\": ..} (default: the local engine's names)",
         0, 0, 0},
        {"listen", OPT_STRING, &listen, "IP:PORT",
         "where to listen (default " XSEARCH_LISTEN "; port 0: any free one)", 0, 0, 0},
        {"tee", OPT_STRING, &tee, "proc|sim", "enclave backend (default: proc)", 0, 0, 0},
        {"history", OPT_INT, &history, "N",
         "past queries the enclave keeps (the table H; default: half its EPC budget's worth)", 0, 1,
         1 << 26},
        {"cache-mb", OPT_INT, &cache_mb, "MB",
         "engine answers cached in the enclave (default: an eighth of its EPC budget)", 0, 1,
         1 << 12},
        {"threads", OPT_INT, &threads, "N", "HTTP threads and enclave workers (default 4)", 0, 1,
         4},
        {"k-max", OPT_INT, &kmax, "K", "the most fake queries a client may ask for", 0, 1,
         SEARCH_K_MAX},
        {0}};
    const struct opt_cmd cmd = {
        "xsearch proxy",
        "",
        "Serve X-Search's enclave proxy in front of a search engine until SIGINT or SIGTERM.",
        opts,
        0,
        0,
        "Clients (xsearch query) verify the enclave's evidence and seal each query to its key.\n"
        "The enclave hides the query among k past queries of other users (OR-ed), the host asks\n"
        "the engine, the enclave keeps the results of the real query and seals them back. The\n"
        "host and the engine see the OR-ed query only. Prints the port and the enclave's\n"
        "MRENCLAVE, which clients pin.",
        "cloister xsearch proxy --engine 127.0.0.1:8080 --listen 127.0.0.1:8471\n"
        "cloister xsearch proxy --engine 'http://127.0.0.1:9000/api?query={q}&count={n}' \\\n"
        "  --engine-map '{\"hits\": \"data.results\", \"url\": \"link\"}'\n"};
    int nargs, rc = opt_parse(&cmd, argc, argv, &nargs);
    if (rc != OPT_OK)
        return opt_exit_code(rc);
    struct xsearch_proxy_options o = {.engine = engine,
                                      .listen = listen,
                                      .backend = tee,
                                      .enclave = &tee_enclave_xsearch,
                                      .engine_map = map,
                                      .history = (size_t)history,
                                      .cache_bytes = (size_t)cache_mb << 20,
                                      .k_max = (unsigned)kmax,
                                      .threads = (unsigned)threads};
    cli_stop_signals_block();
    xsearch_proxy *p;
    struct cloister_err err;
    if (xsearch_proxy_start(&o, &p, &err) != CLOISTER_OK)
        return cli_fail("xsearch proxy: %s", err.msg);
    uint8_t mre[32];
    char hex[65];
    xsearch_proxy_mrenclave(p, mre);
    hex_encode(hex, mre, 32);
    printf("xsearch proxy for %s on port %u; H holds %zu queries; enclave MRENCLAVE %s\n", engine,
           (unsigned)xsearch_proxy_port(p), xsearch_proxy_history(p), hex);
    fflush(stdout);
    cli_stop_signals_wait("xsearch proxy");
    xsearch_proxy_stop(p);
    return CLI_OK;
}

static int print_hits(const struct search_hits *h, bool json)
{
    if (json) {
        json_t *a = json_array();
        for (size_t i = 0; i < h->n; i++)
            json_array_append_new(a, json_pack("{s:s,s:s,s:s}", "url", h->v[i].url, "title",
                                               h->v[i].title, "snippet", h->v[i].snippet));
        return cli_json_print(json_pack("{s:o}", "hits", a));
    }
    for (size_t i = 0; i < h->n; i++)
        printf("%zu. %s\n   %s\n   %s\n", i + 1, h->v[i].title, h->v[i].url, h->v[i].snippet);
    if (h->n == 0)
        printf("no results\n");
    return CLI_OK;
}

/* What query and client share: the proxy they trust and the obfuscation they ask for. */
struct client_args {
    const char *proxy, *mrenclave, *ca;
    bool allow_sim;
    long long k;
    struct opt_choice filter;
    uint8_t mre[32];
    struct xsearch_trust trust;
};

static void client_args_init(struct client_args *a)
{
    memset(a, 0, sizeof *a);
    a->k = 3;
    a->filter = (struct opt_choice){filter_names, SEARCH_FILTER_MATCH};
}

/* The options of struct client_args a. */
/* clang-format off: it re-wraps an option list inside a macro on every run */
#define CLIENT_OPTIONS(a)                                                                          \
    {"proxy", OPT_STRING, &(a).proxy, "IP:PORT", "the X-Search proxy", OPT_REQUIRED, 0, 0},        \
        {"mrenclave",                                                                              \
         OPT_STRING,                                                                               \
         &(a).mrenclave,                                                                           \
         "HEX",                                                                                    \
         "the proxy enclave's identity (pinned)",                                                  \
         OPT_REQUIRED,                                                                             \
         0,                                                                                        \
         0},                                                                                       \
        {"ca", OPT_STRING, &(a).ca, "FILE", "the platform CA (default: this machine's)", 0, 0, 0}, \
        {"allow-simulated",                                                                        \
         OPT_FLAG,                                                                                 \
         &(a).allow_sim,                                                                           \
         NULL,                                                                                     \
         "accept a simulated platform (development only)",                                         \
         0,                                                                                        \
         0,                                                                                        \
         0},                                                                                       \
        {"k", OPT_INT, &(a).k,      "K", "fake queries hiding each query (default 3)",             \
         0,   0,       SEARCH_K_MAX},                                                              \
    {                                                                                              \
        "filter", OPT_CHOICE, &(a).filter, "F", "which results the enclave keeps", 0, 0, 0         \
    }
/* clang-format on */

/* Parses the command line and a's MRENCLAVE into a->trust: true to go on, else false with the
 * exit code in *code (help, or a usage error). */
static bool parse_client(const struct opt_cmd *cmd, int argc, char **argv, struct client_args *a,
                         int *code)
{
    int nargs, rc = opt_parse(cmd, argc, argv, &nargs);
    size_t len;
    if (rc != OPT_OK) {
        *code = opt_exit_code(rc);
        return false;
    }
    if (cli_parse_hex("mrenclave", a->mrenclave, a->mre, 32, &len) != CLI_OK || len != 32) {
        fprintf(stderr, "--mrenclave: expected 64 hex digits\n");
        *code = CLI_USAGE;
        return false;
    }
    a->trust = (struct xsearch_trust){a->proxy, a->ca, a->mre, a->allow_sim};
    return true;
}

static int cmd_query(int argc, char **argv)
{
    struct client_args a;
    long long n = 10;
    bool json = false;
    const struct opt_def opts[] = {
        CLIENT_OPTIONS(a),
        {"n", OPT_INT, &n, "N", "results wanted (default 10)", 0, 1, SEARCH_HITS_MAX},
        {"json", OPT_FLAG, &json, NULL, "print {\"hits\": [...]}", 0, 0, 0},
        {0}};
    const struct opt_cmd cmd = {
        "xsearch query",
        "QUERY",
        "Search through an X-Search proxy, end to end.",
        opts,
        1,
        1,
        "Checks the proxy enclave's evidence (MRENCLAVE pinned, fresh nonce), seals the query\n"
        "to the enclave's key and opens the answer: the proxy's host reads neither. The engine\n"
        "sees the query OR-ed with k past queries of other users. Filters: words (X-Search's\n"
        "Algorithm 2: word counts) or match (the engine's matched sub-queries).",
        "cloister xsearch query --proxy 127.0.0.1:8471 --mrenclave HEX --allow-simulated 'foo "
        "bar'\n"};
    int rc;
    client_args_init(&a);
    if (!parse_client(&cmd, argc, argv, &a, &rc))
        return rc;
    xsearch_client *c;
    struct search_hits h;
    struct cloister_err err;
    if (xsearch_client_new(&a.trust, &c, &err) != CLOISTER_OK)
        return cli_fail("xsearch query: %s", err.msg);
    rc = xsearch_client_search(c, argv[0], (unsigned)a.k, (enum search_filter)a.filter.index,
                               (unsigned)n, &h, &err);
    xsearch_client_free(c);
    if (rc != CLOISTER_OK)
        return cli_fail("xsearch query: %s", err.msg);
    rc = print_hits(&h, json);
    search_hits_free(&h);
    return rc;
}

static int cmd_client(int argc, char **argv)
{
    struct client_args a;
    const char *listen = "127.0.0.1:8472";
    const struct opt_def opts[] = {
        CLIENT_OPTIONS(a),
        {"listen", OPT_STRING, &listen, "IP:PORT",
         "where the browser finds it (loopback only; default 127.0.0.1:8472; port 0: any)", 0, 0,
         0},
        {0}};
    const struct opt_cmd cmd = {
        "xsearch client",
        "",
        "Serve a search page for a browser that searches through an X-Search proxy.",
        opts,
        0,
        0,
        "Verifies the proxy enclave's evidence once (MRENCLAVE pinned), then serves GET / (a\n"
        "search page: a form, and the results of ?q=QUERY) and GET /search?q=QUERY (JSON) on a\n"
        "loopback address until SIGINT or SIGTERM. Each search is sealed to the enclave as\n"
        "`xsearch query` seals it; k, filter and n may be given per request.",
        "cloister xsearch client --proxy 127.0.0.1:8471 --mrenclave HEX --allow-simulated\n"};
    int rc;
    client_args_init(&a);
    if (!parse_client(&cmd, argc, argv, &a, &rc))
        return rc;
    xsearch_broker *b;
    struct cloister_err err;
    cli_stop_signals_block();
    if (xsearch_broker_start(&a.trust, listen, (unsigned)a.k, (enum search_filter)a.filter.index,
                             &b, &err) != CLOISTER_OK)
        return cli_fail("xsearch client: %s", err.msg);
    printf("xsearch client for %s on port %u\n", a.proxy, (unsigned)xsearch_broker_port(b));
    fflush(stdout);
    cli_stop_signals_wait("xsearch client");
    xsearch_broker_stop(b);
    return CLI_OK;
}

static const struct cli_command xsearch_commands[] = {
    {"proxy", "serve the enclave proxy in front of a search engine", cmd_proxy},
    {"query", "search through a proxy, sealed end to end", cmd_query},
    {"client", "serve a search page for a browser, searching through a proxy", cmd_client},
    {0}};

const struct cli_system cli_xsearch_system = {
    "xsearch",
    "X-Search: private web search through an enclave proxy that hides each query among others.",
    xsearch_commands,
    NULL,
};
