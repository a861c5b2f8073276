/* mr_remote.h -- remote MapReduce workers (`cloister mapreduce worker`): processes that join
 * jobs over NATS JetStream (docs/mapreduce.md, "Distributed runs").
 *
 * A job's client offers seats in the provisioning pool MR_REMOTE_POOL (prov_bus.h) under the
 * session "mr-<job>", each seat's info naming the job and its ack deadline. A worker slot (one
 * enclave) takes a seat, gets the job key by attested HPKE and the code sealed under it, then
 * serves the job's task stream (mr_transport_nats.h) until the job ends (its streams are
 * deleted) or the worker is stopped, and takes the next seat. */
#ifndef CLOISTER_MAPREDUCE_REMOTE_H
#define CLOISTER_MAPREDUCE_REMOTE_H

#include "mapreduce/host/mr_host.h"
#include "mapreduce/host/mr_transport_nats.h"

#include <cloister/wire.h>

#define MR_REMOTE_POOL "mr"

/* A seat's info: str job id (hex), u64 ack deadline in ms (0: the default). */
void mr_remote_info_encode(struct wire_writer *w, const char *job, int64_t ack_wait_ms);
int mr_remote_info_decode(const uint8_t *info, size_t len, char job[MR_JOB_HEX_MAX + 1],
                          int64_t *ack_wait_ms);

struct mr_remote_options {
    const char *url;                       /* nats://HOST:PORT */
    unsigned slots;                        /* enclaves, each serving one job at a time (1) */
    enum mr_tee tee;                       /* proc or sim: a remote worker must be attested */
    const struct tee_enclave_def *enclave; /* sim */
    const char *home, *signature; /* platform home, the image's signature (NULL: defaults) */
    const char *name;             /* shown to clients in their logs ("worker") */
    volatile sig_atomic_t *stop;  /* set by a signal handler: leave the jobs, return */
    void (*on_join)(void *arg, unsigned slot, const char *job); /* may be NULL */
    void *arg;
};

/* Runs the slots until *stop is set; 0 then. Fails at once when an enclave cannot start. */
int mr_remote_worker_run(const struct mr_remote_options *o, struct cloister_err *err);

#endif
