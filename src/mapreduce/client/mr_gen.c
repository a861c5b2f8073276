/* mr_gen.c -- reproducible inputs for the examples, tests and benchmarks. Text: lines of 6 to 15
 * words drawn from a Zipf law (s = 1) over English words, the word list being Debian's
 * wamerican (/usr/share/dict/words; lowercase ASCII words only) or, when absent, a built-in
 * list, ranked by a seeded shuffle. Points: k centres uniform in [0, 100)^dim, each point a
 * centre (chosen uniformly) plus Gaussian noise of deviation 2. One seed, one output. */
#include "util/prng.h"
#include <cloister/mapreduce.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define WORDS_MAX 50000
#define DICT "/usr/share/dict/words"

static const char *const FALLBACK[] = {
    "the",     "of",     "and",    "to",      "in",     "is",     "that",     "for",    "it",
    "as",      "was",    "with",   "be",      "by",     "on",     "not",      "he",     "this",
    "are",     "or",     "his",    "from",    "at",     "which",  "but",      "have",   "an",
    "had",     "they",   "you",    "were",    "their",  "one",    "all",      "we",     "can",
    "her",     "has",    "there",  "been",    "if",     "more",   "when",     "will",   "would",
    "who",     "so",     "no",     "enclave", "secret", "river",  "mountain", "garden", "window",
    "paper",   "light",  "stone",  "music",   "winter", "summer", "city",     "market", "friend",
    "water",   "forest", "letter", "engine",  "number", "house",  "question", "answer", "morning",
    "evening", "silver", "golden", "quiet",   "bright", "simple", "ancient",  "modern", "north",
    "south",   "east",   "west",   "table",   "chair",  "bread",  "honey",    "salt",   "pepper",
    "cloud",
};

static bool plain_word(const char *w, size_t n)
{
    if (n < 2 || n > 20)
        return false;
    for (size_t i = 0; i < n; i++)
        if (w[i] < 'a' || w[i] > 'z')
            return false;
    return true;
}

/* The word list (malloc'd strings). */
static char **load_words(size_t *n)
{
    char **words = malloc(WORDS_MAX * sizeof *words), line[128];
    *n = 0;
    FILE *f = fopen(DICT, "r");
    while (words && f && *n < WORDS_MAX && fgets(line, sizeof line, f)) {
        size_t len = strcspn(line, "\r\n");
        line[len] = 0;
        if (plain_word(line, len) && (words[*n] = strdup(line)))
            (*n)++;
    }
    if (f)
        fclose(f);
    bool fallback = *n == 0;
    for (size_t i = 0; words && fallback && i < sizeof FALLBACK / sizeof *FALLBACK; i++)
        if ((words[*n] = strdup(FALLBACK[i])))
            (*n)++;
    return words;
}

int mr_gen_text(FILE *out, uint64_t bytes, uint64_t seed, struct cloister_err *err)
{
    size_t n;
    char **words = load_words(&n);
    double *cdf = words && n ? malloc(n * sizeof *cdf) : NULL;
    if (!cdf) {
        free(words);
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "no memory for the word list");
    }
    uint64_t s = seed;
    for (size_t i = n - 1; i > 0; i--) {
        size_t k = prng_next(&s) % (i + 1);
        char *t = words[i];
        words[i] = words[k];
        words[k] = t;
    }
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        cdf[i] = (sum += 1.0 / (double)(i + 1));
    uint64_t written = 0;
    while (written < bytes) {
        unsigned count = 6 + (unsigned)(prng_next(&s) % 10);
        for (unsigned w = 0; w < count; w++) {
            double u = prng_uniform(&s) * sum;
            size_t lo = 0, hi = n - 1;
            while (lo < hi) {
                size_t mid = (lo + hi) / 2;
                if (cdf[mid] < u)
                    lo = mid + 1;
                else
                    hi = mid;
            }
            int k = fprintf(out, w ? " %s" : "%s", words[lo]);
            written += k > 0 ? (uint64_t)k : 0;
        }
        fputc('\n', out);
        written++;
    }
    for (size_t i = 0; i < n; i++)
        free(words[i]);
    free(words);
    free(cdf);
    return ferror(out) ? cloister_errf(err, CLOISTER_E_SYSTEM, "write error") : 0;
}

int mr_gen_points(FILE *out, uint64_t n, unsigned k, unsigned dim, uint64_t seed,
                  struct cloister_err *err)
{
    if (k == 0 || dim == 0 || dim > 64)
        return cloister_errf(err, CLOISTER_E_INVALID, "points: k >= 1 and 1 <= dim <= 64");
    double *centres = malloc((size_t)k * dim * sizeof *centres);
    if (!centres)
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "no memory for %u centres", k);
    uint64_t s = seed;
    for (size_t i = 0; i < (size_t)k * dim; i++)
        centres[i] = 100.0 * prng_uniform(&s);
    for (uint64_t p = 0; p < n; p++) {
        const double *c = centres + (prng_next(&s) % k) * dim;
        for (unsigned d = 0; d < dim; d++) {
            double u1 = prng_uniform(&s), u2 = prng_uniform(&s);
            double g = sqrt(-2.0 * log(u1 > 0 ? u1 : 1e-300)) * cos(2 * M_PI * u2);
            fprintf(out, d ? ",%.6f" : "%.6f", c[d] + 2.0 * g);
        }
        fputc('\n', out);
    }
    free(centres);
    return ferror(out) ? cloister_errf(err, CLOISTER_E_SYSTEM, "write error") : 0;
}
