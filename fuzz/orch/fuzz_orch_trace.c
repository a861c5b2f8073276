/* fuzz_orch_trace.c -- the trace parser, then the simulator on what it accepted (a few nodes,
 * each policy). Any input: no crash, a clear error naming the line; an accepted trace simulates
 * and every job of it is accounted for. */
#include <cloister/orch.h>

#include <stdlib.h>

#include "common/fuzz_target.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct orch_trace t;
    struct cloister_err err = {0};
    if (orch_trace_parse(&t, (const char *)data, size, 64, &err) != CLOISTER_OK) {
        if (!err.msg[0])
            abort();
        return 0;
    }
    for (enum orch_policy p = ORCH_BINPACK; p <= ORCH_RANDOM; p++) {
        struct orch_sim_options o;
        orch_sim_options_init(&o);
        o.policy = p;
        struct orch_sim_result r;
        if (orch_simulate(&t, &o, &r, &err) != CLOISTER_OK)
            abort();
        if (r.jobs != t.count || r.started + r.never_started != t.count)
            abort();
        orch_sim_result_free(&r);
    }
    orch_trace_free(&t);
    return 0;
}
