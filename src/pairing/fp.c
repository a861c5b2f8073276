/* fp.c -- the base field Fp of BLS12-381 (p of 381 bits): six 64-bit limbs in Montgomery form
 * (R = 2^384).
 *
 * Multiplication is the CIOS Montgomery product in the "no-carry" form (p's top bit is clear,
 * so the running sum needs no seventh word) with one masked final subtraction. It has two
 * implementations, chosen once at load time by CPUID: on x86-64 CPUs with BMI2 and ADX, inline
 * assembly using mulx (a product that leaves the flags alone) and adcx/adox (two independent
 * carry chains, one for the low halves of the products and one for the high halves), which is
 * what blst and gnark do; elsewhere the portable C of mont.h (unsigned __int128). The choice
 * depends on the CPU only; bls_fp_select() forces either path so tests and bench_pairing run
 * both. Nothing branches on data, so every operation here is constant-time; exponents
 * (inversion, square root) are public constants, so square-and-multiply over their bits leaks
 * nothing about the base. This routine dominates the cost of every group operation and of the
 * pairing. */
#include "pairing/field.h"

#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#define FP_HAVE_ADX 1
#include <cpuid.h>

static const uint64_t fp_n0 = BLS_P_N0;

/* One round of the CIOS product with mulx/adcx/adox: t += a bi (low halves of the products on
 * the OF chain, high halves on the CF chain, the top word in A), then t = (t + m p) / 2^64 with
 * m = t0 n0, the registers t0..t5 shifting down by one as they are consumed. */
__attribute__((target("bmi2,adx"), always_inline)) static inline void
fp_mul_adx_round(uint64_t t[6], const uint64_t a[6], uint64_t bi)
{
    uint64_t hi, A;
    __asm__("movq %[bi], %%rdx\n\t"
            "xorl %%eax, %%eax\n\t"
            "mulxq 0(%[a]), %%rax, %[hi]\n\t"
            "adoxq %%rax, %[t0]\n\t"
            "adcxq %[hi], %[t1]\n\t"
            "mulxq 8(%[a]), %%rax, %[hi]\n\t"
            "adoxq %%rax, %[t1]\n\t"
            "adcxq %[hi], %[t2]\n\t"
            "mulxq 16(%[a]), %%rax, %[hi]\n\t"
            "adoxq %%rax, %[t2]\n\t"
            "adcxq %[hi], %[t3]\n\t"
            "mulxq 24(%[a]), %%rax, %[hi]\n\t"
            "adoxq %%rax, %[t3]\n\t"
            "adcxq %[hi], %[t4]\n\t"
            "mulxq 32(%[a]), %%rax, %[hi]\n\t"
            "adoxq %%rax, %[t4]\n\t"
            "adcxq %[hi], %[t5]\n\t"
            "mulxq 40(%[a]), %%rax, %[A]\n\t"
            "adoxq %%rax, %[t5]\n\t"
            "movl $0, %%eax\n\t"
            "adcxq %%rax, %[A]\n\t"
            "adoxq %%rax, %[A]\n\t"
            "movq %[t0], %%rdx\n\t"
            "imulq %[n0], %%rdx\n\t"
            "xorl %%eax, %%eax\n\t"
            "mulxq 0(%[p]), %%rax, %[hi]\n\t"
            "adcxq %[t0], %%rax\n\t"
            "movq %[hi], %[t0]\n\t"
            "adcxq %[t1], %[t0]\n\t"
            "mulxq 8(%[p]), %%rax, %[t1]\n\t"
            "adoxq %%rax, %[t0]\n\t"
            "adcxq %[t2], %[t1]\n\t"
            "mulxq 16(%[p]), %%rax, %[t2]\n\t"
            "adoxq %%rax, %[t1]\n\t"
            "adcxq %[t3], %[t2]\n\t"
            "mulxq 24(%[p]), %%rax, %[t3]\n\t"
            "adoxq %%rax, %[t2]\n\t"
            "adcxq %[t4], %[t3]\n\t"
            "mulxq 32(%[p]), %%rax, %[t4]\n\t"
            "adoxq %%rax, %[t3]\n\t"
            "adcxq %[t5], %[t4]\n\t"
            "mulxq 40(%[p]), %%rax, %[t5]\n\t"
            "adoxq %%rax, %[t4]\n\t"
            "movl $0, %%eax\n\t"
            "adcxq %%rax, %[t5]\n\t"
            "adoxq %[A], %[t5]\n\t"
            : [t0] "+&r"(t[0]), [t1] "+&r"(t[1]), [t2] "+&r"(t[2]), [t3] "+&r"(t[3]),
              [t4] "+&r"(t[4]), [t5] "+&r"(t[5]), [hi] "=&r"(hi), [A] "=&r"(A)
            : [a] "r"(a), [bi] "rm"(bi), [p] "r"(BLS_P), [n0] "m"(fp_n0)
            : "rax", "rdx", "cc", "memory");
}

/* r = a b / 2^384 mod p, for operands below 2p like mont_mul. */
__attribute__((target("bmi2,adx"))) static void fp_mul_adx(uint64_t r[6], const uint64_t a[6],
                                                           const uint64_t b[6])
{
    uint64_t t[6] = {0};
    for (int i = 0; i < 6; i++)
        fp_mul_adx_round(t, a, b[i]);
    bls_fp_reduce_store(r, t[0], t[1], t[2], t[3], t[4], t[5]);
}

static int fp_use_adx;

/* CPUID leaf 7: EBX bit 8 is BMI2 (mulx), bit 19 ADX (adcx, adox). (clang's
 * __builtin_cpu_supports knows no "adx".) */
__attribute__((constructor)) static void fp_detect(void)
{
    unsigned eax, ebx, ecx, edx;
    fp_use_adx = __get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx) && (ebx >> 8 & 1) &&
                 (ebx >> 19 & 1);
}
#else
#define FP_HAVE_ADX 0
#endif

const char *bls_fp_select(enum bls_fp_path path)
{
#if FP_HAVE_ADX
    fp_detect();
    if (path != BLS_FP_AUTO)
        fp_use_adx = path == BLS_FP_ADX;
    return fp_use_adx ? "adx" : "portable";
#else
    (void)path;
    return "portable";
#endif
}

void bls_fp_mul(bls_fp *r, const bls_fp *a, const bls_fp *b)
{
#if FP_HAVE_ADX
    if (fp_use_adx) { /* a property of the CPU, not of the data */
        fp_mul_adx(r->l, a->l, b->l);
        return;
    }
#endif
    mont_mul(r->l, a->l, b->l, BLS_P, BLS_P_N0, 6);
}

void bls_fp_sqr(bls_fp *r, const bls_fp *a)
{
    bls_fp_mul(r, a, a);
}

void bls_fp_to_mont(bls_fp *r, const uint64_t a[6])
{
    bls_fp t;
    memcpy(t.l, a, sizeof t.l);
    bls_fp_mul(r, &t, (const bls_fp *)BLS_FP_R2);
}

void bls_fp_from_mont(uint64_t r[6], const bls_fp *a)
{
    static const bls_fp one = {{1}};
    bls_fp t;
    bls_fp_mul(&t, a, &one);
    memcpy(r, t.l, sizeof t.l);
}

void bls_fp_set_u64(bls_fp *r, uint64_t v)
{
    uint64_t raw[6] = {v};
    bls_fp_to_mont(r, raw);
}

/* 4-bit fixed window through bls_fp_mul, so inversion and square roots take the CPUID-chosen
 * product. The exponent is public: skipping the product for a zero digit leaks nothing. */
void bls_fp_pow(bls_fp *r, const bls_fp *a, const uint64_t *e, size_t n)
{
    bls_fp table[16], acc = BLS_FP_ONE;
    table[1] = *a;
    for (int i = 2; i < 16; i++)
        bls_fp_mul(&table[i], &table[i - 1], a);
    for (size_t i = n * 16; i-- > 0;) {
        for (int s = 0; s < 4; s++)
            bls_fp_sqr(&acc, &acc);
        unsigned digit = (unsigned)(e[i / 16] >> (4 * (i % 16))) & 15;
        if (digit)
            bls_fp_mul(&acc, &acc, &table[digit]);
    }
    *r = acc;
}

void bls_fp_inv(bls_fp *r, const bls_fp *a)
{
    bls_fp_pow(r, a, BLS_EXP_P_MINUS_2, 6);
}

uint64_t bls_fp_sqrt(bls_fp *r, const bls_fp *a)
{
    bls_fp s, check;
    bls_fp_pow(&s, a, BLS_EXP_P_PLUS_1_DIV_4, 6);
    bls_fp_sqr(&check, &s);
    *r = s;
    return bls_fp_eq(&check, a);
}

uint64_t bls_fp_is_square(const bls_fp *a)
{
    bls_fp t, minus_one;
    bls_fp_pow(&t, a, BLS_EXP_P_MINUS_1_DIV_2, 6);
    bls_fp_neg(&minus_one, &BLS_FP_ONE);
    return bls_fp_eq(&t, &minus_one) ^ 1;
}

uint64_t bls_fp_sgn0(const bls_fp *a)
{
    uint64_t v[6];
    bls_fp_from_mont(v, a);
    return v[0] & 1;
}

uint64_t bls_fp_is_larger_half(const bls_fp *a)
{
    /* v > (p - 1)/2 exactly when (p - 1)/2 < v */
    uint64_t v[6];
    bls_fp_from_mont(v, a);
    return mont_less_than(BLS_HALF_P, v, 6);
}

void bls_fp_to_bytes(uint8_t out[48], const bls_fp *a)
{
    uint64_t v[6];
    bls_fp_from_mont(v, a);
    for (int i = 0; i < 48; i++)
        out[47 - i] = (uint8_t)(v[i / 8] >> (8 * (i % 8)));
}

int bls_fp_from_bytes(bls_fp *r, const uint8_t in[48])
{
    uint64_t v[6] = {0};
    for (int i = 0; i < 48; i++)
        v[i / 8] |= (uint64_t)in[47 - i] << (8 * (i % 8));
    if (!mont_less_than(v, BLS_P, 6))
        return -1;
    bls_fp_to_mont(r, v);
    return 0;
}
