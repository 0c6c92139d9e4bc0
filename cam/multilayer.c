/*
 * multilayer.c - fused layers and RefineCAM (see multilayer.h): one cut and one pass per layer, the
 * method's map at each, and their combination as pytorch-grad-cam's base_cam.py and refine_cam.py do it.
 */
#include "cam/multilayer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cam/model.h"
#include "cam/smooth.h"
#include "lib/error.h"
#include "lib/xalloc.h"

size_t cam_layer_count(const char *layers)
{
	size_t n = 1;

	for (; *layers; layers++)
		n += *layers == ',';
	return n;
}

long cam_layer_nth(const char *layers, size_t i, char *buf, size_t size)
{
	const char *end;
	size_t len;

	for (; i; i--) {
		layers = strchr(layers, ',');
		if (!layers)
			return -1;
		layers++;
	}
	end = strchr(layers, ',');
	len = end ? (size_t)(end - layers) : strlen(layers);
	if (size) {
		size_t n = len < size - 1 ? len : size - 1;
		memcpy(buf, layers, n);
		buf[n] = '\0';
	}
	return (long)len;
}

struct cam_multi *cam_multi_new(struct model *m, const char *layers, enum ts_layout layout)
{
	struct cam_multi *mu = xcalloc(1, sizeof(*mu));
	size_t n = cam_layer_count(layers), i;
	char path[1024];

	if (n > CAM_MULTI_MAX) {
		error("layer '%s' fuses %zu layers; at most %d", layers, n, CAM_MULTI_MAX);
		free(mu);
		return NULL;
	}
	for (i = 0; i < n; i++) {
		if (cam_layer_nth(layers, i, path, sizeof(path)) >= (long)sizeof(path) ||
		    model_split(m, path, layout, &mu->splits[i]) < 0) {
			if (!mu->splits[i])
				error("cannot cut the model at '%s', layer %zu of '%s'", path, i + 1, layers);
			cam_multi_free(mu);
			return NULL;
		}
		mu->n = i + 1;
	}
	/* a fused layer whose layers cannot be tapped in one forward still works, a pass per layer */
	if (n > 1 && !getenv("CAMLAB_TEST_FUSED_PER_LAYER")) {
		mu->chain = ts_chain_new(mu->splits, (int)n);
		if (!mu->chain && getenv("CAMLAB_DEBUG"))
			fprintf(stderr, "debug: fused layer '%s': a pass per layer: %s\n", layers, ts_error());
	}
	return mu;
}

void cam_multi_clear(struct cam_multi *mu)
{
	size_t l;

	for (l = 1; mu && l < mu->n; l++)
		cam_pass_release(&mu->rest[l]);
	if (mu)
		mu->main = NULL;
}

void cam_multi_free(struct cam_multi *mu)
{
	size_t l;

	if (!mu)
		return;
	if (getenv("CAMLAB_DEBUG") && mu->batches)
		fprintf(stderr, "debug: fused layer of %zu layers: %lu forwards for %lu batches\n", mu->n,
			mu->forwards, mu->batches);
	cam_multi_clear(mu);
	ts_chain_free(mu->chain);
	for (l = 0; l < mu->n; l++)
		ts_split_free(mu->splits[l]);
	free(mu);
}

/* The passes at layers 1..n-1 on x for p's classes, utility and hook, into rest. */
static int run_rest(struct cam_multi *mu, const struct cam_pass *p, const ts_tensor *x, unsigned passes,
		    struct cam_pass *rest)
{
	/* the first layer's classes for every layer: "predicted" could not differ, "least" on ties could */
	struct target_policy same = { TARGET_TRUE, 0 };
	size_t l;

	for (l = 1; l < mu->n; l++)
		if (cam_pass_run_hooked(&rest[l], mu->splits[l], x, p->utility, p->hook, &same, p->classes,
					passes) < 0)
			return -1;
	return 0;
}

int cam_multi_run(struct cam_multi *mu, struct cam_pass *main, const ts_tensor *x, unsigned passes)
{
	size_t l;

	cam_multi_clear(mu);
	if (run_rest(mu, main, x, passes, mu->rest) < 0) {
		cam_multi_clear(mu);
		return -1;
	}
	for (l = 1; l < mu->n; l++) {
		main->hvp_zero &= mu->rest[l].hvp_zero;
		main->linear_head &= mu->rest[l].linear_head;
	}
	mu->main = main;
	return 0;
}

/*
 * The targets and the utility of the chain's logits into p (the first layer's pass): classes picked by
 * the policy, the (B, 1) target tensor on the logits' device, u detached. Returns U (with history), or
 * NULL after an error.
 */
static ts_tensor *chain_utility(struct cam_pass *p, const ts_tensor *logits, const struct target_policy *target,
				const long *labels)
{
	int64_t b, nb = p->batch, shape[2] = { nb, 1 };
	int64_t *idx;
	ts_tensor *host, *uu;

	p->logits = ts_detach(logits);
	p->classes = xmalloc((size_t)nb * sizeof(long));
	if (target_select(target, p->logits, labels, p->classes) < 0)
		return NULL;
	idx = xmalloc((size_t)nb * sizeof(*idx));
	for (b = 0; b < nb; b++)
		idx[b] = p->classes[b];
	host = ts_from_i64(idx, shape, 2, "cpu");
	free(idx);
	p->target = ts_to_like(host, p->logits);
	ts_free(host);
	uu = cam_pass_utility(p, logits, p->target);
	p->u = ts_detach(uu);
	if (!p->target || !p->u) {
		ts_free(uu);
		error("the utility of the fused layer's logits failed: %s", ts_error());
		return NULL;
	}
	return uu;
}

/* dU/dA at every layer in one backward, then HA per layer where asked: the passes' g, ha and notes. */
static int chain_backward(struct cam_multi *mu, struct cam_pass **ps, ts_tensor *const *tap, const ts_tensor *uu,
			  unsigned flags)
{
	ts_tensor *total = ts_sum(uu, NULL, 0, 0), *g[CAM_MULTI_MAX];
	int hvp = (flags & CAM_PASS_HVP) != 0, ret = 0;
	size_t l;

	if (ts_grads_keep(total, tap, (int)mu->n, hvp, g) < 0) {
		ts_free(total);
		return error("the backward pass through the fused layer's layers failed: %s", ts_error());
	}
	ts_free(total);
	for (l = 0; l < mu->n; l++) {
		struct cam_pass *p = ps[l];
		p->g = g[l];
		if (hvp) {
			p->ha = ts_grad(p->g, tap[l], p->a, 0);
			if (!p->ha)
				ret = -1;
			else
				p->hvp_zero = cam_hvp_vanishes(p->g, p->ha);
		}
		p->linear_head = ts_split_linear_head(p->split) == 1;
	}
	/* HA is taken: G loses its graph (create_graph kept the whole network's) */
	for (l = 0; hvp && l < mu->n; l++) {
		ts_tensor *d = ts_detach(ps[l]->g);
		ts_free(ps[l]->g);
		ps[l]->g = d;
		ret |= d ? 0 : -1;
	}
	return ret < 0 ? error("the Hessian-vector products at the fused layer failed: %s", ts_error()) : 0;
}

/* cam_multi_pass through mu->chain: one forward and one backward for every layer. */
static int chain_pass(struct cam_multi *mu, struct cam_pass *main, const ts_tensor *x, enum utility u,
		      const struct utility_hook *hook, const struct target_policy *target, const long *labels,
		      unsigned flags)
{
	struct cam_pass *ps[CAM_MULTI_MAX];
	ts_tensor *a[CAM_MULTI_MAX], *tap[CAM_MULTI_MAX], *logits = NULL, *uu = NULL;
	ts_carry *carry[CAM_MULTI_MAX];
	int grad = (flags & (CAM_PASS_GRAD | CAM_PASS_HVP)) != 0, prev = ts_set_grad(grad), ret = -1;
	size_t l;

	memset(main, 0, sizeof(*main));
	ps[0] = main;
	for (l = 1; l < mu->n; l++)
		ps[l] = &mu->rest[l];
	if (ts_chain_forward(mu->chain, x, a, carry, tap, &logits) < 0) {
		error("forward through the fused layer's layers failed: %s", ts_error());
		ts_set_grad(prev);
		return -1;
	}
	for (l = 0; l < mu->n; l++) {
		ps[l]->split = mu->splits[l];
		ps[l]->carry = carry[l];
		ps[l]->a = a[l];
		ps[l]->utility = u;
		ps[l]->hook = hook;
		ps[l]->batch = (long)ts_size(a[l], 0);
	}
	uu = chain_utility(main, logits, target, labels);
	if (uu && (!grad || chain_backward(mu, ps, tap, uu, flags) == 0))
		ret = 0;
	ts_set_grad(prev);
	/* the other layers' passes: the same logits, targets and utility */
	for (l = 1; !ret && l < mu->n; l++) {
		struct cam_pass *p = ps[l];
		p->logits = ts_detach(main->logits);
		p->target = ts_detach(main->target);
		p->u = ts_detach(main->u);
		p->classes = xmalloc((size_t)main->batch * sizeof(long));
		memcpy(p->classes, main->classes, (size_t)main->batch * sizeof(long));
		main->hvp_zero &= p->hvp_zero;
		main->linear_head &= p->linear_head;
	}
	for (l = 0; l < mu->n; l++)
		ts_free(tap[l]);
	ts_free(logits);
	ts_free(uu);
	if (ret < 0) {
		for (l = 0; l < mu->n; l++)
			cam_pass_release(ps[l]);
		return -1;
	}
	mu->main = main;
	return 0;
}

int cam_multi_pass(struct cam_multi *mu, struct cam_pass *main, const ts_tensor *x, enum utility u,
		   const struct utility_hook *hook, const struct target_policy *target, const long *labels,
		   unsigned passes)
{
	cam_multi_clear(mu);
	mu->batches++;
	/* the quirks' live A and prefix tokens are a per-layer suffix's (ts_split_suffix_live, _tokens) */
	if (mu->chain && !(passes & (CAM_PASS_LIVE_A | CAM_PASS_PREFIX_TOKENS))) {
		mu->forwards++;
		return chain_pass(mu, main, x, u, hook, target, labels, passes);
	}
	mu->forwards += mu->n;
	if (cam_pass_run_hooked(main, mu->splits[0], x, u, hook, target, labels, passes) < 0)
		return -1;
	if (cam_multi_run(mu, main, x, passes) < 0) {
		cam_pass_release(main);
		return error("the passes at the fused layers failed: %s", ts_error());
	}
	return 0;
}

int cam_multi_aug_run(struct cam_multi *mu, struct cam_aug *a, const struct cam_pass *p, const ts_tensor *x,
		      unsigned passes)
{
	struct target_policy same = { TARGET_TRUE, 0 };
	struct cam_pass batch_rest[CAM_MULTI_MAX];
	const struct cam_pass *batch_main = mu->main;
	int t, ret = 0;

	memset(a, 0, sizeof(*a));
	a->x = x;
	a->layers = mu->n;
	/* cam_multi_pass keeps the other layers' passes in mu->rest, where the batch's own are: aside with them */
	memcpy(batch_rest, mu->rest, sizeof(batch_rest));
	memset(mu->rest, 0, sizeof(mu->rest));
	for (t = 0; t < CAM_AUG_NR && !ret; t++) {
		if (t == CAM_AUG_IDENTITY)
			continue;
		a->rest[t] = xcalloc(mu->n, sizeof(*a->rest[t]));
		if (!(a->xt[t] = cam_aug_input(x, t))) {
			ret = error("aug_smooth's transform %d of the input failed: %s", t, ts_error());
			break;
		}
		ret = cam_multi_pass(mu, &a->pass[t], a->xt[t], p->utility, p->hook, &same, p->classes, passes);
		mu->batches--; /* the same batch, as CAMLAB_DEBUG counts them */
		if (ret < 0) {
			error("aug_smooth's passes of transform %d at the fused layer failed: %s", t, ts_error());
			break;
		}
		/* moved, not copied: the transform's passes are a's now */
		memcpy(a->rest[t] + 1, mu->rest + 1, (mu->n - 1) * sizeof(*a->rest[t]));
		memset(mu->rest, 0, sizeof(mu->rest));
	}
	cam_multi_clear(mu); /* what a failed pass may have left */
	memcpy(mu->rest, batch_rest, sizeof(batch_rest));
	mu->main = batch_main;
	if (ret < 0)
		cam_aug_release(a);
	return ret;
}

/* Per-image min-max of (B, H, W), with upstream's epsilon: (v - min) / (max - min + 1e-7). */
static ts_tensor *minmax(ts_tensor *v)
{
	static const int D12[2] = { 1, 2 };
	ts_tensor *mn = ts_amin(v, D12, 2, 1), *mx = ts_amax(v, D12, 2, 1);
	ts_tensor *num = ts_sub(v, mn), *den = ts_sub(mx, mn), *den2 = ts_adds(den, 1e-7);
	ts_tensor *r = ts_div(num, den2);

	ts_free(mn);
	ts_free(mx);
	ts_free(num);
	ts_free(den);
	ts_free(den2);
	return r;
}

/*
 * One layer's contribution at (h, w): resize(mm(relu(S))) for the mean (compute_cam_per_layer), or
 * GradCAM++'s whole post-processing mm(resize(mm(relu(S)))) for RefineCAM's product.
 */
static ts_tensor *layer_map(const ts_tensor *s, int64_t h, int64_t w, int product)
{
	ts_tensor *r, *m, *z;

	if (product)
		return cam_postprocess(s, h, w);
	r = ts_relu(s);
	m = minmax(r);
	z = cam_resize_raw(m, h, w);
	ts_free(r);
	ts_free(m);
	return z;
}

/*
 * One fused map (B, H, W) at extra->x's size from the passes at[l] at every layer l of extra->x:
 * base_cam.py's forward, i.e. compute_cam_per_layer (inner map, ReLU, scale_cam_image with the resize)
 * then aggregate_multi_layers (mean, scale_cam_image), or refine_cam.py's forward (product, then
 * scale_cam_image). Only at[0] is read where the map is the whole network's (FullGrad).
 */
static ts_tensor *fused_once(const struct cam_fused *fu, const struct cam_pass *const *at,
			     const struct cam_extra *extra)
{
	struct cam_multi *mu = fu->multi;
	int64_t h = ts_size(extra->x, 2), w = ts_size(extra->x, 3);
	ts_tensor *acc = NULL, *r = NULL, *s = NULL;
	size_t l;

	for (l = 0; l < mu->n; l++) {
		ts_tensor *f, *next;
		if (!s) {
			s = fu->inner.map(at[l], extra, fu->inner.ud);
			if (!s)
				goto out; /* the method said why */
		}
		f = layer_map(s, h, w, fu->product);
		if (!fu->whole) {
			ts_free(s);
			s = NULL;
		}
		next = !acc ? f : fu->product ? ts_mul(acc, f) : ts_add(acc, f);
		if (acc) {
			ts_free(acc);
			ts_free(f);
		}
		acc = next;
		if (!acc) {
			error("combining the layers' maps failed: %s", ts_error());
			goto out;
		}
	}
	/* the mean's 1/n disappears in the min-max, as it does upstream up to the epsilon */
	if (!fu->product) {
		ts_tensor *mean = ts_muls(acc, 1.0 / (double)mu->n);
		ts_free(acc);
		acc = mean;
	}
	r = minmax(acc);
	if (!r)
		error("normalising the fused map failed: %s", ts_error());
out:
	ts_free(acc);
	ts_free(s);
	return r;
}

/* The fused map of pass p: mu's passes when p is mu->main, else fresh ones at the other layers. */
static ts_tensor *fused_of_pass(const struct cam_fused *fu, const struct cam_pass *p, const struct cam_extra *extra)
{
	struct cam_multi *mu = fu->multi;
	struct cam_pass fresh[CAM_MULTI_MAX];
	const struct cam_pass *at[CAM_MULTI_MAX];
	ts_tensor *r = NULL;
	size_t l;

	memset(fresh, 0, sizeof(fresh));
	/* a map of the whole network needs no pass at the other layers */
	if (p != mu->main && !fu->whole && run_rest(mu, p, extra->x, fu->inner.passes, fresh) < 0) {
		error("%s", ts_error());
		goto out;
	}
	at[0] = p;
	for (l = 1; l < mu->n; l++)
		at[l] = p == mu->main ? &mu->rest[l] : &fresh[l];
	r = fused_once(fu, at, extra);
out:
	for (l = 1; l < mu->n; l++)
		cam_pass_release(&fresh[l]);
	return r;
}

/*
 * aug_smooth at a fused layer, as base_cam.py's forward_augmentation_smoothing: for each transform the
 * whole fused map of the transformed input (forward: every layer's map, then aggregate_multi_layers),
 * the transform undone on it (deaugment_mask), and the mean of the six (not min-maxed again). The
 * transformed passes are extra->aug's when they are of extra->x at these layers, else run here.
 */
static ts_tensor *fused_aug(const struct cam_fused *fu, const struct cam_pass *p, const struct cam_extra *e)
{
	struct cam_multi *mu = fu->multi;
	struct cam_aug own = CAM_AUG_INIT;
	const struct cam_aug *aug = e->aug;
	struct cam_extra et = *e;
	ts_tensor *maps[CAM_AUG_NR] = { NULL }, *res = NULL;
	int t, ok = 1;
	size_t l;

	if (!aug || aug->x != e->x || aug->layers != mu->n || aug->pass[0].split != mu->splits[0]) {
		if (cam_multi_aug_run(mu, &own, p, e->x, fu->inner.passes | cam_pass_quirks(p)) < 0)
			return NULL;
		aug = &own;
	}
	/* the inner method maps one layer's pass of one input: neither smoothing of the input is its */
	et.smooth &= ~(unsigned)CAM_SMOOTH_AUG;
	et.aug = NULL;
	for (t = 0; t < CAM_AUG_NR && ok; t++) {
		const struct cam_pass *at[CAM_MULTI_MAX];
		ts_tensor *f;
		if (t == CAM_AUG_IDENTITY) {
			et.x = e->x;
			f = fused_of_pass(fu, p, &et);
		} else {
			et.x = aug->xt[t];
			at[0] = &aug->pass[t];
			for (l = 1; l < mu->n; l++)
				at[l] = &aug->rest[t][l];
			f = fused_once(fu, at, &et);
		}
		maps[t] = f ? cam_aug_undo(f, t) : NULL;
		ok = maps[t] != NULL;
		ts_free(f);
	}
	res = cam_aug_mean_free(maps);
	cam_aug_release(&own);
	if (!res)
		error("aug_smooth at the fused layer failed: %s", ts_error());
	return res;
}

ts_tensor *cam_fused_map(const struct cam_pass *p, const struct cam_extra *extra, void *ud)
{
	const struct cam_fused *fu = ud;

	if (extra->smooth & CAM_SMOOTH_AUG)
		return fused_aug(fu, p, extra);
	return fused_of_pass(fu, p, extra);
}

struct cam_mapper cam_fused_mapper(struct cam_fused *fu, const struct cam_mapper *inner, struct cam_multi *mu,
				   int refine)
{
	struct cam_mapper m = *inner;

	fu->inner = *inner;
	fu->multi = mu;
	fu->product = refine;
	/* a user method's mapper (calloc'd, no built-in) never reads as FullGrad's */
	fu->whole = inner->method == CAM_FULLGRAD;
	m.map = cam_fused_map;
	m.ud = fu;
	return m;
}
