/* names.c -- the names of backends and secret memories, shared by both sides of the
 * boundary (kept apart from the host code so that enclave images do not link the loader). */
#include <cloister/tee.h>

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
