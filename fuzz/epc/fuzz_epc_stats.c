/* fuzz_epc_stats.c -- the EPC counters record ("CEPS"), as the host decodes it from an enclave.
 * Any input: no crash, no read out of bounds; an accepted input re-encodes to the same bytes
 * (one encoding per value). */
#include <cloister/epc.h>

#include <stdlib.h>
#include <string.h>

#include "common/fuzz_target.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct epc_stats s;
    struct cloister_err err = {0};
    if (epc_stats_decode(&s, data, size, &err) != CLOISTER_OK) {
        if (err.code != CLOISTER_E_INVALID || !err.msg[0])
            abort();
        return 0;
    }
    struct wire_writer w;
    wire_writer_init(&w);
    epc_stats_encode(&s, &w);
    if (!wire_writer_ok(&w) || w.len != size || memcmp(w.buf, data, size) != 0)
        abort();
    wire_writer_free(&w);
    return 0;
}
