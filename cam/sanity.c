/*
 * sanity.c - the model-parameter randomisation test (see sanity.h): one copy of the model per batch,
 * re-initialised one module more at each step; each step is one shared pass on the copy, and every
 * method's map is made from it and compared with the trained model's map on the host.
 */
#include "cam/sanity.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cam/corr.h"
#include "lib/error.h"
#include "lib/strbuf.h"
#include "lib/xalloc.h"

struct paths {
	char **v;
	size_t nr, alloc;
};

static void add_path(const char *path, const char *type, void *ud)
{
	struct paths *p = ud;
	(void)type;
	ALLOC_GROW(p->v, p->nr + 1, p->alloc);
	p->v[p->nr++] = xstrdup(path);
}

void sanity_cascade_free(char **paths, size_t n)
{
	size_t i;
	for (i = 0; i < n; i++)
		free(paths[i]);
	free(paths);
}

/* How many entries from paths[at] on are layer or inside it (named_modules() lists a subtree in a row). */
static size_t subtree(char *const *paths, size_t nr, size_t at, const char *layer)
{
	size_t len = strlen(layer), i;
	for (i = at + 1; i < nr && !strncmp(paths[i], layer, len) && paths[i][len] == '.'; i++)
		;
	return i - at;
}

int sanity_cascade(const ts_module *m, const char *layer, int steps, char ***paths, size_t *n, size_t *head)
{
	struct paths all = { 0 };
	char **out;
	size_t i, k = 0, at = 0;
	int found = 0;

	*paths = NULL;
	*n = 0;
	*head = 0;
	if (ts_module_paths(m, add_path, &all) < 0) {
		sanity_cascade_free(all.v, all.nr);
		return error("sanity: %s", ts_error());
	}
	/* the layer's own first module in named_modules()'s order: the cascade stops at its subtree */
	for (i = 0; i < all.nr && !found; i++)
		if (!strcmp(all.v[i], layer)) {
			at = i;
			found = 1;
		}
	out = xcalloc(SANITY_MAX_STEPS, sizeof(*out));
	for (i = all.nr; i-- > 0 && k < SANITY_MAX_STEPS;) {
		int own;
		if (steps > 0 ? k >= (size_t)steps : !found || i < at)
			break;
		own = ts_module_own_tensors(m, all.v[i]);
		if (own < 0) {
			sanity_cascade_free(out, k);
			sanity_cascade_free(all.v, all.nr);
			return error("sanity: %s", ts_error());
		}
		if (own > 0) {
			*head += k == *head && (!found || i > at + subtree(all.v, all.nr, at, layer) - 1);
			out[k++] = xstrdup(all.v[i]);
		}
	}
	sanity_cascade_free(all.v, all.nr);
	if (!k) {
		free(out);
		return found || steps > 0 ? error("sanity: no module with parameters at or above layer '%s'", layer)
					  : error("sanity: no module '%s' in the model", layer);
	}
	*paths = out;
	*n = k;
	return 0;
}

double sanity_spearman(const float *a, const float *b, size_t n)
{
	double *wa = corr_widen(a, n), *wb = corr_widen(b, n);
	double *ra = xmalloc((n ? n : 1) * sizeof(double)), *rb = xmalloc((n ? n : 1) * sizeof(double));
	struct corr_sums c;

	corr_ranks(wa, n, ra);
	corr_ranks(wb, n, rb);
	c = corr_sums_of(ra, rb, n);
	free(wa);
	free(wb);
	free(ra);
	free(rb);
	if (!(c.aa > 0) && !(c.bb > 0))
		return 1.0;
	return c.aa > 0 && c.bb > 0 ? c.ab / sqrt(c.aa * c.bb) : 0.0;
}

#define SSIM_WIN 7

double sanity_ssim(const float *a, const float *b, int h, int w)
{
	const double np = SSIM_WIN * SSIM_WIN, cov = np / (np - 1);
	double lo = INFINITY, hi = -INFINITY, range, c1, c2, sum = 0;
	int y, x, dy, dx, r = SSIM_WIN / 2;
	size_t i, n = (size_t)h * (size_t)w;

	if (h < SSIM_WIN || w < SSIM_WIN)
		return NAN;
	for (i = 0; i < n; i++) {
		lo = fmin(lo, fmin(a[i], b[i]));
		hi = fmax(hi, fmax(a[i], b[i]));
	}
	range = hi - lo;
	if (!(range > 0))
		return 1.0;
	c1 = (0.01 * range) * (0.01 * range);
	c2 = (0.03 * range) * (0.03 * range);
	/* skimage filters the whole map, then averages the windows that lie inside: only those are needed */
	for (y = r; y < h - r; y++)
		for (x = r; x < w - r; x++) {
			double ux = 0, uy = 0, uxx = 0, uyy = 0, uxy = 0, vx, vy, vxy;
			for (dy = -r; dy <= r; dy++)
				for (dx = -r; dx <= r; dx++) {
					size_t j = (size_t)(y + dy) * (size_t)w + (size_t)(x + dx);
					double p = a[j], q = b[j];
					ux += p;
					uy += q;
					uxx += p * p;
					uyy += q * q;
					uxy += p * q;
				}
			ux /= np;
			uy /= np;
			vx = cov * (uxx / np - ux * ux);
			vy = cov * (uyy / np - uy * uy);
			vxy = cov * (uxy / np - ux * uy);
			sum += ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux * ux + uy * uy + c1) * (vx + vy + c2));
		}
	return sum / ((double)(h - 2 * r) * (double)(w - 2 * r));
}

/* Step s's comparison of every method's map on the randomised pass q with its trained map (host). */
static int compare_step(const struct cam_pass *q, const struct cam_extra *e, struct metric_method *mm, size_t nm,
			float *const *orig, size_t s, int h, int w)
{
	size_t n = (size_t)q->batch, hw = (size_t)h * (size_t)w, k, i;
	float *now = xmalloc(n * hw * sizeof(float));
	int ret = 0;

	for (k = 0; k < nm && !ret; k++) {
		ts_tensor *sm, *heat;
		if (!mm[k].heat)
			continue;
		sm = mm[k].mapper->map(q, e, mm[k].mapper->ud);
		heat = cam_postprocess(sm, h, w);
		if (!heat || ts_copy_f32(heat, now, n * hw) != (long)(n * hw))
			ret = error("sanity: a map on the randomised model failed: %s", ts_error());
		for (i = 0; !ret && i < n; i++) {
			struct metric_row *r = &mm[k].rows[i];
			r->sanity_curve[0][s] = sanity_spearman(orig[k] + i * hw, now + i * hw, hw);
			r->sanity_curve[1][s] = sanity_ssim(orig[k] + i * hw, now + i * hw, h, w);
		}
		ts_free(sm);
		ts_free(heat);
	}
	free(now);
	return ret;
}

int sanity_eval(const struct cam_pass *p, const struct cam_extra *extra, const char *head,
		const struct sanity_opts *o, struct metric_method *mm, size_t nm)
{
	/* the targets stay those of the trained model: the question is how the explanation of a class moves */
	static const struct target_policy given = { TARGET_TRUE, 0 };
	size_t n = (size_t)p->batch, nsteps = 0, nhead = 0, k, i, s, hw, last;
	char **steps = NULL;
	float **orig = xcalloc(nm, sizeof(*orig));
	ts_module *work = NULL;
	ts_split *split = NULL;
	struct strbuf fc = STRBUF_INIT;
	unsigned passes = 0;
	int h = 0, w = 0, ret = 0;

	for (k = 0; k < nm; k++)
		if (mm[k].heat) {
			passes |= mm[k].mapper->passes;
			h = (int)ts_size(mm[k].heat, 1);
			w = (int)ts_size(mm[k].heat, 2);
		}
	if (!h)
		goto out;
	hw = (size_t)h * (size_t)w;
	for (k = 0; k < nm; k++)
		if (mm[k].heat) {
			orig[k] = xmalloc(n * hw * sizeof(float));
			if (ts_copy_f32(mm[k].heat, orig[k], n * hw) != (long)(n * hw)) {
				ret = error("sanity: %s", ts_error());
				goto out;
			}
		}
	if (sanity_cascade(extra->model, ts_split_layer(p->split), o->steps, &steps, &nsteps, &nhead) < 0) {
		ret = -1;
		goto out;
	}
	work = ts_module_clone(extra->model);
	split = work ? ts_split_rebind(p->split, work) : NULL;
	if (!split) {
		ret = error("sanity: cannot copy the model: %s", ts_error());
		goto out;
	}
	if (head)
		strbuf_addf(&fc, "%s.weight", head);
	for (s = 0; s < nsteps && !ret; s++) {
		struct cam_pass q = CAM_PASS_INIT;
		struct cam_extra e = *extra;
		ts_tensor *w_fc = NULL;

		if (ts_module_reinit(work, steps[s], o->seed + s + 1) < 0) {
			ret = error("sanity: cannot re-initialise '%s': %s", steps[s], ts_error());
			break;
		}
		e.model = work;
		if (head && extra->fc)
			e.fc = w_fc = ts_module_attr(work, fc.buf);
		ret = cam_pass_run_hooked(&q, split, extra->x, p->utility, p->hook, &given, p->classes, passes);
		if (!ret)
			ret = compare_step(&q, &e, mm, nm, orig, s, h, w);
		cam_pass_release(&q);
		ts_free(w_fc);
	}
	/* the summary: the whole head above the layer randomised, A itself still the trained model's */
	last = nhead ? nhead - 1 : nsteps - 1;
	for (k = 0; k < nm && !ret; k++)
		for (i = 0; mm[k].heat && i < n; i++) {
			struct metric_row *r = &mm[k].rows[i];
			r->sanity_done = 1;
			r->sanity_steps = (int)nsteps;
			r->sanity_spearman = r->sanity_curve[0][last];
			r->sanity_ssim = r->sanity_curve[1][last];
			r->sanity_pass = r->sanity_spearman < o->threshold ? 1.0 : 0.0;
		}
out:
	for (k = 0; k < nm; k++)
		free(orig[k]);
	free(orig);
	sanity_cascade_free(steps, nsteps);
	ts_split_free(split);
	ts_module_free(work);
	strbuf_release(&fc);
	return ret;
}
