/* fixed_base_impl.h -- fixed-base scalar multiplication with a precomputed table, written once
 * for G1 and G2 (included by fixed_base.c after it defines PT, AFF, FE, EC(name), FE_(op) and
 * TABLE).
 *
 * Row i of the table holds the affine points j 2^(5 i) B for j = 1..16. A scalar is recoded
 * into 52 signed 5-bit digits, and [k]B is the sum of one entry per row: 52 mixed additions and
 * no doubling. Every entry of a row is read (masked selection), the negation is masked, and a
 * zero digit still performs its addition, whose result is then discarded by a masked move. */

#define FB_ROWS 52 /* 5 * 52 >= 255 + 1 */
#define FB_COLS 16

struct TABLE {
    uint64_t identity; /* the base was the identity: every multiple is too */
    AFF t[FB_ROWS][FB_COLS];
};

static void EC(table_fill)(struct TABLE *t, const PT *base)
{
    PT row[FB_COLS], step = *base;
    FE scratch[FB_COLS];
    t->identity = EC(is_identity)(base);
    if (t->identity)
        return;
    for (int i = 0; i < FB_ROWS; i++) {
        row[0] = step;
        for (int j = 1; j < FB_COLS; j++)
            EC(add)(&row[j], &row[j - 1], &step);
        EC(batch_to_affine)(t->t[i], row, FB_COLS, scratch);
        for (int s = 0; s < 5; s++)
            EC(dbl)(&step, &step);
    }
}

struct TABLE *EC(table_new)(const PT *base)
{
    struct TABLE *t = malloc(sizeof *t);
    if (t)
        EC(table_fill)(t, base);
    return t;
}

void EC(table_free)(struct TABLE *t)
{
    free(t);
}

void EC(table_mul)(PT *out, const struct TABLE *t, const bls_fr *k)
{
    uint64_t raw[4];
    uint8_t mag[FB_ROWS], neg[FB_ROWS];
    bls_fr_to_raw(raw, k);
    bls_scalar_recode(mag, neg, raw, 4, 5, FB_ROWS);
    PT acc, sum;
    EC(identity)(&acc);
    for (int i = 0; i < FB_ROWS; i++) {
        AFF e = t->t[i][0];
        for (unsigned j = 1; j < FB_COLS; j++) {
            uint64_t hit = bls_ct_eq(mag[i], j + 1);
            FE_(cmov)(&e.x, &t->t[i][j].x, hit);
            FE_(cmov)(&e.y, &t->t[i][j].y, hit);
        }
        FE y;
        FE_(neg)(&y, &e.y);
        FE_(cmov)(&e.y, &y, neg[i]);
        EC(add_affine)(&sum, &acc, &e);
        EC(cmov)(&acc, &sum, bls_ct_eq(mag[i], 0) ^ 1);
    }
    if (t->identity) /* public: the table says so */
        EC(identity)(&acc);
    *out = acc;
    crypto_wipe(raw, sizeof raw);
    crypto_wipe(mag, sizeof mag);
    crypto_wipe(neg, sizeof neg);
}

static struct TABLE EC(gen_table);
static pthread_once_t EC(gen_once) = PTHREAD_ONCE_INIT;

static void EC(gen_init)(void)
{
    PT g;
    EC(generator)(&g);
    EC(table_fill)(&EC(gen_table), &g);
}

void EC(mul_gen)(PT *out, const bls_fr *k)
{
    pthread_once(&EC(gen_once), EC(gen_init));
    EC(table_mul)(out, &EC(gen_table), k);
}

#undef FB_ROWS
#undef FB_COLS
