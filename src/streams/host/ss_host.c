/* ss_host.c -- the untrusted host of one run of stages (ss_host.h). */
#include "streams/host/ss_host.h"

#include "streams/common/ss_proto.h"

#include <cloister/tee.h>
#include <cloister/tee_trust.h>

#include <stdlib.h>
#include <string.h>

struct ss_host {
    const struct ss_inproc *inproc;
    void *runner; /* in-process */
    tee_enclave *e;
    int ecalls;
};

int ss_host_start(enum ss_tee tee, const struct ss_options *o, const uint8_t *key,
                  struct ss_host **out, struct cloister_err *err)
{
    struct ss_host *h = calloc(1, sizeof *h);
    if (!h)
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "no memory for a stage");
    int rc = 0;
    if (tee == SS_TEE_NONE) {
        h->inproc = o->inproc;
        if (!o->inproc || !(h->runner = o->inproc->open(key)))
            rc = cloister_errf(err, CLOISTER_E_NO_MEMORY, "no memory for a stage");
    } else {
        char image[4096];
        struct tee_options to;
        tee_options_init(&to);
        to.backend = tee == SS_TEE_SIM ? TEE_BACKEND_SIM : TEE_BACKEND_PROC;
        to.image = image;
        to.enclave = o->enclave;
        to.home = o->home;
        to.signature = o->signature;
        to.max_message = SS_MESSAGE_MAX;
        to.slots = 2;
        to.wait = TEE_WAIT_BLOCK;
        rc = tee_image_path("streams", image, sizeof image, err);
        if (rc == 0)
            rc = tee_create(&to, &h->e, err);
    }
    if (rc != 0) {
        free(h);
        return rc;
    }
    *out = h;
    return 0;
}

void ss_host_stop(struct ss_host *h)
{
    if (!h)
        return;
    if (h->runner)
        h->inproc->close(h->runner);
    tee_destroy(h->e);
    free(h);
}

int ss_host_call(struct ss_host *h, uint32_t fn, const uint8_t *in, size_t inlen, uint8_t **out,
                 size_t *outlen, struct cloister_err *err)
{
    *out = NULL;
    *outlen = 0;
    if (h->runner)
        return h->inproc->call(h->runner, fn, in, inlen, out, outlen, err);
    h->ecalls++;
    return tee_ecall(h->e, fn, in, inlen, out, outlen, err);
}

int ss_host_identity(struct ss_host *h, uint8_t mrenclave[32], struct cloister_err *err)
{
    struct tee_info info;
    if (!h->e || tee_get_info(h->e, &info) != 0)
        return cloister_errf(err, CLOISTER_E_STATE, "the stage runs no enclave");
    memcpy(mrenclave, info.mrenclave, 32);
    return 0;
}

int ss_host_ecalls(const struct ss_host *h)
{
    return h->ecalls;
}

int ss_sign_image(const char *image, const uint8_t seed[32], const char *sig_path,
                  struct cloister_err *err)
{
    /* 256 MiB: a few Lua states of TLUA_MEMORY_DEFAULT */
    return tee_sign_file_sized(image, (uint64_t)256 << 20, 0, seed, sig_path, err);
}
