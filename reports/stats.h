/*
 * stats.h - the statistics behind rankings with uncertainty (issue 17): bootstrap confidence intervals of
 * a mean over images, paired tests of two methods on the same images (Wilcoxon signed-rank, paired
 * bootstrap), Holm's step-down correction, the "best, and significantly better than every other" mark,
 * and average ranks across settings with Friedman's test and Nemenyi's critical difference (Demšar 2006).
 *
 * Pure functions over arrays of doubles; nothing here reads the results database or prints a table.
 * Ownership: the caller owns every array passed in and every output array or struct (sized as each
 * function says); the functions allocate only scratch space, freed before they return, and keep no
 * state between calls. Invariants on input: values are finite (a NaN or an infinity is refused with
 * error(): the caller decides whether an image without a value is dropped, for every method alike);
 * paired arrays are over the same images in the same order. Functions that can refuse their input return
 * 0 or -1 (after error()); on -1 the outputs are unspecified.
 *
 * Reproducibility: every resampling draws from stats_rng (xoshiro256** seeded by splitmix64, both
 * specified below bit for bit), in a fixed order, so that a seed gives the same intervals and p-values on
 * every machine and compiler; floating-point sums run in index order.
 */
#ifndef REPORTS_STATS_H
#define REPORTS_STATS_H

#include <stddef.h>
#include <stdint.h>

/*
 * The portable PRNG: xoshiro256** 1.0 (Blackman and Vigna, https://prng.di.unimi.it/xoshiro256starstar.c)
 * whose four state words are the first four outputs of splitmix64 (https://prng.di.unimi.it/splitmix64.c)
 * started at seed. stats_rng_below(r, n), n > 0, is uniform on [0, n): it draws x until
 * x >= (2^64 - n) mod n and returns x mod n (rejection, no modulo bias).
 */
struct stats_rng {
	uint64_t s[4];
};
void stats_rng_init(struct stats_rng *r, uint64_t seed);
uint64_t stats_rng_next(struct stats_rng *r);
uint64_t stats_rng_below(struct stats_rng *r, uint64_t n);

/*
 * The q-th percentile (0 <= q <= 100) of sorted[0..n-1] (ascending, n > 0): Hyndman and Fan's type 7,
 * numpy.percentile's default 'linear': h = (n-1) q/100, sorted[floor h] interpolated towards the next by
 * the fraction of h (computed as numpy 1.24 does, from the nearer end).
 */
double stats_percentile(const double *sorted, size_t n, double q);

/* Bootstrap settings: B resamples, a (1 - alpha) interval, the PRNG's seed. */
struct stats_boot_opts {
	unsigned B;
	double alpha;
	uint64_t seed;
};
#define STATS_BOOT_OPTS_INIT { 1000, 0.05, 0 }

/*
 * A mean with its bootstrap percentile interval: lo and hi are the alpha/2 and 1 - alpha/2 percentiles
 * (stats_percentile) of the B resampled means.
 */
struct stats_ci {
	double mean, lo, hi;
};

/*
 * The mean of x[0..n-1] (n > 0) and its percentile bootstrap interval over images. Resample b (b = 0..B-1
 * in order) draws n indices i_1..i_n with stats_rng_below(n) from one stats_rng seeded with o->seed (NULL:
 * STATS_BOOT_OPTS_INIT) and its mean is (x[i_1] + ... + x[i_n]) / n, summed in draw order.
 */
int stats_bootstrap_mean(const double *x, size_t n, const struct stats_boot_opts *o, struct stats_ci *out);

/*
 * The paired bootstrap of the mean difference a - b over the same n images: ci is stats_bootstrap_mean
 * of d_i = a_i - b_i (so the images are resampled as pairs), and p is the two-sided p-value of "mean
 * difference 0" read off the same B resampled means m_b, by inverting the percentile interval:
 * p = min(1, 2 min(1 + #{m_b <= 0}, 1 + #{m_b >= 0}) / (B + 1)). The +1s keep p above 0 (its smallest
 * value is 2/(B+1)); all d_i = 0 gives p = 1.
 */
struct stats_paired {
	struct stats_ci ci;
	double p;
};
int stats_bootstrap_paired(const double *a, const double *b, size_t n, const struct stats_boot_opts *o,
			   struct stats_paired *out);

/*
 * The Wilcoxon signed-rank test of a against b on the same n images, two-sided, exactly as
 * scipy.stats.wilcoxon(a, b) of scipy 1.10 with its defaults (zero_method='wilcox', correction=False,
 * method='auto'), other methods and the continuity correction on request:
 * - d_i = a_i - b_i; in 'auto', the exact null distribution of R+ is used when n <= 50 (n counting zero
 *   differences), the normal approximation otherwise. Any d_i == 0 turns 'exact' into 'approx' (scipy
 *   warns and does the same).
 * - The approximation drops zero differences, ranks |d| with ties averaged, and uses
 *   z = (T - n'(n'+1)/4 - c) / sqrt((n'(n'+1)(2n'+1) - sum over tie groups t(t^2-1)/2) / 24), n' the
 *   differences left, c = 0 or, with correction, 0.5 sign(T - n'(n'+1)/4); p = 2 P(Z > |z|).
 * - The exact p-value is 2 min(P(R+ <= r), P(R+ >= r)) clipped to 1 (1 at the centre), with r = R+
 *   truncated to an integer: with tied |d| scipy 1.10 still uses the untied distribution, and so do we,
 *   to match it; ask for STATS_WILCOXON_APPROX where ties are common.
 * - statistic is T = min(R+, R-). z is NaN for the exact test.
 * Where scipy fails, we answer: n == 0, or every d_i == 0 (scipy: NaN, or ValueError in the
 * approximation), give statistic 0, p = 1, n_used 0: no evidence of a difference.
 */
enum stats_wilcoxon_method {
	STATS_WILCOXON_AUTO = 0,
	STATS_WILCOXON_EXACT,
	STATS_WILCOXON_APPROX,
};
struct stats_wilcoxon_opts {
	enum stats_wilcoxon_method method;
	int correction; /* the continuity correction of the approximation */
};
#define STATS_WILCOXON_OPTS_INIT { STATS_WILCOXON_AUTO, 0 }
/* The exact distribution costs O(n^3) time: STATS_WILCOXON_EXACT beyond this many images is refused. */
#define STATS_WILCOXON_EXACT_MAX 1000
struct stats_wilcoxon {
	double statistic, p, z;
	size_t n_used; /* differences ranked: n less the zeros the approximation dropped */
	int exact;     /* 1: the exact distribution gave p */
};
int stats_wilcoxon(const double *a, const double *b, size_t n, const struct stats_wilcoxon_opts *o,
		   struct stats_wilcoxon *out);

/*
 * Holm's step-down correction of m p-values (the pairs of one table are one family): with p sorted
 * ascending p_(1) <= ... <= p_(m) (ties in input order), adjusted_(i) = max over j <= i of
 * min(1, (m - j + 1) p_(j)). adjusted has m entries and may be p itself. Rejecting where
 * adjusted < alpha controls the family-wise error rate at alpha.
 */
void stats_holm(const double *p, size_t m, double *adjusted);

/* Which way a metric is better. */
enum stats_direction {
	STATS_LOWER_BETTER = -1,
	STATS_HIGHER_BETTER = 1,
};

/* The paired test behind the mark. */
enum stats_test {
	STATS_TEST_WILCOXON = 0, /* stats_wilcoxon with STATS_WILCOXON_OPTS_INIT */
	STATS_TEST_BOOTSTRAP,    /* stats_bootstrap_paired with boot */
};
struct stats_mark_opts {
	enum stats_test test;
	double alpha;
	struct stats_boot_opts boot;
};
#define STATS_MARK_OPTS_INIT { STATS_TEST_WILCOXON, 0.05, STATS_BOOT_OPTS_INIT }

/*
 * The "best" mark of one table column: values holds k methods' values on the same n images, method m's
 * at values[m * n + i]. The rule:
 * 1. the reference is the method with the best mean (dir; the lowest index among equal means); every
 *    method whose mean equals it exactly is marked;
 * 2. each other method is compared with the reference by the paired test (o->test, NULL:
 *    STATS_MARK_OPTS_INIT), and the k' p-values so obtained are Holm-corrected as one family;
 * 3. a method is marked when its adjusted p >= o->alpha: it cannot be told apart from the best.
 * So the reference alone holds the mark exactly when it is the best and significantly better than every
 * other method at family-wise level alpha. mark[k] gets 1 or 0; p_adj[k], if not NULL, the Holm-adjusted
 * p-value against the reference (1 for the methods of step 1). n must be > 0.
 */
int stats_mark_best(const double *values, size_t k, size_t n, enum stats_direction dir,
		    const struct stats_mark_opts *o, int *mark, double *p_adj);

/*
 * Average ranks across settings (datasets, models, layers): scores holds n_settings rows of k methods'
 * summary values (say a mean metric), row s at scores[s * k + m]. Within each row the best method (dir)
 * gets rank 1, ties share the average of their ranks; avg_rank[k] gets each method's mean rank over rows.
 */
int stats_average_ranks(const double *scores, size_t n_settings, size_t k, enum stats_direction dir,
			double *avg_rank);

/*
 * Friedman's test on the same layout (k >= 3, n_settings >= 1), as scipy.stats.friedmanchisquare of
 * scipy 1.10: chi2 = (12 / (N k (k+1)) sum_j R_j^2 - 3 N (k+1)) / C, R_j the rank sums, C = 1 - sum over
 * each row's tie groups t(t^2-1) / (N k (k^2-1)); p = P(chi2_{k-1} > chi2). iman_davenport is
 * Iman and Davenport's F = (N-1) chi2 / (N(k-1) - chi2) and iman_davenport_p its p-value on
 * (k-1, (k-1)(N-1)) degrees of freedom, which Demšar recommends as less conservative (from the
 * tie-corrected chi2; +inf and p = 0 when every row ranks the methods alike, NaN p for N = 1). Every row
 * all tied (C = 0): chi2 = 0, p = 1 (scipy divides by zero).
 */
struct stats_friedman {
	double chi2, p, iman_davenport, iman_davenport_p;
};
int stats_friedman(const double *scores, size_t n_settings, size_t k, struct stats_friedman *out);

/*
 * Nemenyi's test (Demšar 2006, section 3.2.2): two methods' average ranks over N settings differ
 * significantly when they differ by at least CD = q_alpha sqrt(k (k+1) / (6 N)). q_alpha is the
 * studentized range quantile for k groups and infinite degrees of freedom divided by sqrt(2), tabulated
 * for 2 <= k <= 20 and alpha 0.05 or 0.10 (scipy.stats.studentized_range.ppf(1 - alpha, k, inf) / sqrt 2,
 * to 6 decimals; Demšar's Table 5a gives k <= 10 to 3). Both return NaN outside the table or for N == 0.
 */
double stats_nemenyi_q(size_t k, double alpha);
double stats_nemenyi_cd(size_t k, size_t n_settings, double alpha);

/* P(X > x) for X chi-squared with df > 0 degrees of freedom (the regularized upper incomplete gamma). */
double stats_chi2_sf(double x, double df);

/* P(X > f) for X F-distributed with df1, df2 > 0 degrees of freedom (the regularized incomplete beta). */
double stats_f_sf(double f, double df1, double df2);

#endif
