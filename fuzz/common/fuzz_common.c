/* fuzz_common.c -- see fuzz_common.h. */
#include "fuzz_common.h"

#include "tee/enclave/rt.h"
#include "util/fileio.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char home[] = "/tmp/cloister-fuzz-XXXXXX";
static tee_platform *platform;
static struct tee_identity id;
static tee_self *self;
static tee_verifier *verifier;

static void cleanup(void)
{
    tee_self_free(self);
    tee_verifier_free(verifier);
    tee_platform_free(platform);
    file_remove_tree(home);
}

static void init(void)
{
    if (self)
        return;
    struct cloister_err err;
    if (!mkdtemp(home))
        abort();
    atexit(cleanup);
    if (!(platform = tee_platform_open(home, &err)))
        abort();
    static const char image[] = "fuzz enclave image";
    uint8_t seed[TEE_SEED_LEN];
    memset(seed, 7, sizeof seed);
    struct tee_config c;
    tee_config_default(&c);
    c.svn = 5;
    struct tee_sigstruct s;
    uint8_t *sig;
    size_t siglen;
    if (tee_sign(&s, image, sizeof image - 1, &c, seed, NULL) ||
        tee_sigstruct_encode(&s, &sig, &siglen, NULL) ||
        tee_image_verify(&id, image, sizeof image - 1, sig, siglen, &err))
        abort();
    free(sig);
    self = tee_self_new(&id, platform, &err);
    verifier = tee_verifier_new_file(tee_platform_ca_path(platform), &err);
    if (!self || !verifier)
        abort();
}

tee_self *fuzz_self(void)
{
    init();
    return self;
}

tee_verifier *fuzz_verifier(void)
{
    init();
    return verifier;
}

struct tee_rt *fuzz_instance(const struct tee_enclave_def *def, size_t max_message)
{
    init();
    struct cloister_err err;
    struct tee_rt *rt = tee_rt_new(def, tee_self_new(&id, platform, &err), max_message);
    struct tee_env env = {rt, NULL, ""};
    if (!rt || (def->on_start && def->on_start(&env) != CLOISTER_OK))
        abort();
    rt->started = true; /* on_stop runs at tee_rt_free */
    return rt;
}

int fuzz_call(struct tee_rt *rt, uint32_t number, const void *in, size_t len,
              struct wire_writer *out)
{
    struct tee_env env = {rt, NULL, ""};
    return tee_rt_find(rt, number)->handler(&env, in, len, out);
}
