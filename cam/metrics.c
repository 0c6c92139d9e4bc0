/*
 * metrics.c - AD, IC, ADD, Complexity, Coherency and ADCC (see metrics.h), computed on the device for
 * a whole batch: two extra forwards per method (x * H with its CAM for O and Coherency, x * (1 - H) for
 * D) on top of the passes the heatmaps came from. Gain reuses O; ROAD and ARCC go through cam/road.c
 * (18 and 8 imputed images per image); insertion and deletion forward 2 * (METRIC_STEPS + 1) images
 * per image, built on the host and sent in chunks.
 */
#include "cam/metrics.h"

#include <ctype.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cam/discrim.h"
#include "cam/fidelity.h"
#include "cam/road.h"
#include "cam/sanity.h"
#include "cam/smooth.h"
#include "lib/error.h"
#include "lib/suggest.h"
#include "lib/xalloc.h"

const char *const metric_names[METRIC_NR_ALL] = { "ad",	  "coh",  "com",       "adcc",	   "ic",  "add",
						  "road", "arcc", "insertion", "deletion", "gain",
						  "fidelity", "sanity", "discrimination" };

const char *const metric_extra_names[METRIC_NR_EXTRA] = { "road",      "road_morf", "road_lerf", "arcc",
							  "insertion", "deletion",  "gain",	 "fidelity",
							  "fidelity_l2", "fidelity_se" };

double metric_row_extra(const struct metric_row *r, size_t i)
{
	const double v[METRIC_NR_EXTRA] = { r->road,	  r->road_morf, r->road_lerf, r->arcc,
					    r->insertion, r->deletion,	r->gain,      r->fidelity,
					    r->fidelity_l2, r->fidelity_se };
	return i < METRIC_NR_EXTRA ? v[i] : NAN;
}

/* Names as the paper's tables spell them, accepted too. */
static const struct {
	const char *alias;
	enum metric m;
} metric_aliases[] = {
	{ "average-drop", METRIC_AD }, { "coherency", METRIC_COH }, { "complexity", METRIC_COM },
	{ "increase-in-confidence", METRIC_IC }, { "average-drop-in-deletion", METRIC_ADD },
	{ "road-combined", METRIC_ROAD }, { "average-gain", METRIC_GAIN }, { "ins", METRIC_INSERTION },
	{ "del", METRIC_DELETION }, { "shapley-fidelity", METRIC_FIDELITY },
	{ "randomisation", METRIC_SANITY }, { "randomization", METRIC_SANITY }, { "mprt", METRIC_SANITY },
	{ "model-parameter-randomisation", METRIC_SANITY }, { "discrim", METRIC_DISCRIMINATION },
	{ "target-discrimination", METRIC_DISCRIMINATION },
};

/* The metric a folded name (lower case, '-' for '_') names, or -1; "all" is none. */
static int lookup_folded(const char *buf)
{
	size_t i;

	for (i = 0; i < METRIC_NR_ALL; i++)
		if (!strcmp(buf, metric_names[i]))
			return (int)i;
	for (i = 0; i < sizeof(metric_aliases) / sizeof(*metric_aliases); i++)
		if (!strcmp(buf, metric_aliases[i].alias))
			return (int)metric_aliases[i].m;
	return -1;
}

/* s[0..len) folded into buf[size]: 0, or -1 when it is empty or too long */
static int fold_name(const char *s, size_t len, char *buf, size_t size)
{
	size_t i;

	if (!len || len >= size)
		return -1;
	for (i = 0; i < len; i++)
		buf[i] = s[i] == '_' ? '-' : (char)tolower((unsigned char)s[i]);
	buf[len] = '\0';
	return 0;
}

int metric_lookup(const char *name)
{
	char buf[64];

	if (fold_name(name, strlen(name), buf, sizeof(buf)) < 0)
		return -1;
	return lookup_folded(buf);
}

static int metric_parse_one(const char *s, size_t len, unsigned *mask)
{
	char buf[64];
	const char *near[1];
	int m;

	if (fold_name(s, len, buf, sizeof(buf)) < 0)
		return error("bad metric name '%.*s'", (int)len, s);
	if (!strcmp(buf, "all")) {
		*mask |= (1u << METRIC_NR) - 1;
		return 0;
	}
	if ((m = lookup_folded(buf)) >= 0) {
		*mask |= 1u << m;
		return 0;
	}
	if (suggest_nearest(buf, metric_names, METRIC_NR_ALL, near, 1))
		return error("unknown metric '%s'; did you mean '%s'?", buf, near[0]);
	return error("unknown metric '%s'; known: ad, coh, com, adcc, ic, add, road, arcc, insertion, "
		     "deletion, gain, fidelity, sanity, discrimination",
		     buf);
}

void metric_params_init(struct metric_params *mp)
{
	size_t i;

	memset(mp, 0, sizeof(*mp));
	mp->nr_road_percentiles = ARRAY_SIZE(road_percentiles_default);
	for (i = 0; i < mp->nr_road_percentiles; i++)
		mp->road_percentiles[i] = road_percentiles_default[i];
	mp->road_noise = 0.01;
	mp->nr_arcc_percentiles = ARRAY_SIZE(road_percentiles_arcc);
	for (i = 0; i < mp->nr_arcc_percentiles; i++)
		mp->arcc_percentiles[i] = road_percentiles_arcc[i];
	mp->insertion_steps = mp->deletion_steps = METRIC_STEPS;
	mp->fidelity_pairs = FIDELITY_PAIRS;
	mp->sanity_seed = SANITY_SEED;
	mp->sanity_steps = 0;
	mp->sanity_threshold = SANITY_THRESHOLD;
	mp->discrimination_top = DISCRIM_TOP;
}

int metrics_parse(const char *list, unsigned *mask)
{
	const char *p = list;
	int ret = 0;
	*mask = 0;
	while (1) {
		size_t len = strcspn(p, ",");
		const char *q = p;
		size_t l = len;
		while (l && isspace((unsigned char)*q))
			q++, l--;
		while (l && isspace((unsigned char)q[l - 1]))
			l--;
		if (metric_parse_one(q, l, mask) < 0)
			ret = -1;
		p += len;
		if (!*p)
			break;
		p++;
	}
	return ret;
}

/* p_c of logits (B, K) for the pass's classes, to the host. */
static int class_prob(const ts_tensor *logits, const ts_tensor *target, double *out, size_t n)
{
	ts_tensor *prob = ts_softmax(logits, 1), *pc = ts_gather(prob, 1, target);
	long got = ts_copy_f64(pc, out, n);
	ts_free(prob);
	ts_free(pc);
	return got == (long)n ? 0 : error("cannot read class probabilities: %s", ts_error());
}

/*
 * 1 - p_c of each image, to the host, for Opti-CAM's gain (o - y) / (1 - y): as -expm1(log p_c) from the
 * logits in double. Where the model is confident, 1 - p_c of the float32 softmax is a few ulps of 1, and
 * the gain divided by it is noise (0.917 for 0.903 on a CIFAR image of t100; 1 for 0.993).
 */
static int class_rest(const ts_tensor *logits, const ts_tensor *target, double *out, size_t n)
{
	ts_tensor *l64 = ts_to_f64(logits);
	ts_tensor *lp = l64 ? ts_log_softmax(l64, 1) : NULL, *lc = lp ? ts_gather(lp, 1, target) : NULL;
	long got = lc ? ts_copy_f64(lc, out, n) : -1;
	size_t i;

	ts_free(l64);
	ts_free(lp);
	ts_free(lc);
	if (got != (long)n)
		return error("cannot read class probabilities: %s", ts_error());
	for (i = 0; i < n; i++)
		out[i] = -expm1(out[i]);
	return 0;
}

/* Per-image Pearson correlation of (B, H, W) maps, to the host; NAN where a map is constant. */
static int pearson(const ts_tensor *a, const ts_tensor *b, double *out, size_t n)
{
	static const int D12[2] = { 1, 2 };
	ts_tensor *a64 = ts_to_f64(a), *b64 = ts_to_f64(b);
	ts_tensor *ma = ts_mean(a64, D12, 2, 1), *mb = ts_mean(b64, D12, 2, 1);
	ts_tensor *ca = ts_sub(a64, ma), *cb = ts_sub(b64, mb);
	ts_tensor *ab = ts_mul(ca, cb), *aa = ts_mul(ca, ca), *bb = ts_mul(cb, cb);
	ts_tensor *s[3] = { ts_sum(ab, D12, 2, 0), ts_sum(aa, D12, 2, 0), ts_sum(bb, D12, 2, 0) };
	ts_tensor *cat = ts_cat(s, 3, 0);
	double *host = xmalloc(3 * n * sizeof(double));
	long got = ts_copy_f64(cat, host, 3 * n);
	size_t i;
	int ret = 0;

	if (got != (long)(3 * n))
		ret = error("cannot compute coherency: %s", ts_error());
	for (i = 0; !ret && i < n; i++) {
		double den = sqrt(host[n + i] * host[2 * n + i]);
		out[i] = den > 0 ? host[i] / den : NAN;
	}
	free(host);
	ts_free(a64);
	ts_free(b64);
	ts_free(ma);
	ts_free(mb);
	ts_free(ca);
	ts_free(cb);
	ts_free(ab);
	ts_free(aa);
	ts_free(bb);
	for (i = 0; i < 3; i++)
		ts_free(s[i]);
	ts_free(cat);
	return ret;
}

static ts_tensor *builtin_map(const struct cam_pass *p, const struct cam_extra *extra, void *ud)
{
	const struct cam_mapper *mp = ud;
	struct cam_extra e = *extra;

	e.params = &mp->params; /* the extra serves every method of a group: the parameters are the run's */
	return cam_smooth_map(mp->method, p, &e);
}

void cam_mapper_builtin(struct cam_mapper *mp, enum cam_method m)
{
	static const struct cam_method_params defaults = CAM_METHOD_PARAMS_INIT;

	mp->passes = cam_methods_passes(1u << m);
	mp->map = builtin_map;
	mp->ud = mp;
	mp->method = m;
	mp->params = defaults;
}

/*
 * RISE's blur for insertion: its gkern(11, 5), scipy.ndimage.gaussian_filter (sigma 5, truncate 4,
 * mode reflect) of an 11 x 11 delta, which is g g^T for g the same filter of a 1-D delta.
 */
#define RISE_KLEN 11
static void rise_kernel(double g[RISE_KLEN])
{
	double w[41], sum = 0;
	int j, p;

	for (j = -20; j <= 20; j++)
		sum += w[j + 20] = exp(-0.5 * j * j / 25.0);
	for (p = 0; p < RISE_KLEN; p++) {
		g[p] = 0;
		for (j = -20; j <= 20; j++) {
			int q = ((p + j) % (2 * RISE_KLEN) + 2 * RISE_KLEN) % (2 * RISE_KLEN);
			if (q >= RISE_KLEN)
				q = 2 * RISE_KLEN - 1 - q; /* reflect: d c b a | a b c d | d c b a */
			if (q == RISE_KLEN / 2)
				g[p] += w[j + 20] / sum;
		}
	}
}

/* Each channel of img (C, H, W) convolved with g g^T, zero padding (RISE's conv2d, padding 5). */
static void rise_blur(const float *img, int C, int H, int W, float *out)
{
	double g[RISE_KLEN];
	const int r = RISE_KLEN / 2;
	int c, y, x, dy, dx;

	rise_kernel(g);
	for (c = 0; c < C; c++)
		for (y = 0; y < H; y++)
			for (x = 0; x < W; x++) {
				double s = 0;
				for (dy = -r; dy <= r; dy++) {
					const float *row;
					if (y + dy < 0 || y + dy >= H)
						continue;
					row = img + ((size_t)c * H + (size_t)(y + dy)) * W;
					for (dx = -r; dx <= r; dx++)
						if (x + dx >= 0 && x + dx < W)
							s += g[dy + r] * g[dx + r] * row[x + dx];
				}
				out[((size_t)c * H + y) * W + x] = (float)s;
			}
}

/*
 * Images per forward of insertion and deletion: at most CAUSAL_CHUNK (on the CPU, 256 Fashion-MNIST
 * images per forward ran 4x faster than 64; 1024 no faster) and 20 MiB of input. The byte cap is what
 * large images meet: 111 MobileNet-V2 images of 224 x 224 a forward (the old 64 MiB) spent a fifth of
 * the CPU in the kernel's page faults, each forward's gigabytes of activations mapped afresh, and on one
 * thread cost 1.7x the CPU of 16 or 32 a forward (bench/RESULTS.md, "Insertion and deletion"); 13 a
 * forward cost twice the CPU of 32 with two threads on a loaded machine (more OpenMP barriers).
 * A GPU keeps the 64 MiB: its caching allocator maps nothing afresh, and larger forwards use it better.
 */
#define CAUSAL_CHUNK 256
#define CAUSAL_CHUNK_BYTES (20u << 20)
#define CAUSAL_CHUNK_BYTES_CUDA (64u << 20)

struct ranked {
	float v;
	uint32_t i;
};

/* Most salient first; equal values in pixel order, so that the curve does not depend on the sort. */
static int by_salience(const void *a, const void *b)
{
	const struct ranked *p = a, *q = b;
	if (p->v != q->v)
		return p->v > q->v ? -1 : 1;
	return p->i < q->i ? -1 : p->i > q->i;
}

/* Softmax probability of class c from logits l[K], in double. */
static double softmax_at(const double *l, size_t K, long c)
{
	double mx = l[0], s = 0;
	size_t k;
	for (k = 1; k < K; k++)
		mx = l[k] > mx ? l[k] : mx;
	for (k = 0; k < K; k++)
		s += exp(l[k] - mx);
	return c >= 0 && (size_t)c < K ? exp(l[c] - mx) / s : NAN;
}

/*
 * Insertion and deletion (RISE's CausalMetric) of the batch: for step i = 0..N the first floor(i * HW / N)
 * pixels in salience order take the finishing image's values (all channels): x into its blur
 * (insertion), 0 into x (deletion); p_c of each, and the curve's area by the trapezoidal rule over
 * [0, 1], N the metric's steps. The (N + 1) B images of each curve asked for (ins, del non-NULL) go through the model in
 * forwards of `chunk`.
 */
static int causal_curves(ts_module *m, const ts_tensor *x, const float *maps, const long *classes, size_t n,
			 int chunk, size_t N, double *ins, double *del)
{
	const size_t per = (size_t)(!!ins + !!del) * (N + 1);
	int C = (int)ts_size(x, 1), H = (int)ts_size(x, 2), W = (int)ts_size(x, 3);
	size_t hw = (size_t)H * W, chw = (size_t)C * hw, total = n * per, j, b, i, c, K = 0;
	float *xh = xmalloc(n * chw * sizeof(float)), *blur = xmalloc(n * chw * sizeof(float));
	uint32_t *rank = xmalloc(n * hw * sizeof(uint32_t));
	struct ranked *order = xmalloc(hw * sizeof(*order));
	double *score = xmalloc(total * sizeof(double)), *logits = NULL;
	float *buf;
	int ret = 0, prev = ts_set_grad(0);

	if (chunk < 1)
		chunk = 1;
	buf = xmalloc((size_t)chunk * chw * sizeof(float));
	if (ts_copy_f32(x, xh, n * chw) != (long)(n * chw)) {
		ret = error("insertion/deletion: %s", ts_error());
		goto out;
	}
	for (b = 0; b < n; b++) {
		rise_blur(xh + b * chw, C, H, W, blur + b * chw);
		for (i = 0; i < hw; i++)
			order[i] = (struct ranked){ maps[b * hw + i], (uint32_t)i };
		qsort(order, hw, sizeof(*order), by_salience);
		for (i = 0; i < hw; i++)
			rank[b * hw + order[i].i] = (uint32_t)i;
	}
	/* image j of the whole set: image b = j / per, deletion (if asked) for the first N + 1 of its steps */
	for (j = 0; j < total && !ret; j += (size_t)chunk) {
		size_t k = total - j < (size_t)chunk ? total - j : (size_t)chunk, q;
		int64_t shape[4] = { (int64_t)k, C, H, W };
		ts_tensor *h, *d, *out;

		for (q = 0; q < k; q++) {
			size_t t = j + q, s = t % per, step = s % (N + 1), kept = step * hw / N, p;
			int deletion = del && s < N + 1;
			const float *img = xh + (t / per) * chw,
				    *from = deletion ? img : blur + (t / per) * chw;
			const uint32_t *rk = rank + (t / per) * hw;
			float *o = buf + q * chw;

			for (c = 0; c < (size_t)C; c++)
				for (p = 0; p < hw; p++) {
					int moved = rk[p] < kept;
					o[c * hw + p] = moved ? (deletion ? 0.0f : img[c * hw + p])
							      : from[c * hw + p];
				}
		}
		h = ts_from_f32(buf, shape, 4, "cpu");
		d = h ? ts_to_like(h, x) : NULL;
		out = d ? ts_module_forward(m, d) : NULL;
		if (!out || ts_dim(out) != 2) {
			ret = error("insertion/deletion forward failed: %s", ts_error());
		} else {
			if (!K) {
				K = (size_t)ts_size(out, 1);
				logits = xmalloc((size_t)chunk * K * sizeof(double));
			}
			if (ts_copy_f64(out, logits, k * K) != (long)(k * K))
				ret = error("insertion/deletion: %s", ts_error());
			for (q = 0; !ret && q < k; q++)
				score[j + q] = softmax_at(logits + q * K, K, classes[(j + q) / per]);
		}
		ts_free(h);
		ts_free(d);
		ts_free(out);
	}
	for (b = 0; !ret && b < n; b++) {
		/* insertion's curve follows deletion's when both were asked for */
		const double *sd = score + b * per, *si = del && ins ? sd + N + 1 : sd;
		double a = 0, e = 0;
		for (i = 0; i <= N; i++) {
			a += sd[i];
			e += si[i];
		}
		if (del)
			del[b] = (a - sd[0] / 2 - sd[N] / 2) / (double)N;
		if (ins)
			ins[b] = (e - si[0] / 2 - si[N] / 2) / (double)N;
	}
out:
	ts_set_grad(prev);
	free(xh);
	free(blur);
	free(rank);
	free(order);
	free(score);
	free(logits);
	free(buf);
	return ret;
}

/*
 * ROAD of each image on its own, so that its noise comes from its dataset index (a resumed run or
 * another batch size draws the same): combined, MoRF and LeRF averages into out3[3 * B].
 */
static int road_images(ts_module *m, const ts_tensor *x, const float *maps, const long *classes, size_t n,
		       const struct cam_extra *extra, const struct metric_params *mp, enum road_target target,
		       double *out3)
{
	size_t hw = (size_t)ts_size(x, 2) * (size_t)ts_size(x, 3), b;
	int ret = 0;

	for (b = 0; b < n && !ret; b++) {
		struct road_opts o = ROAD_OPTS_INIT;
		struct road_scores sc = ROAD_SCORES_INIT;
		ts_tensor *xb = ts_narrow(x, 0, (int64_t)b, 1);

		o.percentiles = mp->road_percentiles;
		o.nr_percentiles = mp->nr_road_percentiles;
		o.noise = mp->road_noise;
		if (target == ROAD_LOGIT) { /* ARCC's ROAD keeps upstream's noise */
			o.percentiles = mp->arcc_percentiles;
			o.nr_percentiles = mp->nr_arcc_percentiles;
			o.noise = 0.01;
		}
		o.target = target;
		/* an image's 18 imputations are independent: they share the cores libtorch was given */
		o.threads = ts_num_threads();
		o.seed = cam_image_seed(extra->seed ^ 0x524f4144, extra->items ? extra->items[b] : b);
		if (!xb || road_eval(m, xb, maps + b * hw, classes + b, &o, &sc) < 0) {
			ret = xb ? -1 : error("road: %s", ts_error());
		} else {
			out3[3 * b] = sc.combined[0];
			out3[3 * b + 1] = sc.morf_avg[0];
			out3[3 * b + 2] = sc.lerf_avg[0];
		}
		road_scores_release(&sc);
		ts_free(xb);
	}
	return ret;
}

/* Insertion and deletion of a batch into ins[n] and del[n] (either NULL: not asked for). */
static int causal_metrics(const struct cam_pass *p, const ts_tensor *x, const float *maps,
			  const struct cam_extra *extra, const struct metric_params *mp, double *ins, double *del)
{
	size_t n = (size_t)p->batch, hw = (size_t)ts_size(x, 2) * (size_t)ts_size(x, 3);
	size_t bytes = (size_t)ts_size(x, 1) * hw * sizeof(float);
	size_t cap = ts_is_cuda(x) ? CAUSAL_CHUNK_BYTES_CUDA : CAUSAL_CHUNK_BYTES;
	int chunk = bytes * CAUSAL_CHUNK > cap ? (int)(cap / bytes) : CAUSAL_CHUNK;

	/* one set of forwards for both curves when their steps agree (always, by default) */
	if (!ins || !del || mp->insertion_steps == mp->deletion_steps)
		return causal_curves(extra->model, x, maps, p->classes, n, chunk,
				     (size_t)(ins ? mp->insertion_steps : mp->deletion_steps), ins, del);
	if (causal_curves(extra->model, x, maps, p->classes, n, chunk, (size_t)mp->insertion_steps, ins, NULL) < 0)
		return -1;
	return causal_curves(extra->model, x, maps, p->classes, n, chunk, (size_t)mp->deletion_steps, NULL, del);
}

/* ROAD, ARCC (after Coherency and Complexity), insertion and deletion of a batch, into rows. */
static int metrics_eval_extra(const struct cam_pass *p, const ts_tensor *x, const ts_tensor *heat,
			      const struct cam_extra *extra, unsigned which, struct metric_row *rows)
{
	size_t n = (size_t)p->batch, hw = (size_t)ts_size(heat, 1) * (size_t)ts_size(heat, 2), i;
	struct metric_params defaults;
	const struct metric_params *mp = extra->metric_params;
	float *maps;
	double *v;
	int ret = 0;

	if (!(which & ((1u << METRIC_ROAD) | (1u << METRIC_ARCC) | (1u << METRIC_INSERTION) |
		       (1u << METRIC_DELETION))))
		return 0;
	if (!mp) {
		metric_params_init(&defaults);
		mp = &defaults;
	}
	maps = xmalloc(n * hw * sizeof(float));
	v = xmalloc(3 * n * sizeof(double));
	if (ts_copy_f32(heat, maps, n * hw) != (long)(n * hw)) {
		ret = error("cannot read the heatmaps: %s", ts_error());
		goto out;
	}
	if (which & (1u << METRIC_ROAD)) {
		ret = road_images(extra->model, x, maps, p->classes, n, extra, mp, ROAD_SOFTMAX, v);
		for (i = 0; !ret && i < n; i++) {
			rows[i].road = v[3 * i];
			rows[i].road_morf = v[3 * i + 1];
			rows[i].road_lerf = v[3 * i + 2];
		}
	}
	if (!ret && (which & (1u << METRIC_ARCC))) {
		ret = road_images(extra->model, x, maps, p->classes, n, extra, mp, ROAD_LOGIT, v);
		for (i = 0; !ret && i < n; i++)
			rows[i].arcc = road_arcc(rows[i].coh, rows[i].com, v[3 * i]);
	}
	if (!ret && (which & ((1u << METRIC_INSERTION) | (1u << METRIC_DELETION)))) {
		double *ins = which & (1u << METRIC_INSERTION) ? v : NULL;
		double *del = which & (1u << METRIC_DELETION) ? v + n : NULL;
		ret = causal_metrics(p, x, maps, extra, mp, ins, del);
		for (i = 0; !ret && i < n; i++) {
			if (ins)
				rows[i].insertion = ins[i];
			if (del)
				rows[i].deletion = del[i];
		}
	}
out:
	free(maps);
	free(v);
	return ret;
}

int metrics_eval(const struct cam_pass *p, const ts_tensor *x, const ts_tensor *heat,
		 const struct cam_mapper *mapper, const struct cam_extra *extra, unsigned which,
		 struct metric_row *rows)
{
	size_t n = (size_t)p->batch, i;
	ts_tensor *mask = ts_unsqueeze(heat, 1);
	ts_tensor *inv = ts_adds(ts_muls(mask, -1.0), 1.0); /* 1 - H */
	ts_tensor *xh = ts_mul(x, mask), *xinv = ts_mul(x, inv);
	double *y = xcalloc(n, sizeof(double)), *o = xcalloc(n, sizeof(double));
	double *d = xcalloc(n, sizeof(double)), *r = xcalloc(n, sizeof(double));
	double *qy = xcalloc(n, sizeof(double)), *qo = xcalloc(n, sizeof(double)); /* 1 - y, 1 - o */
	int need_gain = (which & (1u << METRIC_GAIN)) != 0;
	int need_o = (which & ((1u << METRIC_AD) | (1u << METRIC_IC) | (1u << METRIC_ADCC) |
			       (1u << METRIC_GAIN))) != 0;
	int need_coh = (which & ((1u << METRIC_COH) | (1u << METRIC_ADCC) | (1u << METRIC_ARCC))) != 0;
	int need_d = (which & (1u << METRIC_ADD)) != 0;
	int ret = 0;

	for (i = 0; i < n; i++) {
		rows[i] = (struct metric_row){ .ad = NAN, .coh = NAN, .com = NAN, .ic = NAN, .add = NAN,
					       .y = NAN, .o = NAN, .d = NAN, .road = NAN, .road_morf = NAN,
					       .road_lerf = NAN, .arcc = NAN, .insertion = NAN, .deletion = NAN,
					       .gain = NAN, .fidelity = NAN,
					       .fidelity_l2 = NAN, .fidelity_se = NAN };
		r[i] = NAN;
	}
	if (!xh || !xinv) {
		ret = error("cannot mask the input: %s", ts_error());
		goto out;
	}
	if (class_prob(p->logits, p->target, y, n) < 0 ||
	    (need_gain && class_rest(p->logits, p->target, qy, n) < 0)) {
		ret = -1;
		goto out;
	}
	if (need_o || need_coh) {
		/* One pass on x * H serves O and, for Coherency, the second CAM with the same classes. */
		struct cam_pass q = CAM_PASS_INIT;
		struct target_policy same = { TARGET_TRUE, 0 };
		unsigned passes = need_coh ? mapper->passes : 0;
		if (cam_pass_run_hooked(&q, p->split, xh, p->utility, p->hook, &same, p->classes, passes) < 0) {
			ret = -1;
			goto out;
		}
		ret = class_prob(q.logits, q.target, o, n);
		if (!ret && need_gain)
			ret = class_rest(q.logits, q.target, qo, n);
		if (!ret && need_coh) {
			struct cam_extra e2 = *extra;
			ts_tensor *s2, *h2;
			e2.x = xh;
			s2 = mapper->map(&q, &e2, mapper->ud);
			h2 = cam_postprocess(s2, ts_size(heat, 1), ts_size(heat, 2));
			ret = h2 ? pearson(heat, h2, r, n) : error("coherency CAM failed: %s", ts_error());
			ts_free(s2);
			ts_free(h2);
		}
		cam_pass_release(&q);
		if (ret)
			goto out;
	}
	if (need_d) {
		ts_tensor *logits = ts_module_forward(extra->model, xinv);
		ret = logits ? class_prob(logits, p->target, d, n) : error("forward on x * (1 - H) failed: %s",
									       ts_error());
		ts_free(logits);
		if (ret)
			goto out;
	}
	if (which & ((1u << METRIC_COM) | (1u << METRIC_ADCC) | (1u << METRIC_ARCC))) {
		static const int D12[2] = { 1, 2 };
		ts_tensor *a = ts_abs(heat), *com = ts_mean(a, D12, 2, 0);
		double *c = xcalloc(n, sizeof(double));
		if (ts_copy_f64(com, c, n) != (long)n)
			ret = error("cannot compute complexity: %s", ts_error());
		for (i = 0; !ret && i < n; i++)
			rows[i].com = c[i];
		free(c);
		ts_free(a);
		ts_free(com);
		if (ret)
			goto out;
	}
	for (i = 0; i < n; i++) {
		rows[i].y = y[i];
		if (need_o) { /* O serves AD and IC: each is kept only when asked for (ADCC needs AD) */
			rows[i].o = o[i];
			if (which & ((1u << METRIC_AD) | (1u << METRIC_ADCC)))
				rows[i].ad = fmax(0.0, y[i] - o[i]) / y[i];
			if (which & (1u << METRIC_IC))
				rows[i].ic = o[i] > y[i] ? 1.0 : 0.0;
			/* Opti-CAM's gain (O - Y) / (1 - Y) = 1 - (1 - O) / (1 - Y), from the accurate 1 - O
			 * and 1 - Y; O <= Y (Y = 1 included) gains nothing */
			if (need_gain)
				rows[i].gain = qo[i] < qy[i] ? (qy[i] - qo[i]) / qy[i] : 0.0;
		}
		if (need_d) {
			rows[i].d = d[i];
			rows[i].add = fmax(0.0, y[i] - d[i]) / y[i];
		}
		if (need_coh)
			rows[i].coh = isfinite(r[i]) ? (r[i] + 1) / 2 : 0.0;
	}
	ret = metrics_eval_extra(p, x, heat, extra, which, rows);
out:
	ts_free(mask);
	ts_free(inv);
	ts_free(xh);
	ts_free(xinv);
	free(y);
	free(o);
	free(d);
	free(r);
	free(qy);
	free(qo);
	return ret;
}

int metric_row_more(const struct metric_row *r, size_t i, char *name, size_t size, double *value)
{
	static const char *const disc[4] = { "disc_pearson_second", "disc_mass_second", "disc_pearson_least",
					     "disc_mass_least" };
	static const char *const sum[3] = { "sanity_spearman", "sanity_ssim", "sanity_pass" };
	size_t steps = r->sanity_done ? (size_t)r->sanity_steps : 0;

	if (r->disc_done) {
		const double v[4] = { r->disc_pearson_second, r->disc_mass_second, r->disc_pearson_least,
				      r->disc_mass_least };
		if (i < 4) {
			snprintf(name, size, "%s", disc[i]);
			*value = v[i];
			return 1;
		}
		i -= 4;
	}
	if (!r->sanity_done)
		return 0;
	if (i < 3) {
		const double v[3] = { r->sanity_spearman, r->sanity_ssim, r->sanity_pass };
		snprintf(name, size, "%s", sum[i]);
		*value = v[i];
		return 1;
	}
	i -= 3;
	if (i >= 2 * steps)
		return 0;
	/* two digits, so that the CSV files' sorted columns keep the steps in order */
	snprintf(name, size, "%s_%02zu", sum[i / steps], i % steps + 1);
	*value = r->sanity_curve[i / steps][i % steps];
	return 1;
}

int metrics_eval_group(const struct cam_pass *p, const struct cam_extra *extra, const char *head,
		       unsigned which, struct metric_method *mm, size_t nm)
{
	struct sanity_opts so = SANITY_OPTS_INIT;
	const struct metric_params *mp = extra->metric_params;

	if (mp) {
		so.seed = (uint64_t)mp->sanity_seed;
		so.steps = mp->sanity_steps;
		so.threshold = mp->sanity_threshold;
	}
	if ((which & (1u << METRIC_DISCRIMINATION)) &&
	    discrim_eval(p, extra, mp ? mp->discrimination_top : DISCRIM_TOP, mm, nm) < 0)
		return -1;
	if ((which & (1u << METRIC_SANITY)) && sanity_eval(p, extra, head, &so, mm, nm) < 0)
		return -1;
	return 0;
}

static double mean_of(const struct metric_row *rows, size_t n, size_t offset)
{
	double s = 0;
	size_t i, k = 0;
	for (i = 0; i < n; i++) {
		double v = *(const double *)((const char *)&rows[i] + offset);
		if (isnan(v))
			return NAN;
		s += v;
		k++;
	}
	return k ? s / (double)k : NAN;
}

void metrics_summarize(const struct metric_row *rows, size_t n, struct metric_summary *out)
{
	out->n = n;
	out->ad = mean_of(rows, n, offsetof(struct metric_row, ad));
	out->coh = mean_of(rows, n, offsetof(struct metric_row, coh));
	out->com = mean_of(rows, n, offsetof(struct metric_row, com));
	out->ic = mean_of(rows, n, offsetof(struct metric_row, ic));
	out->add = mean_of(rows, n, offsetof(struct metric_row, add));
	for (size_t k = 0; k < METRIC_NR_EXTRA; k++) {
		double sum = 0;
		size_t i;
		for (i = 0; i < n && !isnan(metric_row_extra(&rows[i], k)); i++)
			sum += metric_row_extra(&rows[i], k);
		out->extra[k] = n && i == n ? sum / (double)n : NAN;
	}
	/* ADCC of the averages, not the average of per-image ADCC (SCIENCE.md) */
	out->adcc = 3.0 / (1.0 / out->coh + 1.0 / (1.0 - out->com) + 1.0 / (1.0 - out->ad));
}
