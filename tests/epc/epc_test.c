/* epc_test.c -- see epc_test.h. */
#include "epc_test.h"

#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

const enum epc_pager_kind test_pagers[2] = {EPC_PAGER_UFFD, EPC_PAGER_SIGSEGV};

int test_in_child(void (*fn)(void *arg), void *arg, char *err, size_t cap)
{
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        close(fds[0]);
        dup2(fds[1], STDERR_FILENO);
        fn(arg);
        _exit(0);
    }
    close(fds[1]);
    size_t n = 0;
    ssize_t r;
    while (n + 1 < cap && (r = read(fds[0], err + n, cap - 1 - n)) > 0)
        n += (size_t)r;
    err[n] = '\0';
    close(fds[0]);
    int status;
    while (waitpid(pid, &status, 0) < 0)
        ;
    return status;
}
