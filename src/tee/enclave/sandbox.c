/* sandbox.c -- what the proc backend's enclave process does to itself before it serves a call.
 *
 *   1. tee_sandbox_harden: PR_SET_NO_NEW_PRIVS; no capabilities at all (even when the host
 *      runs as root); PR_SET_DUMPABLE 0 (same-uid ptrace and /proc/PID/mem are refused to
 *      anyone without CAP_SYS_PTRACE); RLIMIT_CORE 0.
 *   2. tee_sandbox_landlock: a ruleset handling every filesystem right the kernel's ABI knows
 *      and granting none (plus TCP bind/connect from ABI 4 and signal/abstract-socket scoping
 *      from ABI 6). Landlock binds the calling thread and its future threads, so it runs before
 *      the worker threads are created.
 *   3. tee_sandbox_seccomp: an allowlist, everything else SECCOMP_RET_KILL_PROCESS, on all
 *      threads at once (TSYNC). No process creation, no exec, no socket, and no executable
 *      mapping (mmap/mprotect with PROT_EXEC are refused): what runs is what was measured.
 *      Writes go to stdout/stderr only (diagnostics). open/openat fail with EACCES rather than
 *      kill: glibc and OpenSSL open files lazily (malloc's arena trimming reads
 *      /proc/sys/vm/overcommit_memory), the enclave cannot use a file either way (Landlock
 *      grants none), and a refused probe must not become a dead enclave. sysinfo too: glibc's
 *      qsort asks it for the physical memory (sysconf(_SC_PHYS_PAGES)) on arrays over 1 KiB, as
 *      when OpenSSL sorts a certificate store, and does without when it is refused.
 *
 * Sanitizer builds: to print a report, ASan reads /proc/self/exe's link, asks whether stderr
 * is a terminal (ioctl TCGETS on fd 2) and tries to open /proc/self/maps (refused, as every
 * open). When the image itself is built with a sanitizer, and only then, readlink and that ioctl
 * are allowed; the enclave's info says so (sandbox.sanitizer_allowances) and image builds set ASan's
 * symbolize=0 (sanitizer_options.c), since no symbolizer process may start. */
#include "tee/enclave/rt.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/falloc.h>
#include <linux/userfaultfd.h>
#include <seccomp.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define TEE_SANITIZER_BUILD 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(undefined_behavior_sanitizer)
#define TEE_SANITIZER_BUILD 1
#endif
#endif
#ifndef TEE_SANITIZER_BUILD
#define TEE_SANITIZER_BUILD 0
#endif

static int sys_fail(struct cloister_err *err, const char *what)
{
    return cloister_errf(err, CLOISTER_E_SYSTEM, "%s: %s", what, strerror(errno));
}

int tee_sandbox_harden(struct tee_sandbox *sb, struct cloister_err *err)
{
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        return sys_fail(err, "PR_SET_NO_NEW_PRIVS");
    sb->no_new_privs = true;
    struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct no_caps[2] = {{0}};
    if (syscall(SYS_capset, &hdr, no_caps) != 0)
        return sys_fail(err, "capset");
    sb->no_capabilities = true;
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
        return sys_fail(err, "PR_SET_DUMPABLE");
    sb->not_dumpable = true;
    struct rlimit none = {0, 0};
    if (setrlimit(RLIMIT_CORE, &none) != 0)
        return sys_fail(err, "RLIMIT_CORE");
    sb->no_core = true;
    return 0;
}

/* Landlock UAPI (linux/landlock.h of newer kernels than Debian 12's headers). */
#define LL_CREATE_RULESET_VERSION (1u << 0)
#define LL_FS_ABI1 ((1ull << 13) - 1) /* execute .. make_sym */
#define LL_FS_REFER (1ull << 13)      /* ABI 2 */
#define LL_FS_TRUNCATE (1ull << 14)   /* ABI 3 */
#define LL_FS_IOCTL_DEV (1ull << 15)  /* ABI 5 */
#define LL_NET_ALL 3ull               /* ABI 4: bind_tcp, connect_tcp */
#define LL_SCOPE_ALL 3ull             /* ABI 6: abstract_unix_socket, signal */

struct ll_ruleset_attr {
    uint64_t handled_access_fs;
    uint64_t handled_access_net;
    uint64_t scoped;
};

int tee_sandbox_landlock(struct tee_sandbox *sb, struct cloister_err *err)
{
    long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LL_CREATE_RULESET_VERSION);
    if (abi < 1)
        return 0; /* not in this kernel (or disabled): reported as landlock_abi 0 */
    struct ll_ruleset_attr attr = {.handled_access_fs = LL_FS_ABI1};
    size_t size = sizeof attr.handled_access_fs;
    if (abi >= 2)
        attr.handled_access_fs |= LL_FS_REFER;
    if (abi >= 3)
        attr.handled_access_fs |= LL_FS_TRUNCATE;
    if (abi >= 4) {
        attr.handled_access_net = LL_NET_ALL;
        size = offsetof(struct ll_ruleset_attr, scoped);
    }
    if (abi >= 5)
        attr.handled_access_fs |= LL_FS_IOCTL_DEV;
    if (abi >= 6) {
        attr.scoped = LL_SCOPE_ALL;
        size = sizeof attr;
    }
    long fd = syscall(SYS_landlock_create_ruleset, &attr, size, 0);
    if (fd < 0)
        return sys_fail(err, "landlock_create_ruleset");
    long rc = syscall(SYS_landlock_restrict_self, fd, 0);
    close((int)fd);
    if (rc != 0)
        return sys_fail(err, "landlock_restrict_self");
    sb->landlock_abi = (int)abi;
    return 0;
}

/* Calls allowed with any arguments. */
static const int allowed[] = {
    SCMP_SYS(futex),           SCMP_SYS(exit),
    SCMP_SYS(exit_group),      SCMP_SYS(rt_sigreturn),
    SCMP_SYS(rt_sigprocmask),  SCMP_SYS(restart_syscall),
    SCMP_SYS(munmap),          SCMP_SYS(madvise),
    SCMP_SYS(mremap),          SCMP_SYS(brk),
    SCMP_SYS(getrandom),       SCMP_SYS(clock_gettime),
    SCMP_SYS(clock_nanosleep), SCMP_SYS(nanosleep),
    SCMP_SYS(sched_yield),     SCMP_SYS(getpid),
    SCMP_SYS(gettid),          SCMP_SYS(getppid),
    SCMP_SYS(memfd_secret),    SCMP_SYS(ftruncate),
    SCMP_SYS(close),           SCMP_SYS(mlock),
    SCMP_SYS(munlock),         SCMP_SYS(fstat),
    SCMP_SYS(lseek),
};

/* What the sanitizer runtimes call besides (see the top of the file). */
static const int sanitizer_extra[] = {
    SCMP_SYS(sigaltstack),
    SCMP_SYS(readlink),
};
/* Refused with EACCES in every build (see the top of the file). */
static const int refused[] = {
    SCMP_SYS(open),
    SCMP_SYS(openat),
    SCMP_SYS(sysinfo),
};

/* An argument comparison with every field set (libseccomp's SCMP_A* macros leave datum_b out,
 * which clang's -Wmissing-field-initializers refuses). */
static struct scmp_arg_cmp arg(unsigned index, enum scmp_compare op, scmp_datum_t a, scmp_datum_t b)
{
    return (struct scmp_arg_cmp){.arg = index, .op = op, .datum_a = a, .datum_b = b};
}

static int add_rules(scmp_filter_ctx ctx, pid_t self)
{
    int rc = 0;
    for (size_t i = 0; i < sizeof allowed / sizeof allowed[0]; i++)
        rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, allowed[i], 0);
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
        rc |= seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), refused[i], 0);
    if (TEE_SANITIZER_BUILD) {
        for (size_t i = 0; i < sizeof sanitizer_extra / sizeof sanitizer_extra[0]; i++)
            rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, sanitizer_extra[i], 0);
        /* isatty(2), to colour the report. */
        rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 2, arg(0, SCMP_CMP_EQ, 2, 0),
                               arg(1, SCMP_CMP_EQ, TCGETS, 0));
    }
    /* Diagnostics only: stdout and stderr. */
    for (int fd = 1; fd <= 2; fd++) {
        struct scmp_arg_cmp to_fd = arg(0, SCMP_CMP_EQ, (scmp_datum_t)fd, 0);
        rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(write), 1, to_fd);
        rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(writev), 1, to_fd);
    }
    /* Memory, but never executable: no code is loaded after the measurement. */
    rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
                           arg(2, SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
    rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1,
                           arg(2, SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
    /* fstat as glibc does it: newfstatat(fd, "", buf, AT_EMPTY_PATH), no path lookup. */
    rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(newfstatat), 1,
                           arg(3, SCMP_CMP_EQ, AT_EMPTY_PATH, 0));
    /* EPC paging (src/epc): userfaultfd page installs and write-protection, and hole punching
     * in the sigsegv pager's memfd. Nothing else of ioctl or fallocate. */
    rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
                           arg(1, SCMP_CMP_EQ, (scmp_datum_t)UFFDIO_COPY, 0));
    rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
                           arg(1, SCMP_CMP_EQ, (scmp_datum_t)UFFDIO_WRITEPROTECT, 0));
    rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(fallocate), 1,
                           arg(1, SCMP_CMP_EQ, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0));
    /* abort() signals its own process only. */
    rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1,
                           arg(0, SCMP_CMP_EQ, (scmp_datum_t)self, 0));
    return rc;
}

int tee_sandbox_seccomp(struct tee_sandbox *sb, struct cloister_err *err)
{
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
    if (!ctx)
        return cloister_errf(err, CLOISTER_E_FAILED, "seccomp: cannot create a filter");
    int rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
    if (rc == 0)
        rc = add_rules(ctx, getpid());
    if (rc == 0)
        rc = seccomp_load(ctx);
    seccomp_release(ctx);
    if (rc != 0)
        return cloister_errf(err, CLOISTER_E_SYSTEM, "seccomp: cannot install the filter: %s",
                             strerror(-rc));
    sb->seccomp = true;
    sb->sanitizer_allowances = TEE_SANITIZER_BUILD;
    return 0;
}
