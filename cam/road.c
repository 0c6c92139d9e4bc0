/*
 * road.c - ROAD and ARCC (see road.h): the percentile masks, their imputation (road_impute.c) as jobs
 * on threads, and the batched forwards that score the imputed images.
 */
#include "cam/road.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "cam/corr.h"
#include "lib/error.h"
#include "lib/xalloc.h"

const double road_percentiles_default[9] = { 10, 20, 30, 40, 50, 60, 70, 80, 90 };
const double road_percentiles_arcc[4] = { 20, 40, 60, 80 };

void road_scores_release(struct road_scores *s)
{
	free(s->morf);
	free(s->lerf);
	free(s->morf_avg);
	free(s->lerf_avg);
	free(s->combined);
	memset(s, 0, sizeof(*s));
}

static int cmp_float(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;
	return (x > y) - (x < y);
}

/*
 * numpy 1.24's percentile ('linear'): virtual index (n - 1) * p / 100, the two neighbours in sorted
 * order, their difference taken in float32 (the values' type) and the interpolation in float64, from the
 * upper neighbour when the weight is at least 0.5. Upstream then compares a float32 tensor with it, which
 * torch does in float32: hence the float result.
 */
static float percentile_f32(float *sorted, size_t n, double p)
{
	double virt = (double)(n - 1) * (p / 100.0);
	double lo = floor(virt), t = virt - lo;
	size_t i = (size_t)lo, j = i + 1 < n ? i + 1 : n - 1;
	float a = sorted[i], b = sorted[j], d = b - a;
	double r = t >= 0.5 ? (double)b - (double)d * (1.0 - t) : (double)a + (double)d * t;
	return (float)r;
}

size_t road_keep_mask(const float *map, size_t n, double p, int lerf, unsigned char *keep)
{
	float *v = xmalloc(n * sizeof(*v));
	float thr;
	size_t i, kept = 0;

	if (!n) {
		free(v);
		return 0;
	}
	p = p > 0 ? (p < 100 ? p : 100) : 0; /* also NaN -> 0 */
	for (i = 0; i < n; i++)
		v[i] = lerf ? 1.0f - map[i] : map[i];
	qsort(v, n, sizeof(*v), cmp_float);
	thr = percentile_f32(v, n, p);
	for (i = 0; i < n; i++) {
		float x = lerf ? 1.0f - map[i] : map[i];
		keep[i] = x < thr;
		kept += keep[i];
	}
	free(v);
	return kept;
}

/*
 * The target of each row of logits (nb, K) for classes cls: the logit, or its softmax probability
 * computed in double (upstream's float32 softmax agrees to rounding).
 */
static int score_rows(const ts_tensor *logits, size_t nb, const long *cls, enum road_target target,
		      float *score)
{
	int64_t K;
	float *l;
	size_t i;

	if (ts_dim(logits) != 2 || (size_t)ts_size(logits, 0) != nb)
		return error("road: the model's output is not (batch, classes)");
	K = ts_size(logits, 1);
	l = xmalloc(nb * K * sizeof(*l));
	if (ts_copy_f32(logits, l, nb * K) < 0) {
		free(l);
		return error("road: %s", ts_error());
	}
	for (i = 0; i < nb; i++) {
		const float *r = l + i * K;
		double mx = r[0], sum = 0;
		int64_t k;

		if (cls[i] < 0 || cls[i] >= K) {
			free(l);
			return error("road: class %ld out of range for %lld classes", cls[i], (long long)K);
		}
		if (target == ROAD_LOGIT) {
			score[i] = r[cls[i]];
			continue;
		}
		for (k = 1; k < K; k++)
			mx = r[k] > mx ? r[k] : mx;
		for (k = 0; k < K; k++)
			sum += exp(r[k] - mx);
		score[i] = (float)(exp(r[cls[i]] - mx) / sum);
	}
	free(l);
	return 0;
}

/* Forward nb images (host, float32) on like's device and score them. */
static int forward_scores(ts_module *m, const ts_tensor *like, const float *imgs, size_t nb, int C, int H,
			  int W, const long *cls, enum road_target target, float *score)
{
	int64_t shape[4] = { (int64_t)nb, C, H, W };
	ts_tensor *h, *d, *y;
	int ret;

	h = ts_from_f32(imgs, shape, 4, "cpu");
	if (!h)
		return error("road: %s", ts_error());
	d = ts_to_like(h, like);
	ts_free(h);
	if (!d)
		return error("road: %s", ts_error());
	y = ts_module_forward(m, d);
	ts_free(d);
	if (!y)
		return error("road: forward failed: %s", ts_error());
	ret = score_rows(y, nb, cls, target, score);
	ts_free(y);
	return ret;
}

/*
 * The 2 * np imputations of one image (MoRF then LeRF, each percentile) into out, as jobs shared among
 * threads by striding: one mask a job, or with ROAD_IMPUTE_NESTED one direction (its masks are nested:
 * road_impute.h). Each mask's noise comes from its own seed, so neither the threads nor the path change
 * a value.
 */
struct impute_jobs {
	const float *img, *map;
	int C, H, W;
	const struct road_opts *opts;
	uint64_t seed;
	float *out;
	size_t per_job; /* masks per job: 1 or np */
	int step;
};

struct impute_worker {
	struct impute_jobs *jobs;
	int start, failed;
	struct road_impute_stats stats;
};

static void *impute_work(void *arg)
{
	struct impute_worker *w = arg;
	struct impute_jobs *jb = w->jobs;
	size_t np = jb->opts->nr_percentiles, hw = (size_t)jb->H * jb->W, m = jb->per_job, j, k;
	unsigned char *keep = xmalloc(m * hw);
	uint64_t *rngs = xmalloc(m * sizeof(*rngs));

	for (j = (size_t)w->start * m; j < 2 * np && !w->failed; j += (size_t)jb->step * m) {
		for (k = 0; k < m; k++) {
			int lerf = j + k >= np;

			road_keep_mask(jb->map, hw, jb->opts->percentiles[lerf ? j + k - np : j + k], lerf,
				       keep + k * hw);
			rngs[k] = jb->seed + (j + k) * 0x9e3779b97f4a7c15ULL;
		}
		if (road_impute_masks(jb->img, jb->C, jb->H, jb->W, keep, m, jb->opts->noise, rngs,
				      jb->opts->impute_flags, jb->out + j * jb->C * hw, &w->stats))
			w->failed = 1;
	}
	free(rngs);
	free(keep);
	return NULL;
}

static int impute_image(struct impute_jobs *jb, int threads)
{
	pthread_t tid[64];
	struct impute_worker w[64];
	int t, failed = 0;
	unsigned char started[64] = { 0 };

	threads = threads < 1 ? 1 : threads > 64 ? 64 : threads;
	jb->per_job = jb->opts->impute_flags & ROAD_IMPUTE_NESTED ? jb->opts->nr_percentiles : 1;
	jb->step = threads;
	for (t = 0; t < threads; t++) {
		struct road_impute_stats zero = ROAD_IMPUTE_STATS_INIT;

		w[t].jobs = jb;
		w[t].start = t;
		w[t].failed = 0;
		w[t].stats = zero;
	}
	for (t = 1; t < threads; t++)
		started[t] = !pthread_create(&tid[t], NULL, impute_work, &w[t]);
	impute_work(&w[0]);
	/* the share of a thread that could not start is done here */
	for (t = 1; t < threads; t++)
		if (!started[t])
			impute_work(&w[t]);
	for (t = 0; t < threads; t++) {
		if (t && started[t])
			pthread_join(tid[t], NULL);
		failed |= w[t].failed;
		if (jb->opts->stats)
			road_impute_stats_add(jb->opts->stats, &w[t].stats);
	}
	return failed ? -1 : 0;
}

int road_eval(ts_module *m, const ts_tensor *x, const float *maps, const long *targets,
	      const struct road_opts *opts, struct road_scores *out)
{
	size_t n, np = opts->nr_percentiles, hw, chw, per, i, j, batch;
	int C, H, W, prev, ret = -1;
	float *xh = NULL, *buf = NULL, *base = NULL, *sc = NULL;
	long *cls = NULL;

	road_scores_release(out);
	if (ts_dim(x) != 4)
		return error("road: the input is not (n, C, H, W)");
	if (!np)
		return error("road: no percentiles");
	n = (size_t)ts_size(x, 0);
	C = (int)ts_size(x, 1);
	H = (int)ts_size(x, 2);
	W = (int)ts_size(x, 3);
	hw = (size_t)H * W;
	chw = (size_t)C * hw;
	per = 2 * np; /* imputed images per input: MoRF then LeRF, each percentile */
	batch = opts->batch > 0 ? (size_t)opts->batch : 32;

	if (C < 1 || H < 1 || W < 1)
		return error("road: empty images (%d x %d x %d)", C, H, W);
	for (j = 0; j < np; j++)
		if (!(opts->percentiles[j] >= 0 && opts->percentiles[j] <= 100))
			return error("road: percentile %g is not in [0, 100]", opts->percentiles[j]);
	for (i = 0; i < n * hw; i++)
		if (!isfinite(maps[i]))
			return error("road: map %zu has a non-finite value", i / hw);

	out->n = n;
	out->nr_percentiles = np;
	out->morf = xcalloc(n * np, sizeof(float));
	out->lerf = xcalloc(n * np, sizeof(float));
	out->morf_avg = xcalloc(n, sizeof(float));
	out->lerf_avg = xcalloc(n, sizeof(float));
	out->combined = xcalloc(n, sizeof(float));
	if (!n)
		return 0;

	prev = ts_set_grad(0);
	xh = xmalloc(n * chw * sizeof(*xh));
	if (ts_copy_f32(x, xh, n * chw) < 0) {
		error("road: %s", ts_error());
		goto out;
	}
	base = xmalloc(n * sizeof(*base));
	for (i = 0; i < n; i += batch) {
		size_t k = n - i < batch ? n - i : batch;
		if (forward_scores(m, x, xh + i * chw, k, C, H, W, targets + i, opts->target, base + i))
			goto out;
	}

	buf = xmalloc(per * chw * sizeof(*buf));
	sc = xmalloc(per * sizeof(*sc));
	cls = xmalloc(per * sizeof(*cls));
	for (i = 0; i < n; i++) {
		struct impute_jobs jb = { xh + i * chw, maps + i * hw, C, H, W, opts,
					  opts->seed + i * 0xbf58476d1ce4e5b9ULL, buf, 1, 1 };

		if (impute_image(&jb, opts->threads))
			goto out;
		for (j = 0; j < per; j++)
			cls[j] = targets[i];
		for (j = 0; j < per; j += batch) {
			size_t k = per - j < batch ? per - j : batch;
			if (forward_scores(m, x, buf + j * chw, k, C, H, W, cls, opts->target, sc + j))
				goto out;
		}
		for (j = 0; j < per; j++) {
			float d = sc[j] - base[i];

			if (j < np)
				out->morf[i * np + j] = d;
			else
				out->lerf[i * np + j - np] = d;
		}
	}
	for (i = 0; i < n; i++) {
		float sm = 0, sl = 0;

		/* upstream: np.mean over float32 scores, summed in order */
		for (j = 0; j < np; j++) {
			sm += out->morf[i * np + j];
			sl += out->lerf[i * np + j];
		}
		out->morf_avg[i] = sm / (float)np;
		out->lerf_avg[i] = sl / (float)np;
		out->combined[i] = (out->lerf_avg[i] - out->morf_avg[i]) / 2;
	}
	ret = 0;
out:
	ts_set_grad(prev);
	free(xh);
	free(buf);
	free(base);
	free(sc);
	free(cls);
	if (ret)
		road_scores_release(out);
	return ret;
}

double road_complexity(const float *map, size_t n)
{
	double s = 0;
	size_t i;

	for (i = 0; i < n; i++)
		s += fabs(map[i]);
	return n ? s / (double)n : 0;
}

double road_coherency(const float *a, const float *b, size_t n)
{
	double *wa, *wb, m = (double)n - 1;
	struct corr_sums c;

	if (n < 2)
		return NAN;
	wa = corr_widen(a, n);
	wb = corr_widen(b, n);
	c = corr_sums_of(wa, wb, n);
	free(wa);
	free(wb);
	/* upstream's n - 1 form and its 1e-8, kept for its values to 1e-6 */
	return (c.ab / m / (sqrt(c.aa / m) * sqrt(c.bb / m) + 1e-8) + 1) / 2;
}

double road_arcc(double coherency, double complexity, double road_combined)
{
	double r = 2 * road_combined;

	r = r < 0 ? 0 : r > 1 ? 1 : r;
	return 3 / (1 / (coherency + 1e-8) + 1 / (1 - complexity + 1e-8) + 1 / (r + 1e-8));
}
