/* cmd_epc.c -- `cloister epc`: the EPC emulator on its own.
 *
 *   bench   the memory cliff as a short table: ns and faults per access for working sets below
 *           and above the budget, each beside the same accesses with no budget, and the cost
 *           of one fault (--epc MiB, --pager, --pattern, --ms per point, --json)
 *   info    which fault mechanisms this machine offers and the limits that apply
 *
 * The demo step (cmd_epc_demo.c) prints the bench table for a 16 MiB budget, in about two
 * seconds. */
#include <cloister/epc.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "cli/cli.h"
#include "cli/cli_util.h"
#include "cli/cmd_epc.h"
#include "util/log.h"

#define MIB 1048576.0

static int probe_one(size_t region, size_t budget, enum epc_pager_kind pager, size_t ws,
                     enum epc_pattern pattern, double seconds, struct epc_probe *out,
                     const char **name)
{
    struct epc_config cfg = {region, budget, pager, EPC_SERVE_AUTO};
    epc_heap *h = epc_heap_create(&cfg);
    if (!h)
        return cli_fail("cannot create an EPC heap of %.1f MiB (budget %.1f MiB): %s",
                        (double)region / MIB, (double)budget / MIB, strerror(errno));
    int rc = epc_probe_access(h, ws, pattern, seconds, out);
    struct epc_stats s;
    epc_heap_stats(h, &s);
    if (name)
        *name = s.pager;
    epc_heap_destroy(h);
    return rc == 0 ? 0 : cli_fail("cannot allocate a working set of %.1f MiB", (double)ws / MIB);
}

/* Every point in a region of 4x the budget, so the pager is armed even below the budget. */
int cmd_epc_measure_cliff(struct cmd_epc_cliff *c, enum epc_pager_kind pager, const double *ratios,
                          size_t n, double seconds)
{
    c->n = n;
    for (size_t i = 0; i < n; i++) {
        struct cmd_epc_point *p = &c->pts[i];
        p->ratio = ratios[i];
        p->working_set = (size_t)(ratios[i] * (double)c->budget) / 64 * 64;
        size_t slack = p->working_set / 16 + ((size_t)1 << 20);
        size_t region = (p->working_set > 4 * c->budget ? p->working_set : 4 * c->budget) + slack;
        if (probe_one(region, c->budget, pager, p->working_set, c->pattern, seconds, &p->epc,
                      &c->pager) ||
            probe_one(p->working_set + slack, EPC_BUDGET_UNLIMITED, EPC_PAGER_AUTO, p->working_set,
                      c->pattern, seconds / 2, &p->plain, NULL))
            return CLI_FAIL;
    }
    return CLI_OK;
}

/* From the point with the most faults: extra time per access over plain memory, per fault. */
static double cost_per_fault_us(const struct cmd_epc_cliff *c)
{
    const struct cmd_epc_point *p = &c->pts[c->n - 1];
    if (p->epc.faults_per_access <= 0)
        return 0;
    return (p->epc.ns_per_access - p->plain.ns_per_access) / p->epc.faults_per_access / 1e3;
}

void cmd_epc_print_cliff(const struct cmd_epc_cliff *c)
{
    char budget[32];
    epc_format_budget(c->budget, budget, sizeof budget);
    printf("budget %s, pager %s, %s\n", budget, c->pager,
           c->pattern == EPC_PATTERN_RANDOM
               ? "random 8-byte accesses, each waiting for the previous one"
               : "sequential 8-byte accesses, one per 64-byte line");
    printf("  %12s %9s %12s %14s %12s %9s\n", "working set", "x budget", "ns/access",
           "faults/access", "no budget", "slowdown");
    for (size_t i = 0; i < c->n; i++) {
        const struct cmd_epc_point *p = &c->pts[i];
        printf("  %8.1f MiB %9.2f %12.1f %14.4f %12.1f %8.1fx\n", (double)p->working_set / MIB,
               p->ratio, p->epc.ns_per_access, p->epc.faults_per_access, p->plain.ns_per_access,
               p->epc.ns_per_access / p->plain.ns_per_access);
    }
    double us = cost_per_fault_us(c);
    if (us > 0)
        printf("cost per fault (evict + load): %.1f us; SGX's EWB + ELDU: ~40,000 cycles, "
               "~15 us at 2.6 GHz\n",
               us);
}

static int print_cliff_json(const struct cmd_epc_cliff *c)
{
    json_t *pts = json_array();
    for (size_t i = 0; i < c->n; i++) {
        const struct cmd_epc_point *p = &c->pts[i];
        json_array_append_new(
            pts,
            json_pack("{s:I,s:f,s:f,s:f,s:f,s:f}", "working_set_bytes", (json_int_t)p->working_set,
                      "ratio", p->ratio, "ns_per_access", p->epc.ns_per_access, "faults_per_access",
                      p->epc.faults_per_access, "no_budget_ns_per_access", p->plain.ns_per_access,
                      "handler_us_per_fault", p->epc.handler_ns_per_fault / 1e3));
    }
    json_t *j = json_pack("{s:I,s:s,s:s,s:f,s:o}", "budget_bytes", (json_int_t)c->budget, "pager",
                          c->pager, "pattern",
                          c->pattern == EPC_PATTERN_RANDOM ? "random" : "sequential",
                          "cost_per_fault_us", cost_per_fault_us(c), "points", pts);
    return cli_json_print(j);
}

/* The words of --pager and --pattern, and what each names. */
static const char *const pager_names[] = {"auto", "uffd", "sigsegv", NULL};
static const enum epc_pager_kind pager_kinds[] = {EPC_PAGER_AUTO, EPC_PAGER_UFFD,
                                                  EPC_PAGER_SIGSEGV};
static const char *const pattern_names[] = {"random", "sequential", NULL};
static const enum epc_pattern patterns[] = {EPC_PATTERN_RANDOM, EPC_PATTERN_SEQUENTIAL};

static int cmd_bench(int argc, char **argv)
{
    const char *epc = "93.5";
    struct opt_choice pager = {pager_names, 0}, pattern = {pattern_names, 0};
    long long ms = 200;
    bool json = false;
    const struct opt_def opts[] = {
        {"epc", OPT_STRING, &epc, "MIB", "resident budget in MiB (default 93.5, SGX1's EPC)", 0, 0,
         0},
        {"pager", OPT_CHOICE, &pager, "KIND", "how faults are caught", 0, 0, 0},
        {"pattern", OPT_CHOICE, &pattern, "P", "the order of the accesses", 0, 0, 0},
        {"ms", OPT_INT, &ms, "N", "milliseconds of accesses per point (default 200)", 0, 10, 60000},
        {"json", OPT_FLAG, &json, NULL, "print the table as JSON", 0, 0, 0},
        {0}};
    const struct opt_cmd cmd = {
        "epc bench",
        "",
        "Time accesses below and above an EPC budget (the memory cliff).",
        opts,
        0,
        0,
        "Emulates SGX's enclave page cache: a heap whose resident part is capped at --epc,\n"
        "pages beyond it encrypted and faulted back in. Prints the cost per access for\n"
        "working sets below and above the budget; --ms sets the time spent on each.",
        "cloister epc bench --epc 64 --ms 50\n"
        "cloister epc bench --pattern sequential --json\n"};
    int nargs, rc = opt_parse(&cmd, argc, argv, &nargs);
    if (rc != OPT_OK)
        return opt_exit_code(rc);
    struct cmd_epc_cliff c = {.pattern = patterns[pattern.index]};
    if (epc_parse_budget(epc, &c.budget) != 0 || c.budget == EPC_BUDGET_UNLIMITED) {
        fprintf(stderr,
                "cloister epc bench: --epc expects a budget in MiB of at least 0.0625 "
                "(a cliff needs a budget), got '%s'\n",
                epc);
        return CLI_USAGE;
    }
    const double ratios[] = {0.5, 0.9, 1.1, 2.0, 4.0};
    if (cmd_epc_measure_cliff(&c, pager_kinds[pager.index], ratios,
                              sizeof ratios / sizeof ratios[0], (double)ms / 1e3))
        return CLI_FAIL;
    if (json)
        return print_cliff_json(&c);
    cmd_epc_print_cliff(&c);
    return CLI_OK;
}

/* Whether a small region can be paged with kind here (quietly: failure is an answer). */
static bool pager_works(enum epc_pager_kind kind, int *err)
{
    enum clog_level level = clog_get_level();
    clog_set_level(CLOG_OFF);
    struct epc_config cfg = {64 * EPC_PAGE_SIZE, 16 * EPC_PAGE_SIZE, kind, EPC_SERVE_AUTO};
    epc_heap *h = epc_heap_create(&cfg);
    *err = h ? 0 : errno;
    epc_heap_destroy(h);
    clog_set_level(level);
    return h != NULL;
}

static long read_long(const char *path)
{
    long v = -1;
    FILE *f = fopen(path, "r");
    if (f) {
        if (fscanf(f, "%ld", &v) != 1)
            v = -1;
        fclose(f);
    }
    return v;
}

static int cmd_info(int argc, char **argv)
{
    bool json = false;
    const struct opt_def opts[] = {{"json", OPT_FLAG, &json, NULL, "print as JSON", 0, 0, 0}, {0}};
    const struct opt_cmd cmd = {
        "epc info",
        "",
        "Show the fault mechanisms this machine offers.",
        opts,
        0,
        0,
        "Says whether userfaultfd is available (the fast pager) or only the SIGSEGV fallback, and\n"
        "why (kernel setting, permissions).",
        "cloister epc info\n"
        "cloister epc info --json\n"};
    int nargs, rc = opt_parse(&cmd, argc, argv, &nargs);
    if (rc != OPT_OK)
        return opt_exit_code(rc);
    int uffd_err, segv_err;
    bool uffd = pager_works(EPC_PAGER_UFFD, &uffd_err);
    bool segv = pager_works(EPC_PAGER_SIGSEGV, &segv_err);
    long maps = read_long("/proc/sys/vm/max_map_count");
    long unpriv = read_long("/proc/sys/vm/unprivileged_userfaultfd");
    /* sigsegv paging needs up to 2 maps per budget page; 4096 are left to the process. */
    double segv_max_mib = maps > 4096 ? (double)(maps - 4097) / 2 * EPC_PAGE_SIZE / MIB : 0;
    if (json)
        return cli_json_print(
            json_pack("{s:b,s:s,s:b,s:s,s:I,s:I,s:f,s:I}", "userfaultfd", uffd, "userfaultfd_error",
                      uffd ? "" : strerror(uffd_err), "sigsegv", segv, "sigsegv_error",
                      segv ? "" : strerror(segv_err), "max_map_count", (json_int_t)maps,
                      "unprivileged_userfaultfd", (json_int_t)unpriv, "sigsegv_max_budget_mib",
                      segv_max_mib, "default_budget_bytes", (json_int_t)EPC_BUDGET_SGX1));
    printf("userfaultfd paging: %s\n", uffd ? "available (default)" : strerror(uffd_err));
    printf("mprotect + SIGSEGV paging: %s (budgets up to %.0f MiB: vm.max_map_count = %ld)\n",
           segv ? "available" : strerror(segv_err), segv_max_mib, maps);
    printf("vm.unprivileged_userfaultfd = %ld (cloister asks only for user-mode faults, which "
           "any user may)\n",
           unpriv);
    printf("default budget: 93.5 MiB (SGX1's usable EPC); CLOISTER_EPC_PAGER=uffd|sigsegv "
           "picks the mechanism\n");
    return CLI_OK;
}

static const struct cli_command epc_commands[] = {
    {"bench", "time accesses below and above an EPC budget (the memory cliff)", cmd_bench},
    {"info", "show the fault mechanisms this machine offers", cmd_info},
    {0}};

const struct cli_system cli_epc_system = {
    "epc",
    "EPC emulation: a budgeted enclave heap paged out encrypted, as SGX pages its EPC.",
    epc_commands,
    cli_epc_demo,
};
