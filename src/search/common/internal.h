/* internal.h -- what the search testbed's modules share and nothing else sees: the term
 * dictionary (a term's text to a dense id) and a query as its sorted set of term ids. */
#ifndef CLOISTER_SEARCH_INTERNAL_H
#define CLOISTER_SEARCH_INTERNAL_H

#include <cloister/search.h>

#define SEARCH_TERMS_MAX 256 /* distinct terms of one (sub-)query that count */

/* Open addressing on the FNV-1a hash; ids are dense from 0 in insertion order. */
struct search_dict {
    uint32_t *slots; /* id + 1, 0 = empty */
    size_t nslots;
    char **words; /* by id */
    size_t n, cap;
};

void search_dict_free(struct search_dict *d);
/* The id of word, added when absent: -1 without memory. */
int64_t search_dict_intern(struct search_dict *d, const char *w, size_t len);
/* The id of word, or -1 when absent. */
int64_t search_dict_find(const struct search_dict *d, const char *w, size_t len);

/* The distinct terms of text as sorted ids (at most SEARCH_TERMS_MAX). add: unknown terms are
 * added to d; otherwise each distinct unknown term gets an id above every real one (it counts in
 * the size of the query and matches nothing). Returns the count, or -1 without memory. */
int search_query_ids(struct search_dict *d, bool add, const char *text, size_t len, uint32_t *ids);

/* Stable sort of a log's queries by (user, time): CLOISTER_E_NO_MEMORY leaves it as it was. */
int search_log_sort(struct search_log *log);

/* Median of n doubles (sorts them). */
double search_median(double *v, size_t n);

#endif
