/* hello.h -- the ecalls of the hello enclave, the small image of `cloister demo`. */
#ifndef CLOISTER_TEE_HELLO_H
#define CLOISTER_TEE_HELLO_H

enum {
    HELLO_ECALL_GREET = 1, /* in: a name; out: "hello, <name>, from enclave <MRENCLAVE prefix>" */
    HELLO_ECALL_MAC = 2,   /* in: a message; out: HMAC-SHA256 under the provisioned "demo-key" */
};
#define HELLO_SECRET "demo-key"

#endif
