/* wordnet.c -- reads WordNet 3.0's database files (wndb(5WN)) in place, from buffers.
 *
 * An index line is "lemma pos synset_cnt p_cnt [ptr_symbol]... sense_cnt tagsense_cnt
 * synset_offset...", the lines sorted by lemma, so a lemma is found by binary search over lines.
 * A data line starts with its own byte offset in the file ("synset_offset lex_filenum ss_type
 * w_cnt [word lex_id]... p_cnt [pointer_symbol synset_offset pos source/target]... | gloss"), so
 * a pointer is followed by seeking to the offset it names and checking that the line there
 * starts with it. Both files begin with license lines that start with a space: they sort before
 * every lemma and are never read as synsets. Every field is checked against the end of its line. */
#include "cyclosa/client/wordnet.h"

#include <stdbool.h>
#include <string.h>

struct wn_line {
    const char *p, *end; /* the unread rest of one line, without its newline */
};

/* The next space-separated field of the line, or false at its end. */
static bool line_field(struct wn_line *l, const char **f, size_t *n)
{
    while (l->p < l->end && *l->p == ' ')
        l->p++;
    const char *s = l->p;
    while (l->p < l->end && *l->p != ' ')
        l->p++;
    *f = s;
    *n = (size_t)(l->p - s);
    return *n > 0;
}

/* A field of digits in the given base, at most max_digits of them, into *v. */
static bool line_number(struct wn_line *l, unsigned base, size_t max_digits, uint32_t *v)
{
    const char *f;
    size_t n;
    if (!line_field(l, &f, &n) || n > max_digits)
        return false;
    uint32_t x = 0;
    for (size_t i = 0; i < n; i++) {
        char c = f[i];
        unsigned d = c >= '0' && c <= '9'   ? (unsigned)(c - '0')
                     : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
                                            : 16;
        if (d >= base)
            return false;
        x = x * base + d;
    }
    *v = x;
    return true;
}

static struct wn_line line_at(const char *buf, size_t len, size_t start)
{
    const char *nl = memchr(buf + start, '\n', len - start);
    return (struct wn_line){buf + start, nl ? nl : buf + len};
}

size_t wn_normalise(const char *w, size_t len, char *out)
{
    size_t n = 0;
    bool gap = false;
    for (size_t i = 0; i < len; i++) {
        char c = w[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c + 32);
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) {
            gap = n > 0;
            continue;
        }
        if (n + (gap ? 2 : 1) >= WN_WORD_MAX)
            return 0;
        if (gap)
            out[n++] = '_';
        out[n++] = c;
        gap = false;
    }
    out[n] = 0;
    return n;
}

int wn_index_sense(const char *index, size_t len, const char *lemma, unsigned sense,
                   uint32_t *offset, struct cloister_err *err)
{
    size_t want = strlen(lemma), lo = 0, hi = len;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2, start = mid;
        while (start > 0 && index[start - 1] != '\n')
            start--;
        struct wn_line l = line_at(index, len, start);
        size_t next = (size_t)(l.end - index) + 1;
        const char *f = l.p;
        size_t n = 0;
        if (*l.p != ' ')
            line_field(&l, &f, &n);
        int c = memcmp(f, lemma, n < want ? n : want);
        if (c == 0)
            c = (n > want) - (n < want);
        if (c < 0) {
            lo = next;
            continue;
        }
        if (c > 0) {
            hi = start;
            continue;
        }
        uint32_t synsets, pointers, senses, tagged, off = 0;
        const char *skip;
        size_t skipn;
        if (!line_field(&l, &skip, &skipn) || !line_number(&l, 10, 6, &synsets) ||
            !line_number(&l, 10, 3, &pointers))
            return cloister_errf(err, CLOISTER_E_INVALID, "WordNet index: bad line for '%s'",
                                 lemma);
        for (uint32_t i = 0; i < pointers; i++)
            if (!line_field(&l, &skip, &skipn))
                return cloister_errf(err, CLOISTER_E_INVALID,
                                     "WordNet index: '%s' has fewer pointers than it says", lemma);
        if (!line_number(&l, 10, 6, &senses) || !line_number(&l, 10, 6, &tagged))
            return cloister_errf(err, CLOISTER_E_INVALID, "WordNet index: bad line for '%s'",
                                 lemma);
        if (sense == 0 || sense > senses)
            return cloister_errf(err, CLOISTER_E_NOT_FOUND, "WordNet: '%s' has no sense %u", lemma,
                                 sense);
        for (unsigned i = 0; i < sense; i++)
            if (!line_number(&l, 10, 8, &off))
                return cloister_errf(err, CLOISTER_E_INVALID,
                                     "WordNet index: '%s' has fewer senses than it says", lemma);
        *offset = off;
        return CLOISTER_OK;
    }
    return cloister_errf(err, CLOISTER_E_NOT_FOUND, "WordNet: no lemma '%s'", lemma);
}

int wn_synset(const char *data, size_t len, uint32_t offset, const struct wn_synset_visit *v,
              struct cloister_err *err)
{
    if (offset >= len || (offset > 0 && data[offset - 1] != '\n'))
        return cloister_errf(err, CLOISTER_E_INVALID, "WordNet data: no synset at offset %u",
                             offset);
    struct wn_line l = line_at(data, len, offset);
    uint32_t self, lexfile, words, pointers;
    const char *f;
    size_t n;
    if (!line_number(&l, 10, 8, &self) || self != offset || !line_number(&l, 10, 2, &lexfile) ||
        !line_field(&l, &f, &n) || n != 1 || !line_number(&l, 16, 2, &words))
        return cloister_errf(err, CLOISTER_E_INVALID, "WordNet data: bad synset at offset %u",
                             offset);
    const char pos = *f;
    for (uint32_t i = 0; i < words; i++) {
        uint32_t lex_id;
        if (!line_field(&l, &f, &n) || !line_number(&l, 16, 1, &lex_id))
            return cloister_errf(err, CLOISTER_E_INVALID,
                                 "WordNet data: synset %u has fewer words than it says", offset);
        int rc = v->word ? v->word(f, n, v->arg) : 0;
        if (rc)
            return rc;
    }
    if (!line_number(&l, 10, 3, &pointers))
        return cloister_errf(err, CLOISTER_E_INVALID, "WordNet data: synset %u: bad pointer count",
                             offset);
    for (uint32_t i = 0; i < pointers; i++) {
        const char *sym, *target_pos;
        size_t symn, posn;
        uint32_t target, ends;
        if (!line_field(&l, &sym, &symn) || !line_number(&l, 10, 8, &target) ||
            !line_field(&l, &target_pos, &posn) || !line_number(&l, 16, 4, &ends))
            return cloister_errf(err, CLOISTER_E_INVALID,
                                 "WordNet data: synset %u has fewer pointers than it says", offset);
        bool hyponym = (symn == 1 && sym[0] == '~') ||
                       (symn == 2 && sym[0] == '~' && sym[1] == 'i');
        if (hyponym && posn == 1 && *target_pos == pos && v->hyponym) {
            int rc = v->hyponym(target, v->arg);
            if (rc)
                return rc;
        }
    }
    return CLOISTER_OK;
}

int wn_exceptions(const char *exc, size_t len,
                  int (*fn)(const char *inflected, size_t ilen, const char *base, size_t blen,
                            void *arg),
                  void *arg)
{
    for (size_t start = 0; start < len;) {
        struct wn_line l = line_at(exc, len, start);
        start = (size_t)(l.end - exc) + 1;
        const char *inflected, *base;
        size_t ilen, blen;
        if (!line_field(&l, &inflected, &ilen))
            continue;
        while (line_field(&l, &base, &blen)) {
            int rc = fn(inflected, ilen, base, blen, arg);
            if (rc)
                return rc;
        }
    }
    return 0;
}
