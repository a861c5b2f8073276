/* crypto.c -- the base of the crypto layer: OS randomness, constant-time compare, wiping, and
 * the algorithms fetched once from OpenSSL for every other file of src/crypto/.
 *
 * Randomness comes straight from getrandom(2), never from a user-space generator, so a forked
 * child can never repeat its parent's stream. The fetch happens under pthread_once: the first
 * caller pays for it, every later call is a load. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <openssl/crypto.h>

#include "crypto/internal.h"

static struct crypto_algs algs;
static pthread_once_t algs_once = PTHREAD_ONCE_INIT;

static void fetch_algs(void)
{
    algs.sha256 = EVP_MD_fetch(NULL, "SHA2-256", NULL);
    algs.sha512 = EVP_MD_fetch(NULL, "SHA2-512", NULL);
    algs.aes128_gcm = EVP_CIPHER_fetch(NULL, "AES-128-GCM", NULL);
    algs.aes256_gcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
    algs.chacha20_poly1305 = EVP_CIPHER_fetch(NULL, "ChaCha20-Poly1305", NULL);
}

const struct crypto_algs *crypto_algs(void)
{
    if (pthread_once(&algs_once, fetch_algs) != 0)
        crypto_fatal();
    return &algs;
}

_Noreturn void crypto_fatal(void)
{
    abort();
}

/* getrandom fills a stack buffer that is then copied out: the caller's buffer may live on an
 * EPC-paged enclave heap, whose non-resident pages a system call cannot fault in (EFAULT). */
int crypto_random(void *buf, size_t len)
{
    uint8_t chunk[256];
    uint8_t *p = buf;
    while (len > 0) {
        size_t want = len < sizeof chunk ? len : sizeof chunk;
        ssize_t n = getrandom(chunk, want, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            crypto_wipe(chunk, sizeof chunk);
            return -1;
        }
        memcpy(p, chunk, (size_t)n);
        p += n;
        len -= (size_t)n;
    }
    crypto_wipe(chunk, sizeof chunk);
    return 0;
}

bool crypto_memeq(const void *a, const void *b, size_t len)
{
    return CRYPTO_memcmp(a, b, len) == 0;
}

/* explicit_bzero is memset behind a compiler barrier: as sure as OPENSSL_cleanse and several
 * times faster on the small buffers wiped on every enclave crossing. */
void crypto_wipe(void *p, size_t len)
{
    if (p && len)
        explicit_bzero(p, len);
}
