/* tee.c -- the host API of tee.h: options, loading and checking an image, the call path shared
 * by both backends (validation, counters, error text), restart, and info.
 *
 * A call is encoded once as a request message (a batch of one for tee_ecall), crosses with the
 * backend, and its response is decoded into malloc'd outputs. Everything the enclave sends back
 * is untrusted: statuses outside the known set, counts that do not match and lengths beyond the
 * limit are protocol errors. */
#define CLOG_MODULE "tee"
#include "tee/host/host.h"
#include "tee/ring/ring.h"

#include <cloister/crypto.h>
#include <cloister/epc.h>
#include <cloister/tee_trust.h>

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/fileio.h"
#include "util/hex.h"
#include "util/log.h"

#define SIG_MAX ((size_t)1 << 16)

static _Thread_local const struct tee_enclave *in_ocall_of;

int tee_backend_parse(const char *name, enum tee_backend *b, struct cloister_err *err)
{
    if (strcmp(name, "proc") == 0)
        *b = TEE_BACKEND_PROC;
    else if (strcmp(name, "sim") == 0)
        *b = TEE_BACKEND_SIM;
    else
        return cloister_errf(err, CLOISTER_E_INVALID, "unknown backend '%s' (proc or sim)", name);
    return CLOISTER_OK;
}

void tee_options_init(struct tee_options *o)
{
    memset(o, 0, sizeof *o);
    const char *env = getenv("CLOISTER_TEE");
    if (!env || tee_backend_parse(env, &o->backend, NULL) != CLOISTER_OK)
        o->backend = TEE_BACKEND_PROC;
    o->wait = TEE_WAIT_SPIN;
    o->spin_count = TEE_SPIN_DEFAULT;
    o->workers = 1;
    o->max_message = TEE_MESSAGE_MAX_DEFAULT;
    o->enclave_cpu = TEE_CPU_ANY;
}

static bool safe_name(const char *s)
{
    if (!*s || strlen(s) >= TEE_NAME_MAX || *s == '.')
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-' && *s != '.')
            return false;
    return true;
}

int tee_image_path(const char *name, char *out, size_t cap, struct cloister_err *err)
{
    if (!safe_name(name))
        return cloister_errf(err, CLOISTER_E_INVALID, "bad enclave name '%s'", name);
    const char *dirs[] = {getenv("CLOISTER_ENCLAVE_DIR"), CLOISTER_ENCLAVE_BUILD_DIR,
                          CLOISTER_ENCLAVE_INSTALL_DIR};
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        if (!dirs[i] || !*dirs[i])
            continue;
        int n = snprintf(out, cap, "%s/%s.enclave", dirs[i], name);
        if (n > 0 && (size_t)n < cap && access(out, R_OK) == 0)
            return CLOISTER_OK;
    }
    return cloister_errf(err, CLOISTER_E_NOT_FOUND,
                         "no image %s.enclave in $CLOISTER_ENCLAVE_DIR, %s or %s", name,
                         CLOISTER_ENCLAVE_BUILD_DIR, CLOISTER_ENCLAVE_INSTALL_DIR);
}

static char *dup_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *dup_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0)
        s = NULL;
    va_end(ap);
    return s;
}

static void free_enclave(struct tee_enclave *e)
{
    free(e->image);
    free(e->sig);
    free(e->image_path);
    free(e->sig_path);
    free(e->home);
    free(e->store_dir);
    pthread_rwlock_destroy(&e->lock);
    host_counters_free(e);
    free(e);
}

static int check_options(const struct tee_options *o, struct cloister_err *err)
{
    if (!o->image || !*o->image)
        return cloister_errf(err, CLOISTER_E_INVALID, "tee_create: no image given");
    if (o->workers < 1 || o->workers > TEE_WORKERS_MAX)
        return cloister_errf(err, CLOISTER_E_INVALID, "tee_create: workers must be 1..%u, got %u",
                             TEE_WORKERS_MAX, o->workers);
    if (o->slots > 256)
        return cloister_errf(err, CLOISTER_E_INVALID, "tee_create: slots must be at most 256");
    if (o->max_message < 4096 || o->max_message > ((size_t)1 << 30))
        return cloister_errf(err, CLOISTER_E_INVALID,
                             "tee_create: max_message must be 4 KiB..1 GiB");
    if (o->backend != TEE_BACKEND_PROC && o->backend != TEE_BACKEND_SIM)
        return cloister_errf(err, CLOISTER_E_INVALID, "tee_create: unknown backend");
    if (o->wait != TEE_WAIT_SPIN && o->wait != TEE_WAIT_BLOCK)
        return cloister_errf(err, CLOISTER_E_INVALID, "tee_create: unknown wait mode");
    if (o->nocalls && !o->ocalls)
        return cloister_errf(err, CLOISTER_E_INVALID, "tee_create: nocalls without ocalls");
    for (size_t i = 0; i < o->nocalls; i++)
        if (o->ocalls[i].number > TEE_USER_CALL_MAX || !o->ocalls[i].fn)
            return cloister_errf(err, CLOISTER_E_INVALID,
                                 "tee_create: ocall %zu: number above %#x or no function", i,
                                 TEE_USER_CALL_MAX);
    return CLOISTER_OK;
}

/* Name, paths and home of an enclave from its options. */
static int resolve(struct tee_enclave *e, const struct tee_options *o, struct cloister_err *err)
{
    const char *base = strrchr(o->image, '/');
    base = base ? base + 1 : o->image;
    size_t n = strlen(base), sfx = strlen(".enclave");
    if (n > sfx && strcmp(base + n - sfx, ".enclave") == 0)
        n -= sfx;
    if (n == 0 || n >= TEE_NAME_MAX)
        return cloister_errf(err, CLOISTER_E_INVALID, "image %s: bad file name", o->image);
    memcpy(e->name, base, n);
    e->name[n] = 0;
    if (!safe_name(e->name))
        return cloister_errf(err, CLOISTER_E_INVALID,
                             "image %s: a name of letters, digits, '_', '-' "
                             "and '.' is needed (it names the store)",
                             o->image);
    char home[4096];
    if (!o->home) {
        int rc = tee_home_dir(home, sizeof home, err);
        if (rc != CLOISTER_OK)
            return rc;
    }
    e->image_path = strdup(o->image);
    e->sig_path = o->signature ? strdup(o->signature) : dup_printf("%s.sig", o->image);
    e->home = strdup(o->home ? o->home : home);
    if (!e->image_path || !e->sig_path || !e->home)
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
    e->opt = *o;
    e->opt.image = e->image_path;
    e->opt.signature = e->sig_path;
    e->opt.home = e->home;
    if (!e->opt.slots)
        e->opt.slots = 2 * e->opt.workers + 2;
    return CLOISTER_OK;
}

/* Reads the image and its signature file and checks them, as the loader (the enclave checks
 * again by itself). */
static int load_image(struct tee_enclave *e, struct cloister_err *err)
{
    if (file_read_all(e->image_path, TEE_IMAGE_MAX, &e->image, &e->image_len) != 0)
        return cloister_errf(err, errno == ENOENT ? CLOISTER_E_NOT_FOUND : CLOISTER_E_IMAGE,
                             "image %s: %s", e->image_path, strerror(errno));
    if (file_read_all(e->sig_path, SIG_MAX, &e->sig, &e->sig_len) != 0)
        return cloister_errf(err, errno == ENOENT ? CLOISTER_E_NOT_FOUND : CLOISTER_E_IMAGE,
                             "signature %s: %s (sign the image with 'cloister enclave sign')",
                             e->sig_path, strerror(errno));
    struct cloister_err why = {0};
    if (tee_image_verify(&e->id, e->image, e->image_len, e->sig, e->sig_len, &why) != 0)
        return cloister_errf(err, CLOISTER_E_IMAGE, "image %s refused: %s", e->image_path, why.msg);
    /* Sealed blobs are bound to MRENCLAVE: one store per measurement by default. */
    char mr[2 * TEE_HASH_LEN + 1];
    hex_encode(mr, e->id.mrenclave, TEE_HASH_LEN);
    e->store_dir = e->opt.store_dir ? strdup(e->opt.store_dir)
                                    : dup_printf("%s/enclaves/%s/%.16s", e->home, e->name, mr);
    if (!e->store_dir)
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
    e->opt.store_dir = e->store_dir;
    return CLOISTER_OK;
}

static int call_locked(struct tee_enclave *e, struct tee_call *calls, size_t n,
                       struct cloister_err *err);

/* Starts the backend, then the built-in start ecall (restores sealed secrets, on_start). */
static int start_enclave(struct tee_enclave *e, struct cloister_err *err)
{
    int rc = e->ops->start(e, err);
    if (rc != CLOISTER_OK)
        return rc;
    struct tee_call start = {.number = TEE_ECALL_START};
    struct cloister_err why = {0};
    rc = call_locked(e, &start, 1, &why);
    if (rc == CLOISTER_OK)
        rc = start.status;
    free(start.out);
    if (rc != CLOISTER_OK) {
        e->ops->stop(e);
        return cloister_errf(err, rc, "enclave '%s' did not start: %s", e->name, why.msg);
    }
    clog_info("enclave '%s' started (%s backend, pid %d)", e->name,
              tee_backend_name(e->opt.backend), e->pid);
    return CLOISTER_OK;
}

int tee_create_signed(struct tee_options *o, const char *name, uint64_t heap_size,
                      tee_enclave **out, struct cloister_err *err)
{
    char image[PATH_MAX], dir[] = "/tmp/cloister-signed-XXXXXX", sig[sizeof dir + 16];
    uint8_t seed[TEE_SEED_LEN];
    if (tee_image_path(name, image, sizeof image, NULL) != CLOISTER_OK)
        return cloister_errf(err, CLOISTER_E_NOT_FOUND,
                             "cannot find the %s enclave image (set CLOISTER_ENCLAVE_DIR)", name);
    if (!mkdtemp(dir))
        return cloister_errf(err, CLOISTER_E_SYSTEM, "cannot make a temporary directory");
    snprintf(sig, sizeof sig, "%s/image.sig", dir);
    int rc = crypto_random(seed, sizeof seed) == 0
                 ? tee_sign_file_sized(image, heap_size, 0, seed, sig, err)
                 : cloister_errf(err, CLOISTER_E_FAILED, "random number generator failed");
    crypto_wipe(seed, sizeof seed);
    o->image = image;
    o->signature = sig;
    if (rc == CLOISTER_OK && (rc = tee_create(o, out, err)) != CLOISTER_OK)
        cloister_err_wrap(err, "starting the %s enclave", name);
    file_remove_tree(dir);
    o->image = o->signature = NULL; /* they pointed here */
    return rc;
}

int tee_create(const struct tee_options *o, tee_enclave **out, struct cloister_err *err)
{
    *out = NULL;
    int rc = check_options(o, err);
    if (rc != CLOISTER_OK)
        return rc;
    struct tee_enclave *e = calloc(1, sizeof *e);
    if (!e)
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
    pthread_rwlock_init(&e->lock, NULL);
    host_counters_init(e);
    e->ops = o->backend == TEE_BACKEND_SIM ? &host_sim_backend : &host_proc_backend;
    rc = resolve(e, o, err);
    if (rc == CLOISTER_OK)
        rc = load_image(e, err);
    if (rc == CLOISTER_OK)
        rc = host_epc_join(e, err);
    if (rc == CLOISTER_OK && (rc = start_enclave(e, err)) != CLOISTER_OK)
        host_epc_leave(e);
    if (rc != CLOISTER_OK) {
        free_enclave(e);
        return rc;
    }
    *out = e;
    return CLOISTER_OK;
}

void tee_destroy(tee_enclave *e)
{
    if (!e)
        return;
    pthread_rwlock_wrlock(&e->lock);
    e->ops->stop(e);
    pthread_rwlock_unlock(&e->lock);
    host_epc_leave(e);
    free_enclave(e);
}

int tee_restart(tee_enclave *e, struct cloister_err *err)
{
    pthread_rwlock_wrlock(&e->lock);
    e->ops->stop(e);
    host_epc_reset(e);
    atomic_fetch_add(&e->restarts, 1);
    int rc = start_enclave(e, err);
    pthread_rwlock_unlock(&e->lock);
    return rc;
}

void host_put_request(struct wire_writer *w, const struct tee_call *calls, size_t n)
{
    wire_put_header(w, MSG_REQUEST, MSG_VERSION);
    wire_put_varint(w, n);
    for (size_t i = 0; i < n; i++) {
        wire_put_varint(w, calls[i].number);
        wire_put_bytes(w, calls[i].in, calls[i].inlen);
    }
}

int host_request_too_big(const struct tee_enclave *e, size_t n, struct cloister_err *err)
{
    return cloister_errf(err, CLOISTER_E_TOO_BIG,
                         "enclave '%s': a request of %zu calls exceeds the %zu-byte message limit",
                         e->name, n, e->opt.max_message);
}

/* The enclave's error text, made printable. */
static void set_enclave_error(const struct tee_enclave *e, uint32_t number, int status,
                              const uint8_t *text, size_t len, struct cloister_err *err)
{
    char clean[300];
    size_t n = len < sizeof clean - 1 ? len : sizeof clean - 1;
    for (size_t i = 0; i < n; i++)
        clean[i] = isprint(text[i]) ? (char)text[i] : '?';
    clean[n] = 0;
    cloister_errf(err, status, "enclave '%s', ecall %#x: %s%s%s", e->name, number,
                  cloister_strerror(status), n ? ": " : "", clean);
}

/* A failed call's out: the enclave's own text (printable, NUL-terminated, at most 1 KiB), so that
 * a batch keeps every call's reason; none when out of memory. */
static void refusal_text(struct tee_call *call, const uint8_t *text, size_t len)
{
    len = len < 1024 ? len : 1024;
    if (!(call->out = malloc(len + 1)))
        return;
    for (size_t i = 0; i < len; i++)
        call->out[i] = isprint(text[i]) ? text[i] : '?';
    call->out[len] = 0;
    call->outlen = len;
}

static void free_outputs(struct tee_call *calls, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(calls[i].out);
        calls[i].out = NULL;
        calls[i].outlen = 0;
    }
}

static int protocol_error(const struct tee_enclave *e, struct wire_reader *r,
                          struct cloister_err *err)
{
    return cloister_errf(err, CLOISTER_E_PROTOCOL, "enclave '%s' sent a malformed response: %s",
                         e->name, wire_reader_error(r));
}

int host_get_response(struct tee_enclave *e, const uint8_t *buf, size_t len, struct tee_call *calls,
                      size_t n, struct cloister_err *err)
{
    struct wire_reader r;
    wire_reader_init(&r, buf, len);
    wire_get_header(&r, MSG_RESPONSE, MSG_VERSION);
    int status = msg_status_decode(&r);
    if (wire_reader_ok(&r) && status != CLOISTER_OK) {
        size_t tlen;
        const uint8_t *text = wire_get_bytes(&r, 1024, &tlen);
        if (wire_reader_finish(&r) != 0)
            return protocol_error(e, &r, err);
        set_enclave_error(e, calls[0].number, status, text, tlen, err);
        return status;
    }
    uint64_t count = wire_get_varint(&r);
    if (wire_reader_ok(&r) && count != n)
        wire_reader_fail(&r, "result count differs from the call count");
    for (size_t i = 0; i < n && wire_reader_ok(&r); i++) {
        calls[i].status = msg_status_decode(&r);
        size_t olen;
        const uint8_t *out = wire_get_bytes(&r, e->opt.max_message, &olen);
        if (!wire_reader_ok(&r))
            break;
        if (calls[i].status != CLOISTER_OK) {
            set_enclave_error(e, calls[i].number, calls[i].status, out, olen, err);
            refusal_text(&calls[i], out, olen);
        } else if (olen) {
            if (!(calls[i].out = malloc(olen))) {
                calls[i].status = cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
                continue;
            }
            memcpy(calls[i].out, out, olen);
            calls[i].outlen = olen;
        }
    }
    if (wire_reader_finish(&r) != 0) {
        free_outputs(calls, n);
        return protocol_error(e, &r, err);
    }
    return CLOISTER_OK;
}

static int check_calls(const struct tee_enclave *e, const struct tee_call *calls, size_t n,
                       struct cloister_err *err)
{
    if (n == 0 || n > TEE_BATCH_MAX)
        return cloister_errf(err, CLOISTER_E_INVALID, "a batch has 1..%u calls, got %zu",
                             TEE_BATCH_MAX, n);
    for (size_t i = 0; i < n; i++) {
        if (calls[i].inlen > e->opt.max_message)
            return cloister_errf(err, CLOISTER_E_TOO_BIG,
                                 "ecall %#x: %zu input bytes exceed the %zu-byte message limit",
                                 calls[i].number, calls[i].inlen, e->opt.max_message);
        if (calls[i].inlen && !calls[i].in)
            return cloister_errf(err, CLOISTER_E_INVALID, "ecall %#x: NULL input of %zu bytes",
                                 calls[i].number, calls[i].inlen);
    }
    return CLOISTER_OK;
}

static int call_locked(struct tee_enclave *e, struct tee_call *calls, size_t n,
                       struct cloister_err *err)
{
    int rc = check_calls(e, calls, n, err);
    if (rc != CLOISTER_OK)
        return rc;
    for (size_t i = 0; i < n; i++) {
        calls[i].out = NULL;
        calls[i].outlen = 0;
        calls[i].status = CLOISTER_E_FAILED;
    }
    uint64_t refusals = host_epc_refusals(e);
    rc = e->ops->call(e, calls, n, err);
    uint64_t delta[HOST_NCOUNTERS] = {[HOST_ECALLS] = n, [HOST_CROSSINGS] = rc == CLOISTER_OK};
    for (size_t i = 0; i < n; i++) {
        if (rc != CLOISTER_OK)
            calls[i].status = rc;
        delta[HOST_BYTES_IN] += rc == CLOISTER_OK ? calls[i].inlen : 0;
        delta[HOST_BYTES_OUT] += calls[i].status == CLOISTER_OK ? calls[i].outlen : 0;
        delta[HOST_FAILURES] += calls[i].status != CLOISTER_OK;
    }
    if (delta[HOST_FAILURES])
        host_epc_explain(e, refusals, err);
    host_counters_add(e, delta);
    return rc;
}

int tee_ecall_batch(tee_enclave *e, struct tee_call *calls, size_t n, struct cloister_err *err)
{
    if (in_ocall_of == e)
        return cloister_errf(err, CLOISTER_E_BUSY,
                             "enclave '%s': ecall from inside one of its ocalls", e->name);
    pthread_rwlock_rdlock(&e->lock);
    int rc = call_locked(e, calls, n, err);
    pthread_rwlock_unlock(&e->lock);
    return rc;
}

int tee_ecall(tee_enclave *e, uint32_t number, const void *in, size_t inlen, uint8_t **out,
              size_t *outlen, struct cloister_err *err)
{
    struct tee_call call = {.number = number, .in = in, .inlen = inlen};
    int rc = tee_ecall_batch(e, &call, 1, err);
    if (rc == CLOISTER_OK)
        rc = call.status;
    if (rc != CLOISTER_OK) { /* the refusal text is in err */
        free(call.out);
        call.out = NULL;
        call.outlen = 0;
    }
    if (out) {
        *out = call.out;
        *outlen = call.outlen;
    } else if (call.out) {
        crypto_wipe(call.out, call.outlen);
        free(call.out);
    }
    return rc;
}

/* The enclave's refusal without the runtime's "enclave 'x', ecall 0x6: <code's meaning>: " head:
 * a caller's user reads what was wrong, not the plumbing. Other texts stay whole. */
static void strip_enclave_head(const tee_enclave *e, uint32_t number, int status,
                               struct cloister_err *err)
{
    char head[sizeof err->msg];
    int n = snprintf(head, sizeof head, "enclave '%s', ecall %#x: %s: ", e->name, number,
                     cloister_strerror(status));
    if (n > 0 && (size_t)n < sizeof head && strncmp(err->msg, head, (size_t)n) == 0)
        memmove(err->msg, err->msg + n, strlen(err->msg + n) + 1);
}

int tee_ecall_writer(tee_enclave *e, uint32_t number, struct wire_writer *in, uint8_t **out,
                     size_t *outlen, struct cloister_err *err)
{
    *out = NULL;
    *outlen = 0;
    int rc = wire_writer_ok(in)
                 ? tee_ecall(e, number, in->buf, in->len, out, outlen, err)
                 : cloister_errf(err, CLOISTER_E_NO_MEMORY, "request too large or out of memory");
    wire_writer_free(in);
    if (rc != CLOISTER_OK && err)
        strip_enclave_head(e, number, rc, err);
    return rc;
}

void tee_calls_free(struct tee_call *calls, size_t n)
{
    free_outputs(calls, n);
}

/* The host's own ocalls: a directory of sealed blobs, one file per name. */
static int store_path(const struct tee_enclave *e, const char *name, char *path, size_t cap,
                      struct cloister_err *err)
{
    if (!safe_name(name))
        return cloister_errf(err, CLOISTER_E_INVALID, "store: bad blob name");
    int n = snprintf(path, cap, "%s/%s.sealed", e->store_dir, name);
    return n > 0 && (size_t)n < cap ? CLOISTER_OK
                                    : cloister_errf(err, CLOISTER_E_INVALID, "store: path");
}

static int store_put(struct tee_enclave *e, const uint8_t *in, size_t inlen,
                     struct cloister_err *err)
{
    struct wire_reader r;
    wire_reader_init(&r, in, inlen);
    char name[TEE_NAME_MAX], path[4096];
    wire_get_str(&r, name, sizeof name);
    size_t len;
    const uint8_t *blob = wire_get_bytes(&r, inlen, &len);
    if (wire_reader_finish(&r) != 0)
        return cloister_errf(err, CLOISTER_E_INVALID, "store_put: %s", wire_reader_error(&r));
    int rc = store_path(e, name, path, sizeof path, err);
    if (rc != CLOISTER_OK)
        return rc;
    if (file_mkdirs(e->store_dir, 0700) != 0 || file_write_atomic(path, blob, len, 0600) != 0)
        return cloister_errf(err, CLOISTER_E_SYSTEM, "store_put %s: %s", path, strerror(errno));
    return CLOISTER_OK;
}

static int store_get(struct tee_enclave *e, const uint8_t *in, size_t inlen,
                     struct wire_writer *out, struct cloister_err *err)
{
    struct wire_reader r;
    wire_reader_init(&r, in, inlen);
    char name[TEE_NAME_MAX], path[4096];
    wire_get_str(&r, name, sizeof name);
    if (wire_reader_finish(&r) != 0)
        return cloister_errf(err, CLOISTER_E_INVALID, "store_get: %s", wire_reader_error(&r));
    int rc = store_path(e, name, path, sizeof path, err);
    if (rc != CLOISTER_OK)
        return rc;
    uint8_t *blob;
    size_t len;
    if (file_read_all(path, e->opt.max_message / 2, &blob, &len) != 0)
        return errno == ENOENT ? CLOISTER_OK
                               : cloister_errf(err, CLOISTER_E_SYSTEM, "store_get %s: %s", path,
                                               strerror(errno));
    wire_put_raw(out, blob, len);
    free(blob);
    return CLOISTER_OK;
}

static int run_ocall(struct tee_enclave *e, uint32_t number, const uint8_t *in, size_t inlen,
                     struct wire_writer *out, struct cloister_err *err)
{
    if (number == TEE_OCALL_STORE_PUT)
        return store_put(e, in, inlen, err);
    if (number == TEE_OCALL_STORE_GET)
        return store_get(e, in, inlen, out, err);
    if (number == TEE_OCALL_EPC_COMMIT)
        return host_epc_commit(e, in, inlen, err);
    for (size_t i = 0; i < e->opt.nocalls; i++) {
        if (e->opt.ocalls[i].number != number)
            continue;
        in_ocall_of = e;
        int rc = e->opt.ocalls[i].fn(e->opt.ocall_arg, in, inlen, out);
        in_ocall_of = NULL;
        if (rc > 0 || rc < CLOISTER_E_LAST)
            rc = CLOISTER_E_FAILED;
        if (rc != CLOISTER_OK)
            cloister_errf(err, rc, "ocall %s failed: %s", e->opt.ocalls[i].name,
                          cloister_strerror(rc));
        return rc;
    }
    return cloister_errf(err, CLOISTER_E_NO_ECALL, "the host has no ocall %#x", number);
}

void host_serve_ocall(struct tee_enclave *e, const uint8_t *msg, size_t len,
                      struct wire_writer *answer)
{
    atomic_fetch_add(&e->ocalls, 1);
    struct wire_reader r;
    wire_reader_init(&r, msg, len);
    wire_get_header(&r, MSG_OCALL, MSG_VERSION);
    uint64_t number = wire_get_varint(&r);
    size_t inlen;
    const uint8_t *in = wire_get_bytes(&r, e->opt.max_message, &inlen);
    struct wire_writer out;
    wire_writer_init(&out);
    struct cloister_err err = {0};
    int rc;
    if (wire_reader_finish(&r) != 0 || number > UINT32_MAX)
        rc = cloister_errf(&err, CLOISTER_E_INVALID, "malformed ocall: %s", wire_reader_error(&r));
    else
        rc = run_ocall(e, (uint32_t)number, in, inlen, &out, &err);
    if (rc == CLOISTER_OK && !wire_writer_ok(&out))
        rc = cloister_errf(&err, CLOISTER_E_NO_MEMORY, "ocall answer could not be written");
    if (rc == CLOISTER_OK && out.len + 64 > e->opt.max_message)
        rc = cloister_errf(&err, CLOISTER_E_TOO_BIG, "ocall answer of %zu bytes exceeds the limit",
                           out.len);
    wire_put_header(answer, MSG_ANSWER, MSG_VERSION);
    wire_put_u8(answer, msg_status_encode(rc));
    if (rc == CLOISTER_OK)
        wire_put_bytes(answer, out.buf, out.len);
    else
        wire_put_bytes(answer, err.msg, strlen(err.msg));
    wire_writer_free(&out);
}

int tee_get_info(tee_enclave *e, struct tee_info *info)
{
    memset(info, 0, sizeof *info);
    pthread_rwlock_rdlock(&e->lock);
    snprintf(info->name, sizeof info->name, "%s", e->name);
    info->backend = e->opt.backend;
    info->alive = e->ops->alive(e);
    info->pid = e->pid;
    memcpy(info->mrenclave, e->id.mrenclave, sizeof info->mrenclave);
    memcpy(info->mrsigner, e->id.mrsigner, sizeof info->mrsigner);
    info->product_id = e->id.config.product_id;
    info->svn = e->id.config.svn;
    info->debug = e->id.config.debug;
    info->sandbox = e->sandbox;
    info->wait = e->opt.wait;
    info->spin_count = e->opt.wait == TEE_WAIT_BLOCK ? 0 : e->opt.spin_count;
    info->workers = e->opt.workers;
    info->slots = e->opt.slots;
    info->max_message = e->opt.max_message;
    uint64_t sum[HOST_NCOUNTERS];
    host_counters_sum(e, sum);
    info->stats = (struct tee_stats){
        .ecalls = sum[HOST_ECALLS],
        .crossings = sum[HOST_CROSSINGS],
        .ocalls = atomic_load(&e->ocalls),
        .bytes_in = sum[HOST_BYTES_IN],
        .bytes_out = sum[HOST_BYTES_OUT],
        .switchless_hits = atomic_load(&e->hits),
        .switchless_fallbacks = atomic_load(&e->fallbacks),
        .failures = sum[HOST_FAILURES],
        .restarts = atomic_load(&e->restarts),
    };
    pthread_rwlock_unlock(&e->lock);
    return CLOISTER_OK;
}

int tee_epc_stats(tee_enclave *e, struct epc_stats *out, struct cloister_err *err)
{
    uint8_t *buf;
    size_t len;
    int rc = tee_ecall(e, TEE_ECALL_EPC_STATS, NULL, 0, &buf, &len, err);
    if (rc != CLOISTER_OK)
        return rc;
    struct cloister_err why;
    if (epc_stats_decode(out, buf, len, &why) != 0)
        rc = cloister_errf(err, CLOISTER_E_PROTOCOL, "enclave '%s' sent malformed %s", e->name,
                           why.msg);
    free(buf);
    return rc;
}
