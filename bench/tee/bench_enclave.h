/* bench_enclave.h -- the benchmark enclave's one ecall. */
#ifndef CLOISTER_BENCH_ENCLAVE_H
#define CLOISTER_BENCH_ENCLAVE_H

enum { BENCH_ECALL_ECHO = 1 }; /* out = in */

#endif
