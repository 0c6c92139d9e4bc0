/*
 * suggest.h - "did you mean" for names typed by a user (methods, layers, keys).
 */
#ifndef LIB_SUGGEST_H
#define LIB_SUGGEST_H

#include <stddef.h>

/* Damerau-Levenshtein (optimal string alignment) distance, case-insensitive. */
size_t suggest_distance(const char *a, const char *b);

/*
 * Fill out[0..max) with the candidates nearest to word, best first, keeping only those close enough
 * to be a plausible typo (or containing word as a substring). Returns how many were written; the
 * pointers point into cands.
 */
size_t suggest_nearest(const char *word, const char *const *cands, size_t ncands, const char **out,
		       size_t max);

#endif
