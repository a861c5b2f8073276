/* scbr.h -- content-based publish/subscribe matching (SCBR, Pires et al., Middleware 2016).
 *
 * Data model. A value is a 64-bit integer, a double or a UTF-8 string. A publication is a header
 * of attribute=value pairs (names unique, kept sorted by name) plus an opaque payload. A
 * subscription is a conjunction of predicates `NAME OP VALUE`, `NAME exists` or
 * `NAME prefix "STRING"`. A predicate holds only if the publication has the attribute, the two
 * values are comparable (both numeric -- integers and doubles compare exactly as numbers -- or
 * both strings, compared bytewise) and the comparison holds; so `x != 5` fails on a publication
 * without x or with a string x.
 *
 * Text language (one item per line in files, `#` comments, blank lines ignored):
 *     subscription: symbol = "ACME" and open >= 10 and open < 20.5
 *     publication:  symbol = "ACME", open = 12, volume = 1e6
 * Errors read "FILE:LINE:COL: expected ..., found ...".
 *
 * Every subscription and publication is one heap block (free with scbr_sub_free/scbr_pub_free);
 * names and strings point inside it. Values never hold NaN or infinities.
 *
 * Indexes (scbr_index_*): three engines behind one interface that return exactly the same
 * matches -- naive (a scan, the oracle), poset (the original SCBR containment DAG, with its bugs
 * fixed) and fast (equality-pivot hashing plus compiled residual predicates). An index copies
 * what it is given and allocates only through the scbr_allocator passed at creation, so an
 * enclave can put it on its own heap. Not thread-safe: one index, one thread at a time. */
#ifndef CLOISTER_SCBR_H
#define CLOISTER_SCBR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cloister/error.h>
#include <cloister/export.h>

enum scbr_type { SCBR_INT, SCBR_DOUBLE, SCBR_STRING };

struct scbr_value {
    enum scbr_type type;
    union {
        int64_t i;
        double d;
        struct {
            const char *ptr; /* NUL-terminated too, but may not contain NUL: use len */
            uint32_t len;
        } s;
    } u;
};

enum scbr_op { SCBR_EQ, SCBR_NE, SCBR_LT, SCBR_LE, SCBR_GT, SCBR_GE, SCBR_PREFIX, SCBR_EXISTS };

struct scbr_pred {
    const char *name;
    enum scbr_op op;
    struct scbr_value value; /* unused for SCBR_EXISTS; a string for SCBR_PREFIX */
};

struct scbr_sub {
    size_t n;
    struct scbr_pred *preds;
};

struct scbr_pair {
    const char *name;
    struct scbr_value value;
};

struct scbr_pub {
    size_t n;
    struct scbr_pair *pairs; /* sorted by name, names unique */
    const uint8_t *payload;
    size_t payload_len;
};

/* Limits enforced by the parser and the decoder. */
#define SCBR_NAME_MAX 255
#define SCBR_STRING_MAX 65535
#define SCBR_ITEMS_MAX 1024 /* predicates per subscription, pairs per publication */

/* Builders copy their inputs into one block, validate them (names, UTF-8, finite numbers, prefix
 * on strings, unique publication names) and sort publication pairs. NULL + err on bad input. */
CLOISTER_API struct scbr_sub *scbr_sub_new(const struct scbr_pred *preds, size_t n,
                                           struct cloister_err *err);
CLOISTER_API struct scbr_pub *scbr_pub_new(const struct scbr_pair *pairs, size_t n,
                                           const void *payload, size_t payload_len,
                                           struct cloister_err *err);
CLOISTER_API void scbr_sub_free(struct scbr_sub *s);
CLOISTER_API void scbr_pub_free(struct scbr_pub *p);

/* The semantics above: does the predicate / subscription hold on the publication? */
CLOISTER_API bool scbr_pred_holds(const struct scbr_pred *p, const struct scbr_pub *pub);
CLOISTER_API bool scbr_sub_matches(const struct scbr_sub *s, const struct scbr_pub *pub);
/* The attribute's value in the publication, or NULL. */
CLOISTER_API const struct scbr_value *scbr_pub_get(const struct scbr_pub *pub, const char *name);
/* Orders two comparable values (<0, 0, >0); returns false if they are not comparable. */
CLOISTER_API bool scbr_value_cmp(const struct scbr_value *a, const struct scbr_value *b,
                                 int *order);

/* Text language. `file` only names the source in errors; `line` is the line number of `text`
 * (a single line, without its newline). */
CLOISTER_API struct scbr_sub *scbr_parse_sub(const char *text, size_t len, const char *file,
                                             unsigned line, struct cloister_err *err);
CLOISTER_API struct scbr_pub *scbr_parse_pub(const char *text, size_t len, const char *file,
                                             unsigned line, struct cloister_err *err);

/* A whole file: one item per non-blank, non-comment line. Free with scbr_*_list_free. */
struct scbr_sub_list {
    struct scbr_sub **v;
    size_t n;
};
struct scbr_pub_list {
    struct scbr_pub **v;
    size_t n;
};
CLOISTER_API int scbr_parse_subs(const char *text, size_t len, const char *file,
                                 struct scbr_sub_list *out, struct cloister_err *err);
CLOISTER_API int scbr_parse_pubs(const char *text, size_t len, const char *file,
                                 struct scbr_pub_list *out, struct cloister_err *err);
CLOISTER_API void scbr_sub_list_free(struct scbr_sub_list *l);
CLOISTER_API void scbr_pub_list_free(struct scbr_pub_list *l);

/* Prints in the text language (round-trips through the parser); malloc'd string. */
CLOISTER_API char *scbr_sub_format(const struct scbr_sub *s);
CLOISTER_API char *scbr_pub_format(const struct scbr_pub *p);

/* Wire encoding (include/cloister/wire.h), records "CSBS"/"CSBP" version 1. Encoders return a
 * malloc'd buffer (NULL on allocation failure); decoders are bounds-checked and refuse anything
 * the builders would refuse, plus trailing bytes. */
CLOISTER_API uint8_t *scbr_sub_encode(const struct scbr_sub *s, size_t *len);
CLOISTER_API uint8_t *scbr_pub_encode(const struct scbr_pub *p, size_t *len);
/* The enclave decodes what it has just authenticated with these: a NULL is a refusal. */
CLOISTER_API CLOISTER_MUST_CHECK struct scbr_sub *scbr_sub_decode(const void *buf, size_t len,
                                                                  struct cloister_err *err);
CLOISTER_API CLOISTER_MUST_CHECK struct scbr_pub *scbr_pub_decode(const void *buf, size_t len,
                                                                  struct cloister_err *err);

/* Workloads, deterministic in (kind, counts, seed) -- a seeded xoshiro256** PRNG, never rand():
 *   stock:   the original SCBR's stock quotes: 7 attributes symbol/date/open/high/low/close/volume,
 *            200 symbols over 52 trading days from 2006-01-02; every subscription has `symbol =`
 *            plus 36.3% `high >=`, 32.6% `low <=`, 19.4% an `open` range, 11.7% `volume >=`;
 *   random:  few attributes over small domains of ints, doubles and strings with every operator,
 *            so that equalities, boundaries, missing and incomparable attributes all occur;
 *   numeric: integer attributes a0..a4 present in every publication, operators = < <= > >=
 *            only (what ASPE can express);
 *   stock-numeric: the stock workload, same values, with each symbol written as its number
 *            (0..199) so that ASPE can take it.
 * Output is text in the language above, one item per line, in malloc'd buffers. */
enum scbr_workload {
    SCBR_WORKLOAD_STOCK,
    SCBR_WORKLOAD_RANDOM,
    SCBR_WORKLOAD_NUMERIC,
    SCBR_WORKLOAD_STOCK_NUMERIC
};
CLOISTER_API int scbr_workload_from_name(const char *name);
CLOISTER_API int scbr_gen(enum scbr_workload kind, size_t nsubs, size_t npubs, uint64_t seed,
                          char **subs, size_t *subs_len, char **pubs, size_t *pubs_len,
                          struct cloister_err *err);

/* The allocator an index uses for all its memory. NULL at creation means libc. */
struct scbr_allocator {
    void *(*malloc)(void *ctx, size_t size);
    void *(*realloc)(void *ctx, void *p, size_t size);
    void (*free)(void *ctx, void *p);
    void *ctx;
};

enum scbr_index_kind { SCBR_INDEX_NAIVE, SCBR_INDEX_POSET, SCBR_INDEX_FAST };

typedef struct scbr_index scbr_index;

struct scbr_index_stats {
    size_t subscriptions; /* ids registered */
    size_t predicates;    /* predicates over all ids */
    size_t bytes;         /* live bytes allocated through the allocator */
    size_t nodes;         /* poset: distinct nodes; others: subscriptions stored */
    size_t roots;         /* poset: nodes nothing covers; others: 0 */
};

/* "naive" | "poset" | "fast" -> kind; -1 if unknown. */
CLOISTER_API int scbr_index_kind_from_name(const char *name);
CLOISTER_API const char *scbr_index_kind_name(enum scbr_index_kind kind);

CLOISTER_API scbr_index *scbr_index_create(enum scbr_index_kind kind,
                                           const struct scbr_allocator *alloc);
CLOISTER_API void scbr_index_destroy(scbr_index *idx);
/* Registers a copy of s under id: CLOISTER_E_EXISTS if id is taken, CLOISTER_E_NO_MEMORY. */
CLOISTER_API int scbr_index_insert(scbr_index *idx, const struct scbr_sub *s, uint32_t id,
                                   struct cloister_err *err);
/* CLOISTER_E_NOT_FOUND if id is not registered. */
CLOISTER_API int scbr_index_remove(scbr_index *idx, uint32_t id, struct cloister_err *err);
/* Matches pub: returns how many ids match and writes the smallest min(that, cap) of them in
 * increasing order to ids (cap = number of registered ids always suffices). */
CLOISTER_API size_t scbr_index_match(scbr_index *idx, const struct scbr_pub *pub, uint32_t *ids,
                                     size_t cap);
/* Calls fn for every publication of the batch and each of its matching ids, in increasing id
 * order. Stops early when fn returns nonzero, and returns what it returned (a CLOISTER_E_*
 * code, say), or CLOISTER_E_NO_MEMORY. */
typedef int (*scbr_match_fn)(void *ctx, size_t pub_index, uint32_t id);
CLOISTER_API int scbr_index_match_batch(scbr_index *idx, const struct scbr_pub *const *pubs,
                                        size_t n, scbr_match_fn fn, void *ctx,
                                        struct cloister_err *err);
CLOISTER_API void scbr_index_stats(const scbr_index *idx, struct scbr_index_stats *st);

/* The router (docs/scbr.md): the host side is in scbr_host.h, the clients' in scbr_client.h;
 * what both sides use is here. */

#define SCBR_SK_LEN 32     /* the data provider's symmetric key SK */
#define SCBR_SHARDS_MAX 64 /* shards behind one front router (docs/scbr.md, "Shards") */
/* How logs and the CLI name a data provider's Ed25519 public key: the first 8 bytes of its
 * SHA-256 in hex (16 digits and a NUL). */
CLOISTER_API void scbr_provider_fingerprint(char out[17], const uint8_t pk[32]);

/* Counted inside the enclave: only it sees which messages authenticate and what matches. */
struct scbr_enclave_stats {
    uint64_t subscriptions;                       /* registered now */
    uint64_t subscribed, unsubscribed, published; /* accepted messages */
    uint64_t matched;           /* (publication, subscriber) pairs returned to the host */
    uint64_t refused_tampered;  /* authentication failed (or malformed after decryption) */
    uint64_t refused_replayed;  /* sequence number not above the sender's last */
    uint64_t refused_truncated; /* envelope shorter than it says */
    uint64_t refused_other;     /* no key yet, not the owner, unknown id, table full */
    uint64_t refused_stale;     /* sealed for another epoch (before a restart or an eviction) */
    uint64_t senders;           /* in the sender table now */
    uint64_t senders_evicted;   /* idle senders forgotten because the table was full */
};
/* Counted by the untrusted host: what it did with the enclave's answers and its clients. */
struct scbr_host_stats {
    uint64_t delivered;           /* deliveries handed to ZeroMQ */
    uint64_t dropped;             /* deliveries dropped: subscriber queue full or gone */
    uint64_t malformed;           /* client frames the host could not decode */
    uint64_t ecalls;              /* batch ecalls made */
    uint64_t dropped_subscribers; /* disconnects (bye or silence) that removed subscriptions */
    uint64_t queued_bytes;        /* deliveries held in the subscribers' queues now */
    uint64_t offers_refused;      /* provisioning offers refused by the rate limit */
};
/* What a client asks the router for (scbr_client_stats), and the router reports when it stops. */
struct scbr_router_stats {
    struct scbr_enclave_stats enclave;
    struct scbr_host_stats host;
};
/* The counters of each part, in order (the order of the stats records, the JSON names). */
/* clang-format off: one counter a line (clang-format 14 re-wraps X-macro lists on every run) */
#define SCBR_ENCLAVE_STATS(X)                                                                      \
    X(subscriptions)                                                                               \
    X(subscribed)                                                                                  \
    X(unsubscribed)                                                                                \
    X(published)                                                                                   \
    X(matched)                                                                                     \
    X(refused_tampered)                                                                            \
    X(refused_replayed)                                                                            \
    X(refused_truncated)                                                                           \
    X(refused_other)                                                                               \
    X(refused_stale)                                                                               \
    X(senders)                                                                                     \
    X(senders_evicted)
#define SCBR_HOST_STATS(X)                                                                         \
    X(delivered)                                                                                   \
    X(dropped)                                                                                     \
    X(malformed)                                                                                   \
    X(ecalls)                                                                                      \
    X(dropped_subscribers)                                                                         \
    X(queued_bytes)                                                                                \
    X(offers_refused)
/* clang-format on */

#endif
