/* test_enclave.h -- the ecalls of the test enclave (test.enclave), shared by the tests, the
 * benchmarks and the enclave itself. Every image also has the runtime's built-in ecalls
 * (evidence, provisioning, secret digest, seal/unseal: tee.h). */
#ifndef CLOISTER_TEST_ENCLAVE_H
#define CLOISTER_TEST_ENCLAVE_H

enum {
    TEST_ECALL_ECHO = 1,           /* out = in */
    TEST_ECALL_COUNT = 2,          /* out: u64 (big-endian) calls of this ecall on this instance */
    TEST_ECALL_SEAL_ROUNDTRIP = 3, /* in: u8 policy, data; seals and unseals inside; out: data */
    TEST_ECALL_OCALL_ECHO = 4,     /* out: what host ocall TEST_OCALL_ECHO answers to in */
    TEST_ECALL_BIG = 5,            /* in: u32 n; out: n bytes of 0xab */
    TEST_ECALL_FAIL = 6,           /* fails with CLOISTER_E_FAILED and the message "as asked" */
    TEST_ECALL_STARTED = 7,        /* out: u8 1 when on_start ran */
    /* Misbehaviours, for the sandbox and robustness tests (proc backend only). */
    TEST_ECALL_TRY_OPEN = 10, /* open("/etc/hostname"); out: "opened" if it could */
    TEST_ECALL_TRY_FORK = 11, /* fork(); out: "forked" if it could */
    TEST_ECALL_TRY_EXEC = 12, /* execve("/bin/true"); out: "exec failed" if it returns */
    TEST_ECALL_CRASH = 13,    /* writes through a NULL pointer */
    TEST_ECALL_LOOP = 14,     /* never returns */
    TEST_ECALL_SCRIBBLE = 15, /* in: u8 how; corrupts its own ring slot, then loops */
    TEST_ECALL_MARKER = 16,   /* out: u64 address of 32 marker bytes, then the bytes */
};

enum { TEST_OCALL_ECHO = 1 };

/* TEST_ECALL_SCRIBBLE modes. */
enum { SCRIBBLE_STATE = 1, SCRIBBLE_LENGTH = 2, SCRIBBLE_GARBAGE = 3 };

#endif
