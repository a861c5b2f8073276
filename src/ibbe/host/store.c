/* store.c -- the untrusted cloud store of IBBE-SGX: a directory of wire records, one file per
 * group and per partition (layout in include/cloister/ibbe.h).
 *
 * The host runs this; everything it writes is public (public key, member lists, headers) or
 * encrypted (wrapped group keys). Each file is replaced atomically; the group record is
 * written last so the partitions it announces exist. Loading checks every record fully
 * (bounds, points, identities, epoch agreement) and reports "<file>: <reason>", with
 * NOT_FOUND for a missing file, SYSTEM for another I/O failure and the decoder's code
 * (INVALID) for a malformed record. */
#include "ibbe/common/internal.h"
#include "util/fileio.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define RECORD_MAX ((size_t)64 << 20)
#define IBBE_KIND "groups"
#define HE_KIND "he"
#define PK_FILE "ibbe.pk"
#define SEALED_FILE "ibbe.msk.sealed"

struct ibbe_store {
    char dir[PATH_MAX - 128]; /* room for "/groups/<name>/p<index>" within PATH_MAX */
};

/* "<path>: <reason>" for a failed OS call: a missing file is NOT_FOUND, anything else SYSTEM. */
static int os_error(struct cloister_err *err, const char *path)
{
    if (errno == ENOENT)
        return cloister_errf(err, CLOISTER_E_NOT_FOUND, "%s: missing", path);
    return cloister_errf(err, CLOISTER_E_SYSTEM, "%s: %s", path, strerror(errno));
}

/* kind: "groups" (IBBE) or "he" (baselines); no group: kind is a file name in the store. */
static int path_of(char *out, const ibbe_store *s, const char *kind, const char *group, long part)
{
    int n;
    if (!group)
        n = snprintf(out, PATH_MAX, "%s/%s", s->dir, kind);
    else if (part < 0)
        n = snprintf(out, PATH_MAX, "%s/%s/%s/group", s->dir, kind, group);
    else
        n = snprintf(out, PATH_MAX, "%s/%s/%s/p%ld", s->dir, kind, group, part);
    return n > 0 && n < PATH_MAX ? 0 : -1;
}

int ibbe_store_open(const char *dir, ibbe_store **out, struct cloister_err *err)
{
    ibbe_store *s = calloc(1, sizeof *s);
    if (!s)
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
    if (strlen(dir) >= sizeof s->dir) {
        free(s);
        return cloister_errf(err, CLOISTER_E_INVALID, "store path too long");
    }
    strcpy(s->dir, dir);
    if (file_mkdirs(dir, 0755) != 0) {
        free(s);
        return os_error(err, dir);
    }
    *out = s;
    return CLOISTER_OK;
}

void ibbe_store_close(ibbe_store *s)
{
    free(s);
}

static int write_file(const char *path, const uint8_t *buf, size_t len, mode_t mode,
                      struct cloister_err *err)
{
    return file_write_atomic(path, buf, len, mode) == 0 ? CLOISTER_OK : os_error(err, path);
}

/* Writes a record encoded into a malloc'd buffer (encoded: the encoder's status) and frees
 * it. */
static int write_record(const char *path, uint8_t *buf, size_t len, int encoded,
                        struct cloister_err *err)
{
    if (encoded != 0)
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "%s: cannot encode the record", path);
    int rc = write_file(path, buf, len, 0644, err);
    free(buf);
    return rc;
}

static int read_record(const char *path, uint8_t **buf, size_t *len, struct cloister_err *err)
{
    return file_read_all(path, RECORD_MAX, buf, len) == 0 ? CLOISTER_OK : os_error(err, path);
}

int ibbe_store_save_pk(ibbe_store *s, const ibbe_pk *pk, struct cloister_err *err)
{
    char path[PATH_MAX];
    uint8_t *buf = NULL;
    size_t len = 0;
    path_of(path, s, PK_FILE, NULL, 0);
    int encoded = ibbe_pk_encode(pk, &buf, &len);
    return write_record(path, buf, len, encoded, err);
}

int ibbe_store_load_pk(ibbe_store *s, ibbe_pk **pk, struct cloister_err *err)
{
    char path[PATH_MAX];
    uint8_t *buf;
    size_t len;
    path_of(path, s, PK_FILE, NULL, 0);
    int rc = read_record(path, &buf, &len, err);
    if (rc != CLOISTER_OK)
        return rc;
    if ((rc = ibbe_pk_decode(pk, buf, len, err)) != CLOISTER_OK)
        cloister_err_wrap(err, "%s", path);
    free(buf);
    return rc;
}

static int save_meta(ibbe_store *s, const ibbe_group *g, struct cloister_err *err)
{
    char path[PATH_MAX];
    uint8_t *buf = NULL;
    size_t len = 0;
    path_of(path, s, IBBE_KIND, g->name, -1);
    int encoded = ibbe_group_encode_meta(g, &buf, &len);
    return write_record(path, buf, len, encoded, err);
}

static int save_one(ibbe_store *s, const ibbe_group *g, size_t part, struct cloister_err *err)
{
    char path[PATH_MAX];
    uint8_t *buf = NULL;
    size_t len = 0;
    path_of(path, s, IBBE_KIND, g->name, (long)part);
    int encoded = ibbe_group_encode_partition(g, part, &buf, &len);
    return write_record(path, buf, len, encoded, err);
}

int ibbe_store_save_sealed(ibbe_store *s, const uint8_t *blob, size_t len, struct cloister_err *err)
{
    char path[PATH_MAX];
    path_of(path, s, SEALED_FILE, NULL, 0);
    return write_file(path, blob, len, 0600, err);
}

int ibbe_store_load_sealed(ibbe_store *s, uint8_t **blob, size_t *len, struct cloister_err *err)
{
    char path[PATH_MAX];
    path_of(path, s, SEALED_FILE, NULL, 0);
    return read_record(path, blob, len, err);
}

/* The path of a record of group name (part -1: the group record). */
static int record_path(char *path, const ibbe_store *s, const char *kind, const char *name,
                       long part, struct cloister_err *err)
{
    if (!ibbe_group_name_valid(name) || path_of(path, s, kind, name, part) != 0)
        return cloister_errf(err, CLOISTER_E_INVALID, "invalid group name");
    return CLOISTER_OK;
}

static int group_dir(ibbe_store *s, const char *kind, const char *name, struct cloister_err *err)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/%s/%s", s->dir, kind, name);
    return file_mkdirs(dir, 0755) == 0 ? CLOISTER_OK : os_error(err, dir);
}

/* Reads a record of group name into *buf; path is where it was (for messages). */
static int read_named(ibbe_store *s, const char *kind, const char *name, long part, char *path,
                      uint8_t **buf, size_t *len, struct cloister_err *err)
{
    int rc = record_path(path, s, kind, name, part, err);
    return rc == CLOISTER_OK ? read_record(path, buf, len, err) : rc;
}

int ibbe_store_read_raw(ibbe_store *s, const char *name, long part, uint8_t **buf, size_t *len,
                        struct cloister_err *err)
{
    char path[PATH_MAX];
    return read_named(s, IBBE_KIND, name, part, path, buf, len, err);
}

int ibbe_store_write_raw(ibbe_store *s, const char *name, long part, const uint8_t *buf, size_t len,
                         struct cloister_err *err)
{
    char path[PATH_MAX];
    int rc = record_path(path, s, IBBE_KIND, name, part, err);
    if (rc == CLOISTER_OK)
        rc = group_dir(s, IBBE_KIND, name, err);
    return rc == CLOISTER_OK ? write_file(path, buf, len, 0644, err) : rc;
}

/* Deletes the record files p<from>, p<from+1>, ... left over from a larger group. */
static void delete_from(ibbe_store *s, const char *kind, const char *name, long from)
{
    char path[PATH_MAX];
    for (long i = from; path_of(path, s, kind, name, i) == 0 && unlink(path) == 0; i++)
        ;
}

void ibbe_store_trim(ibbe_store *s, const char *name, size_t partitions)
{
    if (ibbe_group_name_valid(name))
        delete_from(s, IBBE_KIND, name, (long)partitions);
}

int ibbe_store_save_group(ibbe_store *s, const ibbe_group *g, struct cloister_err *err)
{
    int rc = group_dir(s, IBBE_KIND, g->name, err);
    for (size_t i = 0; rc == CLOISTER_OK && i < g->count; i++)
        rc = save_one(s, g, i, err);
    if (rc == CLOISTER_OK)
        rc = save_meta(s, g, err);
    if (rc == CLOISTER_OK)
        delete_from(s, IBBE_KIND, g->name, (long)g->count);
    return rc;
}

int ibbe_store_save_partition(ibbe_store *s, const ibbe_group *g, size_t part,
                              struct cloister_err *err)
{
    if (part >= g->count)
        return cloister_errf(err, CLOISTER_E_INVALID, "no such partition");
    int rc = group_dir(s, IBBE_KIND, g->name, err);
    if (rc == CLOISTER_OK)
        rc = save_one(s, g, part, err);
    return rc == CLOISTER_OK ? save_meta(s, g, err) : rc;
}

/* The group record of name, decoded (no partition loaded yet). */
static int load_meta(ibbe_store *s, const char *name, ibbe_group **out, struct cloister_err *err)
{
    char path[PATH_MAX];
    uint8_t *buf;
    size_t len;
    ibbe_group *g;
    int rc = read_named(s, IBBE_KIND, name, -1, path, &buf, &len, err);
    if (rc != CLOISTER_OK)
        return rc;
    rc = ibbe_group_decode_meta(&g, buf, len, err);
    free(buf);
    if (rc != CLOISTER_OK) {
        cloister_err_wrap(err, "%s", path);
        return rc;
    }
    if (strcmp(g->name, name) != 0) {
        ibbe_group_free(g);
        return cloister_errf(err, CLOISTER_E_INVALID, "%s: records another group's name", path);
    }
    *out = g;
    return CLOISTER_OK;
}

/* Decodes partition i of g from its file; only_if: skip (return 1) unless the raw record
 * contains this string. */
static int load_part(ibbe_store *s, ibbe_group *g, size_t i, const char *only_if,
                     struct cloister_err *err)
{
    char path[PATH_MAX];
    uint8_t *buf;
    size_t len;
    int rc = read_named(s, IBBE_KIND, g->name, (long)i, path, &buf, &len, err);
    if (rc != CLOISTER_OK)
        return rc;
    if (only_if && !memmem(buf, len, only_if, strlen(only_if))) {
        free(buf);
        return 1;
    }
    if ((rc = ibbe_group_decode_partition(g, i, buf, len, err)) != CLOISTER_OK)
        cloister_err_wrap(err, "%s", path);
    free(buf);
    return rc;
}

int ibbe_store_load_group(ibbe_store *s, const char *name, ibbe_group **out,
                          struct cloister_err *err)
{
    ibbe_group *g;
    int rc = load_meta(s, name, &g, err);
    if (rc != CLOISTER_OK)
        return rc;
    for (size_t i = 0; i < g->count; i++)
        if ((rc = load_part(s, g, i, NULL, err)) != CLOISTER_OK) {
            ibbe_group_free(g);
            return rc;
        }
    *out = g;
    return CLOISTER_OK;
}

int ibbe_store_load_member(ibbe_store *s, const char *name, const char *id, ibbe_group **out,
                           struct cloister_err *err)
{
    ibbe_group *g;
    if (!ibbe_id_valid(id))
        return cloister_errf(err, CLOISTER_E_INVALID, "invalid identity");
    int rc = load_meta(s, name, &g, err);
    if (rc != CLOISTER_OK)
        return rc;
    for (size_t i = 0; i < g->count; i++) {
        if ((rc = load_part(s, g, i, id, err)) < 0)
            break;
        if (rc == 0 && ibbe_group_find(g, id) >= 0) {
            *out = g;
            return CLOISTER_OK;
        }
        if (rc == 0) /* the string occurs, but not as a member: forget the partition */
            ibbe_group_forget_partition(g, i);
    }
    if (rc >= 0)
        rc = cloister_errf(err, CLOISTER_E_NOT_FOUND, "not a member of the group");
    ibbe_group_free(g);
    return rc;
}

static long long kind_bytes(ibbe_store *s, const char *kind, const char *name)
{
    char path[PATH_MAX];
    struct stat st;
    long long total = 0;
    if (!ibbe_group_name_valid(name) || path_of(path, s, kind, name, -1) != 0 ||
        stat(path, &st) != 0)
        return -1;
    total += st.st_size;
    for (long i = 0; path_of(path, s, kind, name, i) == 0 && stat(path, &st) == 0; i++)
        total += st.st_size;
    return total;
}

long long ibbe_store_group_bytes(ibbe_store *s, const char *name)
{
    return kind_bytes(s, IBBE_KIND, name);
}

long long ibbe_store_he_bytes(ibbe_store *s, const char *name)
{
    return kind_bytes(s, HE_KIND, name);
}

int ibbe_store_save_he(ibbe_store *s, const ibbe_he_group *g, struct cloister_err *err)
{
    char path[PATH_MAX];
    const char *name = ibbe_he_name(g);
    int rc = group_dir(s, HE_KIND, name, err);
    size_t chunks = ibbe_he_chunks(g);
    for (size_t i = 0; rc == CLOISTER_OK && i < chunks; i++) {
        uint8_t *buf = NULL;
        size_t len = 0;
        path_of(path, s, HE_KIND, name, (long)i);
        int encoded = ibbe_he_encode_chunk(g, i, &buf, &len);
        rc = write_record(path, buf, len, encoded, err);
    }
    if (rc == CLOISTER_OK) {
        uint8_t *buf = NULL;
        size_t len = 0;
        path_of(path, s, HE_KIND, name, -1);
        int encoded = ibbe_he_encode_meta(g, &buf, &len);
        rc = write_record(path, buf, len, encoded, err);
    }
    if (rc == CLOISTER_OK)
        delete_from(s, HE_KIND, name, (long)chunks);
    return rc;
}

int ibbe_store_load_he(ibbe_store *s, const char *name, ibbe_he_group **out,
                       struct cloister_err *err)
{
    char path[PATH_MAX];
    uint8_t *buf;
    size_t len;
    ibbe_he_group *g;
    int rc = read_named(s, HE_KIND, name, -1, path, &buf, &len, err);
    if (rc != CLOISTER_OK)
        return rc;
    rc = ibbe_he_decode_meta(&g, buf, len, err);
    free(buf);
    if (rc != CLOISTER_OK) {
        cloister_err_wrap(err, "%s", path);
        return rc;
    }
    for (size_t i = 0; rc == CLOISTER_OK && i < ibbe_he_chunks(g); i++) {
        path_of(path, s, HE_KIND, name, (long)i);
        if ((rc = read_record(path, &buf, &len, err)) != CLOISTER_OK)
            break;
        if ((rc = ibbe_he_decode_chunk(g, i, buf, len, err)) != CLOISTER_OK)
            cloister_err_wrap(err, "%s", path);
        free(buf);
    }
    if (rc != CLOISTER_OK) {
        ibbe_he_free(g);
        return rc;
    }
    *out = g;
    return CLOISTER_OK;
}
