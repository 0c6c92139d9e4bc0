/*
 * methods.c - CAM methods as tensor operations over shared passes (see methods.h and SCIENCE.md).
 *
 * Each formula is written with a scratch list of temporaries (cam/tmp.h) so that an expression reads
 * close to its definition and every intermediate handle is freed in one place. The passes the methods
 * share are cam/pass.c's.
 */
#include "cam/methods.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cam/fullgrad.h"
#include "cam/tmp.h"
#include "lib/error.h"
#include "lib/strbuf.h"
#include "lib/suggest.h"
#include "lib/xalloc.h"

const char *const cam_method_names[CAM_NR_METHODS] = {
	"cam",	      "gradcam",    "hirescam",	    "gradcam-e",    "layercam", "xgradcam",   "gradcam++",
	"randomcam",  "shapleycam", "shapleycam-h", "shapleycam-e", "scorecam", "ablationcam", "eigencam",
	"eigengradcam", "kpcacam",  "segeigencam",  "fem",	    "sobelcam",
	"refinecam",	"fullgrad",
};

/*
 * CAM methods known by other names elsewhere (pytorch-grad-cam's), which the nearest-name suggestion
 * gets wrong: 'eigen_cam' is nearer to 'hirescam' than to 'eigencam'. Each is one camlab has under its
 * own name, or one it does not have. Names are compared in lower case without '-' and '_', so that
 * 'KPCA_CAM', 'kpca-cam' and 'kpcacam' are one.
 */
#define SAME(ours, theirs) "; did you mean '" ours "'? (pytorch-grad-cam's " theirs ")"

static const struct {
	const char *name; /* lower case, without '-' and '_' */
	const char *note;
} other_methods[] = {
	{ "eigencam", SAME("eigencam", "EigenCAM") },
	{ "eigengradcam", SAME("eigengradcam", "EigenGradCAM") },
	{ "kpcacam", SAME("kpcacam", "KPCA_CAM") },
	{ "segeigencam", SAME("segeigencam", "SegEigenCAM") },
	{ "sobelcam", SAME("sobelcam", "sobel_cam") },
	{ "fullgrad", SAME("fullgrad", "FullGrad") },
	{ "finercam", ": FinerCAM is method 'gradcam' with utility 'finer' (camlab help utilities)" },
	{ "gradcamelementwise", SAME("gradcam-e", "GradCAMElementWise") },
	{ "gradcamplusplus", SAME("gradcam++", "GradCAMPlusPlus") },
};

#undef SAME

const char *cam_method_absent_note(const char *name)
{
	char buf[64];
	size_t i, n = 0;

	for (; *name && n + 1 < sizeof(buf); name++)
		if (*name != '-' && *name != '_')
			buf[n++] = (char)tolower((unsigned char)*name);
	if (*name)
		return NULL;
	buf[n] = '\0';
	for (i = 0; i < ARRAY_SIZE(other_methods); i++)
		if (!strcmp(buf, other_methods[i].name))
			return other_methods[i].note;
	return NULL;
}

static int parse_one(const char *word, size_t len, unsigned *mask)
{
	char buf[64];
	size_t i;
	const char *near[1], *note;

	if (len == 0 || len >= sizeof(buf))
		return error("bad method name '%.*s'", (int)len, word);
	for (i = 0; i < len; i++)
		buf[i] = word[i] == '_' ? '-' : (char)tolower((unsigned char)word[i]);
	buf[len] = '\0';
	if (!strcmp(buf, "all")) {
		/*
		 * refinecam is no method of one layer: a spec's "all" of a fused layer names it as
		 * "all,refinecam"; explain's --method all adds it when --layer names several
		 */
		*mask |= ((1u << CAM_NR_METHODS) - 1) & ~(1u << CAM_REFINECAM);
		return 0;
	}
	for (i = 0; i < CAM_NR_METHODS; i++) {
		if (!strcmp(buf, cam_method_names[i])) {
			*mask |= 1u << i;
			return 0;
		}
	}
	if ((note = cam_method_absent_note(buf)))
		return error("unknown method '%s'%s", buf, note);
	if (suggest_nearest(buf, cam_method_names, CAM_NR_METHODS, near, 1))
		return error("unknown method '%s'; did you mean '%s'?", buf, near[0]);
	return error("unknown method '%s' (camlab help methods lists them)", buf);
}

int cam_methods_parse(const char *list, unsigned *mask)
{
	const char *p = list;
	int ret = 0;

	*mask = 0;
	while (1) {
		size_t len = strcspn(p, ",");
		while (len && isspace((unsigned char)*p))
			p++, len--;
		while (len && isspace((unsigned char)p[len - 1]))
			len--;
		if (parse_one(p, len, mask) < 0)
			ret = -1;
		p += strcspn(p, ",");
		if (!*p)
			break;
		p++;
	}
	return ret;
}

unsigned cam_methods_passes(unsigned mask)
{
	unsigned need = 0;
	unsigned grad = (1u << CAM_GRADCAM) | (1u << CAM_HIRESCAM) | (1u << CAM_GRADCAM_E) |
			(1u << CAM_LAYERCAM) | (1u << CAM_XGRADCAM) | (1u << CAM_GRADCAMPP) |
			(1u << CAM_REFINECAM);
	unsigned shapley = (1u << CAM_SHAPLEYCAM) | (1u << CAM_SHAPLEYCAM_H) | (1u << CAM_SHAPLEYCAM_E);
	grad |= (1u << CAM_EIGENGRADCAM) | (1u << CAM_SEGEIGENCAM);
	if (mask & (grad | shapley))
		need |= CAM_PASS_GRAD;
	if (mask & shapley)
		need |= CAM_PASS_HVP;
	return need;
}

static const int HW[2] = { 2, 3 };
static const int CH[1] = { 1 };

static ts_tensor *projection(const ts_tensor *m);

/*
 * Set by cam_map for the duration of one map with eigen_smooth: every method whose map is a sum over
 * channels reduces its terms through channel_sum(), so this one switch gives all of them upstream's
 * eigen_smooth without threading a flag through each formula. Per thread, like the maps.
 */
static _Thread_local int eigen_terms;

/* S from its per-channel terms (B, C, h, w): their sum, or with eigen_smooth their first component. */
static ts_tensor *channel_sum(const ts_tensor *terms)
{
	return eigen_terms ? projection(terms) : ts_sum(terms, CH, 1, 0);
}

/* S = sum_k w_k A_k for weights w of shape (B, C, 1, 1) or (B, C). */
static ts_tensor *weighted_sum(const ts_tensor *w, const ts_tensor *a)
{
	struct tmp T = { 0 };
	const ts_tensor *w4 = w;
	if (ts_dim(w) == 2)
		w4 = K(ts_unsqueeze(K(ts_unsqueeze(w, 2)), 3));
	return tmp_done(&T, channel_sum(K(ts_mul(w4, a))));
}

/* mean over positions of W, then the weighted sum: GradCAM's form (Type-II) */
static ts_tensor *pooled(const ts_tensor *w, const ts_tensor *a)
{
	struct tmp T = { 0 };
	return tmp_done(&T, weighted_sum(K(ts_mean(w, HW, 2, 1)), a));
}

/* sum over channels of W * A: HiResCAM's form (Type-I) */
static ts_tensor *elementwise(const ts_tensor *w, const ts_tensor *a, int relu_each)
{
	struct tmp T = { 0 };
	ts_tensor *prod = K(ts_mul(w, a));
	if (relu_each)
		prod = K(ts_relu(prod));
	return tmp_done(&T, channel_sum(prod));
}

static ts_tensor *shapley_w(const struct cam_pass *p, struct tmp *tp)
{
	/* W = G - HA / 2: the second-order (Shapley) correction of the gradient. */
	return keep(tp, ts_sub(p->g, keep(tp, ts_muls(p->ha, 0.5))));
}

static ts_tensor *xgradcam(const struct cam_pass *p)
{
	struct tmp T = { 0 };
	ts_tensor *num = K(ts_sum(K(ts_mul(p->g, p->a)), HW, 2, 1));
	ts_tensor *den = K(ts_adds(K(ts_sum(p->a, HW, 2, 1)), 1e-7));
	return tmp_done(&T, weighted_sum(K(ts_div(num, den)), p->a));
}

static ts_tensor *gradcampp(const struct cam_pass *p)
{
	struct tmp T = { 0 };
	ts_tensor *g2 = K(ts_mul(p->g, p->g));
	ts_tensor *g3 = K(ts_mul(g2, p->g));
	ts_tensor *suma = K(ts_sum(p->a, HW, 2, 1));
	ts_tensor *den = K(ts_adds(K(ts_add(K(ts_muls(g2, 2.0)), K(ts_mul(suma, g3)))), 1e-6));
	ts_tensor *aij = K(ts_div(g2, den));
	/* alpha = 0 where G = 0 (the reference's np.where) */
	aij = K(ts_where(K(ts_eqs(p->g, 0.0)), K(ts_zeros_like(aij)), aij));
	ts_tensor *w = K(ts_sum(K(ts_mul(K(ts_relu(p->g)), aij)), HW, 2, 1));
	return tmp_done(&T, weighted_sum(w, p->a));
}

uint64_t cam_image_seed(uint64_t seed, size_t item)
{
	/* splitmix64's finaliser over seed and the index: neighbouring images get unrelated streams */
	uint64_t z = seed + ((uint64_t)item + 1) * 0x9e3779b97f4a7c15ULL;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/*
 * Each image's weights are drawn from its own seed (cam_image_seed of the run's seed and its dataset
 * index), so they do not depend on the batch it is in: batch sizes, an out-of-memory split, several
 * devices or shards give the same maps. Without items, its place in the batch stands for the index.
 */
static ts_tensor *randomcam(const struct cam_pass *p, uint64_t seed, const size_t *items)
{
	struct tmp T = { 0 };
	int64_t nb = ts_size(p->a, 0), shape[2] = { 1, ts_size(p->a, 1) }, b;
	ts_tensor **rows = xcalloc((size_t)(nb ? nb : 1), sizeof(*rows)), *w = NULL, *out;

	for (b = 0; rows && b < nb; b++)
		if (!(rows[b] = ts_rand_uniform(shape, 2, -1.0, 1.0,
						cam_image_seed(seed, items ? items[b] : (size_t)b), "cpu")))
			break;
	if (rows && b == nb)
		w = K(ts_to_like(K(ts_cat(rows, (int)nb, 0)), p->a));
	for (b = 0; rows && b < nb; b++)
		ts_free(rows[b]);
	free(rows);
	out = w ? weighted_sum(w, p->a) : NULL;
	return tmp_done(&T, out);
}

const char *cam_head_undefined(const ts_split *split, const ts_tensor *fc)
{
	if (!fc)
		return "method 'cam' needs a global-average-pooling + linear head, and the model has no Linear "
		       "module";
	if (!ts_split_linear_head(split))
		return "method 'cam' needs the layer to feed global average pooling and the linear head directly "
		       "(more than pooling and a linear map follows it here): use it at the layer before global "
		       "pooling, or GradCAM with the logit utility, which is CAM where CAM is defined";
	return NULL;
}

int cam_head_check(const ts_split *split, const ts_tensor *fc, int64_t channels)
{
	const char *why = cam_head_undefined(split, fc);

	if (why)
		return error("%s", why);
	if (ts_dim(fc) != 2 || ts_size(fc, 1) != channels)
		return error("method 'cam' needs the head's weight to have one column per channel of the layer "
			     "(%ld channels, weight %ldx%ld): use it at the layer before global pooling",
			     (long)channels, (long)ts_size(fc, 0), (long)ts_size(fc, 1));
	return 0;
}

static ts_tensor *classic_cam(const struct cam_pass *p, const ts_tensor *fc)
{
	struct tmp T = { 0 };
	int64_t nb = ts_size(p->a, 0), nc = ts_size(p->a, 1), b, c;
	int64_t *idx, shape[2] = { nb, nc };
	ts_tensor *rows;

	if (cam_head_check(p->split, fc, nc) < 0)
		return NULL;
	idx = xmalloc((size_t)(nb * nc) * sizeof(*idx));
	for (b = 0; b < nb; b++)
		for (c = 0; c < nc; c++)
			idx[b * nc + c] = p->classes[b];
	rows = K(ts_gather(K(ts_to_like(fc, p->a)), 0, K(ts_to_like(K(ts_from_i64(idx, shape, 2, "cpu")), p->a))));
	free(idx);
	return tmp_done(&T, weighted_sum(rows, p->a));
}

/* Channel-wise min-max of (N, C, H, W) over H, W, with the reference's epsilon. */
static ts_tensor *minmax_hw(const ts_tensor *v, double eps)
{
	struct tmp T = { 0 };
	ts_tensor *mn = K(ts_amin(v, HW, 2, 1)), *mx = K(ts_amax(v, HW, 2, 1));
	return tmp_done(&T, ts_div(K(ts_sub(v, mn)), K(ts_adds(K(ts_sub(mx, mn)), eps))));
}

/*
 * ScoreCAM: each channel, upsampled (align_corners=True) and min-maxed, masks the input; the utility of
 * the masked input, softmaxed over channels, weights the channels. C forwards per image, in chunks.
 */
static ts_tensor *scorecam(const struct cam_pass *p, const struct cam_extra *e)
{
	struct tmp T = { 0 };
	int64_t nb = ts_size(p->a, 0), nc = ts_size(p->a, 1), b, k0;
	int64_t H = ts_size(e->x, 2), W = ts_size(e->x, 3);
	int chunk = e->chunk > 0 ? e->chunk : 16;
	ts_tensor **rows = xcalloc((size_t)nb, sizeof(*rows));
	ts_tensor *masks = K(minmax_hw(K(ts_interpolate(p->a, H, W, 1)), 1e-8));
	ts_tensor *res = NULL;

	for (b = 0; b < nb && !T.failed; b++) {
		struct tmp U = { 0 };
		ts_tensor *xb = keep(&U, ts_narrow(e->x, 0, b, 1));		/* (1,3,H,W) */
		ts_tensor *mb = keep(&U, ts_unsqueeze(keep(&U, ts_select(masks, 0, b)), 1)); /* (C,1,H,W) */
		ts_tensor *tb = keep(&U, ts_narrow(p->target, 0, b, 1));
		ts_tensor **parts = xcalloc((size_t)(nc / chunk + 1), sizeof(*parts));
		int np = 0;
		for (k0 = 0; k0 < nc; k0 += chunk) {
			struct tmp V = { 0 };
			int64_t n = nc - k0 < chunk ? nc - k0 : chunk;
			ts_tensor *in = keep(&V, ts_mul(xb, keep(&V, ts_narrow(mb, 0, k0, n))));
			ts_tensor *logits = keep(&V, ts_module_forward(e->model, in));
			ts_tensor *tgt = keep(&V, ts_repeat_interleave(tb, n));
			parts[np] = cam_pass_utility(p, logits, tgt); /* (n,1) */
			if (!parts[np])
				U.failed = 1;
			np++;
			tmp_done(&V, NULL);
			if (V.failed) {
				U.failed = 1;
				break;
			}
		}
		if (!U.failed) {
			ts_tensor *scores = keep(&U, ts_cat(parts, np, 0)); /* (C,1) */
			ts_tensor *w = keep(&U, ts_softmax(keep(&U, ts_reshape(scores, (int64_t[]){ 1, nc }, 2)), 1));
			rows[b] = w;
			U.v[U.n - 1] = NULL; /* rows[b] now owns w */
		}
		for (int i = 0; i < np; i++)
			ts_free(parts[i]);
		free(parts);
		if (U.failed)
			T.failed = 1;
		tmp_done(&U, NULL);
	}
	if (!T.failed)
		res = weighted_sum(K(ts_cat(rows, (int)nb, 0)), p->a);
	for (b = 0; b < nb; b++)
		ts_free(rows[b]);
	free(rows);
	if (!res)
		error("scorecam failed: %s", ts_error());
	return tmp_done(&T, res);
}

/*
 * AblationCAM: w_k = (Y - Y_k) / Y, where Y_k is the utility with channel k of A zeroed, evaluated by the
 * network above the layer on chunks of ablated copies of every image's A.
 */
static ts_tensor *ablationcam(const struct cam_pass *p, const struct cam_extra *e)
{
	struct tmp T = { 0 };
	int64_t nb = ts_size(p->a, 0), nc = ts_size(p->a, 1), k0, b, j, c;
	int chunk = e->chunk > 0 ? e->chunk : 32;
	ts_tensor **cols = xcalloc((size_t)(nc / chunk + 1), sizeof(*cols));
	int ncols = 0, failed = 0;
	ts_tensor *res = NULL;

	for (k0 = 0; k0 < nc && !failed; k0 += chunk) {
		struct tmp V = { 0 };
		int64_t n = nc - k0 < chunk ? nc - k0 : chunk;
		float *mask = xmalloc((size_t)(nb * n * nc) * sizeof(float));
		int64_t mshape[4] = { nb * n, nc, 1, 1 };
		ts_carry *carry;
		/* copy j of image b has channel k0 + j zeroed */
		for (b = 0; b < nb; b++)
			for (j = 0; j < n; j++)
				for (c = 0; c < nc; c++)
					mask[(b * n + j) * nc + c] = c == k0 + j ? 0.0f : 1.0f;
		ts_tensor *m = keep(&V, ts_to_like(keep(&V, ts_from_f32(mask, mshape, 4, "cpu")), p->a));
		free(mask);
		ts_tensor *ab = keep(&V, ts_mul(keep(&V, ts_repeat_interleave(p->a, n)), m));
		carry = ts_carry_repeat_interleave(p->carry, n);
		ts_tensor *logits = keep(&V, ts_split_suffix(p->split, carry, ab));
		ts_carry_free(carry);
		ts_tensor *yk = keep(&V, cam_pass_utility(p, logits, keep(&V, ts_repeat_interleave(p->target, n))));
		ts_tensor *y = keep(&V, ts_repeat_interleave(p->u, n));
		ts_tensor *w = ts_div(keep(&V, ts_sub(y, yk)), y); /* (B*n, 1) */
		cols[ncols] = ts_reshape(w, (int64_t[]){ nb, n }, 2);
		ts_free(w);
		if (!cols[ncols++] || V.failed)
			failed = 1;
		tmp_done(&V, NULL);
	}
	if (!failed)
		res = weighted_sum(K(ts_cat(cols, ncols, 1)), p->a);
	for (int i = 0; i < ncols; i++)
		ts_free(cols[i]);
	free(cols);
	if (!res)
		error("ablationcam failed: %s", ts_error());
	return tmp_done(&T, res);
}

/* ---- methods of one matrix per image: principal components, thresholds ---- */

/* Each image's (h*w) x C matrix of m (B, C, h, w), centred over the positions, in float64: (B, h*w, C). */
static ts_tensor *centred_rows(const ts_tensor *m)
{
	struct tmp T = { 0 };
	static const int SWAP[3] = { 0, 2, 1 };
	static const int POS[1] = { 1 };
	int64_t shape[3] = { ts_size(m, 0), ts_size(m, 1), ts_size(m, 2) * ts_size(m, 3) };
	ts_tensor *x = K(ts_permute(K(ts_reshape(K(ts_to_f64(m)), shape, 3)), SWAP, 3));
	return tmp_done(&T, ts_sub(x, K(ts_mean(x, POS, 1, 1))));
}

/*
 * p (B, n) negated per image where its most negative value is larger in magnitude than its most
 * positive one (SegEigenCAM's sign correction; scikit-learn's svd_flip is the same rule on an
 * eigenvector): a singular or eigen vector's sign is the solver's choice, and this makes it the map's.
 */
static ts_tensor *sign_fixed(const ts_tensor *p)
{
	struct tmp T = { 0 };
	static const int POS[1] = { 1 };
	/* -min > max is -(min + max) > 0; the factor is 1 - 2 flip */
	ts_tensor *flip = K(ts_gts(K(ts_muls(K(ts_add(K(ts_amin(p, POS, 1, 1)), K(ts_amax(p, POS, 1, 1)))), -1.0)),
				   0.0));
	return tmp_done(&T, ts_mul(p, K(ts_adds(K(ts_muls(flip, -2.0)), 1.0))));
}

/* The top eigenpair of symmetric (B, n, n) as v * sqrt(max(lambda, 0)), (B, n). */
static ts_tensor *top_component(const ts_tensor *sym)
{
	struct tmp T = { 0 };
	ts_tensor *vals, *vecs;
	int64_t n = ts_size(sym, 1);

	if (ts_eigh(sym, &vals, &vecs) < 0)
		return tmp_done(&T, NULL);
	K(vals);
	K(vecs);
	ts_tensor *lam = K(ts_clamp(K(ts_narrow(vals, 1, n - 1, 1)), 0.0, INFINITY));
	return tmp_done(&T, ts_mul(K(ts_select(vecs, 2, n - 1)), K(ts_sqrt(lam))));
}

/* float64 (B, n) to the method's float32 (B, h, w) of like (B, C, h, w). */
static ts_tensor *as_map(const ts_tensor *p, const ts_tensor *like)
{
	struct tmp T = { 0 };
	int64_t shape[3] = { ts_size(like, 0), ts_size(like, 2), ts_size(like, 3) };
	return tmp_done(&T, ts_reshape(K(ts_to_f32(p)), shape, 3));
}

/*
 * pytorch-grad-cam's get_2d_projection: X, each image's centred (h*w) x C matrix of m, projected on its
 * first right singular vector v1. X v1 = s1 u1 is the top eigenpair of the Gram matrix X X^T, or X v1
 * with v1 that of X^T X where C is the smaller side: one small batched symmetric eigenproblem per batch
 * instead of an SVD per image, in float64. Its sign is fixed by sign_fixed(), where upstream leaves
 * numpy's LAPACK to choose it.
 */
static ts_tensor *projection(const ts_tensor *m)
{
	struct tmp T = { 0 };
	static const int SWAP[3] = { 0, 2, 1 };
	ts_tensor *x = K(centred_rows(m)), *xt = K(ts_permute(x, SWAP, 3)), *p;
	int64_t n = ts_size(m, 2) * ts_size(m, 3), c = ts_size(m, 1);

	if (n <= c) {
		p = K(top_component(K(ts_matmul(x, xt))));
	} else {
		ts_tensor *v = K(top_component(K(ts_matmul(xt, x)))); /* (B, C), scaled: normalised below */
		ts_tensor *norm = K(ts_sqrt(K(ts_sum(K(ts_mul(v, v)), (const int[]){ 1 }, 1, 1))));
		v = K(ts_unsqueeze(K(ts_div(v, K(ts_adds(norm, 1e-300)))), 2));
		p = K(ts_squeeze(K(ts_matmul(x, v)), 2));
	}
	return tmp_done(&T, as_map(K(sign_fixed(p)), m));
}

/*
 * The kernel matrix (B, n, n) of each image's rows x (B, n, C), as scikit-learn's pairwise_kernels
 * computes it for KernelPCA with its defaults (degree 3, coef0 1; gamma, if not given, 1 / C):
 * sigmoid tanh(gamma x x' + 1), rbf exp(-gamma |x - x'|^2), poly (gamma x x' + 1)^3, linear x x',
 * cosine x x' / (|x| |x'|).
 */
static ts_tensor *kernel_matrix(const ts_tensor *x, const struct cam_method_params *mp)
{
	struct tmp T = { 0 };
	static const int SWAP[3] = { 0, 2, 1 }, LAST[1] = { 2 };
	double gamma = mp->gamma > 0 ? mp->gamma : 1.0 / (double)ts_size(x, 2);
	ts_tensor *dot = K(ts_matmul(x, K(ts_permute(x, SWAP, 3)))), *sq, *d2, *norm;

	switch (mp->kernel) {
	case CAM_KPCA_RBF:
		/* |x|^2 + |x'|^2 - 2 x x', clipped at 0 as euclidean_distances does */
		sq = K(ts_sum(K(ts_mul(x, x)), LAST, 1, 1)); /* (B, n, 1) */
		d2 = K(ts_sub(K(ts_add(sq, K(ts_permute(sq, SWAP, 3)))), K(ts_muls(dot, 2.0))));
		return tmp_done(&T, ts_exp(K(ts_muls(K(ts_clamp(d2, 0.0, INFINITY)), -gamma))));
	case CAM_KPCA_POLY:
		return tmp_done(&T, ts_pows(K(ts_adds(K(ts_muls(dot, gamma)), 1.0)), 3.0));
	case CAM_KPCA_LINEAR:
		return tmp_done(&T, ts_clone(dot));
	case CAM_KPCA_COSINE:
		norm = K(ts_sqrt(K(ts_sum(K(ts_mul(x, x)), LAST, 1, 1))));
		norm = K(ts_clamp(norm, 1e-300, INFINITY)); /* normalize() leaves a zero row zero */
		return tmp_done(&T, ts_div(dot, K(ts_mul(norm, K(ts_permute(norm, SWAP, 3))))));
	default:
		return tmp_done(&T, ts_tanh(K(ts_adds(K(ts_muls(dot, gamma)), 1.0))));
	}
}

/*
 * KPCA-CAM: scikit-learn's KernelPCA(n_components=1, kernel, gamma) of each image's centred (h*w) x C
 * matrix X (upstream's defaults: kernel sigmoid, gamma None, i.e. 1 / C): the kernel matrix, centred
 * over rows and columns, and its top eigenvector times the root of its eigenvalue, the sign fixed as
 * scikit-learn's svd_flip does (the entry largest in magnitude is positive).
 */
static ts_tensor *kpcacam(const ts_tensor *a, const struct cam_method_params *mp)
{
	struct tmp T = { 0 };
	static const int ROWS[1] = { 1 }, COLS[1] = { 2 }, BOTH[2] = { 1, 2 };
	ts_tensor *k = K(kernel_matrix(K(centred_rows(a)), mp));
	ts_tensor *kc = K(ts_add(K(ts_sub(K(ts_sub(k, K(ts_mean(k, ROWS, 1, 1)))), K(ts_mean(k, COLS, 1, 1)))),
				 K(ts_mean(k, BOTH, 2, 1))));
	return tmp_done(&T, as_map(K(sign_fixed(K(top_component(kc)))), a));
}

/*
 * FEM: each channel weighs by the share of its positions above its mean plus k (upstream's default 2)
 * population standard deviations, then the weighted sum of the channels.
 */
static ts_tensor *fem(const ts_tensor *a, double k)
{
	struct tmp T = { 0 };
	ts_tensor *mean = K(ts_mean(a, HW, 2, 1)), *d = K(ts_sub(a, mean));
	ts_tensor *sd = K(ts_sqrt(K(ts_mean(K(ts_mul(d, d)), HW, 2, 1))));
	ts_tensor *above = K(ts_gts(K(ts_sub(a, K(ts_add(mean, K(ts_muls(sd, k)))))), 0.0));
	return tmp_done(&T, weighted_sum(K(ts_mean(above, HW, 2, 1)), a));
}

/* A (1, 3, 1, 1) tensor of three per-channel values, on like's device. */
static ts_tensor *per_channel(const double v[3], const ts_tensor *like)
{
	struct tmp T = { 0 };
	int64_t shape[4] = { 1, 3, 1, 1 };
	float f[3] = { (float)v[0], (float)v[1], (float)v[2] };
	return tmp_done(&T, ts_to_f64(K(ts_to_like(K(ts_from_f32(f, shape, 4, "cpu")), like))));
}

/*
 * SobelCAM, pytorch-grad-cam's edge-detector floor: a map of the image alone (no model), at its size.
 * OpenCV's steps on the bytes: RGB2GRAY in the 15-bit fixed point of OpenCV 4's vector code (the 14-bit
 * one of its scalar code is 1 grey level off here and there, up to 3 after Sobel), 3x3 Sobel in x and y
 * with the mirrored border, |.| saturated to 255 each, and their mean rounded half to even, all exact
 * in float64.
 * The bytes are x's normalisation undone and rounded, so x * H (Coherency) is an image too.
 */
static ts_tensor *sobelcam(const struct cam_extra *e)
{
	struct tmp T = { 0 };
	double mean[3] = { 0, 0, 0 }, sd[3] = { 1, 1, 1 }, luma[3] = { 9798, 19235, 3735 };
	static const float sobel[18] = { -1, 0, 1, -2, 0, 2, -1, 0, 1, -1, -2, -1, 0, 0, 0, 1, 2, 1 };
	int64_t wshape[4] = { 2, 1, 3, 3 };
	int i;

	if (!e->x || ts_dim(e->x) != 4 || ts_size(e->x, 1) != 3) {
		error("method 'sobelcam' needs the RGB input batch");
		return NULL;
	}
	for (i = 0; i < 3; i++) {
		if (e->mean)
			mean[i] = e->mean[i];
		if (e->std)
			sd[i] = e->std[i];
	}
	ts_tensor *x = K(ts_to_f64(e->x));
	ts_tensor *rgb = K(ts_clamp(K(ts_round(K(ts_muls(K(ts_add(K(ts_mul(x, K(per_channel(sd, x)))),
								      K(per_channel(mean, x)))),
							 255.0)))),
				    0.0, 255.0));
	ts_tensor *gray = K(ts_sum(K(ts_mul(rgb, K(per_channel(luma, x)))), CH, 1, 1));
	gray = K(ts_floor(K(ts_muls(K(ts_adds(gray, 16384.0)), 1.0 / 32768.0))));
	ts_tensor *w = K(ts_to_f64(K(ts_to_like(K(ts_from_f32(sobel, wshape, 4, "cpu")), x))));
	ts_tensor *d = K(ts_clamp(K(ts_abs(K(ts_conv2d(K(ts_pad_reflect(gray, 1)), w)))), 0.0, 255.0));
	ts_tensor *g = K(ts_round(K(ts_muls(K(ts_sum(d, CH, 1, 0)), 0.5))));
	return tmp_done(&T, ts_to_f32(g));
}

/* Per-image min-max of (B, H, W). */
static ts_tensor *minmax_image(const ts_tensor *v);

/*
 * FullGrad (cam/fullgrad.h): the sum of its terms; with eigen_smooth, upstream's FullGrad branch: the
 * terms min-maxed and resized to 1/8 of the input, their first component, min-maxed and resized back.
 */
static ts_tensor *fullgrad(const struct cam_pass *p, const struct cam_extra *e)
{
	struct tmp T = { 0 };
	ts_tensor *terms;
	int64_t H, W;

	if (!e->model || !e->x) {
		error("method 'fullgrad' needs the whole model and the input batch");
		return NULL;
	}
	terms = K(cam_fullgrad_terms(e->model, e->x, p->target, p->utility, p->hook));
	if (!eigen_terms || !terms)
		return tmp_done(&T, terms ? ts_sum(terms, CH, 1, 0) : NULL);
	H = ts_size(e->x, 2);
	W = ts_size(e->x, 3);
	ts_tensor *small = K(ts_interpolate(K(minmax_hw(terms, 1e-7)), H / 8 > 0 ? H / 8 : 1, W / 8 > 0 ? W / 8 : 1, 0));
	return tmp_done(&T, cam_resize_raw(K(minmax_image(K(projection(small)))), H, W));
}

static ts_tensor *plain_map(enum cam_method m, const struct cam_pass *p, const struct cam_extra *e)
{
	static const struct cam_method_params defaults = CAM_METHOD_PARAMS_INIT;
	const struct cam_method_params *mp = e->params ? e->params : &defaults;
	struct tmp T = { 0 };
	ts_tensor *r = NULL;
	unsigned need = cam_methods_passes(1u << m);

	if (((need & CAM_PASS_GRAD) && !p->g) || ((need & CAM_PASS_HVP) && !p->ha))
		BUG("method %s without its passes", cam_method_names[m]);
	switch (m) {
	case CAM_CAM:
		return classic_cam(p, e->fc);
	case CAM_GRADCAM:
		r = pooled(p->g, p->a);
		break;
	case CAM_HIRESCAM:
		r = elementwise(p->g, p->a, 0);
		break;
	case CAM_GRADCAM_E:
		r = elementwise(p->g, p->a, 1);
		break;
	case CAM_LAYERCAM:
		r = elementwise(K(ts_relu(p->g)), p->a, 0);
		break;
	case CAM_XGRADCAM:
		r = xgradcam(p);
		break;
	case CAM_GRADCAMPP:
	case CAM_REFINECAM: /* its layers' maps; cam/multilayer.c multiplies them */
		r = gradcampp(p);
		break;
	case CAM_RANDOMCAM:
		r = randomcam(p, e->seed, e->items);
		break;
	case CAM_SHAPLEYCAM:
		r = pooled(shapley_w(p, &T), p->a_live ? p->a_live : p->a);
		break;
	case CAM_SHAPLEYCAM_H:
		r = elementwise(shapley_w(p, &T), p->a_live ? p->a_live : p->a, 0);
		break;
	case CAM_SHAPLEYCAM_E:
		r = elementwise(shapley_w(p, &T), p->a_live ? p->a_live : p->a, 1);
		break;
	case CAM_SCORECAM:
		return scorecam(p, e);
	case CAM_ABLATIONCAM:
		return ablationcam(p, e);
	case CAM_EIGENCAM:
		r = projection(p->a);
		break;
	case CAM_EIGENGRADCAM:
		r = projection(K(ts_mul(p->g, p->a)));
		break;
	case CAM_KPCACAM:
		r = kpcacam(p->a, mp);
		break;
	case CAM_SEGEIGENCAM:
		r = projection(K(ts_mul(K(ts_abs(p->g)), p->a)));
		break;
	case CAM_FEM:
		r = fem(p->a, mp->k);
		break;
	case CAM_SOBELCAM:
		r = sobelcam(e);
		break;
	case CAM_FULLGRAD:
		r = fullgrad(p, e);
		break;
	case CAM_NR_METHODS:
		BUG("bad method");
	}
	if (!r)
		error("%s failed: %s", cam_method_names[m], ts_error());
	return tmp_done(&T, r);
}

ts_tensor *cam_map(enum cam_method m, const struct cam_pass *p, const struct cam_extra *e)
{
	ts_tensor *r;

	if (e->smooth & CAM_SMOOTH_AUG)
		BUG("cam_map with aug_smooth: cam_smooth_map does it");
	eigen_terms = (e->smooth & CAM_SMOOTH_EIGEN) != 0;
	r = plain_map(m, p, e);
	eigen_terms = 0;
	return r;
}

/* Per-image min-max of (B, H, W). */
static ts_tensor *minmax_image(const ts_tensor *v)
{
	struct tmp T = { 0 };
	static const int D12[2] = { 1, 2 };
	ts_tensor *mn = K(ts_amin(v, D12, 2, 1)), *mx = K(ts_amax(v, D12, 2, 1));
	return tmp_done(&T, ts_div(K(ts_sub(v, mn)), K(ts_adds(K(ts_sub(mx, mn)), 1e-7))));
}

ts_tensor *cam_resize_raw(const ts_tensor *s, int64_t h, int64_t w)
{
	struct tmp T = { 0 };
	return tmp_done(&T, ts_squeeze(K(ts_interpolate(K(ts_unsqueeze(s, 1)), h, w, 0)), 1));
}

ts_tensor *cam_postprocess(const ts_tensor *s, int64_t h, int64_t w)
{
	struct tmp T = { 0 };
	ts_tensor *r = K(minmax_image(K(ts_relu(s))));
	return tmp_done(&T, minmax_image(K(cam_resize_raw(r, h, w))));
}
