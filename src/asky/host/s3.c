/* s3.c -- a small S3 client for A-Sky's object store (s3.h).
 *
 * Requests are path-style (endpoint/bucket/key) so that any S3-compatible server on a plain
 * host:port works (MinIO, s3rver, AWS with a regional endpoint). Each request is signed with AWS
 * Signature Version 4 over the headers host, x-amz-content-sha256 and x-amz-date: the payload's
 * SHA-256 is computed here (a file is read twice, once to hash it and once to send it), so a
 * server that checks signatures also checks the body. Keys are restricted to the characters
 * A-Sky uses (A-Z a-z 0-9 . _ - /), which need no escaping in a path or in the XML of a listing.
 * One curl easy handle per client, reused across requests (keep-alive); a client is not
 * shared between threads. */
#include "s3.h"

#include <cloister/crypto.h>

#include <ctype.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#define LIST_BODY_MAX (8u << 20)
#define ERR_BODY_MAX 4096

struct s3 {
    struct s3_conf c;
    CURL *curl;
};

static void hex(char *out, const uint8_t *p, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = '\0';
}

/* A query value as SigV4 wants it: every byte but A-Z a-z 0-9 - . _ ~ as %XX (out: 3x room). */
static void uri_escape(char *out, const char *in)
{
    for (; *in; in++) {
        if (isalnum((unsigned char)*in) || strchr("-._~", *in))
            *out++ = *in;
        else
            out += sprintf(out, "%%%02X", (unsigned char)*in);
    }
    *out = '\0';
}

static bool key_ok(const char *key)
{
    size_t n = strlen(key);
    if (n == 0 || n > S3_KEY_MAX)
        return false;
    for (const char *p = key; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("._-/", *p))
            return false;
    return true;
}

static void env_copy(char *dst, size_t cap, const char *name, const char *fallback)
{
    const char *v = getenv(name);
    snprintf(dst, cap, "%s", v && *v ? v : fallback);
}

int s3_conf_parse(struct s3_conf *c, const char *url, struct cloister_err *err)
{
    memset(c, 0, sizeof *c);
    const char *host = strstr(url, "://");
    const char *slash = host ? strchr(host + 3, '/') : NULL;
    if (!host || (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) || !slash ||
        slash == host + 3)
        return cloister_errf(err, CLOISTER_E_INVALID,
                             "bad S3 URL (expected http[s]://HOST[:PORT]/BUCKET)");
    size_t hlen = (size_t)(slash - (host + 3)), elen = (size_t)(slash - url);
    const char *bucket = slash + 1;
    size_t blen = strlen(bucket);
    bool bucket_ok = blen >= 3 && blen < sizeof c->bucket;
    for (size_t i = 0; bucket_ok && i < blen; i++)
        bucket_ok = islower((unsigned char)bucket[i]) || isdigit((unsigned char)bucket[i]) ||
                    bucket[i] == '-' || bucket[i] == '.';
    if (hlen >= sizeof c->host || elen >= sizeof c->endpoint || !bucket_ok)
        return cloister_errf(err, CLOISTER_E_INVALID,
                             "bad S3 URL (host too long, or bucket not 3..63 of a-z 0-9 . -)");
    memcpy(c->endpoint, url, elen);
    memcpy(c->host, host + 3, hlen);
    memcpy(c->bucket, bucket, blen);
    env_copy(c->region, sizeof c->region, "AWS_REGION", "us-east-1");
    env_copy(c->access, sizeof c->access, "AWS_ACCESS_KEY_ID", "");
    env_copy(c->secret, sizeof c->secret, "AWS_SECRET_ACCESS_KEY", "");
    if (!c->access[0] || !c->secret[0])
        return cloister_errf(err, CLOISTER_E_INVALID,
                             "S3 credentials missing (set AWS_ACCESS_KEY_ID and "
                             "AWS_SECRET_ACCESS_KEY)");
    return CLOISTER_OK;
}

int s3_authorization(const struct s3_conf *c, const char *method, const char *path,
                     const char *query, const char *headers, const char *names,
                     const char *payload_hash, const char *amzdate, char *out, size_t cap)
{
    char day[9], scope[128], creq_hash[65], *creq = NULL, sts[512], sig[65];
    uint8_t h[32], k[32];
    snprintf(day, sizeof day, "%.8s", amzdate);
    snprintf(scope, sizeof scope, "%s/%s/s3/aws4_request", day, c->region);
    size_t clen = strlen(method) + strlen(path) + strlen(query) + strlen(headers) + strlen(names) +
                  strlen(payload_hash) + 8;
    if (!(creq = malloc(clen)))
        return CLOISTER_E_NO_MEMORY;
    snprintf(creq, clen, "%s\n%s\n%s\n%s\n%s\n%s", method, path, query, headers, names,
             payload_hash);
    crypto_sha256(h, creq, strlen(creq));
    free(creq);
    hex(creq_hash, h, 32);
    snprintf(sts, sizeof sts, "AWS4-HMAC-SHA256\n%s\n%s\n%s", amzdate, scope, creq_hash);

    char secret[sizeof c->secret + 4];
    snprintf(secret, sizeof secret, "AWS4%s", c->secret);
    crypto_hmac_sha256(k, secret, strlen(secret), day, strlen(day));
    crypto_hmac_sha256(k, k, 32, c->region, strlen(c->region));
    crypto_hmac_sha256(k, k, 32, "s3", 2);
    crypto_hmac_sha256(k, k, 32, "aws4_request", 12);
    crypto_hmac_sha256(h, k, 32, sts, strlen(sts));
    crypto_wipe(secret, sizeof secret);
    crypto_wipe(k, sizeof k);
    hex(sig, h, 32);
    int n = snprintf(out, cap, "AWS4-HMAC-SHA256 Credential=%s/%s,SignedHeaders=%s,Signature=%s",
                     c->access, scope, names, sig);
    return n > 0 && (size_t)n < cap ? CLOISTER_OK : CLOISTER_E_TOO_BIG;
}

static void curl_init(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

int s3_open(const struct s3_conf *c, s3 **out, struct cloister_err *err)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT; /* the service opens clients on threads */
    pthread_once(&once, curl_init);
    s3 *s = calloc(1, sizeof *s);
    if (!s || !(s->curl = curl_easy_init())) {
        free(s);
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory (S3 client)");
    }
    s->c = *c;
    *out = s;
    return CLOISTER_OK;
}

void s3_close(s3 *s)
{
    if (!s)
        return;
    curl_easy_cleanup(s->curl);
    crypto_wipe(&s->c, sizeof s->c);
    free(s);
}

/* A response body: into a FILE (a download) or a bounded buffer (listings, errors). */
struct sink {
    FILE *file;
    char *buf;
    size_t len, cap;
};

static size_t sink_write(char *p, size_t size, size_t n, void *arg)
{
    struct sink *k = arg;
    size_t len = size * n;
    if (k->file)
        return fwrite(p, 1, len, k->file);
    if (k->len + len + 1 > k->cap) {
        if (k->len + len + 1 > LIST_BODY_MAX)
            return 0;
        size_t cap = k->cap ? k->cap : 4096;
        while (cap < k->len + len + 1)
            cap *= 2;
        char *grown = realloc(k->buf, cap);
        if (!grown)
            return 0;
        k->buf = grown;
        k->cap = cap;
    }
    memcpy(k->buf + k->len, p, len);
    k->len += len;
    k->buf[k->len] = '\0';
    return len;
}

struct mem_body {
    const uint8_t *p;
    size_t len, off;
};

static size_t mem_read(char *dst, size_t size, size_t n, void *arg)
{
    struct mem_body *m = arg;
    size_t len = size * n < m->len - m->off ? size * n : m->len - m->off;
    memcpy(dst, m->p + m->off, len);
    m->off += len;
    return len;
}

/* One request. body_fn/body_arg give an upload of len bytes whose SHA-256 is payload; the
 * response goes to sink; *status gets the HTTP status. */
struct request {
    const char *method, *key, *query; /* key may be NULL (the bucket), query "" */
    const char *payload;              /* hex SHA-256 of the body */
    curl_read_callback body_fn;
    void *body_arg;
    uint64_t len;
    bool if_absent;
    struct sink *sink;
};

static int perform(s3 *s, const struct request *q, long *status, struct cloister_err *err)
{
    char path[S3_KEY_MAX + 80], url[sizeof s->c.endpoint + sizeof path + 64], amzdate[17];
    char headers[sizeof s->c.host + 160], auth[512], h_auth[540], h_sha[96], h_date[40];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(amzdate, sizeof amzdate, "%Y%m%dT%H%M%SZ", &tm);
    snprintf(path, sizeof path, "/%s/%s", s->c.bucket, q->key ? q->key : "");
    snprintf(url, sizeof url, "%s%s%s%s", s->c.endpoint, path, q->query[0] ? "?" : "", q->query);
    snprintf(headers, sizeof headers, "host:%s\nx-amz-content-sha256:%s\nx-amz-date:%s\n",
             s->c.host, q->payload, amzdate);
    if (s3_authorization(&s->c, q->method, path, q->query, headers,
                         "host;x-amz-content-sha256;x-amz-date", q->payload, amzdate, auth,
                         sizeof auth) != CLOISTER_OK)
        return cloister_errf(err, CLOISTER_E_TOO_BIG, "S3 request too long");
    snprintf(h_auth, sizeof h_auth, "Authorization: %s", auth);
    snprintf(h_sha, sizeof h_sha, "x-amz-content-sha256: %s", q->payload);
    snprintf(h_date, sizeof h_date, "x-amz-date: %s", amzdate);
    struct curl_slist *hl = NULL, *t;
    const char *lines[] = {h_auth, h_sha, h_date,
                           "Expect:", q->if_absent ? "If-None-Match: *" : NULL};
    for (size_t i = 0; i < sizeof lines / sizeof *lines && lines[i]; i++) {
        if (!(t = curl_slist_append(hl, lines[i]))) {
            curl_slist_free_all(hl);
            return cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
        }
        hl = t;
    }
    CURL *c = s->curl;
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, q->sink);
    if (q->body_fn) {
        curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(c, CURLOPT_READFUNCTION, q->body_fn);
        curl_easy_setopt(c, CURLOPT_READDATA, q->body_arg);
        curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)q->len);
    } else if (strcmp(q->method, "GET") != 0) {
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, q->method);
    }
    if (strcmp(q->method, "PUT") == 0 && !q->body_fn) {
        curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)0);
    }
    CURLcode cc = curl_easy_perform(c);
    curl_slist_free_all(hl);
    crypto_wipe(auth, sizeof auth);
    crypto_wipe(h_auth, sizeof h_auth);
    if (cc != CURLE_OK)
        return cloister_errf(err, CLOISTER_E_SYSTEM, "S3 store %s: %s", s->c.host,
                             curl_easy_strerror(cc));
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    return CLOISTER_OK;
}

/* The <tag>...</tag> text of an XML body after *pos (advanced past it), or false. */
static bool xml_next(const char *body, const char *tag, size_t *pos, char *out, size_t cap)
{
    char open[40], close[40];
    snprintf(open, sizeof open, "<%s>", tag);
    snprintf(close, sizeof close, "</%s>", tag);
    const char *a = strstr(body + *pos, open);
    const char *b = a ? strstr(a, close) : NULL;
    if (!b)
        return false;
    a += strlen(open);
    size_t n = (size_t)(b - a);
    if (n >= cap)
        n = cap - 1;
    memcpy(out, a, n);
    out[n] = '\0';
    *pos = (size_t)(b - body) + strlen(close);
    return true;
}

/* A refusal of the store as one line: its status and XML error code. */
static int refused(long status, const struct sink *k, const char *what, const char *key,
                   struct cloister_err *err)
{
    char code[64] = "";
    size_t pos = 0;
    if (k->buf)
        xml_next(k->buf, "Code", &pos, code, sizeof code);
    int rc = status == 404                    ? CLOISTER_E_NOT_FOUND
             : status == 412 || status == 409 ? CLOISTER_E_EXISTS
             : status == 401 || status == 403 ? CLOISTER_E_DENIED
                                              : CLOISTER_E_FAILED;
    return cloister_errf(err, rc, "S3 %s of '%s' refused: HTTP %ld%s%s", what, key, status,
                         code[0] ? " " : "", code);
}

static const char empty_sha[] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

int s3_bucket_create(s3 *s, struct cloister_err *err)
{
    struct sink k = {0};
    struct request q = {.method = "PUT", .query = "", .payload = empty_sha, .sink = &k};
    long status = 0;
    int rc = perform(s, &q, &status, err);
    bool exists = k.buf && strstr(k.buf, "BucketAlreadyOwnedByYou");
    if (rc == CLOISTER_OK && status / 100 != 2 && !exists)
        rc = refused(status, &k, "bucket creation", s->c.bucket, err);
    free(k.buf);
    return rc;
}

static int put_common(s3 *s, const char *key, const char *payload, curl_read_callback fn, void *arg,
                      uint64_t len, int if_absent, struct cloister_err *err)
{
    if (!key_ok(key))
        return cloister_errf(err, CLOISTER_E_INVALID, "bad S3 key");
    struct sink k = {0};
    struct request q = {"PUT", key, "", payload, fn, arg, len, if_absent != 0, &k};
    long status = 0;
    int rc = perform(s, &q, &status, err);
    if (rc == CLOISTER_OK && status / 100 != 2)
        rc = refused(status, &k, "upload", key, err);
    free(k.buf);
    return rc;
}

int s3_put_mem(s3 *s, const char *key, const void *data, size_t len, int if_absent,
               struct cloister_err *err)
{
    uint8_t h[32];
    char payload[65];
    crypto_sha256(h, data, len);
    hex(payload, h, 32);
    struct mem_body m = {data, len, 0};
    return put_common(s, key, payload, mem_read, &m, len, if_absent, err);
}

static size_t file_read(char *dst, size_t size, size_t n, void *arg)
{
    return fread(dst, size, n, arg);
}

int s3_put(s3 *s, const char *key, FILE *body, uint64_t len, int if_absent,
           struct cloister_err *err)
{
    long start = ftell(body);
    crypto_hash *hs = crypto_hash_new(CRYPTO_HASH_SHA256);
    if (start < 0 || !hs) {
        if (hs)
            crypto_hash_final(hs, (uint8_t[32]){0});
        return cloister_errf(err, CLOISTER_E_SYSTEM, "S3 upload: the body cannot be re-read");
    }
    uint8_t buf[65536], h[32];
    uint64_t left = len;
    while (left > 0) {
        size_t want = left < sizeof buf ? (size_t)left : sizeof buf;
        size_t got = fread(buf, 1, want, body);
        if (got == 0)
            break;
        crypto_hash_update(hs, buf, got);
        left -= got;
    }
    crypto_hash_final(hs, h);
    if (left != 0 || fseek(body, start, SEEK_SET) != 0)
        return cloister_errf(err, CLOISTER_E_SYSTEM, "S3 upload: the body is shorter than said");
    char payload[65];
    hex(payload, h, 32);
    return put_common(s, key, payload, file_read, body, len, if_absent, err);
}

int s3_get(s3 *s, const char *key, FILE *out, struct cloister_err *err)
{
    if (!key_ok(key))
        return cloister_errf(err, CLOISTER_E_INVALID, "bad S3 key");
    /* The body goes to out only on success: an error's XML goes to a buffer. Since the status is
     * known only once the body arrives, a download lands in out and is checked after. */
    struct sink k = {.file = out};
    struct request q = {.method = "GET", .key = key, .query = "", .payload = empty_sha, .sink = &k};
    long start = ftell(out), status = 0;
    int rc = perform(s, &q, &status, err);
    if (rc == CLOISTER_OK && status != 200) {
        struct sink e = {0};
        if (start >= 0 && fseek(out, start, SEEK_SET) == 0) { /* what the error wrote, as text */
            char line[ERR_BODY_MAX];
            size_t n = fread(line, 1, sizeof line - 1, out);
            line[n] = '\0';
            sink_write(line, 1, n, &e);
            if (fseek(out, start, SEEK_SET) != 0 || ftruncate(fileno(out), start) != 0)
                rc = CLOISTER_E_SYSTEM;
        }
        rc = refused(status, &e, "download", key, err);
        free(e.buf);
    }
    return rc;
}

int s3_delete(s3 *s, const char *key, struct cloister_err *err)
{
    if (!key_ok(key))
        return cloister_errf(err, CLOISTER_E_INVALID, "bad S3 key");
    struct sink k = {0};
    struct request q = {.method = "DELETE",
                        .key = key,
                        .query = "",
                        .payload = empty_sha,
                        .sink = &k};
    long status = 0;
    int rc = perform(s, &q, &status, err);
    if (rc == CLOISTER_OK && status / 100 != 2 && status != 404)
        rc = refused(status, &k, "deletion", key, err);
    free(k.buf);
    return rc;
}

void s3_keys_free(char **keys, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(keys[i]);
    free(keys);
}

/* Appends the <Key>s of one page of a listing; *token gets the continuation token or "". */
static int list_page(const char *body, char ***keys, size_t *n, size_t *cap, char *token,
                     size_t tcap, struct cloister_err *err)
{
    char key[S3_KEY_MAX + 1], trunc[8] = "";
    size_t pos = 0;
    while (xml_next(body, "Key", &pos, key, sizeof key)) {
        if (!key_ok(key))
            continue; /* not one of ours */
        if (*n == *cap) {
            *cap = *cap ? 2 * *cap : 64;
            char **grown = realloc(*keys, *cap * sizeof *grown);
            if (!grown)
                return cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
            *keys = grown;
        }
        if (!((*keys)[*n] = strdup(key)))
            return cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
        (*n)++;
    }
    pos = 0;
    xml_next(body, "IsTruncated", &pos, trunc, sizeof trunc);
    token[0] = '\0';
    pos = 0;
    if (strcmp(trunc, "true") == 0 && !xml_next(body, "NextContinuationToken", &pos, token, tcap))
        return cloister_errf(err, CLOISTER_E_PROTOCOL,
                             "S3 listing truncated without a usable "
                             "continuation token");
    return CLOISTER_OK;
}

int s3_list(s3 *s, const char *prefix, char ***keys, size_t *n, struct cloister_err *err)
{
    *keys = NULL;
    *n = 0;
    if (prefix[0] && !key_ok(prefix))
        return cloister_errf(err, CLOISTER_E_INVALID, "bad S3 prefix");
    size_t cap = 0;
    char token[S3_KEY_MAX + 1] = "", etoken[3 * S3_KEY_MAX + 1], eprefix[3 * S3_KEY_MAX + 1];
    char query[6 * S3_KEY_MAX + 64];
    int rc = CLOISTER_OK;
    uri_escape(eprefix, prefix);
    do {
        /* Canonical query: parameters sorted by name (continuation-token < list-type < prefix). */
        uri_escape(etoken, token);
        snprintf(query, sizeof query, "%s%s%slist-type=2&prefix=%s",
                 token[0] ? "continuation-token=" : "", etoken, token[0] ? "&" : "", eprefix);
        struct sink k = {0};
        struct request q = {.method = "GET", .query = query, .payload = empty_sha, .sink = &k};
        long status = 0;
        rc = perform(s, &q, &status, err);
        if (rc == CLOISTER_OK && status != 200)
            rc = refused(status, &k, "listing", prefix, err);
        if (rc == CLOISTER_OK)
            rc = list_page(k.buf ? k.buf : "", keys, n, &cap, token, sizeof token, err);
        free(k.buf);
    } while (rc == CLOISTER_OK && token[0]);
    if (rc != CLOISTER_OK) {
        s3_keys_free(*keys, *n);
        *keys = NULL;
        *n = 0;
    }
    return rc;
}
