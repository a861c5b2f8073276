/* helpers.c -- see helpers.h. */
#include "helpers.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/fileio.h"

void th_dir(char *out, size_t cap, const char *name)
{
    const char *home = getenv("CLOISTER_HOME");
    assert_non_null(home);
    assert_int_equal(file_mkdirs(home, 0700), 0);
    snprintf(out, cap, "%s/%s", home, name);
    assert_int_equal(file_remove_tree(out), 0);
    assert_int_equal(file_mkdirs(out, 0700), 0);
}

uint8_t *th_read(const char *path, size_t *len)
{
    uint8_t *data;
    assert_int_equal(file_read_all(path, 1 << 28, &data, len), 0);
    return data;
}

void th_write(const char *path, const void *data, size_t len)
{
    assert_int_equal(file_write_atomic(path, data, len, 0600), 0);
}

tee_platform *th_platform(const char *name)
{
    const char *home = getenv("CLOISTER_HOME");
    assert_non_null(home);
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/%s", home, name);
    struct cloister_err err = {0};
    tee_platform *p = tee_platform_open(dir, &err);
    if (!p)
        fail_msg("platform: %s", err.msg);
    return p;
}

void th_identity(struct tee_identity *id, const char *image, const struct tee_config *c,
                 uint8_t seed_byte)
{
    uint8_t seed[TEE_SEED_LEN];
    memset(seed, seed_byte, sizeof seed);
    struct tee_sigstruct s;
    assert_int_equal(tee_sign(&s, image, strlen(image), c, seed, NULL), 0);
    uint8_t *sig;
    size_t siglen;
    assert_int_equal(tee_sigstruct_encode(&s, &sig, &siglen, NULL), 0);
    struct cloister_err err = {0};
    if (tee_image_verify(id, image, strlen(image), sig, siglen, &err))
        fail_msg("identity: %s", err.msg);
    free(sig);
}

tee_self *th_self(tee_platform *p, const char *image, uint16_t product_id, uint16_t svn,
                  uint8_t seed_byte)
{
    struct tee_config c;
    tee_config_default(&c);
    c.product_id = product_id;
    c.svn = svn;
    struct tee_identity id;
    th_identity(&id, image, &c, seed_byte);
    struct cloister_err err = {0};
    tee_self *s = tee_self_new(&id, p, &err);
    if (!s)
        fail_msg("tee_self: %s", err.msg);
    return s;
}

void th_refused(int rc, const struct cloister_err *err)
{
    assert_true(rc < CLOISTER_OK && rc >= CLOISTER_E_LAST);
    assert_int_equal(rc, err->code);
    assert_true(err->msg[0]);
}

struct tee_policy th_policy_pinned(const tee_self *s)
{
    struct tee_policy p;
    tee_policy_default(&p);
    p.allow_simulated = true;
    p.mrenclave = (const uint8_t(*)[32])tee_self_identity(s)->mrenclave;
    p.n_mrenclave = 1;
    return p;
}
