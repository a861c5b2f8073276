/* fuzz_lua_values.c -- the value decoder, both ways: checking values without a state
 * (tlua_value_next) and pushing them into Lua as a call's arguments must accept exactly the same
 * inputs, and an accepted input must encode back to the same bytes (echo returns its
 * arguments): the encoding is canonical. */
#include "fuzz_lua.h"

static bool all_values(const uint8_t *data, size_t size)
{
    struct wire_reader r;
    size_t len;
    wire_reader_init(&r, data, size);
    while (wire_reader_remaining(&r) > 0)
        if (!tlua_value_next(&r, &len))
            return false;
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct wire_writer out;
    bool valid = all_values(data, size);
    int rc = fuzz_lua_call("function echo(...) return ... end", "echo", data, size, &out);
    if (valid != (rc == CLOISTER_OK))
        abort();
    if (valid && (out.len != size || (size && memcmp(out.buf, data, size) != 0)))
        abort();
    wire_writer_free(&out);
    return 0;
}
