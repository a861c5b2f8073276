/* asky_client.h -- what an A-Sky member runs (docs/asky.md). Writing goes through the access
 * service (an envelope for the group, built only for a member); reading needs no enclave: the
 * object, the member's key and the format of asky.h. */
#ifndef CLOISTER_ASKY_CLIENT_H
#define CLOISTER_ASKY_CLIENT_H

#include <cloister/asky.h>
#include <cloister/asky_host.h>

/* Encrypts the file in for the group and stores it atomically as object name. */
CLOISTER_API int asky_put(asky_service *s, const char *group, const char *user,
                          const uint8_t key[ASKY_KEY_LEN], const char *in, const char *name,
                          enum asky_kind kind, unsigned pad, struct cloister_err *err);
/* Re-encrypts object name for the group's current members (docs/asky.md, "rekey"): user, a
 * member of the group whose key opens the object, reads it and writes it again through the
 * enclave under a fresh file key and a new envelope, atomically in place; a member removed
 * since can no longer open it, even with the old file key. The plaintext passes through an
 * unlinked temporary file (tmpfile). */
CLOISTER_API int asky_rekey(asky_service *s, const char *group, const char *user,
                            const uint8_t key[ASKY_KEY_LEN], const char *name, enum asky_kind kind,
                            unsigned pad, struct cloister_err *err);
/* The same for n objects as one atomic update: every object re-encrypted or none (a redo
 * journal in a store directory, one manifest commit on S3), serialised against other writers
 * by the store's writer lock (held exclusive from the first read to the commit), and
 * surviving kill -9 at any moment (the next open finishes or drops the commit). */
CLOISTER_API int asky_rekey_group(asky_service *s, const char *group, const char *user,
                                  const uint8_t key[ASKY_KEY_LEN], const char *const *names,
                                  size_t n, enum asky_kind kind, unsigned pad,
                                  struct cloister_err *err);
/* Decrypts object name of the store dir into the file out (written atomically: nothing is
 * left behind when the object is refused). */
CLOISTER_API int asky_get(const char *dir, const uint8_t key[ASKY_KEY_LEN], const char *name,
                          const char *out, struct cloister_err *err);

/* The same for an object read from in (fetched from an access service); name only for
 * messages. */
CLOISTER_API int asky_get_from(FILE *in, const uint8_t key[ASKY_KEY_LEN], const char *name,
                               const char *out, struct cloister_err *err);
/* The names of the store's objects, sorted; free with asky_names_free. */
CLOISTER_API int asky_list(const char *dir, char ***names, size_t *n, struct cloister_err *err);
CLOISTER_API void asky_names_free(char **names, size_t n);

#endif
