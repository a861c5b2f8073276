/* fuzz_wire.c -- drives the wire reader with arbitrary bytes. The first byte of each step picks
 * a read; the reader must never read out of bounds or crash, whatever the input, and must stay
 * in its error state once it fails. */
#include <cloister/wire.h>

#include <stdlib.h>

#include "common/fuzz_target.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    struct wire_reader r;
    wire_reader_init(&r, data + 1, size - 1);
    uint8_t ops = data[0];
    char str[32];
    uint8_t fixed[16];
    for (int step = 0; step < 64 && wire_reader_ok(&r); step++) {
        size_t len;
        switch ((ops + step) % 10) {
        case 0: wire_get_u8(&r); break;
        case 1: wire_get_u16(&r); break;
        case 2: wire_get_u32(&r); break;
        case 3: wire_get_u64(&r); break;
        case 4: wire_get_varint(&r); break;
        case 5: wire_get_bytes(&r, 1 << 20, &len); break;
        case 6: wire_get_str(&r, str, sizeof str); break;
        case 7: wire_get_bytes_exact(&r, fixed, sizeof fixed); break;
        case 8: wire_get_count(&r, 4, 1000); break;
        default: wire_get_header(&r, "CLFZ", 3); break;
        }
    }
    if (!wire_reader_ok(&r) && wire_reader_remaining(&r) != 0)
        abort();
    (void)wire_reader_error(&r);
    (void)wire_reader_finish(&r);
    return 0;
}
