/* bench_epc_floor.c -- what the kernel alone charges for the parts of an emulated EPC fault on
 * this machine: the floor under any user-space pager, whatever it does in between.
 *
 * bench_epc_fault gives the cost of a whole fault (evict + load, crypto included); this gives the
 * kernel steps it is made of, without crypto and without eviction, so that a machine whose
 * faults are dear can be told from a pager that is slow:
 *  - a null system call (getppid): one kernel entry and exit;
 *  - a first touch of plain anonymous memory: the cheapest page fault there is (the kernel maps
 *    a zeroed page), and a lower bound for any fault a pager could serve;
 *  - UFFDIO_COPY of one page into a missing page (the install), and the first access to the page
 *    it installed (on bare metal or with nested paging a TLB miss; under a shadow-paging
 *    hypervisor the hypervisor's refill of its own page table);
 *  - a userfaultfd fault served in the faulting thread (SIGBUS, UFFDIO_COPY, rt_sigreturn: what
 *    the pager does, minus crypto and eviction), and served by a handler thread blocked in
 *    read(2) on the userfaultfd (no signal: the faulting thread sleeps in the kernel until the
 *    handler's UFFDIO_COPY wakes it), pinned to the faulting thread's core or to another one;
 *  - per page, UFFDIO_WRITEPROTECT and MADV_DONTNEED of a 512-page block (an eviction block).
 * Each figure is the median over rounds of a pass touching every page of a 64 MiB region once in
 * a random order, wall clock and CPU time of the whole process (both threads when there are
 * two), in microseconds per page. CSV on stdout: step, us_wall, us_cpu, cpu.
 *
 * Environment: CLOISTER_EPC_BENCH_REPS (rounds per step, default 5). */
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

#define PAGE 4096u
#define PAGES 16384u /* 64 MiB */
#define BLOCK 512u
#define MAX_REPS 15
#define NULL_CALLS 100000

struct floor {
    uint8_t *base;   /* PAGES pages, registered with uffd when uffd >= 0 */
    int uffd;        /* -1: plain anonymous memory */
    uint8_t *source; /* the page UFFDIO_COPY copies from */
    uint32_t *order; /* a random permutation of the pages */
    int reps, cpus[2];
    const char *cpu;
};

static struct floor fl;

static _Noreturn void die(const char *what)
{
    fprintf(stderr, "bench_epc_floor: %s: %s\n", what, strerror(errno));
    exit(1);
}

/* CPU time of the process, every thread (user + system). */
static double process_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void pin(pthread_t t, int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    pthread_setaffinity_np(t, sizeof set, &set);
}

static void install(uintptr_t addr)
{
    struct uffdio_copy copy = {.dst = addr & ~(uintptr_t)(PAGE - 1),
                               .src = (uintptr_t)fl.source,
                               .len = PAGE};
    while (ioctl(fl.uffd, UFFDIO_COPY, &copy) != 0)
        if (errno != EAGAIN && errno != EINTR) {
            if (errno == EEXIST) /* woken twice for one page: served already */
                return;
            die("UFFDIO_COPY");
        }
}

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)uc;
    install((uintptr_t)si->si_addr);
}

/* The handler thread: blocked in read(2) until a fault arrives, then installs the page, which
 * wakes the faulting thread. */
static _Noreturn void *serve_thread(void *arg)
{
    (void)arg;
    struct uffd_msg msg;
    for (;;)
        if (read(fl.uffd, &msg, sizeof msg) == (ssize_t)sizeof msg &&
            msg.event == UFFD_EVENT_PAGEFAULT)
            install((uintptr_t)msg.arg.pagefault.address);
}

static void open_uffd(bool sigbus)
{
    int flags = O_CLOEXEC | (sigbus ? O_NONBLOCK : 0);
    fl.uffd = (int)syscall(SYS_userfaultfd, flags | UFFD_USER_MODE_ONLY);
    if (fl.uffd < 0 && errno == EINVAL)
        fl.uffd = (int)syscall(SYS_userfaultfd, flags);
    struct uffdio_api api = {.api = UFFD_API, .features = sigbus ? UFFD_FEATURE_SIGBUS : 0};
    if (fl.uffd < 0 || ioctl(fl.uffd, UFFDIO_API, &api) != 0)
        die("userfaultfd");
    struct uffdio_register reg = {
        .range = {.start = (uintptr_t)fl.base, .len = (size_t)PAGES * PAGE},
        .mode = UFFDIO_REGISTER_MODE_MISSING | UFFDIO_REGISTER_MODE_WP,
    };
    if (ioctl(fl.uffd, UFFDIO_REGISTER, &reg) != 0)
        die("UFFDIO_REGISTER");
}

static void close_uffd(void)
{
    madvise(fl.base, (size_t)PAGES * PAGE, MADV_DONTNEED);
    close(fl.uffd);
    fl.uffd = -1;
}

/* ---- the steps: each does one round over every page (or NULL_CALLS calls) ---- */

static void touch_all(void)
{
    for (size_t i = 0; i < PAGES; i++)
        ((volatile uint8_t *)fl.base)[(size_t)fl.order[i] * PAGE];
}

static void copy_all(void)
{
    for (size_t i = 0; i < PAGES; i++)
        install((uintptr_t)(fl.base + (size_t)fl.order[i] * PAGE));
}

static void drop_all(void)
{
    if (madvise(fl.base, (size_t)PAGES * PAGE, MADV_DONTNEED) != 0)
        die("MADV_DONTNEED");
}

static void drop_blocks(void)
{
    for (size_t b = 0; b < PAGES; b += BLOCK)
        if (madvise(fl.base + b * PAGE, (size_t)BLOCK * PAGE, MADV_DONTNEED) != 0)
            die("MADV_DONTNEED");
}

static void protect_blocks(void)
{
    for (size_t b = 0; b < PAGES; b += BLOCK) {
        struct uffdio_writeprotect wp = {
            .range = {.start = (uintptr_t)(fl.base + b * PAGE), .len = (size_t)BLOCK * PAGE},
            .mode = UFFDIO_WRITEPROTECT_MODE_WP,
        };
        if (ioctl(fl.uffd, UFFDIO_WRITEPROTECT, &wp) != 0)
            die("UFFDIO_WRITEPROTECT");
    }
}

static void null_calls(void)
{
    for (int i = 0; i < NULL_CALLS; i++)
        syscall(SYS_getppid);
}

/* A step: `prepare` (untimed), then `timed`, per unit; medians over the rounds. */
struct step {
    const char *name;
    void (*prepare)(void), (*timed)(void);
    double units;
};

static void measure(const struct step *s)
{
    double wall[MAX_REPS], cpu[MAX_REPS];
    for (int r = 0; r < fl.reps; r++) {
        if (s->prepare)
            s->prepare();
        double w0 = bench_now_ns(), c0 = process_cpu_ns();
        s->timed();
        wall[r] = (bench_now_ns() - w0) / s->units;
        cpu[r] = (process_cpu_ns() - c0) / s->units;
        drop_all();
    }
    double w = bench_quantile(wall, (size_t)fl.reps, 0.5) / 1e3;
    double c = bench_quantile(cpu, (size_t)fl.reps, 0.5) / 1e3;
    printf("%s,%.2f,%.2f,%s\n", s->name, w, c, fl.cpu);
    fflush(stdout);
    fprintf(stderr, "%-44s %7.2f us wall %7.2f us CPU\n", s->name, w, c);
}

static void handler_thread_step(const char *name, int cpu)
{
    open_uffd(false);
    pthread_t t;
    if (pthread_create(&t, NULL, serve_thread, NULL) != 0)
        die("pthread_create");
    pin(t, cpu);
    measure(&(struct step){name, NULL, touch_all, PAGES});
    pthread_cancel(t); /* read(2) is a cancellation point */
    pthread_join(t, NULL);
    close_uffd();
}

static void make_order(void)
{
    fl.order = malloc(PAGES * sizeof *fl.order);
    if (!fl.order)
        die("malloc");
    uint64_t s = 0x9e3779b97f4a7c15ull;
    for (uint32_t i = 0; i < PAGES; i++)
        fl.order[i] = i;
    for (uint32_t i = PAGES - 1; i > 0; i--) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        uint32_t j = (uint32_t)(s % (i + 1)), t = fl.order[i];
        fl.order[i] = fl.order[j];
        fl.order[j] = t;
    }
}

/* The first two CPUs this process may run on; cpus[1] = -1 if there is only one. */
static void pick_cpus(void)
{
    cpu_set_t set;
    fl.cpus[0] = fl.cpus[1] = -1;
    if (sched_getaffinity(0, sizeof set, &set) != 0)
        die("sched_getaffinity");
    for (int c = 0, k = 0; c < CPU_SETSIZE && k < 2; c++)
        if (CPU_ISSET(c, &set))
            fl.cpus[k++] = c;
}

int main(void)
{
    const char *reps_text = getenv("CLOISTER_EPC_BENCH_REPS");
    fl.reps = reps_text && *reps_text ? atoi(reps_text) : 5;
    fl.reps = fl.reps < 1 ? 1 : fl.reps > MAX_REPS ? MAX_REPS : fl.reps;
    char cpu[240];
    bench_cpu_model(cpu, sizeof cpu);
    fl.cpu = cpu;
    fl.uffd = -1;
    fl.base = mmap(NULL, (size_t)PAGES * PAGE, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    fl.source = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (fl.base == MAP_FAILED || fl.source == MAP_FAILED)
        die("mmap");
    madvise(fl.base, (size_t)PAGES * PAGE, MADV_NOHUGEPAGE);
    memset(fl.source, 0xa5, PAGE);
    make_order();
    pick_cpus();
    pin(pthread_self(), fl.cpus[0]);
    fprintf(stderr, "CPU %s; %u pages in a random order, median of %d rounds, per page\n", cpu,
            PAGES, fl.reps);
    printf("step,us_wall,us_cpu,cpu\n");

    measure(&(struct step){"null system call", NULL, null_calls, NULL_CALLS});
    measure(&(struct step){"anonymous page fault (kernel zero-fill)", NULL, touch_all, PAGES});

    open_uffd(true);
    struct sigaction sa = {.sa_sigaction = on_sigbus, .sa_flags = SA_SIGINFO}, old;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGBUS, &sa, &old);
    measure(&(struct step){"UFFDIO_COPY install", NULL, copy_all, PAGES});
    measure(&(struct step){"first access to an installed page", copy_all, touch_all, PAGES});
    measure(&(struct step){"UFFDIO_WRITEPROTECT, 512-page block", copy_all, protect_blocks, PAGES});
    measure(&(struct step){"MADV_DONTNEED, 512-page block", copy_all, drop_blocks, PAGES});
    measure(&(struct step){"uffd fault, in-thread (SIGBUS)", NULL, touch_all, PAGES});
    sigaction(SIGBUS, &old, NULL);
    close_uffd();

    handler_thread_step("uffd fault, handler thread, same core", fl.cpus[0]);
    if (fl.cpus[1] >= 0)
        handler_thread_step("uffd fault, handler thread, other core", fl.cpus[1]);
    return 0;
}
