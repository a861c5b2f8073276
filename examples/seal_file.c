/* seal_file.c -- the smallest program against an installed libcloister: encrypt a message with
 * AES-256-GCM under a fresh random key, frame it with the wire codec, decode and open it again.
 *
 *     cc seal_file.c $(pkg-config --cflags --libs cloister) -o seal_file && ./seal_file
 */
#include <cloister/crypto.h>
#include <cloister/wire.h>

#include <stdio.h>
#include <string.h>

int main(void)
{
    const char msg[] = "hello from cloister";
    uint8_t key[32], nonce[CRYPTO_AEAD_NONCE_LEN], ct[sizeof msg + CRYPTO_AEAD_TAG_LEN];
    if (crypto_random(key, sizeof key) || crypto_random(nonce, sizeof nonce) ||
        crypto_aead_seal(CRYPTO_AES256_GCM, key, nonce, "demo", 4, msg, sizeof msg, ct))
        return 1;

    struct wire_writer w;
    wire_writer_init(&w);
    wire_put_header(&w, "EXMP", 1);
    wire_put_bytes(&w, nonce, sizeof nonce);
    wire_put_bytes(&w, ct, sizeof ct);

    struct wire_reader r;
    uint8_t nonce2[CRYPTO_AEAD_NONCE_LEN], pt[sizeof msg];
    size_t ctlen;
    wire_reader_init(&r, w.buf, w.len);
    wire_get_header(&r, "EXMP", 1);
    wire_get_bytes_exact(&r, nonce2, sizeof nonce2);
    const uint8_t *ct2 = wire_get_bytes(&r, sizeof ct, &ctlen);
    int ok = wire_reader_finish(&r) == 0 && ctlen == sizeof ct &&
             crypto_aead_open(CRYPTO_AES256_GCM, key, nonce2, "demo", 4, ct2, ctlen, pt) == 0 &&
             memcmp(pt, msg, sizeof msg) == 0;
    crypto_wipe(key, sizeof key);
    wire_writer_free(&w);
    printf("%s\n", ok ? (const char *)pt : "round trip failed");
    return ok ? 0 : 1;
}
