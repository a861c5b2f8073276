/* selftest.c -- known-answer tests of every primitive, from the standards that define them.
 *
 * Each check recomputes a published value and compares it; the AEAD and signature checks also
 * verify that a flipped bit is refused. The whole run takes a few milliseconds, so callers can
 * afford it at start-up (the CLI's `selftest` verb and the demo run it). */
#include <string.h>

#include "crypto/internal.h"
#include "util/hex.h"

#define KAT_MAX 160

struct kat_buf {
    uint8_t b[KAT_MAX];
    size_t len;
};

static struct kat_buf unhex(const char *hex)
{
    struct kat_buf k = {{0}, 0};
    long n = hex_decode(k.b, sizeof k.b, hex, strlen(hex));
    k.len = n < 0 ? 0 : (size_t)n;
    return k;
}

static bool same(const uint8_t *got, size_t len, const char *hex)
{
    struct kat_buf want = unhex(hex);
    return want.len == len && memcmp(got, want.b, len) == 0;
}

static int kat_sha(void)
{
    uint8_t d256[CRYPTO_SHA256_LEN], d512[CRYPTO_SHA512_LEN], inc[CRYPTO_SHA512_LEN];
    crypto_sha256(d256, "abc", 3);
    crypto_sha512(d512, "abc", 3);
    crypto_hash *h = crypto_hash_new(CRYPTO_HASH_SHA512);
    if (!h)
        return -1;
    crypto_hash_update(h, "a", 1);
    crypto_hash_update(h, "bc", 2);
    crypto_hash_final(h, inc);
    return same(d256, sizeof d256,
                "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") &&
                   same(d512, sizeof d512,
                        "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
                        "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f") &&
                   memcmp(inc, d512, sizeof d512) == 0
               ? 0
               : -1;
}

/* RFC 4231 test cases 1 and 2. */
static int kat_hmac(void)
{
    uint8_t key[20], mac1[CRYPTO_SHA256_LEN], mac2[CRYPTO_SHA256_LEN];
    memset(key, 0x0b, sizeof key);
    crypto_hmac_sha256(mac1, key, sizeof key, "Hi There", 8);
    crypto_hmac_sha256(mac2, "Jefe", 4, "what do ya want for nothing?", 28);
    return same(mac1, sizeof mac1,
                "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7") &&
                   same(mac2, sizeof mac2,
                        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
               ? 0
               : -1;
}

/* RFC 5869 test case 1. */
static int kat_hkdf(void)
{
    uint8_t ikm[22], prk[CRYPTO_SHA256_LEN], okm[42];
    struct kat_buf salt = unhex("000102030405060708090a0b0c"), info = unhex("f0f1f2f3f4f5f6f7f8f9");
    memset(ikm, 0x0b, sizeof ikm);
    crypto_hkdf_extract(prk, salt.b, salt.len, ikm, sizeof ikm);
    if (crypto_hkdf_expand(okm, sizeof okm, prk, info.b, info.len) != 0)
        return -1;
    return same(prk, sizeof prk,
                "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5") &&
                   same(okm, sizeof okm,
                        "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
                        "34007208d5b887185865")
               ? 0
               : -1;
}

/* Seals pt and compares with ct||tag, opens it back, and checks that a flipped tag bit fails. */
static int aead_kat(enum crypto_aead_alg alg, const char *key_hex, const char *nonce_hex,
                    const char *aad_hex, const uint8_t *pt, size_t ptlen, const char *ct_hex)
{
    struct kat_buf key = unhex(key_hex), nonce = unhex(nonce_hex), aad = unhex(aad_hex);
    uint8_t ct[KAT_MAX + CRYPTO_AEAD_TAG_LEN], back[KAT_MAX + CRYPTO_AEAD_TAG_LEN];
    if (ptlen > KAT_MAX ||
        crypto_aead_seal(alg, key.b, nonce.b, aad.b, aad.len, pt, ptlen, ct) != 0 ||
        !same(ct, ptlen + CRYPTO_AEAD_TAG_LEN, ct_hex) ||
        crypto_aead_open(alg, key.b, nonce.b, aad.b, aad.len, ct, ptlen + CRYPTO_AEAD_TAG_LEN,
                         back) != 0 ||
        memcmp(back, pt, ptlen) != 0)
        return -1;
    ct[ptlen] ^= 1;
    return crypto_aead_open(alg, key.b, nonce.b, aad.b, aad.len, ct, ptlen + CRYPTO_AEAD_TAG_LEN,
                            back) == 0
               ? -1
               : 0;
}

/* The GCM specification's test cases 4 (AES-128) and 16 (AES-256), which have AAD. */
static int kat_gcm(void)
{
    static const char pt_hex[] = "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
                                 "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39";
    static const char aad[] = "feedfacedeadbeeffeedfacedeadbeefabaddad2";
    static const char iv[] = "cafebabefacedbaddecaf888";
    struct kat_buf pt = unhex(pt_hex);
    if (aead_kat(CRYPTO_AES128_GCM, "feffe9928665731c6d6a8f9467308308", iv, aad, pt.b, pt.len,
                 "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
                 "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091"
                 "5bc94fbc3221a5db94fae95ae7121a47") != 0)
        return -1;
    return aead_kat(CRYPTO_AES256_GCM,
                    "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308", iv, aad,
                    pt.b, pt.len,
                    "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
                    "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662"
                    "76fc6ece0f4e1768cddf8853bb2d551b");
}

/* RFC 8439 section 2.8.2. */
static int kat_chacha20_poly1305(void)
{
    static const char pt[] = "Ladies and Gentlemen of the class of '99: If I could offer you "
                             "only one tip for the future, sunscreen would be it.";
    return aead_kat(CRYPTO_CHACHA20_POLY1305,
                    "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f",
                    "070000004041424344454647", "50515253c0c1c2c3c4c5c6c7", (const uint8_t *)pt,
                    sizeof pt - 1,
                    "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6"
                    "3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36"
                    "92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc"
                    "3ff4def08e4b7a9de576d26586cec64b6116"
                    "1ae10b594f09e26a7e902ecbd0600691");
}

/* X25519(sk, pk) is want; with pk NULL, the public key of sk is want. */
static bool x25519_gives(const char *sk_hex, const char *pk_hex, const char *want_hex)
{
    struct kat_buf sk = unhex(sk_hex), pk = unhex(pk_hex ? pk_hex : "");
    uint8_t out[CRYPTO_X25519_LEN];
    int rc = pk_hex ? crypto_x25519(out, sk.b, pk.b) : crypto_x25519_public(out, sk.b);
    bool ok = rc == 0 && same(out, sizeof out, want_hex);
    crypto_wipe(out, sizeof out);
    return ok;
}

/* RFC 7748 section 5.2 (first vector) and section 6.1 (Alice and Bob). */
static int kat_x25519(void)
{
    static const char alice[] = "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a";
    static const char apub[] = "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a";
    static const char bob[] = "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb";
    static const char bpub[] = "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f";
    static const char shared[] = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742";
    return x25519_gives("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
                        "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
                        "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552") &&
                   x25519_gives(alice, NULL, apub) && x25519_gives(bob, NULL, bpub) &&
                   x25519_gives(alice, bpub, shared) && x25519_gives(bob, apub, shared)
               ? 0
               : -1;
}

/* RFC 8032 section 7.1, tests 1 (empty message) and 2 (one byte). */
static int ed25519_kat(const char *seed_hex, const char *pk_hex, const char *msg_hex,
                       const char *sig_hex)
{
    struct kat_buf seed = unhex(seed_hex), msg = unhex(msg_hex);
    uint8_t pk[CRYPTO_ED25519_PUBLIC_LEN], sig[CRYPTO_ED25519_SIG_LEN];
    if (crypto_ed25519_public(pk, seed.b) != 0 || !same(pk, sizeof pk, pk_hex) ||
        crypto_ed25519_sign(sig, msg.b, msg.len, seed.b) != 0 || !same(sig, sizeof sig, sig_hex) ||
        crypto_ed25519_verify(sig, msg.b, msg.len, pk) != 0)
        return -1;
    sig[0] ^= 1;
    return crypto_ed25519_verify(sig, msg.b, msg.len, pk) == 0 ? -1 : 0;
}

static int kat_ed25519(void)
{
    if (ed25519_kat("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
                    "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
                    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
                    "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b") != 0)
        return -1;
    return ed25519_kat("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
                       "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
                       "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
                       "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00");
}

static int kat_random(void)
{
    uint8_t a[32], b[32];
    return crypto_random(a, sizeof a) == 0 && crypto_random(b, sizeof b) == 0 &&
                   !crypto_memeq(a, b, sizeof a)
               ? 0
               : -1;
}

int crypto_selftest(const char **what)
{
    static const struct {
        const char *name;
        int (*run)(void);
    } kats[] = {
        {"SHA-256/SHA-512", kat_sha},
        {"HMAC-SHA256 (RFC 4231)", kat_hmac},
        {"HKDF-SHA256 (RFC 5869)", kat_hkdf},
        {"AES-GCM", kat_gcm},
        {"ChaCha20-Poly1305 (RFC 8439)", kat_chacha20_poly1305},
        {"X25519 (RFC 7748)", kat_x25519},
        {"Ed25519 (RFC 8032)", kat_ed25519},
        {"random", kat_random},
    };
    for (size_t i = 0; i < sizeof kats / sizeof kats[0]; i++) {
        if (kats[i].run() != 0) {
            if (what)
                *what = kats[i].name;
            return -1;
        }
    }
    if (what)
        *what = NULL;
    return 0;
}
