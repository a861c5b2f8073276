/* kv.c -- JetStream key-value buckets: where SecureStreams' secure stages may keep their sealed
 * checkpoints.
 *
 * A bucket is a stream underneath, so it is bounded in bytes and in value size like every other.
 * A value is whatever the caller sealed; the bucket keeps the latest per key. Writes can be
 * conditional on the revision the writer last saw, which is how a restarted stage that is behind
 * cannot overwrite a newer checkpoint: its put fails with CLOISTER_E_EXISTS. */
#include "bus/bus_impl.h"

#include <stdlib.h>
#include <string.h>

struct bus_kv {
    struct bus *b;
    kvStore *kv;
    int32_t max_value;
    char bucket[65];
};

/* Keys: what NATS subjects take in one token or several (no blanks, no wildcards). */
static bool key_ok(const char *key)
{
    size_t n = key ? strlen(key) : 0;
    return n > 0 && n <= 256 && key[0] != '.' && key[n - 1] != '.' && !strstr(key, "..") &&
           strspn(key, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=/.") == n;
}

struct bus_kv *bus_kv_open(struct bus *b, const char *bucket, int64_t max_bytes, int32_t max_value,
                           struct cloister_err *err)
{
    if (!bus_valid_name(bucket) || max_bytes <= 0 || max_value <= 0 || max_value > max_bytes) {
        cloister_errf(err, CLOISTER_E_INVALID,
                      "key-value bucket: a name of 1 to 64 of A-Z a-z 0-9 - _, and max_bytes and "
                      "max_value (at most max_bytes) expected");
        return NULL;
    }
    struct bus_kv *kv = calloc(1, sizeof *kv);
    if (!kv) {
        cloister_errf(err, CLOISTER_E_NO_MEMORY, "bucket %s: out of memory", bucket);
        return NULL;
    }
    kv->b = b;
    kv->max_value = max_value;
    strcpy(kv->bucket, bucket);
    kvConfig cfg;
    kvConfig_Init(&cfg);
    cfg.Bucket = bucket;
    cfg.MaxBytes = max_bytes;
    cfg.MaxValueSize = max_value;
    cfg.History = 1;
    cfg.StorageType = js_FileStorage;
    natsStatus s = js_CreateKeyValue(&kv->kv, b->js, &cfg);
    if (s != NATS_OK && js_KeyValue(&kv->kv, b->js, bucket) == NATS_OK)
        return kv; /* it exists with other bounds: the server keeps enforcing those */
    if (s != NATS_OK) {
        bus_fail(b, err, s, 0, "bucket %s", bucket);
        free(kv);
        return NULL;
    }
    return kv;
}

void bus_kv_close(struct bus_kv *kv)
{
    if (!kv)
        return;
    kvStore_Destroy(kv->kv);
    free(kv);
}

/* A conditional write that lost: the server says "wrong last sequence". */
static int put_fail(struct bus_kv *kv, natsStatus s, const char *key, struct cloister_err *err)
{
    const char *text = nats_GetLastError(NULL);
    if (text && strstr(text, "wrong last sequence"))
        return cloister_errf(err, CLOISTER_E_EXISTS,
                             "bucket %s, key %s: changed since the revision given", kv->bucket,
                             key);
    return bus_fail(kv->b, err, s, 0, "bucket %s, key %s", kv->bucket, key);
}

int bus_kv_put(struct bus_kv *kv, const char *key, const void *data, size_t len,
               uint64_t expect_rev, uint64_t *rev, struct cloister_err *err)
{
    if (!key_ok(key))
        return cloister_errf(err, CLOISTER_E_INVALID, "bucket %s: bad key", kv->bucket);
    if (len > (size_t)kv->max_value)
        return cloister_errf(err, CLOISTER_E_TOO_BIG, "bucket %s, key %s: %zu bytes, over %d",
                             kv->bucket, key, len, (int)kv->max_value);
    uint64_t r = 0;
    natsStatus s;
    if (expect_rev == BUS_KV_ANY)
        s = kvStore_Put(&r, kv->kv, key, data, (int)len);
    else if (expect_rev == 0)
        s = kvStore_Create(&r, kv->kv, key, data, (int)len);
    else
        s = kvStore_Update(&r, kv->kv, key, data, (int)len, expect_rev);
    if (s != NATS_OK)
        return put_fail(kv, s, key, err);
    if (rev)
        *rev = r;
    return CLOISTER_OK;
}

int bus_kv_get(struct bus_kv *kv, const char *key, uint8_t **data, size_t *len, uint64_t *rev,
               struct cloister_err *err)
{
    *data = NULL;
    *len = 0;
    if (!key_ok(key))
        return cloister_errf(err, CLOISTER_E_INVALID, "bucket %s: bad key", kv->bucket);
    kvEntry *e = NULL;
    natsStatus s = kvStore_Get(&e, kv->kv, key);
    if (s == NATS_NOT_FOUND)
        return cloister_errf(err, CLOISTER_E_NOT_FOUND, "bucket %s: no key %s", kv->bucket, key);
    if (s != NATS_OK)
        return bus_fail(kv->b, err, s, 0, "bucket %s, key %s", kv->bucket, key);
    int n = kvEntry_ValueLen(e);
    *data = malloc(n > 0 ? (size_t)n : 1);
    if (!*data) {
        kvEntry_Destroy(e);
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "bucket %s, key %s: out of memory",
                             kv->bucket, key);
    }
    if (n > 0)
        memcpy(*data, kvEntry_Value(e), (size_t)n);
    *len = n > 0 ? (size_t)n : 0;
    if (rev)
        *rev = kvEntry_Revision(e);
    kvEntry_Destroy(e);
    return CLOISTER_OK;
}

int bus_kv_delete(struct bus_kv *kv, const char *key, struct cloister_err *err)
{
    if (!key_ok(key))
        return cloister_errf(err, CLOISTER_E_INVALID, "bucket %s: bad key", kv->bucket);
    natsStatus s = kvStore_Delete(kv->kv, key);
    return s == NATS_OK ? CLOISTER_OK
                        : bus_fail(kv->b, err, s, 0, "bucket %s, key %s", kv->bucket, key);
}
