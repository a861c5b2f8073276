/* cmd_cyclosa_demo.c -- Cyclosa's step of `cloister demo`: the adaptive rule on a few queries of
 * one user, so that a sensitive query gets k_max fakes and a harmless one fewer. The P2P relays
 * are not built yet (docs/cyclosa.md), so this is the whole step. */
#include <cloister/cyclosa.h>

#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

int cli_cyclosa_demo(void)
{
    cli_demo_heading("Cyclosa: how many fake queries a query gets");
    cyclosa_sens *s;
    struct cloister_err err;
    if (cyclosa_sens_load(NULL, &s, &err) != CLOISTER_OK) {
        printf("  %s\n", err.msg);
        return -1;
    }
    printf("  sensitive-topic dictionary from WordNet 3.0: health %zu, religion %zu, sexuality "
           "%zu, politics %zu words and expressions\n",
           cyclosa_sens_size(s, CYCLOSA_TOPIC_HEALTH), cyclosa_sens_size(s, CYCLOSA_TOPIC_RELIGION),
           cyclosa_sens_size(s, CYCLOSA_TOPIC_SEXUALITY),
           cyclosa_sens_size(s, CYCLOSA_TOPIC_POLITICS));
    static const char *const past[] = {"hotel rome", "rome airport taxi", "vatican museum"};
    static const char *const queries[] = {"symptoms of diabetes", "hotel rome", "rome restaurants",
                                          "garden tools"};
    struct search_log log = {0};
    search_attack *own = NULL;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < sizeof past / sizeof *past; i++)
        rc = search_log_add(&log, 1, (int64_t)i, past[i], strlen(past[i]));
    if (rc == 0)
        rc = search_attack_new(&log, &own, &err);
    printf("  the user searched before: \"%s\", \"%s\", \"%s\"\n", past[0], past[1], past[2]);
    for (size_t i = 0; rc == 0 && i < sizeof queries / sizeof *queries; i++) {
        double l;
        size_t len = strlen(queries[i]);
        unsigned k = cyclosa_sens_k(s, own, queries[i], len, CYCLOSA_K_MAX, &l);
        printf("  %-22s topic %-9s linkability %.2f -> %u fakes\n", queries[i],
               cyclosa_topic_name(cyclosa_sens_topic(s, queries[i], len)), l, k);
    }
    search_attack_free(own);
    search_log_free(&log);
    cyclosa_sens_free(s);
    return rc ? -1 : 0;
}
