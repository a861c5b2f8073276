/* text.c -- how the testbed reads a query: SimAttack's preprocessing (lowercase, split on
 * anything but ASCII letters and digits, stop words dropped) and the OR-joined sub-queries of an
 * obfuscated query. Terms are reported one by one to a callback so no caller allocates. */
#include <cloister/search.h>

#include <stdlib.h>
#include <string.h>

/* The English stop words of the usual IR lists (sorted: looked up by binary search). */
static const char *const stopwords[] = {
    "a",      "about",  "above", "after",   "again",   "against",    "all",        "am",
    "an",     "and",    "any",   "are",     "as",      "at",         "be",         "been",
    "before", "being",  "below", "between", "both",    "but",        "by",         "can",
    "com",    "could",  "did",   "do",      "does",    "doing",      "down",       "during",
    "each",   "few",    "for",   "from",    "further", "had",        "has",        "have",
    "having", "he",     "her",   "here",    "hers",    "herself",    "him",        "himself",
    "his",    "how",    "i",     "if",      "in",      "into",       "is",         "it",
    "its",    "itself", "just",  "me",      "more",    "most",       "my",         "myself",
    "no",     "nor",    "not",   "now",     "of",      "off",        "on",         "once",
    "only",   "or",     "other", "our",     "ours",    "ourselves",  "out",        "over",
    "own",    "same",   "she",   "should",  "so",      "some",       "such",       "than",
    "that",   "the",    "their", "theirs",  "them",    "themselves", "then",       "there",
    "these",  "they",   "this",  "those",   "through", "to",         "too",        "under",
    "until",  "up",     "very",  "was",     "we",      "were",       "what",       "when",
    "where",  "which",  "while", "who",     "whom",    "why",        "will",       "with",
    "would",  "www",    "you",   "your",    "yours",   "yourself",   "yourselves",
};

static int stopword_cmp(const void *key, const void *elem)
{
    return strcmp(key, *(const char *const *)elem);
}

bool search_is_stopword(const char *word, size_t len)
{
    char buf[16];
    if (len == 0 || len >= sizeof buf)
        return len == 0;
    for (size_t i = 0; i < len; i++)
        buf[i] = (char)((word[i] >= 'A' && word[i] <= 'Z') ? word[i] + 32 : word[i]);
    buf[len] = 0;
    return bsearch(buf, stopwords, sizeof stopwords / sizeof *stopwords, sizeof *stopwords,
                   stopword_cmp) != NULL;
}

static bool term_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

int search_terms(const char *text, size_t len, int (*fn)(const char *term, size_t len, void *arg),
                 void *arg)
{
    char term[SEARCH_QUERY_MAX];
    size_t i = 0;
    while (i < len) {
        while (i < len && !term_char(text[i]))
            i++;
        size_t n = 0;
        while (i < len && term_char(text[i])) {
            char c = text[i++];
            if (n < sizeof term)
                term[n++] = (char)((c >= 'A' && c <= 'Z') ? c + 32 : c);
        }
        if (n == 0 || search_is_stopword(term, n))
            continue;
        int rc = fn(term, n, arg);
        if (rc)
            return rc;
    }
    return 0;
}

int search_split_or(const char *text, size_t len, const char **subs, size_t *lens, size_t max)
{
    const size_t sep = strlen(SEARCH_OR);
    size_t n = 0, start = 0;
    for (size_t i = 0; i <= len; i++) {
        bool at_sep = i + sep <= len && memcmp(text + i, SEARCH_OR, sep) == 0;
        if (!at_sep && i < len)
            continue;
        if (n == max)
            return -1;
        subs[n] = text + start;
        lens[n++] = i - start;
        if (i == len)
            break;
        start = i + sep;
        i = start - 1;
    }
    return (int)n;
}
