/* fileio.c -- see fileio.h. */
#include "util/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int file_write_full(int fd, const uint8_t *p, size_t len)
{
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Reads fd to its end into a buffer that never grows past max + 1 bytes: one byte beyond the
 * limit proves the input too large, and a pipe or /dev/zero has no size to check up front. */
static int read_fd(int fd, size_t max, uint8_t **data, size_t *len)
{
    size_t cap = max < 4096 ? max + 1 : 4096, used = 0;
    uint8_t *buf = malloc(cap + 1);
    int err = buf ? 0 : ENOMEM;
    while (!err) {
        if (used == cap) {
            if (used > max) {
                err = EFBIG;
                break;
            }
            size_t next = cap > max / 2 ? max + 1 : cap * 2;
            uint8_t *grown = realloc(buf, next + 1);
            if (!grown) {
                err = ENOMEM;
                break;
            }
            buf = grown;
            cap = next;
        }
        ssize_t n = read(fd, buf + used, cap - used);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            err = errno;
        else if (n == 0)
            break;
        else
            used += (size_t)n;
    }
    if (!err && used > max)
        err = EFBIG;
    if (err) {
        free(buf);
        errno = err;
        return -1;
    }
    buf[used] = 0;
    *data = buf;
    *len = used;
    return 0;
}

/* A secret file must be private to its owner: a regular file its group or others may access
 * fails with EPERM. */
static int check_private(int fd)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return -1;
    if (S_ISREG(st.st_mode) && (st.st_mode & 077)) {
        errno = EPERM;
        return -1;
    }
    return 0;
}

static int read_path(const char *path, size_t max, bool secret, uint8_t **data, size_t *len)
{
    int fd = strcmp(path, "-") == 0 ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = secret ? check_private(fd) : 0;
    if (rc == 0)
        rc = read_fd(fd, max, data, len);
    int saved = errno;
    if (fd != STDIN_FILENO)
        close(fd);
    errno = saved;
    return rc;
}

int file_read_all(const char *path, size_t max, uint8_t **data, size_t *len)
{
    return read_path(path, max, false, data, len);
}

int file_read_secret(const char *path, size_t max, uint8_t **data, size_t *len)
{
    return read_path(path, max, true, data, len);
}

const char *file_strerror(int err, const char *path, char *buf, size_t cap)
{
    if (err != EPERM)
        return strerror(err);
    snprintf(buf, cap, "group or others may access this secret file (run `chmod 600 %s`)", path);
    return buf;
}

static int fsync_parent(const char *path)
{
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == path)
        snprintf(dir, sizeof dir, "/");
    else
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

int file_atomic_begin(struct file_atomic *a, const char *path, mode_t mode)
{
    if (snprintf(a->tmp, sizeof a->tmp, "%s.tmp.XXXXXX", path) >= (int)sizeof a->tmp ||
        snprintf(a->path, sizeof a->path, "%s", path) >= (int)sizeof a->path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    a->fd = mkostemp(a->tmp, O_CLOEXEC);
    if (a->fd < 0)
        return -1;
    if (fchmod(a->fd, mode) != 0) {
        file_atomic_abort(a);
        return -1;
    }
    return 0;
}

int file_atomic_commit(struct file_atomic *a)
{
    int err = 0;
    if (fsync(a->fd))
        err = errno ? errno : EIO;
    if (close(a->fd) && !err)
        err = errno;
    a->fd = -1;
    if (!err && rename(a->tmp, a->path))
        err = errno;
    if (err) {
        unlink(a->tmp);
        errno = err;
        return -1;
    }
    return fsync_parent(a->path);
}

void file_atomic_abort(struct file_atomic *a)
{
    int saved = errno;
    if (a->fd >= 0)
        close(a->fd);
    a->fd = -1;
    unlink(a->tmp);
    errno = saved;
}

int file_write_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
    if (strcmp(path, "-") == 0)
        return file_write_full(STDOUT_FILENO, data, len);
    struct file_atomic a;
    if (file_atomic_begin(&a, path, mode) != 0)
        return -1;
    if (file_write_full(a.fd, data, len) != 0) {
        file_atomic_abort(&a);
        return -1;
    }
    return file_atomic_commit(&a);
}

int file_mkdirs(const char *dir, mode_t mode)
{
    char buf[PATH_MAX];
    if (snprintf(buf, sizeof buf, "%s", dir) >= (int)sizeof buf) {
        errno = ENAMETOOLONG;
        return -1;
    }
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdir(buf, mode) && errno != EEXIST)
            return -1;
        *p = '/';
    }
    if (mkdir(buf, mode) && errno != EEXIST)
        return -1;
    struct stat st;
    if (stat(buf, &st) || !S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        return -1;
    }
    return 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}

int file_remove_tree(const char *dir)
{
    struct stat st;
    if (lstat(dir, &st) != 0)
        return errno == ENOENT ? 0 : -1;
    /* Depth first, so a directory is empty when its turn comes; FTW_PHYS: links are entries. */
    return nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS) == 0 ? 0 : -1;
}
