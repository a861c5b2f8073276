/* fuzz_lua.h -- what the Lua sandbox's fuzz targets share: one state per process running a
 * small job, reused by every input (which also checks that failed calls leave it usable). */
#ifndef CLOISTER_FUZZ_LUA_H
#define CLOISTER_FUZZ_LUA_H

#include "lua/lua_sandbox.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The state running job, made at the first call. Aborts on failure: the harness is broken. */
static inline struct tlua *fuzz_lua_state(const char *job)
{
    static struct tlua *t;
    struct tlua_options o = {.job = "fuzz", .task = "fuzz#1", .memory = (size_t)32 << 20};
    struct cloister_err err;
    if (!t && (!(t = tlua_new(&o, &err)) ||
               tlua_load(t, job, strlen(job), "fuzz.lua", &err) != CLOISTER_OK)) {
        fprintf(stderr, "fuzz_lua_state: %s\n", err.msg);
        abort();
    }
    return t;
}

/* Calls fn with args; *out gets its results. Returns tlua_call's code. */
static inline int fuzz_lua_call(const char *job, const char *fn, const uint8_t *args, size_t len,
                                struct wire_writer *out)
{
    struct cloister_err err;
    wire_writer_init(out);
    return tlua_call(fuzz_lua_state(job), fn, args, len, NULL, out, &err);
}

#endif
