/* fuzz_orch_ext.c -- the Kubernetes extender's request parser (ExtenderArgs from the network),
 * then both verbs' answers over a small node table. Any input: no crash, a clear error; an
 * accepted request answers valid JSON for every verb. */
#include <cloister/orch.h>

#include <jansson.h>
#include <stdlib.h>

#include "common/fuzz_target.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct orch_node nodes[] = {
        {.name = "a", .sgx = true, .epc_alloc = 1 << 26, .mem_alloc = 1 << 30},
        {.name = "b", .sgx = false, .mem_alloc = 1 << 30, .mem_requested = 1 << 29}};
    struct orch_ext_request r;
    struct cloister_err err = {0};
    if (orch_ext_parse(&r, (const char *)data, size, &err) != CLOISTER_OK) {
        if (err.code == CLOISTER_OK || !err.msg[0])
            abort();
        return 0;
    }
    char *f = orch_ext_filter(&r, nodes, 2, 1.0);
    char *p = orch_ext_prioritize(&r, ORCH_SPREAD, nodes, 2, 1.0);
    json_t *jf = f ? json_loads(f, 0, NULL) : NULL, *jp = p ? json_loads(p, 0, NULL) : NULL;
    if (!jf || !jp)
        abort();
    json_decref(jf);
    json_decref(jp);
    free(f);
    free(p);
    orch_ext_request_free(&r);
    return 0;
}
