/* fuzz_tee_elf.c -- the image audit (ELF64 reader) on arbitrary bytes. It must never read
 * outside the buffer, whatever the headers claim; on success every list it returns is sane. */
#include <cloister/tee_trust.h>

#include <stdlib.h>
#include <string.h>

#include "common/fuzz_target.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tee_audit a;
    struct cloister_err err;
    if (tee_audit_image(&a, data, size, &err) != 0) {
        if (!memchr(err.msg, 0, sizeof err.msg) || !err.msg[0])
            abort();
        return 0;
    }
    for (size_t i = 0; i < a.n_imports; i++)
        if (!a.imports[i][0] || (i && strcmp(a.imports[i - 1], a.imports[i]) >= 0))
            abort(); /* sorted, unique, non-empty */
    for (size_t i = 1; i < a.n_ecalls; i++)
        if (a.ecalls[i - 1].number > a.ecalls[i].number)
            abort();
    (void)tee_audit_refused(&a);
    tee_audit_free(&a);
    return 0;
}
