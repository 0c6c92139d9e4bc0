/*
 * fullgrad.c - FullGrad's gradients and their post-processing (see fullgrad.h). The shim taps every
 * Conv2d and BatchNorm2d output in one forward (ts_module_taps); one backward gives the gradient with
 * respect to the input and to all of them.
 */
#include "cam/fullgrad.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lib/error.h"
#include "lib/strbuf.h"
#include "lib/xalloc.h"

static const int HW[2] = { 2, 3 };
static const int CH[1] = { 1 };

/* A tensor attribute of the module at prefix.name, or NULL (quietly: a missing bias is no error). */
static ts_tensor *attr(const ts_module *m, const char *prefix, const char *name)
{
	struct strbuf sb = STRBUF_INIT;
	ts_tensor *t;

	strbuf_addf(&sb, "%s%s%s", prefix, *prefix ? "." : "", name);
	t = ts_module_attr(m, sb.buf);
	strbuf_release(&sb);
	return t;
}

/*
 * The bias that tap i adds, as upstream's FullGrad.get_bias_data takes it, or NULL when the module has
 * none (a Conv2d with bias=False, a BatchNorm2d with affine=False), which upstream leaves out too.
 * -1 in *failed for a batch norm without running statistics.
 */
static ts_tensor *tap_bias(const ts_module *m, const ts_taps *t, int i, int *failed)
{
	const char *path = ts_taps_path(t, i);
	ts_tensor *beta = attr(m, path, "bias"), *gamma, *mean, *var, *out;
	double eps;

	if (!beta || strcmp(ts_taps_type(t, i), "BatchNorm2d"))
		return beta;
	gamma = attr(m, path, "weight");
	mean = attr(m, path, "running_mean");
	var = attr(m, path, "running_var");
	eps = ts_taps_eps(t, i);
	if (!gamma || !mean || !var || isnan(eps)) {
		*failed = error("fullgrad: batch norm '%s' has no running statistics to take its bias from", path);
		out = NULL;
	} else {
		/* beta - mean * gamma / sqrt(var + eps), in upstream's order */
		ts_tensor *s = ts_sqrt(ts_adds(var, eps)), *mg = ts_mul(mean, gamma), *q = ts_div(mg, s);
		out = ts_sub(beta, q);
		ts_free(s);
		ts_free(mg);
		ts_free(q);
	}
	ts_free(beta);
	ts_free(gamma);
	ts_free(mean);
	ts_free(var);
	return out;
}

/*
 * sum over channels of mm(v) per channel map, resized to h x w: (B, 1, h, w). The resize is linear, so
 * resizing the sum equals upstream's sum of resized maps (to rounding) at the cost of one resize.
 */
static ts_tensor *mm_resize_sum(const ts_tensor *v, int64_t h, int64_t w, int keep_channels)
{
	ts_tensor *mn = ts_amin(v, HW, 2, 1), *d = ts_sub(v, mn), *mx = ts_amax(d, HW, 2, 1);
	ts_tensor *den = ts_adds(mx, 1e-7), *mm = ts_div(d, den);
	ts_tensor *sum = keep_channels ? mm : ts_sum(mm, CH, 1, 1);
	ts_tensor *out = ts_interpolate(sum, h, w, 0);

	ts_free(mn);
	ts_free(d);
	ts_free(mx);
	ts_free(den);
	if (sum != mm)
		ts_free(sum);
	ts_free(mm);
	return out;
}

/* |b_c dU/dO_c| post-processed and summed over channels, (B, 1, h, w); g is (B, C, h', w'). */
static ts_tensor *bias_term(const ts_tensor *b, const ts_tensor *g, int64_t h, int64_t w)
{
	int64_t shape[4] = { 1, ts_size(b, 0), 1, 1 };
	ts_tensor *g32 = ts_to_f32(g), *bl = ts_to_like(b, g32), *b4 = ts_reshape(bl, shape, 4);
	ts_tensor *prod = ts_mul(b4, g32), *a = ts_abs(prod), *out = mm_resize_sum(a, h, w, 0);

	ts_free(g32);
	ts_free(bl);
	ts_free(b4);
	ts_free(prod);
	ts_free(a);
	return out;
}

/* Each tap's bias (NULL: none) into bias[], and its output's place among the gradients' inputs. */
static int tap_biases(ts_module *m, const ts_taps *taps, int n, ts_tensor **bias, ts_tensor *const *outs,
		      ts_tensor **inputs, int *ni)
{
	int i, failed = 0;

	for (i = 0; i < n && !failed; i++) {
		bias[i] = tap_bias(m, taps, i, &failed);
		if (!bias[i])
			continue;
		if (ts_dim(outs[i]) != 4 || ts_size(outs[i], 1) != ts_numel(bias[i]))
			return error("fullgrad: layer '%s' gives no (B, C, h, w) output with one bias per channel",
				     ts_taps_path(taps, i));
		inputs[(*ni)++] = outs[i];
	}
	return failed ? -1 : 0;
}

ts_tensor *cam_fullgrad_terms(ts_module *m, const ts_tensor *x, const ts_tensor *target, enum utility u,
			      const struct utility_hook *hook)
{
	ts_taps *taps = ts_module_taps(m, CAM_FULLGRAD_TYPES);
	int n = taps ? ts_taps_count(taps) : 0, i, ni = 1, nt = 0, prev;
	int64_t H = ts_size(x, 2), W = ts_size(x, 3);
	ts_tensor **outs = xcalloc((size_t)n + 1, sizeof(*outs)), **bias = xcalloc((size_t)n + 1, sizeof(*bias));
	ts_tensor **inputs = xcalloc((size_t)n + 1, sizeof(*inputs)), **grads = xcalloc((size_t)n + 1, sizeof(*grads));
	ts_tensor **terms = xcalloc((size_t)n + 1, sizeof(*terms));
	ts_tensor *leaf = NULL, *logits = NULL, *uu = NULL, *total = NULL, *res = NULL;

	if (!taps) {
		error("fullgrad: %s", ts_error());
		goto out;
	}
	prev = ts_set_grad(1);
	leaf = ts_leaf(x);
	logits = ts_taps_forward(taps, leaf, outs);
	uu = hook ? hook->fn(hook->ud, logits, target) : utility_eval(u, logits, target);
	total = ts_sum(uu, NULL, 0, 0);
	inputs[0] = leaf;
	if (total && tap_biases(m, taps, n, bias, outs, inputs, &ni) == 0 && ts_grads(total, inputs, ni, grads) == 0) {
		ts_tensor *xg = ts_mul(x, grads[0]), *axg = ts_abs(xg);
		terms[nt++] = mm_resize_sum(axg, H, W, 1); /* the input's 3 channels, each its own term */
		ts_free(xg);
		ts_free(axg);
		for (i = 0, ni = 1; i < n; i++)
			if (bias[i])
				terms[nt++] = bias_term(bias[i], grads[ni++], H, W);
		for (i = 0; i < nt && terms[i]; i++)
			;
		if (i == nt)
			res = ts_cat(terms, nt, 1);
	}
	ts_set_grad(prev);
	if (!res)
		error("fullgrad failed: %s", ts_error());
out:
	for (i = 0; i <= n; i++) {
		ts_free(outs[i]);
		ts_free(bias[i]);
		ts_free(grads[i]);
		ts_free(terms[i]);
	}
	free(outs);
	free(bias);
	free(inputs);
	free(grads);
	free(terms);
	ts_free(leaf);
	ts_free(logits);
	ts_free(uu);
	ts_free(total);
	return res;
}
