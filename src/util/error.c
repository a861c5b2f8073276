/* error.c -- the one error formatter (include/cloister/error.h).
 *
 * Messages are formatted straight into the caller's struct; wrapping formats the prefix into a
 * scratch copy first, since the old message is one of the arguments. */
#include <cloister/error.h>

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const names[] = {
    [0] = "ok",
    [-CLOISTER_E_INVALID] = "invalid argument or malformed message",
    [-CLOISTER_E_NO_ECALL] = "no such ecall or ocall",
    [-CLOISTER_E_TOO_BIG] = "message too big",
    [-CLOISTER_E_DEAD] = "enclave is dead",
    [-CLOISTER_E_TIMEOUT] = "call timed out",
    [-CLOISTER_E_IMAGE] = "enclave image refused",
    [-CLOISTER_E_DENIED] = "trust check failed",
    [-CLOISTER_E_NO_MEMORY] = "out of memory",
    [-CLOISTER_E_PROTOCOL] = "protocol violated",
    [-CLOISTER_E_FAILED] = "failed",
    [-CLOISTER_E_SYSTEM] = "system call failed",
    [-CLOISTER_E_BUSY] = "busy (a call from inside an ocall)",
    [-CLOISTER_E_NOT_FOUND] = "not found",
    [-CLOISTER_E_EXISTS] = "already exists",
    [-CLOISTER_E_STATE] = "not ready (a step is missing)",
};

const char *cloister_strerror(int code)
{
    if (code > 0 || code < CLOISTER_E_LAST)
        return "unknown status";
    return names[-code];
}

int cloister_errf(struct cloister_err *err, int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        err->code = code;
    }
    return code;
}

int cloister_err_wrap(struct cloister_err *err, const char *fmt, ...)
{
    if (!err)
        return CLOISTER_E_FAILED;
    char old[CLOISTER_ERR_MAX];
    memcpy(old, err->msg, sizeof old);
    old[sizeof old - 1] = '\0';
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    size_t used = strlen(err->msg);
    if (used + 2 < sizeof err->msg) {
        memcpy(err->msg + used, ": ", 2);
        used += 2;
        size_t n = strnlen(old, sizeof err->msg - used - 1);
        memcpy(err->msg + used, old, n);
        err->msg[used + n] = '\0';
    }
    return err->code;
}

void cloister_err_clear(struct cloister_err *err)
{
    if (err) {
        err->code = CLOISTER_OK;
        err->msg[0] = '\0';
    }
}
