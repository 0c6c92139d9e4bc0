/*
 * road.c - ROAD and ARCC (see road.h): the percentile masks, noisy linear imputation by a sparse
 * Cholesky factorisation per mask (CHOLMOD), and the batched forwards that score the imputed images.
 */
#include "cam/road.h"

#include <assert.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <suitesparse/cholmod.h>

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

/* splitmix64, and a standard normal from two of its uniforms (Box-Muller). */
static uint64_t splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static double randn(uint64_t *s)
{
	double u1 = ((double)(splitmix64(s) >> 11) + 0.5) / 9007199254740992.0;
	double u2 = (double)(splitmix64(s) >> 11) / 9007199254740992.0;
	return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* The 8 neighbours and their weights; the first four come later in raster order (the lower triangle). */
static const struct {
	int dy, dx;
	double w;
} nbr[8] = {
	{ 0, 1, 1.0 / 6 },  { 1, -1, 1.0 / 12 },  { 1, 0, 1.0 / 6 },  { 1, 1, 1.0 / 12 },
	{ 0, -1, 1.0 / 6 }, { -1, 1, 1.0 / 12 }, { -1, 0, 1.0 / 6 }, { -1, -1, 1.0 / 12 },
};

/*
 * The line of [lo, hi) (rows or columns; cnt[i - lo] unknowns on line i, n in all) with the fewest
 * unknowns among those with 40% to 60% of the unknowns before them; its count in *sep.
 */
static int best_line(const size_t *cnt, int lo, int hi, size_t n, size_t *sep)
{
	size_t before = 0;
	int i, best = -1;

	for (i = lo; i < hi; i++) {
		if (100 * before >= 40 * n && 100 * before <= 60 * n && (best < 0 || cnt[i - lo] < *sep)) {
			best = i;
			*sep = cnt[i - lo];
		}
		before += cnt[i - lo];
	}
	if (best < 0) { /* one line holds over a fifth of them: the median line */
		for (before = 0, i = lo; i < hi && 2 * (before + cnt[i - lo]) < n; i++)
			before += cnt[i - lo];
		best = i < hi ? i : hi - 1;
		*sep = cnt[best - lo];
	}
	return best;
}

/*
 * Nested dissection of the unknowns: those of [y0, y1) x [x0, x1) (var[pixel] >= 0) in elimination order,
 * written as their indices from *k on. A full row or column separates the 8-neighbour stencil, so each
 * side is ordered first and the separating line last. The line is chosen among the rows and columns of
 * the unknowns' bounding box near their median as the one holding the fewest unknowns: it follows the
 * mask's shape (a blob, a ring), where the middle line of the whole grid did not. On the MobileNet-V2
 * masks of bench/RESULTS.md the factorisations' flops fell from 4.16e9 to 3.47e9 (CHOLMOD's count, 4
 * images x 18 masks); CHOLMOD's own orderings (AMD, METIS) were slower still. rc and cc are scratch of
 * H and W counts.
 */
static void dissect(const int *var, int W, int y0, int y1, int x0, int x1, int *order, size_t *k, size_t *rc,
		    size_t *cc)
{
	int y, x, by0 = y1, by1 = y0, bx0 = x1, bx1 = x0, my, mx;
	size_t n = 0, sy, sx;

	for (y = y0; y < y1; y++)
		for (x = x0; x < x1; x++)
			if (var[y * W + x] >= 0) {
				n++;
				by0 = y < by0 ? y : by0;
				by1 = y + 1 > by1 ? y + 1 : by1;
				bx0 = x < bx0 ? x : bx0;
				bx1 = x + 1 > bx1 ? x + 1 : bx1;
			}
	if (!n)
		return;
	if (n <= 16 || by1 - by0 < 3 || bx1 - bx0 < 3) {
		for (y = by0; y < by1; y++)
			for (x = bx0; x < bx1; x++)
				if (var[y * W + x] >= 0)
					order[(*k)++] = var[y * W + x];
		return;
	}
	memset(rc, 0, (size_t)(by1 - by0) * sizeof(*rc));
	memset(cc, 0, (size_t)(bx1 - bx0) * sizeof(*cc));
	for (y = by0; y < by1; y++)
		for (x = bx0; x < bx1; x++)
			if (var[y * W + x] >= 0) {
				rc[y - by0]++;
				cc[x - bx0]++;
			}
	my = best_line(rc, by0, by1, n, &sy);
	mx = best_line(cc, bx0, bx1, n, &sx);
	if (sy <= sx) {
		dissect(var, W, by0, my, bx0, bx1, order, k, rc, cc);
		dissect(var, W, my + 1, by1, bx0, bx1, order, k, rc, cc);
		for (x = bx0; x < bx1; x++)
			if (var[my * W + x] >= 0)
				order[(*k)++] = var[my * W + x];
	} else {
		dissect(var, W, by0, by1, bx0, mx, order, k, rc, cc);
		dissect(var, W, by0, by1, mx + 1, bx1, order, k, rc, cc);
		for (y = by0; y < by1; y++)
			if (var[y * W + mx] >= 0)
				order[(*k)++] = var[y * W + mx];
	}
}

/*
 * Solve (D - W_UU) v = W_UK x_K for the nu unknown pixels (var[pixel] = their index in raster order, -1
 * for known ones) and write v into out's unknown pixels. The matrix goes to CHOLMOD as its lower triangle,
 * column j holding the diagonal then the unknown neighbours after pixel j in raster order, already sorted.
 */
static int solve_unknowns(const float *img, int C, int H, int W, const int *var, size_t nu, double noise,
			  uint64_t *rng, float *out)
{
	cholmod_common cc;
	cholmod_sparse *A = NULL;
	cholmod_dense *B = NULL, *X = NULL;
	cholmod_factor *L = NULL;
	size_t hw = (size_t)H * W, nz = 0, q;
	int *Ap, *Ai, *perm = NULL, ret = -1;
	size_t *rows = NULL, *cols = NULL;
	double *Ax, *Bx, *Xx;
	int y, x, c, k;

	cholmod_start(&cc);
	cc.print = 0;
	/*
	 * Simplicial: these 2-D systems have small fronts, and on 224 x 224 MobileNet-V2 masks the supernodal
	 * factorisation (BLAS on tiny blocks) took 1.7x the CPU time (bench/RESULTS.md, ROAD).
	 */
	cc.supernodal = CHOLMOD_SIMPLICIAL;
	A = cholmod_allocate_sparse(nu, nu, 5 * nu, 1, 1, -1, CHOLMOD_REAL, &cc);
	B = cholmod_allocate_dense(nu, C, nu, CHOLMOD_REAL, &cc);
	if (!A || !B) {
		error("road: cannot allocate a sparse system of %zu unknowns", nu);
		goto out;
	}
	Ap = A->p;
	Ai = A->i;
	Ax = A->x;
	Bx = B->x;
	memset(Bx, 0, nu * C * sizeof(*Bx));
	for (y = 0; y < H; y++)
		for (x = 0; x < W; x++) {
			size_t p = (size_t)y * W + x;
			int j = var[p];
			double s = 0;

			if (j < 0)
				continue;
			Ap[j] = (int)nz;
			Ai[nz] = j;
			nz++;
			for (k = 0; k < 8; k++) {
				int yy = y + nbr[k].dy, xx = x + nbr[k].dx;

				if (yy < 0 || yy >= H || xx < 0 || xx >= W)
					continue;
				s += nbr[k].w;
				q = (size_t)yy * W + xx;
				if (var[q] < 0) {
					for (c = 0; c < C; c++)
						Bx[j + (size_t)c * nu] += nbr[k].w * img[c * hw + q];
				} else if (k < 4) {
					Ai[nz] = var[q];
					Ax[nz] = -nbr[k].w;
					nz++;
				}
			}
			Ax[Ap[j]] = s;
		}
	Ap[nu] = (int)nz;

	perm = xmalloc(nu * sizeof(*perm));
	q = 0;
	rows = xmalloc((size_t)H * sizeof(*rows));
	cols = xmalloc((size_t)W * sizeof(*cols));
	dissect(var, W, 0, H, 0, W, perm, &q, rows, cols);
	assert(q == nu);
	cc.nmethods = 1;
	cc.method[0].ordering = CHOLMOD_GIVEN;
	L = cholmod_analyze_p(A, perm, NULL, 0, &cc);
	if (!L || !cholmod_factorize(A, L, &cc) || cc.status != CHOLMOD_OK) {
		error("road: sparse factorisation failed (status %d) for %zu unknowns", cc.status, nu);
		goto out;
	}
	X = cholmod_solve(CHOLMOD_A, L, B, &cc);
	if (!X) {
		error("road: sparse solve failed (status %d)", cc.status);
		goto out;
	}
	Xx = X->x;
	for (c = 0; c < C; c++)
		for (size_t p = 0; p < hw; p++)
			if (var[p] >= 0) {
				double v = Xx[var[p] + (size_t)c * nu];
				if (noise > 0)
					v += noise * randn(rng);
				out[c * hw + p] = (float)v;
			}
	ret = 0;
out:
	cholmod_free_dense(&X, &cc);
	cholmod_free_dense(&B, &cc);
	cholmod_free_factor(&L, &cc);
	cholmod_free_sparse(&A, &cc);
	cholmod_finish(&cc);
	free(rows);
	free(cols);
	free(perm);
	return ret;
}

int road_impute(const float *img, int C, int H, int W, const unsigned char *keep, double noise,
		uint64_t *rng, float *out)
{
	size_t hw = (size_t)H * W, nu = 0, p;
	int *var;
	int ret = 0;

	memcpy(out, img, (size_t)C * hw * sizeof(*out));
	var = xmalloc(hw * sizeof(*var));
	for (p = 0; p < hw; p++)
		var[p] = keep[p] ? -1 : (int)nu++;
	if (nu == hw) {
		/* Nothing known: the system is singular with a zero right-hand side; upstream gets 0. */
		for (p = 0; p < (size_t)C * hw; p++)
			out[p] = noise > 0 ? (float)(noise * randn(rng)) : 0.0f;
	} else if (nu) {
		ret = solve_unknowns(img, C, H, W, var, nu, noise, rng, out);
	}
	free(var);
	return ret;
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
 * The 2 * np imputations of one image (MoRF then LeRF, each percentile) into out, shared among threads
 * by striding; each job's noise comes from its own seed, so the threads change no value.
 */
struct impute_jobs {
	const float *img, *map;
	int C, H, W;
	const struct road_opts *opts;
	uint64_t seed;
	float *out;
	int step;
};

struct impute_worker {
	struct impute_jobs *jobs;
	int start, failed;
};

static void *impute_work(void *arg)
{
	struct impute_worker *w = arg;
	struct impute_jobs *jb = w->jobs;
	size_t np = jb->opts->nr_percentiles, hw = (size_t)jb->H * jb->W, j;
	unsigned char *keep = xmalloc(hw);

	for (j = (size_t)w->start; j < 2 * np && !w->failed; j += (size_t)jb->step) {
		int lerf = j >= np;
		uint64_t rng = jb->seed + j * 0x9e3779b97f4a7c15ULL;

		road_keep_mask(jb->map, hw, jb->opts->percentiles[lerf ? j - np : j], lerf, keep);
		if (road_impute(jb->img, jb->C, jb->H, jb->W, keep, jb->opts->noise, &rng,
				jb->out + j * jb->C * hw))
			w->failed = 1;
	}
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
	jb->step = threads;
	for (t = 0; t < threads; t++) {
		w[t].jobs = jb;
		w[t].start = t;
		w[t].failed = 0;
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
					  opts->seed + i * 0xbf58476d1ce4e5b9ULL, buf, 1 };

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
