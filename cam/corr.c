/*
 * corr.c - Pearson's sums and average ranks for the metrics' correlations (see corr.h).
 */
#include <math.h>
#include <stdlib.h>

#include "cam/corr.h"
#include "lib/xalloc.h"

struct corr_sums corr_sums_of(const double *a, const double *b, size_t n)
{
	struct corr_sums s = { 0, 0, 0 };
	double ma = 0, mb = 0;
	size_t i;

	if (!n)
		return s;
	for (i = 0; i < n; i++) {
		ma += a[i];
		mb += b[i];
	}
	ma /= (double)n;
	mb /= (double)n;
	for (i = 0; i < n; i++) {
		double da = a[i] - ma, db = b[i] - mb;
		s.ab += da * db;
		s.aa += da * da;
		s.bb += db * db;
	}
	return s;
}

double corr_pearson(const struct corr_sums *s)
{
	return s->aa > 0 && s->bb > 0 ? s->ab / sqrt(s->aa * s->bb) : NAN;
}

struct ranked {
	double v;
	size_t i;
};

/* by value, then position: qsort is not stable, and ties must not depend on its whim */
static int by_value(const void *pa, const void *pb)
{
	const struct ranked *a = pa, *b = pb;
	if (a->v != b->v)
		return a->v < b->v ? -1 : 1;
	return a->i < b->i ? -1 : a->i > b->i;
}

void corr_ranks(const double *x, size_t n, double *rank)
{
	struct ranked *tmp = xmalloc((n ? n : 1) * sizeof(*tmp));
	size_t i, j, k;

	for (i = 0; i < n; i++)
		tmp[i] = (struct ranked){ x[i], i };
	qsort(tmp, n, sizeof(*tmp), by_value);
	for (i = 0; i < n; i = j) {
		for (j = i + 1; j < n && tmp[j].v == tmp[i].v; j++)
			;
		for (k = i; k < j; k++)
			rank[tmp[k].i] = (double)(i + j + 1) / 2.0;
	}
	free(tmp);
}

double *corr_widen(const float *x, size_t n)
{
	double *d = xmalloc((n ? n : 1) * sizeof(*d));
	size_t i;

	for (i = 0; i < n; i++)
		d[i] = x[i];
	return d;
}
