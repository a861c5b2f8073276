/* test_pairing_ct.c -- checks the constant-time claims of pairing.h with valgrind's memcheck
 * (the ctgrind technique): every secret input is marked undefined, so memcheck reports any
 * branch or memory index that depends on it; ctest runs this under valgrind with
 * --error-exitcode, and the program refuses to run outside valgrind so it cannot pass vacuously.
 * Results are marked defined again and checked against the variable-time reference paths.
 * Whether a point is the identity is public by contract: secret points keep Z public.
 * valgrind's CPUID hides ADX, so the default run checks the portable Fp multiplication; with
 * CLOISTER_BLS_ADX set (ctest's test_pairing_ct_adx) the mulx/adcx/adox assembly is forced when
 * the host CPU has it (from /proc/cpuinfo, which valgrind does not filter), else it exits 77. */
#include <cloister/pairing.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <valgrind/memcheck.h>

#define SECRET(x) VALGRIND_MAKE_MEM_UNDEFINED(&(x), sizeof(x))
#define PUBLIC(x) VALGRIND_MAKE_MEM_DEFINED(&(x), sizeof(x))

static int failures;

/* 1 when the host CPU lists both bmi2 and adx among its flags. */
static int host_has_adx(void)
{
    char line[4096];
    int found = 0;
    FILE *f = fopen("/proc/cpuinfo", "r");
    while (f && !found && fgets(line, sizeof line, f))
        found = strncmp(line, "flags", 5) == 0 && strstr(line, " bmi2") && strstr(line, " adx");
    if (f)
        fclose(f);
    return found;
}

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "test_pairing_ct: %s: wrong result\n", what);
        failures++;
    }
}

int main(void)
{
    if (!RUNNING_ON_VALGRIND) {
        fprintf(stderr, "test_pairing_ct: must run under valgrind (ctest does)\n");
        return 1;
    }
    const char *path = bls_fp_select(BLS_FP_PORTABLE);
    if (getenv("CLOISTER_BLS_ADX")) {
        if (!host_has_adx()) {
            printf("test_pairing_ct: skipped, the CPU has no BMI2 and ADX\n");
            return 77;
        }
        path = bls_fp_select(BLS_FP_ADX);
    }
    bls_fr k, k_pub, inv[3], in[3];
    bls_g1 g, r1, ref1;
    bls_g2 h, r2, ref2;
    bls_gt e, re, ref;
    if (bls_fr_random(&k) != 0)
        return 1;
    k_pub = k;
    bls_g1_generator(&g);
    bls_g2_generator(&h);
    bls_pairing(&e, &g, &h);
    bls_g1_table *t = bls_g1_table_new(&g);
    if (!t)
        return 1;
    bls_g1_mul_gen(&r1, &k); /* builds the static generator tables from public data */
    bls_g2_mul_gen(&r2, &k);

    SECRET(k);
    bls_g1_mul(&r1, &g, &k);
    PUBLIC(r1);
    bls_g1_msm(&ref1, &g, &k_pub, 1); /* [vt] reference */
    check(bls_g1_eq(&r1, &ref1), "g1_mul");
    bls_g1_mul_gen(&r1, &k);
    PUBLIC(r1);
    check(bls_g1_eq(&r1, &ref1), "g1_mul_gen");
    bls_g1_table_mul(&r1, t, &k);
    PUBLIC(r1);
    check(bls_g1_eq(&r1, &ref1), "g1_table_mul");

    bls_g2_mul(&r2, &h, &k);
    PUBLIC(r2);
    bls_g2_msm(&ref2, &h, &k_pub, 1);
    check(bls_g2_eq(&r2, &ref2), "g2_mul");
    bls_g2_mul_gen(&r2, &k);
    PUBLIC(r2);
    check(bls_g2_eq(&r2, &ref2), "g2_mul_gen");

    bls_gt_exp(&re, &e, &k);
    PUBLIC(re);
    bls_pairing(&ref, &ref1, &h);
    check(bls_gt_eq(&re, &ref), "gt_exp");

    in[0] = in[1] = in[2] = k;
    bls_fr_inv(&inv[0], &k);
    bls_fr_batch_inv(inv, in, 3);
    bls_fr_mul(&inv[1], &inv[1], &k);
    bls_fr_sub(&inv[2], &k, &inv[2]);
    bls_fr_add(&inv[2], &inv[2], &k);
    PUBLIC(inv);
    bls_fr one;
    bls_fr_from_u64(&one, 1);
    check(bls_fr_eq(&inv[1], &one), "fr_inv");

    /* a secret key point in both groups (IBBE's e(sk, C2)): encoding, group law, pairing */
    bls_g1 sp = ref1;
    bls_g2 sq = ref2;
    SECRET(sp.x), SECRET(sp.y), SECRET(sq.x), SECRET(sq.y);
    uint8_t enc[BLS_G1_BYTES], want[BLS_G1_BYTES];
    bls_g1_to_bytes(enc, &sp);
    PUBLIC(enc);
    bls_g1_to_bytes(want, &ref1);
    check(!memcmp(enc, want, sizeof enc), "g1_to_bytes");
    bls_g1_add(&r1, &sp, &g);
    bls_g1_dbl(&r1, &r1);
    bls_g1_neg(&r1, &r1);
    PUBLIC(r1);
    bls_pairing(&re, &sp, &sq);
    PUBLIC(re);
    bls_gt_exp(&ref, &ref, &k_pub);
    check(bls_gt_eq(&re, &ref), "pairing");

    /* secret identities hashed to scalars and points */
    char id[] = "alice@example.org";
    bls_fr hk;
    SECRET(id);
    bls_hash_to_fr(&hk, id, sizeof id - 1, "CT", 2);
    bls_g1_hash(&r1, id, sizeof id - 1, "CT", 2);
    bls_g2_hash(&r2, id, sizeof id - 1, "CT", 2);
    PUBLIC(hk), PUBLIC(r1), PUBLIC(r2);
    check(bls_g1_in_subgroup(&r1) && bls_g2_in_subgroup(&r2), "hash");

    bls_g1_table_free(t);
    if (failures)
        return 1;
    printf("test_pairing_ct: secret-independent control flow and memory access (memcheck), "
           "%s Fp multiplication\n",
           path);
    return 0;
}
