/* store.c -- the untrusted cloud store of IBBE-SGX: a directory of wire records, one file per
 * group and per partition (layout in include/cloister/ibbe.h).
 *
 * The host runs this; everything it writes is public (public key, member lists, headers) or
 * encrypted (wrapped group keys). Loading checks every record fully (bounds, points,
 * identities, epoch agreement) and reports "<file>: <reason>" with the file relative to the
 * store, NOT_FOUND for a missing file, SYSTEM for another I/O failure and the decoder's code
 * (INVALID) for a malformed record.
 *
 * Three rules keep an untrusted directory from hurting its writer:
 *   - Paths are never resolved as strings: the store holds a descriptor of its directory and
 *     opens one component at a time with openat(O_NOFOLLOW), so a symbolic link planted in the
 *     store cannot redirect a read, a write or a delete outside it (RESOLVE_BENEATH would add
 *     nothing: no path here has more than one component).
 *   - Writers serialise on flock(DIR/lock) (ibbe_store_lock), which the admin holds across the
 *     enclave operation and the writes, in the CLI and the daemon alike.
 *   - A group update is atomic as a whole. One that changes more than one file is staged in
 *     groups/.<name>.new (changed records written, unchanged ones hard-linked), then swapped with
 *     groups/<name> by one renameat2(RENAME_EXCHANGE); the old version, left under the staging
 *     name, goes to the trash and is deleted in the background (or by the next writer when a
 *     crash came first); the staged files are made durable by one syncfs. An update of one
 *     partition (an add) is done in place: the partition's rename is the switch, or, for a new
 *     partition, the group record's rename that announces it. Temporary files have one fixed name
 *     per directory (.tmp), so the next writer removes a stale one. */
#include <cloister/wire.h>

#include "ibbe/common/internal.h"
#include "util/fileio.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define RECORD_MAX ((size_t)64 << 20)
#define IBBE_KIND "groups"
#define HE_KIND "he"
#define PK_FILE "ibbe.pk"
#define SEALED_FILE "ibbe.msk.sealed"
#define EPOCHS_FILE "ibbe.epochs.sealed"
#define LOCK_FILE "lock"
#define META_FILE "group"
#define TMP_FILE ".tmp"
#define REL_MAX (IBBE_NAME_MAX + 64)

#define TRASH_PENDING 8 /* old versions being deleted in the background at once */

struct ibbe_store {
    int root;                       /* the store's directory */
    int lock;                       /* DIR/lock while ibbe_store_lock holds it, else -1 */
    pthread_t trash[TRASH_PENDING]; /* deleters of old versions, joined by close */
    size_t ntrash;
};

/* "<rel>: <reason>" for a failed OS call: a missing file is NOT_FOUND, a symbolic link or a
 * file where a directory belongs is refused, anything else SYSTEM. */
static int os_error(struct cloister_err *err, const char *rel)
{
    if (errno == ENOENT)
        return cloister_errf(err, CLOISTER_E_NOT_FOUND, "%s: missing", rel);
    if (errno == ELOOP || errno == ENOTDIR)
        return cloister_errf(err, CLOISTER_E_DENIED, "%s: a symbolic link or not a directory", rel);
    return cloister_errf(err, CLOISTER_E_SYSTEM, "%s: %s", rel, strerror(errno));
}

/* The name of a record in its group's directory: "group" or "p<part>". */
static void record_name(char out[32], long part)
{
    if (part < 0)
        snprintf(out, 32, META_FILE);
    else
        snprintf(out, 32, "p%ld", part);
}

/* Opens directory name under dir, creating it when asked; never follows a symbolic link. */
static int open_dir(int dir, const char *name, bool create)
{
    if (create && mkdirat(dir, name, 0755) != 0 && errno != EEXIST)
        return -1;
    return openat(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

/* Writes name in dir: durably through TMP_FILE and a rename when replace; else created directly
 * in a fresh staging directory and not synced here: update_commit makes all the staged files
 * durable with one syncfs, rather than one fsync (a journal commit) each. The directory itself
 * is not fsync'd. */
static int put_at(int dir, const char *name, const uint8_t *buf, size_t len, mode_t mode,
                  bool replace)
{
    const char *tmp = replace ? TMP_FILE : name;
    if (unlinkat(dir, tmp, 0) != 0 && errno != ENOENT)
        return -1;
    int fd = openat(dir, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd < 0)
        return -1;
    int rc = file_write_full(fd, buf, len) == 0 && (!replace || fsync(fd) == 0) ? 0 : -1;
    int saved = errno;
    close(fd);
    errno = saved;
    if (rc == 0 && replace)
        rc = renameat(dir, tmp, dir, name);
    return rc;
}

/* Reads the regular file name in dir (not a link, FIFO or device), up to RECORD_MAX bytes. */
static int get_at(int dir, const char *name, uint8_t **buf, size_t *len)
{
    int fd = openat(dir, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    struct stat st;
    if (fd < 0)
        return -1;
    int rc = -1;
    if (fstat(fd, &st) != 0)
        ;
    else if (!S_ISREG(st.st_mode))
        errno = EINVAL;
    else if ((size_t)st.st_size > RECORD_MAX)
        errno = EFBIG;
    else if ((*buf = malloc((size_t)st.st_size + 1))) {
        ssize_t n = read(fd, *buf, (size_t)st.st_size + 1);
        if (n == st.st_size) {
            *len = (size_t)n;
            rc = 0;
        } else {
            free(*buf);
            errno = n < 0 ? errno : EAGAIN; /* the file changed under us */
        }
    }
    int saved = errno;
    close(fd);
    errno = saved;
    return rc;
}

/* Deletes directory name under dir and the files in it (a staging directory or an old group
 * version); a symbolic link planted there is deleted, never followed. A missing one is fine. */
static int remove_flat(int dir, const char *name)
{
    int fd = open_dir(dir, name, false);
    if (fd < 0)
        return errno == ENOENT ? 0 : unlinkat(dir, name, 0);
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return -1;
    }
    for (struct dirent *e; (e = readdir(d));)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            unlinkat(fd, e->d_name, 0);
    closedir(d);
    return unlinkat(dir, name, AT_REMOVEDIR);
}

int ibbe_store_open(const char *dir, ibbe_store **out, struct cloister_err *err)
{
    ibbe_store *s = calloc(1, sizeof *s);
    if (!s)
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
    s->lock = -1;
    if (file_mkdirs(dir, 0755) != 0 ||
        (s->root = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
        int code = errno == ENOENT ? CLOISTER_E_NOT_FOUND : CLOISTER_E_SYSTEM;
        free(s);
        return cloister_errf(err, code, "store: %s", strerror(errno));
    }
    *out = s;
    return CLOISTER_OK;
}

void ibbe_store_close(ibbe_store *s)
{
    if (!s)
        return;
    ibbe_store_settle(s);
    ibbe_store_unlock(s);
    close(s->root);
    free(s);
}

int ibbe_store_lock(ibbe_store *s, struct cloister_err *err)
{
    if (s->lock >= 0)
        return cloister_errf(err, CLOISTER_E_BUSY, "store: already locked");
    int fd = openat(s->root, LOCK_FILE, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0)
        return os_error(err, LOCK_FILE);
    int rc;
    while ((rc = flock(fd, LOCK_EX)) != 0 && errno == EINTR)
        ;
    if (rc != 0) {
        rc = os_error(err, LOCK_FILE);
        close(fd);
        return rc;
    }
    s->lock = fd;
    return CLOISTER_OK;
}

void ibbe_store_unlock(ibbe_store *s)
{
    if (s->lock < 0)
        return;
    close(s->lock); /* releases the flock */
    s->lock = -1;
}

/* A whole file at the store's top level (public key, sealed γ). */
static int write_top(ibbe_store *s, const char *name, const uint8_t *buf, size_t len, mode_t mode,
                     struct cloister_err *err)
{
    if (put_at(s->root, name, buf, len, mode, true) != 0 || fsync(s->root) != 0)
        return os_error(err, name);
    return CLOISTER_OK;
}

static int read_top(ibbe_store *s, const char *name, uint8_t **buf, size_t *len,
                    struct cloister_err *err)
{
    return get_at(s->root, name, buf, len) == 0 ? CLOISTER_OK : os_error(err, name);
}

int ibbe_store_save_pk(ibbe_store *s, const ibbe_pk *pk, struct cloister_err *err)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    if (ibbe_pk_encode(pk, &buf, &len) != 0)
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "%s: cannot encode", PK_FILE);
    int rc = write_top(s, PK_FILE, buf, len, 0644, err);
    free(buf);
    return rc;
}

int ibbe_store_load_pk(ibbe_store *s, ibbe_pk **pk, struct cloister_err *err)
{
    uint8_t *buf;
    size_t len;
    int rc = read_top(s, PK_FILE, &buf, &len, err);
    if (rc != CLOISTER_OK)
        return rc;
    if ((rc = ibbe_pk_decode(pk, buf, len, err)) != CLOISTER_OK)
        cloister_err_wrap(err, "%s", PK_FILE);
    free(buf);
    return rc;
}

int ibbe_store_save_sealed(ibbe_store *s, const uint8_t *blob, size_t len, struct cloister_err *err)
{
    return write_top(s, SEALED_FILE, blob, len, 0600, err);
}

int ibbe_store_load_sealed(ibbe_store *s, uint8_t **blob, size_t *len, struct cloister_err *err)
{
    return read_top(s, SEALED_FILE, blob, len, err);
}

int ibbe_store_save_epochs(ibbe_store *s, const uint8_t *blob, size_t len, struct cloister_err *err)
{
    return write_top(s, EPOCHS_FILE, blob, len, 0600, err);
}

int ibbe_store_load_epochs(ibbe_store *s, uint8_t **blob, size_t *len, struct cloister_err *err)
{
    int rc = read_top(s, EPOCHS_FILE, blob, len, err);
    if (rc == CLOISTER_E_NOT_FOUND) {
        *blob = NULL;
        *len = 0;
        return CLOISTER_OK;
    }
    return rc;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int ibbe_store_list_groups(ibbe_store *s, char ***names, size_t *count, struct cloister_err *err)
{
    *names = NULL;
    *count = 0;
    int fd = open_dir(s->root, IBBE_KIND, false);
    if (fd < 0)
        return errno == ENOENT ? CLOISTER_OK : os_error(err, IBBE_KIND);
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return os_error(err, IBBE_KIND);
    }
    size_t n = 0, cap = 0;
    char **v = NULL;
    int rc = CLOISTER_OK;
    for (struct dirent *e; rc == CLOISTER_OK && (e = readdir(d));) {
        if (!ibbe_group_name_valid(e->d_name)) /* ".", "..", staging directories */
            continue;
        if (n == cap) {
            char **grown = realloc(v, (cap = cap ? 2 * cap : 16) * sizeof *v);
            if (!grown) {
                rc = cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
                break;
            }
            v = grown;
        }
        if (!(v[n] = strdup(e->d_name)))
            rc = cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
        else
            n++;
    }
    closedir(d);
    if (rc != CLOISTER_OK) {
        ibbe_store_free_names(v, n);
        return rc;
    }
    if (n > 1)
        qsort(v, n, sizeof *v, cmp_name);
    *names = v;
    *count = n;
    return CLOISTER_OK;
}

void ibbe_store_free_names(char **names, size_t count)
{
    for (size_t i = 0; i < count; i++)
        free(names[i]);
    free(names);
}

/* ---- a group's directory ---------------------------------------------------------------------- */

/* An open group directory (kind "groups" or "he"): rel names it in messages. */
struct gdir {
    int kind; /* DIR/<kind> */
    int dir;  /* DIR/<kind>/<name>, or -1 */
    char rel[REL_MAX];
};

static void gdir_close(struct gdir *g)
{
    if (g->dir >= 0)
        close(g->dir);
    if (g->kind >= 0)
        close(g->kind);
    g->kind = g->dir = -1;
}

/* Opens DIR/<kind>/<name> for reading (create: creating both levels). */
static int gdir_open(ibbe_store *s, const char *kind, const char *name, bool create, struct gdir *g,
                     struct cloister_err *err)
{
    g->kind = g->dir = -1;
    if (!ibbe_group_name_valid(name))
        return cloister_errf(err, CLOISTER_E_INVALID, "invalid group name");
    snprintf(g->rel, sizeof g->rel, "%s", kind);
    if ((g->kind = open_dir(s->root, kind, create)) < 0)
        return os_error(err, g->rel);
    snprintf(g->rel, sizeof g->rel, "%s/%s", kind, name);
    if ((g->dir = open_dir(g->kind, name, create)) < 0) {
        int rc = os_error(err, g->rel);
        gdir_close(g);
        return rc;
    }
    return CLOISTER_OK;
}

/* Reads record part (-1: the group record) of an open group directory. */
static int gdir_read(struct gdir *g, long part, uint8_t **buf, size_t *len,
                     struct cloister_err *err)
{
    char name[32], rel[REL_MAX + 32];
    record_name(name, part);
    if (get_at(g->dir, name, buf, len) == 0)
        return CLOISTER_OK;
    snprintf(rel, sizeof rel, "%s/%s", g->rel, name);
    return os_error(err, rel);
}

/* ---- atomic updates --------------------------------------------------------------------------- */

/* Test hook: with CLOISTER_TEST_IBBE_CRASH_AFTER=K in the environment, the writing process kills
 * itself (SIGKILL, as a crash would) after the K-th step of an update, a step being a file put,
 * the swap or the deletion of the old version: tests crash an update at each moment exactly,
 * not at a time that may fall anywhere. */
static void crash_point(void)
{
    static long steps;
    const char *k = getenv("CLOISTER_TEST_IBBE_CRASH_AFTER");
    if (k && ++steps == strtol(k, NULL, 10))
        raise(SIGKILL);
}

/* An update of one group: staged (a new directory swapped in) or in place (one file). */
struct update {
    struct gdir g; /* g.dir: the current version, -1 for a new group */
    int stage;     /* the staging directory, or -1 when in place */
    char name[IBBE_NAME_MAX + 1], staged[IBBE_NAME_MAX + 8];
    ibbe_store *s;
};

static int update_fail(struct update *u, struct cloister_err *err)
{
    int rc = os_error(err, u->g.rel);
    if (u->stage >= 0) {
        close(u->stage);
        remove_flat(u->g.kind, u->staged);
    }
    gdir_close(&u->g);
    return rc;
}

/* ---- old versions: deleted off the update's path ---------------------------------------------
 * A swapped-out version is garbage, and deleting its files costs about as much as writing them
 * (an unlink frees journaled blocks). So the commit renames it to a trash name of its own,
 * ".<group>.old.<pid>.<n>", and a thread deletes it while holding a flock on it; the writer
 * returns at once. The next update sweeps trash that no live deleter holds (a crash, or a
 * process that exited first). ibbe_store_settle (and close) waits for the deleters. */

struct trash_job {
    int kind; /* DIR/<kind>, owned by the job */
    char name[IBBE_NAME_MAX + 48];
};

/* Deletes trash directory name under kind if no one else holds it: true when it did. */
static bool trash_delete(int kind, const char *name, bool wait)
{
    int fd = open_dir(kind, name, false);
    if (fd < 0)
        return false;
    bool mine = flock(fd, wait ? LOCK_EX : LOCK_EX | LOCK_NB) == 0;
    if (mine)
        remove_flat(kind, name);
    close(fd); /* releases the flock */
    return mine;
}

static void *trash_thread(void *arg)
{
    struct trash_job *j = arg;
    trash_delete(j->kind, j->name, true);
    close(j->kind);
    free(j);
    return NULL;
}

void ibbe_store_settle(ibbe_store *s)
{
    while (s->ntrash > 0)
        pthread_join(s->trash[--s->ntrash], NULL);
}

/* Hands trash directory name under kind to a deleting thread (deleted here when none starts). */
static void trash_later(ibbe_store *s, int kind, const char *name)
{
    if (s->ntrash == TRASH_PENDING)
        ibbe_store_settle(s);
    struct trash_job *j = malloc(sizeof *j);
    if (j && (j->kind = dup(kind)) >= 0) {
        snprintf(j->name, sizeof j->name, "%s", name);
        if (pthread_create(&s->trash[s->ntrash], NULL, trash_thread, j) == 0) {
            s->ntrash++;
            return;
        }
        close(j->kind);
    }
    free(j);
    remove_flat(kind, name);
}

/* Deletes the trash in kind that no live deleter holds. */
static void trash_sweep(int kind)
{
    int fd = dup(kind);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        if (fd >= 0)
            close(fd);
        return;
    }
    for (struct dirent *e; (e = readdir(d));)
        if (e->d_name[0] == '.' && strstr(e->d_name, ".old."))
            trash_delete(kind, e->d_name, false);
    closedir(d);
}

/* Starts an update; whole: stage it even when the group exists (several files change). A stale
 * staging directory, left by a crash, is deleted first, and trash no deleter holds. */
static int update_begin(ibbe_store *s, const char *kind, const char *name, bool whole,
                        struct update *u, struct cloister_err *err)
{
    u->stage = -1;
    u->s = s;
    int rc = gdir_open(s, kind, name, false, &u->g, err);
    if (rc == CLOISTER_E_NOT_FOUND) { /* a new group */
        if ((u->g.kind = open_dir(s->root, kind, true)) < 0)
            return os_error(err, kind);
        snprintf(u->g.rel, sizeof u->g.rel, "%s/%s", kind, name);
    } else if (rc != CLOISTER_OK)
        return rc;
    snprintf(u->name, sizeof u->name, "%s", name);
    snprintf(u->staged, sizeof u->staged, ".%s.new", name);
    trash_sweep(u->g.kind);
    if (remove_flat(u->g.kind, u->staged) != 0)
        return update_fail(u, err);
    if (u->g.dir >= 0 && !whole)
        return CLOISTER_OK;
    if ((u->stage = open_dir(u->g.kind, u->staged, true)) < 0)
        return update_fail(u, err);
    return CLOISTER_OK;
}

/* Writes record part (-1: the group record, last) of the update. */
static int update_put(struct update *u, long part, const uint8_t *buf, size_t len,
                      struct cloister_err *err)
{
    char name[32];
    record_name(name, part);
    bool staged = u->stage >= 0;
    if (put_at(staged ? u->stage : u->g.dir, name, buf, len, 0644, !staged) != 0)
        return update_fail(u, err);
    crash_point();
    if (!staged && fsync(u->g.dir) != 0) /* the partition durable before the record naming it */
        return update_fail(u, err);
    return CLOISTER_OK;
}

/* Deletes the partition files p<from>, p<from+1>, ... of dir left over from a larger group. */
static void trim_from(int dir, size_t from)
{
    char name[32];
    for (long i = (long)from; (record_name(name, i), unlinkat(dir, name, 0) == 0); i++)
        ;
}

/* Ends an update whose group record was put last and which has `partitions` partitions: a
 * staged one gets the unchanged partitions as hard links, then is swapped in. */
static int update_commit(struct update *u, size_t partitions, struct cloister_err *err)
{
    char name[32];
    if (u->stage < 0) {
        trim_from(u->g.dir, partitions);
        gdir_close(&u->g);
        return CLOISTER_OK;
    }
    struct stat st;
    for (size_t i = 0; u->g.dir >= 0 && i < partitions; i++) {
        record_name(name, (long)i);
        if (fstatat(u->stage, name, &st, AT_SYMLINK_NOFOLLOW) != 0 &&
            linkat(u->g.dir, name, u->stage, name, 0) != 0)
            return update_fail(u, err);
    }
    if (syncfs(u->stage) != 0 || fsync(u->stage) != 0) /* the staged files, then their names */
        return update_fail(u, err);
    int swapped = u->g.dir >= 0
                      ? renameat2(u->g.kind, u->staged, u->g.kind, u->name, RENAME_EXCHANGE)
                      : renameat(u->g.kind, u->staged, u->g.kind, u->name);
    if (swapped != 0 || fsync(u->g.kind) != 0)
        return update_fail(u, err);
    crash_point();
    close(u->stage);
    /* the old version now: to the trash (deleted here if the rename fails) */
    static unsigned long seq;
    char trash[IBBE_NAME_MAX + 48];
    snprintf(trash, sizeof trash, ".%s.old.%ld.%lu", u->name, (long)getpid(), ++seq);
    if (u->g.dir < 0 || renameat(u->g.kind, u->staged, u->g.kind, trash) != 0)
        remove_flat(u->g.kind, u->staged);
    else
        trash_later(u->s, u->g.kind, trash);
    crash_point();
    gdir_close(&u->g);
    return CLOISTER_OK;
}

int ibbe_store_update(ibbe_store *s, const char *name, const uint8_t *meta, size_t metalen,
                      size_t partitions, const struct ibbe_store_change *changes, size_t count,
                      struct cloister_err *err)
{
    struct update u;
    int rc = update_begin(s, IBBE_KIND, name, count > 1, &u, err);
    for (size_t i = 0; rc == CLOISTER_OK && i < count; i++)
        if (changes[i].index >= partitions)
            rc = cloister_errf(err, CLOISTER_E_INVALID, "partition %zu of %zu", changes[i].index,
                               partitions);
        else
            rc = update_put(&u, (long)changes[i].index, changes[i].rec, changes[i].len, err);
    if (rc == CLOISTER_OK)
        rc = update_put(&u, -1, meta, metalen, err);
    return rc == CLOISTER_OK ? update_commit(&u, partitions, err) : rc;
}

/* Puts a record encoded into a malloc'd buffer (encoded: the encoder's status) and frees it. */
static int put_encoded(struct update *u, long part, uint8_t *buf, size_t len, int encoded,
                       struct cloister_err *err)
{
    int rc = encoded == 0
                 ? update_put(u, part, buf, len, err)
                 : cloister_errf(err, CLOISTER_E_NO_MEMORY, "%s: cannot encode a record", u->g.rel);
    free(buf);
    return rc;
}

int ibbe_store_save_group(ibbe_store *s, const ibbe_group *g, struct cloister_err *err)
{
    struct update u;
    int rc = update_begin(s, IBBE_KIND, g->name, true, &u, err);
    for (size_t i = 0; rc == CLOISTER_OK && i <= g->count; i++) {
        uint8_t *buf = NULL;
        size_t len = 0;
        bool meta = i == g->count;
        int encoded = meta ? ibbe_group_encode_meta(g, &buf, &len)
                           : ibbe_group_encode_partition(g, i, &buf, &len);
        rc = put_encoded(&u, meta ? -1 : (long)i, buf, len, encoded, err);
    }
    return rc == CLOISTER_OK ? update_commit(&u, g->count, err) : rc;
}

int ibbe_store_save_partition(ibbe_store *s, const ibbe_group *g, size_t part,
                              struct cloister_err *err)
{
    if (part >= g->count)
        return cloister_errf(err, CLOISTER_E_INVALID, "no such partition");
    struct update u;
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = update_begin(s, IBBE_KIND, g->name, false, &u, err);
    if (rc == CLOISTER_OK) {
        int encoded = ibbe_group_encode_partition(g, part, &buf, &len);
        rc = put_encoded(&u, (long)part, buf, len, encoded, err);
    }
    if (rc == CLOISTER_OK) {
        int encoded = ibbe_group_encode_meta(g, &buf, &len);
        rc = put_encoded(&u, -1, buf, len, encoded, err);
    }
    return rc == CLOISTER_OK ? update_commit(&u, g->count, err) : rc;
}

int ibbe_store_read_raw(ibbe_store *s, const char *name, long part, uint8_t **buf, size_t *len,
                        struct cloister_err *err)
{
    struct gdir g;
    int rc = gdir_open(s, IBBE_KIND, name, false, &g, err);
    if (rc == CLOISTER_OK)
        rc = gdir_read(&g, part, buf, len, err);
    gdir_close(&g);
    return rc;
}

uint64_t ibbe_store_stamp(ibbe_store *s, const char *name)
{
    struct gdir g;
    struct stat st;
    uint64_t stamp = 0;
    if (gdir_open(s, IBBE_KIND, name, false, &g, NULL) == CLOISTER_OK &&
        fstatat(g.dir, META_FILE, &st, AT_SYMLINK_NOFOLLOW) == 0)
        stamp = ((uint64_t)st.st_ino * 1000003u ^ (uint64_t)st.st_ctim.tv_sec) * 1000003u ^
                (uint64_t)st.st_ctim.tv_nsec;
    gdir_close(&g);
    return stamp;
}

/* ---- reading ---------------------------------------------------------------------------------- */

/* The group record in an open group directory, decoded (no partition loaded yet). */
static int load_meta(struct gdir *d, const char *name, ibbe_group **out, struct cloister_err *err)
{
    uint8_t *buf;
    size_t len;
    ibbe_group *g;
    int rc = gdir_read(d, -1, &buf, &len, err);
    if (rc != CLOISTER_OK)
        return rc;
    rc = ibbe_group_decode_meta(&g, buf, len, err);
    free(buf);
    if (rc != CLOISTER_OK) {
        cloister_err_wrap(err, "%s/%s", d->rel, META_FILE);
        return rc;
    }
    if (strcmp(g->name, name) != 0) {
        ibbe_group_free(g);
        return cloister_errf(err, CLOISTER_E_INVALID, "%s/%s: records another group's name", d->rel,
                             META_FILE);
    }
    *out = g;
    return CLOISTER_OK;
}

/* Decodes partition i of g from its file; only_if: skip (return 1) unless the raw record
 * contains this string. */
static int load_part(struct gdir *d, ibbe_group *g, size_t i, const char *only_if,
                     struct cloister_err *err)
{
    uint8_t *buf;
    size_t len;
    int rc = gdir_read(d, (long)i, &buf, &len, err);
    if (rc != CLOISTER_OK)
        return rc;
    if (only_if && !memmem(buf, len, only_if, strlen(only_if))) {
        free(buf);
        return 1;
    }
    if ((rc = ibbe_group_decode_partition(g, i, buf, len, err)) != CLOISTER_OK)
        cloister_err_wrap(err, "%s/p%zu", d->rel, i);
    free(buf);
    return rc;
}

/* Opens group name's directory and decodes its group record. All reads of one load go through
 * the same directory, so an update swapped in meanwhile is not mixed into it. */
static int open_group(ibbe_store *s, const char *name, struct gdir *d, ibbe_group **g,
                      struct cloister_err *err)
{
    int rc = gdir_open(s, IBBE_KIND, name, false, d, err);
    if (rc == CLOISTER_OK)
        rc = load_meta(d, name, g, err);
    if (rc != CLOISTER_OK)
        gdir_close(d);
    return rc;
}

int ibbe_store_load_group(ibbe_store *s, const char *name, ibbe_group **out,
                          struct cloister_err *err)
{
    struct gdir d;
    ibbe_group *g;
    int rc = open_group(s, name, &d, &g, err);
    if (rc != CLOISTER_OK)
        return rc;
    for (size_t i = 0; rc == CLOISTER_OK && i < g->count; i++)
        rc = load_part(&d, g, i, NULL, err);
    gdir_close(&d);
    if (rc != CLOISTER_OK) {
        ibbe_group_free(g);
        return rc;
    }
    *out = g;
    return CLOISTER_OK;
}

int ibbe_store_load_member(ibbe_store *s, const char *name, const char *id, ibbe_group **out,
                           struct cloister_err *err)
{
    struct gdir d;
    ibbe_group *g;
    if (!ibbe_id_valid(id))
        return cloister_errf(err, CLOISTER_E_INVALID, "invalid identity");
    int rc = open_group(s, name, &d, &g, err);
    if (rc != CLOISTER_OK)
        return rc;
    for (size_t i = 0; i < g->count; i++) {
        if ((rc = load_part(&d, g, i, id, err)) < 0)
            break;
        if (rc == 0 && ibbe_group_find(g, id) >= 0) {
            gdir_close(&d);
            *out = g;
            return CLOISTER_OK;
        }
        if (rc == 0) /* the string occurs, but not as a member: forget the partition */
            ibbe_group_forget_partition(g, i);
    }
    gdir_close(&d);
    if (rc >= 0)
        rc = cloister_errf(err, CLOISTER_E_NOT_FOUND, "%.64s is not a member of %s", id, name);
    ibbe_group_free(g);
    return rc;
}

/* The member count of a partition record, read from its fields without decoding the members
 * (no identity is hashed): -1 when the record is not partition part of epoch. */
static long partition_count(const uint8_t *buf, size_t len, size_t part, uint64_t epoch)
{
    struct wire_reader r;
    wire_reader_init(&r, buf, len);
    wire_get_header(&r, "CIPA", 1);
    uint64_t index = wire_get_varint(&r), e = wire_get_u64(&r);
    wire_get_raw(&r, IBBE_HEADER_BYTES + IBBE_WRAP_BYTES);
    size_t count = wire_get_count(&r, 2, IBBE_PARTITION_MAX);
    return wire_reader_ok(&r) && index == part && e == epoch ? (long)count : -1;
}

static int summary_once(ibbe_store *s, const char *name, struct ibbe_group_summary *out,
                        struct cloister_err *err)
{
    struct gdir d;
    ibbe_group *g;
    uint8_t *buf;
    size_t len;
    int rc = open_group(s, name, &d, &g, err);
    if (rc != CLOISTER_OK)
        return rc;
    out->epoch = ibbe_group_epoch(g);
    out->partitions = ibbe_group_partitions(g);
    out->partition_size = ibbe_group_capacity(g);
    out->oldest_epoch = ibbe_group_oldest_epoch(g);
    out->members = 0;
    ibbe_group_free(g);
    for (size_t i = 0; rc == CLOISTER_OK && i < out->partitions; i++) {
        if ((rc = gdir_read(&d, (long)i, &buf, &len, err)) != CLOISTER_OK)
            break;
        long count = partition_count(buf, len, i, out->epoch);
        free(buf);
        if (count < 0)
            rc = cloister_errf(err, CLOISTER_E_INVALID,
                               "%s/p%zu: not partition %zu of epoch %llu (torn update?)", d.rel, i,
                               i, (unsigned long long)out->epoch);
        else
            out->members += (size_t)count;
    }
    gdir_close(&d);
    return rc;
}

int ibbe_store_group_summary(ibbe_store *s, const char *name, struct ibbe_group_summary *out,
                             struct cloister_err *err)
{
    /* an update swapped in while reading deletes the version being read: read again */
    int rc = CLOISTER_E_NOT_FOUND;
    for (int attempt = 0; attempt < 3 && rc != CLOISTER_OK; attempt++)
        if ((rc = summary_once(s, name, out, err)) == CLOISTER_E_SYSTEM)
            break;
    if (rc == CLOISTER_OK)
        out->bytes = ibbe_store_group_bytes(s, name);
    return rc;
}

static long long kind_bytes(ibbe_store *s, const char *kind, const char *name)
{
    struct gdir d;
    struct stat st;
    char file[32];
    long long total = -1;
    if (gdir_open(s, kind, name, false, &d, NULL) == CLOISTER_OK &&
        fstatat(d.dir, META_FILE, &st, AT_SYMLINK_NOFOLLOW) == 0) {
        total = st.st_size;
        for (long i = 0;
             (record_name(file, i), fstatat(d.dir, file, &st, AT_SYMLINK_NOFOLLOW) == 0); i++)
            total += st.st_size;
    }
    gdir_close(&d);
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
    struct update u;
    size_t chunks = ibbe_he_chunks(g);
    int rc = update_begin(s, HE_KIND, ibbe_he_name(g), true, &u, err);
    for (size_t i = 0; rc == CLOISTER_OK && i <= chunks; i++) {
        uint8_t *buf = NULL;
        size_t len = 0;
        bool meta = i == chunks;
        int encoded = meta ? ibbe_he_encode_meta(g, &buf, &len)
                           : ibbe_he_encode_chunk(g, i, &buf, &len);
        rc = put_encoded(&u, meta ? -1 : (long)i, buf, len, encoded, err);
    }
    return rc == CLOISTER_OK ? update_commit(&u, chunks, err) : rc;
}

int ibbe_store_load_he(ibbe_store *s, const char *name, ibbe_he_group **out,
                       struct cloister_err *err)
{
    struct gdir d;
    uint8_t *buf;
    size_t len;
    ibbe_he_group *g = NULL;
    int rc = gdir_open(s, HE_KIND, name, false, &d, err);
    if (rc == CLOISTER_OK && (rc = gdir_read(&d, -1, &buf, &len, err)) == CLOISTER_OK) {
        if ((rc = ibbe_he_decode_meta(&g, buf, len, err)) != CLOISTER_OK)
            cloister_err_wrap(err, "%s/%s", d.rel, META_FILE);
        free(buf);
    }
    for (size_t i = 0; rc == CLOISTER_OK && i < ibbe_he_chunks(g); i++) {
        if ((rc = gdir_read(&d, (long)i, &buf, &len, err)) != CLOISTER_OK)
            break;
        if ((rc = ibbe_he_decode_chunk(g, i, buf, len, err)) != CLOISTER_OK)
            cloister_err_wrap(err, "%s/p%zu", d.rel, i);
        free(buf);
    }
    gdir_close(&d);
    if (rc != CLOISTER_OK) {
        ibbe_he_free(g);
        return rc;
    }
    *out = g;
    return CLOISTER_OK;
}
