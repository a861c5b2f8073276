/* fuzz_orch_pod.c -- the pod spec parser (JSON from users and from the node agent's POST /pods)
 * and the node state parser (GET /node answers). Any input: no crash, a clear error; an accepted
 * pod spec formats back into a spec that parses to the same pod. */
#include <cloister/orch.h>
#include <cloister/orch_serve.h>

#include <stdlib.h>
#include <string.h>

#include "common/fuzz_target.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct orch_pod p, q;
    struct cloister_err err = {0};
    if (orch_pod_parse(&p, (const char *)data, size, &err) != CLOISTER_OK) {
        if (err.code != CLOISTER_E_INVALID || !err.msg[0])
            abort();
    } else {
        char *text = orch_pod_format(&p);
        if (!text || orch_pod_parse(&q, text, strlen(text), &err) != CLOISTER_OK ||
            memcmp(&p, &q, sizeof p) != 0)
            abort();
        free(text);
    }
    struct orch_node n;
    if (orch_node_from_json(&n, (const char *)data, size, &err) != CLOISTER_OK && !err.msg[0])
        abort();
    return 0;
}
