/* bech32.h -- Bech32 (BIP-173), and keys as text with it, as age writes its X25519 recipients.
 *
 * A Bech32 string is a human-readable part (HRP), the separator '1' (the last one), then 5-bit
 * groups in the alphabet "qpzry9x8gf2tvdw0s3jn54khce6mua7l" ending with a 6-character checksum
 * (a BCH code: any error in up to 4 characters is detected, and almost any other). All lower or
 * all upper case. Keys users copy around are written this way:
 *
 *     cloister-hpke1q8w...   an HPKE (X25519) public key: its 32 bytes
 *
 * The checksum catches a character lost or changed in copying; the HRP says what kind of key it
 * is, so a key of the wrong kind is named as such instead of failing later. BIP-173's 90-character
 * limit is for addresses; keys may be longer (age lifts it too), up to BECH32_KEY_TEXT_MAX. */
#ifndef CLOISTER_UTIL_BECH32_H
#define CLOISTER_UTIL_BECH32_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The HRPs of cloister's keys; all start with BECH32_KEY_FAMILY. */
#define BECH32_KEY_FAMILY "cloister-"
#define BECH32_HRP_HPKE_PUBLIC "cloister-hpke"
#define BECH32_HRP_IBBE_USER "cloister-ibbe-user"
#define BECH32_HRP_ASKY_USER "cloister-asky-user"

#define BECH32_HRP_MAX 83
/* The longest key text accepted (a user key sealed to its owner is a few hundred bytes). */
#define BECH32_KEY_TEXT_MAX 4096

/* Encodes n 5-bit values (each < 32) under hrp (lowercase, 1..83 characters of 33..126) into out
 * with a NUL. Returns the length written, or -1 when out (cap bytes) is too small or hrp is not
 * valid. */
long bech32_encode(char *out, size_t cap, const char *hrp, const uint8_t *data5, size_t n);

/* Decodes in[0..len) (at most max_len characters: 90 for BIP-173) into its lowercased HRP (hrp,
 * hrp_cap bytes with the NUL) and its 5-bit values without the checksum (data5, at most cap;
 * *n = the count). Returns 0, or -1 with *why saying what is wrong ("bad checksum", ...). */
int bech32_decode(char *hrp, size_t hrp_cap, uint8_t *data5, size_t cap, size_t *n, const char *in,
                  size_t len, size_t max_len, const char **why);

/* Regroups bits: inbits-wide values to outbits-wide ones (8 -> 5 to encode bytes, 5 -> 8 to
 * decode them). pad: complete the last group with zero bits (encoding); without it, leftover bits
 * must be fewer than inbits and zero (decoding). Returns the output count, or -1. */
long bech32_regroup(uint8_t *out, size_t cap, int outbits, const uint8_t *in, size_t n, int inbits,
                    bool pad);

/* A key as one line of text: hrp "1" data checksum "\n", NUL-terminated, in out (cap bytes).
 * Returns the length (without the NUL), or -1 when it does not fit. */
long bech32_key_encode(char *out, size_t cap, const char *hrp, const uint8_t *key, size_t len);

/* True when buf (a file's content) is text starting with BECH32_KEY_FAMILY (any case, after
 * blanks): the caller then decodes it with bech32_key_decode, which names a key of another kind
 * as such, else reads the binary form. */
bool bech32_key_is_text(const uint8_t *buf, size_t len);

/* Decodes a key written by bech32_key_encode; blanks around it (a trailing newline, spaces of a
 * copy and paste) are ignored. out: at most cap bytes, *outlen = the count. Returns 0, or -1 with
 * *why naming the mistake ("not a cloister-hpke key", "bad checksum: a character was changed or
 * lost in copying", ...). */
int bech32_key_decode(const char *hrp, const uint8_t *buf, size_t len, uint8_t *out, size_t cap,
                      size_t *outlen, const char **why);

#endif
