/* secret.c -- memory for secrets (tee_secret_alloc, tee_enclave.h): the lowest module of the
 * trusted side, so that the platform, the trust code (tee_self) and the trusted runtime all
 * keep their keys in it without depending on each other.
 *
 * Secrets get whole pages of their own: from memfd_secret where the kernel offers it (the pages
 * leave the kernel's direct map, so not even a kernel read primitive through the linear map sees
 * them), else anonymous pages that are mlock'd (never swapped), excluded from core dumps and
 * wiped in a forked child. The first allocation finds out which the kernel gives; the sandbox
 * report (struct tee_sandbox) says which is in use. */
#include <cloister/crypto.h>
#include <cloister/tee_enclave.h>

#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

static _Atomic int secret_kind = -1; /* enum tee_secret_memory once known */

static size_t page_round(size_t n)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    return n > SIZE_MAX - page ? 0 : (n + page - 1) / page * page;
}

static void *secret_pages(size_t size)
{
    long fd = syscall(SYS_memfd_secret, 0);
    if (fd < 0)
        return MAP_FAILED;
    void *p = MAP_FAILED;
    if (ftruncate((int)fd, (off_t)size) == 0)
        p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, (int)fd, 0);
    close((int)fd);
    return p;
}

static void *locked_pages(size_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return p;
    if (mlock(p, size) != 0) {
        munmap(p, size);
        return MAP_FAILED;
    }
    madvise(p, size, MADV_DONTDUMP);
    madvise(p, size, MADV_WIPEONFORK);
    return p;
}

void *tee_secret_alloc(size_t n)
{
    size_t size = page_round(n ? n : 1);
    if (!size)
        return NULL;
    int kind = atomic_load(&secret_kind);
    void *p = MAP_FAILED;
    if (kind != TEE_SECRET_MEMORY_MLOCK) {
        p = secret_pages(size);
        if (kind < 0)
            atomic_store(&secret_kind, p != MAP_FAILED ? TEE_SECRET_MEMORY_MEMFD_SECRET
                                                       : TEE_SECRET_MEMORY_MLOCK);
    }
    if (p == MAP_FAILED && atomic_load(&secret_kind) == TEE_SECRET_MEMORY_MLOCK)
        p = locked_pages(size);
    return p == MAP_FAILED ? NULL : p;
}

void tee_secret_free(void *p, size_t n)
{
    if (!p)
        return;
    size_t size = page_round(n ? n : 1);
    crypto_wipe(p, size);
    munmap(p, size); /* also unlocks */
}

enum tee_secret_memory tee_secret_memory_kind(void)
{
    if (atomic_load(&secret_kind) < 0)
        tee_secret_free(tee_secret_alloc(1), 1);
    int kind = atomic_load(&secret_kind);
    return kind < 0 ? TEE_SECRET_MEMORY_NONE : (enum tee_secret_memory)kind;
}
