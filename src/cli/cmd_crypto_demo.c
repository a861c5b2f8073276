/* cmd_crypto_demo.c -- the crypto step of `cloister demo`: the known-answer self-test, then one
 * HPKE (RFC 9180) round trip in auth mode between two fresh key pairs, and the refusal of a
 * ciphertext with one bit flipped. Keys and ciphertexts are shown by their first 8 bytes. */
#include <cloister/crypto.h>
#include <cloister/hpke.h>

#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "util/hex.h"

static void print_hex_prefix(const char *label, const uint8_t *p, size_t len)
{
    char hex[17];
    hex_encode(hex, p, len < 8 ? len : 8);
    printf("  %-28s %s%s (%zu bytes)\n", label, hex, len > 8 ? "..." : "", len);
}

int cli_crypto_demo(void)
{
    cli_demo_heading("crypto: self-test and HPKE (RFC 9180)");
    const char *what;
    if (crypto_selftest(&what) != 0) {
        printf("  self-test FAILED at %s\n", what);
        return -1;
    }
    printf("  self-test: SHA-2, HMAC, HKDF, AES-GCM, ChaCha20-Poly1305, X25519, Ed25519 ok\n");

    static const char msg[] = "attestation report for enclave 7";
    uint8_t pk_r[32], sk_r[32], pk_s[32], sk_s[32], enc[32], ct[sizeof msg - 1 + HPKE_TAG_LEN],
        back[sizeof msg - 1];
    struct hpke_auth sender = {.sender_secret = sk_s}, recipient = {.sender_public = pk_s};
    int rc = -1;
    if (hpke_keypair(pk_r, sk_r) != 0 || hpke_keypair(pk_s, sk_s) != 0 ||
        hpke_seal(enc, ct, HPKE_AEAD_AES256GCM, pk_r, "demo", 4, "hdr", 3, msg, sizeof msg - 1,
                  &sender) != 0)
        goto out;
    printf("  suite: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM, auth mode\n");
    print_hex_prefix("recipient public key", pk_r, sizeof pk_r);
    print_hex_prefix("encapsulated key (enc)", enc, sizeof enc);
    print_hex_prefix("ciphertext", ct, sizeof ct);
    if (hpke_open(back, HPKE_AEAD_AES256GCM, enc, sk_r, "demo", 4, "hdr", 3, ct, sizeof ct,
                  &recipient) != 0 ||
        memcmp(back, msg, sizeof back) != 0)
        goto out;
    printf("  opened by the recipient, sender authenticated: \"%.*s\"\n", (int)sizeof back, back);
    ct[3] ^= 1;
    if (hpke_open(back, HPKE_AEAD_AES256GCM, enc, sk_r, "demo", 4, "hdr", 3, ct, sizeof ct,
                  &recipient) == 0)
        goto out;
    printf("  one flipped ciphertext bit: refused\n");
    rc = 0;
out:
    crypto_wipe(sk_r, sizeof sk_r);
    crypto_wipe(sk_s, sizeof sk_s);
    if (rc != 0)
        printf("  HPKE round trip FAILED\n");
    return rc;
}
