/* bech32.c -- see bech32.h. Written from BIP-173's specification: the checksum is the remainder
 * of a degree-6 polynomial over GF(32) (polymod) of the expanded HRP, the data and the checksum,
 * which must equal 1. The decoder reads only within len and writes only within the caps given,
 * so any input is safe to hand it (fuzz/util/fuzz_bech32.c). A key may be a secret: the
 * intermediate 5-bit copies are wiped (explicit_bzero: util sits below the crypto layer). */
#include "util/bech32.h"

#include <string.h>

static const char charset[] = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";

static uint32_t polymod_step(uint32_t chk, uint8_t v)
{
    static const uint32_t gen[5] = {0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3};
    uint32_t top = chk >> 25;
    chk = ((chk & 0x1ffffff) << 5) ^ v;
    for (int i = 0; i < 5; i++)
        if ((top >> i) & 1)
            chk ^= gen[i];
    return chk;
}

/* polymod over the expanded HRP (high bits, 0, low bits), the one that starts every checksum. */
static uint32_t polymod_hrp(const char *hrp, size_t hlen)
{
    uint32_t chk = 1;
    for (size_t i = 0; i < hlen; i++)
        chk = polymod_step(chk, (uint8_t)((unsigned char)hrp[i] >> 5));
    chk = polymod_step(chk, 0);
    for (size_t i = 0; i < hlen; i++)
        chk = polymod_step(chk, (uint8_t)(hrp[i] & 31));
    return chk;
}

static int charset_index(char c)
{
    const char *p = c ? strchr(charset, c) : NULL;
    return p ? (int)(p - charset) : -1;
}

long bech32_encode(char *out, size_t cap, const char *hrp, const uint8_t *data5, size_t n)
{
    size_t hlen = strlen(hrp);
    if (hlen < 1 || hlen > BECH32_HRP_MAX || hlen + 1 + n + 6 + 1 > cap)
        return -1;
    for (size_t i = 0; i < hlen; i++)
        if (hrp[i] < 33 || hrp[i] > 126 || (hrp[i] >= 'A' && hrp[i] <= 'Z'))
            return -1;
    uint32_t chk = polymod_hrp(hrp, hlen);
    memcpy(out, hrp, hlen);
    size_t k = hlen;
    out[k++] = '1';
    for (size_t i = 0; i < n; i++) {
        if (data5[i] >> 5)
            return -1;
        chk = polymod_step(chk, data5[i]);
        out[k++] = charset[data5[i]];
    }
    for (int i = 0; i < 6; i++)
        chk = polymod_step(chk, 0);
    chk ^= 1;
    for (int i = 0; i < 6; i++)
        out[k++] = charset[(chk >> (5 * (5 - i))) & 31];
    out[k] = '\0';
    return (long)k;
}

int bech32_decode(char *hrp, size_t hrp_cap, uint8_t *data5, size_t cap, size_t *n, const char *in,
                  size_t len, size_t max_len, const char **why)
{
    bool lower = false, upper = false;
    size_t sep = len;
    *why = NULL;
    if (len > max_len)
        *why = "too long";
    for (size_t i = 0; i < len && !*why; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c < 33 || c > 126)
            *why = "a character outside printable ASCII";
        lower |= c >= 'a' && c <= 'z';
        upper |= c >= 'A' && c <= 'Z';
        if (c == '1')
            sep = i;
    }
    if (!*why && lower && upper)
        *why = "mixed upper and lower case";
    else if (!*why && sep == len)
        *why = "no separator '1'";
    else if (!*why && sep == 0)
        *why = "no human-readable part before the '1'";
    else if (!*why && (sep > BECH32_HRP_MAX || sep + 1 > hrp_cap))
        *why = "human-readable part too long";
    else if (!*why && len - sep - 1 < 6)
        *why = "checksum too short";
    else if (!*why && len - sep - 1 - 6 > cap)
        *why = "too long";
    if (*why)
        return -1;
    for (size_t i = 0; i < sep; i++)
        hrp[i] = (char)(in[i] >= 'A' && in[i] <= 'Z' ? in[i] - 'A' + 'a' : in[i]);
    hrp[sep] = '\0';
    uint32_t chk = polymod_hrp(hrp, sep);
    size_t count = 0;
    for (size_t i = sep + 1; i < len; i++) {
        char c = (char)(in[i] >= 'A' && in[i] <= 'Z' ? in[i] - 'A' + 'a' : in[i]);
        int v = charset_index(c);
        if (v < 0) {
            *why = "a character that Bech32 does not use (b, i, o or 1 after the separator)";
            return -1;
        }
        chk = polymod_step(chk, (uint8_t)v);
        if (i + 6 < len)
            data5[count++] = (uint8_t)v;
    }
    if (chk != 1) {
        *why = "bad checksum: a character was changed or lost in copying";
        return -1;
    }
    *n = count;
    return 0;
}

long bech32_regroup(uint8_t *out, size_t cap, int outbits, const uint8_t *in, size_t n, int inbits,
                    bool pad)
{
    uint32_t acc = 0, maxv = (1u << outbits) - 1;
    int bits = 0;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (in[i] >> inbits)
            return -1;
        acc = ((acc << inbits) | in[i]) & 0xfffff;
        bits += inbits;
        while (bits >= outbits) {
            bits -= outbits;
            if (k == cap)
                return -1;
            out[k++] = (uint8_t)((acc >> bits) & maxv);
        }
    }
    if (pad && bits > 0) {
        if (k == cap)
            return -1;
        out[k++] = (uint8_t)((acc << (outbits - bits)) & maxv);
    } else if (!pad && (bits >= inbits || ((acc << (outbits - bits)) & maxv))) {
        return -1;
    }
    return (long)k;
}

long bech32_key_encode(char *out, size_t cap, const char *hrp, const uint8_t *key, size_t len)
{
    uint8_t data5[BECH32_KEY_TEXT_MAX];
    long n = bech32_regroup(data5, sizeof data5, 5, key, len, 8, true);
    long k = n < 0 ? -1 : bech32_encode(out, cap, hrp, data5, (size_t)n);
    explicit_bzero(data5, sizeof data5); /* the key may be a secret (a user key) */
    if (k < 0 || (size_t)k + 2 > cap)
        return -1;
    out[k++] = '\n';
    out[k] = '\0';
    return k;
}

static bool is_blank(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

bool bech32_key_is_text(const uint8_t *buf, size_t len)
{
    const char *family = BECH32_KEY_FAMILY;
    size_t flen = strlen(family), i = 0;
    while (i < len && is_blank(buf[i]))
        i++;
    if (len - i < flen)
        return false;
    for (size_t j = 0; j < flen; j++) {
        uint8_t c = buf[i + j];
        if ((c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c) != (uint8_t)family[j])
            return false;
    }
    return true;
}

int bech32_key_decode(const char *hrp, const uint8_t *buf, size_t len, uint8_t *out, size_t cap,
                      size_t *outlen, const char **why)
{
    while (len > 0 && is_blank(buf[len - 1]))
        len--;
    while (len > 0 && is_blank(*buf)) {
        buf++;
        len--;
    }
    char got[BECH32_HRP_MAX + 1];
    uint8_t data5[BECH32_KEY_TEXT_MAX];
    size_t n;
    long k = -1;
    if (bech32_decode(got, sizeof got, data5, sizeof data5, &n, (const char *)buf, len,
                      BECH32_KEY_TEXT_MAX, why) == 0) {
        if (strcmp(got, hrp) != 0)
            *why = "a key of another kind (its text starts with another prefix)";
        else if ((k = bech32_regroup(out, cap, 8, data5, n, 5, false)) < 0)
            *why = "not a whole number of bytes, or longer than a key of this kind";
    }
    explicit_bzero(data5, sizeof data5);
    if (k < 0)
        return -1;
    *outlen = (size_t)k;
    return 0;
}
