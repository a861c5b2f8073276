/* seal_x86.c -- the envelope's per-member work with SHA-NI, AES-NI and PCLMULQDQ (seal.h).
 *
 * Building an envelope of 10,000 members costs 10,000 tags and 10,000 GCM seals of a 32-byte
 * key. Through OpenSSL's one-shot calls each redoes the HMAC key blocks, the AES key schedule
 * and GHASH key, and pays EVP's fetch, allocation and cleanse: most of its time. Here a
 * member's key material is expanded once, when the enclave loads the user (asky_member), and
 * an entry costs two SHA-256 compressions (two members' interleaved), three AES blocks and four GHASH multiplications,
 * with no call into a library and no allocation. Functions carry their target attributes, so
 * the rest of the build needs no -m flags; asky_seal_fast checks CPUID once. The test oracle
 * is OpenSSL: readers open envelopes with crypto_hmac_sha256 and crypto_aead_open. */
#include "asky/common/seal.h"

#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))

#include <cpuid.h>
#include <immintrin.h>
#include <stdatomic.h>

#define TARGET __attribute__((target("sse4.1,ssse3,sha,aes,pclmul")))
#define INLINE TARGET __attribute__((always_inline)) static inline

bool asky_seal_fast(void)
{
    static _Atomic int fast = -1;
    int f = atomic_load_explicit(&fast, memory_order_relaxed);
    if (f < 0) {
        unsigned a, b, c, d;
        f = __get_cpuid(1, &a, &b, &c, &d) && (c & bit_AES) && (c & bit_PCLMUL) &&
            (c & bit_SSSE3) && (c & bit_SSE4_1) && __get_cpuid_count(7, 0, &a, &b, &c, &d) &&
            (b & bit_SHA);
        atomic_store_explicit(&fast, f, memory_order_relaxed);
    }
    return f != 0;
}

/* ---- SHA-256 compression (the Intel SHA extensions' round structure) ---------------------- */

static const uint32_t sha_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

static const uint32_t sha_iv[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};

/* Two states (a..h, host order) absorb one block each, given as 16 message words (host order,
 * four a vector). Two independent messages go through the rounds together: one alone leaves
 * the SHA units waiting on each round's latency. The message is in words, not bytes: the
 * outer HMAC block is the inner digest's words, and bytes stored one by one then loaded as a
 * vector stall the store-to-load forwarding (what the profile showed). */
INLINE void sha_compress2(uint32_t *sa, const __m128i *ma, uint32_t *sb, const __m128i *mb)
{
    uint32_t *st[2] = {sa, sb};
    const __m128i *msg[2] = {ma, mb};
    __m128i s0[2], s1[2], save0[2], save1[2], w[2][4];
    for (int l = 0; l < 2; l++) {
        __m128i t = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&st[l][0]), 0xB1);
        s1[l] = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&st[l][4]), 0x1B);
        s0[l] = _mm_alignr_epi8(t, s1[l], 8);    /* abef */
        s1[l] = _mm_blend_epi16(s1[l], t, 0xF0); /* cdgh */
        save0[l] = s0[l];
        save1[l] = s1[l];
    }
    for (int i = 0; i < 16; i++) {
        const __m128i k = _mm_loadu_si128((const __m128i *)&sha_k[4 * i]);
        for (int l = 0; l < 2; l++) {
            __m128i *wl = w[l], *wi = &wl[i & 3];
            if (i < 4)
                *wi = msg[l][i];
            else /* w[i] = w[i-4] + s0(w[i-3]) + w[i-7] + s1(w[i-2]), four words at a time */
                *wi = _mm_sha256msg2_epu32(
                    _mm_add_epi32(_mm_sha256msg1_epu32(*wi, wl[(i - 3) & 3]),
                                  _mm_alignr_epi8(wl[(i - 1) & 3], wl[(i - 2) & 3], 4)),
                    wl[(i - 1) & 3]);
            __m128i m = _mm_add_epi32(*wi, k);
            s1[l] = _mm_sha256rnds2_epu32(s1[l], s0[l], m);
            s0[l] = _mm_sha256rnds2_epu32(s0[l], s1[l], _mm_shuffle_epi32(m, 0x0E));
        }
    }
    for (int l = 0; l < 2; l++) {
        __m128i a = _mm_add_epi32(s0[l], save0[l]), b = _mm_add_epi32(s1[l], save1[l]);
        __m128i t = _mm_shuffle_epi32(a, 0x1B);                              /* feba */
        b = _mm_shuffle_epi32(b, 0xB1);                                      /* dchg */
        _mm_storeu_si128((__m128i *)&st[l][0], _mm_blend_epi16(t, b, 0xF0)); /* dcba */
        _mm_storeu_si128((__m128i *)&st[l][4], _mm_alignr_epi8(b, t, 8));    /* hgfe */
    }
}

TARGET static __m128i bswap32x4(__m128i x)
{
    return _mm_shuffle_epi8(x, _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL));
}

/* The midstates after the HMAC key blocks key ⊕ 0x36 and key ⊕ 0x5c. */
TARGET static void hmac_midstates(uint32_t inner[8], uint32_t outer[8],
                                  const uint8_t key[ASKY_KEY_LEN])
{
    __m128i ipad[4], opad[4];
    for (int i = 0; i < 4; i++) {
        __m128i k = i < 2 ? bswap32x4(_mm_loadu_si128((const __m128i *)(key + 16 * i)))
                          : _mm_setzero_si128();
        ipad[i] = _mm_xor_si128(k, _mm_set1_epi8(0x36));
        opad[i] = _mm_xor_si128(k, _mm_set1_epi8(0x5c));
    }
    memcpy(inner, sha_iv, sizeof sha_iv);
    memcpy(outer, sha_iv, sizeof sha_iv);
    sha_compress2(inner, ipad, outer, opad);
    for (int i = 0; i < 4; i++)
        ipad[i] = opad[i] = _mm_setzero_si128();
}

/* The last block of an HMAC half after the 64-byte key block: words w[0..n) (host order), the
 * 0x80 pad, and the length in bits of the 64 + 4n bytes. */
TARGET static void hmac_last_block(__m128i m[4], __m128i w0, __m128i w1, int n)
{
    const int bits = 8 * (64 + 4 * n);
    if (n == 3) { /* the 12-byte nonce */
        m[0] = _mm_insert_epi32(w0, (int)0x80000000u, 3);
        m[1] = _mm_setzero_si128();
    } else { /* the 32-byte inner digest */
        m[0] = w0;
        m[1] = w1;
    }
    m[2] = n == 3 ? _mm_setzero_si128() : _mm_set_epi32(0, 0, 0, (int)0x80000000u);
    m[3] = _mm_set_epi32(bits, 0, 0, 0);
}

TARGET void asky_seal_tags(uint8_t tag_a[ASKY_TAG_LEN], const struct asky_member *a,
                           uint8_t tag_b[ASKY_TAG_LEN], const struct asky_member *b,
                           const uint8_t nonce[ASKY_NONCE_LEN])
{
    uint32_t sa[8], sb[8], n2;
    memcpy(&n2, nonce + 8, sizeof n2);
    __m128i nw = bswap32x4(_mm_insert_epi32(_mm_loadl_epi64((const __m128i *)nonce), (int)n2, 2));
    __m128i in[4], ma[4], mb[4];
    hmac_last_block(in, nw, nw, 3);
    memcpy(sa, a->tag_inner, sizeof sa);
    memcpy(sb, b->tag_inner, sizeof sb);
    sha_compress2(sa, in, sb, in);
    hmac_last_block(ma, _mm_loadu_si128((const __m128i *)sa),
                    _mm_loadu_si128((const __m128i *)(sa + 4)), 8);
    hmac_last_block(mb, _mm_loadu_si128((const __m128i *)sb),
                    _mm_loadu_si128((const __m128i *)(sb + 4)), 8);
    memcpy(sa, a->tag_outer, sizeof sa);
    memcpy(sb, b->tag_outer, sizeof sb);
    sha_compress2(sa, ma, sb, mb);
    _mm_storeu_si128((__m128i *)tag_a, bswap32x4(_mm_loadu_si128((const __m128i *)sa)));
    _mm_storeu_si128((__m128i *)tag_b, bswap32x4(_mm_loadu_si128((const __m128i *)sb)));
}

/* ---- AES-256 and GHASH ---------------------------------------------------------------------- */

INLINE __m128i aes_round_key(__m128i prev, __m128i assist)
{
    prev = _mm_xor_si128(prev, _mm_slli_si128(prev, 4));
    prev = _mm_xor_si128(prev, _mm_slli_si128(prev, 4));
    prev = _mm_xor_si128(prev, _mm_slli_si128(prev, 4));
    return _mm_xor_si128(prev, assist);
}

/* rk[2i] from rk[2i-2] and rk[2i-1] (round constant rcon), rk[2i+1] from rk[2i-1] and rk[2i]. */
#define AES_EXPAND(i, rcon)                                                                        \
    rk[2 * (i)] = aes_round_key(                                                                   \
        rk[2 * (i)-2], _mm_shuffle_epi32(_mm_aeskeygenassist_si128(rk[2 * (i)-1], rcon), 0xFF));   \
    if ((i) < 7)                                                                                   \
        rk[2 * (i) + 1] = aes_round_key(                                                           \
            rk[2 * (i)-1], _mm_shuffle_epi32(_mm_aeskeygenassist_si128(rk[2 * (i)], 0), 0xAA));

TARGET static void aes256_schedule(__m128i rk[15], const uint8_t key[ASKY_KEY_LEN])
{
    rk[0] = _mm_loadu_si128((const __m128i *)key);
    rk[1] = _mm_loadu_si128((const __m128i *)(key + 16));
    AES_EXPAND(1, 0x01)
    AES_EXPAND(2, 0x02)
    AES_EXPAND(3, 0x04)
    AES_EXPAND(4, 0x08)
    AES_EXPAND(5, 0x10)
    AES_EXPAND(6, 0x20)
    AES_EXPAND(7, 0x40)
}

INLINE __m128i bswap128(__m128i x)
{
    return _mm_shuffle_epi8(x, _mm_set_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
}

/* a·b in GF(2^128), both byte-reflected (Intel's carry-less multiplication white paper). */
INLINE __m128i gf_mul(__m128i a, __m128i b)
{
    __m128i lo = _mm_clmulepi64_si128(a, b, 0x00), hi = _mm_clmulepi64_si128(a, b, 0x11);
    __m128i mid = _mm_xor_si128(_mm_clmulepi64_si128(a, b, 0x10), _mm_clmulepi64_si128(a, b, 0x01));
    lo = _mm_xor_si128(lo, _mm_slli_si128(mid, 8));
    hi = _mm_xor_si128(hi, _mm_srli_si128(mid, 8));
    /* the 256-bit product shifted left by one bit (the operands are reflected) */
    __m128i clo = _mm_srli_epi32(lo, 31), chi = _mm_srli_epi32(hi, 31);
    lo = _mm_or_si128(_mm_slli_epi32(lo, 1), _mm_slli_si128(clo, 4));
    hi = _mm_or_si128(_mm_or_si128(_mm_slli_epi32(hi, 1), _mm_slli_si128(chi, 4)),
                      _mm_srli_si128(clo, 12));
    /* reduction modulo x^128 + x^7 + x^2 + x + 1 */
    __m128i r = _mm_xor_si128(_mm_xor_si128(_mm_slli_epi32(lo, 31), _mm_slli_epi32(lo, 30)),
                              _mm_slli_epi32(lo, 25));
    __m128i carry = _mm_srli_si128(r, 4);
    lo = _mm_xor_si128(lo, _mm_slli_si128(r, 12));
    __m128i f = _mm_xor_si128(_mm_xor_si128(_mm_srli_epi32(lo, 1), _mm_srli_epi32(lo, 2)),
                              _mm_srli_epi32(lo, 7));
    f = _mm_xor_si128(f, carry);
    return _mm_xor_si128(hi, _mm_xor_si128(lo, f));
}

TARGET void asky_seal_prepare(struct asky_member *m)
{
    hmac_midstates(m->tag_inner, m->tag_outer, m->keys.tag);
    __m128i rk[15];
    aes256_schedule(rk, m->keys.entry);
    __m128i h = rk[0];
    for (int r = 1; r < 14; r++)
        h = _mm_aesenc_si128(h, rk[r]);
    h = _mm_aesenclast_si128(h, rk[14]);
    memcpy(m->entry_rk, rk, sizeof m->entry_rk);
    _mm_storeu_si128((__m128i *)m->entry_h, bswap128(h));
    memset(rk, 0, sizeof rk);
}

TARGET void asky_seal_entry(uint8_t out[ASKY_ENTRY_LEN], const struct asky_member *m,
                            const uint8_t nonce[ASKY_NONCE_LEN], uint32_t index, const uint8_t *aad,
                            const uint8_t file_key[ASKY_KEY_LEN])
{
    const __m128i *rk = (const __m128i *)m->entry_rk;
    uint32_t n2; /* the entry's nonce: the envelope's, its last four bytes XOR be32(index) */
    memcpy(&n2, nonce + 8, sizeof n2);
    n2 ^= __builtin_bswap32(index);
    __m128i iv = _mm_insert_epi32(_mm_loadl_epi64((const __m128i *)nonce), (int)n2, 2);
    __m128i j0 = _mm_insert_epi32(iv, (int)__builtin_bswap32(1), 3); /* counter blocks */
    __m128i c1 = _mm_insert_epi32(iv, (int)__builtin_bswap32(2), 3);
    __m128i c2 = _mm_insert_epi32(iv, (int)__builtin_bswap32(3), 3);
    __m128i k0 = _mm_loadu_si128(&rk[0]);
    j0 = _mm_xor_si128(j0, k0);
    c1 = _mm_xor_si128(c1, k0);
    c2 = _mm_xor_si128(c2, k0);
    for (int r = 1; r < 14; r++) {
        __m128i k = _mm_loadu_si128(&rk[r]);
        j0 = _mm_aesenc_si128(j0, k);
        c1 = _mm_aesenc_si128(c1, k);
        c2 = _mm_aesenc_si128(c2, k);
    }
    __m128i k14 = _mm_loadu_si128(&rk[14]);
    j0 = _mm_aesenclast_si128(j0, k14);
    c1 = _mm_xor_si128(_mm_aesenclast_si128(c1, k14), _mm_loadu_si128((const __m128i *)file_key));
    c2 = _mm_xor_si128(_mm_aesenclast_si128(c2, k14),
                       _mm_loadu_si128((const __m128i *)(file_key + 16)));
    _mm_storeu_si128((__m128i *)out, c1);
    _mm_storeu_si128((__m128i *)(out + 16), c2);

    const __m128i h = _mm_loadu_si128((const __m128i *)m->entry_h);
    __m128i x = _mm_setzero_si128();
    if (aad)
        x = gf_mul(bswap128(_mm_loadu_si128((const __m128i *)aad)), h);
    x = gf_mul(_mm_xor_si128(x, bswap128(c1)), h);
    x = gf_mul(_mm_xor_si128(x, bswap128(c2)), h);
    /* the lengths block: be64(AAD bits) ‖ be64(256), byte-reflected */
    __m128i len = _mm_set_epi64x(aad ? 8 * ASKY_TAG_LEN : 0, 8 * ASKY_KEY_LEN);
    x = gf_mul(_mm_xor_si128(x, len), h);
    _mm_storeu_si128((__m128i *)(out + 32), _mm_xor_si128(j0, bswap128(x)));
}

#else /* no x86-64 intrinsics: envelope.c takes the OpenSSL path */

bool asky_seal_fast(void)
{
    return false;
}

void asky_seal_prepare(struct asky_member *m)
{
    (void)m;
}

void asky_seal_tags(uint8_t tag_a[ASKY_TAG_LEN], const struct asky_member *a,
                    uint8_t tag_b[ASKY_TAG_LEN], const struct asky_member *b,
                    const uint8_t nonce[ASKY_NONCE_LEN])
{
    (void)tag_a, (void)a, (void)tag_b, (void)b, (void)nonce;
}

void asky_seal_entry(uint8_t out[ASKY_ENTRY_LEN], const struct asky_member *m,
                     const uint8_t nonce[ASKY_NONCE_LEN], uint32_t index, const uint8_t *aad,
                     const uint8_t file_key[ASKY_KEY_LEN])
{
    (void)out, (void)m, (void)nonce, (void)index, (void)aad, (void)file_key;
}

#endif
