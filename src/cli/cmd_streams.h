/* cmd_streams.h -- what `cloister streams` shares with its demo step. */
#ifndef CLOISTER_CLI_CMD_STREAMS_H
#define CLOISTER_CLI_CMD_STREAMS_H

#include <cloister/streams.h>

#include <stdbool.h>

#include "util/opt.h"

/* Options for --tee choice index tee and NAME=VALUE params (names strdup'd into pv). */
int cli_streams_options(struct ss_options *o, int tee, const struct opt_list *params,
                        const char **pv);
/* The run's counters on stderr, or as JSON on stdout. */
void cli_streams_print(const struct ss_stats *s, bool json);

#endif
