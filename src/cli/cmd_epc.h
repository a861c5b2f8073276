/* cmd_epc.h -- the memory cliff, measured and printed by `cloister epc bench` (cmd_epc.c) and
 * by the demo step (cmd_epc_demo.c): each point times the same accesses under the EPC budget and
 * with no budget, so the table shows what paging costs on this machine. */
#ifndef CLOISTER_CLI_CMD_EPC_H
#define CLOISTER_CLI_CMD_EPC_H

#include <cloister/epc.h>

#include <stddef.h>

struct cmd_epc_point {
    double ratio; /* working set / budget */
    size_t working_set;
    struct epc_probe epc, plain;
};

struct cmd_epc_cliff {
    size_t budget;
    enum epc_pattern pattern;
    const char *pager; /* the mechanism used, named by the heap */
    size_t n;
    struct cmd_epc_point pts[8];
};

/* Measures n points (n <= 8) at the given working set / budget ratios, seconds of accesses each,
 * into c (budget and pattern set by the caller). Returns CLI_OK, or CLI_FAIL after saying why. */
int cmd_epc_measure_cliff(struct cmd_epc_cliff *c, enum epc_pager_kind pager, const double *ratios,
                          size_t n, double seconds);
/* The table, and the cost of one fault beside SGX's. */
void cmd_epc_print_cliff(const struct cmd_epc_cliff *c);

#endif
