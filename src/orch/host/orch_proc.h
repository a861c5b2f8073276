/* orch_proc.h -- standard pods as processes under a memory limit (orch_proc.c). */
#ifndef CLOISTER_ORCH_PROC_H
#define CLOISTER_ORCH_PROC_H

#include <cloister/error.h>
#include <cloister/orch.h>

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* Slack over the request for the process's own first pages (page rounding). */
#define ORCH_PROC_SLACK (1u << 20)
/* What a child that could not execute its image says on its pipe. */
#define ORCH_PROC_NO_EXEC 2

/* Starts the pod's process: it limits its data to what it had plus request and the slack
 * (RLIMIT_DATA, the kernel's check on every private writable mapping), then allocates use.
 * Returns 0 with *pid and *base (the data it had before, to subtract from orch_proc_data) once
 * the allocation is made; CLOISTER_E_TOO_BIG ("memory limit ... refused ...") when the limit
 * refused it, the process then gone. With exe (the path of the pod's image), the process runs
 * that program instead, its data limited to request and the slack, and use is ignored; *base is
 * then 0. */
int orch_proc_start(const char *pod, uint64_t request, uint64_t use, const char *exe, pid_t *pid,
                    uint64_t *base, struct cloister_err *err);
/* The process's data (VmData) in bytes; 0 when it cannot be read. */
uint64_t orch_proc_data(pid_t pid);
/* True while the process runs (a process that exited is reaped). */
bool orch_proc_alive(pid_t pid);
/* Kills and reaps it. */
void orch_proc_stop(pid_t pid);

#endif
