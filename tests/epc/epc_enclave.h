/* epc_enclave.h -- the ecalls of the EPC test enclave (epcprobe.enclave), which exercises the
 * trusted heap (tee_malloc and friends) through the runtime with both backends. */
#ifndef CLOISTER_TESTS_EPC_ENCLAVE_H
#define CLOISTER_TESTS_EPC_ENCLAVE_H

enum {
    /* in: u32 MiB, u32 rounds, u64 seed. Allocates that much in 64 KiB blocks with tee_malloc,
     * fills each with a pattern, rewrites random blocks (some through tee_realloc, some freed
     * and taken again with tee_calloc), checks everything, frees it all. out: u8 1 when every
     * byte read back was the byte written. */
    EPC_ECALL_CHURN = 1,
    /* in: u64 bytes. out: u8 1 when tee_malloc(bytes) succeeded (the block is freed). */
    EPC_ECALL_ALLOC = 2,
    /* Drives tee_lua_alloc as a Lua state would (new, grow, shrink, free). out: u8 1 when the
     * contents survived and every block came from the EPC heap. */
    EPC_ECALL_LUA_HOOK = 3,
};

#endif
