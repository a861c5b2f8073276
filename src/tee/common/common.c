/* common.c -- error text and the cloister home directory. */
#include "tee/common/common.h"

#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int tee_errf(struct tee_err *e, const char *fmt, ...)
{
    if (e) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(e->msg, sizeof e->msg, fmt, ap);
        va_end(ap);
    }
    return -1;
}

int tee_wire_finish(struct wire_reader *r, const char *what, struct tee_err *e)
{
    if (wire_reader_finish(r) != 0)
        return tee_errf(e, "%s: %s", what, wire_reader_error(r));
    return 0;
}

int tee_home_dir(char *out, size_t cap)
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
            return -1;
        n = snprintf(out, cap, "%s/.local/share/cloister", home);
    }
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

