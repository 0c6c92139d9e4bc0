/*
 * pass.c - the shared passes of one batch (see methods.h): the prefix to the layer, the suffix with
 * gradients, the targets, dU/dA and the Hessian-vector product, and what theory says of them.
 */
#include "cam/methods.h"

#include <stdlib.h>
#include <string.h>

#include "cam/tmp.h"
#include "lib/error.h"
#include "lib/xalloc.h"

unsigned cam_pass_quirks(const struct cam_pass *p)
{
	return (p->a_live ? CAM_PASS_LIVE_A : 0u) | (p->prefix_hvp ? CAM_PASS_PREFIX_TOKENS : 0u);
}

unsigned cam_quirk_passes(const char *quirk)
{
	if (!quirk)
		return 0;
	if (!strcmp(quirk, CAM_QUIRK_LIVE))
		return CAM_PASS_LIVE_A;
	if (!strcmp(quirk, CAM_QUIRK_PREFIX_TOKENS))
		return CAM_PASS_PREFIX_TOKENS;
	return 0;
}

void cam_pass_release(struct cam_pass *p)
{
	ts_carry_free(p->carry);
	ts_free(p->a);
	ts_free(p->logits);
	ts_free(p->target);
	ts_free(p->u);
	ts_free(p->g);
	ts_free(p->ha);
	ts_free(p->a_live);
	free(p->classes);
	memset(p, 0, sizeof(*p));
}

ts_tensor *cam_pass_utility(const struct cam_pass *p, const ts_tensor *logits, const ts_tensor *target)
{
	if (p->hook)
		return p->hook->fn(p->hook->ud, logits, target);
	return utility_eval(p->utility, logits, target);
}

int cam_pass_run(struct cam_pass *p, ts_split *split, const ts_tensor *x, enum utility u,
		 const struct target_policy *target, const long *labels, unsigned flags)
{
	return cam_pass_run_hooked(p, split, x, u, NULL, target, labels, flags);
}

const char *cam_pass_note(const struct cam_pass *p, unsigned passes)
{
	int hvp = p->hvp_zero && (passes & CAM_PASS_HVP);

	if (hvp && p->linear_head)
		return "hvp-zero,linear-head";
	if (hvp)
		return "hvp-zero";
	return p->linear_head && (passes & CAM_PASS_GRAD) ? "linear-head" : NULL;
}

int cam_hvp_vanishes(const ts_tensor *g, const ts_tensor *ha)
{
	ts_tensor *ag = ts_abs(g), *ah = ts_abs(ha), *mg = ag ? ts_amax(ag, NULL, 0, 0) : NULL,
		  *mh = ah ? ts_amax(ah, NULL, 0, 0) : NULL;
	int zero = mg && mh && ts_item(mh) <= CAM_HVP_ZERO * ts_item(mg);

	ts_free(ag);
	ts_free(ah);
	ts_free(mg);
	ts_free(mh);
	return zero;
}

/* The carry's prefix tokens as a leaf of their own (a temporary of T), or NULL when it has none. */
static ts_tensor *prefix_leaf(const ts_carry *carry, struct tmp *T)
{
	ts_tensor *tokens;

	if (ts_carry_prefix(carry, &tokens) < 0)
		T->failed = 1; /* the pass fails, rather than go on along the grid alone */
	if (!tokens)
		return NULL;
	keep(T, tokens);
	return keep(T, ts_leaf(tokens));
}

/*
 * G and HA along the grid and the prefix tokens together, as pytorch-grad-cam's shapley_cam.py
 * differentiates the layer's whole output: with Gp = dU/d(prefix), HA = d(G . A + Gp . P)/dA, that is
 * H[grid, grid] A + H[grid, prefix] P. G itself does not change.
 */
static void prefix_backward(struct cam_pass *p, const ts_tensor *total, ts_tensor *leaf, ts_tensor *tokens)
{
	ts_tensor *in[2] = { leaf, tokens }, *g[2];

	if (ts_grads_keep(total, in, 2, 1, g) < 0)
		return;
	p->g = g[0];
	p->ha = ts_grad_sum(g, in, 2, leaf);
	ts_free(g[1]);
}

int cam_pass_run_hooked(struct cam_pass *p, ts_split *split, const ts_tensor *x, enum utility u,
			const struct utility_hook *hook, const struct target_policy *target,
			const long *labels, unsigned flags)
{
	struct tmp T = { 0 };
	ts_tensor *leaf, *tokens, *logits, *uu, *total;
	int64_t b, nb, shape[2];
	int64_t *idx;
	int prev;

	memset(p, 0, sizeof(*p));
	p->split = split;
	p->utility = u;
	p->hook = hook;
	if (ts_split_prefix(split, x, &p->carry, &p->a) < 0)
		return error("forward to the target layer failed: %s", ts_error());
	nb = ts_size(p->a, 0);
	p->batch = (long)nb;

	prev = ts_set_grad(1);
	leaf = K(ts_leaf(p->a));
	p->prefix_hvp = (flags & CAM_PASS_PREFIX_TOKENS) != 0;
	tokens =
		(flags & CAM_PASS_PREFIX_TOKENS) && (flags & CAM_PASS_HVP) ? prefix_leaf(p->carry, &T) : NULL;
	/* on request, A as the model's in-place ops left it (a_live): the paper's ShapleyCAM's quirk */
	logits = K(tokens ? ts_split_suffix_tokens(split, p->carry, leaf, tokens)
		   : (flags & CAM_PASS_LIVE_A) && (flags & CAM_PASS_HVP)
			   ? ts_split_suffix_live(split, p->carry, leaf, &p->a_live)
			   : ts_split_suffix(split, p->carry, leaf));
	if (!logits) {
		ts_set_grad(prev);
		tmp_done(&T, NULL);
		cam_pass_release(p);
		return error("forward from the target layer failed: %s", ts_error());
	}
	p->logits = ts_detach(logits);
	p->classes = xmalloc((size_t)nb * sizeof(long));
	if (target_select(target, p->logits, labels, p->classes) < 0) {
		ts_set_grad(prev);
		tmp_done(&T, NULL);
		cam_pass_release(p);
		return -1;
	}
	idx = xmalloc((size_t)nb * sizeof(*idx));
	for (b = 0; b < nb; b++)
		idx[b] = p->classes[b];
	shape[0] = nb;
	shape[1] = 1;
	/* The targets live where the logits live. */
	p->target = ts_to_like(K(ts_from_i64(idx, shape, 2, "cpu")), p->logits);
	free(idx);
	uu = K(cam_pass_utility(p, logits, p->target));
	p->u = ts_detach(uu);
	if (flags & (CAM_PASS_GRAD | CAM_PASS_HVP)) {
		/* Images are independent in eval mode, so the gradient of the batch sum is per image. */
		total = K(ts_sum(uu, NULL, 0, 0));
		if (tokens)
			prefix_backward(p, total, leaf, tokens);
		else
			p->g = ts_grad(total, leaf, NULL, (flags & CAM_PASS_HVP) != 0);
		if (p->g && (flags & CAM_PASS_HVP) && !tokens)
			p->ha = ts_grad(p->g, leaf, p->a_live ? p->a_live : leaf, 0);
		if (p->g && p->ha)
			p->hvp_zero = cam_hvp_vanishes(p->g, p->ha);
		p->linear_head = ts_split_linear_head(split) == 1;
		if (p->g && (flags & CAM_PASS_HVP)) {
			ts_tensor *g = ts_detach(p->g);
			ts_free(p->g);
			p->g = g;
		}
	}
	ts_set_grad(prev);
	if (T.failed || !p->u || ((flags & CAM_PASS_GRAD) && !p->g) || ((flags & CAM_PASS_HVP) && !p->ha)) {
		tmp_done(&T, NULL);
		cam_pass_release(p);
		return error("backward pass failed: %s", ts_error());
	}
	tmp_done(&T, NULL);
	return 0;
}
