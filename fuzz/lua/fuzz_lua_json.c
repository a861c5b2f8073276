/* fuzz_lua_json.c -- json.decode on arbitrary bytes: it may refuse them, but never crash or read
 * past them, and what it accepts json.encode must write, and that text must be a fixed point
 * (decoding and encoding it again gives the same text). */
#include "fuzz_lua.h"

static const char *const job = "function round_trip(s)\n"
                               "  local ok, v = pcall(json.decode, s)\n"
                               "  if not ok then return nil end\n"
                               "  local e = json.encode(v)\n"
                               "  return json.encode(json.decode(e)) == e\n"
                               "end\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct wire_writer args, out;
    wire_writer_init(&args);
    tlua_put_str(&args, data, size);
    int rc = fuzz_lua_call(job, "round_trip", args.buf, args.len, &out);
    /* nil (refused) or true; a failed call or false is a bug. */
    if (rc != CLOISTER_OK || out.len != 1 || (out.buf[0] != 0x00 && out.buf[0] != 0x02))
        abort();
    wire_writer_free(&args);
    wire_writer_free(&out);
    return 0;
}
