/* cmd_search_demo.c -- the search testbed's step of `cloister demo`: a small synthetic log (20
 * users, to stay fast) and SimAttack on it without fakes and with three OR-ed fakes per query,
 * the protection X-Search gives. */
#include <cloister/search.h>

#include <stdio.h>

#include "cli/cli.h"
#include "cli/cmd_search.h"

int cli_search_demo(void)
{
    cli_demo_heading("Private web search testbed: an AOL-like log and SimAttack");
    struct search_gen_options o;
    search_gen_options_init(&o);
    o.users = 20;
    struct search_log log;
    struct cloister_err err;
    if (search_gen_log(&o, &log, &err) != CLOISTER_OK) {
        printf("  %s\n", err.msg);
        return -1;
    }
    printf("  %zu queries of %u users; the attacker knows the first 2/3 of each history\n", log.n,
           o.users);
    int rc = 0;
    const unsigned ks[] = {0, 3};
    for (size_t i = 0; i < 2 && rc == 0; i++) {
        struct search_attack_result r;
        rc = search_attack_eval_k(&log, ks[i], 1, &r, &err);
        if (rc == 0) {
            printf("  ");
            cmd_search_print_attack(&r, false);
        } else {
            printf("  %s\n", err.msg);
        }
    }
    search_log_free(&log);
    return rc ? -1 : 0;
}
