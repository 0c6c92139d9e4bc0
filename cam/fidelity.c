/*
 * fidelity.c - Shapley fidelity (see fidelity.h): the CRG game's Shapley values at the target layer by
 * antithetic permutation sampling, every coalition of a batch's images through the head in a few large
 * forwards, and each method's map compared with them by rank and by L2.
 */
#include "cam/fidelity.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cam/corr.h"
#include "lib/error.h"
#include "lib/xalloc.h"

/* splitmix64: the orders of one image come from one stream, whatever batch it is in */
static uint64_t next_random(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* P random orders of d positions (Fisher-Yates; the modulo's bias is below d / 2^64) */
static void draw_orders(uint32_t *perm, size_t pairs, size_t d, uint64_t seed)
{
	uint64_t state = seed;
	size_t q, i;

	for (q = 0; q < pairs; q++) {
		uint32_t *o = perm + q * d;
		for (i = 0; i < d; i++)
			o[i] = (uint32_t)i;
		for (i = d; i > 1; i--) {
			size_t j = (size_t)(next_random(&state) % i);
			uint32_t t = o[i - 1];
			o[i - 1] = o[j];
			o[j] = t;
		}
	}
}

/*
 * The coalitions of one image, numbered: 0 the empty one, 1 all positions, then for each pair q the
 * d - 1 proper prefixes of its order walked forwards (lengths 1..d-1) and then backwards (the last k
 * positions of the order, k = 1..d-1). Coalition t's mask (d floats) into m.
 */
static void coalition_mask(float *m, const uint32_t *perms, size_t d, size_t t)
{
	size_t per = 2 * (d - 1), q, r, k, i;
	const uint32_t *o;

	if (t < 2) {
		for (i = 0; i < d; i++)
			m[i] = (float)t;
		return;
	}
	q = (t - 2) / per;
	r = (t - 2) % per;
	o = perms + q * d;
	for (i = 0; i < d; i++)
		m[i] = 0.0f;
	if (r < d - 1) {
		for (k = 0; k <= r; k++)
			m[o[k]] = 1.0f;
	} else {
		for (k = d - 1 - (r - (d - 1)); k < d; k++)
			m[o[k]] = 1.0f;
	}
}

/* The value of coalition k (0..d) of pair q's walk (back: the backward walk), from the image's values v */
static double walk_value(const double *v, size_t d, size_t q, int back, size_t k)
{
	if (k == 0)
		return v[0];
	if (k == d)
		return v[1];
	return v[2 + q * 2 * (d - 1) + (back ? d - 1 : 0) + (k - 1)];
}

/*
 * The utility of n coalitions (t0 .. t0 + n - 1) of every image of the pass in one head forward, into
 * v[b * T + t]. Returns 0, or -1 with ts_error() saying why (an out-of-memory error stays a device's).
 */
static int eval_chunk(const struct cam_pass *p, const uint32_t *perms, size_t pairs, size_t d, size_t T,
		      size_t t0, size_t n, double *v)
{
	size_t nb = (size_t)p->batch, b, j;
	int64_t C = ts_size(p->a, 1), h = ts_size(p->a, 2), w = ts_size(p->a, 3);
	int64_t mshape[5] = { (int64_t)nb, (int64_t)n, 1, h, w }, shape[4] = { (int64_t)(nb * n), C, h, w };
	float *mask = xmalloc(nb * n * d * sizeof(float));
	double *u = xmalloc(nb * n * sizeof(double));
	ts_tensor *mh, *m, *a5, *am5, *am, *logits = NULL, *tgt, *ut = NULL;
	ts_carry *carry;
	int ret = -1;

	for (b = 0; b < nb; b++)
		for (j = 0; j < n; j++)
			coalition_mask(mask + (b * n + j) * d, perms + b * pairs * d, d, t0 + j);
	/* (B, 1, C, h, w) times (B, n, 1, h, w): the masked copies in one product, without a repeated A */
	mh = ts_from_f32(mask, mshape, 5, "cpu");
	m = ts_to_like(mh, p->a);
	a5 = ts_unsqueeze(p->a, 1);
	am5 = ts_mul(a5, m);
	am = ts_reshape(am5, shape, 4);
	carry = am ? ts_carry_repeat_interleave(p->carry, (int64_t)n) : NULL;
	if (carry)
		logits = ts_split_suffix(p->split, carry, am);
	tgt = ts_repeat_interleave(p->target, (int64_t)n);
	if (logits && tgt)
		ut = cam_pass_utility(p, logits, tgt);
	if (ut && ts_copy_f64(ut, u, nb * n) == (long)(nb * n)) {
		for (b = 0; b < nb; b++)
			for (j = 0; j < n; j++)
				v[b * T + t0 + j] = u[b * n + j];
		ret = 0;
	}
	ts_carry_free(carry);
	ts_free(mh);
	ts_free(m);
	ts_free(a5);
	ts_free(am5);
	ts_free(am);
	ts_free(logits);
	ts_free(tgt);
	ts_free(ut);
	free(mask);
	free(u);
	return ret;
}

/* Each position's contributions in both walks of each pair, averaged per pair, into phi and se. */
static void aggregate(const double *v, const uint32_t *perm, size_t pairs, size_t d, double *phi,
		      double *se)
{
	double *pair = xcalloc(d, sizeof(double)), *sum = xcalloc(d, sizeof(double));
	double *sq = xcalloc(d, sizeof(double));
	size_t q, k, j;

	for (q = 0; q < pairs; q++) {
		const uint32_t *o = perm + q * d;
		for (k = 1; k <= d; k++)
			pair[o[k - 1]] = walk_value(v, d, q, 0, k) - walk_value(v, d, q, 0, k - 1);
		for (k = 1; k <= d; k++)
			pair[o[d - k]] += walk_value(v, d, q, 1, k) - walk_value(v, d, q, 1, k - 1);
		for (j = 0; j < d; j++) {
			sum[j] += pair[j] / 2;
			sq[j] += pair[j] * pair[j] / 4;
		}
	}
	for (j = 0; j < d; j++) {
		double mean = sum[j] / (double)pairs;
		double var = pairs > 1 ? (sq[j] - (double)pairs * mean * mean) / (double)(pairs - 1) : NAN;
		phi[j] = mean;
		se[j] = pairs > 1 ? sqrt(fmax(var, 0.0) / (double)pairs) : NAN;
	}
	free(pair);
	free(sum);
	free(sq);
}

int fidelity_estimate(struct fidelity *f, const struct cam_pass *p, const size_t *items,
		      const struct fidelity_opts *o)
{
	size_t nb = (size_t)p->batch, pairs = o->pairs > 0 ? (size_t)o->pairs : 1, d, T, t0, n, b, per;
	int64_t C = ts_size(p->a, 1);
	uint32_t *perms;
	double *v;
	int prev, ret = 0;

	memset(f, 0, sizeof(*f));
	f->n = nb;
	f->h = ts_size(p->a, 2);
	f->w = ts_size(p->a, 3);
	if (ts_dim(p->a) != 4 || C < 1 || f->h < 1 || f->w < 1)
		return error("shapley fidelity: no activation map to play the game on");
	d = f->d = (size_t)(f->h * f->w);
	T = 2 + pairs * 2 * (d - 1);
	per = (size_t)C * d * sizeof(float) * nb;
	n = per >= o->chunk_bytes ? 1 : o->chunk_bytes / per;
	if (n > T)
		n = T;
	perms = xmalloc(nb * pairs * d * sizeof(uint32_t));
	v = xmalloc(nb * T * sizeof(double));
	for (b = 0; b < nb; b++)
		draw_orders(perms + b * pairs * d, pairs, d,
			    cam_image_seed(o->seed ^ 0x5348415045ULL, items ? items[b] : b));
	prev = ts_set_grad(0);
	for (t0 = 0; t0 < T && !ret; t0 += n)
		ret = eval_chunk(p, perms, pairs, d, T, t0, T - t0 < n ? T - t0 : n, v);
	ts_set_grad(prev);
	if (!ret) {
		f->phi = xmalloc(nb * d * sizeof(double));
		f->se = xmalloc(nb * d * sizeof(double));
		for (b = 0; b < nb; b++)
			aggregate(v + b * T, perms + b * pairs * d, pairs, d, f->phi + b * d, f->se + b * d);
		f->forwards = (long)T;
	}
	free(perms);
	free(v);
	return ret;
}

void fidelity_release(struct fidelity *f)
{
	free(f->phi);
	free(f->se);
	memset(f, 0, sizeof(*f));
}

/*
 * Map i of s (hs x ws per image, on the host) at the layer's grid into out[d]: as it is, or the mean of
 * each block where the grid is a multiple of the layer's. 0, or -1 where it is neither.
 */
static int to_grid(const float *s, int64_t hs, int64_t ws, const struct fidelity *f, double *out)
{
	int64_t by = hs / f->h, bx = ws / f->w, y, x;

	if (hs % f->h || ws % f->w)
		return -1;
	for (size_t j = 0; j < f->d; j++)
		out[j] = 0;
	for (y = 0; y < hs; y++)
		for (x = 0; x < ws; x++)
			out[(y / by) * f->w + x / bx] += s[y * ws + x];
	for (size_t j = 0; j < f->d; j++)
		out[j] /= (double)(by * bx);
	return 0;
}

int fidelity_compare(const struct fidelity *f, const ts_tensor *s, double *rank, double *l2)
{
	int64_t hs = ts_dim(s) == 3 ? ts_size(s, 1) : 0, ws = ts_dim(s) == 3 ? ts_size(s, 2) : 0;
	size_t plane = (size_t)(hs * ws), d = f->d, i, j;
	float *host;
	double *m, *rm, *rp;

	if (ts_dim(s) != 3 || ts_size(s, 0) != (int64_t)f->n)
		return error("shapley fidelity: the map is not one (h, w) plane per image");
	host = xmalloc(f->n * plane * sizeof(float));
	if (ts_copy_f32(s, host, f->n * plane) != (long)(f->n * plane)) {
		free(host);
		return -1;
	}
	m = xmalloc(d * sizeof(double));
	rm = xmalloc(d * sizeof(double));
	rp = xmalloc(d * sizeof(double));
	for (i = 0; i < f->n; i++) {
		const double *phi = f->phi + i * d;
		double diff = 0, norm = 0;
		struct corr_sums c;
		rank[i] = l2[i] = NAN;
		if (to_grid(host + i * plane, hs, ws, f, m) < 0)
			continue;
		for (j = 0; j < d; j++) {
			diff += (m[j] - phi[j]) * (m[j] - phi[j]);
			norm += phi[j] * phi[j];
		}
		corr_ranks(m, d, rm);
		corr_ranks(phi, d, rp);
		c = corr_sums_of(rm, rp, d);
		rank[i] = corr_pearson(&c);
		l2[i] = norm > 0 && isfinite(diff) ? sqrt(diff / norm) : NAN;
	}
	free(host);
	free(m);
	free(rm);
	free(rp);
	return 0;
}

int fidelity_eval(struct fidelity **cache, const struct cam_pass *p, const struct cam_extra *extra,
		  const ts_tensor *s, unsigned which, struct metric_row *rows)
{
	struct fidelity *f = *cache;
	double *rank, *l2;
	size_t i, j;
	int ret;

	if (!(which & (1u << METRIC_FIDELITY)))
		return 0;
	if (!f) {
		struct fidelity_opts o = FIDELITY_OPTS_INIT;
		o.seed = extra->seed;
		if (extra->metric_params)
			o.pairs = extra->metric_params->fidelity_pairs;
		f = *cache = xcalloc(1, sizeof(*f));
		if (fidelity_estimate(f, p, extra->items, &o) < 0)
			return -1; /* phi stays NULL: the batch's other methods fail at once */
	}
	if (!f->phi)
		return error("shapley fidelity: the batch's estimate failed");
	rank = xmalloc(f->n * sizeof(double));
	l2 = xmalloc(f->n * sizeof(double));
	ret = fidelity_compare(f, s, rank, l2);
	for (i = 0; !ret && i < f->n; i++) {
		double se = 0;
		for (j = 0; j < f->d; j++)
			se += f->se[i * f->d + j];
		rows[i].fidelity = rank[i];
		rows[i].fidelity_l2 = l2[i];
		rows[i].fidelity_se = se / (double)f->d;
	}
	free(rank);
	free(l2);
	return ret;
}

void fidelity_cache_free(struct fidelity *cache)
{
	if (!cache)
		return;
	fidelity_release(cache);
	free(cache);
}
