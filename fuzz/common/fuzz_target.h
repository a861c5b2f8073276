/* fuzz_target.h -- the entry point every fuzz_<what> target defines. libFuzzer calls it by name
 * and ships no header, so it is declared here once: each target includes this file, and its
 * definition then has a prototype (-Wmissing-prototypes) checked against libFuzzer's signature. */
#ifndef CLOISTER_FUZZ_TARGET_H
#define CLOISTER_FUZZ_TARGET_H

#include <stddef.h>
#include <stdint.h>

/* Runs one input of size bytes; returns 0 (libFuzzer reserves other values). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
