/*
 * suggest.c - nearest-name suggestions by edit distance (see suggest.h).
 */
#include "suggest.h"

#include <ctype.h>
#include <string.h>

#include "xalloc.h"
#include <stdlib.h>

size_t suggest_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j, res;
	size_t *d = xmalloc((la + 1) * (lb + 1) * sizeof(*d));
#define D(i, j) d[(i) * (lb + 1) + (j)]
	for (i = 0; i <= la; i++)
		D(i, 0) = i;
	for (j = 0; j <= lb; j++)
		D(0, j) = j;
	for (i = 1; i <= la; i++) {
		for (j = 1; j <= lb; j++) {
			int ca = tolower((unsigned char)a[i - 1]), cb = tolower((unsigned char)b[j - 1]);
			size_t best = D(i - 1, j - 1) + (ca != cb);
			if (D(i - 1, j) + 1 < best)
				best = D(i - 1, j) + 1;
			if (D(i, j - 1) + 1 < best)
				best = D(i, j - 1) + 1;
			if (i > 1 && j > 1 && ca == tolower((unsigned char)b[j - 2]) &&
			    tolower((unsigned char)a[i - 2]) == cb && D(i - 2, j - 2) + 1 < best)
				best = D(i - 2, j - 2) + 1;
			D(i, j) = best;
		}
	}
	res = D(la, lb);
#undef D
	free(d);
	return res;
}

struct scored {
	size_t dist;
	size_t index;
};

static int cmp_scored(const void *a, const void *b)
{
	const struct scored *x = a, *y = b;
	if (x->dist != y->dist)
		return x->dist < y->dist ? -1 : 1;
	return x->index < y->index ? -1 : (x->index > y->index);
}

size_t suggest_nearest(const char *word, const char *const *cands, size_t ncands, const char **out,
		       size_t max)
{
	struct scored *s = xmalloc((ncands + 1) * sizeof(*s));
	size_t n = 0, i, len = strlen(word);
	/* A typo changes about a third of a short word at most; longer names tolerate a little more. */
	size_t limit = len < 4 ? 1 : len / 3 + 1;

	for (i = 0; i < ncands; i++) {
		size_t dist = suggest_distance(word, cands[i]);
		if (dist > limit && !(len >= 2 && strstr(cands[i], word)))
			continue;
		s[n].dist = dist;
		s[n].index = i;
		n++;
	}
	if (n > 1) /* qsort with a NULL base is undefined even for no elements */
		qsort(s, n, sizeof(*s), cmp_scored);
	if (n > max)
		n = max;
	for (i = 0; i < n; i++)
		out[i] = cands[s[i].index];
	free(s);
	return n;
}
