/* fuzz_target.h -- the entry point libFuzzer calls, declared once so that every fuzz target
 * defines it against a prototype (the build warns about exported functions without one). */
#ifndef CLOISTER_FUZZ_TARGET_H
#define CLOISTER_FUZZ_TARGET_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
