/* ss_ckpt.c -- a distributed stage replica's sealed checkpoint in a JetStream KV bucket
 * (ss_ckpt.h). The key is `PIPELINE.STAGE.REPLICA`; its revision fences the writers: the store
 * remembers the revision it last read or wrote and bus_kv_put refuses a write over any other,
 * so of two processes that believe they are replica I only the newer one's saves land. */
#include "streams/client/ss_ckpt.h"

#include "bus/bus.h"
#include "streams/common/ss_proto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bounds of the bucket: a checkpoint is at most one ecall message. */
#define CKPT_BUCKET_BYTES ((int64_t)1 << 30)

struct ss_ckpt {
    struct bus_kv *kv;
    char key[256];
    uint64_t rev;
};

/* A token of a KV key: A-Z a-z 0-9 - _ only (the dot separates tokens). */
static int ckpt_token(const char *what, const char *s, struct cloister_err *err)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64 ||
        strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                  "0123456789-_") != n)
        return cloister_errf(err, CLOISTER_E_INVALID,
                             "%s '%.64s': 1 to 64 of A-Z a-z 0-9 - _ expected", what, s);
    return 0;
}

struct ss_ckpt *ss_ckpt_open(struct bus *b, const char *bucket, const char *pipeline,
                             const char *stage, uint32_t replica, struct cloister_err *err)
{
    if (ckpt_token("pipeline name", pipeline, err) || ckpt_token("stage name", stage, err))
        return NULL;
    struct ss_ckpt *c = calloc(1, sizeof *c);
    if (!c) {
        cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
        return NULL;
    }
    snprintf(c->key, sizeof c->key, "%s.%s.%u", pipeline, stage, replica);
    c->kv = bus_kv_open(b, bucket, CKPT_BUCKET_BYTES, (int32_t)SS_MESSAGE_MAX, err);
    if (!c->kv) {
        free(c);
        return NULL;
    }
    return c;
}

void ss_ckpt_close(struct ss_ckpt *c)
{
    if (!c)
        return;
    bus_kv_close(c->kv);
    free(c);
}

int ss_ckpt_restore(struct ss_ckpt *c, ss_call_fn call, void *runner, struct cloister_err *err)
{
    uint8_t *blob = NULL, *out = NULL;
    size_t len = 0, outlen = 0;
    uint64_t rev = 0;
    int rc = bus_kv_get(c->kv, c->key, &blob, &len, &rev, err);
    if (rc == CLOISTER_E_NOT_FOUND) {
        c->rev = 0;
        return 0;
    }
    if (rc != 0)
        return rc;
    rc = call(runner, SS_CALL_RESTORE, blob, len, &out, &outlen, err);
    free(blob);
    free(out);
    if (rc != 0)
        return cloister_err_wrap(err, "checkpoint %s", c->key);
    c->rev = rev;
    return 1;
}

int ss_ckpt_save(struct ss_ckpt *c, ss_call_fn call, void *runner, struct cloister_err *err)
{
    uint8_t *blob = NULL;
    size_t len = 0;
    int rc = call(runner, SS_CALL_CHECKPOINT, NULL, 0, &blob, &len, err);
    if (rc != 0)
        return rc;
    uint64_t rev = 0;
    rc = bus_kv_put(c->kv, c->key, blob, len, c->rev, &rev, err);
    free(blob);
    if (rc == CLOISTER_E_EXISTS)
        return cloister_errf(err, rc, "checkpoint %s was written by another replica", c->key);
    if (rc != 0)
        return rc;
    c->rev = rev;
    return 0;
}

uint64_t ss_ckpt_revision(const struct ss_ckpt *c)
{
    return c->rev;
}
