/* cyclosa_testbed.h -- the search testbed Cyclosa's tests run against: a synthetic log, its
 * corpus and the local engine on 127.0.0.1, in $CLOISTER_HOME/NAME (made afresh). */
#ifndef CLOISTER_TESTS_CYCLOSA_TESTBED_H
#define CLOISTER_TESTS_CYCLOSA_TESTBED_H

#include <cloister/search.h>
#include <cloister/search_engine.h>

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#define CYC_ORACLE "127.0.0.2" /* the tests' own questions to the engine come from there */

struct cyc_testbed {
    char dir[PATH_MAX], qlog[PATH_MAX + 16], engine_ep[64];
    struct search_log log;
    search_engine *engine;
};

/* users: the log's users; docs: the corpus's documents. Fails the test on an error. */
void cyc_testbed_start(struct cyc_testbed *t, const char *name, uint32_t users, size_t docs);
void cyc_testbed_stop(struct cyc_testbed *t);
/* The engine's own answer for q (its canonical form, asked over plain HTTP from CYC_ORACLE), as
 * URLs each followed by a space. */
void cyc_engine_answer(const struct cyc_testbed *t, const char *q, char *out, size_t cap);
/* The URLs of h in the same form. */
void cyc_urls_of(const struct search_hits *h, char *out, size_t cap);

#endif
