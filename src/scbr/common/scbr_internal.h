/* scbr_internal.h -- helpers shared by the SCBR modules (model, parser, codec, indexes). */
#ifndef CLOISTER_SCBR_INTERNAL_H
#define CLOISTER_SCBR_INTERNAL_H

#include <cloister/scbr.h>

bool scbr_name_valid(const char *s, size_t len);
bool scbr_utf8_valid(const char *s, size_t len);
int scbr_cmp_int_double(int64_t i, double d);
int scbr_cmp_bytes(const char *a, size_t alen, const char *b, size_t blen);
/* Does `have OP want` hold (types already known present)? */
bool scbr_op_holds(enum scbr_op op, const struct scbr_value *have, const struct scbr_value *want);
/* Bytes of the single block holding s, and a copy of validated predicates into such a block. */
size_t scbr_sub_block_size(const struct scbr_sub *s);
struct scbr_sub *scbr_sub_copy_into(void *block, const struct scbr_pred *preds, size_t n);
/* The operator's text ("=", "prefix", ...). */
const char *scbr_op_name(enum scbr_op op);

/* A growing text buffer (libc heap); after a failed allocation it stays failed and take
 * returns NULL. take hands over buf ("" never: NULL if nothing was written). */
struct scbr_text {
    char *buf;
    size_t len, cap;
    bool failed;
};
void scbr_text_put(struct scbr_text *t, const char *s, size_t n);
void scbr_text_printf(struct scbr_text *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
char *scbr_text_take(struct scbr_text *t);

/* An allocator that counts live bytes; callers pass sizes back on free (Lua-style), so the
 * count is exact without per-block headers. */
struct scbr_mem {
    struct scbr_allocator a;
    size_t bytes;
};
void scbr_mem_init(struct scbr_mem *m, const struct scbr_allocator *a);
void *scbr_mem_alloc(struct scbr_mem *m, size_t size);
void *scbr_mem_calloc(struct scbr_mem *m, size_t n, size_t size);
void *scbr_mem_realloc(struct scbr_mem *m, void *p, size_t old, size_t size);
void scbr_mem_free(struct scbr_mem *m, void *p, size_t size);
/* Grows *v (elements of esize) so it holds at least need elements; 0 or -1. */
int scbr_mem_grow(struct scbr_mem *m, void **v, size_t *cap, size_t need, size_t esize);
/* A copy of s in one block from m; free with scbr_mem_free(m, copy, scbr_sub_block_size(copy)). */
struct scbr_sub *scbr_mem_sub_clone(struct scbr_mem *m, const struct scbr_sub *s);

struct scbr_ids {
    uint32_t *v;
    size_t n, cap;
};
int scbr_ids_push(struct scbr_ids *ids, struct scbr_mem *m, uint32_t id);

/* Engines: each provides these through a vtable. */
struct scbr_engine {
    const char *name;
    void *(*create)(struct scbr_mem *m);
    void (*destroy)(void *e, struct scbr_mem *m);
    int (*insert)(void *e, struct scbr_mem *m, const struct scbr_sub *s, uint32_t id);
    int (*remove)(void *e, struct scbr_mem *m, uint32_t id);
    /* Appends matching ids, in any order, to the index's result vector. */
    int (*match)(void *e, struct scbr_mem *m, const struct scbr_pub *pub, struct scbr_ids *out);
    void (*stats)(const void *e, struct scbr_index_stats *st);
};

extern const struct scbr_engine scbr_engine_naive, scbr_engine_poset, scbr_engine_fast;

#endif
