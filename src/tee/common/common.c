/* common.c -- error codes and text, and the cloister home directory. */
#include "tee/common/common.h"

#include <errno.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int tee_wire_finish(struct wire_reader *r, const char *what, struct cloister_err *e)
{
    if (wire_reader_finish(r) != 0)
        return cloister_errf(e, CLOISTER_E_INVALID, "%s: %s", what, wire_reader_error(r));
    return 0;
}

int tee_errno_code(int e)
{
    return e == ENOENT ? CLOISTER_E_NOT_FOUND : CLOISTER_E_SYSTEM;
}

int tee_home_dir(char *out, size_t cap, struct cloister_err *err)
{
    const char *env = getenv("CLOISTER_HOME");
    int n;
    if (env && *env) {
        n = snprintf(out, cap, "%s", env);
    } else {
        const char *home = getenv("HOME");
        if (!home || !*home) {
            struct passwd *pw = getpwuid(getuid());
            home = pw ? pw->pw_dir : NULL;
        }
        if (!home)
            return cloister_errf(err, CLOISTER_E_NOT_FOUND,
                                 "cannot find the cloister home directory: set CLOISTER_HOME");
        n = snprintf(out, cap, "%s/.local/share/cloister", home);
    }
    if (n < 0 || (size_t)n >= cap)
        return cloister_errf(err, CLOISTER_E_TOO_BIG, "the cloister home directory is too long");
    return CLOISTER_OK;
}
