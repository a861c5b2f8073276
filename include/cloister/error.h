/* error.h -- the one error convention of the runtime and the systems' APIs.
 *
 * A function that can fail returns CLOISTER_OK (0) or a negative enum cloister_code, and, when
 * the caller passed a struct cloister_err, fills it with the same code and a one-line message
 * naming what was wrong ("groups/eng: no such group"). The struct belongs to the caller (on its
 * stack, usually), so a message lives as long as the caller keeps it and no call overwrites
 * another's; err may be NULL when the caller wants only the code. Functions that return a
 * pointer return NULL on failure and fill err the same way.
 *
 *     struct cloister_err err;
 *     if (tee_create(&o, &e, &err) != CLOISTER_OK) fprintf(stderr, "%s\n", err.msg);
 *
 * Leaf libraries keep conventions suited to them: wire (a sticky reader/writer error), crypto
 * (0/-1, nothing secret to say), pairing (enum bls_status). */
#ifndef CLOISTER_ERROR_H
#define CLOISTER_ERROR_H

#include <cloister/export.h>

enum cloister_code {
    CLOISTER_OK = 0,
    CLOISTER_E_INVALID = -1,  /* bad argument, or malformed input (a message, a file, a key) */
    CLOISTER_E_NO_ECALL = -2, /* the enclave has no ecall (or the host no ocall) of that number */
    CLOISTER_E_TOO_BIG = -3,  /* a buffer, message or count beyond the configured maximum */
    CLOISTER_E_DEAD = -4,     /* the enclave process died or was killed: tee_restart() */
    CLOISTER_E_TIMEOUT = -5,  /* a deadline passed */
    CLOISTER_E_IMAGE = -6,    /* enclave image, config or signature refused */
    CLOISTER_E_DENIED = -7,   /* a trust check failed: MAC, signature, unseal, evidence, token */
    CLOISTER_E_NO_MEMORY = -8,
    CLOISTER_E_PROTOCOL = -9,   /* the other side broke a protocol */
    CLOISTER_E_FAILED = -10,    /* an operation failed for a reason the message gives */
    CLOISTER_E_SYSTEM = -11,    /* an OS call failed (open, fork, mmap, socket, ...) */
    CLOISTER_E_BUSY = -12,      /* the resource is in use (a call from inside an ocall, a lock) */
    CLOISTER_E_NOT_FOUND = -13, /* no such image, secret, file, group or member */
    CLOISTER_E_EXISTS = -14,    /* it already exists */
    CLOISTER_E_STATE = -15,     /* a step done in the wrong order (not set up, not provisioned) */
};
#define CLOISTER_E_LAST CLOISTER_E_STATE

#define CLOISTER_ERR_MAX 256

struct cloister_err {
    int code;                   /* CLOISTER_OK or a negative enum cloister_code */
    char msg[CLOISTER_ERR_MAX]; /* one line, no secret, "" when code is CLOISTER_OK */
};

/* "enclave is dead" style name of a code. */
CLOISTER_API const char *cloister_strerror(int code);

/* Sets err (when non-NULL) to code and the formatted message; returns code, so a failing path
 * reads `return cloister_errf(err, CLOISTER_E_INVALID, "%s: bad magic", path);`. */
CLOISTER_API int cloister_errf(struct cloister_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prepends context to a message already in err ("store: " + "groups/eng: ..."), keeping its
 * code; returns the code. */
CLOISTER_API int cloister_err_wrap(struct cloister_err *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Resets err to CLOISTER_OK and an empty message. */
CLOISTER_API void cloister_err_clear(struct cloister_err *err);

#endif
