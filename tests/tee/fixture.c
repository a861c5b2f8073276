/* fixture.c -- see fixture.h. */
#include "fixture.h"

#include <cloister/crypto.h>
#include <cloister/tee_enclave.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "util/fileio.h"

TEE_ENCLAVE_DECLARE(test);

static uint8_t seeds[8][32];
static int nseeds;

static void sign_with(struct fixture *f, const uint8_t seed[32], const char *tag,
                      uint16_t product_id, uint16_t svn)
{
    const char *home = getenv("CLOISTER_HOME");
    assert_non_null(home);
    assert_int_equal(file_mkdirs(home, 0700), 0);
    snprintf(f->home, sizeof f->home, "%s", home);
    snprintf(f->sig, sizeof f->sig, "%s/%s.sig", home, tag);
    snprintf(f->store, sizeof f->store, "%s/store-%s", home, tag);
    assert_int_equal(file_remove_tree(f->store), 0);
    uint8_t *image, *sig;
    size_t len, siglen;
    assert_int_equal(file_read_all(f->image, (size_t)1 << 30, &image, &len), 0);
    struct tee_config cfg;
    tee_config_default(&cfg);
    cfg.product_id = product_id;
    cfg.svn = svn;
    struct tee_sigstruct ss;
    assert_int_equal(tee_sign(&ss, image, len, &cfg, seed, NULL), 0);
    assert_int_equal(tee_sigstruct_encode(&ss, &sig, &siglen, NULL), 0);
    assert_int_equal(file_write_atomic(f->sig, sig, siglen, 0600), 0);
    struct cloister_err err;
    assert_int_equal(tee_image_verify(&f->id, image, len, sig, siglen, &err), 0);
    free(image);
    free(sig);
}

void fixture_sign(struct fixture *f, const char *name, const char *tag, uint16_t product_id,
                  uint16_t svn)
{
    memset(f, 0, sizeof *f);
    snprintf(f->image, sizeof f->image, "%s/enclaves/%s.enclave", CLOISTER_BINARY_DIR, name);
    assert_true(nseeds < 8);
    uint8_t pk[32];
    assert_int_equal(crypto_ed25519_keypair(pk, seeds[nseeds]), 0);
    sign_with(f, seeds[nseeds++], tag, product_id, svn);
}

void fixture_resign(struct fixture *f, const struct fixture *other, const char *tag, uint16_t svn)
{
    for (int i = 0; i < nseeds; i++) {
        uint8_t pk[32], mrsigner[32];
        crypto_ed25519_public(pk, seeds[i]);
        tee_mrsigner(mrsigner, pk);
        if (memcmp(mrsigner, other->id.mrsigner, 32) != 0)
            continue;
        memset(f, 0, sizeof *f);
        snprintf(f->image, sizeof f->image, "%s", other->image);
        sign_with(f, seeds[i], tag, other->id.config.product_id, svn);
        return;
    }
    fail_msg("fixture_resign: unknown signer");
}

void fixture_options(const struct fixture *f, struct tee_options *o, enum tee_backend b)
{
    tee_options_init(o);
    o->backend = b;
    o->image = f->image;
    o->signature = f->sig;
    o->enclave = &tee_enclave_test;
    o->home = f->home;
    o->store_dir = f->store;
}

tee_enclave *fixture_create(const struct tee_options *o)
{
    tee_enclave *e = NULL;
    struct cloister_err err;
    int rc = tee_create(o, &e, &err);
    if (rc != CLOISTER_OK)
        fail_msg("tee_create (%s): %s", tee_backend_name(o->backend), err.msg);
    return e;
}
