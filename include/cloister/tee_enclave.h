/* tee_enclave.h -- the trusted side of the enclave boundary (sgx_trts / Open Enclave enclave
 * API): how enclave code declares its ecalls, calls the host, allocates memory and reaches
 * its identity and secrets.
 *
 * An enclave lists its ecalls once, as (number, name) rows; the handler of `name` is the
 * function `ecall_name` (this list is cloister's EDL):
 *
 *     #define HELLO_ECALLS(X) X(HELLO_ECALL_GREET, greet) X(HELLO_ECALL_COUNT, count)
 *     static int ecall_greet(struct tee_env *env, const uint8_t *in, size_t inlen,
 *                            struct wire_writer *out) { ... return CLOISTER_OK; }
 *     ...
 *     TEE_ENCLAVE_DEFINE(hello, HELLO_ECALLS);
 *
 * TEE_ENCLAVE_DEFINE builds the dispatch table and emits a TEE_ECALL_MANIFEST record per row
 * into the image (what `cloister enclave sign` shows before vouching for it), and defines
 * `const struct tee_enclave_def tee_enclave_hello`. cloister_add_enclave(hello ...) in CMake
 * turns the sources into the image hello.enclave and into a static library enclave_hello that
 * hosts link to run the same code with the sim backend.
 *
 * A handler gets its input as a private copy (never a host pointer), writes its output with the
 * wire writer and returns CLOISTER_OK or a CLOISTER_E_* code (tee_fail() attaches a message).
 * Handlers of one enclave may run on several worker threads at once: shared state needs a lock. */
#ifndef CLOISTER_TEE_ENCLAVE_H
#define CLOISTER_TEE_ENCLAVE_H

#include <cloister/tee.h>
#include <cloister/tee_trust.h>
#include <cloister/wire.h>

#include <stddef.h>
#include <stdint.h>

/* Where a handler runs: its enclave instance and the call it serves. Valid during the call. */
struct tee_env;

typedef int (*tee_ecall_fn)(struct tee_env *env, const uint8_t *in, size_t inlen,
                            struct wire_writer *out);

struct tee_ecall_entry {
    uint32_t number;
    const char *name;
    tee_ecall_fn handler;
};

struct tee_enclave_def {
    const char *name;
    const struct tee_ecall_entry *ecalls;
    size_t necalls;
    /* Per-instance state: state_size zeroed bytes (tee_env_state), set up by on_start after the
     * sandbox closed and before the first ecall, released by on_stop. All may be 0/NULL. */
    size_t state_size;
    int (*on_start)(struct tee_env *env);
    void (*on_stop)(struct tee_env *env);
};

#define TEE_ENCLAVE_DECLARE(nm) extern const struct tee_enclave_def tee_enclave_##nm

#define TEE_ENCLAVE_ROW_(num, nm) {(num), #nm, ecall_##nm},
#define TEE_ENCLAVE_MANIFEST_(num, nm) TEE_ECALL_MANIFEST(num, nm);
/* TEE_ENCLAVE_DEFINE(name, LIST), or TEE_ENCLAVE_DEFINE_WITH(name, LIST, .state_size = ...,
 * .on_start = ..., .on_stop = ...) for an enclave with per-instance state. */
#define TEE_ENCLAVE_DEFINE(nm, LIST) TEE_ENCLAVE_DEFINE_WITH(nm, LIST, .state_size = 0)
#define TEE_ENCLAVE_DEFINE_WITH(nm, LIST, ...)                                                     \
    LIST(TEE_ENCLAVE_MANIFEST_)                                                                    \
    static const struct tee_ecall_entry tee_ecalls_##nm[] = {LIST(TEE_ENCLAVE_ROW_)};              \
    TEE_ENCLAVE_DECLARE(nm);                                                                       \
    const struct tee_enclave_def tee_enclave_##nm = {.name = #nm,                                  \
                                                     .ecalls = tee_ecalls_##nm,                    \
                                                     .necalls = sizeof tee_ecalls_##nm /           \
                                                                sizeof tee_ecalls_##nm[0],         \
                                                     __VA_ARGS__}

/* The image's entry point (the main() cloister_add_enclave generates calls it). */
CLOISTER_API int tee_enclave_main(const struct tee_enclave_def *def, int argc, char **argv);

/* The instance's state block (NULL when state_size is 0). */
CLOISTER_API void *tee_env_state(struct tee_env *env);
/* The enclave's view of itself: identity, sealing, reports, evidence, secrets (tee_trust.h). */
CLOISTER_API tee_self *tee_env_self(struct tee_env *env);
/* Records why the call failed (the host's tee_ecall puts it in its struct cloister_err);
 * returns status. */
CLOISTER_API int tee_fail(struct tee_env *env, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Calls host function `number` (tee_options.ocalls) with a copy of in; *out is a private
 * tee_malloc'd copy of its answer (NULL when empty; free with tee_free). */
CLOISTER_API int tee_ocall(struct tee_env *env, uint32_t number, const void *in, size_t inlen,
                           uint8_t **out, size_t *outlen);

/* The trusted heap: during a call, the instance's EPC heap (src/epc: sized and budgeted by the
 * signed config, evicted pages encrypted); outside calls, the process heap. tee_free and
 * tee_realloc accept either. */
CLOISTER_API void *tee_malloc(size_t n);
CLOISTER_API void *tee_calloc(size_t count, size_t size);
CLOISTER_API void *tee_realloc(void *p, size_t n);
CLOISTER_API void tee_free(void *p);
/* A lua_Alloc over the trusted heap: lua_newstate(tee_lua_alloc, NULL) in a call keeps every
 * allocation of the state in the enclave's EPC heap (ud is unused). */
CLOISTER_API void *tee_lua_alloc(void *ud, void *ptr, size_t osize, size_t nsize);

/* Memory for secrets: memfd_secret pages (removed from the kernel's direct map; never pass them
 * to a system call) where the kernel has them, else mlock'd pages excluded from core dumps and
 * wiped in a forked child. Page-granular; tee_secret_free wipes. */
CLOISTER_API void *tee_secret_alloc(size_t n);
CLOISTER_API void tee_secret_free(void *p, size_t n);
/* What tee_secret_alloc uses in this process. */
enum tee_secret_memory tee_secret_memory_kind(void);

#endif
