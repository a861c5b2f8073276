/* sandbox.c -- the Lua state of one task: the allocator and its memory cap, the instruction and
 * output budgets, the libraries a job may use, and calls into the job (lua_sandbox.h).
 *
 * Threat model. The job's code and data are hostile to the worker that runs them: a job may try
 * to reach the file system, the network or the host (escape), to take the worker down (crash,
 * memory, CPU), or to carry code the client did not vet (bytecode, which the Lua VM does not
 * verify and which can corrupt memory). The client that sent the job is trusted with its
 * results and messages; the host is not, and sees neither.
 *
 * Invariants:
 *  1. Only the libraries listed in docs/lua.md are opened; io, os, package, debug and coroutine
 *     are not even linked in (liblua5.4.a is static, and nothing here names them). `edits` below
 *     removes or wraps what remains dangerous, in one table.
 *  2. No bytecode: chunks load with mode "t", and `load` is forced to "t"; string.dump is gone.
 *  3. Every Lua API call that can raise runs under lua_pcall with our message handler, so no
 *     error longjmps out of this module; lua_close always runs in tlua_free.
 *  4. Memory: the allocator counts every byte of the state and refuses past the cap; Lua then
 *     collects and asks again, and a second refusal in a row dooms the call as in 5. It
 *     allocates on the trusted heap (tee_malloc: the EPC heap inside a call, the process heap
 *     outside, which is what tests and the sim backend use), small blocks through the state's
 *     pool (pool.c: no call into the heap per string); what the pool holds, free blocks
 *     included, stays under twice the cap.
 *  5. Instructions: a count hook charges the budget every HOOK_STEP instructions. Once a call
 *     is doomed (any budget), the hook fires on every instruction, so a pcall in the job cannot
 *     swallow the error; the call fails whatever the job returns. Library loops the hook
 *     cannot see (table.insert and remove, sort, move) are charged before they run;
 *     string.rep of nothing returns at once. Finalizers run with hooks off, so __gc is refused
 *     at setmetatable.
 *  6. Output: emit() and the results of a call may add at most `output` bytes to the caller's
 *     writers; past it the call fails, and a failed call leaves the writers as it found them.
 *  7. Messages name the job, the task, the function and the line, and nothing is printed:
 *     print() writes into a bounded log that only the caller reads.
 * Not bounded: CPU time inside one library call whose work does not grow with memory, notably
 * Lua pattern matching, which can backtrack polynomially (docs/lua.md, "Limits"). */
#include "lua/tlua_impl.h"

#include <cloister/tee_enclave.h>

#include <lauxlib.h>
#include <lualib.h>

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define HOOK_STEP 10000              /* instructions between two charges of the budget */
#define POOL_SLACK ((size_t)1 << 20) /* a few slabs partly used, past twice the cap */

/* Why the call in progress is doomed: once set, every instruction raises (invariant 5). */
enum kill {
    KILL_NONE,
    KILL_MEMORY,
    KILL_INSTRUCTIONS,
    KILL_OUTPUT,
};

struct tlua {
    lua_State *L;
    struct tlua_pool pool;
    char job[TLUA_NAME_MAX], task[TLUA_NAME_MAX];
    size_t mem_cap, mem_used, mem_peak;
    size_t pool_max; /* what the pool may take from the trusted heap: free blocks too */
    bool refused;    /* the last request for more memory was refused */
    uint64_t insn_budget, insn_used;
    int insn_step;
    size_t out_budget;
    char *log;
    size_t log_cap, log_len, log_dropped;

    /* The call in progress. */
    const char *entry; /* "function 'map'", "the main chunk" */
    enum kill kill;
    int code;     /* CLOISTER_E_* once the reason is known, else 0 */
    bool located; /* where is set (possibly to "") */
    char where[2 * LUA_IDSIZE + TLUA_NAME_MAX + 48]; /* " in function 'map' at job.lua:12" */
    char msg[CLOISTER_ERR_MAX];
    struct wire_writer *emits, *results;
    size_t emits_base, results_base;
};

static struct tlua *state_of(lua_State *L)
{
    return *(struct tlua **)lua_getextraspace(L);
}

size_t tlua_memory_left(lua_State *L)
{
    const struct tlua *t = state_of(L);
    return t->mem_cap - t->mem_used;
}

static void hook(lua_State *L, lua_Debug *ar);

static void doom(struct tlua *t, enum kill why)
{
    if (t->kill == KILL_NONE)
        t->kill = why;
    if (t->L)
        lua_sethook(t->L, hook, LUA_MASKCOUNT, 1);
}

/* ---- memory ---- */

static void *mem_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    struct tlua *t = ud;
    if (!ptr)
        osize = 0; /* then osize is the kind of object, not a size */
    if (nsize == 0) {
        tlua_pool_free(&t->pool, ptr, osize);
        t->mem_used -= osize;
        return NULL;
    }
    bool over = nsize > osize && nsize - osize > t->mem_cap - t->mem_used;
    void *p = over ? NULL : tlua_pool_realloc(&t->pool, ptr, osize, nsize, t->pool_max);
    if (!p && nsize < osize)
        p = ptr; /* Lua assumes shrinking never fails: keep the larger block */
    if (!p) {
        /* Past the cap, or the trusted heap is full. Lua collects and asks once more; two
         * refusals in a row doom the call: a job that caught the error in a loop would make
         * Lua run a full collection, unseen by the hook, at every refusal. */
        if (t->refused)
            doom(t, KILL_MEMORY);
        t->refused = true;
        return NULL;
    }
    t->refused = false;
    t->mem_used = t->mem_used - osize + nsize;
    if (t->mem_used > t->mem_peak)
        t->mem_peak = t->mem_used;
    return p;
}

/* ---- where an error happened ---- */

/* Sets where from the innermost Lua function at or above level (C functions have no line). The
 * function a call started at sits right above our trampoline, the bottom frame: it is named by
 * the call, since Lua has no name for a function called from C (nor for a tail call). */
static void where_at(struct tlua *t, lua_State *L, int level)
{
    lua_Debug ar, up;
    for (; lua_getstack(L, level, &ar); level++) {
        lua_getinfo(L, "nSlt", &ar);
        if (ar.currentline <= 0)
            continue;
        bool entry = !ar.istailcall && !lua_getstack(L, level + 2, &up);
        const char *kind = strcmp(ar.namewhat, "metamethod") == 0 ? "metamethod" : "function";
        if (strcmp(ar.what, "main") == 0)
            snprintf(t->where, sizeof t->where, " in the main chunk at %s:%d", ar.short_src,
                     ar.currentline);
        else if (ar.name)
            snprintf(t->where, sizeof t->where, " in %s '%s' at %s:%d", kind, ar.name, ar.short_src,
                     ar.currentline);
        else if (entry)
            snprintf(t->where, sizeof t->where, " in %s at %s:%d", t->entry, ar.short_src,
                     ar.currentline);
        else
            snprintf(t->where, sizeof t->where, " in function <%s:%d> at %s:%d", ar.short_src,
                     ar.linedefined, ar.short_src, ar.currentline);
        t->located = true;
        return;
    }
}

/* The message handler of every call: records the first error that reaches it. Budget kills
 * are recorded where they happen, and errors of our own (code set) carry their message. */
static int msgh(lua_State *L)
{
    struct tlua *t = state_of(L);
    if (t->kill != KILL_NONE || t->code != 0)
        return 1;
    t->code = CLOISTER_E_FAILED;
    where_at(t, L, 0);
    const char *s = lua_type(L, 1) == LUA_TSTRING ? lua_tostring(L, 1) : NULL;
    if (!s) {
        snprintf(t->msg, sizeof t->msg, "(error object is a %s value)", luaL_typename(L, 1));
        return 1;
    }
    /* "job.lua:12: boom" at job.lua:12 reads "boom in function 'map' at job.lua:12". */
    const char *at = t->located ? strstr(t->where, " at ") : NULL;
    size_t n = at ? strlen(at + 4) : 0;
    if (at && strncmp(s, at + 4, n) == 0 && strncmp(s + n, ": ", 2) == 0)
        s += n + 2;
    snprintf(t->msg, sizeof t->msg, "%s", s);
    return 1;
}

/* Raises an error of the module's own (bad input, missing function) with its code. */
static int raise_code(lua_State *L, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int raise_code(lua_State *L, int code, const char *fmt, ...)
{
    struct tlua *t = state_of(L);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->msg, sizeof t->msg, fmt, ap);
    va_end(ap);
    t->code = code;
    return luaL_error(L, "%s", t->msg);
}

/* ---- budgets ---- */

static int budget_exceeded(lua_State *L, enum kill why)
{
    static const char *const what[] = {"", "memory limit exceeded", "instruction limit exceeded",
                                       "output limit exceeded"};
    struct tlua *t = state_of(L);
    if (t->kill == KILL_NONE)
        where_at(t, L, 0);
    doom(t, why);
    return luaL_error(L, "%s", what[t->kill]);
}

static void charge(lua_State *L, uint64_t n)
{
    struct tlua *t = state_of(L);
    if (t->kill != KILL_NONE || n >= t->insn_budget - t->insn_used)
        budget_exceeded(L, KILL_INSTRUCTIONS);
    t->insn_used += n;
}

static void hook(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    charge(L, (uint64_t)state_of(L)->insn_step);
}

/* The limit on w's length that keeps this call's output (emits and results) within budget. */
static size_t out_limit(const struct tlua *t, const struct wire_writer *w)
{
    size_t emitted = t->emits ? t->emits->len - t->emits_base : 0;
    size_t returned = t->results ? t->results->len - t->results_base : 0;
    return w->len + (t->out_budget - emitted - returned);
}

/* Encodes the value at idx onto w, or undoes what it wrote and raises. */
static void put_value(lua_State *L, int idx, struct wire_writer *w, const char *what)
{
    size_t mark = w->len;
    const char *why;
    enum tlua_enc rc = tlua_encode(L, idx, &tlua_value_format, w, out_limit(state_of(L), w), &why);
    if (rc == TLUA_ENC_OK)
        return;
    w->len = mark;
    if (rc == TLUA_ENC_LIMIT)
        budget_exceeded(L, KILL_OUTPUT);
    luaL_error(L, "%s: %s", what, why);
}

/* ---- the functions the sandbox adds or wraps ---- */

static bool is_scalar(lua_State *L, int idx)
{
    int type = lua_type(L, idx);
    return type == LUA_TSTRING || type == LUA_TNUMBER || type == LUA_TBOOLEAN;
}

/* emit's common case, a scalar key and value (a word and a count), written without the walk
 * of tables; false, with nothing written, for anything else or past a limit (put_value then
 * says why). */
static bool emit_scalars(struct tlua *t, lua_State *L)
{
    if (!is_scalar(L, 1) || !is_scalar(L, 2))
        return false;
    struct wire_writer *w = t->emits;
    size_t mark = w->len, limit = out_limit(t, w);
    tlua_value_format.scalar(w, L, 1, false);
    tlua_value_format.scalar(w, L, 2, false);
    if (wire_writer_ok(w) && w->len <= limit)
        return true;
    w->len = mark;
    return false;
}

static int sandbox_emit(lua_State *L)
{
    struct tlua *t = state_of(L);
    luaL_checkany(L, 2);
    if (lua_isnil(L, 1) || lua_isnil(L, 2))
        return luaL_error(L, "emit: the %s is nil", lua_isnil(L, 1) ? "key" : "value");
    if (!t->emits)
        return luaL_error(L, "emit: %s cannot emit", t->entry);
    if (emit_scalars(t, L))
        return 0;
    put_value(L, 1, t->emits, "emit: the key");
    put_value(L, 2, t->emits, "emit: the value"); /* a failed call drops the key with it */
    return 0;
}

static void log_add(struct tlua *t, const char *s, size_t n)
{
    size_t room = t->log_cap - t->log_len, take = n < room ? n : room;
    memcpy(t->log + t->log_len, s, take);
    t->log_len += take;
    t->log_dropped += n - take;
}

static int sandbox_print(lua_State *L)
{
    struct tlua *t = state_of(L);
    int n = lua_gettop(L);
    for (int i = 1; i <= n; i++) {
        size_t len;
        const char *s = luaL_tolstring(L, i, &len);
        if (i > 1)
            log_add(t, "\t", 1);
        log_add(t, s, len);
        lua_pop(L, 1);
    }
    log_add(t, "\n", 1);
    return 0;
}

static int sandbox_collectgarbage(lua_State *L)
{
    const char *opt = luaL_optstring(L, 1, "collect");
    if (strcmp(opt, "count") == 0) {
        lua_pushnumber(L, (lua_Number)lua_gc(L, LUA_GCCOUNT) +
                              (lua_Number)lua_gc(L, LUA_GCCOUNTB) / 1024);
        return 1;
    }
    if (strcmp(opt, "collect") != 0)
        return luaL_error(L,
                          "collectgarbage('%s') is not allowed in the sandbox "
                          "(only 'collect' and 'count')",
                          opt);
    lua_gc(L, LUA_GCCOLLECT);
    lua_pushinteger(L, 0);
    return 1;
}

/* Calls the wrapped library function (upvalue 1) with the arguments as they are now. */
static int forward(lua_State *L)
{
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
    return lua_gettop(L);
}

static int sandbox_load(lua_State *L)
{
    if (lua_gettop(L) < 3)
        lua_settop(L, 3); /* keep a 4th argument (env) absent when it was */
    lua_pushliteral(L, "t");
    lua_replace(L, 3);
    return forward(L);
}

static int sandbox_setmetatable(lua_State *L)
{
    lua_pushliteral(L, "__gc");
    if (lua_type(L, 2) == LUA_TTABLE && lua_rawget(L, 2) != LUA_TNIL)
        return luaL_error(L, "__gc metamethods are not allowed in the sandbox "
                             "(finalizers run outside the instruction limit)");
    lua_settop(L, 2);
    return forward(L);
}

static int sandbox_randomseed(lua_State *L)
{
    if (lua_gettop(L) == 0)
        return luaL_error(L, "math.randomseed needs a seed in the sandbox (no clock)");
    return forward(L);
}

static int sandbox_rep(lua_State *L)
{
    size_t len, seplen;
    luaL_checklstring(L, 1, &len);
    lua_Integer n = luaL_checkinteger(L, 2);
    luaL_optlstring(L, 3, "", &seplen);
    if (n <= 0 || len + seplen == 0) { /* Lua would loop n times copying nothing */
        lua_pushliteral(L, "");
        return 1;
    }
    return forward(L);
}

enum cost {
    COST_INSERT, /* table.insert(t, pos, v): shifts t[pos..#t] up */
    COST_REMOVE, /* table.remove(t, pos): shifts t[pos+1..#t] down */
    COST_SORT,   /* table.sort(t): about #t * log2 #t comparisons */
    COST_MOVE,   /* table.move(a, f, e, ...): e - f + 1 elements */
};

/* How many of the elements 1..len are at pos or after it. */
static uint64_t from(lua_Integer pos, uint64_t len)
{
    return pos >= 1 && (uint64_t)pos <= len ? len - (uint64_t)pos + 1 : 0;
}

static uint64_t cost_of(lua_State *L, enum cost cost)
{
    if (cost == COST_MOVE) {
        lua_Integer f = luaL_checkinteger(L, 2), e = luaL_checkinteger(L, 3);
        return e >= f ? (uint64_t)e - (uint64_t)f + 1 : 0;
    }
    luaL_checktype(L, 1, LUA_TTABLE);
    int nargs = lua_gettop(L);
    if (luaL_getmetafield(L, 1, "__len") != LUA_TNIL)
        luaL_error(L, "tables with __len cannot be shifted or sorted in the sandbox");
    uint64_t len = lua_rawlen(L, 1), n = len;
    if (cost == COST_INSERT) /* appending (two arguments) shifts nothing */
        return nargs == 3 ? from(luaL_checkinteger(L, 2), len) : 0;
    if (cost == COST_REMOVE)
        return nargs >= 2 ? from(luaL_optinteger(L, 2, (lua_Integer)len), len) : 0;
    for (uint64_t m = len; m > 1; m >>= 1)
        n += len;
    return n;
}

/* A border (#t) can be 2^40 for a table of 41 elements, and these loops run in C, unseen by the
 * hook: charge them to the instruction budget before they start. __len is refused, as it could
 * answer differently to us and to the library. */
static int sandbox_charged(lua_State *L)
{
    charge(L, cost_of(L, (enum cost)lua_tointeger(L, lua_upvalueindex(2))));
    return forward(L);
}

/* The sandbox's changes to the opened libraries: field lib.name becomes f (NULL: removed); a
 * wrapper gets the original as upvalue 1 and arg as upvalue 2. */
static const struct edit {
    const char *lib, *name;
    lua_CFunction f;
    bool wraps;
    int arg;
} edits[] = {
    {LUA_GNAME, "dofile", NULL, false, 0},
    {LUA_GNAME, "loadfile", NULL, false, 0},
    {LUA_GNAME, "warn", NULL, false, 0}, /* would write to stderr */
    {LUA_GNAME, "load", sandbox_load, true, 0},
    {LUA_GNAME, "setmetatable", sandbox_setmetatable, true, 0},
    {LUA_GNAME, "collectgarbage", sandbox_collectgarbage, false, 0},
    {LUA_GNAME, "print", sandbox_print, false, 0},
    {LUA_GNAME, "emit", sandbox_emit, false, 0},
    {LUA_STRLIBNAME, "dump", NULL, false, 0},
    {LUA_STRLIBNAME, "rep", sandbox_rep, true, 0},
    {LUA_TABLIBNAME, "insert", sandbox_charged, true, COST_INSERT},
    {LUA_TABLIBNAME, "remove", sandbox_charged, true, COST_REMOVE},
    {LUA_TABLIBNAME, "sort", sandbox_charged, true, COST_SORT},
    {LUA_TABLIBNAME, "move", sandbox_charged, true, COST_MOVE},
    {LUA_MATHLIBNAME, "randomseed", sandbox_randomseed, true, 0},
};

static void apply(lua_State *L, const struct edit *e)
{
    lua_getglobal(L, e->lib);
    if (e->wraps) {
        lua_getfield(L, -1, e->name);
        lua_pushinteger(L, e->arg);
        lua_pushcclosure(L, e->f, 2);
    } else if (e->f) {
        lua_pushcfunction(L, e->f);
    } else {
        lua_pushnil(L);
    }
    lua_setfield(L, -2, e->name);
    lua_pop(L, 1);
}

static const luaL_Reg libs[] = {
    {LUA_GNAME, luaopen_base},       {LUA_STRLIBNAME, luaopen_string},
    {LUA_TABLIBNAME, luaopen_table}, {LUA_MATHLIBNAME, luaopen_math},
    {LUA_UTF8LIBNAME, luaopen_utf8}, {"json", tlua_open_json},
};

static int open_main(lua_State *L)
{
    const uint64_t *seed = lua_touserdata(L, 1);
    for (size_t i = 0; i < sizeof libs / sizeof libs[0]; i++) {
        luaL_requiref(L, libs[i].name, libs[i].func, 1);
        lua_pop(L, 1);
    }
    /* Seed math.random before randomseed is wrapped: the same seed, the same draws. */
    lua_getglobal(L, LUA_MATHLIBNAME);
    lua_getfield(L, -1, "randomseed");
    lua_pushinteger(L, (lua_Integer)*seed);
    lua_call(L, 1, 0);
    lua_pop(L, 1);
    for (size_t i = 0; i < sizeof edits / sizeof edits[0]; i++)
        apply(L, &edits[i]);
    /* getmetatable("") answers false: the string metatable cannot be reached or changed. */
    lua_pushliteral(L, "");
    lua_getmetatable(L, -1);
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    /* Generational collection: a job makes mostly short-lived strings and tables (a word, a
     * record's fields), which die young; the incremental mode would sweep the whole heap for
     * them. Budgets do not depend on the mode: the allocator enforces the cap. */
    lua_gc(L, LUA_GCGEN, 0, 0);
    return 0;
}

/* ---- calls ---- */

/* Runs main(ud) under the budgets; entry names what runs, for messages. */
static int run(struct tlua *t, lua_CFunction main, void *ud, const char *entry)
{
    lua_State *L = t->L;
    t->entry = entry;
    t->kill = KILL_NONE;
    t->code = 0;
    t->located = false;
    t->refused = false;
    t->insn_used = 0;
    lua_sethook(L, hook, LUA_MASKCOUNT, t->insn_step);
    lua_settop(L, 0);
    lua_pushcfunction(L, msgh);
    lua_pushcfunction(L, main);
    lua_pushlightuserdata(L, ud);
    int status = lua_pcall(L, 1, 0, 1);
    lua_settop(L, 0);
    return status;
}

static const char *size_text(size_t n, char *buf, size_t cap)
{
    if (n % (1 << 20) == 0)
        snprintf(buf, cap, "%zu MiB", n >> 20);
    else if (n % (1 << 10) == 0)
        snprintf(buf, cap, "%zu KiB", n >> 10);
    else
        snprintf(buf, cap, "%zu bytes", n);
    return buf;
}

/* The message of a failed run: "job J, task T: WHAT WHERE". */
static int run_error(struct tlua *t, int status, struct cloister_err *err)
{
    char what[CLOISTER_ERR_MAX], size[32];
    int code = t->code ? t->code : CLOISTER_E_FAILED;
    if (t->kill == KILL_INSTRUCTIONS) {
        code = CLOISTER_E_TIMEOUT;
        snprintf(what, sizeof what, "instruction limit %llu exceeded",
                 (unsigned long long)t->insn_budget);
    } else if (t->kill == KILL_OUTPUT) {
        code = CLOISTER_E_TOO_BIG;
        snprintf(what, sizeof what, "output limit %s exceeded",
                 size_text(t->out_budget, size, sizeof size));
    } else if (t->kill == KILL_MEMORY || status == LUA_ERRMEM) {
        code = CLOISTER_E_TOO_BIG;
        snprintf(what, sizeof what, "Lua memory limit %s exceeded",
                 size_text(t->mem_cap, size, sizeof size));
        t->located = false; /* Lua raises it with no handler: we know only the call */
    } else {
        snprintf(what, sizeof what, "%s", t->msg[0] ? t->msg : "error in error handling");
    }
    if (!t->located)
        snprintf(t->where, sizeof t->where, " in %s", t->entry);
    return cloister_errf(err, code, "job %s, task %s: %s%s", t->job, t->task, what, t->where);
}

static int finish(struct tlua *t, int status, struct cloister_err *err)
{
    if (status == LUA_OK && t->kill == KILL_NONE)
        return CLOISTER_OK;
    return run_error(t, status, err);
}

struct chunk {
    const char *text, *name;
    size_t len;
};

static int load_main(lua_State *L)
{
    const struct chunk *c = lua_touserdata(L, 1);
    const char *name = lua_pushfstring(L, "=%s", c->name);
    int status = luaL_loadbufferx(L, c->text, c->len, name, "t");
    if (status == LUA_ERRMEM)
        return lua_error(L);
    if (status != LUA_OK)
        return raise_code(L, CLOISTER_E_INVALID, "%s", lua_tostring(L, -1));
    lua_call(L, 0, 0);
    return 0;
}

int tlua_load(struct tlua *t, const char *chunk, size_t len, const char *chunkname,
              struct cloister_err *err)
{
    struct chunk c = {chunk, chunkname, len};
    return finish(t, run(t, load_main, &c, "the main chunk"), err);
}

struct call {
    const char *fn;
    const uint8_t *args;
    size_t argslen;
    bool found;
};

/* Pushes the global function c->fn, without metamethods; false when there is none. */
static bool push_function(lua_State *L, const struct call *c)
{
    lua_pushglobaltable(L);
    lua_pushstring(L, c->fn);
    lua_rawget(L, -2);
    lua_remove(L, -2);
    return lua_type(L, -1) == LUA_TFUNCTION;
}

static int has_main(lua_State *L)
{
    struct call *c = lua_touserdata(L, 1);
    c->found = push_function(L, c);
    return 0;
}

bool tlua_has(struct tlua *t, const char *fn)
{
    struct call c = {.fn = fn};
    return run(t, has_main, &c, "tlua_has") == LUA_OK && c.found;
}

static int call_main(lua_State *L)
{
    struct tlua *t = state_of(L);
    const struct call *c = lua_touserdata(L, 1);
    if (!push_function(L, c))
        return raise_code(L, CLOISTER_E_NOT_FOUND, "the job defines no function '%s'", c->fn);
    struct wire_reader r;
    wire_reader_init(&r, c->args, c->argslen);
    int nargs = 0;
    for (; wire_reader_remaining(&r) > 0 && wire_reader_ok(&r); nargs++) {
        luaL_checkstack(L, 2, "too many arguments");
        tlua_value_read(&r, L, 0);
    }
    if (!wire_reader_ok(&r))
        return raise_code(L, CLOISTER_E_INVALID, "bad arguments: %s", wire_reader_error(&r));
    lua_call(L, nargs, LUA_MULTRET);
    for (int i = 2, top = lua_gettop(L); t->results && i <= top; i++)
        put_value(L, i, t->results, "a result");
    return 0;
}

int tlua_call(struct tlua *t, const char *fn, const uint8_t *args, size_t argslen,
              struct wire_writer *emits, struct wire_writer *results, struct cloister_err *err)
{
    char entry[TLUA_NAME_MAX + 16];
    snprintf(entry, sizeof entry, "function '%s'", fn);
    struct call c = {.fn = fn, .args = args, .argslen = argslen};
    t->emits = emits;
    t->results = results;
    t->emits_base = emits ? emits->len : 0;
    t->results_base = results ? results->len : 0;
    int rc = finish(t, run(t, call_main, &c, entry), err);
    if (rc != CLOISTER_OK && emits)
        emits->len = t->emits_base;
    if (rc != CLOISTER_OK && results)
        results->len = t->results_base;
    t->emits = t->results = NULL;
    return rc;
}

static int set_global_main(lua_State *L)
{
    const struct call *c = lua_touserdata(L, 1);
    struct wire_reader r;
    wire_reader_init(&r, c->args, c->argslen);
    tlua_value_read(&r, L, 0);
    if (wire_reader_finish(&r) != 0)
        return raise_code(L, CLOISTER_E_INVALID, "bad value: %s", wire_reader_error(&r));
    lua_setglobal(L, c->fn);
    return 0;
}

int tlua_set_global(struct tlua *t, const char *name, const uint8_t *value, size_t len,
                    struct cloister_err *err)
{
    struct call c = {.fn = name, .args = value, .argslen = len};
    return finish(t, run(t, set_global_main, &c, "setting a global"), err);
}

/* ---- the state ---- */

struct tlua *tlua_new(const struct tlua_options *o, struct cloister_err *err)
{
    struct tlua *t = tee_calloc(1, sizeof *t);
    if (!t) {
        cloister_errf(err, CLOISTER_E_NO_MEMORY, "no memory for a Lua state");
        return NULL;
    }
    snprintf(t->job, sizeof t->job, "%s", o->job ? o->job : "?");
    snprintf(t->task, sizeof t->task, "%s", o->task ? o->task : "?");
    t->mem_cap = o->memory ? o->memory : TLUA_MEMORY_DEFAULT;
    t->pool_max = t->mem_cap < SIZE_MAX / 4 ? 2 * t->mem_cap + POOL_SLACK : SIZE_MAX;
    t->insn_budget = o->instructions ? o->instructions : TLUA_INSTRUCTIONS_DEFAULT;
    t->insn_step = t->insn_budget < HOOK_STEP ? (int)t->insn_budget : HOOK_STEP;
    t->out_budget = o->output ? o->output : TLUA_OUTPUT_DEFAULT;
    t->log_cap = o->log ? o->log : TLUA_LOG_DEFAULT;
    t->log = tee_malloc(t->log_cap);
    t->L = t->log ? lua_newstate(mem_alloc, t) : NULL;
    if (!t->L) {
        char size[32];
        cloister_errf(err, CLOISTER_E_NO_MEMORY,
                      "job %s, task %s: no memory for a Lua state "
                      "within %s",
                      t->job, t->task, size_text(t->mem_cap, size, sizeof size));
        tlua_free(t);
        return NULL;
    }
    *(struct tlua **)lua_getextraspace(t->L) = t;
    uint64_t seed = o->seed;
    if (finish(t, run(t, open_main, &seed, "the sandbox set-up"), err) != CLOISTER_OK) {
        tlua_free(t);
        return NULL;
    }
    return t;
}

void tlua_free(struct tlua *t)
{
    if (!t)
        return;
    if (t->L)
        lua_close(t->L);
    tlua_pool_release(&t->pool);
    tee_free(t->log);
    tee_free(t);
}

const char *tlua_log(const struct tlua *t, size_t *len)
{
    *len = t->log_len;
    return t->log;
}

void tlua_stats(const struct tlua *t, struct tlua_stats *s)
{
    *s = (struct tlua_stats){t->mem_used, t->mem_peak, t->log_dropped};
}
