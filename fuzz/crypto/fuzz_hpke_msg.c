/* fuzz_hpke_msg.c -- the HPKE file decoders (sealed message, public key, secret key) on arbitrary
 * bytes. They must never read out of bounds or crash, must explain every refusal, and whatever
 * they accept must encode back to exactly the input (one record, one encoding). */
#include <stdlib.h>
#include <string.h>

#include "common/fuzz_target.h"
#include "crypto/hpke_wire.h"

static void same_or_abort(struct wire_writer *w, const uint8_t *data, size_t size)
{
    if (!wire_writer_ok(w) || w->len != size || memcmp(w->buf, data, size) != 0)
        abort();
    wire_writer_free(w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct hpke_message m;
    struct wire_writer w;
    uint8_t pk[HPKE_PUBLIC_LEN], sk[HPKE_SECRET_LEN];
    const char *err = NULL;

    if (hpke_wire_get_message(&m, data, size, &err) == 0) {
        wire_writer_init(&w);
        hpke_wire_put_message(&w, &m);
        same_or_abort(&w, data, size);
    } else if (!err || !*err) {
        abort();
    }
    err = NULL;
    if (hpke_wire_get_public(pk, data, size, &err) == 0) {
        wire_writer_init(&w);
        hpke_wire_put_public(&w, pk);
        same_or_abort(&w, data, size);
    } else if (!err || !*err) {
        abort();
    }
    err = NULL;
    if (hpke_wire_get_secret(sk, pk, data, size, &err) == 0) {
        wire_writer_init(&w);
        hpke_wire_put_secret(&w, sk, pk);
        same_or_abort(&w, data, size);
    } else if (!err || !*err) {
        abort();
    }
    return 0;
}
