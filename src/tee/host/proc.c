/* proc.c -- the proc backend: the enclave as a sandboxed process reached over a shared ring.
 *
 * Start: the image bytes the loader verified are copied into a memfd, sealed (write, grow,
 * shrink, seal) and fexecve'd, so the bytes that run are the bytes that were measured; the
 * ring's memfd is fd 3 in the child; everything else is closed on exec. The enclave checks
 * itself, sandboxes itself and answers in the ring's control area (enclave_main.c).
 *
 * Calls: the caller owns a slot (host-private bookkeeping, so the enclave cannot steal one),
 * encodes its request straight into the slot, publishes it, and waits for DONE spinning first
 * (switchless hit) and sleeping on the slot's futex after spin_count pauses (fallback). It
 * serves ocalls in between. Responses are decoded in place: every read is bounds-checked
 * against the length read once, so a hostile enclave changing the slot meanwhile can only
 * garble its own answer.
 *
 * Death: a monitor thread per enclave polls its pidfd; when the process ends it records why,
 * marks the enclave dead, stamps every slot DEAD and wakes every futex, so pending calls return
 * CLOISTER_E_DEAD at once and later calls fail fast. A call past call_timeout_ms, or an enclave
 * breaking the protocol, gets the process killed first. */
#define CLOG_MODULE "tee"
#include "tee/host/host.h"
#include "tee/ring/ring.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/log.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif
#ifndef MFD_EXEC
#define MFD_EXEC 0x0010u
#endif

#define START_TIMEOUT_MS 30000
#define STOP_GRACE_MS 2000
#define TICK_MS 1000

extern char **environ;

struct proc {
    struct ring ring;
    int ring_fd, pidfd;
    pid_t pid;
    pthread_t monitor;
    bool monitor_started;
    _Atomic bool dead;
    pthread_mutex_t death_lock;
    char death[200]; /* why it died, first reason wins */
    sem_t free_slots;
    _Atomic uint8_t owned[RING_SLOTS_MAX];
};

static bool proc_dead(void *arg)
{
    const struct proc *p = arg;
    return atomic_load(&p->dead);
}

static void set_death(struct proc *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_death(struct proc *p, const char *fmt, ...)
{
    pthread_mutex_lock(&p->death_lock);
    if (!p->death[0]) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(p->death, sizeof p->death, fmt, ap);
        va_end(ap);
    }
    pthread_mutex_unlock(&p->death_lock);
}

/* Marks the enclave dead and wakes everyone who waits on the ring. */
static void mark_dead(struct proc *p)
{
    atomic_store(&p->dead, true);
    for (uint32_t i = 0; i < p->ring.nslots; i++) {
        struct ring_slot *s = ring_slot(&p->ring, i);
        atomic_store(&s->state, RING_SLOT_DEAD);
        ring_futex_wake(&s->state, INT_MAX);
    }
    ring_futex_wake(&p->ring.hdr->phase, INT_MAX);
}

static void kill_enclave(struct proc *p, const char *why)
{
    set_death(p, "was killed by the host: %s", why);
    syscall(SYS_pidfd_send_signal, p->pidfd, SIGKILL, NULL, 0);
    mark_dead(p);
}

static void describe_exit(struct proc *p, const siginfo_t *si)
{
    if (si->si_code == CLD_EXITED) {
        set_death(p, "exited with status %d", si->si_status);
        return;
    }
    int sig = si->si_status;
    const char *abbrev = sigabbrev_np(sig);
    const char *why = sig == SIGSYS    ? ": a system call outside its seccomp allowlist"
                      : sig == SIGSEGV ? ": a memory fault"
                      : sig == SIGABRT ? ": it aborted"
                                       : "";
    set_death(p, "was killed by signal %d (SIG%s%s)", sig, abbrev ? abbrev : "?", why);
}

static void *monitor_main(void *arg)
{
    struct proc *p = arg;
    struct pollfd pfd = {.fd = p->pidfd, .events = POLLIN};
    while (poll(&pfd, 1, -1) < 0 && errno == EINTR)
        ;
    siginfo_t si;
    memset(&si, 0, sizeof si);
    while (waitid((idtype_t)P_PIDFD, (id_t)p->pidfd, &si, WEXITED) < 0 && errno == EINTR)
        ;
    describe_exit(p, &si);
    mark_dead(p);
    return NULL;
}

static int dead_error(const struct tee_enclave *e, struct proc *p, struct cloister_err *err)
{
    pthread_mutex_lock(&p->death_lock);
    cloister_errf(err, CLOISTER_E_DEAD, "enclave '%s' (pid %d) %s; tee_restart() starts it again",
                  e->name, (int)p->pid, p->death[0] ? p->death : "is gone");
    pthread_mutex_unlock(&p->death_lock);
    return CLOISTER_E_DEAD;
}

/* A copy of fd numbered 10 or above, so that dup2 onto fd 3 in the child clobbers nothing. */
static int high_fd(int fd)
{
    int h = fcntl(fd, F_DUPFD_CLOEXEC, 10);
    close(fd);
    return h;
}

static int sealed_image(const struct tee_enclave *e)
{
    int fd = memfd_create("cloister-enclave", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
    if (fd < 0 && errno == EINVAL)
        fd = memfd_create("cloister-enclave", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0)
        return -1;
    for (size_t off = 0; off < e->image_len;) {
        ssize_t n = write(fd, e->image + off, e->image_len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            close(fd);
            return -1;
        }
        off += (size_t)n;
    }
    if (fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) != 0) {
        close(fd);
        return -1;
    }
    return high_fd(fd);
}

static void put_start(const struct tee_enclave *e, struct proc *p)
{
    struct wire_writer w;
    wire_writer_init_fixed(&w, p->ring.control, RING_CONTROL_SIZE);
    wire_put_header(&w, MSG_START, MSG_VERSION);
    wire_put_str(&w, e->name);
    wire_put_bytes(&w, e->sig, e->sig_len);
    wire_put_str(&w, e->home);
    wire_put_varint(&w, e->opt.workers);
    wire_put_varint(&w, e->opt.spin_count);
    wire_put_u8(&w, (uint8_t)e->opt.wait);
    wire_put_varint(&w, e->opt.max_message);
    p->ring.hdr->start_len = wire_writer_ok(&w) ? (uint32_t)w.len : 0;
}

/* The child between fork and exec: only async-signal-safe calls. */
static void exec_child(const struct tee_enclave *e, int image_fd, int ring_fd, int null_fd)
{
    char argv0[TEE_NAME_MAX + 16];
    size_t n = strlen(e->name);
    memcpy(argv0, e->name, n);
    memcpy(argv0 + n, ".enclave", sizeof ".enclave");
    char *argv[] = {argv0, NULL};
    if (dup2(ring_fd, RING_FD) < 0 || dup2(null_fd, 0) < 0)
        _exit(126);
    if (e->opt.enclave_cpu >= 0) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(e->opt.enclave_cpu, &set);
        sched_setaffinity(0, sizeof set, &set);
    }
    close_range(RING_FD + 1, ~0u, CLOSE_RANGE_CLOEXEC);
    fexecve(image_fd, argv, environ);
    _exit(127);
}

static int spawn(struct tee_enclave *e, struct proc *p)
{
    int image_fd = sealed_image(e);
    int null_fd = high_fd(open("/dev/null", O_RDONLY | O_CLOEXEC));
    int rc = -1;
    if (image_fd >= 0 && null_fd >= 0) {
        p->pid = fork();
        if (p->pid == 0)
            exec_child(e, image_fd, p->ring_fd, null_fd);
        if (p->pid > 0) {
            p->pidfd = (int)syscall(SYS_pidfd_open, p->pid, 0);
            rc = p->pidfd >= 0 ? 0 : -1;
            if (rc != 0) {
                kill(p->pid, SIGKILL);
                waitpid(p->pid, NULL, 0);
            }
        }
    }
    int saved = errno;
    if (image_fd >= 0)
        close(image_fd);
    if (null_fd >= 0)
        close(null_fd);
    errno = saved;
    return rc;
}

static int read_reply(struct tee_enclave *e, struct proc *p, struct cloister_err *err)
{
    uint32_t len = p->ring.hdr->reply_len;
    struct wire_reader r;
    wire_reader_init(&r, p->ring.control, len <= RING_CONTROL_SIZE ? len : 0);
    wire_get_header(&r, MSG_REPLY, MSG_VERSION);
    int status = msg_status_decode(&r);
    char message[CLOISTER_ERR_MAX];
    wire_get_str(&r, message, sizeof message);
    if (wire_reader_ok(&r) && status != CLOISTER_OK)
        return cloister_errf(err, status, "enclave '%s' refused to start: %s", e->name, message);
    uint8_t mrenclave[TEE_HASH_LEN], mrsigner[TEE_HASH_LEN];
    wire_get_bytes_exact(&r, mrenclave, sizeof mrenclave);
    wire_get_bytes_exact(&r, mrsigner, sizeof mrsigner);
    uint16_t product_id = wire_get_u16(&r), svn = wire_get_u16(&r);
    wire_get_u8(&r); /* debug: part of the config, already compared through MRENCLAVE */
    uint8_t flags = wire_get_u8(&r);
    e->sandbox = (struct tee_sandbox){
        .no_new_privs = flags & 1,
        .not_dumpable = flags >> 1 & 1,
        .no_core = flags >> 2 & 1,
        .seccomp = flags >> 3 & 1,
        .sanitizer_allowances = flags >> 4 & 1,
        .no_capabilities = flags >> 5 & 1,
        .landlock_abi = wire_get_u8(&r),
    };
    uint8_t memory = wire_get_u8(&r);
    uint64_t pid = wire_get_varint(&r);
    if (wire_reader_finish(&r) != 0 || memory > TEE_SECRET_MEMORY_MEMFD_SECRET)
        return cloister_errf(err, CLOISTER_E_PROTOCOL, "enclave '%s': malformed start reply: %s",
                             e->name, wire_reader_error(&r));
    e->sandbox.secret_memory = (enum tee_secret_memory)memory;
    if (memcmp(mrenclave, e->id.mrenclave, TEE_HASH_LEN) != 0 ||
        memcmp(mrsigner, e->id.mrsigner, TEE_HASH_LEN) != 0 ||
        product_id != e->id.config.product_id || svn != e->id.config.svn)
        return cloister_errf(err, CLOISTER_E_IMAGE,
                             "enclave '%s' measured itself differently from the loader", e->name);
    if (pid != (uint64_t)p->pid)
        return cloister_errf(err, CLOISTER_E_PROTOCOL, "enclave '%s' reports pid %llu, not %d",
                             e->name, (unsigned long long)pid, (int)p->pid);
    return CLOISTER_OK;
}

static int wait_started(struct tee_enclave *e, struct proc *p, struct cloister_err *err)
{
    _Atomic uint32_t sleeps = 0;
    bool slept;
    enum ring_wait_result w = ring_wait_change(&p->ring.hdr->phase, RING_PHASE_STARTING, 0, &sleeps,
                                               START_TIMEOUT_MS, TICK_MS, proc_dead, p, &slept);
    uint32_t phase = atomic_load(&p->ring.hdr->phase);
    if (phase == RING_PHASE_RUNNING || phase == RING_PHASE_FAILED)
        return read_reply(e, p, err);
    if (w == RING_WAIT_TIMEOUT)
        kill_enclave(p, "no start reply");
    if (atomic_load(&p->dead))
        return dead_error(e, p, err);
    return cloister_errf(err, CLOISTER_E_PROTOCOL, "enclave '%s': unknown start phase %u", e->name,
                         phase);
}

static void proc_stop(struct tee_enclave *e);

static int proc_start(struct tee_enclave *e, struct cloister_err *err)
{
    struct proc *p = calloc(1, sizeof *p);
    if (!p)
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
    p->ring_fd = p->pidfd = -1;
    pthread_mutex_init(&p->death_lock, NULL);
    sem_init(&p->free_slots, 0, e->opt.slots);
    e->backend = p;
    e->pid = 0;
    int rc = CLOISTER_OK;
    if (ring_create(&p->ring, &p->ring_fd, e->opt.slots, ring_slot_size_for(e->opt.max_message)) !=
            0 ||
        (p->ring_fd = high_fd(p->ring_fd)) < 0)
        rc = cloister_errf(err, CLOISTER_E_SYSTEM, "enclave '%s': ring: %s", e->name,
                           strerror(errno));
    if (rc == CLOISTER_OK) {
        put_start(e, p);
        if (spawn(e, p) != 0)
            rc = cloister_errf(err, CLOISTER_E_SYSTEM, "enclave '%s': cannot start the process: %s",
                               e->name, strerror(errno));
    }
    if (rc == CLOISTER_OK) {
        e->pid = p->pid;
        if (pthread_create(&p->monitor, NULL, monitor_main, p) != 0) {
            kill_enclave(p, "no monitor thread");
            waitid((idtype_t)P_PIDFD, (id_t)p->pidfd, NULL, WEXITED);
            rc = cloister_errf(err, CLOISTER_E_SYSTEM, "enclave '%s': cannot create its monitor",
                               e->name);
        } else {
            p->monitor_started = true;
            rc = wait_started(e, p, err);
        }
    }
    if (rc != CLOISTER_OK)
        proc_stop(e);
    return rc;
}

static void proc_stop(struct tee_enclave *e)
{
    struct proc *p = e->backend;
    if (!p)
        return;
    if (p->monitor_started) {
        if (!atomic_load(&p->dead)) {
            atomic_store(&p->ring.hdr->phase, RING_PHASE_STOPPING);
            ring_futex_wake(&p->ring.hdr->submit_seq, INT_MAX);
            struct pollfd pfd = {.fd = p->pidfd, .events = POLLIN};
            if (poll(&pfd, 1, STOP_GRACE_MS) <= 0)
                kill_enclave(p, "it did not stop when asked");
        }
        pthread_join(p->monitor, NULL);
    }
    if (p->pidfd >= 0)
        close(p->pidfd);
    if (p->ring_fd >= 0)
        close(p->ring_fd);
    ring_unmap(&p->ring);
    sem_destroy(&p->free_slots);
    pthread_mutex_destroy(&p->death_lock);
    free(p);
    e->backend = NULL;
}

static uint32_t claim_slot(struct proc *p)
{
    while (sem_wait(&p->free_slots) != 0 && errno == EINTR)
        ;
    for (uint32_t i = 0;; i = (i + 1) % p->ring.nslots) {
        uint8_t expected = 0;
        if (atomic_compare_exchange_strong(&p->owned[i], &expected, 1))
            return i;
    }
}

static void release_slot(struct proc *p, uint32_t i)
{
    atomic_store(&p->owned[i], 0);
    sem_post(&p->free_slots);
}

static int protocol_violation(struct tee_enclave *e, struct proc *p, const char *what,
                              struct cloister_err *err)
{
    kill_enclave(p, what);
    return cloister_errf(err, CLOISTER_E_PROTOCOL,
                         "enclave '%s' broke the ring protocol (%s) and was killed", e->name, what);
}

static int serve_ocall(struct tee_enclave *e, struct proc *p, uint32_t i, struct cloister_err *err)
{
    struct ring_slot *s = ring_slot(&p->ring, i);
    uint32_t len = atomic_load(&s->len);
    if (len > ring_slot_capacity(&p->ring))
        return protocol_violation(e, p, "ocall length beyond the slot", err);
    uint8_t *copy = malloc(len ? len : 1);
    struct wire_writer answer;
    wire_writer_init(&answer);
    if (copy) {
        memcpy(copy, ring_slot_data(&p->ring, i), len);
        host_serve_ocall(e, copy, len, &answer);
        free(copy);
    }
    int rc = CLOISTER_OK;
    if (copy && wire_writer_ok(&answer) && answer.len <= ring_slot_capacity(&p->ring)) {
        memcpy(ring_slot_data(&p->ring, i), answer.buf, answer.len);
        atomic_store(&s->len, (uint32_t)answer.len);
        ring_slot_set(s, RING_SLOT_OCALL_DONE, &s->enclave_sleeps);
    } else {
        /* The enclave would wait for this answer forever: stop it cleanly instead. */
        kill_enclave(p, "the host ran out of memory answering an ocall");
        rc = cloister_errf(err, CLOISTER_E_NO_MEMORY,
                           "enclave '%s': the host ran out of memory "
                           "answering an ocall; the enclave was killed",
                           e->name);
    }
    wire_writer_free(&answer);
    return rc;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Waits for the call in slot i to finish, serving its ocalls. */
static int await(struct tee_enclave *e, struct proc *p, uint32_t i, struct tee_call *calls,
                 size_t n, struct cloister_err *err)
{
    struct ring_slot *s = ring_slot(&p->ring, i);
    uint32_t spin = e->opt.wait == TEE_WAIT_BLOCK ? 0 : e->opt.spin_count;
    double deadline = e->opt.call_timeout_ms ? now_ms() + e->opt.call_timeout_ms : 0;
    bool slept = false;
    for (;;) {
        uint32_t st = atomic_load(&s->state);
        if (st == RING_SLOT_REQUEST || st == RING_SLOT_BUSY || st == RING_SLOT_OCALL_DONE) {
            int left = -1;
            if (deadline) {
                double ms = deadline - now_ms();
                left = ms > 0 ? (int)ms + 1 : 0;
            }
            enum ring_wait_result w = ring_wait_change(&s->state, st, spin, &s->host_sleeps, left,
                                                       TICK_MS, proc_dead, p, &slept);
            if (w == RING_WAIT_TIMEOUT) {
                kill_enclave(p, "a call ran past its timeout");
                return cloister_errf(err, CLOISTER_E_TIMEOUT,
                                     "enclave '%s': no answer within %u ms; it was killed", e->name,
                                     e->opt.call_timeout_ms);
            }
            if (w == RING_WAIT_ABANDONED)
                return dead_error(e, p, err);
        } else if (st == RING_SLOT_OCALL) {
            int rc = serve_ocall(e, p, i, err);
            if (rc != CLOISTER_OK)
                return rc;
        } else if (st == RING_SLOT_DONE) {
            atomic_fetch_add(slept ? &e->fallbacks : &e->hits, 1);
            uint32_t len = atomic_load(&s->len);
            if (len > ring_slot_capacity(&p->ring))
                return protocol_violation(e, p, "response length beyond the slot", err);
            int rc = host_get_response(e, ring_slot_data(&p->ring, i), len, calls, n, err);
            if (rc == CLOISTER_E_PROTOCOL)
                protocol_violation(e, p, "malformed response", err);
            else
                atomic_store(&s->state, RING_SLOT_IDLE);
            return rc;
        } else if (st == RING_SLOT_DEAD && atomic_load(&p->dead)) {
            return dead_error(e, p, err);
        } else {
            return protocol_violation(e, p, "unknown slot state", err);
        }
    }
}

static int proc_call(struct tee_enclave *e, struct tee_call *calls, size_t n,
                     struct cloister_err *err)
{
    struct proc *p = e->backend;
    if (!p || atomic_load(&p->dead))
        return p ? dead_error(e, p, err)
                 : cloister_errf(err, CLOISTER_E_DEAD, "enclave '%s' is stopped", e->name);
    uint32_t i = claim_slot(p);
    struct ring_slot *s = ring_slot(&p->ring, i);
    struct wire_writer w;
    wire_writer_init_fixed(&w, ring_slot_data(&p->ring, i), e->opt.max_message);
    host_put_request(&w, calls, n);
    int rc;
    if (!wire_writer_ok(&w)) {
        rc = host_request_too_big(e, n, err);
    } else if (atomic_load(&s->state) != RING_SLOT_IDLE) {
        rc = atomic_load(&p->dead) ? dead_error(e, p, err)
                                   : protocol_violation(e, p, "a free slot was not idle", err);
    } else {
        struct ring_header *h = p->ring.hdr;
        atomic_store(&s->len, (uint32_t)w.len);
        atomic_store(&s->state, RING_SLOT_REQUEST);
        atomic_fetch_add(&h->submit_seq, 1);
        if (atomic_load(&h->idle_workers))
            ring_futex_wake(&h->submit_seq, 1);
        rc = await(e, p, i, calls, n, err);
    }
    release_slot(p, i);
    return rc;
}

static bool proc_alive(struct tee_enclave *e)
{
    const struct proc *p = e->backend;
    return p && !atomic_load(&p->dead);
}

const struct host_backend host_proc_backend = {
    .start = proc_start,
    .stop = proc_stop,
    .call = proc_call,
    .alive = proc_alive,
};
