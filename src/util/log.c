/* log.c -- see log.h. The level is read from the environment once, lazily, so that library users
 * who never log pay nothing and tests can still set CLOISTER_LOG before the first message. */
#include "util/log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const level_names[] = {"debug", "info", "warn", "error", "off"};
static enum clog_level current_level = CLOG_WARN;
static pthread_once_t level_once = PTHREAD_ONCE_INIT;

int clog_level_from_name(const char *name)
{
    for (int i = 0; i <= CLOG_OFF; i++)
        if (strcmp(name, level_names[i]) == 0)
            return i;
    return -1;
}

static void level_from_env(void)
{
    const char *env = getenv("CLOISTER_LOG");
    int level = env ? clog_level_from_name(env) : -1;
    if (level >= 0)
        current_level = (enum clog_level)level;
}

void clog_set_level(enum clog_level level)
{
    pthread_once(&level_once, level_from_env);
    current_level = level;
}

enum clog_level clog_get_level(void)
{
    pthread_once(&level_once, level_from_env);
    return current_level;
}

void clog_msg(enum clog_level level, const char *module, const char *fmt, ...)
{
    if (level < clog_get_level() || level >= CLOG_OFF)
        return;
    char text[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    fprintf(stderr, "cloister[%s] %s: %s\n", module, level_names[level], text);
}
