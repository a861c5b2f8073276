/* ring.h -- the shared memory between a host and its proc-backend enclave, and the messages that
 * cross it.
 *
 * One memfd, mapped MAP_SHARED by both processes:
 *
 *     [ header: 4 KiB ][ control area: 64 KiB ][ slot 0 ][ slot 1 ] ... [ slot nslots-1 ]
 *
 * The control area carries the start message (host -> enclave) and the start reply. Each slot
 * carries one call at a time: a 64-byte head (the state word, which is also the futex, two
 * "someone sleeps on it" flags, the message length) and then the wire-encoded message. A call:
 *
 *     host:    IDLE -> REQUEST        (message written, then submit_seq bumped + futex wake)
 *     worker:  REQUEST -> BUSY        (claimed with a CAS; the message copied into private memory)
 *     worker:  BUSY -> OCALL          (optional, ocall request in the slot)
 *     host:    OCALL -> OCALL_DONE    (ocall answer in the slot) -> BUSY by the worker
 *     worker:  BUSY -> DONE           (response in the slot)
 *     host:    DONE -> IDLE           (response decoded)
 *
 * Waiting is switchless style: spin up to spin_count `pause`s re-reading the word, then set the
 * sleeper flag and FUTEX_WAIT on the word; whoever changes a word wakes it when the flag is set.
 * The shared memory is untrusted in both directions: lengths are checked against the slot's
 * capacity, unknown states are protocol errors, and the enclave copies every request into
 * private memory before decoding it. */
#ifndef CLOISTER_TEE_RING_H
#define CLOISTER_TEE_RING_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cloister/wire.h>

#define RING_MAGIC 0x47524c43u /* "CLRG" */
#define RING_VERSION 1u
#define RING_HEADER_SIZE 4096u
#define RING_CONTROL_SIZE 65536u
#define RING_SLOT_HEAD 64u
#define RING_SLOTS_MAX 256u
#define RING_FD 3 /* the ring's memfd in the enclave process */

enum ring_phase {
    RING_PHASE_STARTING = 0, /* the enclave is checking itself and sandboxing */
    RING_PHASE_RUNNING = 1,  /* start reply written, calls welcome */
    RING_PHASE_FAILED = 2,   /* start reply holds the reason; the enclave exits */
    RING_PHASE_STOPPING = 3, /* host asks the workers to exit */
};

enum ring_slot_state {
    RING_SLOT_IDLE = 0,
    RING_SLOT_REQUEST = 1,
    RING_SLOT_BUSY = 2,
    RING_SLOT_OCALL = 3,
    RING_SLOT_OCALL_DONE = 4,
    RING_SLOT_DONE = 5,
    RING_SLOT_DEAD = 6, /* written by the host's monitor once the enclave is gone */
};

struct ring_header {
    uint32_t magic, version;
    uint32_t nslots, slot_size; /* slot_size includes the 64-byte head */
    uint32_t start_len;         /* start message length in the control area */
    uint32_t reply_len;         /* start reply length (it replaces the start message) */
    _Atomic uint32_t phase;     /* enum ring_phase; futex */
    /* Written on every request: a cache line of its own, away from what workers poll. */
    _Alignas(64) _Atomic uint32_t submit_seq; /* futex the idle workers sleep on */
    _Atomic uint32_t idle_workers;
};

struct ring_slot {
    _Atomic uint32_t state;          /* enum ring_slot_state; futex */
    _Atomic uint32_t host_sleeps;    /* the host waits in FUTEX_WAIT on state */
    _Atomic uint32_t enclave_sleeps; /* a worker waits in FUTEX_WAIT on state */
    _Atomic uint32_t len;            /* message length in data */
};

/* A mapping of the ring, as seen by one side. */
struct ring {
    uint8_t *base;
    size_t size;
    struct ring_header *hdr;
    uint8_t *control;
    uint32_t nslots;
    size_t slot_size;
};

static inline size_t ring_size(uint32_t nslots, size_t slot_size)
{
    return RING_HEADER_SIZE + RING_CONTROL_SIZE + (size_t)nslots * slot_size;
}
static inline struct ring_slot *ring_slot(const struct ring *r, uint32_t i)
{
    return (struct ring_slot *)(r->base + RING_HEADER_SIZE + RING_CONTROL_SIZE +
                                (size_t)i * r->slot_size);
}
static inline uint8_t *ring_slot_data(const struct ring *r, uint32_t i)
{
    return (uint8_t *)ring_slot(r, i) + RING_SLOT_HEAD;
}
static inline size_t ring_slot_capacity(const struct ring *r)
{
    return r->slot_size - RING_SLOT_HEAD;
}

/* Slot size for messages up to max_message bytes (rounded up to whole pages). */
size_t ring_slot_size_for(size_t max_message);
/* Host: creates the memfd (fd returned in *fd, close-on-exec) and maps it. */
int ring_create(struct ring *r, int *fd, uint32_t nslots, size_t slot_size);
/* Enclave: maps an inherited ring and checks its header against the file's size. */
int ring_attach(struct ring *r, int fd);
void ring_unmap(struct ring *r);

/* Futex on a shared word (not FUTEX_PRIVATE: the two sides are different processes).
 * timeout_ms < 0 waits without a limit. Returns 0, or -1 with errno (ETIMEDOUT, EAGAIN). */
int ring_futex_wait(_Atomic uint32_t *word, uint32_t expected, int timeout_ms);
void ring_futex_wake(_Atomic uint32_t *word, int count);

/* One step of a spin-wait: a pause, and every 256 steps (a few microseconds) a yield, so that
 * a spinner sharing its core with the thread it waits for (an oversubscribed machine, or no
 * pinning) lets it run instead of burning its time slice. */
void ring_spin_step(uint32_t i);

/* Stores a new state and wakes the other side if it sleeps on the word (the sleeper flag and
 * the state are both sequentially consistent, so no wake-up is lost). */
void ring_slot_set(struct ring_slot *s, uint32_t state, _Atomic uint32_t *other_sleeps);

/* How a wait ended. */
enum ring_wait_result { RING_WAIT_CHANGED, RING_WAIT_TIMEOUT, RING_WAIT_ABANDONED };

/* Waits until *word differs from `from`: spins up to spin pauses, then sleeps with *my_sleeps
 * set. abandoned(arg) is checked between sleeps (a dead peer); timeout_ms < 0: no limit;
 * tick_ms bounds each sleep so that abandoned() is polled. *slept tells whether it had to
 * sleep (a switchless fallback). */
enum ring_wait_result ring_wait_change(_Atomic uint32_t *word, uint32_t from, uint32_t spin,
                                       _Atomic uint32_t *my_sleeps, int timeout_ms, int tick_ms,
                                       bool (*abandoned)(void *arg), void *arg, bool *slept);

/* The messages (wire.h records), shared by both backends:
 *   request   "CLRQ" v1: varint count (1..TEE_BATCH_MAX), then per call varint number, bytes in
 *   response  "CLRS" v1: varint count, then per call u8 status (-CLOISTER_E_*), bytes out (the
 *                        error text when the status is not CLOISTER_OK)
 *   ocall     "CLOQ" v1: varint number, bytes in
 *   answer    "CLOA" v1: u8 status, bytes out (or error text)
 *   start     "CLST" v1: str name, bytes signature, str home, varint workers, varint spin,
 *                        u8 wait, varint max_message
 *   reply     "CLSR" v1: u8 status, str message, then when CLOISTER_OK: bytes mrenclave, bytes
 *                        mrsigner, u16 product id, u16 svn, u8 debug, u8 sandbox flags
 *                        (no_new_privs, not_dumpable, no_core, seccomp, sanitizer, no caps),
 *                        u8 landlock abi, u8 secret memory, varint pid */
#define MSG_REQUEST "CLRQ"
#define MSG_RESPONSE "CLRS"
#define MSG_OCALL "CLOQ"
#define MSG_ANSWER "CLOA"
#define MSG_START "CLST"
#define MSG_REPLY "CLSR"
#define MSG_VERSION 1

/* Encodes a status for the wire (0..-CLOISTER_E_LAST) and decodes it, refusing unknown codes. */
static inline uint8_t msg_status_encode(int status)
{
    return (uint8_t)-status;
}
int msg_status_decode(struct wire_reader *r);

#endif
