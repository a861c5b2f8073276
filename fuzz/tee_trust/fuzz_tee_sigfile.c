/* fuzz_tee_sigfile.c -- the signature file decoder and image check on arbitrary bytes: nothing
 * but a genuine signature of this image may verify (which random input never is). */
#include <cloister/tee_trust.h>

#include <stdlib.h>

#include "common/fuzz_target.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char image[] = "fuzzed enclave image";
    struct tee_sigstruct s;
    struct tee_identity id;
    struct cloister_err err;
    if (tee_sigstruct_decode(&s, data, size, &err) == 0) {
        uint8_t *back;
        size_t len;
        if (tee_sigstruct_encode(&s, &back, &len, NULL) != 0)
            abort();
        free(back);
    }
    (void)tee_image_verify(&id, image, sizeof image - 1, data, size, &err);
    return 0;
}
