/*
 * corr.h - the correlations the metrics share: Pearson's over two maps, and Spearman's as Pearson's over
 * their ranks (ties get their average rank, scipy.stats.rankdata's "average"). ARCC's coherency,
 * target discrimination, the sanity check and Shapley fidelity each read them with their own convention
 * for a constant map, so this file gives the centred sums and leaves the undefined case to the caller.
 */
#ifndef CAM_CORR_H
#define CAM_CORR_H

#include <stddef.h>

/* The centred sums of a, b: sum (a - mean a)(b - mean b), sum (a - mean a)^2, sum (b - mean b)^2. */
struct corr_sums {
	double ab, aa, bb;
};

/* The sums of two maps of n values. */
struct corr_sums corr_sums_of(const double *a, const double *b, size_t n);
/* Pearson's r from the sums; NAN where either map is constant. */
double corr_pearson(const struct corr_sums *s);
/* The ranks (from 1, ties their average) of x[n] into rank[n]. */
void corr_ranks(const double *x, size_t n, double *rank);
/* A new array of the n floats x as doubles (exactly), for the maps that come from the device as floats. */
double *corr_widen(const float *x, size_t n);

#endif
