/* ring.c -- mapping the shared ring and waiting on its words: see ring.h. */
#include "tee/ring/ring.h"

#include <cloister/tee.h>

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

size_t ring_slot_size_for(size_t max_message)
{
    size_t page = 4096, need = RING_SLOT_HEAD + max_message;
    return (need + page - 1) / page * page;
}

static int ring_map(struct ring *r, int fd, size_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED)
        return -1;
    r->base = p;
    r->size = size;
    r->hdr = p;
    r->control = r->base + RING_HEADER_SIZE;
    return 0;
}

int ring_create(struct ring *r, int *fd, uint32_t nslots, size_t slot_size)
{
    memset(r, 0, sizeof *r);
    if (nslots == 0 || nslots > RING_SLOTS_MAX || slot_size <= RING_SLOT_HEAD || slot_size % 64 ||
        slot_size > UINT32_MAX) {
        errno = EINVAL;
        return -1;
    }
    size_t size = ring_size(nslots, slot_size);
    int mfd = memfd_create("cloister-ring", MFD_CLOEXEC);
    if (mfd < 0)
        return -1;
    if (ftruncate(mfd, (off_t)size) != 0 || ring_map(r, mfd, size) != 0) {
        int saved = errno;
        close(mfd);
        errno = saved;
        return -1;
    }
    r->nslots = nslots;
    r->slot_size = slot_size;
    r->hdr->magic = RING_MAGIC;
    r->hdr->version = RING_VERSION;
    r->hdr->nslots = nslots;
    r->hdr->slot_size = (uint32_t)slot_size;
    *fd = mfd;
    return 0;
}

int ring_attach(struct ring *r, int fd)
{
    memset(r, 0, sizeof *r);
    struct stat st;
    if (fstat(fd, &st) != 0)
        return -1;
    if (st.st_size < (off_t)(RING_HEADER_SIZE + RING_CONTROL_SIZE) || st.st_size > (1ll << 34)) {
        errno = EINVAL;
        return -1;
    }
    if (ring_map(r, fd, (size_t)st.st_size) != 0)
        return -1;
    /* Read each header field once: the host could change them under us. */
    uint32_t magic = r->hdr->magic, version = r->hdr->version;
    uint32_t nslots = r->hdr->nslots, slot_size = r->hdr->slot_size;
    if (magic != RING_MAGIC || version != RING_VERSION || nslots == 0 || nslots > RING_SLOTS_MAX ||
        slot_size <= RING_SLOT_HEAD || slot_size % 64 ||
        ring_size(nslots, slot_size) != (size_t)st.st_size) {
        ring_unmap(r);
        errno = EPROTO;
        return -1;
    }
    r->nslots = nslots;
    r->slot_size = slot_size;
    return 0;
}

void ring_unmap(struct ring *r)
{
    if (r->base)
        munmap(r->base, r->size);
    memset(r, 0, sizeof *r);
}

int ring_futex_wait(_Atomic uint32_t *word, uint32_t expected, int timeout_ms)
{
    struct timespec ts, *tp = NULL;
    if (timeout_ms >= 0) {
        ts.tv_sec = timeout_ms / 1000;
        ts.tv_nsec = (long)(timeout_ms % 1000) * 1000000L;
        tp = &ts;
    }
    long rc = syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT, expected, tp, NULL, 0);
    return rc == 0 ? 0 : -1;
}

void ring_futex_wake(_Atomic uint32_t *word, int count)
{
    syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE, count, NULL, NULL, 0);
}

void ring_spin_step(uint32_t i)
{
    if (i % 256 == 255) {
        sched_yield();
        return;
    }
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

void ring_slot_set(struct ring_slot *s, uint32_t state, _Atomic uint32_t *other_sleeps)
{
    atomic_store(&s->state, state);
    if (atomic_load(other_sleeps))
        ring_futex_wake(&s->state, INT_MAX);
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

enum ring_wait_result ring_wait_change(_Atomic uint32_t *word, uint32_t from, uint32_t spin,
                                       _Atomic uint32_t *my_sleeps, int timeout_ms, int tick_ms,
                                       bool (*abandoned)(void *arg), void *arg, bool *slept)
{
    for (uint32_t i = 0; i < spin; i++) {
        if (atomic_load_explicit(word, memory_order_acquire) != from)
            return RING_WAIT_CHANGED;
        ring_spin_step(i);
    }
    double deadline = timeout_ms >= 0 ? now_ms() + timeout_ms : 0;
    for (;;) {
        if (atomic_load(word) != from)
            return RING_WAIT_CHANGED;
        if (abandoned && abandoned(arg))
            return RING_WAIT_ABANDONED;
        int wait_ms = tick_ms;
        if (timeout_ms >= 0) {
            double left = deadline - now_ms();
            if (left <= 0)
                return RING_WAIT_TIMEOUT;
            if (wait_ms < 0 || left < wait_ms)
                wait_ms = (int)left + 1;
        }
        *slept = true;
        atomic_store(my_sleeps, 1);
        if (atomic_load(word) == from)
            ring_futex_wait(word, from, wait_ms);
        atomic_store(my_sleeps, 0);
    }
}

int msg_status_decode(struct wire_reader *r)
{
    uint8_t code = wire_get_u8(r);
    if (code > (uint8_t)-CLOISTER_E_LAST) {
        wire_reader_fail(r, "unknown status code");
        return CLOISTER_E_PROTOCOL;
    }
    return -(int)code;
}
