/* fuzz_orch_submit.c -- the scheduler's submission check (orch_auth_open: JSON from the bus,
 * anyone can publish) and the node agent's check of a signed request (orch_auth_open_text, the
 * body of POST /pods). Any input: no crash, a clear error. The input is also sealed as a valid
 * submission's spec field would be, when it is a pod spec, to reach the nonce set: a sealed pod
 * opens once and its replay is refused; sealed as a request to an agent, it opens for that
 * request only (a submission's label refuses it) and gives back the same text. */
#include <cloister/orch.h>

#include <stdlib.h>
#include <string.h>

#include "common/fuzz_target.h"
#include "orch/host/orch_auth.h"

#define AGENT_POST "cloister-orch-agent/1 POST /pods"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t key[ORCH_AUTH_KEY_LEN] = {1, 2, 3};
    static struct orch_nonces seen;
    struct orch_pod p;
    struct cloister_err err = {0};
    char *text = NULL;
    seen.n = 0;
    if (orch_auth_open(key, &seen, 1000, data, size, &p, &err) != CLOISTER_OK) {
        if (err.code == CLOISTER_OK || !err.msg[0])
            abort();
    }
    seen.n = 0;
    if (orch_auth_open_text(key, AGENT_POST, &seen, 1000, data, size, &text, &err) != CLOISTER_OK &&
        (err.code == CLOISTER_OK || !err.msg[0] || text))
        abort();
    free(text);
    if (orch_pod_parse(&p, (const char *)data, size, &err) != CLOISTER_OK)
        return 0;
    char nonce[2 * ORCH_AUTH_NONCE_LEN + 1];
    char *msg = orch_auth_seal(key, &p, 1000, nonce);
    if (!msg)
        return 0;
    seen.n = 0;
    struct orch_pod q;
    if (orch_auth_open(key, &seen, 1000, msg, strlen(msg), &q, &err) != CLOISTER_OK ||
        strcmp(q.name, p.name) != 0 ||
        orch_auth_open(key, &seen, 1000, msg, strlen(msg), &q, &err) != CLOISTER_E_DENIED)
        abort();
    free(msg);
    char *spec = orch_pod_format(&p);
    msg = spec ? orch_auth_seal_text(key, AGENT_POST, spec, 1000, nonce) : NULL;
    seen.n = 0;
    if (msg && (orch_auth_open(key, &seen, 1000, msg, strlen(msg), &q, &err) != CLOISTER_E_DENIED ||
                orch_auth_open_text(key, AGENT_POST, &seen, 1000, msg, strlen(msg), &text, &err) !=
                    CLOISTER_OK ||
                strcmp(text, spec) != 0))
        abort();
    free(text);
    free(spec);
    free(msg);
    return 0;
}
