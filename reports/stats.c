/*
 * stats.c - bootstrap intervals, paired tests, Holm's correction, best marks, average ranks with
 * Friedman's test and Nemenyi's critical difference, for tables that rank methods with their uncertainty.
 * Where scipy or numpy define the answer (wilcoxon, friedmanchisquare, percentile), this follows their
 * arithmetic step by step, so that tests/unit/test_stats.c can hold it to theirs.
 */
#include "reports/stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lib/error.h"
#include "lib/xalloc.h"

static inline uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += UINT64_C(0x9e3779b97f4a7c15));
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

void stats_rng_init(struct stats_rng *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&seed);
}

uint64_t stats_rng_next(struct stats_rng *r)
{
	uint64_t *s = r->s;
	uint64_t result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

uint64_t stats_rng_below(struct stats_rng *r, uint64_t n)
{
	/* 2^64 mod n values at the bottom would make low residues likelier: draw again there. */
	uint64_t threshold = (0 - n) % n, x;

	if (!n)
		BUG("stats_rng_below(0)");
	do
		x = stats_rng_next(r);
	while (x < threshold);
	return x % n;
}

double stats_percentile(const double *sorted, size_t n, double q)
{
	double h = (double)(n - 1) * (q / 100.0), g, a, b;
	size_t lo;

	if (!n)
		BUG("stats_percentile of nothing");
	if (h <= 0)
		return sorted[0];
	if (h >= (double)(n - 1))
		return sorted[n - 1];
	lo = (size_t)floor(h);
	g = h - (double)lo;
	a = sorted[lo];
	b = sorted[lo + 1];
	/* numpy's _lerp: from the nearer end, so that g = 1 - tiny still gives b exactly */
	return g >= 0.5 ? b - (b - a) * (1 - g) : a + (b - a) * g;
}

static int check_finite(const double *x, size_t n, const char *what)
{
	for (size_t i = 0; i < n; i++)
		if (!isfinite(x[i]))
			return error("non-finite %s at image %zu", what, i);
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* The B resampled means of x into means[B], sorted ascending. */
static void boot_means(const double *x, size_t n, const struct stats_boot_opts *o, double *means)
{
	struct stats_rng r;

	stats_rng_init(&r, o->seed);
	for (unsigned b = 0; b < o->B; b++) {
		double sum = 0;
		for (size_t i = 0; i < n; i++)
			sum += x[stats_rng_below(&r, n)];
		means[b] = sum / (double)n;
	}
	qsort(means, o->B, sizeof(*means), cmp_double);
}

static int check_boot_opts(const struct stats_boot_opts *o)
{
	if (!o->B)
		return error("bootstrap needs at least one resample");
	if (!(o->alpha > 0 && o->alpha < 1))
		return error("bootstrap alpha %g is not in (0, 1)", o->alpha);
	return 0;
}

static double mean_of(const double *x, size_t n)
{
	double sum = 0;
	for (size_t i = 0; i < n; i++)
		sum += x[i];
	return sum / (double)n;
}

/* The interval of x, and if p is not NULL the p-value of "mean 0" (stats_bootstrap_paired's rule). */
static int boot_ci(const double *x, size_t n, const struct stats_boot_opts *o, struct stats_ci *out,
		   double *p)
{
	static const struct stats_boot_opts dflt = STATS_BOOT_OPTS_INIT;
	double *means;

	if (!o)
		o = &dflt;
	if (!n)
		return error("bootstrap of no images");
	if (check_boot_opts(o))
		return -1;
	means = xmalloc(o->B * sizeof(*means));
	boot_means(x, n, o, means);
	out->mean = mean_of(x, n);
	out->lo = stats_percentile(means, o->B, 100 * (o->alpha / 2));
	out->hi = stats_percentile(means, o->B, 100 * (1 - o->alpha / 2));
	if (p) {
		size_t le = 0, ge = 0;
		for (unsigned b = 0; b < o->B; b++) {
			le += means[b] <= 0;
			ge += means[b] >= 0;
		}
		*p = 2.0 * (double)(1 + (le < ge ? le : ge)) / ((double)o->B + 1);
		if (*p > 1)
			*p = 1;
	}
	free(means);
	return 0;
}

int stats_bootstrap_mean(const double *x, size_t n, const struct stats_boot_opts *o, struct stats_ci *out)
{
	if (check_finite(x, n, "value"))
		return -1;
	return boot_ci(x, n, o, out, NULL);
}

/* d = a - b, or NULL after error() if a value is not finite. */
static double *differences(const double *a, const double *b, size_t n)
{
	double *d;

	if (check_finite(a, n, "value") || check_finite(b, n, "value"))
		return NULL;
	d = xmalloc((n ? n : 1) * sizeof(*d));
	for (size_t i = 0; i < n; i++)
		d[i] = a[i] - b[i];
	return d;
}

int stats_bootstrap_paired(const double *a, const double *b, size_t n, const struct stats_boot_opts *o,
			   struct stats_paired *out)
{
	double *d = differences(a, b, n);
	int ret;

	if (!d)
		return -1;
	ret = boot_ci(d, n, o, &out->ci, &out->p);
	free(d);
	return ret;
}

struct ranked {
	double v;
	size_t i;
};

static int cmp_ranked(const void *a, const void *b)
{
	const struct ranked *x = a, *y = b;
	if (x->v != y->v)
		return x->v < y->v ? -1 : 1;
	return (x->i > y->i) - (x->i < y->i); /* a total order: qsort is not stable */
}

/*
 * Ranks of v[0..n-1] ascending from 1, ties given the mean of their ranks (scipy's rankdata 'average'),
 * into rank[n]; returns the sum over tie groups of t(t^2 - 1), which both tie corrections need.
 */
static double rank_average(const double *v, size_t n, double *rank)
{
	struct ranked *r = xmalloc((n ? n : 1) * sizeof(*r));
	double ties = 0;

	for (size_t i = 0; i < n; i++) {
		r[i].v = v[i];
		r[i].i = i;
	}
	qsort(r, n, sizeof(*r), cmp_ranked);
	for (size_t i = 0, j; i < n; i = j) {
		double t, avg;
		for (j = i + 1; j < n && r[j].v == r[i].v; j++)
			;
		avg = ((double)(i + 1) + (double)j) / 2; /* positions i+1..j */
		for (size_t m = i; m < j; m++)
			rank[r[m].i] = avg;
		t = (double)(j - i);
		ties += t * (t * t - 1);
	}
	free(r);
	return ties;
}

/* P(R+ = r) for r = 0..n(n+1)/2 under the null, no ties: scipy's _get_wilcoxon_distr recurrence. */
static double *wilcoxon_pmf(size_t n, size_t *len)
{
	size_t full = n * (n + 1) / 2 + 1, m = 1;
	double *c = xcalloc(full, sizeof(*c)), *prev = xcalloc(full, sizeof(*prev));

	c[0] = 1;
	for (size_t k = 1; k <= n; k++) {
		size_t kl = k * (k + 1) / 2 + 1;
		memcpy(prev, c, m * sizeof(*c));
		memset(c, 0, kl * sizeof(*c));
		for (size_t i = 0; i < m; i++)
			c[i] = prev[i] * 0.5;
		for (size_t i = 0; i < m; i++)
			c[kl - m + i] += prev[i] * 0.5;
		m = kl;
	}
	free(prev);
	*len = full;
	return c;
}

int stats_wilcoxon(const double *a, const double *b, size_t n, const struct stats_wilcoxon_opts *o,
		   struct stats_wilcoxon *out)
{
	static const struct stats_wilcoxon_opts dflt = STATS_WILCOXON_OPTS_INIT;
	double *d = differences(a, b, n), *r, r_plus = 0, r_minus = 0, ties, T;
	enum stats_wilcoxon_method mode;
	size_t zeros = 0, count = 0;

	if (!d)
		return -1;
	if (!o)
		o = &dflt;
	mode = o->method;
	if (mode == STATS_WILCOXON_AUTO)
		mode = n <= 50 ? STATS_WILCOXON_EXACT : STATS_WILCOXON_APPROX;
	for (size_t i = 0; i < n; i++)
		zeros += d[i] == 0;
	if (zeros)
		mode = STATS_WILCOXON_APPROX;
	if (mode == STATS_WILCOXON_EXACT && n > STATS_WILCOXON_EXACT_MAX) {
		free(d);
		return error("exact wilcoxon test of %zu differences is too costly (at most %d)", n,
			     STATS_WILCOXON_EXACT_MAX);
	}
	/* the approximation drops zero differences ('wilcox'); the exact test has none to drop */
	for (size_t i = 0; i < n; i++)
		if (d[i] != 0)
			d[count++] = d[i];
	out->n_used = count;
	out->exact = 0;
	out->z = NAN;
	if (!count) {
		out->statistic = 0;
		out->p = 1;
		free(d);
		return 0;
	}
	r = xmalloc(count * sizeof(*r));
	for (size_t i = 0; i < count; i++)
		r[i] = fabs(d[i]);
	ties = rank_average(r, count, r);
	for (size_t i = 0; i < count; i++) {
		if (d[i] > 0)
			r_plus += r[i];
		else
			r_minus += r[i];
	}
	T = r_plus < r_minus ? r_plus : r_minus;
	out->statistic = T;

	if (mode == STATS_WILCOXON_APPROX) {
		double cn = (double)count, mn = cn * (cn + 1) * 0.25;
		double se = cn * (cn + 1) * (2 * cn + 1), cc = 0;

		se -= 0.5 * ties;
		se = sqrt(se / 24);
		if (o->correction)
			cc = 0.5 * (double)((T > mn) - (T < mn));
		out->z = (T - mn - cc) / se;
		out->p = erfc(fabs(out->z) / sqrt(2.0)); /* 2 P(Z > |z|) */
	} else {
		size_t len, rp = (size_t)r_plus; /* truncated, as scipy's int(r_plus) */
		double *pmf = wilcoxon_pmf(count, &len), lo = 0, hi = 0, p;

		if (rp == (len - 1) / 2) {
			p = 1;
		} else {
			for (size_t i = 0; i <= rp; i++)
				lo += pmf[i];
			for (size_t i = rp; i < len; i++)
				hi += pmf[i];
			p = 2 * (lo < hi ? lo : hi);
		}
		out->p = p > 1 ? 1 : p < 0 ? 0 : p;
		out->exact = 1;
		free(pmf);
	}
	free(r);
	free(d);
	return 0;
}

void stats_holm(const double *p, size_t m, double *adjusted)
{
	struct ranked *r = xmalloc((m ? m : 1) * sizeof(*r));
	double running = 0;

	for (size_t i = 0; i < m; i++) {
		r[i].v = p[i];
		r[i].i = i;
	}
	qsort(r, m, sizeof(*r), cmp_ranked);
	/* r holds copies of p, so adjusted may be p */
	for (size_t j = 0; j < m; j++) {
		double a = (double)(m - j) * r[j].v;
		if (a > 1)
			a = 1;
		if (a > running)
			running = a;
		adjusted[r[j].i] = running;
	}
	free(r);
}

int stats_mark_best(const double *values, size_t k, size_t n, enum stats_direction dir,
		    const struct stats_mark_opts *o, int *mark, double *p_adj)
{
	static const struct stats_mark_opts dflt = STATS_MARK_OPTS_INIT;
	double *means, *p, *adj, best;
	size_t ref = 0, *who, nt = 0;
	int ret = 0;

	if (!o)
		o = &dflt;
	if (!k)
		return 0;
	if (!n)
		return error("best mark over no images");
	if (!(o->alpha > 0 && o->alpha < 1))
		return error("mark alpha %g is not in (0, 1)", o->alpha);
	if (check_finite(values, k * n, "value"))
		return -1;
	means = xmalloc(k * sizeof(*means));
	for (size_t m = 0; m < k; m++) {
		means[m] = mean_of(values + m * n, n);
		if ((double)dir * means[m] > (double)dir * means[ref])
			ref = m;
	}
	best = means[ref];
	p = xmalloc(k * sizeof(*p));
	adj = xmalloc(k * sizeof(*adj));
	who = xmalloc(k * sizeof(*who));
	for (size_t m = 0; m < k && !ret; m++) {
		if (means[m] == best)
			continue;
		who[nt] = m;
		if (o->test == STATS_TEST_BOOTSTRAP) {
			struct stats_paired pr = { { 0, 0, 0 }, 1 };
			ret = stats_bootstrap_paired(values + m * n, values + ref * n, n, &o->boot, &pr);
			p[nt++] = pr.p;
		} else {
			struct stats_wilcoxon w = { 0, 1, 0, 0, 0 };
			ret = stats_wilcoxon(values + m * n, values + ref * n, n, NULL, &w);
			p[nt++] = w.p;
		}
	}
	if (!ret) {
		stats_holm(p, nt, adj);
		for (size_t m = 0; m < k; m++) {
			mark[m] = 1;
			if (p_adj)
				p_adj[m] = 1;
		}
		for (size_t t = 0; t < nt; t++) {
			mark[who[t]] = adj[t] >= o->alpha;
			if (p_adj)
				p_adj[who[t]] = adj[t];
		}
	}
	free(who);
	free(adj);
	free(p);
	free(means);
	return ret;
}

static int check_table(const double *scores, size_t n_settings, size_t k)
{
	if (!n_settings || !k)
		return error("ranks of an empty table (%zu settings, %zu methods)", n_settings, k);
	return check_finite(scores, n_settings * k, "score");
}

int stats_average_ranks(const double *scores, size_t n_settings, size_t k, enum stats_direction dir,
			double *avg_rank)
{
	double *row, *rank;

	if (check_table(scores, n_settings, k))
		return -1;
	row = xmalloc(k * sizeof(*row));
	rank = xmalloc(k * sizeof(*rank));
	for (size_t m = 0; m < k; m++)
		avg_rank[m] = 0;
	for (size_t s = 0; s < n_settings; s++) {
		/* rank 1 to the best: negate where higher is better (exact, ties kept) */
		for (size_t m = 0; m < k; m++)
			row[m] = dir == STATS_HIGHER_BETTER ? -scores[s * k + m] : scores[s * k + m];
		rank_average(row, k, rank);
		for (size_t m = 0; m < k; m++)
			avg_rank[m] += rank[m];
	}
	for (size_t m = 0; m < k; m++)
		avg_rank[m] /= (double)n_settings;
	free(rank);
	free(row);
	return 0;
}

int stats_friedman(const double *scores, size_t n_settings, size_t k, struct stats_friedman *out)
{
	double *sums, *rank, ties = 0, ssbn = 0, c, dk = (double)k, dn = (double)n_settings;

	if (check_table(scores, n_settings, k))
		return -1;
	if (k < 3)
		return error("friedman test needs at least 3 methods, not %zu", k);
	sums = xcalloc(k, sizeof(*sums));
	rank = xmalloc(k * sizeof(*rank));
	for (size_t s = 0; s < n_settings; s++) {
		ties += rank_average(scores + s * k, k, rank);
		for (size_t m = 0; m < k; m++)
			sums[m] += rank[m];
	}
	for (size_t m = 0; m < k; m++)
		ssbn += sums[m] * sums[m];
	c = 1 - ties / (dk * (dk * dk - 1) * dn);
	if (c <= 0) {
		out->chi2 = 0;
		out->p = 1;
	} else {
		out->chi2 = (12.0 / (dk * dn * (dk + 1)) * ssbn - 3 * dn * (dk + 1)) / c;
		out->p = stats_chi2_sf(out->chi2, dk - 1);
	}
	out->iman_davenport = (dn - 1) * out->chi2 / (dn * (dk - 1) - out->chi2);
	out->iman_davenport_p = stats_f_sf(out->iman_davenport, dk - 1, (dk - 1) * (dn - 1));
	free(rank);
	free(sums);
	return 0;
}

/* q_alpha for k = 2..20: scipy.stats.studentized_range.ppf(1 - alpha, k, inf) / sqrt(2), scipy 1.10. */
static const double nemenyi_q05[] = {
	1.959964, 2.343701, 2.569032, 2.727774, 2.849705, 2.948320, 3.030878, 3.101730, 3.163684, 3.218654,
	3.268004, 3.312739, 3.353618, 3.391230, 3.426041, 3.458425, 3.488685, 3.517073, 3.543799,
};
static const double nemenyi_q10[] = {
	1.644854, 2.052293, 2.291341, 2.459516, 2.588521, 2.692732, 2.779884, 2.854606, 2.919889, 2.977768,
	3.029694, 3.076733, 3.119693, 3.159199, 3.195743, 3.229723, 3.261461, 3.291224, 3.319233,
};

double stats_nemenyi_q(size_t k, double alpha)
{
	const double *t;

	if (fabs(alpha - 0.05) < 1e-12)
		t = nemenyi_q05;
	else if (fabs(alpha - 0.10) < 1e-12)
		t = nemenyi_q10;
	else
		return NAN;
	if (k < 2 || k - 2 >= ARRAY_SIZE(nemenyi_q05))
		return NAN;
	return t[k - 2];
}

double stats_nemenyi_cd(size_t k, size_t n_settings, double alpha)
{
	double dk = (double)k;

	if (!n_settings)
		return NAN;
	return stats_nemenyi_q(k, alpha) * sqrt(dk * (dk + 1) / (6 * (double)n_settings));
}

/*
 * Q(a, x), the regularized upper incomplete gamma function: its series below a + 1, Lentz's continued
 * fraction above (Numerical Recipes, 6.2), each to double precision. Written here rather than linking a
 * numerical library for this one function.
 */
static double gamma_q(double a, double x)
{
	const double eps = 1e-16, tiny = 1e-300;
	double front = exp(-x + a * log(x) - lgamma(a));

	if (x < a + 1) {
		double ap = a, del = 1 / a, sum = del;
		for (int i = 0; i < 10000 && fabs(del) > fabs(sum) * eps; i++) {
			ap += 1;
			del *= x / ap;
			sum += del;
		}
		return 1 - sum * front;
	} else {
		double b = x + 1 - a, c = 1 / tiny, d = 1 / b, h = d;
		for (int i = 1; i < 10000; i++) {
			double an = -i * (i - a), del;
			b += 2;
			d = an * d + b;
			if (fabs(d) < tiny)
				d = tiny;
			c = b + an / c;
			if (fabs(c) < tiny)
				c = tiny;
			d = 1 / d;
			del = d * c;
			h *= del;
			if (fabs(del - 1) < eps)
				break;
		}
		return front * h;
	}
}

/*
 * I_x(a, b), the regularized incomplete beta function, by Lentz's continued fraction on the side where it
 * converges fast (Numerical Recipes, 6.4).
 */
static double beta_cf(double a, double b, double x)
{
	const double eps = 1e-16, tiny = 1e-300;
	double qab = a + b, qap = a + 1, qam = a - 1, c = 1, d = 1 - qab * x / qap, h;

	if (fabs(d) < tiny)
		d = tiny;
	d = 1 / d;
	h = d;
	for (int m = 1; m < 10000; m++) {
		double m2 = 2.0 * m, aa = m * (b - m) * x / ((qam + m2) * (a + m2)), del;
		d = 1 + aa * d;
		d = fabs(d) < tiny ? 1 / tiny : 1 / d;
		c = 1 + aa / c;
		if (fabs(c) < tiny)
			c = tiny;
		h *= d * c;
		aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
		d = 1 + aa * d;
		d = fabs(d) < tiny ? 1 / tiny : 1 / d;
		c = 1 + aa / c;
		if (fabs(c) < tiny)
			c = tiny;
		del = d * c;
		h *= del;
		if (fabs(del - 1) < eps)
			break;
	}
	return h;
}

static double beta_reg(double a, double b, double x)
{
	double front;

	if (x <= 0)
		return 0;
	if (x >= 1)
		return 1;
	front = exp(lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log1p(-x));
	if (x < (a + 1) / (a + b + 2))
		return front * beta_cf(a, b, x) / a;
	return 1 - front * beta_cf(b, a, 1 - x) / b;
}

double stats_f_sf(double f, double df1, double df2)
{
	if (!(df1 > 0 && df2 > 0) || isnan(f))
		return NAN;
	if (f <= 0)
		return 1;
	if (isinf(f))
		return 0;
	/* P(F > f) = I_{df2 / (df2 + df1 f)}(df2/2, df1/2), computed from the smaller tail */
	return beta_reg(df2 / 2, df1 / 2, df2 / (df2 + df1 * f));
}

double stats_chi2_sf(double x, double df)
{
	if (!(df > 0) || isnan(x))
		return NAN;
	if (x <= 0)
		return 1;
	if (isinf(x))
		return 0;
	return gamma_q(df / 2, x / 2);
}
