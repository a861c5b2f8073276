/* scbr_gen.c -- deterministic workloads (see scbr.h): the original SCBR stock quotes, a random
 * workload that exercises every corner of the semantics, and a numeric one for ASPE.
 *
 * The stock market is simulated first (a random walk per symbol over 52 weekdays), then
 * publications are its quotes in date order and subscription thresholds are drawn from the
 * subscribed symbol's own price and volume range, so each subscription matches a fair share of
 * its symbol's quotes, as in the original's sample. */
#include "util/prng.h"
#include <cloister/scbr.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "scbr/common/scbr_internal.h"

#define STOCK_SYMBOLS 200
#define STOCK_DAYS 52
#define STOCK_START 1136160000 /* 2006-01-02 00:00 UTC, a Monday */

struct rng {
    uint64_t s[4];
};

static void rng_seed(struct rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = prng_next(&seed);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t rng_next(struct rng *r)
{
    uint64_t *s = r->s, out = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0], s[3] ^= s[1], s[1] ^= s[2], s[0] ^= s[3], s[2] ^= t, s[3] = rotl(s[3], 45);
    return out;
}

static uint32_t rng_below(struct rng *r, uint32_t n)
{
    return (uint32_t)(((rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

static double rng_unit(struct rng *r)
{
    return (double)(rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

int scbr_workload_from_name(const char *name)
{
    static const char *const names[] = {"stock", "random", "numeric", "stock-numeric"};
    for (int i = 0; i < 4; i++)
        if (strcmp(name, names[i]) == 0)
            return i;
    return -1;
}

struct quote {
    double open, high, low, close;
    int64_t volume;
};

struct market {
    char symbol[STOCK_SYMBOLS][6];
    struct quote q[STOCK_SYMBOLS][STOCK_DAYS];
    int64_t date[STOCK_DAYS];
};

static double cents(double x)
{
    return round(x * 100) / 100;
}

static void market_simulate(struct market *mk, struct rng *r)
{
    for (int s = 0; s < STOCK_SYMBOLS; s++) {
        uint64_t x = (uint64_t)s * 7919 + 17;
        int len = 3 + s % 2;
        for (int k = 0; k < len; k++)
            mk->symbol[s][k] = (char)('A' + prng_next(&x) % 26);
        mk->symbol[s][len] = 0;
        /* Distinct names: suffix the index digit when the letters collide (rare). */
        for (int o = 0; o < s; o++)
            if (strcmp(mk->symbol[o], mk->symbol[s]) == 0)
                mk->symbol[s][len - 1] = (char)('0' + s % 10);
        /* Ranges chosen so prices (in cents) and volumes (in lots of 100) stay within ASPE's
         * exact grid of 2^16, and the same workload serves both. */
        double price = 5 + rng_unit(r) * 295;
        double vol = 1e4 + rng_unit(r) * 4e6;
        for (int d = 0; d < STOCK_DAYS; d++) {
            struct quote *q = &mk->q[s][d];
            q->open = cents(price);
            q->close = cents(price * (1 + (rng_unit(r) - 0.5) * 0.06));
            double hi = q->open > q->close ? q->open : q->close;
            double lo = q->open < q->close ? q->open : q->close;
            q->high = cents(hi * (1 + rng_unit(r) * 0.02));
            q->low = cents(lo * (1 - rng_unit(r) * 0.02));
            q->volume = (int64_t)(vol * (0.5 + rng_unit(r)) / 100) * 100;
            price = q->close;
        }
    }
    int64_t t = STOCK_START;
    for (int d = 0; d < STOCK_DAYS; d++) {
        mk->date[d] = t;
        t += 86400 * ((d % 5) == 4 ? 3 : 1); /* skip weekends */
    }
}

/* A value of the symbol's field between its minimum and maximum over the period. */
static double field_between(const struct market *mk, int s, size_t field, struct rng *r)
{
    double lo = 1e300, hi = -1e300;
    for (int d = 0; d < STOCK_DAYS; d++) {
        const struct quote *q = &mk->q[s][d];
        double v = field == 4 ? (double)q->volume : (&q->open)[field];
        lo = v < lo ? v : lo;
        hi = v > hi ? v : hi;
    }
    return lo + rng_unit(r) * (hi - lo);
}

/* The symbol as a string, or as its number for the numeric variant (what ASPE can take). */
static void put_symbol(struct scbr_text *t, const struct market *mk, int s, bool numbered)
{
    if (numbered)
        scbr_text_printf(t, "symbol = %d", s);
    else
        scbr_text_printf(t, "symbol = \"%s\"", mk->symbol[s]);
}

static void stock_sub(struct scbr_text *t, const struct market *mk, struct rng *r, bool numbered)
{
    int s = (int)rng_below(r, STOCK_SYMBOLS);
    put_symbol(t, mk, s, numbered);
    scbr_text_printf(t, " and ");
    uint32_t mix = rng_below(r, 1000);
    if (mix < 363) {
        scbr_text_printf(t, "high >= %.2f\n", field_between(mk, s, 1, r));
    } else if (mix < 689) {
        scbr_text_printf(t, "low <= %.2f\n", field_between(mk, s, 2, r));
    } else if (mix < 883) {
        double a = field_between(mk, s, 0, r), b = field_between(mk, s, 0, r);
        scbr_text_printf(t, "open >= %.2f and open <= %.2f\n", a < b ? a : b, a < b ? b : a);
    } else {
        scbr_text_printf(t, "volume >= %lld\n", (long long)field_between(mk, s, 4, r));
    }
}

static void stock_pub(struct scbr_text *t, const struct market *mk, size_t k, bool numbered)
{
    int s = (int)(k % STOCK_SYMBOLS), d = (int)(k / STOCK_SYMBOLS % STOCK_DAYS);
    const struct quote *q = &mk->q[s][d];
    put_symbol(t, mk, s, numbered);
    scbr_text_printf(t,
                     ", date = %lld, open = %.2f, high = %.2f, low = %.2f, close = %.2f, "
                     "volume = %lld\n",
                     (long long)mk->date[d], q->open, q->high, q->low, q->close,
                     (long long)q->volume);
}

/* Random workload: 6 attributes, each occurrence typed at random among small domains. */
static const char *const rnd_names[] = {"a", "b", "c", "d", "s", "x.y"};
static const char *const rnd_strings[] = {"", "a", "ab", "abc", "b", "ba", "\\\"q", "\xc3\xa9"};

static void random_value(struct scbr_text *t, struct rng *r)
{
    switch (rng_below(r, 3)) {
    case 0: scbr_text_printf(t, "%d", (int)rng_below(r, 9) - 4); break;
    case 1: scbr_text_printf(t, "%.1f", ((int)rng_below(r, 17) - 8) / 2.0); break;
    default: scbr_text_printf(t, "\"%s\"", rnd_strings[rng_below(r, 8)]); break;
    }
}

static void random_sub(struct scbr_text *t, struct rng *r)
{
    uint32_t n = 1 + rng_below(r, 3);
    for (uint32_t i = 0; i < n; i++) {
        scbr_text_printf(t, "%s%s ", i ? " and " : "", rnd_names[rng_below(r, 6)]);
        uint32_t op = rng_below(r, 9); /* = twice as likely: it is the common case */
        if (op == 7) {
            scbr_text_printf(t, "exists");
        } else if (op == 6) {
            scbr_text_printf(t, "prefix \"%s\"", rnd_strings[rng_below(r, 6)]);
        } else {
            static const char *const ops[] = {"=", "!=", "<", "<=", ">", ">=", "", "", "="};
            scbr_text_printf(t, "%s ", ops[op]);
            random_value(t, r);
        }
    }
    scbr_text_printf(t, "\n");
}

static void random_pub(struct scbr_text *t, struct rng *r)
{
    uint32_t mask = 1 + rng_below(r, 63);
    bool first = true;
    for (int i = 0; i < 6; i++) {
        if (!(mask >> i & 1))
            continue;
        scbr_text_printf(t, "%s%s = ", first ? "" : ", ", rnd_names[i]);
        random_value(t, r);
        first = false;
    }
    scbr_text_printf(t, "\n");
}

static void numeric_sub(struct scbr_text *t, struct rng *r)
{
    static const char *const ops[] = {"=", "<", "<=", ">", ">="};
    uint32_t n = 1 + rng_below(r, 3);
    for (uint32_t i = 0; i < n; i++)
        scbr_text_printf(t, "%sa%u %s %d", i ? " and " : "", rng_below(r, 5), ops[rng_below(r, 5)],
                         (int)rng_below(r, 101));
    scbr_text_printf(t, "\n");
}

static void numeric_pub(struct scbr_text *t, struct rng *r)
{
    for (int i = 0; i < 5; i++)
        scbr_text_printf(t, "%sa%d = %d", i ? ", " : "", i, (int)rng_below(r, 101));
    scbr_text_printf(t, "\n");
}

int scbr_gen(enum scbr_workload kind, size_t nsubs, size_t npubs, uint64_t seed, char **subs,
             size_t *subs_len, char **pubs, size_t *pubs_len, struct cloister_err *err)
{
    struct rng r;
    rng_seed(&r, seed);
    struct market *mk = NULL;
    bool stock = kind == SCBR_WORKLOAD_STOCK || kind == SCBR_WORKLOAD_STOCK_NUMERIC;
    bool numbered = kind == SCBR_WORKLOAD_STOCK_NUMERIC;
    if (stock) {
        if (!(mk = malloc(sizeof *mk)))
            return cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
        market_simulate(mk, &r);
    }
    struct scbr_text ts = {0}, tp = {0};
    scbr_text_put(&ts, "", 0);
    scbr_text_put(&tp, "", 0);
    for (size_t i = 0; i < nsubs; i++) {
        if (stock)
            stock_sub(&ts, mk, &r, numbered);
        else if (kind == SCBR_WORKLOAD_RANDOM)
            random_sub(&ts, &r);
        else
            numeric_sub(&ts, &r);
    }
    for (size_t k = 0; k < npubs; k++) {
        if (stock)
            stock_pub(&tp, mk, k, numbered);
        else if (kind == SCBR_WORKLOAD_RANDOM)
            random_pub(&tp, &r);
        else
            numeric_pub(&tp, &r);
    }
    free(mk);
    *subs_len = ts.len, *pubs_len = tp.len;
    *subs = scbr_text_take(&ts);
    *pubs = scbr_text_take(&tp);
    if (*subs && *pubs)
        return 0;
    free(*subs);
    free(*pubs);
    *subs = *pubs = NULL;
    return cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
}
