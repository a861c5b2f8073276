/* tlua_impl.h -- what the files of src/lua share and callers do not see: the walk that encodes
 * a Lua value (for the value encoding and for JSON), the value decoder, the JSON library.
 *
 * Both encodings walk tables the same way, so they are one walk over two formats: a table whose
 * keys are exactly 1..n is an array (the empty table too), any other is a map whose entries are
 * written in increasing order of their encoded keys, so equal tables encode to equal bytes
 * whatever order `next` visits them in. The walk raises no Lua error (it frees what it
 * allocated and returns why it stopped), so callers can undo their output first. */
#ifndef CLOISTER_LUA_TLUA_IMPL_H
#define CLOISTER_LUA_TLUA_IMPL_H

#include "lua/lua_sandbox.h"

#include <lua.h>

struct tlua_format {
    /* Writes the non-table value at idx (a map key when key), or returns why it cannot. */
    const char *(*scalar)(struct wire_writer *w, lua_State *L, int idx, bool key);
    void (*open)(struct wire_writer *w, bool map, size_t n);
    void (*close)(struct wire_writer *w, bool map);
    const char *item_sep, *key_sep; /* written between items, and between a key and its value */
};

extern const struct tlua_format tlua_value_format;

enum tlua_enc {
    TLUA_ENC_OK,
    TLUA_ENC_LIMIT, /* w->len went past limit */
    TLUA_ENC_BAD,   /* *why says what could not be encoded */
};

enum tlua_enc tlua_encode(lua_State *L, int idx, const struct tlua_format *f, struct wire_writer *w,
                          size_t limit, const char **why);

/* Reads the next value of r and pushes it when L is not NULL; false once r has failed. Pushing
 * may raise a Lua memory error, never a format error: those fail r. */
bool tlua_value_read(struct wire_reader *r, lua_State *L, int depth);

/* The small-block front of a state's allocator (pool.c): blocks of at most
 * 16 * TLUA_POOL_CLASSES bytes from per-size free lists over slabs, larger ones from the trusted
 * heap. A realloc that grows fails (NULL) when the bytes taken from the trusted heap would pass
 * limit; one that shrinks never fails. release frees (and wipes) everything at once. */
#define TLUA_POOL_CLASSES 16

struct tlua_pool {
    void *free[TLUA_POOL_CLASSES];
    struct chunk_head *slabs, *adopted;
    uint8_t *bump, *end; /* the newest slab's unused bytes */
    size_t footprint;    /* bytes taken from the trusted heap */
};

void *tlua_pool_realloc(struct tlua_pool *p, void *b, size_t osize, size_t nsize, size_t limit);
void tlua_pool_free(struct tlua_pool *p, void *b, size_t osize);
void tlua_pool_release(struct tlua_pool *p);

/* The bytes of Lua heap the state of L may still allocate (the JSON encoder's limit). */
size_t tlua_memory_left(lua_State *L);

/* luaopen-style: pushes the `json` library (encode, decode, null). */
int tlua_open_json(lua_State *L);

#endif
