/* enclave_main.c -- the entry point of every enclave image (proc backend): start, sandbox,
 * serve the ring.
 *
 * The host forks and fexecve's the image from a sealed memfd with the ring's memfd on fd 3 and
 * the start message in the ring's control area. The enclave then, in this order:
 *   1. copies the start message into private memory and decodes it;
 *   2. hardens itself (no_new_privs, no capabilities, not dumpable, no core);
 *   3. reads its own executable (/proc/self/exe: the sealed memfd), checks that it is sealed,
 *      and verifies it against the signature file the host passed (identity is established
 *      here, not told by the host); runs the crypto self-test (which also makes OpenSSL load
 *      what it needs from the filesystem); opens the platform secrets;
 *   4. closes the filesystem (Landlock), creates its worker threads, installs seccomp on all;
 *   5. writes the start reply (identity and the sandbox actually in force, or why it failed)
 *      and serves calls until the host says stop or goes away.
 * Each worker claims REQUEST slots, copies the request into private memory, runs it through
 * the same dispatch as the sim backend, and copies the response back (ring.h).
 *
 * Gramine mode (no seccomp or Landlock of ours, quotes from /dev/attestation, the ring in a
 * file) is fixed when the image is built (-DCLOISTER_GRAMINE=ON), never read from the
 * environment or the filesystem, which the host controls. */
#include "tee/enclave/rt.h"
#include "tee/ring/ring.h"

#include <cloister/crypto.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef CLOISTER_GRAMINE
#define GRAMINE true
#else
#define GRAMINE false
#endif

struct enclave_proc {
    struct ring ring;
    struct tee_rt *rt;
    uint32_t spin;
    pid_t host;
    unsigned nworkers;
    size_t max_message;
    _Atomic unsigned running; /* worker threads past their start-up */
};

struct start_msg {
    char name[TEE_NAME_MAX];
    const uint8_t *sig;
    size_t siglen;
    char home[PATH_MAX];
    uint64_t workers, spin, max_message;
    uint8_t wait;
};

struct worker {
    struct tee_port port; /* first: the port's ocall finds its worker */
    struct enclave_proc *ep;
    pthread_t thread;
    uint32_t slot;
    uint8_t *msg, *answer; /* private copies of the request and of an ocall's answer */
    size_t msgcap, answercap;
    struct wire_writer resp, scratch;
};

static bool host_gone(void *arg)
{
    const struct enclave_proc *ep = arg;
    return getppid() != ep->host;
}

static int grow(uint8_t **buf, size_t *cap, size_t need)
{
    if (need <= *cap)
        return 0;
    uint8_t *p = tee_malloc(need);
    if (!p)
        return -1;
    if (*buf) {
        crypto_wipe(*buf, *cap);
        tee_free(*buf);
    }
    *buf = p;
    *cap = need;
    return 0;
}

/* Copies a message out of the shared slot; -1 if the length is impossible. */
static int copy_in(struct ring_slot *s, size_t capacity, uint8_t **buf, size_t *cap, size_t *len)
{
    uint32_t n = atomic_load(&s->len);
    if (n > capacity || grow(buf, cap, n ? n : 1) != 0)
        return -1;
    memcpy(*buf, (uint8_t *)s + RING_SLOT_HEAD, n);
    *len = n;
    return 0;
}

static int worker_ocall(struct tee_port *port, const uint8_t *req, size_t len,
                        const uint8_t **answer, size_t *answer_len)
{
    struct worker *w = (struct worker *)port;
    struct enclave_proc *ep = w->ep;
    struct ring_slot *s = ring_slot(&ep->ring, w->slot);
    size_t capacity = ring_slot_capacity(&ep->ring);
    if (len > capacity)
        return CLOISTER_E_TOO_BIG;
    memcpy(ring_slot_data(&ep->ring, w->slot), req, len);
    atomic_store(&s->len, (uint32_t)len);
    ring_slot_set(s, RING_SLOT_OCALL, &s->host_sleeps);
    for (;;) {
        uint32_t st = atomic_load(&s->state);
        if (st == RING_SLOT_OCALL_DONE)
            break;
        if (st != RING_SLOT_OCALL)
            return CLOISTER_E_PROTOCOL;
        bool slept = false;
        if (ring_wait_change(&s->state, st, ep->spin, &s->enclave_sleeps, -1, 1000, host_gone, ep,
                             &slept) == RING_WAIT_ABANDONED)
            _exit(0);
    }
    size_t n;
    int rc = copy_in(s, capacity, &w->answer, &w->answercap, &n);
    atomic_store(&s->state, RING_SLOT_BUSY);
    if (rc != 0)
        return CLOISTER_E_PROTOCOL;
    *answer = w->answer;
    *answer_len = n;
    return CLOISTER_OK;
}

static int scan(struct enclave_proc *ep, uint32_t start)
{
    uint32_t n = ep->ring.nslots;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t idx = (start + i) % n, expected = RING_SLOT_REQUEST;
        struct ring_slot *s = ring_slot(&ep->ring, idx);
        if (atomic_load_explicit(&s->state, memory_order_relaxed) == RING_SLOT_REQUEST &&
            atomic_compare_exchange_strong(&s->state, &expected, RING_SLOT_BUSY))
            return (int)idx;
    }
    return -1;
}

/* The next request's slot, or -1 once the host asks to stop. Spins, then sleeps on the
 * submission counter (which the host bumps and wakes after posting a request). */
static int claim(struct worker *w)
{
    struct enclave_proc *ep = w->ep;
    struct ring_header *h = ep->ring.hdr;
    for (;;) {
        uint32_t seq = atomic_load(&h->submit_seq);
        for (uint32_t spun = 0;; spun++) {
            int slot = scan(ep, w->slot);
            if (slot >= 0)
                return slot;
            if (spun % 256 == 0 && atomic_load(&h->phase) != RING_PHASE_RUNNING)
                return -1;
            if (spun >= ep->spin)
                break;
            ring_spin_step(spun);
        }
        atomic_fetch_add(&h->idle_workers, 1);
        ring_futex_wait(&h->submit_seq, seq, 1000);
        atomic_fetch_sub(&h->idle_workers, 1);
        if (atomic_load(&h->phase) != RING_PHASE_RUNNING)
            return -1;
        if (host_gone(ep))
            _exit(0);
    }
}

static void serve_one(struct worker *w)
{
    struct enclave_proc *ep = w->ep;
    struct ring_slot *s = ring_slot(&ep->ring, w->slot);
    size_t capacity = ring_slot_capacity(&ep->ring), len;
    tee_writer_empty(&w->resp);
    if (copy_in(s, capacity, &w->msg, &w->msgcap, &len) == 0) {
        tee_rt_handle(ep->rt, &w->port, w->msg, len, &w->resp, &w->scratch);
        crypto_wipe(w->msg, len);
    } else {
        /* An impossible length: answer with an undecodable request's error. */
        tee_rt_handle(ep->rt, &w->port, NULL, 0, &w->resp, &w->scratch);
    }
    if (w->resp.len <= capacity) {
        memcpy(ring_slot_data(&ep->ring, w->slot), w->resp.buf, w->resp.len);
        atomic_store(&s->len, (uint32_t)w->resp.len);
    } else {
        atomic_store(&s->len, 0); /* cannot happen: dispatch keeps within max_message */
    }
    tee_writer_empty(&w->resp); /* released bytes: the ring shows them anyway */
    ring_slot_set(s, RING_SLOT_DONE, &s->host_sleeps);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct ring_header *h = w->ep->ring.hdr;
    atomic_fetch_add(&w->ep->running, 1);
    _Atomic uint32_t sleeps = 0; /* nobody wakes by it: the main thread wakes all */
    bool slept;
    while (atomic_load(&h->phase) == RING_PHASE_STARTING)
        ring_wait_change(&h->phase, RING_PHASE_STARTING, 0, &sleeps, -1, 1000, host_gone, w->ep,
                         &slept);
    int slot;
    while ((slot = claim(w)) >= 0) {
        w->slot = (uint32_t)slot;
        serve_one(w);
    }
    return NULL;
}

static int decode_start(struct start_msg *m, const uint8_t *buf, size_t len)
{
    struct wire_reader r;
    wire_reader_init(&r, buf, len);
    wire_get_header(&r, MSG_START, MSG_VERSION);
    wire_get_str(&r, m->name, sizeof m->name);
    m->sig = wire_get_bytes(&r, RING_CONTROL_SIZE, &m->siglen);
    wire_get_str(&r, m->home, sizeof m->home);
    m->workers = wire_get_varint(&r);
    m->spin = wire_get_varint(&r);
    m->wait = wire_get_u8(&r);
    m->max_message = wire_get_varint(&r);
    if (wire_reader_finish(&r) != 0)
        return -1;
    return m->workers >= 1 && m->workers <= TEE_WORKERS_MAX && m->spin <= UINT32_MAX &&
                   m->wait <= TEE_WAIT_BLOCK && m->max_message >= 256
               ? 0
               : -1;
}

/* The image this process runs, checked against its signature: the measured bytes must be the
 * bytes that run, so a memfd must carry the write/grow/shrink seals. */
static int check_identity(struct tee_identity *id, const struct start_msg *m,
                          struct cloister_err *err)
{
    int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return cloister_errf(err, CLOISTER_E_SYSTEM, "cannot open /proc/self/exe: %s",
                             strerror(errno));
    int seals = fcntl(fd, F_GET_SEALS);
    int need = F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK;
    int rc = 0;
    if (seals >= 0 && (seals & need) != need)
        rc = cloister_errf(err, CLOISTER_E_DENIED,
                           "the image runs from an unsealed memfd (seals %#x)", seals);
    if (rc == 0)
        rc = tee_image_verify_fd(id, fd, m->sig, m->siglen, err);
    close(fd);
    return rc;
}

static void write_reply(struct enclave_proc *ep, int status, const char *message,
                        const struct tee_identity *id, const struct tee_sandbox *sb)
{
    struct wire_writer w;
    wire_writer_init_fixed(&w, ep->ring.control, RING_CONTROL_SIZE);
    wire_put_header(&w, MSG_REPLY, MSG_VERSION);
    wire_put_u8(&w, msg_status_encode(status));
    wire_put_str(&w, message);
    if (status == CLOISTER_OK) {
        wire_put_bytes(&w, id->mrenclave, TEE_HASH_LEN);
        wire_put_bytes(&w, id->mrsigner, TEE_HASH_LEN);
        wire_put_u16(&w, id->config.product_id);
        wire_put_u16(&w, id->config.svn);
        wire_put_u8(&w, id->config.debug);
        wire_put_u8(&w, (uint8_t)(sb->no_new_privs | sb->not_dumpable << 1 | sb->no_core << 2 |
                                  sb->seccomp << 3 | sb->sanitizer_allowances << 4 |
                                  sb->no_capabilities << 5));
        wire_put_u8(&w, (uint8_t)sb->landlock_abi);
        wire_put_u8(&w, (uint8_t)sb->secret_memory);
        wire_put_varint(&w, (uint64_t)getpid());
    }
    ep->ring.hdr->reply_len = (uint32_t)w.len;
}

/* Step 1-3: everything that reads outside the process happens here. */
static int load(struct enclave_proc *ep, const struct tee_enclave_def *def, const uint8_t *msg,
                size_t len, struct tee_identity *id, struct tee_sandbox *sb,
                struct cloister_err *err)
{
    struct start_msg m;
    if (decode_start(&m, msg, len) != 0)
        return cloister_errf(err, CLOISTER_E_PROTOCOL, "start message: malformed");
    if (tee_sandbox_harden(sb, err) != 0)
        return CLOISTER_E_SYSTEM;
    if (check_identity(id, &m, err) != 0)
        return CLOISTER_E_IMAGE;
    const char *failed;
    if (crypto_selftest(&failed) != 0)
        return cloister_errf(err, CLOISTER_E_FAILED, "crypto self-test failed: %s", failed);
    tee_self *self = tee_rt_load_self(id, m.home, err);
    if (!self)
        return CLOISTER_E_DENIED;
    size_t capacity = ring_slot_capacity(&ep->ring);
    ep->spin = m.wait == TEE_WAIT_BLOCK ? 0 : (uint32_t)m.spin;
    ep->nworkers = (unsigned)m.workers;
    ep->max_message = m.max_message < capacity ? m.max_message : capacity;
    if (!(ep->rt = tee_rt_new(def, self, ep->max_message))) {
        tee_self_free(self);
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
    }
    ep->rt->gramine = GRAMINE;
    return CLOISTER_OK;
}

/* Step 4: close the filesystem, create the workers, then seccomp on every thread. */
static int enter_sandbox(struct enclave_proc *ep, struct worker *workers, struct tee_sandbox *sb,
                         struct cloister_err *err)
{
    sb->secret_memory = tee_secret_memory_kind();
    bool gramine = ep->rt->gramine; /* SGX isolates it there; Gramine has no seccomp/Landlock */
    if (!gramine && tee_sandbox_landlock(sb, err) != 0)
        return CLOISTER_E_SYSTEM;
    unsigned n = ep->nworkers;
    for (unsigned i = 0; i < n; i++) {
        workers[i] = (struct worker){.port.ocall = worker_ocall, .ep = ep};
        wire_writer_init(&workers[i].resp);
        wire_writer_init(&workers[i].scratch);
        if (i > 0 && pthread_create(&workers[i].thread, NULL, worker_main, &workers[i]) != 0) {
            ep->nworkers = i;
            return cloister_errf(err, CLOISTER_E_SYSTEM, "cannot create worker thread %u", i);
        }
    }
    /* A new thread makes a few system calls of its own (robust list, rseq) as it starts: let
     * them finish before the filter exists. */
    while (atomic_load(&ep->running) < n - 1)
        sched_yield();
    if (!gramine && tee_sandbox_seccomp(sb, err) != 0)
        return CLOISTER_E_SYSTEM;
    return CLOISTER_OK;
}

static int start(struct enclave_proc *ep, const struct tee_enclave_def *def, struct worker *workers,
                 struct tee_identity *id, struct tee_sandbox *sb, struct cloister_err *err)
{
    uint32_t len = ep->ring.hdr->start_len;
    if (len > RING_CONTROL_SIZE)
        return cloister_errf(err, CLOISTER_E_PROTOCOL, "start message: bad length %u", len);
    uint8_t *copy = tee_malloc(len ? len : 1);
    if (!copy)
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
    memcpy(copy, ep->ring.control, len);
    int status = load(ep, def, copy, len, id, sb, err);
    crypto_wipe(copy, len);
    tee_free(copy);
    return status == CLOISTER_OK ? enter_sandbox(ep, workers, sb, err) : status;
}

static void free_worker(struct worker *w)
{
    if (w->msg) {
        crypto_wipe(w->msg, w->msgcap);
        tee_free(w->msg);
    }
    if (w->answer) {
        crypto_wipe(w->answer, w->answercap);
        tee_free(w->answer);
    }
    wire_writer_free(&w->resp);
    wire_writer_free(&w->scratch);
}

int tee_enclave_main(const struct tee_enclave_def *def, int argc, char **argv)
{
    struct enclave_proc ep = {.host = getppid()};
    /* Under Gramine the ring is a file on an untrusted_shm mount (docs/tee.md, untested). */
    const char *ring_file = GRAMINE ? getenv("CLOISTER_RING_FILE") : NULL;
    int ring_fd = ring_file ? open(ring_file, O_RDWR | O_CLOEXEC) : RING_FD;
    if (ring_fd < 0 || ring_attach(&ep.ring, ring_fd) != 0) {
        fprintf(stderr,
                "%s: an enclave image is started by a cloister host (tee_create), "
                "not directly\n",
                argc > 0 ? argv[0] : "enclave");
        return 2;
    }
    static struct worker workers[TEE_WORKERS_MAX];
    struct tee_identity id;
    struct tee_sandbox sb = {0};
    struct cloister_err err = {0};
    int status = start(&ep, def, workers, &id, &sb, &err);
    struct ring_header *h = ep.ring.hdr;
    write_reply(&ep, status, err.msg, &id, &sb);
    atomic_store(&h->phase, status == CLOISTER_OK ? RING_PHASE_RUNNING : RING_PHASE_FAILED);
    ring_futex_wake(&h->phase, INT_MAX);
    if (status == CLOISTER_OK)
        worker_main(&workers[0]);
    atomic_store(&h->phase, RING_PHASE_STOPPING); /* release the other workers too */
    ring_futex_wake(&h->submit_seq, INT_MAX);
    for (unsigned i = 1; i < ep.nworkers; i++)
        pthread_join(workers[i].thread, NULL);
    for (unsigned i = 0; i < ep.nworkers; i++)
        free_worker(&workers[i]);
    tee_rt_free(ep.rt);
    ring_unmap(&ep.ring);
    /* _exit: no atexit handlers (they would need more than the sandbox allows). */
    _exit(status == CLOISTER_OK ? 0 : 1);
}
