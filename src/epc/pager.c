/* pager.c -- EPC paging: a budgeted region whose evicted pages live sealed in untrusted memory.
 *
 * SGX's EWB/ELDU done in software, faults served by the thread that takes them:
 *  - Trusted state per page: resident or not, and a 64-bit version (0 = never evicted, so a
 *    first touch maps zeros). Versions play the role of SGX's VA slots: they never leave trusted
 *    memory, so the backing store cannot roll a page back to an older copy.
 *  - Eviction, when a fault finds the budget full: the victims are the oldest resident page
 *    (FIFO, i.e. a clock whose reference bits are never set) and the other resident pages of its
 *    aligned block of `cluster` pages (512, one page-table page, by default; 1 is the old
 *    single-page path). SGX's
 *    reclaimer ages pages by the accessed bit, which user space cannot read without taking a
 *    fault per access; under the uniform random and sequential patterns we measure, FIFO misses
 *    exactly as often as LRU, and it is a pure function of the fault sequence, so tests replay it
 *    with an exact model. Writers are blocked first (write-protect or PROT_NONE over the block:
 *    SGX's EBLOCK + ETRACK), each page is sealed with AES-256-GCM into its slot of the backing
 *    store (nonce = le32 page index || le64 version, associated data = le64 page index), then
 *    the block is dropped. One call per block matters more than it seems: x86 flushes a range
 *    of up to 33 pages with one invlpg per page, a VM exit each on the VMs we measure, and a
 *    larger range with one full flush, whose cost on a shadow-paging hypervisor (PVM) grows
 *    with the page-table pages changed since the previous full flush, i.e. with the faults in
 *    between: a large block is what makes flushes rare (docs/epc.md, section 7). The frames a
 *    block frees are the pool that serves the next faults without an eviction.
 *  - Load: open the slot under the current version (a tampered or replayed slot ends the process
 *    with an integrity error), then install the page atomically, so no other thread ever sees it
 *    half-written.
 * Two ways to catch the faults:
 *  - uffd: a private anonymous region registered with userfaultfd (MISSING | WP). By default
 *    with UFFD_FEATURE_SIGBUS: the faulting thread receives SIGBUS and serves its own fault, then
 *    returns and retries the access. With CLOISTER_EPC_SERVE=thread, a handler thread per region
 *    reads the faults from the userfaultfd instead (no signal: the faulting thread sleeps in the
 *    kernel until the install wakes it) and moves to the faulting thread's core when that thread
 *    is pinned to one: a switch between two threads of one process, cheaper than the signal
 *    frame and rt_sigreturn on the shadow-paging VM we measure, while a handler on another core
 *    pays the wake-up of a (maybe halted) vCPU (docs/epc.md, section 7). Pages are installed
 *    with UFFDIO_COPY; an eviction write-protects the pages (reads go on), seals them, and drops
 *    them with MADV_DONTNEED.
 *  - sigsegv: the region is a memfd mapped twice: the enclave view, PROT_NONE where not
 *    resident, and a pager view that is always writable. A load decrypts straight into the
 *    pager view, then mprotect opens the enclave view; an eviction closes the enclave view,
 *    seals through the pager view and punches the page out of the memfd. Both views map
 *    contiguous file offsets, so neighbours with equal protection merge again and the process
 *    needs at most 2 x budget + 1 maps for the region (vm.max_map_count is checked up front).
 * Both hold one mutex per region while serving a fault; the pager never touches a non-resident
 * page itself, so a fault can never be taken with that mutex held. A fault inside a system call
 * cannot be served (the kernel reports EFAULT): see the rule in cloister/epc.h.
 * An unlimited budget (or one that covers the whole region) needs no pager: plain memory. */
#include "epc/pager.h"

#include <cloister/crypto.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define CLOG_MODULE "epc"
#include "util/log.h"

#define PAGE ((size_t)EPC_PAGE_SIZE)
#define MAX_PAGERS 64
#define DEFAULT_CLUSTER 512u
#define NONE UINT32_MAX

struct epc_pager {
    uint8_t *base; /* the enclave's view of the region */
    size_t size, npages, budget_pages;
    enum epc_pager_kind kind; /* EPC_PAGER_AUTO: plain memory, nothing to page */
    int uffd;                 /* uffd */
    int memfd;                /* sigsegv: file behind both views */
    uint8_t *alias;           /* sigsegv: the pager's always-writable view */
    size_t cluster;           /* pages per eviction block (1: one per fault, the old path) */
    bool threaded;            /* uffd: faults served by `server`, not in the faulting thread */
    bool serving;             /* `server` runs */
    pthread_t server;
    int stopfd; /* eventfd: written once to stop `server` */

    /* Trusted memory. */
    pthread_mutex_t lock;
    crypto_aead *aead;     /* AES-256-GCM under the per-region key */
    uint64_t *version;     /* per page: times evicted */
    uint8_t *resident;     /* per page: 1 when resident */
    uint32_t *next, *prev; /* per page: the resident list, oldest first (NONE ends it) */
    uint32_t oldest, newest;
    size_t nresident;
    uint8_t *bounce; /* uffd: the page being loaded */

    /* Untrusted memory: EPC_SLOT_SIZE bytes per page (ciphertext || tag). */
    uint8_t *store;

    _Atomic uint64_t peak, faults, evictions, bytes_encrypted, bytes_decrypted, fault_ns;
};

static _Atomic(struct epc_pager *) registry[MAX_PAGERS];
static struct sigaction old_sigbus, old_sigsegv;
static const uint8_t zero_page[EPC_PAGE_SIZE] __attribute__((aligned(EPC_PAGE_SIZE)));

/* ---- fatal errors: we may be inside a signal handler, so only write(2) and abort(3) ---- */

static size_t put_str(char *buf, size_t n, size_t cap, const char *s)
{
    while (*s && n + 1 < cap)
        buf[n++] = *s++;
    return n;
}

static size_t put_u64(char *buf, size_t n, size_t cap, uint64_t v)
{
    char digits[24];
    size_t k = 0;
    do {
        digits[k++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (k && n + 1 < cap)
        buf[n++] = digits[--k];
    return n;
}

_Noreturn void epc_fatal(const char *what, size_t page, int err)
{
    char msg[320];
    size_t n = put_str(msg, 0, sizeof msg, "cloister[epc] fatal: ");
    n = put_str(msg, n, sizeof msg, what);
    if (page != SIZE_MAX) {
        n = put_str(msg, n, sizeof msg, " (page ");
        n = put_u64(msg, n, sizeof msg, page);
        n = put_str(msg, n, sizeof msg, ")");
    }
    if (err) {
        n = put_str(msg, n, sizeof msg, " (errno ");
        n = put_u64(msg, n, sizeof msg, (uint64_t)err);
        n = put_str(msg, n, sizeof msg, ")");
    }
    n = put_str(msg, n, sizeof msg, "; aborting the enclave\n");
    ssize_t unused = write(STDERR_FILENO, msg, n);
    (void)unused;
    abort();
}

/* ---- sealing pages ---- */

static void page_nonce(uint8_t nonce[CRYPTO_AEAD_NONCE_LEN], size_t page, uint64_t version)
{
    for (int i = 0; i < 4; i++)
        nonce[i] = (uint8_t)(page >> (8 * i));
    for (int i = 0; i < 8; i++)
        nonce[4 + i] = (uint8_t)(version >> (8 * i));
}

static void page_aad(uint8_t aad[8], size_t page)
{
    for (int i = 0; i < 8; i++)
        aad[i] = (uint8_t)((uint64_t)page >> (8 * i));
}

static uint8_t *slot(struct epc_pager *p, size_t page)
{
    return p->store + page * EPC_SLOT_SIZE;
}

static void seal_page(struct epc_pager *p, size_t page, const uint8_t *plain)
{
    uint8_t nonce[CRYPTO_AEAD_NONCE_LEN], aad[8];
    if (++p->version[page] == 0)
        epc_fatal("page version counter wrapped", page, 0);
    page_nonce(nonce, page, p->version[page]);
    page_aad(aad, page);
    if (crypto_aead_ctx_seal(p->aead, nonce, aad, sizeof aad, plain, PAGE, slot(p, page)) != 0)
        epc_fatal("AES-256-GCM seal failed", page, 0);
    atomic_fetch_add_explicit(&p->bytes_encrypted, PAGE, memory_order_relaxed);
}

static void open_page(struct epc_pager *p, size_t page, uint8_t *plain)
{
    uint8_t nonce[CRYPTO_AEAD_NONCE_LEN], aad[8];
    page_nonce(nonce, page, p->version[page]);
    page_aad(aad, page);
    if (crypto_aead_ctx_open(p->aead, nonce, aad, sizeof aad, slot(p, page), EPC_SLOT_SIZE,
                             plain) != 0)
        epc_fatal("EPC integrity check failed: tampered or replayed page in the backing store",
                  page, 0);
    atomic_fetch_add_explicit(&p->bytes_decrypted, PAGE, memory_order_relaxed);
}

/* ---- the two mechanisms: block writers, drop, install ---- */

static void uffd_ioctl(struct epc_pager *p, unsigned long req, void *arg, size_t page,
                       const char *what)
{
    while (ioctl(p->uffd, req, arg) != 0)
        if (errno != EAGAIN && errno != EINTR)
            epc_fatal(what, page, errno);
}

static void checked(int rc, const char *what, size_t page)
{
    if (rc != 0)
        epc_fatal(what, page, errno);
}

/* A block of address-contiguous pages: one system call blocks (or drops) all of them. */
struct run {
    size_t first, count;
};

/* Stops writes to the pages of a block (SGX's EBLOCK + ETRACK); reads may go on. Pages of the
 * block that are not resident are unaffected (no PTE to protect, or PROT_NONE already). */
static void block_writers(struct epc_pager *p, struct run r)
{
    uint8_t *addr = p->base + r.first * PAGE;
    if (p->kind == EPC_PAGER_UFFD) {
        struct uffdio_writeprotect wp = {
            .range = {.start = (uintptr_t)addr, .len = r.count * PAGE},
            .mode = UFFDIO_WRITEPROTECT_MODE_WP,
        };
        uffd_ioctl(p, UFFDIO_WRITEPROTECT, &wp, r.first, "UFFDIO_WRITEPROTECT failed");
        return;
    }
    checked(mprotect(addr, r.count * PAGE, PROT_NONE), "mprotect(PROT_NONE) failed", r.first);
}

/* Where the plaintext of a blocked page can be read. */
static const uint8_t *sealing_view(struct epc_pager *p, size_t page)
{
    return (p->kind == EPC_PAGER_UFFD ? p->base : p->alias) + page * PAGE;
}

static void drop(struct epc_pager *p, struct run r)
{
    if (p->kind == EPC_PAGER_UFFD)
        checked(madvise(p->base + r.first * PAGE, r.count * PAGE, MADV_DONTNEED),
                "MADV_DONTNEED failed", r.first);
    else
        checked(fallocate(p->memfd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                          (off_t)(r.first * PAGE), (off_t)(r.count * PAGE)),
                "fallocate(PUNCH_HOLE) failed", r.first);
}

/* Where the plaintext of a page being loaded is written before install() maps it. */
static uint8_t *staging(struct epc_pager *p, size_t page)
{
    return p->kind == EPC_PAGER_UFFD ? p->bounce : p->alias + page * PAGE;
}

static void install(struct epc_pager *p, size_t page, bool zero)
{
    uint8_t *addr = p->base + page * PAGE;
    if (p->kind == EPC_PAGER_UFFD) {
        struct uffdio_copy copy = {
            .dst = (uintptr_t)addr,
            .src = (uintptr_t)(zero ? zero_page : p->bounce),
            .len = PAGE,
        };
        uffd_ioctl(p, UFFDIO_COPY, &copy, page, "UFFDIO_COPY failed");
        if (!zero)
            crypto_wipe(p->bounce, PAGE);
    } else {
        /* The pager view of a page that was never evicted is a hole, which reads as zeros. */
        checked(mprotect(addr, PAGE, PROT_READ | PROT_WRITE), "mprotect(PROT_READ|WRITE) failed",
                page);
    }
}

/* ---- FIFO replacement, by blocks ---- */

static void list_append(struct epc_pager *p, uint32_t page)
{
    p->prev[page] = p->newest;
    p->next[page] = NONE;
    if (p->newest == NONE)
        p->oldest = page;
    else
        p->next[p->newest] = page;
    p->newest = page;
}

static void list_unlink(struct epc_pager *p, uint32_t page)
{
    if (p->prev[page] == NONE)
        p->oldest = p->next[page];
    else
        p->next[p->prev[page]] = p->next[page];
    if (p->next[page] == NONE)
        p->newest = p->prev[page];
    else
        p->prev[p->next[page]] = p->prev[page];
}

/* Evicts the oldest resident page together with the other resident pages of its aligned block
 * of `cluster` pages, as SGX's driver writes back pages in EWB batches: the block is
 * write-protected with one call, its resident pages sealed, and the block dropped with one
 * madvise (one TLB flush). System calls and full TLB flushes cost several microseconds to
 * milliseconds on the VMs we measure (docs/epc.md, section 7), so a block, whose pages one call
 * covers, is what makes the batch pay; the frames it frees serve the next faults without an
 * eviction. */
static void evict_block(struct epc_pager *p)
{
    size_t first = p->oldest / p->cluster * p->cluster;
    struct run r = {first, p->cluster < p->npages - first ? p->cluster : p->npages - first};
    block_writers(p, r);
    size_t n = 0;
    for (size_t pg = r.first; pg < r.first + r.count; pg++)
        if (p->resident[pg])
            seal_page(p, pg, sealing_view(p, pg));
    drop(p, r);
    for (size_t pg = r.first; pg < r.first + r.count; pg++) {
        if (!p->resident[pg])
            continue;
        p->resident[pg] = 0;
        list_unlink(p, (uint32_t)pg);
        n++;
    }
    p->nresident -= n;
    atomic_fetch_add_explicit(&p->evictions, n, memory_order_relaxed);
}

static void load(struct epc_pager *p, size_t page)
{
    bool zero = p->version[page] == 0;
    if (!zero)
        open_page(p, page, staging(p, page));
    install(p, page, zero);
    p->resident[page] = 1;
    list_append(p, (uint32_t)page);
    p->nresident++;
    if (p->nresident > atomic_load_explicit(&p->peak, memory_order_relaxed))
        atomic_store_explicit(&p->peak, p->nresident, memory_order_relaxed);
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void serve(struct epc_pager *p, const uint8_t *addr)
{
    uint64_t t0 = now_ns();
    size_t page = (size_t)(addr - p->base) / PAGE;
    pthread_mutex_lock(&p->lock);
    /* Resident already: another thread loaded it, or our write raced an eviction and the page
     * came back in between. Either way the retried access will succeed. */
    if (!p->resident[page]) {
        if (p->nresident == p->budget_pages)
            evict_block(p);
        load(p, page);
        atomic_fetch_add_explicit(&p->faults, 1, memory_order_relaxed);
    } else if (p->threaded) {
        /* The faulting thread sleeps until a wake; the install that made the page resident
         * woke only the threads waiting then. */
        struct uffdio_range wake = {.start = (uintptr_t)(p->base + page * PAGE), .len = PAGE};
        uffd_ioctl(p, UFFDIO_WAKE, &wake, page, "UFFDIO_WAKE failed");
    }
    pthread_mutex_unlock(&p->lock);
    atomic_fetch_add_explicit(&p->fault_ns, now_ns() - t0, memory_order_relaxed);
}

/* ---- the handler thread (CLOISTER_EPC_SERVE=thread) ---- */

/* Runs the server on the faulting thread's core when that thread is pinned to one: the faulting
 * thread sleeps in the kernel meanwhile, so the core is free, and the wake-up costs a switch
 * between two threads of one process instead of an interrupt to another (maybe halted) vCPU. An
 * unpinned faulting thread leaves the server wherever the scheduler puts it. */
static void follow(pid_t tid, const cpu_set_t *all)
{
    static _Thread_local pid_t last_tid;
    cpu_set_t set;
    if (tid == last_tid)
        return;
    last_tid = tid;
    if (sched_getaffinity(tid, sizeof set, &set) != 0 || CPU_COUNT(&set) != 1)
        set = *all;
    sched_setaffinity(0, sizeof set, &set);
}

/* Waits for fault messages and serves them with the code the signal handler uses; the install
 * (UFFDIO_COPY) wakes the faulting thread. Returns when epc_pager_destroy writes stopfd (not
 * pthread_cancel: AddressSanitizer reports the unwinding of a cancelled thread). */
static void *server_main(void *arg)
{
    struct epc_pager *p = arg;
    cpu_set_t all;
    sched_getaffinity(0, sizeof all, &all);
    for (;;) {
        struct pollfd fds[2] = {{.fd = p->uffd, .events = POLLIN},
                                {.fd = p->stopfd, .events = POLLIN}};
        if (poll(fds, 2, -1) < 0 && errno != EINTR)
            epc_fatal("polling the userfaultfd failed", SIZE_MAX, errno);
        if (fds[1].revents)
            return NULL;
        struct uffd_msg msg;
        ssize_t n = read(p->uffd, &msg, sizeof msg);
        if (n != (ssize_t)sizeof msg) {
            if (n < 0 && errno != EAGAIN && errno != EINTR)
                epc_fatal("reading the userfaultfd failed", SIZE_MAX, errno);
            continue;
        }
        if (msg.event != UFFD_EVENT_PAGEFAULT)
            continue;
        follow((pid_t)msg.arg.pagefault.feat.ptid, &all);
        serve(p, (const uint8_t *)(uintptr_t)msg.arg.pagefault.address);
    }
}

/* Who serves userfaultfd faults: the config, else CLOISTER_EPC_SERVE=thread|signal, else the
 * faulting thread. */
static bool threaded_from_config(enum epc_serve serve)
{
    if (serve != EPC_SERVE_AUTO)
        return serve == EPC_SERVE_THREAD;
    const char *v = getenv("CLOISTER_EPC_SERVE");
    if (!v || !*v || strcmp(v, "signal") == 0)
        return false;
    if (strcmp(v, "thread") == 0)
        return true;
    clog_warn("CLOISTER_EPC_SERVE='%s' is neither thread nor signal; serving in the faulting "
              "thread",
              v);
    return false;
}

/* ---- signal handling ---- */

static struct epc_pager *find_pager(const uint8_t *addr)
{
    for (size_t i = 0; i < MAX_PAGERS; i++) {
        struct epc_pager *p = atomic_load_explicit(&registry[i], memory_order_acquire);
        if (p && addr >= p->base && addr < p->base + p->size)
            return p;
    }
    return NULL;
}

/* Hands a signal that is not ours to whoever had it before (ASan, or the default action). */
static void chain(int sig, siginfo_t *si, void *uc)
{
    const struct sigaction *old = sig == SIGBUS ? &old_sigbus : &old_sigsegv;
    if (old->sa_flags & SA_SIGINFO) {
        old->sa_sigaction(sig, si, uc);
    } else if (old->sa_handler != SIG_DFL && old->sa_handler != SIG_IGN) {
        old->sa_handler(sig);
    } else {
        /* Default action: a fault re-executes and kills; a sent signal is raised again. */
        struct sigaction dfl = {.sa_handler = SIG_DFL};
        sigaction(sig, &dfl, NULL);
        if (si->si_code <= 0)
            raise(sig);
    }
}

static void on_fault(int sig, siginfo_t *si, void *uc)
{
    int saved = errno;
    struct epc_pager *p = si->si_code > 0 ? find_pager(si->si_addr) : NULL;
    enum epc_pager_kind want = sig == SIGBUS ? EPC_PAGER_UFFD : EPC_PAGER_SIGSEGV;
    if (p && p->kind == want)
        serve(p, si->si_addr);
    else
        chain(sig, si, uc);
    errno = saved;
}

/* Installs on_fault for sig unless it is there already, keeping what it replaces as the target
 * for foreign faults. Checked at every region creation, not once: test harnesses and
 * libraries may swap handlers in between (they must not do so while a region exists). */
static int ensure_handler(int sig)
{
    static pthread_mutex_t install_lock = PTHREAD_MUTEX_INITIALIZER;
    struct sigaction cur, sa = {.sa_sigaction = on_fault, .sa_flags = SA_SIGINFO | SA_RESTART};
    sigemptyset(&sa.sa_mask);
    int rc = 0;
    pthread_mutex_lock(&install_lock);
    if (sigaction(sig, NULL, &cur) != 0)
        rc = -1;
    else if (!((cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == on_fault))
        rc = sigaction(sig, &sa, sig == SIGBUS ? &old_sigbus : &old_sigsegv);
    pthread_mutex_unlock(&install_lock);
    return rc;
}

/* ---- setup ---- */

static void *map_anon(size_t len)
{
    void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                   -1, 0);
    return m == MAP_FAILED ? NULL : m;
}

static void unmap(void *m, size_t len)
{
    if (m)
        munmap(m, len);
}

static int setup_uffd(struct epc_pager *p)
{
    /* User-mode faults are all we serve, and asking for only those works unprivileged (5.11+).
     * Kernel-mode faults (a system call on a missing page) then fail with EFAULT in both modes;
     * without it, the handler thread would serve them. */
    p->uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);
    if (p->uffd < 0 && errno == EINVAL)
        p->uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
    if (p->uffd < 0)
        return -1;
    struct uffdio_api api = {
        .api = UFFD_API,
        .features = p->threaded ? UFFD_FEATURE_THREAD_ID : UFFD_FEATURE_SIGBUS,
    };
    if (ioctl(p->uffd, UFFDIO_API, &api) != 0)
        return -1;
    p->base = map_anon(p->size);
    if (!p->base)
        return -1;
    madvise(p->base, p->size, MADV_NOHUGEPAGE);
    struct uffdio_register reg = {
        .range = {.start = (uintptr_t)p->base, .len = p->size},
        .mode = UFFDIO_REGISTER_MODE_MISSING | UFFDIO_REGISTER_MODE_WP,
    };
    const uint64_t need = (1ull << _UFFDIO_COPY) | (1ull << _UFFDIO_WRITEPROTECT);
    if (ioctl(p->uffd, UFFDIO_REGISTER, &reg) != 0)
        return -1;
    if ((reg.ioctls & need) != need) { /* no write-protection: evictions could lose writes */
        errno = ENOSYS;
        return -1;
    }
    p->bounce = map_anon(PAGE);
    return p->bounce ? 0 : -1;
}

static long max_map_count(void)
{
    long v = 65530; /* the kernel's default, if /proc is out of reach */
    FILE *f = fopen("/proc/sys/vm/max_map_count", "r");
    if (f) {
        if (fscanf(f, "%ld", &v) != 1)
            v = 65530;
        fclose(f);
    }
    return v;
}

static int setup_sigsegv(struct epc_pager *p)
{
    /* Page-granular mprotect splits the region into up to 2 x budget + 1 maps; leave room for
     * the rest of the process. */
    long maps = max_map_count();
    if ((long)(2 * p->budget_pages + 1) > maps - 4096) {
        clog_error("sigsegv paging needs up to %zu memory maps for a budget of %zu pages, but "
                   "vm.max_map_count is %ld: lower the budget or use userfaultfd",
                   2 * p->budget_pages + 1, p->budget_pages, maps);
        errno = EINVAL;
        return -1;
    }
    p->memfd = memfd_create("cloister-epc", MFD_CLOEXEC);
    if (p->memfd < 0 || ftruncate(p->memfd, (off_t)p->size) != 0)
        return -1;
    void *view = mmap(NULL, p->size, PROT_NONE, MAP_SHARED | MAP_NORESERVE, p->memfd, 0);
    void *alias = mmap(NULL, p->size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, p->memfd,
                       0);
    p->base = view == MAP_FAILED ? NULL : view;
    p->alias = alias == MAP_FAILED ? NULL : alias;
    if (!p->base || !p->alias)
        return -1;
    madvise(p->alias, p->size, MADV_DONTFORK);
    return 0;
}

static enum epc_pager_kind kind_from_env(void)
{
    const char *v = getenv("CLOISTER_EPC_PAGER");
    if (!v || !*v)
        return EPC_PAGER_AUTO;
    if (strcmp(v, "uffd") == 0 || strcmp(v, "userfaultfd") == 0)
        return EPC_PAGER_UFFD;
    if (strcmp(v, "sigsegv") == 0)
        return EPC_PAGER_SIGSEGV;
    clog_warn("CLOISTER_EPC_PAGER='%s' is neither uffd nor sigsegv; choosing automatically", v);
    return EPC_PAGER_AUTO;
}

/* CLOISTER_EPC_CLUSTER=N (1..EPC_MAX_CLUSTER): pages per eviction block; 1 is the path of one
 * eviction per fault that blocks replaced, kept for side-by-side measurements. The default is
 * one page-table page's worth (512 pages), but at most an eighth of the budget, so that a
 * small budget does not lose most of its pages at once. */
static size_t cluster_from_env(size_t budget_pages)
{
    size_t fallback = budget_pages / 8 < DEFAULT_CLUSTER ? budget_pages / 8 : DEFAULT_CLUSTER;
    fallback = fallback ? fallback : 1;
    const char *v = getenv("CLOISTER_EPC_CLUSTER");
    if (!v || !*v)
        return fallback;
    char *end;
    unsigned long n = strtoul(v, &end, 10);
    if (*end || n < 1 || n > EPC_MAX_CLUSTER) {
        clog_warn("CLOISTER_EPC_CLUSTER='%s' is not a number of pages from 1 to %u; using %zu", v,
                  EPC_MAX_CLUSTER, fallback);
        return fallback;
    }
    return n;
}

static int setup_paging(struct epc_pager *p, const struct epc_config *cfg)
{
    enum epc_pager_kind want = cfg->pager;
    p->cluster = cluster_from_env(p->budget_pages);
    if (want == EPC_PAGER_AUTO)
        want = kind_from_env();
    p->threaded = want != EPC_PAGER_SIGSEGV && threaded_from_config(cfg->serve);
    if (want != EPC_PAGER_SIGSEGV) {
        p->kind = EPC_PAGER_UFFD;
        if (setup_uffd(p) == 0)
            return 0;
        int err = errno;
        if (want == EPC_PAGER_UFFD) {
            clog_error("userfaultfd paging is not available here: %s", strerror(err));
            errno = err == EINVAL || err == EPERM ? ENOSYS : err;
            return -1;
        }
        clog_info("userfaultfd unavailable (%s); paging with mprotect + SIGSEGV", strerror(err));
        if (p->uffd >= 0)
            close(p->uffd);
        p->uffd = -1;
        unmap(p->base, p->size);
        unmap(p->bounce, PAGE);
        p->base = p->bounce = NULL;
        p->threaded = false;
    }
    p->kind = EPC_PAGER_SIGSEGV;
    return setup_sigsegv(p);
}

static int setup_tables(struct epc_pager *p)
{
    uint8_t key[32];
    if (crypto_random(key, sizeof key) != 0)
        return -1;
    p->aead = crypto_aead_new(CRYPTO_AES256_GCM, key);
    crypto_wipe(key, sizeof key);
    p->version = map_anon(p->npages * sizeof *p->version);
    p->resident = map_anon(p->npages);
    p->next = map_anon(p->npages * sizeof *p->next);
    p->prev = map_anon(p->npages * sizeof *p->prev);
    p->oldest = p->newest = NONE;
    p->store = map_anon(p->npages * EPC_SLOT_SIZE);
    if (!p->aead || !p->version || !p->resident || !p->next || !p->prev || !p->store) {
        errno = ENOMEM;
        return -1;
    }
    madvise(p->store, p->npages * EPC_SLOT_SIZE, MADV_DONTFORK);
    return 0;
}

static int register_pager(struct epc_pager *p)
{
    if (!p->threaded && ensure_handler(p->kind == EPC_PAGER_UFFD ? SIGBUS : SIGSEGV) != 0)
        return -1;
    for (size_t i = 0; i < MAX_PAGERS; i++) {
        struct epc_pager *empty = NULL;
        if (!atomic_compare_exchange_strong(&registry[i], &empty, p))
            continue;
        if (!p->threaded)
            return 0;
        p->stopfd = eventfd(0, EFD_CLOEXEC);
        if (p->stopfd < 0)
            return -1;
        int err = pthread_create(&p->server, NULL, server_main, p);
        p->serving = !err;
        errno = err;
        return err ? -1 : 0;
    }
    clog_error("too many EPC heaps at once (at most %d)", MAX_PAGERS);
    errno = EMFILE;
    return -1;
}

static int check_config(const struct epc_config *cfg)
{
    if (!cfg || cfg->size == 0 || cfg->size > EPC_MAX_SIZE) {
        clog_error("EPC region size must be between 1 byte and 1 TiB");
        return -1;
    }
    if (cfg->budget != EPC_BUDGET_UNLIMITED && cfg->budget / PAGE < EPC_MIN_BUDGET_PAGES) {
        clog_error("EPC budget must be at least %u pages (%u KiB)", EPC_MIN_BUDGET_PAGES,
                   EPC_MIN_BUDGET_PAGES * EPC_PAGE_SIZE / 1024);
        return -1;
    }
    if (cfg->pager != EPC_PAGER_AUTO && cfg->pager != EPC_PAGER_UFFD &&
        cfg->pager != EPC_PAGER_SIGSEGV) {
        clog_error("unknown EPC pager kind %d", (int)cfg->pager);
        return -1;
    }
    if (cfg->serve != EPC_SERVE_AUTO && cfg->serve != EPC_SERVE_SIGNAL &&
        cfg->serve != EPC_SERVE_THREAD) {
        clog_error("unknown EPC fault service %d", (int)cfg->serve);
        return -1;
    }
    return 0;
}

struct epc_pager *epc_pager_create(const struct epc_config *cfg)
{
    if (check_config(cfg) != 0) {
        errno = EINVAL;
        return NULL;
    }
    struct epc_pager *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->uffd = p->memfd = p->stopfd = -1;
    p->npages = (cfg->size + PAGE - 1) / PAGE;
    p->size = p->npages * PAGE;
    size_t budget = cfg->budget == EPC_BUDGET_UNLIMITED ? SIZE_MAX : cfg->budget / PAGE;
    p->budget_pages = budget < p->npages ? budget : 0;
    pthread_mutex_init(&p->lock, NULL);
    int rc;
    if (p->budget_pages == 0) {
        /* Everything fits: plain memory, like an EPC larger than the heap. */
        p->kind = EPC_PAGER_AUTO;
        p->budget_pages = cfg->budget == EPC_BUDGET_UNLIMITED ? 0 : budget;
        p->base = map_anon(p->size);
        rc = p->base ? 0 : -1;
    } else {
        rc = setup_paging(p, cfg);
        if (rc == 0)
            rc = setup_tables(p);
        if (rc == 0)
            rc = register_pager(p);
    }
    if (rc == 0 && p->base)
        madvise(p->base, p->size, MADV_DONTFORK);
    if (rc != 0) {
        int err = errno;
        clog_error("cannot create an EPC region of %zu bytes: %s", p->size, strerror(err));
        epc_pager_destroy(p);
        errno = err;
        return NULL;
    }
    return p;
}

void epc_pager_destroy(struct epc_pager *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < MAX_PAGERS; i++) {
        struct epc_pager *self = p;
        atomic_compare_exchange_strong(&registry[i], &self, NULL);
    }
    if (p->serving) {
        uint64_t one = 1;
        ssize_t unused = write(p->stopfd, &one, sizeof one);
        (void)unused;
        pthread_join(p->server, NULL);
    }
    if (p->stopfd >= 0)
        close(p->stopfd);
    if (p->uffd >= 0)
        close(p->uffd);
    if (p->memfd >= 0)
        close(p->memfd);
    bool paged = p->kind != EPC_PAGER_AUTO;
    unmap(p->base, p->size);
    unmap(p->alias, p->size);
    unmap(p->bounce, PAGE);
    if (paged) {
        unmap(p->version, p->npages * sizeof *p->version);
        unmap(p->resident, p->npages);
        unmap(p->next, p->npages * sizeof *p->next);
        unmap(p->prev, p->npages * sizeof *p->prev);
        unmap(p->store, p->npages * EPC_SLOT_SIZE);
    }
    crypto_aead_free(p->aead);
    pthread_mutex_destroy(&p->lock);
    free(p);
}

uint8_t *epc_pager_base(const struct epc_pager *p)
{
    return p->base;
}

size_t epc_pager_size(const struct epc_pager *p)
{
    return p->size;
}

enum epc_pager_kind epc_pager_kind(const struct epc_pager *p)
{
    return p->kind;
}

size_t epc_pager_cluster(const struct epc_pager *p)
{
    return p->cluster;
}

void epc_pager_stats(struct epc_pager *p, struct epc_stats *out)
{
    static const char *const names[] = {[EPC_PAGER_AUTO] = "none",
                                        [EPC_PAGER_UFFD] = "userfaultfd",
                                        [EPC_PAGER_SIGSEGV] = "sigsegv"};
    out->pager = names[p->kind];
    out->size = p->size;
    out->budget_pages = p->budget_pages;
    out->unlimited = p->kind == EPC_PAGER_AUTO && p->budget_pages == 0;
    if (p->kind != EPC_PAGER_AUTO) { /* plain memory: the heap knows what it reached */
        pthread_mutex_lock(&p->lock);
        out->resident_pages = p->nresident;
        pthread_mutex_unlock(&p->lock);
    }
    out->peak_resident_pages = atomic_load(&p->peak);
    out->faults = atomic_load(&p->faults);
    out->evictions = atomic_load(&p->evictions);
    out->bytes_encrypted = atomic_load(&p->bytes_encrypted);
    out->bytes_decrypted = atomic_load(&p->bytes_decrypted);
    out->fault_ns = atomic_load(&p->fault_ns);
}

bool epc_pager_resident(struct epc_pager *p, size_t page)
{
    if (p->kind == EPC_PAGER_AUTO)
        return true;
    pthread_mutex_lock(&p->lock);
    bool r = p->resident[page] != 0;
    pthread_mutex_unlock(&p->lock);
    return r;
}

uint8_t *epc_pager_backing_slot(struct epc_pager *p, size_t page)
{
    return p->store ? slot(p, page) : NULL;
}
