/* names.c -- the names of statuses, backends and secret memories, shared by both sides of the
 * boundary (kept apart from the host code so that enclave images do not link the loader). */
#include <cloister/tee.h>

const char *tee_strerror(int status)
{
    switch (status) {
    case TEE_OK: return "ok";
    case TEE_ERROR_INVALID: return "invalid argument or malformed message";
    case TEE_ERROR_NO_ECALL: return "no such ecall or ocall";
    case TEE_ERROR_TOO_BIG: return "message too big";
    case TEE_ERROR_DEAD: return "enclave is dead";
    case TEE_ERROR_TIMEOUT: return "call timed out";
    case TEE_ERROR_IMAGE: return "enclave image refused";
    case TEE_ERROR_DENIED: return "trust check failed";
    case TEE_ERROR_NO_MEMORY: return "out of memory";
    case TEE_ERROR_PROTOCOL: return "boundary protocol violated";
    case TEE_ERROR_FAILED: return "ecall failed";
    case TEE_ERROR_SYSTEM: return "system call failed";
    case TEE_ERROR_BUSY: return "call from inside an ocall";
    case TEE_ERROR_NOT_FOUND: return "not found";
    default: return "unknown status";
    }
}

const char *tee_backend_name(enum tee_backend b)
{
    return b == TEE_BACKEND_SIM ? "sim" : "proc";
}

const char *tee_secret_memory_name(enum tee_secret_memory m)
{
    switch (m) {
    case TEE_SECRET_MEMORY_MEMFD_SECRET: return "memfd_secret";
    case TEE_SECRET_MEMORY_MLOCK: return "mlock";
    default: return "none";
    }
}
