/* fileio.h -- whole-file reads, atomic writes and directory trees: the only way cloister touches
 * its files.
 *
 * Persisted state must survive a crash at any instant, so every write goes to a temporary file
 * in the same directory, is fsync'd, renamed over the target, and the directory is fsync'd:
 * readers see the old file or the new one, never a torn one. The path "-" means stdin/stdout. */
#ifndef CLOISTER_UTIL_FILEIO_H
#define CLOISTER_UTIL_FILEIO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Reads the whole file into a malloc'd buffer (NUL-terminated one byte past *len, for text).
 * Fails with EFBIG past max bytes, never holding more than max + 1 of them. Returns 0, or -1 with errno set. */
int file_read_all(const char *path, size_t max, uint8_t **data, size_t *len);

/* file_read_all for a secret (a key, a token): a regular file that its group or others may
 * access is refused with EPERM, as ssh does, since its secret can no longer be assumed kept. */
int file_read_secret(const char *path, size_t max, uint8_t **data, size_t *len);

/* What to say about errno err from reading path: strerror(err), but for EPERM from
 * file_read_secret the fix to run, naming path. buf (of cap bytes) holds it when needed. */
const char *file_strerror(int err, const char *path, char *buf, size_t cap);

/* Replaces path atomically with data, created with the given mode. Returns 0 or -1 + errno. */
int file_write_atomic(const char *path, const void *data, size_t len, mode_t mode);

/* The same for a file written as a stream: begin makes the temporary file (a.fd, to write
 * to), commit fsyncs, closes and renames it over path, abort removes it. */
struct file_atomic {
    int fd;
    char tmp[4096], path[4096];
};
int file_atomic_begin(struct file_atomic *a, const char *path, mode_t mode);
int file_atomic_commit(struct file_atomic *a);
void file_atomic_abort(struct file_atomic *a);

/* Writes all of p to fd, retrying short writes and EINTR. Returns 0 or -1 + errno. */
int file_write_full(int fd, const uint8_t *p, size_t len);

/* Creates dir (and missing parents) with the given mode; an existing directory is fine. */
int file_mkdirs(const char *dir, mode_t mode);

/* Removes dir and everything under it, as `rm -rf` would but without a shell: symbolic links
 * are removed, never followed. A missing dir is fine. Returns 0, or -1 + errno at the first
 * entry that cannot be removed. */
int file_remove_tree(const char *dir);

#endif
