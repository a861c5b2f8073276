/* s3.h -- a small S3 client (path-style requests over libcurl, AWS Signature V4 computed with
 * the crypto layer's SHA-256 and HMAC): what A-Sky's object store needs and nothing more. */
#ifndef CLOISTER_ASKY_S3_H
#define CLOISTER_ASKY_S3_H

#include <cloister/error.h>

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define S3_KEY_MAX 512

/* Where and as whom: from a URL "http://HOST[:PORT]/BUCKET" and the environment
 * (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION, default us-east-1). */
struct s3_conf {
    char endpoint[256]; /* scheme://host[:port] */
    char host[256];     /* host[:port], as signed */
    char bucket[64];
    char region[32];
    char access[128];
    char secret[128];
};

typedef struct s3 s3;

int s3_conf_parse(struct s3_conf *c, const char *url, struct cloister_err *err);
int s3_open(const struct s3_conf *c, s3 **out, struct cloister_err *err);
void s3_close(s3 *s);

/* The bucket, created when missing. */
int s3_bucket_create(s3 *s, struct cloister_err *err);
/* Uploads len bytes of body (read from its current position) as key. if_absent asks the store to
 * refuse the write when key exists (If-None-Match: *; CLOISTER_E_EXISTS), where it supports it. */
int s3_put(s3 *s, const char *key, FILE *body, uint64_t len, int if_absent,
           struct cloister_err *err);
int s3_put_mem(s3 *s, const char *key, const void *data, size_t len, int if_absent,
               struct cloister_err *err);
/* Downloads key into out (CLOISTER_E_NOT_FOUND when absent). */
int s3_get(s3 *s, const char *key, FILE *out, struct cloister_err *err);
int s3_delete(s3 *s, const char *key, struct cloister_err *err);
/* The keys under prefix, in the store's (lexicographic) order; free with s3_keys_free. */
int s3_list(s3 *s, const char *prefix, char ***keys, size_t *n, struct cloister_err *err);
void s3_keys_free(char **keys, size_t n);

/* The Authorization header's value for a request (exposed for the test vectors): headers are
 * "name:value" lines, lower-case names, sorted, each ending in '\n'; names their ';' list. */
int s3_authorization(const struct s3_conf *c, const char *method, const char *path,
                     const char *query, const char *headers, const char *names,
                     const char *payload_hash, const char *amzdate, char *out, size_t cap);

#endif
