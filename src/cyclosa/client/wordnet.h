/* wordnet.h -- the few reads of the WordNet 3.0 database files that Cyclosa's sensitivity
 * analysis needs (wordnet.c): a lemma's senses from an index file, a synset's words and hyponym
 * pointers from a data file, and a morphological exception file's lines. Every reader works on
 * a buffer that may hold anything: the files come from the system, not from us. */
#ifndef CLOISTER_CYCLOSA_WORDNET_H
#define CLOISTER_CYCLOSA_WORDNET_H

#include <stddef.h>
#include <stdint.h>

#include <cloister/error.h>

#define WN_WORD_MAX 128 /* bytes of a normalised word or multi-word expression */

/* Lowercases w and turns every run of other characters than a-z and 0-9 into one '_' (so
 * "Al-Qaeda" and "sexually_transmitted_disease" read as a query's terms joined by '_'); out
 * holds WN_WORD_MAX bytes. Returns the length, 0 when nothing is left or it does not fit. */
size_t wn_normalise(const char *w, size_t len, char *out);

/* The synset offset of sense `sense` (1-based, WordNet's order) of lemma, found by binary search
 * in an index file (index.noun): CLOISTER_E_NOT_FOUND when the lemma or the sense is absent. */
int wn_index_sense(const char *index, size_t len, const char *lemma, unsigned sense,
                   uint32_t *offset, struct cloister_err *err);

/* What wn_synset reports: each word of the synset (as written in the file) and the offset of
 * each hyponym or instance hyponym of the same part of speech. A non-zero return stops. */
struct wn_synset_visit {
    int (*word)(const char *w, size_t len, void *arg);
    int (*hyponym)(uint32_t offset, void *arg);
    void *arg;
};

/* Reads the synset line at byte `offset` of a data file (data.noun): its first field must be that
 * offset. CLOISTER_E_INVALID names what is malformed. */
int wn_synset(const char *data, size_t len, uint32_t offset, const struct wn_synset_visit *v,
              struct cloister_err *err);

/* Calls fn(inflected, ilen, base, blen, arg) for every base form of every line of an exception
 * file (noun.exc: "inflected base [base...]"); a non-zero return stops and is returned. */
int wn_exceptions(const char *exc, size_t len,
                  int (*fn)(const char *inflected, size_t ilen, const char *base, size_t blen,
                            void *arg),
                  void *arg);

/* dir/name read whole (at most 64 MiB); the error says to install wordnet-base when absent. */
int wn_read_file(const char *dir, const char *name, uint8_t **buf, size_t *len,
                 struct cloister_err *err);

#endif
