/* dircommit.c -- updates of several objects of a store directory at once, all or none, and the
 * lock that serialises them against other writers (asky_host.h; docs/asky.md "rekey").
 *
 * One object is one file replaced by rename, so a single put is atomic by itself. A rekey of a
 * group replaces many objects: a redo journal makes that one commit. The new objects are first
 * written beside the old ones as DIR/objects/.new.NAME (each fsync'd); then the journal
 * DIR/objects/.journal, which lists the names, is written atomically (write, fsync, rename,
 * fsync of the directory): that is the commit point. The .new files are then renamed over
 * their objects and the journal removed. A kill -9 before the journal leaves the old objects
 * (the .new files are garbage, removed by the next recovery); after it, recovery finishes the
 * renames. Object names never start with '.', so these files cannot be mistaken for objects.
 *
 * Writers take DIR/objects.lock (flock): shared for a put of one object (puts do not exclude
 * each other), exclusive for a multi-object commit together with the reads it was computed
 * from (a rekey), so no put lands between a rekey's read and its commit and is lost. Recovery
 * runs under the exclusive lock whenever a journal is found: by the next writer, and by
 * asky_objects_open, so a reader after a crash sees the committed state. */
#include <cloister/asky_host.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "util/fileio.h"

#define JOURNAL_MAX ((size_t)16 << 20)

static int path_of(char *out, const char *dir, const char *prefix, const char *name,
                   struct cloister_err *err)
{
    if (snprintf(out, PATH_MAX, "%s/objects/%s%s", dir, prefix, name) >= PATH_MAX)
        return cloister_errf(err, CLOISTER_E_INVALID, "store path too long");
    return CLOISTER_OK;
}

static int sys_fail(struct cloister_err *err, const char *what)
{
    return cloister_errf(err, CLOISTER_E_SYSTEM, "%s: %s", what, strerror(errno));
}

static int dir_sync(const char *dir, struct cloister_err *err)
{
    char path[PATH_MAX];
    int rc = path_of(path, dir, "", "", err);
    int fd = rc == CLOISTER_OK ? open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
    if (rc == CLOISTER_OK && (fd < 0 || fsync(fd) != 0))
        rc = sys_fail(err, "syncing the objects directory");
    if (fd >= 0)
        close(fd);
    return rc;
}

/* Applies the journal (names separated by '\n') if there is one, then removes it and any
 * .new file no journal names. Exclusive lock held. */
static int recover(const char *dir, struct cloister_err *err)
{
    char journal[PATH_MAX], from[PATH_MAX], to[PATH_MAX];
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = path_of(journal, dir, ".journal", "", err);
    if (rc != CLOISTER_OK)
        return rc;
    if (file_read_all(journal, JOURNAL_MAX, &buf, &len) == 0) {
        for (char *p = (char *)buf, *end = p + len; rc == CLOISTER_OK && p < end;) {
            char *nl = memchr(p, '\n', (size_t)(end - p));
            if (!nl)
                break;
            *nl = '\0';
            if ((rc = path_of(from, dir, ".new.", p, err)) == CLOISTER_OK &&
                (rc = path_of(to, dir, "", p, err)) == CLOISTER_OK && rename(from, to) != 0 &&
                errno != ENOENT) /* ENOENT: renamed before the crash */
                rc = sys_fail(err, "finishing a multi-object commit");
            p = nl + 1;
        }
        free(buf);
        if (rc == CLOISTER_OK && (rc = dir_sync(dir, err)) == CLOISTER_OK && unlink(journal) != 0)
            rc = sys_fail(err, "removing the commit journal");
    } else if (errno != ENOENT) {
        return sys_fail(err, "reading the commit journal");
    }
    DIR *d = rc == CLOISTER_OK && path_of(from, dir, "", "", err) == CLOISTER_OK ? opendir(from)
                                                                                 : NULL;
    for (struct dirent *de; d && (de = readdir(d));)
        if (strncmp(de->d_name, ".new.", 5) == 0 &&
            path_of(to, dir, "", de->d_name, err) == CLOISTER_OK)
            unlink(to);
    if (d)
        closedir(d);
    return rc == CLOISTER_OK ? dir_sync(dir, err) : rc;
}

static bool journal_exists(const char *dir)
{
    char journal[PATH_MAX];
    return path_of(journal, dir, ".journal", "", NULL) == CLOISTER_OK && access(journal, F_OK) == 0;
}

int asky_objects_lock(const char *dir, bool exclusive, struct cloister_err *err)
{
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/objects.lock", dir) >= (int)sizeof path) {
        cloister_errf(err, CLOISTER_E_INVALID, "store path too long");
        return -1;
    }
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    bool recovering = fd >= 0 && (exclusive || journal_exists(dir));
    if (fd < 0 || flock(fd, recovering ? LOCK_EX : LOCK_SH) != 0) {
        sys_fail(err, "objects.lock");
        if (fd >= 0)
            close(fd);
        return -1;
    }
    int rc = recovering && journal_exists(dir) ? recover(dir, err) : CLOISTER_OK;
    if (rc == CLOISTER_OK && recovering && !exclusive && flock(fd, LOCK_SH) != 0)
        rc = sys_fail(err, "objects.lock");
    if (rc != CLOISTER_OK) {
        close(fd);
        return -1;
    }
    return fd;
}

void asky_objects_unlock(int fd)
{
    if (fd >= 0)
        close(fd); /* releases the flock */
}

int asky_objects_recover(const char *dir, struct cloister_err *err)
{
    if (!journal_exists(dir))
        return CLOISTER_OK;
    int fd = asky_objects_lock(dir, true, err);
    asky_objects_unlock(fd);
    return fd < 0 ? CLOISTER_E_SYSTEM : CLOISTER_OK;
}

/* Copies len bytes of f into the new file path, fsync'd. */
static int write_new(const char *path, FILE *f, uint64_t len, struct cloister_err *err)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return sys_fail(err, "writing a new object");
    uint8_t buf[65536];
    int rc = CLOISTER_OK;
    while (rc == CLOISTER_OK && len > 0) {
        size_t want = len < sizeof buf ? (size_t)len : sizeof buf;
        if (fread(buf, 1, want, f) != want)
            rc = cloister_errf(err, CLOISTER_E_SYSTEM, "reading a new object: short");
        else if (file_write_full(fd, buf, want) != 0)
            rc = sys_fail(err, "writing a new object");
        len -= want;
    }
    if (rc == CLOISTER_OK && fsync(fd) != 0)
        rc = sys_fail(err, "writing a new object");
    close(fd);
    return rc;
}

int asky_dir_commit(const char *dir, const struct asky_object_update *u, size_t n,
                    struct cloister_err *err)
{
    char path[PATH_MAX], journal[PATH_MAX];
    char *list = NULL;
    size_t list_len = 0;
    FILE *names = open_memstream(&list, &list_len);
    int rc = names ? path_of(journal, dir, ".journal", "", err)
                   : cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
    for (size_t i = 0; rc == CLOISTER_OK && i < n; i++) {
        if ((rc = asky_object_path(dir, u[i].name, path, sizeof path, err)) == CLOISTER_OK &&
            (rc = path_of(path, dir, ".new.", u[i].name, err)) == CLOISTER_OK &&
            (rc = write_new(path, u[i].body, u[i].len, err)) == CLOISTER_OK)
            fprintf(names, "%s\n", u[i].name);
        if (rc != CLOISTER_OK)
            cloister_err_wrap(err, "object '%s'", u[i].name);
    }
    if (names)
        fclose(names);
    if (rc == CLOISTER_OK && (rc = dir_sync(dir, err)) == CLOISTER_OK &&
        file_write_atomic(journal, list, list_len, 0600) != 0) /* the commit point */
        rc = sys_fail(err, "writing the commit journal");
    free(list);
    if (rc == CLOISTER_OK)
        return recover(dir, err);
    struct cloister_err ignored;
    recover(dir, &ignored); /* no journal: removes the .new files written */
    return rc;
}
