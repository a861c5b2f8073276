/* cmd_study.h -- what `cloister study` and `cloister reproduce` share: the machine's description,
 * energy counters, and gnuplot. */
#ifndef CLOISTER_CMD_STUDY_H
#define CLOISTER_CMD_STUDY_H

#include <stdbool.h>
#include <stddef.h>

/* A reading of the machine's counters: wall and CPU time (this process and its reaped children,
 * plus an enclave process when one is named), and RAPL package and DRAM energy when readable. */
struct study_meter {
    double wall_s, cpu_s;
    double pkg_j, dram_j; /* < 0: not readable */
};
void study_meter_read(struct study_meter *m, int enclave_pid);
/* "rapl" when package energy is readable, else "none (...why)". */
const char *study_energy_source(void);

/* The memory-encryption and enclave features this machine reports (CPU flags, kvm_amd's sev
 * parameter, guest and enclave devices), one "name: yes|no (where)" per line. */
void study_detect_features(char *out, size_t cap);
/* "Model name" from lscpu (or /proc/cpuinfo), the cores and the load average, on one line. */
void study_machine(char *out, size_t cap);

/* Runs gnuplot on preamble (the variables the script uses: csv, png, ...) then script; 0, or
 * CLI_FAIL after saying why. */
int study_gnuplot(const char *preamble, const char *script);

int cli_reproduce(int argc, char **argv);

#endif
