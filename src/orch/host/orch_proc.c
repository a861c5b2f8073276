/* orch_proc.c -- a standard pod as a process, its memory limited like an SGX pod's EPC
 * (orch_proc.h).
 *
 * The agent forks; the child does only system calls (the agent has threads: no malloc, no locks
 * after fork): it closes the descriptors it inherited, reads its own VmData from
 * /proc/self/status (what it has before the pod allocates anything: the agent's mappings it
 * inherited), sets RLIMIT_DATA to that plus the request and ORCH_PROC_SLACK, and maps the pod's
 * use (private, writable, not touched: the kernel counts it against the limit without the
 * machine's memory being spent). It tells the agent through a pipe: its base, then whether the
 * mapping was made. A pod that uses more than it requested is thus refused by the kernel at its
 * allocation, as an enclave is by its EPC group. The child then sleeps until it is killed, and
 * exits by itself when its parent is gone (an agent killed -9 leaves no pod behind). Measured
 * use is VmData minus the base.
 *
 * A pod that names an image runs that program instead: the child limits its data to the request
 * and the slack (the program's own data counts from nothing after exec), asks the kernel to kill
 * it when the agent goes, and executes it with an environment of its own (PATH and the pod's
 * name and request). Its pipe is close-on-exec, so the agent learns that the program started
 * from the end of the pipe, and that it could not from a code written before exiting. Such a
 * program meets its limit as any process does: malloc and mmap fail past it. */
#include "orch/host/orch_proc.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define FDS_MAX 4096

/* VmData of /proc/PID/status ("self" or a pid), in bytes, with system calls only. */
static uint64_t vm_data(const char *path)
{
    char buf[4096];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = 0;
    const char *p = strstr(buf, "VmData:");
    if (!p)
        return 0;
    uint64_t kib = 0;
    for (p += 7; *p == ' ' || *p == '\t'; p++)
        ;
    for (; *p >= '0' && *p <= '9'; p++)
        kib = kib * 10 + (uint64_t)(*p - '0');
    return kib * 1024;
}

static void put(int fd, uint64_t v)
{
    if (write(fd, &v, sizeof v) != (ssize_t)sizeof v)
        _exit(5);
}

/* Executes the image under the limit; returns only when it could not. */
static void child_exec(int fd, pid_t parent, uint64_t request, const char *exe, char *const env[])
{
    struct rlimit rl = {.rlim_cur = request + ORCH_PROC_SLACK,
                        .rlim_max = request + ORCH_PROC_SLACK};
    put(fd, 0);
    if (setrlimit(RLIMIT_DATA, &rl) != 0 || prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 ||
        getppid() != parent)
        return;
    execve(exe, (char *const[]){(char *)exe, NULL}, env);
}

static _Noreturn void child(int fd, pid_t parent, uint64_t request, uint64_t use, const char *exe,
                            char *const env[])
{
    for (int i = 3; i < FDS_MAX; i++)
        if (i != fd)
            close(i);
    if (exe) {
        child_exec(fd, parent, request, exe, env);
        put(fd, ORCH_PROC_NO_EXEC);
        _exit(6);
    }
    uint64_t base = vm_data("/proc/self/status");
    put(fd, base);
    struct rlimit rl = {.rlim_cur = base + request + ORCH_PROC_SLACK,
                        .rlim_max = base + request + ORCH_PROC_SLACK};
    if (base == 0 || setrlimit(RLIMIT_DATA, &rl) != 0)
        _exit(4);
    if (use && mmap(NULL, use, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                    -1, 0) == MAP_FAILED)
        _exit(3);
    put(fd, 1);
    close(fd);
    while (getppid() == parent)
        nanosleep(&(struct timespec){0, 200 * 1000000L}, NULL);
    _exit(0);
}

static bool get(int fd, uint64_t *v)
{
    size_t got = 0;
    while (got < sizeof *v) {
        ssize_t n = read(fd, (char *)v + got, sizeof *v - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        got += (size_t)n;
    }
    return true;
}

int orch_proc_start(const char *pod, uint64_t request, uint64_t use, const char *exe, pid_t *pid,
                    uint64_t *base, struct cloister_err *err)
{
    char env_name[32 + ORCH_NAME_MAX], env_mem[64];
    snprintf(env_name, sizeof env_name, "CLOISTER_POD=%s", pod);
    snprintf(env_mem, sizeof env_mem, "CLOISTER_POD_MEMORY=%llu", (unsigned long long)request);
    char *const env[] = {"PATH=/usr/local/bin:/usr/bin:/bin", env_name, env_mem, NULL};
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0)
        return cloister_errf(err, CLOISTER_E_SYSTEM, "pod %s: no pipe", pod);
    pid_t parent = getpid(), c = fork();
    if (c == 0)
        child(p[1], parent, request, use, exe, env);
    close(p[1]);
    if (c < 0) {
        close(p[0]);
        return cloister_errf(err, CLOISTER_E_SYSTEM, "pod %s: cannot start its process", pod);
    }
    uint64_t ok = 0;
    bool got = get(p[0], base), more = got && get(p[0], &ok);
    bool started = exe ? got && !more : more && ok == 1; /* an image: the pipe closed by exec */
    close(p[0]);
    if (started) {
        *pid = c;
        return CLOISTER_OK;
    }
    int status = 0;
    waitpid(c, &status, 0);
    if (exe)
        return cloister_errf(err, CLOISTER_E_FAILED, "pod %s: its image could not be executed",
                             pod);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 3)
        return cloister_errf(err, CLOISTER_E_TOO_BIG,
                             "memory limit of pod %s refused its allocation of %llu bytes "
                             "(request %llu)",
                             pod, (unsigned long long)use, (unsigned long long)request);
    return cloister_errf(err, CLOISTER_E_SYSTEM, "pod %s: its process failed to start", pod);
}

uint64_t orch_proc_data(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    return vm_data(path);
}

bool orch_proc_alive(pid_t pid)
{
    return waitpid(pid, NULL, WNOHANG) == 0;
}

void orch_proc_stop(pid_t pid)
{
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}
