/* platform.c -- the simulated platform: the stand-in for the keys a CPU has fused in.
 *
 * <home>/platform/ (0700) holds `secrets` (wire "CLPS" v1: root secret, attestation key seed),
 * `ca.pem` (the local CA) and `platform.pem` (the CA's certificate for the attestation key),
 * all 0600. First use builds the three files in a private temporary directory and renames it
 * into place with RENAME_NOREPLACE: a process that loses the race to another one deletes its
 * own attempt and loads the winner's, so concurrent first use yields one platform and readers
 * never see half of one. The CA's private key only lives during creation (a manufacturer's key
 * is never on the platform). Loading refuses files that other users could read, like ssh does.
 *
 * SIMULATED: any process of this user can read these files; real hardware keeps them in fuses. */
#define CLOG_MODULE "tee"
#include "tee/platform/platform.h"

#include <cloister/crypto.h>
#include <cloister/tee_enclave.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tee/common/common.h"
#include "tee/platform/x509.h"
#include "util/fileio.h"
#include "util/log.h"

#define PEM_MAX (64 * 1024)

struct platform_secrets {
    uint8_t root[TEE_ROOT_SECRET_LEN];
    uint8_t attestation_seed[TEE_SEED_LEN];
};

struct tee_platform {
    struct platform_secrets *sec; /* tee_secret_alloc: never passed to a system call */
    uint8_t attestation_pk[TEE_PUBKEY_LEN];
    uint8_t *ca_der, *leaf_der;
    size_t ca_len, leaf_len;
    char dir[PATH_MAX];
    char ca_path[PATH_MAX];
};

static int path_in(char out[PATH_MAX], const char *dir, const char *name, struct cloister_err *err)
{
    if (snprintf(out, PATH_MAX, "%s/%s", dir, name) >= PATH_MAX)
        return cloister_errf(err, CLOISTER_E_INVALID, "platform path too long: %s/%s", dir, name);
    return 0;
}

/* Owned by us and closed to group and others. */
static int check_private(const char *path, bool want_dir, struct cloister_err *err)
{
    struct stat st;
    if (lstat(path, &st))
        return cloister_errf(err, tee_errno_code(errno), "%s: %s", path, strerror(errno));
    if (want_dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode))
        return cloister_errf(err, CLOISTER_E_INVALID, "%s: not a %s", path,
                             want_dir ? "directory" : "regular file");
    if (st.st_uid != geteuid())
        return cloister_errf(err, CLOISTER_E_DENIED, "%s: not owned by this user", path);
    if (st.st_mode & 077)
        return cloister_errf(err, CLOISTER_E_DENIED,
                             "%s: accessible by other users (mode %03o); run chmod %s %s", path,
                             (unsigned)(st.st_mode & 0777), want_dir ? "700" : "600", path);
    return 0;
}

static int encode_secrets(const struct platform_secrets *s, uint8_t *out, size_t cap, size_t *len)
{
    struct wire_writer w;
    wire_writer_init_fixed(&w, out, cap);
    wire_put_header(&w, "CLPS", 1);
    wire_put_bytes(&w, s->root, sizeof s->root);
    wire_put_bytes(&w, s->attestation_seed, sizeof s->attestation_seed);
    *len = w.len;
    return wire_writer_ok(&w) ? 0 : -1;
}

static int write_pem(const char *dir, const char *name, const uint8_t *der, size_t len,
                     struct cloister_err *err)
{
    char path[PATH_MAX], *pem;
    size_t pem_len;
    if (path_in(path, dir, name, err))
        return -1;
    if (tee_x509_der_to_pem(der, len, &pem, &pem_len))
        return cloister_errf(err, CLOISTER_E_FAILED, "%s: cannot encode the certificate", path);
    int rc = file_write_atomic(path, pem, pem_len, 0600);
    free(pem);
    return rc ? cloister_errf(err, tee_errno_code(errno), "%s: %s", path, strerror(errno)) : 0;
}

/* Fills tmpdir with a new platform. */
static int build(const char *tmpdir, struct cloister_err *err)
{
    struct platform_secrets s;
    uint8_t ca_seed[TEE_SEED_LEN], ca_pk[TEE_PUBKEY_LEN], pk[TEE_PUBKEY_LEN], rec[128];
    uint8_t *ca_der = NULL, *leaf_der = NULL;
    size_t ca_len, leaf_len, rec_len;
    char path[PATH_MAX];
    int rc = -1;
    if (crypto_random(s.root, sizeof s.root) || crypto_ed25519_keypair(pk, s.attestation_seed) ||
        crypto_ed25519_keypair(ca_pk, ca_seed)) {
        cloister_errf(err, CLOISTER_E_FAILED, "generating the platform keys failed");
        goto out;
    }
    if (tee_x509_issue(ca_seed, pk, &ca_der, &ca_len, &leaf_der, &leaf_len, err) ||
        path_in(path, tmpdir, "secrets", err))
        goto out;
    if (encode_secrets(&s, rec, sizeof rec, &rec_len) ||
        file_write_atomic(path, rec, rec_len, 0600)) {
        cloister_errf(err, tee_errno_code(errno), "%s: %s", path, strerror(errno));
        goto out;
    }
    if (write_pem(tmpdir, "ca.pem", ca_der, ca_len, err) ||
        write_pem(tmpdir, "platform.pem", leaf_der, leaf_len, err))
        goto out;
    rc = 0;
out:
    crypto_wipe(&s, sizeof s);
    crypto_wipe(ca_seed, sizeof ca_seed);
    crypto_wipe(rec, sizeof rec);
    free(ca_der);
    free(leaf_der);
    return rc;
}

/* Creates the platform unless another process does so first (then theirs is kept). */
static int create(const char *home, const char *dir, struct cloister_err *err)
{
    char tmpdir[PATH_MAX];
    if (snprintf(tmpdir, sizeof tmpdir, "%s/.platform.tmp.XXXXXX", home) >= PATH_MAX)
        return cloister_errf(err, CLOISTER_E_INVALID, "platform path too long: %s", home);
    if (!mkdtemp(tmpdir))
        return cloister_errf(err, CLOISTER_E_SYSTEM, "%s: cannot create a directory: %s", home,
                             strerror(errno));
    if (build(tmpdir, err)) {
        file_remove_tree(tmpdir);
        return -1;
    }
    if (renameat2(AT_FDCWD, tmpdir, AT_FDCWD, dir, RENAME_NOREPLACE) == 0) {
        int fd = open(home, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd >= 0) {
            fsync(fd);
            close(fd);
        }
        clog_info("created the simulated platform in %s", dir);
        return 0;
    }
    int e = errno;
    file_remove_tree(tmpdir);
    if (e == EEXIST || e == ENOTEMPTY)
        return 0; /* another process created it first */
    return cloister_errf(err, CLOISTER_E_SYSTEM, "%s: cannot install the platform: %s", dir,
                         strerror(e));
}

static int read_cert(tee_platform *p, const char *name, uint8_t **der, size_t *len,
                     struct cloister_err *err)
{
    char path[PATH_MAX];
    uint8_t *data;
    size_t n;
    if (path_in(path, p->dir, name, err) || check_private(path, false, err))
        return -1;
    if (file_read_all(path, PEM_MAX, &data, &n))
        return cloister_errf(err, tee_errno_code(errno), "%s: %s", path, strerror(errno));
    struct cloister_err why;
    X509 *x = tee_x509_parse(data, n, &why);
    free(data);
    if (!x)
        return cloister_errf(err, CLOISTER_E_INVALID, "%s: %s", path, why.msg);
    int rc = tee_x509_der(x, der, len);
    X509_free(x);
    return rc ? cloister_errf(err, CLOISTER_E_FAILED, "%s: cannot encode the certificate", path)
              : 0;
}

static int read_secrets(tee_platform *p, struct cloister_err *err)
{
    char path[PATH_MAX];
    uint8_t *data;
    size_t n;
    if (path_in(path, p->dir, "secrets", err) || check_private(path, false, err))
        return -1;
    if (file_read_all(path, 4096, &data, &n))
        return cloister_errf(err, tee_errno_code(errno), "%s: %s", path, strerror(errno));
    struct wire_reader r;
    wire_reader_init(&r, data, n);
    wire_get_header(&r, "CLPS", 1);
    wire_get_bytes_exact(&r, p->sec->root, sizeof p->sec->root);
    wire_get_bytes_exact(&r, p->sec->attestation_seed, sizeof p->sec->attestation_seed);
    int rc = tee_wire_finish(&r, path, err);
    crypto_wipe(data, n);
    free(data);
    if (!rc && crypto_ed25519_public(p->attestation_pk, p->sec->attestation_seed))
        rc = cloister_errf(err, CLOISTER_E_INVALID, "%s: bad attestation key", path);
    return rc;
}

/* The certificate must certify our attestation key under our CA. */
static int check_consistent(tee_platform *p, struct cloister_err *err)
{
    struct cloister_err why;
    X509 *ca = tee_x509_parse(p->ca_der, p->ca_len, &why);
    const uint8_t *ders[1] = {p->leaf_der};
    uint8_t pk[TEE_PUBKEY_LEN];
    time_t not_after;
    int rc = ca ? tee_x509_verify_chain(ca, ders, &p->leaf_len, 1, pk, &not_after, &why) : -1;
    X509_free(ca);
    if (rc || !crypto_memeq(pk, p->attestation_pk, sizeof pk))
        return cloister_errf(err, CLOISTER_E_DENIED, "%s: platform files are inconsistent (%s)",
                             p->dir, rc ? why.msg : "certificate is for another attestation key");
    return 0;
}

/* 1 when the platform does not exist yet. */
static int load(tee_platform *p, struct cloister_err *err)
{
    struct stat st;
    if (lstat(p->dir, &st) && errno == ENOENT)
        return 1;
    if (check_private(p->dir, true, err) || read_secrets(p, err) ||
        read_cert(p, "ca.pem", &p->ca_der, &p->ca_len, err) ||
        read_cert(p, "platform.pem", &p->leaf_der, &p->leaf_len, err) || check_consistent(p, err))
        return -1;
    return path_in(p->ca_path, p->dir, "ca.pem", err);
}

tee_platform *tee_platform_open(const char *home, struct cloister_err *err)
{
    char home_buf[PATH_MAX];
    if (!home) {
        if (tee_home_dir(home_buf, sizeof home_buf, err) != CLOISTER_OK)
            return NULL;
        home = home_buf;
    }
    if (file_mkdirs(home, 0700)) {
        cloister_errf(err, CLOISTER_E_SYSTEM, "%s: cannot create: %s", home, strerror(errno));
        return NULL;
    }
    tee_platform *p = calloc(1, sizeof *p);
    if (!p || !(p->sec = tee_secret_alloc(sizeof *p->sec))) {
        free(p);
        cloister_errf(err, CLOISTER_E_NO_MEMORY, "opening the platform: out of memory");
        return NULL;
    }
    int rc = path_in(p->dir, home, "platform", err);
    if (!rc && (rc = load(p, err)) == 1)
        rc = create(home, p->dir, err) ? -1 : load(p, err);
    if (rc == 1)
        rc = cloister_errf(err, CLOISTER_E_FAILED,
                           "%s: the platform disappeared while it was being created", p->dir);
    if (rc) {
        tee_platform_free(p);
        return NULL;
    }
    return p;
}

void tee_platform_free(tee_platform *p)
{
    if (!p)
        return;
    tee_secret_free(p->sec, sizeof *p->sec);
    free(p->ca_der);
    free(p->leaf_der);
    free(p);
}

const char *tee_platform_ca_path(const tee_platform *p)
{
    return p->ca_path;
}

void tee_platform_attestation_key(const tee_platform *p, uint8_t pk[TEE_PUBKEY_LEN])
{
    memcpy(pk, p->attestation_pk, TEE_PUBKEY_LEN);
}

const uint8_t *tee_platform_root_secret(const tee_platform *p)
{
    return p->sec->root;
}

const uint8_t *tee_platform_attestation_seed(const tee_platform *p)
{
    return p->sec->attestation_seed;
}

void tee_platform_endorsements(const tee_platform *p, const uint8_t *ders[2], size_t lens[2])
{
    ders[0] = p->leaf_der;
    lens[0] = p->leaf_len;
    ders[1] = p->ca_der;
    lens[1] = p->ca_len;
}
