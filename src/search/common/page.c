/* page.c -- the user's search page, shared by X-Search's browser broker (xsearch_broker.c) and
 * Cyclosa's node (node.c): a form that GETs / with q (and k when the server set one), and the
 * results rendered on the server, so that the page needs no script.
 *
 * Everything that came from the user or the engine is escaped, and a result's link is kept only
 * when it is http(s): an engine cannot put a javascript: or data: link on the page. Stable ids
 * (q, note, results, count, error) and the class hit are what the tests read. */
#include "search/common/page.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* s with & < > " ' escaped, appended to f. */
static void page_text(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        default: fputc(*s, f);
        }
    }
}

static void page_hits(FILE *f, const struct search_hits *h)
{
    fputs("<ol id=\"results\">\n", f);
    for (size_t i = 0; i < h->n; i++) {
        const char *url = h->v[i].url;
        bool web = strncmp(url, "http://", 7) == 0 || strncmp(url, "https://", 8) == 0;
        fputs("<li class=\"hit\"><a href=\"", f);
        page_text(f, web ? url : "#");
        fputs("\">", f);
        page_text(f, h->v[i].title);
        fputs("</a><br><small>", f);
        page_text(f, url);
        fputs("</small><p>", f);
        page_text(f, h->v[i].snippet);
        fputs("</p></li>\n", f);
    }
    fprintf(f, "</ol>\n<p id=\"count\">%zu results</p>\n", h->n);
}

/* An optional paragraph <p id=ID>TEXT</p>. */
static void page_para(FILE *f, const char *id, const char *text)
{
    if (!text)
        return;
    fprintf(f, "<p id=\"%s\">", id);
    page_text(f, text);
    fputs("</p>\n", f);
}

char *search_page_render(const struct search_page *p)
{
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    if (!f)
        return NULL;
    fputs("<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>", f);
    page_text(f, p->title);
    fputs("</title></head>\n<body><h1>", f);
    page_text(f, p->title);
    fputs("</h1>\n<form method=\"get\" action=\"/\"><input id=\"q\" name=\"q\" size=\"50\" "
          "value=\"",
          f);
    page_text(f, p->q ? p->q : "");
    fputs("\">", f);
    if (p->k >= 0)
        fprintf(f, " <input type=\"hidden\" name=\"k\" value=\"%d\">", p->k);
    fputs(" <button type=\"submit\">Search</button></form>\n", f);
    page_para(f, "error", p->error);
    page_para(f, "note", p->error ? NULL : p->note);
    if (p->hits && !p->error)
        page_hits(f, p->hits);
    fputs("</body></html>\n", f);
    if (fclose(f) != 0) {
        free(out);
        return NULL;
    }
    return out;
}
