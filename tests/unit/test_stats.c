/*
 * test_stats.c - reports/stats.c held to independent computations: values from the literature and
 * scipy's documentation first, then every function against Debian's python3 ($CAMLAB_PYTHON, default
 * /usr/bin/python3) on fixed and random inputs with ties and zeros: scipy.stats.wilcoxon,
 * friedmanchisquare, rankdata, chi2.sf and studentized_range, numpy.percentile, and a Python
 * re-implementation of the bootstrap's PRNG and resampling from the header's specification. Without
 * python, numpy or scipy those comparisons skip with the reason.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/error.h"
#include "lib/strbuf.h"
#include "lib/xalloc.h"
#include "reports/stats.h"
#include "tests/tap.h"

/* The test's own data generator (not stats_rng, which is under test): a 64-bit LCG's top 53 bits. */
static uint64_t lcg = 12345;
static double unif(void)
{
	lcg = lcg * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
	return (double)(lcg >> 11) / 9007199254740992.0;
}

/* One comparison with python: what we computed, the python call that should print the same. */
struct check {
	char *name;
	double mine[64];
	int nv;
	double rel, abs; /* tolerances */
};
static struct check *checks;
static size_t nchecks, achecks;
static struct strbuf calls = STRBUF_INIT;

static void add_list(struct strbuf *sb, const double *v, size_t n)
{
	strbuf_addch(sb, '[');
	for (size_t i = 0; i < n; i++)
		strbuf_addf(sb, "%s%.17g", i ? "," : "", v[i]);
	strbuf_addch(sb, ']');
}

static struct check *add_check(const char *name, double rel, double abs_floor)
{
	struct check *c;

	ALLOC_GROW(checks, nchecks + 1, achecks);
	c = &checks[nchecks++];
	memset(c, 0, sizeof(*c));
	c->name = xstrdup(name);
	c->rel = rel;
	c->abs = abs_floor;
	return c;
}

static void mine(struct check *c, double v)
{
	if (c->nv >= (int)ARRAY_SIZE(c->mine))
		BUG("too many values in check '%s'", c->name);
	c->mine[c->nv++] = v;
}

/* The python side: each call prints one line of values (reprs), in the order of the checks. */
static const char py_header[] =
	"import sys, warnings\n"
	"warnings.simplefilter('ignore')\n"
	"try:\n"
	"    import numpy as np, scipy, scipy.stats as st\n"
	"except Exception as e:\n"
	"    print('SKIP', type(e).__name__, e); sys.exit(0)\n"
	"print('VERSION scipy', scipy.__version__, 'numpy', np.__version__)\n"
	"M = (1 << 64) - 1\n"
	"def out(*v): print(' '.join(repr(float(x)) for x in v))\n"
	"def rotl(x, k): return ((x << k) | (x >> (64 - k))) & M\n"
	"class Rng:\n"
	"    def __init__(s, seed):\n"
	"        x = seed; s.s = []\n"
	"        for _ in range(4):\n"
	"            x = (x + 0x9e3779b97f4a7c15) & M\n"
	"            z = ((x ^ (x >> 30)) * 0xbf58476d1ce4e5b9) & M\n"
	"            z = ((z ^ (z >> 27)) * 0x94d049bb133111eb) & M\n"
	"            s.s.append(z ^ (z >> 31))\n"
	"    def next(s):\n"
	"        s0, s1, s2, s3 = s.s\n"
	"        r = (rotl((s1 * 5) & M, 7) * 9) & M\n"
	"        t = (s1 << 17) & M\n"
	"        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3; s2 ^= t; s3 = rotl(s3, 45)\n"
	"        s.s = [s0, s1, s2, s3]\n"
	"        return r\n"
	"    def below(s, n):\n"
	"        th = ((1 << 64) - n) % n\n"
	"        while True:\n"
	"            x = s.next()\n"
	"            if x >= th: return x % n\n"
	"def RNG(seed, count, n):\n"
	"    r = Rng(seed); v = []\n"
	"    for _ in range(count):\n"
	"        x = r.next(); v += [x >> 32, x & 0xffffffff]\n"
	"    v += [r.below(n) for _ in range(count)]\n"
	"    out(*v)\n"
	"def PCT(x, q): out(np.percentile(np.array(x), q))\n"
	"def boot(x, B, alpha, seed):\n"
	"    r = Rng(seed); n = len(x); means = []\n"
	"    for b in range(B):\n"
	"        s = 0.0\n"
	"        for i in range(n): s += x[r.below(n)]\n"
	"        means.append(s / n)\n"
	"    m = np.array(means)\n"
	"    lo, hi = np.percentile(m, [100 * (alpha / 2), 100 * (1 - alpha / 2)])\n"
	"    p = min(1.0, 2 * min(1 + np.sum(m <= 0), 1 + np.sum(m >= 0)) / (B + 1))\n"
	"    return np.mean(x), lo, hi, p\n"
	"def BOOT(x, B, alpha, seed): out(*boot(x, B, alpha, seed)[:3])\n"
	"def PAIRED(a, b, B, alpha, seed): out(*boot([u - v for u, v in zip(a, b)], B, alpha, seed))\n"
	"def W(a, b, method, corr):\n"
	"    r = st.wilcoxon(a, b, correction=bool(corr), method=method)\n"
	"    out(r.statistic, r.pvalue)\n"
	"def holm(p):\n"
	"    m = len(p); order = sorted(range(m), key=lambda i: (p[i], i)); adj = [0.0] * m\n"
	"    for j, i in enumerate(order):\n"
	"        adj[i] = max(min(1.0, (m - r) * p[order[r]]) for r in range(j + 1))\n"
	"    return adj\n"
	"def HOLM(p): out(*holm(p))\n"
	"def seqmean(v):\n"
	"    s = 0.0\n"
	"    for x in v: s += x\n"
	"    return s / len(v)\n"
	"def MARK(vals, k, n, d, test, alpha, B, balpha, seed):\n"
	"    V = [vals[m * n:(m + 1) * n] for m in range(k)]\n"
	"    means = [seqmean(v) for v in V]\n"
	"    ref = 0\n"
	"    for m in range(k):\n"
	"        if d * means[m] > d * means[ref]: ref = m\n"
	"    others = [m for m in range(k) if means[m] != means[ref]]\n"
	"    if test == 0: ps = [st.wilcoxon(V[m], V[ref]).pvalue for m in others]\n"
	"    else: ps = [boot([u - v for u, v in zip(V[m], V[ref])], B, balpha, seed)[3] for m in others]\n"
	"    adj = holm(ps); mark = [1.0] * k; padj = [1.0] * k\n"
	"    for m, a in zip(others, adj): mark[m] = float(a >= alpha); padj[m] = a\n"
	"    out(*(mark + padj))\n"
	"def RANKS(sc, N, k, d):\n"
	"    S = np.array(sc).reshape(N, k)\n"
	"    out(*np.mean([st.rankdata(-row if d > 0 else row) for row in S], axis=0))\n"
	"def FRIEDMAN(sc, N, k):\n"
	"    S = np.array(sc).reshape(N, k)\n"
	"    r = st.friedmanchisquare(*S.T)\n"
	"    F = (N - 1) * r.statistic / (N * (k - 1) - r.statistic)\n"
	"    out(r.statistic, r.pvalue, F, st.f.sf(F, k - 1, (k - 1) * (N - 1)))\n"
	"def NEMENYI(k, a): out(st.studentized_range.ppf(1 - a, k, np.inf) / np.sqrt(2))\n"
	"def CHI2(x, df): out(st.chi2.sf(x, df))\n"
	"def F(f, d1, d2): out(st.f.sf(f, d1, d2))\n";

/* Checks with known answers, no python. */
static void literature_checks(void)
{
	/* splitmix64 from 0: its published first outputs are xoshiro's state */
	struct stats_rng r;
	double sorted[] = { 1, 2, 3, 4 }, c[20];
	/* scipy.stats.wilcoxon's documentation: statistic 24, p 0.041259765625 exact, 0.04088813291185591 */
	double d[] = { 6, 8, 14, 16, 23, 24, 28, 29, 41, -48, 49, 56, 60, -67, 75 }, zero[15] = { 0 };
	double p[] = { 0.01, 0.04, 0.03, 0.005 }, adj[4];
	struct stats_wilcoxon w;
	struct stats_wilcoxon_opts approx = { STATS_WILCOXON_APPROX, 0 };
	struct stats_ci ci;
	struct stats_paired pr;
	/* Demšar (2006), Table 5a: q_0.05 and q_0.10 for k = 2..10 */
	static const double q05[] = { 1.960, 2.343, 2.569, 2.728, 2.850, 2.949, 3.031, 3.102, 3.164 };
	static const double q10[] = { 1.645, 2.052, 2.291, 2.459, 2.589, 2.693, 2.780, 2.855, 2.920 };
	int ok_q = 1, mark[3];
	double vals[3 * 20], pa[3];

	stats_rng_init(&r, 0);
	ok(r.s[0] == UINT64_C(0xe220a8397b1dcdaf) && r.s[1] == UINT64_C(0x6e789e6aa1b965f4) &&
		   r.s[2] == UINT64_C(0x06c45d188009454f),
	   "splitmix64(0) seeds xoshiro256** with its published outputs");

	ok(stats_percentile(sorted, 4, 50) == 2.5 && stats_percentile(sorted, 4, 25) == 1.75 &&
		   stats_percentile(sorted, 4, 0) == 1 && stats_percentile(sorted, 4, 100) == 4 &&
		   stats_percentile(sorted, 1, 2.5) == 1,
	   "percentile type 7 on 1..4");

	ok(!stats_wilcoxon(d, zero, 15, NULL, &w) && w.statistic == 24 && w.exact &&
		   close_rel(w.p, 0.041259765625, 1e-12, 0),
	   "wilcoxon: scipy's documented exact example (T %g, p %.17g)", w.statistic, w.p);
	ok(!stats_wilcoxon(d, zero, 15, &approx, &w) && w.statistic == 24 && !w.exact &&
		   close_rel(w.p, 0.04088813291185591, 1e-12, 0),
	   "wilcoxon: scipy's documented approximation (p %.17g)", w.p);
	ok(!stats_wilcoxon(zero, zero, 15, NULL, &w) && w.p == 1 && w.statistic == 0 && w.n_used == 0 &&
		   !stats_wilcoxon(zero, zero, 0, NULL, &w) && w.p == 1,
	   "wilcoxon: no non-zero difference gives p = 1 (documented; scipy raises)");

	stats_holm(p, 4, adj);
	ok(close_rel(adj[0], 0.03, 1e-12, 0) && close_rel(adj[1], 0.06, 1e-12, 0) &&
		   close_rel(adj[2], 0.06, 1e-12, 0) && close_rel(adj[3], 0.02, 1e-12, 0),
	   "holm: 0.01 0.04 0.03 0.005 -> %g %g %g %g", adj[0], adj[1], adj[2], adj[3]);
	stats_holm(p, 4, p);
	ok(!memcmp(p, adj, sizeof(adj)), "holm: adjusting in place gives the same");

	for (size_t k = 2; k <= 10; k++)
		ok_q &= fabs(stats_nemenyi_q(k, 0.05) - q05[k - 2]) <= 0.0011 &&
			fabs(stats_nemenyi_q(k, 0.10) - q10[k - 2]) <= 0.0011;
	ok(ok_q, "nemenyi q: Demšar's table 5a for k = 2..10");
	/* Demšar's worked example: 4 classifiers on 14 data sets */
	ok(fabs(stats_nemenyi_cd(4, 14, 0.05) - 1.25) < 0.005 &&
		   fabs(stats_nemenyi_cd(4, 14, 0.10) - 1.12) < 0.005,
	   "nemenyi CD: Demšar's example, k 4 N 14: %.3f (1.25), %.3f (1.12)", stats_nemenyi_cd(4, 14, 0.05),
	   stats_nemenyi_cd(4, 14, 0.10));
	ok(isnan(stats_nemenyi_q(21, 0.05)) && isnan(stats_nemenyi_q(1, 0.05)) &&
		   isnan(stats_nemenyi_q(5, 0.01)) && isnan(stats_nemenyi_cd(5, 0, 0.05)),
	   "nemenyi: NaN outside the table");
	ok(close_rel(stats_chi2_sf(3.0, 2), exp(-1.5), 1e-13, 0) &&
		   close_rel(stats_chi2_sf(3.841458820694124, 1), 0.05, 1e-10, 0) &&
		   close_rel(stats_chi2_sf(40, 2), exp(-20), 1e-12, 0),
	   "chi2 sf: df 2 is exp(-x/2); the 5%% point of df 1");

	for (int i = 0; i < 20; i++)
		c[i] = 0.25;
	ok(!stats_bootstrap_mean(c, 20, NULL, &ci) && ci.mean == 0.25 && ci.lo == 0.25 && ci.hi == 0.25,
	   "bootstrap of a constant is that constant");
	for (int i = 0; i < 20; i++)
		c[i] = unif();
	ok(!stats_bootstrap_paired(c, c, 20, NULL, &pr) && pr.p == 1 && pr.ci.lo == 0 && pr.ci.hi == 0,
	   "paired bootstrap of a method with itself: p 1");
	for (int i = 0; i < 20; i++) {
		zero[i % 15] = 0;
		d[i % 15] = c[i] + 1;
	}
	ok(!stats_bootstrap_paired(d, zero, 15, NULL, &pr) && pr.p == 2.0 / 1001 && pr.ci.lo > 1,
	   "paired bootstrap, every difference positive: p is the smallest, 2/(B+1)");
	{
		struct stats_boot_opts o1 = STATS_BOOT_OPTS_INIT, o2 = STATS_BOOT_OPTS_INIT;
		struct stats_ci a1, a2, b1;
		o2.seed = 7;
		stats_bootstrap_mean(c, 20, &o1, &a1);
		stats_bootstrap_mean(c, 20, &o1, &a2);
		stats_bootstrap_mean(c, 20, &o2, &b1);
		ok(!memcmp(&a1, &a2, sizeof(a1)) && (a1.lo != b1.lo || a1.hi != b1.hi) && a1.lo < a1.mean &&
			   a1.mean < a1.hi,
		   "bootstrap: a seed gives the same interval, another seed another");
	}

	/* method 1 better than 0 and 2 on every image (higher better); 0 and 2 identical */
	for (int i = 0; i < 20; i++) {
		vals[i] = vals[40 + i] = c[i];
		vals[20 + i] = c[i] + 0.5;
	}
	ok(!stats_mark_best(vals, 3, 20, STATS_HIGHER_BETTER, NULL, mark, pa) && !mark[0] && mark[1] &&
		   !mark[2] && pa[1] == 1 && pa[0] < 0.05,
	   "mark: a method better on every image alone holds the mark");
	ok(!stats_mark_best(vals, 3, 20, STATS_LOWER_BETTER, NULL, mark, pa) && mark[0] && !mark[1] &&
		   mark[2],
	   "mark: equal best means share the mark");
	vals[25] = NAN;
	error_set_quiet(1);
	ok(stats_mark_best(vals, 3, 20, STATS_LOWER_BETTER, NULL, mark, pa) == -1 &&
		   stats_wilcoxon(vals + 20, vals, 20, NULL, &w) == -1 &&
		   stats_bootstrap_mean(vals, 0, NULL, &ci) == -1,
	   "non-finite values and empty inputs are refused");
	error_set_quiet(0);
}

static double pick(int kind, double u)
{
	/* kind 1 and 3: one decimal, so values and differences tie */
	return kind & 1 ? round(u * 10) / 10 : u;
}

/* Two samples of n with kind's ties (bit 0) and zero differences (bit 1), a shifted a bit. */
static void pair_data(double *a, double *b, size_t n, int kind, double shift)
{
	for (size_t i = 0; i < n; i++) {
		a[i] = pick(kind, unif() + shift);
		b[i] = (kind & 2) && unif() < 0.25 ? a[i] : pick(kind, unif());
	}
	if ((kind & 2) && n)
		b[0] = a[0] + 1; /* never every difference zero: scipy raises there */
}

static void wilcoxon_checks(void)
{
	static const size_t sizes[] = { 1, 2, 3, 5, 8, 10, 15, 25, 40, 50, 51, 60, 120 };
	static const char *const mname[] = { "auto", "exact", "approx" };
	double a[120], b[120];

	for (size_t s = 0; s < ARRAY_SIZE(sizes); s++) {
		size_t n = sizes[s];
		for (int kind = 0; kind < 4; kind++) {
			pair_data(a, b, n, kind, 0.1);
			for (int m = 0; m < 3; m++)
				for (int corr = 0; corr < 2; corr++) {
					struct stats_wilcoxon_opts o = { (enum stats_wilcoxon_method)m,
									 corr };
					struct stats_wilcoxon w;
					struct strbuf name = STRBUF_INIT;
					struct check *c;
					if (corr && m != STATS_WILCOXON_APPROX)
						continue;
					strbuf_addf(&name, "wilcoxon n %zu %s%s%s %s", n,
						    kind & 1 ? "ties " : "", kind & 2 ? "zeros " : "",
						    mname[m], corr ? "corrected" : "");
					c = add_check(name.buf, 1e-9, 1e-300);
					strbuf_release(&name);
					if (stats_wilcoxon(a, b, n, &o, &w))
						BUG("stats_wilcoxon refused %s", c->name);
					mine(c, w.statistic);
					mine(c, w.p);
					strbuf_addstr(&calls, "W(");
					add_list(&calls, a, n);
					strbuf_addch(&calls, ',');
					add_list(&calls, b, n);
					strbuf_addf(&calls, ",'%s',%d)\n", mname[m], corr);
				}
		}
	}
}

static void rng_checks(void)
{
	static const uint64_t seeds[] = { 0, 1, 42, UINT64_MAX };
	static const uint64_t ns[] = { 1, 3, 1000, UINT64_C(0x8000000000000001) };

	for (size_t s = 0; s < ARRAY_SIZE(seeds); s++) {
		struct stats_rng r;
		struct strbuf name = STRBUF_INIT;
		struct check *c;
		strbuf_addf(&name, "rng seed %llu: 16 outputs, 16 draws below %llu",
			    (unsigned long long)seeds[s], (unsigned long long)ns[s]);
		c = add_check(name.buf, 0, 0);
		strbuf_release(&name);
		stats_rng_init(&r, seeds[s]);
		for (int i = 0; i < 16; i++) {
			uint64_t x = stats_rng_next(&r);
			mine(c, (double)(x >> 32));
			mine(c, (double)(x & 0xffffffff));
		}
		for (int i = 0; i < 16; i++)
			mine(c, (double)stats_rng_below(&r, ns[s]));
		strbuf_addf(&calls, "RNG(%llu, 16, %llu)\n", (unsigned long long)seeds[s],
			    (unsigned long long)ns[s]);
	}
}

static void bootstrap_checks(void)
{
	static const size_t sizes[] = { 1, 2, 7, 50, 200 };
	static const double qs[] = { 0, 2.5, 25, 33.3, 50, 97.5, 100 };
	double x[200], y[200], sorted[200];

	for (size_t s = 0; s < ARRAY_SIZE(sizes); s++) {
		size_t n = sizes[s];
		for (int kind = 0; kind < 2; kind++) {
			struct stats_boot_opts o = STATS_BOOT_OPTS_INIT;
			struct stats_ci ci;
			struct stats_paired pr;
			struct strbuf name = STRBUF_INIT;
			struct check *c;

			if (kind) { /* other settings, ties */
				o.B = 257;
				o.alpha = 0.1;
				o.seed = UINT64_C(0xdeadbeefcafe);
			}
			pair_data(x, y, n, kind ? 3 : 0, 0.05);
			strbuf_addf(&name, "bootstrap mean n %zu B %u alpha %g seed %llu", n, o.B, o.alpha,
				    (unsigned long long)o.seed);
			c = add_check(name.buf, 1e-12, 1e-15);
			if (stats_bootstrap_mean(x, n, &o, &ci))
				BUG("bootstrap refused");
			mine(c, ci.mean);
			mine(c, ci.lo);
			mine(c, ci.hi);
			strbuf_addstr(&calls, "BOOT(");
			add_list(&calls, x, n);
			strbuf_addf(&calls, ",%u,%.17g,%llu)\n", o.B, o.alpha, (unsigned long long)o.seed);

			strbuf_reset(&name);
			strbuf_addf(&name, "paired bootstrap n %zu B %u alpha %g%s", n, o.B, o.alpha,
				    kind ? " ties zeros" : "");
			c = add_check(name.buf, 1e-12, 1e-15);
			strbuf_release(&name);
			if (stats_bootstrap_paired(x, y, n, &o, &pr))
				BUG("paired bootstrap refused");
			mine(c, pr.ci.mean);
			mine(c, pr.ci.lo);
			mine(c, pr.ci.hi);
			mine(c, pr.p);
			strbuf_addstr(&calls, "PAIRED(");
			add_list(&calls, x, n);
			strbuf_addch(&calls, ',');
			add_list(&calls, y, n);
			strbuf_addf(&calls, ",%u,%.17g,%llu)\n", o.B, o.alpha, (unsigned long long)o.seed);
		}
		memcpy(sorted, x, n * sizeof(*x));
		for (size_t i = 1; i < n; i++) /* insertion sort: few values */
			for (size_t j = i; j > 0 && sorted[j - 1] > sorted[j]; j--) {
				double t = sorted[j];
				sorted[j] = sorted[j - 1];
				sorted[j - 1] = t;
			}
		for (size_t q = 0; q < ARRAY_SIZE(qs); q++) {
			struct strbuf name = STRBUF_INIT;
			struct check *c;
			strbuf_addf(&name, "percentile %g of %zu values", qs[q], n);
			c = add_check(name.buf, 1e-15, 0);
			strbuf_release(&name);
			mine(c, stats_percentile(sorted, n, qs[q]));
			strbuf_addstr(&calls, "PCT(");
			add_list(&calls, sorted, n);
			strbuf_addf(&calls, ",%.17g)\n", qs[q]);
		}
	}
}

static void holm_checks(void)
{
	double p[30], adj[30];

	for (size_t m = 1; m <= 30; m += 7) {
		struct strbuf name = STRBUF_INIT;
		struct check *c;
		for (size_t i = 0; i < m; i++) {
			double u = unif();
			p[i] = u < 0.3 ? u * u * 0.1 : u < 0.4 ? 0.01 : u; /* small ones, ties at 0.01 */
		}
		stats_holm(p, m, adj);
		strbuf_addf(&name, "holm over %zu p-values", m);
		c = add_check(name.buf, 1e-15, 0);
		strbuf_release(&name);
		for (size_t i = 0; i < m; i++)
			mine(c, adj[i]);
		strbuf_addstr(&calls, "HOLM(");
		add_list(&calls, p, m);
		strbuf_addstr(&calls, ")\n");
	}
}

static void mark_checks(void)
{
	double v[6 * 40];

	for (int t = 0; t < 12; t++) {
		size_t k = 2 + (size_t)t % 5, n = t < 6 ? 12 : 40;
		enum stats_direction dir = t & 1 ? STATS_HIGHER_BETTER : STATS_LOWER_BETTER;
		struct stats_mark_opts o = STATS_MARK_OPTS_INIT;
		struct strbuf name = STRBUF_INIT;
		struct check *c;
		int mark[6];
		double pa[6];

		o.test = t % 3 == 2 ? STATS_TEST_BOOTSTRAP : STATS_TEST_WILCOXON;
		o.boot.B = 200;
		o.boot.seed = (uint64_t)t;
		for (size_t m = 0; m < k; m++) {
			double shift = 0.08 * (double)m * (t & 2 ? 1 : 0.3);
			for (size_t i = 0; i < n; i++)
				v[m * n + i] = pick(t & 4 ? 1 : 0, unif() + shift);
		}
		if (k > 3)
			memcpy(v + n, v, n * sizeof(*v)); /* two methods with the same values */
		if (stats_mark_best(v, k, n, dir, &o, mark, pa))
			BUG("mark refused");
		strbuf_addf(&name, "mark %zu methods on %zu images, %s better, %s", k, n,
			    dir > 0 ? "higher" : "lower", o.test ? "bootstrap" : "wilcoxon");
		c = add_check(name.buf, 1e-9, 1e-300);
		strbuf_release(&name);
		for (size_t m = 0; m < k; m++)
			mine(c, mark[m]);
		for (size_t m = 0; m < k; m++)
			mine(c, pa[m]);
		strbuf_addstr(&calls, "MARK(");
		add_list(&calls, v, k * n);
		strbuf_addf(&calls, ",%zu,%zu,%d,%d,%.17g,%u,%.17g,%llu)\n", k, n, (int)dir, (int)o.test,
			    o.alpha, o.boot.B, o.boot.alpha, (unsigned long long)o.boot.seed);
	}
}

static void rank_checks(void)
{
	double sc[30 * 12], avg[12];

	for (int t = 0; t < 8; t++) {
		size_t k = 3 + (size_t)t, n = 2 + (size_t)t * 4;
		enum stats_direction dir = t & 1 ? STATS_HIGHER_BETTER : STATS_LOWER_BETTER;
		struct stats_friedman f;
		struct strbuf name = STRBUF_INIT;
		struct check *c;

		for (size_t i = 0; i < n * k; i++)
			sc[i] = pick(t & 2 ? 1 : 0, unif() + 0.05 * (double)(i % k));
		if (t == 5)
			for (size_t m = 0; m < k; m++)
				sc[m] = 0.5; /* a row all tied */
		if (stats_average_ranks(sc, n, k, dir, avg) || stats_friedman(sc, n, k, &f))
			BUG("ranks refused");
		strbuf_addf(&name, "average ranks of %zu methods over %zu settings%s", k, n,
			    t & 2 ? ", ties" : "");
		c = add_check(name.buf, 1e-13, 0);
		for (size_t m = 0; m < k; m++)
			mine(c, avg[m]);
		strbuf_addstr(&calls, "RANKS(");
		add_list(&calls, sc, n * k);
		strbuf_addf(&calls, ",%zu,%zu,%d)\n", n, k, (int)dir);

		strbuf_reset(&name);
		strbuf_addf(&name, "friedman of %zu methods over %zu settings%s", k, n,
			    t & 2 ? ", ties" : "");
		c = add_check(name.buf, 1e-10, 1e-300);
		strbuf_release(&name);
		mine(c, f.chi2);
		mine(c, f.p);
		mine(c, f.iman_davenport);
		mine(c, f.iman_davenport_p);
		strbuf_addstr(&calls, "FRIEDMAN(");
		add_list(&calls, sc, n * k);
		strbuf_addf(&calls, ",%zu,%zu)\n", n, k);
	}
}

static void table_checks(void)
{
	static const size_t ks[] = { 2, 7, 13, 20 };
	static const double xs[][2] = { { 0.5, 1 },  { 3.2, 2 },  { 9.5, 4 }, { 30, 5 },
					{ 150, 19 }, { 1e-3, 3 }, { 77, 60 } };

	/* Demšar's example, F_F = 3.69 on (3, 39), and the tails on either side of the beta's switch */
	static const double fs[][3] = { { 3.69, 3, 39 },  { 0.2, 5, 10 }, { 1, 1, 1 },	{ 25, 2, 8 },
					{ 1.5, 19, 342 }, { 1e-4, 4, 4 }, { 400, 3, 3 } };

	for (size_t i = 0; i < ARRAY_SIZE(ks); i++)
		for (int a = 0; a < 2; a++) {
			double alpha = a ? 0.10 : 0.05;
			struct strbuf name = STRBUF_INIT;
			struct check *c;
			strbuf_addf(&name, "nemenyi q k %zu alpha %g", ks[i], alpha);
			c = add_check(name.buf, 0, 5.1e-7); /* the table has 6 decimals */
			strbuf_release(&name);
			mine(c, stats_nemenyi_q(ks[i], alpha));
			strbuf_addf(&calls, "NEMENYI(%zu,%g)\n", ks[i], alpha);
		}
	for (size_t i = 0; i < ARRAY_SIZE(xs); i++) {
		struct strbuf name = STRBUF_INIT;
		struct check *c;
		strbuf_addf(&name, "chi2 sf x %g df %g", xs[i][0], xs[i][1]);
		c = add_check(name.buf, 1e-11, 1e-300);
		strbuf_release(&name);
		mine(c, stats_chi2_sf(xs[i][0], xs[i][1]));
		strbuf_addf(&calls, "CHI2(%.17g,%.17g)\n", xs[i][0], xs[i][1]);
	}
	for (size_t i = 0; i < ARRAY_SIZE(fs); i++) {
		struct strbuf name = STRBUF_INIT;
		struct check *c;
		strbuf_addf(&name, "F sf f %g df %g %g", fs[i][0], fs[i][1], fs[i][2]);
		c = add_check(name.buf, 1e-10, 1e-300);
		strbuf_release(&name);
		mine(c, stats_f_sf(fs[i][0], fs[i][1], fs[i][2]));
		strbuf_addf(&calls, "F(%.17g,%.17g,%.17g)\n", fs[i][0], fs[i][1], fs[i][2]);
	}
}

/* Run python on script, its stdout into out; 0 if it ran and exited 0. */
static int run_python(const char *py, const char *script, const char *out)
{
	int status, fd;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd < 0 || dup2(fd, 1) < 0)
			_exit(127);
		execl(py, py, script, (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) && !WEXITSTATUS(status) ? 0 : -1;
}

static void compare_with_python(void)
{
	const char *py = getenv("CAMLAB_PYTHON");
	char dir[] = "/tmp/test_stats.XXXXXX", line[1 << 16];
	struct strbuf script = STRBUF_INIT, outp = STRBUF_INIT;
	FILE *fp;
	size_t i = 0;

	if (!py || !*py)
		py = "/usr/bin/python3";
	if (access(py, X_OK)) {
		ok(1, "comparisons with scipy # SKIP no python at %s (set CAMLAB_PYTHON)", py);
		return;
	}
	if (!mkdtemp(dir)) {
		ok(0, "cannot make a temporary folder: %s", strerror(errno));
		return;
	}
	strbuf_addf(&script, "%s/compare.py", dir);
	strbuf_addf(&outp, "%s/out.txt", dir);
	fp = fopen(script.buf, "w");
	if (!fp || fputs(py_header, fp) < 0 || fputs(calls.buf, fp) < 0 || fclose(fp)) {
		ok(0, "cannot write '%s'", script.buf);
		goto out;
	}
	if (run_python(py, script.buf, outp.buf)) {
		ok(0, "%s failed on '%s'", py, script.buf);
		goto out;
	}
	fp = fopen(outp.buf, "r");
	if (!fp || !fgets(line, sizeof(line), fp)) {
		ok(0, "no output from %s", py);
		if (fp)
			fclose(fp);
		goto out;
	}
	line[strcspn(line, "\n")] = 0;
	if (!strncmp(line, "SKIP", 4)) {
		ok(1, "comparisons with scipy # SKIP %s lacks numpy or scipy: %s (set CAMLAB_PYTHON)", py,
		   line + 4);
		fclose(fp);
		goto out;
	}
	diag("%s: %s", py, line);
	for (i = 0; i < nchecks && fgets(line, sizeof(line), fp); i++) {
		struct check *c = &checks[i];
		char *s = line, *end;
		int good = 1, nv = 0;
		double theirs[64];
		for (;;) {
			double v = strtod(s, &end);
			if (end == s)
				break;
			if (nv < 64)
				theirs[nv] = v;
			nv++;
			s = end;
		}
		if (nv != c->nv)
			good = 0;
		for (int j = 0; good && j < nv; j++)
			good = (c->mine[j] == theirs[j]) || close_rel(c->mine[j], theirs[j], c->rel, c->abs);
		if (!ok(good, "%s", c->name)) {
			diag("python gave %d values, we %d", nv, c->nv);
			for (int j = 0; j < c->nv && j < nv; j++)
				diag("  %.17g vs python %.17g", c->mine[j], theirs[j]);
		}
	}
	fclose(fp);
	ok(i == nchecks, "python answered all %zu comparisons (%zu)", nchecks, i);
out:
	unlink(outp.buf);
	unlink(script.buf);
	rmdir(dir);
	strbuf_release(&script);
	strbuf_release(&outp);
}

int main(void)
{
	literature_checks();
	rng_checks();
	bootstrap_checks();
	wilcoxon_checks();
	holm_checks();
	mark_checks();
	rank_checks();
	table_checks();
	compare_with_python();
	for (size_t i = 0; i < nchecks; i++)
		free(checks[i].name);
	free(checks);
	strbuf_release(&calls);
	return done_testing();
}
