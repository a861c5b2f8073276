/* page.h -- the user's search page, one for X-Search's browser broker and Cyclosa's node
 * (page.c). */
#ifndef CLOISTER_SEARCH_PAGE_H
#define CLOISTER_SEARCH_PAGE_H

#include <cloister/search.h>

struct search_page {
    const char *title;              /* "X-Search", "Cyclosa" */
    const char *q;                  /* what the user typed, or NULL */
    int k;                          /* a hidden k field the form sends back; < 0: none */
    const struct search_hits *hits; /* the results, or NULL */
    const char *note;               /* a line about the search (Cyclosa: k, topic), or NULL */
    const char *error;              /* instead of the results, or NULL */
};

/* The page as a malloc'd NUL-terminated string (NULL without memory). */
char *search_page_render(const struct search_page *p);

#endif
