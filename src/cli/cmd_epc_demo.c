/* cmd_epc_demo.c -- the EPC step of `cloister demo`: the memory cliff of `cloister epc bench` for
 * a 16 MiB budget, three points (half the budget, twice, four times), in about two seconds. */
#include <stddef.h>

#include "cli/cli.h"
#include "cli/cmd_epc.h"

int cli_epc_demo(void)
{
    cli_demo_heading("EPC emulation: the memory cliff, with real encrypted paging");
    struct cmd_epc_cliff c = {.budget = (size_t)16 << 20, .pattern = EPC_PATTERN_RANDOM};
    const double ratios[] = {0.5, 2.0, 4.0};
    if (cmd_epc_measure_cliff(&c, EPC_PAGER_AUTO, ratios, 3, 0.15) != CLI_OK)
        return -1;
    cmd_epc_print_cliff(&c);
    return 0;
}
