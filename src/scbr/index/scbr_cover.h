/* scbr_cover.h -- the covering test between subscriptions, used by the poset index. */
#ifndef CLOISTER_SCBR_COVER_H
#define CLOISTER_SCBR_COVER_H

#include "scbr/common/scbr_internal.h"

/* True only if every publication matching b matches a (sound; complete for interval
 * conjunctions, equalities, != and prefixes as described in scbr_cover.c). */
bool scbr_covers(const struct scbr_sub *a, const struct scbr_sub *b);
/* True if a and b have `=` predicates on one attribute whose values differ (or are not
 * comparable): no publication matches both. */
bool scbr_eq_disjoint(const struct scbr_sub *a, const struct scbr_sub *b);
/* A 64-bit Bloom signature of the attribute names: a covers b only if sig(a) is within sig(b). */
uint64_t scbr_attr_signature(const struct scbr_sub *s);

#endif
