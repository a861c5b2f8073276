/* tee.h -- the host side of the enclave boundary (sgx_urts / Open Enclave host API).
 *
 * An enclave is the trusted part of a system, built into an enclave image (a separate
 * executable) and reached only through numbered ecalls that take and return byte buffers
 * (wire-encoded by convention). Buffers are copied across in both directions; the enclave
 * never sees a host pointer. The enclave may call back into host functions (ocalls).
 *
 *     struct tee_options o;
 *     tee_options_init(&o);                      // backend from CLOISTER_TEE, default proc
 *     o.image = path;                            // see tee_image_path()
 *     o.enclave = &tee_enclave_hello;            // the same code, for the sim backend
 *     tee_enclave *e;
 *     struct cloister_err err;
 *     if (tee_create(&o, &e, &err) != CLOISTER_OK) fprintf(stderr, "%s\n", err.msg);
 *     uint8_t *out; size_t outlen;
 *     int rc = tee_ecall(e, HELLO_ECALL_GREET, in, inlen, &out, &outlen, &err);
 *     ... free(out); tee_destroy(e);
 *
 * Backends: TEE_BACKEND_PROC runs the image as a sandboxed process started from a sealed memfd
 * and talks to it over shared-memory rings (switchless style: spin, then futex);
 * TEE_BACKEND_SIM links the same trusted code in-process with the same dispatch and copies.
 * Neither is SGX: evidence from both says "simulated" (docs/tee.md, threat model).
 *
 * Errors (cloister/error.h): functions return CLOISTER_OK (0) or a negative CLOISTER_E_* code
 * and fill the caller's struct cloister_err (NULL: code only) with one line saying which
 * enclave, which call and what happened: CLOISTER_E_DEAD, _TIMEOUT and _PROTOCOL for the
 * crossing, the enclave's own code and text for a refused call. A dead enclave never makes a
 * call hang: pending and later calls fail with CLOISTER_E_DEAD until tee_restart(). Calls may
 * be made from several threads at once; tee_restart waits for the calls in flight;
 * tee_destroy must not race with calls on the same enclave. */
#ifndef CLOISTER_TEE_H
#define CLOISTER_TEE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cloister/error.h>

struct wire_writer;
struct tee_enclave_def; /* tee_enclave.h */

enum tee_backend { TEE_BACKEND_PROC, TEE_BACKEND_SIM };
CLOISTER_API const char *tee_backend_name(enum tee_backend b);
/* "proc" or "sim"; CLOISTER_E_INVALID for anything else. */
CLOISTER_API int tee_backend_parse(const char *name, enum tee_backend *b, struct cloister_err *err);

enum tee_wait {
    TEE_WAIT_SPIN,  /* spin up to spin_count pauses, then futex-wait (SGX switchless style) */
    TEE_WAIT_BLOCK, /* futex-wait at once: no spinning on either side */
};

/* Host functions the enclave may call. arg is tee_options.ocall_arg; in/out as for ecalls.
 * Return CLOISTER_OK or a CLOISTER_E_* code, which the enclave's tee_ocall() returns. */
typedef int (*tee_ocall_fn)(void *arg, const uint8_t *in, size_t inlen, struct wire_writer *out);
struct tee_ocall_entry {
    uint32_t number; /* 0..0xEFFF; 0xF000.. are the runtime's own */
    const char *name;
    tee_ocall_fn fn;
};

#define TEE_SPIN_DEFAULT 20000u /* the SGX SDK's switchless retry count */
#define TEE_MESSAGE_MAX_DEFAULT (1u << 20)
#define TEE_BATCH_MAX 4096u /* calls per tee_ecall_batch */
#define TEE_WORKERS_MAX 64u
#define TEE_CPU_ANY (-1)

typedef struct tee_epc_group tee_epc_group; /* below */

struct tee_options {
    enum tee_backend backend;              /* default: CLOISTER_TEE, else proc */
    const char *image;                     /* the image file (required) */
    const char *signature;                 /* NULL: "<image>.sig" */
    const struct tee_enclave_def *enclave; /* the trusted code for sim; NULL: built-ins only */
    const char *home;                      /* platform home; NULL: tee_home_dir() */
    const char *store_dir;                 /* sealed blobs; NULL: <home>/enclaves/<name>/<mr> */
    const struct tee_ocall_entry *ocalls;  /* host functions the enclave may call (kept) */
    size_t nocalls;
    void *ocall_arg;
    enum tee_wait wait;       /* default TEE_WAIT_SPIN */
    uint32_t spin_count;      /* default TEE_SPIN_DEFAULT */
    unsigned workers;         /* enclave threads serving calls; default 1 */
    unsigned slots;           /* calls in flight at once; default 2 * workers + 2 */
    size_t max_message;       /* largest encoded message; default 1 MiB */
    unsigned call_timeout_ms; /* 0: none; on expiry the enclave is killed */
    int enclave_cpu;          /* pin the enclave process; TEE_CPU_ANY: no */
    tee_epc_group *epc_group; /* EPC accounting group to charge; NULL: none (must outlive it) */
};

/* Defaults as documented above (backend from CLOISTER_TEE when it names one). tee_create
 * copies the strings; the ocall table and the enclave definition must outlive the enclave. */
CLOISTER_API void tee_options_init(struct tee_options *o);

typedef struct tee_enclave tee_enclave;

/* Checks the image against its signature file, starts the enclave (which checks its own
 * identity, loads the platform, sandboxes itself and restores its provisioned secrets). */
CLOISTER_API int tee_create(const struct tee_options *o, tee_enclave **out,
                            struct cloister_err *err);
/* tee_create of the image `name` (tee_image_path) signed at start, with a fresh signer key and
 * heap_size, into a private temporary directory removed once the enclave is up: for services
 * whose clients pin MRENCLAVE and that seal nothing, so that MRSIGNER does not matter. Sets
 * o->image and o->signature. */
CLOISTER_API int tee_create_signed(struct tee_options *o, const char *name, uint64_t heap_size,
                                   tee_enclave **out, struct cloister_err *err);
/* Stops the enclave (SIGKILL after a grace period) and frees everything. NULL is fine. */
CLOISTER_API void tee_destroy(tee_enclave *e);
/* Stops the enclave if it still runs and starts it again from the same image. */
CLOISTER_API int tee_restart(tee_enclave *e, struct cloister_err *err);

/* One ecall. *out is malloc'd (NULL when outlen is 0); free it. */
CLOISTER_API int tee_ecall(tee_enclave *e, uint32_t number, const void *in, size_t inlen,
                           uint8_t **out, size_t *outlen, struct cloister_err *err);

/* One ecall on a wire writer's bytes; the writer is freed whatever happens. A refusal by the
 * enclave comes back with the enclave's own message alone (no "enclave 'x', ecall 0x6: ..."
 * head); failures of the runtime keep their whole text. *out is malloc'd: free it. */
CLOISTER_API CLOISTER_MUST_CHECK int tee_ecall_writer(tee_enclave *e, uint32_t number,
                                                      struct wire_writer *in, uint8_t **out,
                                                      size_t *outlen, struct cloister_err *err);

/* Many ecalls in one boundary crossing, run in order. Returns CLOISTER_OK when the batch crossed,
 * else err says why it did not; each call's own result is in its status (and out/outlen,
 * malloc'd), and err holds the message of the last call that failed. A call the enclave refused
 * has its own refusal text in out (NUL-terminated, printable; outlen without the NUL). */
struct tee_call {
    uint32_t number;
    const void *in;
    size_t inlen;
    uint8_t *out; /* set by the call */
    size_t outlen;
    int status;
};
CLOISTER_API int tee_ecall_batch(tee_enclave *e, struct tee_call *calls, size_t n,
                                 struct cloister_err *err);
/* Frees the outputs of a batch. */
CLOISTER_API void tee_calls_free(struct tee_call *calls, size_t n);

/* Ecalls of concurrent threads sharing crossings: each tee_batcher_call queues its call, and a
 * caller that finds one of `crossings` free (the enclave's workers) takes up to batch_max queued
 * calls across in one tee_ecall_batch. Thread-safe; in need not outlive the call. The result is
 * tee_ecall's: *out malloc'd, and a refusal by the enclave comes back with its own text alone. */
typedef struct tee_batcher tee_batcher;
CLOISTER_API int tee_batcher_new(tee_enclave *e, unsigned crossings, size_t batch_max,
                                 tee_batcher **out, struct cloister_err *err);
CLOISTER_API int tee_batcher_call(tee_batcher *b, uint32_t number, const void *in, size_t inlen,
                                  uint8_t **out, size_t *outlen, struct cloister_err *err);
CLOISTER_API void tee_batcher_free(tee_batcher *b);

enum tee_secret_memory {
    TEE_SECRET_MEMORY_NONE,         /* sim backend: ordinary host memory */
    TEE_SECRET_MEMORY_MLOCK,        /* mlock + MADV_DONTDUMP + MADV_WIPEONFORK */
    TEE_SECRET_MEMORY_MEMFD_SECRET, /* pages removed from the kernel's direct map */
};
CLOISTER_API const char *tee_secret_memory_name(enum tee_secret_memory m);

/* The sandbox the enclave reports it applied to itself (all false/0 in sim). */
struct tee_sandbox {
    bool no_new_privs;
    bool no_capabilities;      /* all dropped, even under a root host */
    bool not_dumpable;         /* PR_SET_DUMPABLE 0: no ptrace, no /proc/PID/mem */
    bool no_core;              /* RLIMIT_CORE 0 */
    bool seccomp;              /* allowlist, SECCOMP_RET_KILL_PROCESS */
    bool sanitizer_allowances; /* sanitizer build: a few extra syscalls allowed (docs/tee.md) */
    int landlock_abi;          /* 0: no Landlock */
    enum tee_secret_memory secret_memory;
};

struct tee_stats {
    uint64_t ecalls;    /* calls, a batch counting each of its calls */
    uint64_t crossings; /* messages sent to the enclave (a batch is one) */
    uint64_t ocalls;
    uint64_t bytes_in;             /* payload bytes copied into the enclave */
    uint64_t bytes_out;            /* payload bytes copied out */
    uint64_t switchless_hits;      /* answered while the caller was still spinning */
    uint64_t switchless_fallbacks; /* the caller had to futex-wait */
    uint64_t failures;             /* calls that did not return CLOISTER_OK */
    uint64_t restarts;
};

#define TEE_NAME_MAX 64

struct tee_info {
    char name[TEE_NAME_MAX]; /* image name ("hello" for hello.enclave) */
    enum tee_backend backend;
    bool alive;
    int pid; /* proc: the enclave process; sim: 0 */
    uint8_t mrenclave[32], mrsigner[32];
    uint16_t product_id, svn;
    bool debug;
    struct tee_sandbox sandbox;
    enum tee_wait wait;
    uint32_t spin_count;
    unsigned workers, slots;
    size_t max_message;
    struct tee_stats stats;
};
CLOISTER_API int tee_get_info(tee_enclave *e, struct tee_info *info);
/* The enclave's EPC counters (cloister/epc.h: resident pages, faults, evictions, bytes
 * encrypted/decrypted), asked of the enclave itself with TEE_ECALL_EPC_STATS. */
struct epc_stats;
CLOISTER_API int tee_epc_stats(tee_enclave *e, struct epc_stats *out, struct cloister_err *err);

/* EPC accounting groups (the kernel's misc cgroup sgx_epc, summed per pod): every enclave
 * created with tee_options.epc_group draws its EPC pages from the group's limit. tee_create
 * charges TEE_EPC_BASE_PAGES and refuses the enclave (CLOISTER_E_TOO_BIG, naming the group, the
 * limit and what is committed) when they do not fit; the enclave's heap then asks for pages as
 * it grows (TEE_OCALL_EPC_COMMIT, 16 pages at a time) and an allocation past the group's limit
 * fails inside the enclave, the call's error starting with the group's refusal. tee_destroy
 * gives the pages back. Thread-safe; a group must outlive its enclaves. Limits are in 4 KiB
 * pages. Resident pages and faults per enclave come from tee_epc_stats(). */
#define TEE_EPC_BASE_PAGES 16u
CLOISTER_API tee_epc_group *tee_epc_group_new(const char *name, uint64_t limit_pages,
                                              struct cloister_err *err);
CLOISTER_API void tee_epc_group_free(tee_epc_group *g);
/* A lower limit than what is committed refuses every growth until pages are given back. */
CLOISTER_API void tee_epc_group_set_limit(tee_epc_group *g, uint64_t limit_pages);
struct tee_epc_group_stats {
    char name[TEE_NAME_MAX];
    uint64_t limit_pages;
    uint64_t committed_pages; /* summed over the enclaves of the group, now */
    uint64_t peak_committed_pages;
    uint64_t enclaves;
    uint64_t refusals;      /* creations and growths refused */
    char last_refusal[256]; /* "" when none */
};
CLOISTER_API void tee_epc_group_stats(tee_epc_group *g, struct tee_epc_group_stats *out);
struct tee_epc_member {
    char name[TEE_NAME_MAX];
    int pid;         /* proc backend; 0 in sim */
    uint64_t serial; /* unique per enclave in the process */
    uint64_t committed_pages;
    uint64_t refusals;
};
/* Fills up to cap members; returns how many the group has. */
CLOISTER_API size_t tee_epc_group_members(tee_epc_group *g, struct tee_epc_member *out, size_t cap);

/* Built-in ecalls every image has (docs/tee.md section 5). Inputs and outputs: */
enum {
    TEE_ECALL_START = 0xF000,         /* in: -; out: varint secrets held (run by tee_create) */
    TEE_ECALL_EVIDENCE = 0xF001,      /* in: 64 B report data; out: evidence envelope */
    TEE_ECALL_REPORT = 0xF002,        /* in: 32 B target MRENCLAVE || 64 B data; out: report */
    TEE_ECALL_PROV_OFFER = 0xF003,    /* in: nonce; out: provisioning offer */
    TEE_ECALL_PROV_ACCEPT = 0xF004,   /* in: package; out: varint secrets held */
    TEE_ECALL_SECRET_DIGEST = 0xF005, /* in: name; out: SHA-256 of the secret */
    TEE_ECALL_SEAL = 0xF006,          /* in: u8 policy, bytes aad, bytes pt; out: blob */
    TEE_ECALL_UNSEAL = 0xF007,        /* in: bytes aad, bytes blob; out: plaintext */
    TEE_ECALL_EPC_STATS = 0xF008,     /* in: -; out: EPC counters, an epc_stats record (epc.h) */
    TEE_ECALL_BUILTIN_FIRST = 0xF000,
};
enum {
    TEE_OCALL_STORE_PUT = 0xF000,  /* in: str name, bytes blob */
    TEE_OCALL_STORE_GET = 0xF001,  /* in: str name; out: blob (empty if none) */
    TEE_OCALL_EPC_COMMIT = 0xF002, /* in: varint heap pages wanted in all; out: -. TOO_BIG:
                                      refused by the group; STATE: no group, stop asking */
};
#define TEE_USER_CALL_MAX 0xEFFFu

/* Finds the image of a named enclave ("hello" -> .../hello.enclave): $CLOISTER_ENCLAVE_DIR,
 * then the build tree's enclaves/, then the installed libexec/cloister/. */
CLOISTER_API int tee_image_path(const char *name, char *out, size_t cap, struct cloister_err *err);

#endif
