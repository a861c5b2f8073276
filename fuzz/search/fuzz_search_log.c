/* fuzz_search_log.c -- the AOL-format log parser (search_log_parse), which reads logs from
 * anywhere, and SimAttack on whatever parses. Parsing must never crash; a parsed log must hold
 * only queries without tab or newline, within SEARCH_QUERY_MAX, sorted by (user, time); every
 * query split at OR and attributed against the log itself must give an answer among its
 * sub-queries. */
#include <cloister/search.h>

#include <stdlib.h>
#include <string.h>

#include "common/fuzz_target.h"

static void check_log(const struct search_log *log)
{
    for (size_t i = 0; i < log->n; i++) {
        const char *t = log->q[i].text;
        size_t len = strlen(t);
        if (len > SEARCH_QUERY_MAX || strchr(t, '\t') || strchr(t, '\n'))
            abort();
        if (i > 0 &&
            (log->q[i - 1].user > log->q[i].user ||
             (log->q[i - 1].user == log->q[i].user && log->q[i - 1].time > log->q[i].time)))
            abort();
    }
}

static void check_attack(const struct search_log *log)
{
    search_attack *a;
    if (search_attack_new(log, &a, NULL) != CLOISTER_OK)
        return;
    for (size_t i = 0; i < log->n && i < 64; i++) {
        const char *subs[8];
        size_t lens[8], which = 0;
        uint32_t user;
        int n = search_split_or(log->q[i].text, strlen(log->q[i].text), subs, lens, 8);
        if (n > 0 && search_attack_attribute_or(a, subs, lens, (size_t)n, &which, &user) &&
            which >= (size_t)n)
            abort();
    }
    search_attack_free(a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct search_log log;
    struct cloister_err err;
    if (search_log_parse((const char *)data, size, &log, &err) != CLOISTER_OK)
        return 0;
    check_log(&log);
    check_attack(&log);
    search_log_free(&log);
    return 0;
}
