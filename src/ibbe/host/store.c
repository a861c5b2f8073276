/* store.c -- the untrusted cloud store of IBBE-SGX: a directory of wire records, one file per
 * group and per partition (layout in include/cloister/ibbe.h).
 *
 * The host runs this; everything it writes is public (public key, member lists, headers) or
 * encrypted (wrapped group keys). Each file is replaced atomically; the group record is
 * written last so the partitions it announces exist. Loading checks every record fully
 * (bounds, points, identities, epoch agreement) and reports "<file>: <reason>". */
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

/* "<path>: <reason>" in a per-thread buffer. */
static const char *file_error(const char *path, const char *reason)
{
    static _Thread_local char msg[PATH_MAX + 200];
    snprintf(msg, sizeof msg, "%s: %s", path, reason);
    return msg;
}

/* kind: "groups" (IBBE) or "he" (baselines); no group: kind is a file name in the store. */
static int path_of(char *out, const ibbe_store *s, const char *kind, const char *group,
                   long part)
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

int ibbe_store_open(const char *dir, ibbe_store **out, const char **err)
{
    ibbe_store *s = calloc(1, sizeof *s);
    if (!s) {
        *err = "out of memory";
        return -1;
    }
    if (strlen(dir) >= sizeof s->dir) {
        free(s);
        *err = "store path too long";
        return -1;
    }
    strcpy(s->dir, dir);
    if (file_mkdirs(dir, 0755) != 0) {
        *err = file_error(dir, strerror(errno));
        free(s);
        return -1;
    }
    *out = s;
    return 0;
}

void ibbe_store_close(ibbe_store *s)
{
    free(s);
}

/* Writes a record encoded into a malloc'd buffer (encoded: the encoder's status) and frees
 * it. */
static int write_record(const char *path, uint8_t *buf, size_t len, int encoded,
                        const char **err)
{
    if (encoded != 0) {
        *err = file_error(path, "cannot encode the record");
        return -1;
    }
    int rc = file_write_atomic(path, buf, len, 0644);
    if (rc != 0)
        *err = file_error(path, strerror(errno));
    free(buf);
    return rc;
}

static int read_record(const char *path, uint8_t **buf, size_t *len, const char **err)
{
    if (file_read_all(path, RECORD_MAX, buf, len) != 0) {
        *err = file_error(path, errno == ENOENT ? "missing" : strerror(errno));
        return -1;
    }
    return 0;
}

int ibbe_store_save_pk(ibbe_store *s, const ibbe_pk *pk, const char **err)
{
    char path[PATH_MAX];
    uint8_t *buf = NULL;
    size_t len = 0;
    path_of(path, s, PK_FILE, NULL, 0);
    int encoded = ibbe_pk_encode(pk, &buf, &len);
    return write_record(path, buf, len, encoded, err);
}

int ibbe_store_load_pk(ibbe_store *s, ibbe_pk **pk, const char **err)
{
    char path[PATH_MAX];
    uint8_t *buf;
    size_t len;
    path_of(path, s, PK_FILE, NULL, 0);
    if (read_record(path, &buf, &len, err) != 0)
        return -1;
    const char *why;
    int rc = ibbe_pk_decode(pk, buf, len, &why);
    if (rc != 0)
        *err = file_error(path, why);
    free(buf);
    return rc;
}

static int save_meta(ibbe_store *s, const ibbe_group *g, const char **err)
{
    char path[PATH_MAX];
    uint8_t *buf = NULL;
    size_t len = 0;
    path_of(path, s, IBBE_KIND, g->name, -1);
    int encoded = ibbe_group_encode_meta(g, &buf, &len);
    return write_record(path, buf, len, encoded, err);
}

static int save_one(ibbe_store *s, const ibbe_group *g, size_t part, const char **err)
{
    char path[PATH_MAX];
    uint8_t *buf = NULL;
    size_t len = 0;
    path_of(path, s, IBBE_KIND, g->name, (long)part);
    int encoded = ibbe_group_encode_partition(g, part, &buf, &len);
    return write_record(path, buf, len, encoded, err);
}

static int group_dir(ibbe_store *s, const char *kind, const char *name, const char **err);

int ibbe_store_save_sealed(ibbe_store *s, const uint8_t *blob, size_t len, const char **err)
{
    char path[PATH_MAX];
    path_of(path, s, SEALED_FILE, NULL, 0);
    if (file_write_atomic(path, blob, len, 0600) != 0) {
        *err = file_error(path, strerror(errno));
        return -1;
    }
    return 0;
}

int ibbe_store_load_sealed(ibbe_store *s, uint8_t **blob, size_t *len, const char **err)
{
    char path[PATH_MAX];
    path_of(path, s, SEALED_FILE, NULL, 0);
    return read_record(path, blob, len, err);
}

int ibbe_store_read_raw(ibbe_store *s, const char *name, long part, uint8_t **buf, size_t *len,
                        const char **err)
{
    char path[PATH_MAX];
    if (!ibbe_group_name_valid(name) || path_of(path, s, IBBE_KIND, name, part) != 0) {
        *err = "invalid group name";
        return -1;
    }
    return read_record(path, buf, len, err);
}

int ibbe_store_write_raw(ibbe_store *s, const char *name, long part, const uint8_t *buf,
                         size_t len, const char **err)
{
    char path[PATH_MAX];
    if (!ibbe_group_name_valid(name) || path_of(path, s, IBBE_KIND, name, part) != 0) {
        *err = "invalid group name";
        return -1;
    }
    if (group_dir(s, IBBE_KIND, name, err) != 0)
        return -1;
    if (file_write_atomic(path, buf, len, 0644) != 0) {
        *err = file_error(path, strerror(errno));
        return -1;
    }
    return 0;
}

static int group_dir(ibbe_store *s, const char *kind, const char *name, const char **err)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/%s/%s", s->dir, kind, name);
    if (file_mkdirs(dir, 0755) != 0) {
        *err = file_error(dir, strerror(errno));
        return -1;
    }
    return 0;
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

int ibbe_store_save_group(ibbe_store *s, const ibbe_group *g, const char **err)
{
    if (group_dir(s, IBBE_KIND, g->name, err) != 0)
        return -1;
    for (size_t i = 0; i < g->count; i++)
        if (save_one(s, g, i, err) != 0)
            return -1;
    if (save_meta(s, g, err) != 0)
        return -1;
    delete_from(s, IBBE_KIND, g->name, (long)g->count);
    return 0;
}

int ibbe_store_save_partition(ibbe_store *s, const ibbe_group *g, size_t part,
                              const char **err)
{
    if (part >= g->count) {
        *err = "no such partition";
        return -1;
    }
    if (group_dir(s, IBBE_KIND, g->name, err) != 0 || save_one(s, g, part, err) != 0)
        return -1;
    return save_meta(s, g, err);
}

/* The group record of name, decoded (no partition loaded yet). */
static int load_meta(ibbe_store *s, const char *name, ibbe_group **out, const char **err)
{
    char path[PATH_MAX];
    uint8_t *buf;
    size_t len;
    const char *why;
    ibbe_group *g;
    if (ibbe_store_read_raw(s, name, -1, &buf, &len, err) != 0)
        return -1;
    path_of(path, s, IBBE_KIND, name, -1);
    int rc = ibbe_group_decode_meta(&g, buf, len, &why);
    free(buf);
    if (rc != 0) {
        *err = file_error(path, why);
        return -1;
    }
    if (strcmp(g->name, name) != 0) {
        *err = file_error(path, "records another group's name");
        ibbe_group_free(g);
        return -1;
    }
    *out = g;
    return 0;
}

/* Decodes partition i of g from its file; only_if: skip (return 1) unless the raw record
 * contains this string. */
static int load_part(ibbe_store *s, ibbe_group *g, size_t i, const char *only_if,
                     const char **err)
{
    char path[PATH_MAX];
    uint8_t *buf;
    size_t len;
    const char *why;
    if (ibbe_store_read_raw(s, g->name, (long)i, &buf, &len, err) != 0)
        return -1;
    if (only_if && !memmem(buf, len, only_if, strlen(only_if))) {
        free(buf);
        return 1;
    }
    path_of(path, s, IBBE_KIND, g->name, (long)i);
    int rc = ibbe_group_decode_partition(g, i, buf, len, &why);
    free(buf);
    if (rc != 0)
        *err = file_error(path, why);
    return rc;
}

int ibbe_store_load_group(ibbe_store *s, const char *name, ibbe_group **out, const char **err)
{
    ibbe_group *g;
    if (load_meta(s, name, &g, err) != 0)
        return -1;
    for (size_t i = 0; i < g->count; i++)
        if (load_part(s, g, i, NULL, err) != 0) {
            ibbe_group_free(g);
            return -1;
        }
    *out = g;
    return 0;
}

int ibbe_store_load_member(ibbe_store *s, const char *name, const char *id, ibbe_group **out,
                           const char **err)
{
    ibbe_group *g;
    if (!ibbe_id_valid(id)) {
        *err = "invalid identity";
        return -1;
    }
    if (load_meta(s, name, &g, err) != 0)
        return -1;
    const char *why = "not a member of the group";
    for (size_t i = 0; i < g->count; i++) {
        int rc = load_part(s, g, i, id, &why);
        if (rc < 0)
            break;
        if (rc == 0 && ibbe_group_find(g, id) >= 0) {
            *out = g;
            return 0;
        }
        if (rc == 0) /* the string occurs, but not as a member: forget the partition */
            ibbe_group_forget_partition(g, i);
    }
    *err = why;
    ibbe_group_free(g);
    return -1;
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

int ibbe_store_save_he(ibbe_store *s, const ibbe_he_group *g, const char **err)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    char path[PATH_MAX];
    const char *name = ibbe_he_name(g);
    if (ibbe_he_encode_meta(g, &buf, &len) != 0) {
        *err = "cannot encode the HE group record";
        return -1;
    }
    if (group_dir(s, HE_KIND, name, err) != 0) {
        free(buf);
        return -1;
    }
    size_t chunks = ibbe_he_chunks(g);
    for (size_t i = 0; i < chunks; i++) {
        uint8_t *cb = NULL;
        size_t cl = 0;
        path_of(path, s, HE_KIND, name, (long)i);
        int encoded = ibbe_he_encode_chunk(g, i, &cb, &cl);
        if (write_record(path, cb, cl, encoded, err) != 0) {
            free(buf);
            return -1;
        }
    }
    path_of(path, s, HE_KIND, name, -1);
    if (write_record(path, buf, len, 0, err) != 0)
        return -1;
    delete_from(s, HE_KIND, name, (long)chunks);
    return 0;
}

int ibbe_store_load_he(ibbe_store *s, const char *name, ibbe_he_group **out, const char **err)
{
    if (!ibbe_group_name_valid(name)) {
        *err = "invalid group name";
        return -1;
    }
    char path[PATH_MAX];
    uint8_t *buf;
    size_t len;
    const char *why;
    ibbe_he_group *g;
    path_of(path, s, HE_KIND, name, -1);
    if (read_record(path, &buf, &len, err) != 0)
        return -1;
    int rc = ibbe_he_decode_meta(&g, buf, len, &why);
    free(buf);
    if (rc != 0) {
        *err = file_error(path, why);
        return -1;
    }
    for (size_t i = 0; i < ibbe_he_chunks(g); i++) {
        path_of(path, s, HE_KIND, name, (long)i);
        if (read_record(path, &buf, &len, err) != 0) {
            ibbe_he_free(g);
            return -1;
        }
        rc = ibbe_he_decode_chunk(g, i, buf, len, &why);
        free(buf);
        if (rc != 0) {
            *err = file_error(path, why);
            ibbe_he_free(g);
            return -1;
        }
    }
    *out = g;
    return 0;
}
