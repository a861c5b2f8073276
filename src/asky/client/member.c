/* member.c -- what an A-Sky member runs (asky_client.h). put asks the access service for an
 * envelope (proving membership with a fresh nonce), opens its own entry to learn the file key,
 * and streams the file into the store through a temporary file renamed into place. get needs no
 * enclave: the object's envelope, the member's key and asky_object_read. rekey is a get into an
 * unlinked temporary file followed by a put in place. */
#include <cloister/asky_client.h>
#include <cloister/crypto.h>

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/fileio.h"

/* Streams through an atomic file at path: fn(out stream) and commit, or nothing left behind. */
static int write_stream(const char *path, int (*fn)(FILE *out, void *arg), void *arg,
                        struct cloister_err *err)
{
    struct file_atomic a;
    if (file_atomic_begin(&a, path, 0600) != 0)
        return cloister_errf(err, CLOISTER_E_SYSTEM, "%s: %s", path, strerror(errno));
    FILE *f = fdopen(a.fd, "wb");
    if (!f) {
        file_atomic_abort(&a);
        return cloister_errf(err, CLOISTER_E_SYSTEM, "%s: %s", path, strerror(errno));
    }
    int rc = fn(f, arg);
    if (fflush(f) != 0 && rc == CLOISTER_OK)
        rc = cloister_errf(err, CLOISTER_E_SYSTEM, "%s: %s", path, strerror(errno));
    a.fd = dup(fileno(f));
    fclose(f);
    if (rc != CLOISTER_OK || a.fd < 0) {
        file_atomic_abort(&a);
        return rc != CLOISTER_OK ? rc : cloister_errf(err, CLOISTER_E_SYSTEM, "%s", path);
    }
    if (file_atomic_commit(&a) != 0)
        return cloister_errf(err, CLOISTER_E_SYSTEM, "%s: %s", path, strerror(errno));
    return CLOISTER_OK;
}

/* Where an object goes: the file at path (a store directory) or, when o, a commit of name to
 * the S3 store through an unlinked temporary file; or, when held (a rekey's commit of several),
 * only that temporary file, handed back for the caller to commit. */
struct dest {
    const char *dir, *path;
    asky_objects *o;
    const char *name;
    struct asky_object_update *held;
};

/* fn's output in an unlinked temporary file, rewound, as an update of name. */
static int write_tmp(const char *name, int (*fn)(FILE *out, void *arg), void *arg,
                     struct asky_object_update *u, struct cloister_err *err)
{
    FILE *t = tmpfile();
    if (!t)
        return cloister_errf(err, CLOISTER_E_SYSTEM, "temporary file: %s", strerror(errno));
    int rc = fn(t, arg);
    long len = rc == CLOISTER_OK && fflush(t) == 0 ? ftell(t) : -1;
    if (rc == CLOISTER_OK && (len < 0 || fseek(t, 0, SEEK_SET) != 0))
        rc = cloister_errf(err, CLOISTER_E_SYSTEM, "temporary file: %s", strerror(errno));
    if (rc != CLOISTER_OK) {
        fclose(t);
        return rc;
    }
    *u = (struct asky_object_update){name, t, (uint64_t)len};
    return CLOISTER_OK;
}

/* A put of one object: the store's writer lock shared (a rekey takes it exclusive). */
static int dest_write(const struct dest *d, int (*fn)(FILE *out, void *arg), void *arg,
                      struct cloister_err *err)
{
    if (d->held)
        return write_tmp(d->name, fn, arg, d->held, err);
    int lock = asky_objects_lock(d->dir, false, err), rc = CLOISTER_OK;
    if (lock < 0)
        return CLOISTER_E_SYSTEM;
    struct asky_object_update u;
    if (!d->o)
        rc = write_stream(d->path, fn, arg, err);
    else if ((rc = write_tmp(d->name, fn, arg, &u, err)) == CLOISTER_OK) {
        rc = asky_objects_commit(d->o, &u, 1, err);
        fclose(u.body);
    }
    asky_objects_unlock(lock);
    return rc;
}

/* The object's bytes from the S3 store into an unlinked temporary file, rewound. */
static int fetch_tmp(asky_objects *o, const char *name, FILE **out, struct cloister_err *err)
{
    FILE *t = tmpfile();
    if (!t)
        return cloister_errf(err, CLOISTER_E_SYSTEM, "temporary file: %s", strerror(errno));
    int rc = asky_objects_fetch(o, name, t, err);
    if (rc == CLOISTER_OK && (fflush(t) != 0 || fseek(t, 0, SEEK_SET) != 0))
        rc = cloister_errf(err, CLOISTER_E_SYSTEM, "temporary file: %s", strerror(errno));
    if (rc != CLOISTER_OK) {
        fclose(t);
        return rc;
    }
    *out = t;
    return CLOISTER_OK;
}

struct put_job {
    enum asky_kind kind;
    const uint8_t *env;
    size_t envlen;
    const uint8_t *file_key;
    FILE *in;
    struct cloister_err *err;
};

static int put_fn(FILE *out, void *arg)
{
    struct put_job *j = arg;
    return asky_object_write(out, j->kind, j->env, j->envlen, j->file_key, ASKY_CHUNK_DEFAULT,
                             j->in, j->err);
}

/* Encrypts the stream f for the group (an envelope of a fresh file key from the enclave) into
 * the object at path, atomically. */
static int put_stream(asky_service *s, const char *group, const char *user,
                      const uint8_t key[ASKY_KEY_LEN], FILE *f, const struct dest *d,
                      enum asky_kind kind, unsigned pad, struct cloister_err *err)
{
    struct asky_user_keys k;
    uint8_t nonce[ASKY_REQ_NONCE_LEN], proof[32], file_key[ASKY_KEY_LEN], *env = NULL;
    size_t envlen = 0;
    int rc = CLOISTER_OK;
    asky_user_keys(&k, key);
    if (crypto_random(nonce, sizeof nonce) != 0)
        rc = cloister_errf(err, CLOISTER_E_FAILED, "random number generator failed");
    asky_request_proof(proof, &k, group, nonce);
    if (rc == CLOISTER_OK)
        rc = asky_envelope_request(s, group, user, nonce, proof, kind, pad, &env, &envlen, err);
    if (rc == CLOISTER_OK && asky_envelope_open(kind, env, envlen, &k, file_key, err) != 0)
        rc = cloister_err_wrap(err, "the envelope the service built");
    if (rc == CLOISTER_OK) {
        struct put_job j = {kind, env, envlen, file_key, f, err};
        rc = dest_write(d, put_fn, &j, err);
    }
    asky_user_keys_wipe(&k);
    crypto_wipe(file_key, sizeof file_key);
    free(env);
    return rc;
}

int asky_put(asky_service *s, const char *group, const char *user, const uint8_t key[ASKY_KEY_LEN],
             const char *in, const char *name, enum asky_kind kind, unsigned pad,
             struct cloister_err *err)
{
    char path[PATH_MAX];
    struct dest d = {asky_service_dir(s), path, NULL, name, NULL};
    int rc = asky_object_path(asky_service_dir(s), name, path, sizeof path, err);
    if (rc != CLOISTER_OK || (rc = asky_objects_open(asky_service_dir(s), &d.o, err)) != 0)
        return rc;
    FILE *f = strcmp(in, "-") == 0 ? stdin : fopen(in, "rb");
    if (!f)
        rc = cloister_errf(err, CLOISTER_E_NOT_FOUND, "%s: %s", in, strerror(errno));
    else
        rc = put_stream(s, group, user, key, f, &d, kind, pad, err);
    if (f && f != stdin)
        fclose(f);
    asky_objects_close(d.o);
    return rc;
}

/* Full re-encryption of one object into a temporary file (u), not a new envelope over the old
 * file key: a revoked member who once opened the object may have kept that key, and the
 * chunks' AAD binds the envelope anyway. */
static int rekey_one(asky_service *s, asky_objects *o, const char *group, const char *user,
                     const uint8_t key[ASKY_KEY_LEN], const char *name, enum asky_kind kind,
                     unsigned pad, struct asky_object_update *u, struct cloister_err *err)
{
    char path[PATH_MAX];
    struct dest d = {asky_service_dir(s), path, o, name, u};
    FILE *obj = NULL, *plain = NULL;
    int rc = asky_object_path(asky_service_dir(s), name, path, sizeof path, err);
    if (rc == CLOISTER_OK && o)
        rc = fetch_tmp(o, name, &obj, err);
    else if (rc == CLOISTER_OK)
        obj = fopen(path, "rb");
    plain = obj ? tmpfile() : NULL; /* unlinked, 0600 */
    if (rc == CLOISTER_OK && (!obj || !plain)) {
        rc = cloister_errf(err, errno == ENOENT ? CLOISTER_E_NOT_FOUND : CLOISTER_E_SYSTEM,
                           "object '%s': %s", name, strerror(errno));
    } else if (rc == CLOISTER_OK) {
        struct asky_user_keys k;
        asky_user_keys(&k, key);
        rc = asky_object_read(obj, &k, plain, err);
        asky_user_keys_wipe(&k);
        if (rc == CLOISTER_OK && (fflush(plain) != 0 || fseek(plain, 0, SEEK_SET) != 0))
            rc = cloister_errf(err, CLOISTER_E_SYSTEM, "temporary file: %s", strerror(errno));
        if (rc == CLOISTER_OK)
            rc = put_stream(s, group, user, key, plain, &d, kind, pad, err);
    }
    if (rc != CLOISTER_OK)
        cloister_err_wrap(err, "rekey of '%s'", name);
    if (plain)
        fclose(plain);
    if (obj)
        fclose(obj);
    return rc;
}

int asky_rekey_group(asky_service *s, const char *group, const char *user,
                     const uint8_t key[ASKY_KEY_LEN], const char *const *names, size_t n,
                     enum asky_kind kind, unsigned pad, struct cloister_err *err)
{
    const char *dir = asky_service_dir(s);
    asky_objects *o = NULL;
    struct asky_object_update *u = calloc(n ? n : 1, sizeof *u);
    if (!u)
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
    int rc = asky_objects_open(dir, &o, err), lock = -1;
    if (rc == CLOISTER_OK && (lock = asky_objects_lock(dir, true, err)) < 0)
        rc = CLOISTER_E_SYSTEM;
    size_t done = 0;
    for (; rc == CLOISTER_OK && done < n; done++)
        rc = rekey_one(s, o, group, user, key, names[done], kind, pad, &u[done], err);
    if (rc == CLOISTER_OK) /* every object or none */
        rc = o ? asky_objects_commit(o, u, n, err) : asky_dir_commit(dir, u, n, err);
    for (size_t i = 0; i < n; i++)
        if (u[i].body)
            fclose(u[i].body);
    free(u);
    asky_objects_unlock(lock);
    asky_objects_close(o);
    return rc;
}

int asky_rekey(asky_service *s, const char *group, const char *user,
               const uint8_t key[ASKY_KEY_LEN], const char *name, enum asky_kind kind, unsigned pad,
               struct cloister_err *err)
{
    return asky_rekey_group(s, group, user, key, &name, 1, kind, pad, err);
}

struct get_job {
    FILE *in;
    const struct asky_user_keys *k;
    struct cloister_err *err;
};

static int get_fn(FILE *out, void *arg)
{
    struct get_job *j = arg;
    return asky_object_read(j->in, j->k, out, j->err);
}

int asky_get_from(FILE *in, const uint8_t key[ASKY_KEY_LEN], const char *name, const char *out,
                  struct cloister_err *err)
{
    struct asky_user_keys k;
    asky_user_keys(&k, key);
    struct get_job j = {in, &k, err};
    int rc = strcmp(out, "-") == 0 ? asky_object_read(in, &k, stdout, err)
                                   : write_stream(out, get_fn, &j, err);
    if (rc != CLOISTER_OK)
        cloister_err_wrap(err, "object '%s'", name);
    asky_user_keys_wipe(&k);
    return rc;
}

int asky_get(const char *dir, const uint8_t key[ASKY_KEY_LEN], const char *name, const char *out,
             struct cloister_err *err)
{
    char path[PATH_MAX];
    asky_objects *o = NULL;
    FILE *in = NULL;
    int rc = asky_object_path(dir, name, path, sizeof path, err);
    if (rc != CLOISTER_OK || (rc = asky_objects_open(dir, &o, err)) != CLOISTER_OK)
        return rc;
    if (o)
        rc = fetch_tmp(o, name, &in, err);
    else if (!(in = fopen(path, "rb")))
        rc = cloister_errf(err, errno == ENOENT ? CLOISTER_E_NOT_FOUND : CLOISTER_E_SYSTEM,
                           "object '%s': %s", name, strerror(errno));
    asky_objects_close(o);
    if (rc != CLOISTER_OK)
        return rc;
    rc = asky_get_from(in, key, name, out, err);
    fclose(in);
    return rc;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int asky_list(const char *dir, char ***names, size_t *n, struct cloister_err *err)
{
    char path[PATH_MAX];
    asky_objects *o = NULL;
    *names = NULL;
    *n = 0;
    if (snprintf(path, sizeof path, "%s/objects", dir) >= (int)sizeof path)
        return cloister_errf(err, CLOISTER_E_INVALID, "store path too long");
    int rc = asky_objects_open(dir, &o, err);
    if (rc != CLOISTER_OK || o) {
        if (o)
            rc = asky_objects_list(o, names, n, err);
        asky_objects_close(o);
        return rc;
    }
    DIR *d = opendir(path);
    if (!d)
        return cloister_errf(err, CLOISTER_E_NOT_FOUND, "no store at this path");
    struct dirent *de;
    size_t cap = 0;
    char tmp[PATH_MAX];
    while (rc == CLOISTER_OK && (de = readdir(d)) != NULL) {
        if (asky_object_path(dir, de->d_name, tmp, sizeof tmp, NULL) != CLOISTER_OK ||
            strstr(de->d_name, ".tmp.")) /* ".", "..", writes in progress */
            continue;
        if (*n == cap) {
            cap = cap ? 2 * cap : 16;
            char **grown = realloc(*names, cap * sizeof *grown);
            if (!grown) {
                rc = cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
                break;
            }
            *names = grown;
        }
        if (!((*names)[*n] = strdup(de->d_name)))
            rc = cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
        else
            (*n)++;
    }
    closedir(d);
    if (rc != CLOISTER_OK) {
        asky_names_free(*names, *n);
        *names = NULL;
        *n = 0;
        return rc;
    }
    qsort(*names, *n, sizeof **names, name_cmp);
    return CLOISTER_OK;
}

void asky_names_free(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}
