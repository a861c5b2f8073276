/* cmd_search.h -- what the search verbs and their demo step share. */
#ifndef CLOISTER_CLI_CMD_SEARCH_H
#define CLOISTER_CLI_CMD_SEARCH_H

#include <cloister/search.h>

/* Prints one attack's rates, as text or as the JSON object of `search attack --json`. */
int cmd_search_print_attack(const struct search_attack_result *r, bool json);

#endif
