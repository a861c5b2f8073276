/* cyclosa_node.h -- Cyclosa's node (ICDCS 2018, docs/cyclosa.md): every node is a client, a relay
 * and an enclave. Library cloister_cyclosa_node (libmicrohttpd, the enclave runtime).
 *
 * Membership is gossip peer sampling (cyclosa_pss.h), bootstrapped from seed addresses;
 * unresponsive peers are blacklisted for a while.
 *
 * Relays. Enclaves attest each other (the runtime's evidence, verified inside the enclave under
 * the verifier policy with MRENCLAVE pinned to its own) and derive a session key pair. Every
 * message is encrypted, padded to one size, and carries a random id that the receiver remembers,
 * so a replay is refused. The relay table of queries received from others lives in the enclave.
 * A search sends the real query to one peer and a past query of that table to each of k others,
 * as separate same-size messages, each relay asks the engine, and only the real answer is kept.
 *
 * Peer protocol (HTTP on the node's address, bodies hex):
 *   POST /v1/gossip  view buffer             -> view buffer (push-pull)
 *   POST /v1/hello   hello                   -> u64 session id, bytes reply   (mutual attestation)
 *   POST /v1/relay   frame (CYCLOSA_FRAME)   -> frame (CYCLOSA_ANSWER_FRAME)
 * User API (HTTP on --api, 127.0.0.1 only): GET /[?q=QUERY[&k=K]] (the search page, X-Search's
 * broker's too: the results rendered without script), POST /v1/search
 * {"q": QUERY[, "k": K]} -> {"query", "k", "topic", "relays", "hits": [{url, title, snippet}]}. */
#ifndef CLOISTER_CYCLOSA_NODE_H
#define CLOISTER_CYCLOSA_NODE_H

#include <cloister/cyclosa.h>
#include <cloister/cyclosa_pss.h>
#include <cloister/error.h>
#include <cloister/export.h>
#include <cloister/search.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- the node ---- */

#define CYCLOSA_TABLE_DEFAULT 100000 /* queries of the relay table */
#define CYCLOSA_HITS 10              /* results asked of the engine per query */

struct tee_enclave_def;

struct cyclosa_node_options {
    const char *listen; /* IPv4:PORT for peers (port 0: any); engine requests leave from its IP */
    const char *api;    /* 127.0.0.1:PORT for the user's page and JSON API; NULL: none */
    const char *engine; /* IPv4:PORT serving GET /search?q=Q&n=N (search_engine.h) */
    const char *engine_ca;    /* PEM file: ask the engine over HTTPS, its certificate (naming its
                            * IP) issued by this CA; the TLS session lives in the enclave.
                            * NULL: plain HTTP, the host sees the queries it relays */
    const char *const *seeds; /* peers to start from */
    size_t nseeds;
    const char *const *popular; /* the relay table's first queries */
    size_t npopular;
    const char *backend;                   /* "proc" or "sim"; NULL: CLOISTER_TEE, else proc */
    const struct tee_enclave_def *enclave; /* trusted code for sim (tee_enclave_cyclosa) */
    const char *signature; /* the image's signature; NULL: signed at start with a fresh key */
    const char *home;      /* platform home; NULL: the default */
    size_t table;          /* 0: CYCLOSA_TABLE_DEFAULT */
    size_t view, healer, swapper; /* 0: the defaults above (healer and swapper: set_ps) */
    bool set_ps;                  /* healer and swapper are given (0 is a value) */
    unsigned gossip_ms;           /* 0: 1000 */
    unsigned blacklist_ms;        /* 0: 30000 */
    double engine_rate;           /* queries per second to the engine; 0: unlimited */
    unsigned k_max;               /* 0: CYCLOSA_K_MAX */
    const cyclosa_sens *sens;     /* the semantic test; NULL: linkability only */
};

struct cyclosa_node_stats {
    uint64_t relayed;      /* messages relayed to the engine */
    uint64_t refused;      /* messages refused (tampered, replayed, oversized, rate) */
    uint64_t attest_fails; /* peers whose enclave was refused */
    uint64_t searches, retries;
};

struct cyclosa_result {
    struct search_hits hits;
    unsigned k;                                 /* fakes sent */
    enum cyclosa_topic topic;                   /* the semantic test's answer */
    char relay[CYCLOSA_ADDR_MAX];               /* who relayed the real query */
    char fakes[SEARCH_K_MAX][CYCLOSA_ADDR_MAX]; /* who relayed the fakes */
};

typedef struct cyclosa_node cyclosa_node;
CLOISTER_API int cyclosa_node_start(const struct cyclosa_node_options *o, cyclosa_node **out,
                                    struct cloister_err *err);
/* n nodes of the options tmpl (its listen and seeds ignored) on loopback: node i listens on
 * PREFIX.(first_host + i), any port, seeded from a node drawn (prng_next(rng)) among those
* started before it, the first from first_seed (NULL: none). On a failure the nodes started are
 * stopped and their entries NULL. For tests, benches and demos. */
CLOISTER_API int cyclosa_nodes_start(const struct cyclosa_node_options *tmpl, const char *prefix,
                                     int first_host, const char *first_seed, size_t n,
                                     uint64_t *rng, cyclosa_node **out, struct cloister_err *err);
CLOISTER_API const char *cyclosa_node_addr(const cyclosa_node *n);
CLOISTER_API uint16_t cyclosa_node_api_port(const cyclosa_node *n);
CLOISTER_API void cyclosa_node_mrenclave(const cyclosa_node *n, uint8_t out[32]);
/* A copy of the view (at most cap entries); returns how many. */
CLOISTER_API size_t cyclosa_node_view(cyclosa_node *n, struct cyclosa_peer *out, size_t cap);
CLOISTER_API void cyclosa_node_stats(cyclosa_node *n, struct cyclosa_node_stats *out);
/* One search: k fakes (k < 0: the adaptive rule, own the user's past queries or NULL); the
 * real query's answer in r (free r->hits with search_hits_free). */
CLOISTER_API int cyclosa_node_search(cyclosa_node *n, const char *q, int k,
                                     const search_attack *own, struct cyclosa_result *r,
                                     struct cloister_err *err);
CLOISTER_API void cyclosa_node_stop(cyclosa_node *n);

#endif
