/* log.h -- the one logger of cloister.
 *
 * Messages go to stderr as "cloister[module] level: text", one line each, written with a single
 * stdio call so lines from threads never interleave. The level comes from CLOISTER_LOG
 * (debug|info|warn|error|off; default warn) on first use, or from clog_set_level(). Never log a
 * secret: the logger cannot tell, so callers must not pass one. */
#ifndef CLOISTER_UTIL_LOG_H
#define CLOISTER_UTIL_LOG_H

enum clog_level { CLOG_DEBUG, CLOG_INFO, CLOG_WARN, CLOG_ERROR, CLOG_OFF };

void clog_set_level(enum clog_level level);
enum clog_level clog_get_level(void);
/* Parses "debug", "info", ...; returns -1 for an unknown name. */
int clog_level_from_name(const char *name);
void clog_msg(enum clog_level level, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#ifndef CLOG_MODULE
#define CLOG_MODULE "core"
#endif
#define clog_debug(...) clog_msg(CLOG_DEBUG, CLOG_MODULE, __VA_ARGS__)
#define clog_info(...) clog_msg(CLOG_INFO, CLOG_MODULE, __VA_ARGS__)
#define clog_warn(...) clog_msg(CLOG_WARN, CLOG_MODULE, __VA_ARGS__)
#define clog_error(...) clog_msg(CLOG_ERROR, CLOG_MODULE, __VA_ARGS__)

#endif
