/* cyclosa_pss.h -- gossip peer sampling (Jelasity et al., ACM TOCS 2007) for Cyclosa's nodes
 * (cyclosa_node.h): a partial view of c peers with ages, refreshed by periodic push-pull exchanges
 * with the oldest peer; the healer parameter H drops the oldest entries, the swapper parameter S
 * the ones just sent. The view's logic and its exchange format (pure code, fuzzed). */
#ifndef CLOISTER_CYCLOSA_PSS_H
#define CLOISTER_CYCLOSA_PSS_H

#include <cloister/error.h>
#include <cloister/export.h>

#include <stddef.h>
#include <stdint.h>

#define CYCLOSA_ADDR_MAX 24 /* "255.255.255.255:65535" and a NUL */
#define CYCLOSA_VIEW_MAX 64 /* c at most */
#define CYCLOSA_VIEW_DEFAULT 10
#define CYCLOSA_HEALER_DEFAULT 1
#define CYCLOSA_SWAPPER_DEFAULT 3

struct cyclosa_peer {
    char addr[CYCLOSA_ADDR_MAX];
    unsigned age;
};
/* A view: n <= c entries. A buffer sent holds at most c / 2 + 1 entries; one received at most
 * CYCLOSA_VIEW_MAX (more is refused). */
struct cyclosa_view {
    struct cyclosa_peer v[2 * CYCLOSA_VIEW_MAX + 1];
    size_t n, c, healer, swapper;
};
CLOISTER_API void cyclosa_view_init(struct cyclosa_view *v, size_t c, size_t healer,
                                    size_t swapper);
/* Adds addr with age 0 when absent and the view has room (the seeds). */
CLOISTER_API void cyclosa_view_add(struct cyclosa_view *v, const char *addr);
CLOISTER_API void cyclosa_view_remove(struct cyclosa_view *v, const char *addr);
/* The oldest peer (the one to gossip with), or NULL for an empty view. */
CLOISTER_API const char *cyclosa_view_oldest(const struct cyclosa_view *v);
CLOISTER_API void cyclosa_view_age(struct cyclosa_view *v);
/* The buffer to send: self with age 0, then the view permuted with its H oldest moved last, its
 * first c / 2 - 1 entries (rnd: uniform 64-bit values). The view keeps the permuted order, so
 * that select's swapper drops the entries sent. Encoded: varint n, then (str addr, varint age). */
CLOISTER_API int cyclosa_view_buffer(struct cyclosa_view *v, const char *self,
                                     uint64_t (*rnd)(void *), void *arg, uint8_t **out,
                                     size_t *len);
/* Decodes a buffer received: well-formed IPv4:PORT addresses, at most CYCLOSA_VIEW_MAX. */
CLOISTER_API int cyclosa_view_decode(const uint8_t *buf, size_t len, struct cyclosa_peer *out,
                                     size_t *n, struct cloister_err *err);
/* Jelasity's select: append the buffer (self left out), keep the youngest of duplicates, drop
 * min(H, n - c) oldest, then min(S, n - c) from the head, then at random down to c. */
CLOISTER_API void cyclosa_view_select(struct cyclosa_view *v, const char *self,
                                      const struct cyclosa_peer *in, size_t n,
                                      uint64_t (*rnd)(void *), void *arg);

#endif
