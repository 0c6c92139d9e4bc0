/*
 * discrim.c - target discrimination (see discrim.h): the passes for the predicted, second and least
 * likely classes, every method's maps on them, and the overlap of the maps on the host.
 */
#include "cam/discrim.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "cam/corr.h"
#include "lib/error.h"
#include "lib/xalloc.h"

struct px {
	float v;
	uint32_t i;
};

/* Largest first; equal values in pixel order, so that the top set does not depend on the sort. */
static int by_value(const void *pa, const void *pb)
{
	const struct px *a = pa, *b = pb;
	if (a->v != b->v)
		return a->v > b->v ? -1 : 1;
	return a->i < b->i ? -1 : a->i > b->i;
}

void discrim_pair(const float *a, const float *b, size_t n, double top, double *r, double *mass)
{
	double *wa = corr_widen(a, n), *wb = corr_widen(b, n), sb = 0, in = 0;
	struct corr_sums c = corr_sums_of(wa, wb, n);
	size_t i, k = (size_t)ceil(top * (double)n - 1e-9);
	struct px *o = xmalloc(n * sizeof(*o));

	for (i = 0; i < n; i++) {
		sb += b[i];
		o[i] = (struct px){ a[i], (uint32_t)i };
	}
	/* two constant maps are the same map (cam_postprocess makes both zero): no discrimination */
	*r = c.aa > 0 && c.bb > 0 ? corr_pearson(&c) : !(c.aa > 0) && !(c.bb > 0) ? 1.0 : 0.0;
	qsort(o, n, sizeof(*o), by_value);
	for (i = 0; i < k && i < n; i++)
		in += b[o[i].i];
	*mass = sb > 0 ? in / sb : top;
	free(wa);
	free(wb);
	free(o);
}

/* Every method's heatmaps for the targets of pass q, to the host: out[k] (B * HW floats) or NULL. */
static int maps_on(const struct cam_pass *q, const struct cam_extra *extra, struct metric_method *mm, size_t nm,
		   int64_t h, int64_t w, float **out)
{
	size_t k, len = (size_t)q->batch * (size_t)h * (size_t)w;

	for (k = 0; k < nm; k++) {
		ts_tensor *s, *heat;
		long got;
		if (!mm[k].heat)
			continue;
		s = mm[k].mapper->map(q, extra, mm[k].mapper->ud);
		heat = cam_postprocess(s, h, w);
		out[k] = xmalloc(len * sizeof(float));
		got = heat ? ts_copy_f32(heat, out[k], len) : -1;
		ts_free(s);
		ts_free(heat);
		if (got != (long)len)
			return error("target discrimination: a map failed: %s", ts_error());
	}
	return 0;
}

static void free_maps(float **m, size_t nm)
{
	size_t k;
	for (k = 0; k < nm; k++) {
		free(m[k]);
		m[k] = NULL;
	}
}

int discrim_eval(const struct cam_pass *p, const struct cam_extra *extra, double top, struct metric_method *mm,
		 size_t nm)
{
	static const struct target_policy other[2] = { { TARGET_TOPK, 2 }, { TARGET_LEAST, 0 } };
	size_t n = (size_t)p->batch, k, i, t, first = 0;
	int64_t h, w;
	size_t hw;
	unsigned passes = 0;
	float **m1 = xcalloc(nm, sizeof(*m1)), **m2 = xcalloc(nm, sizeof(*m2));
	long *pred = xcalloc(n, sizeof(*pred));
	struct target_policy predicted = { TARGET_PREDICTED, 0 };
	int ret = 0, own = 0, any = 0;

	for (k = 0; k < nm; k++)
		if (mm[k].heat) {
			passes |= mm[k].mapper->passes;
			first = k;
			any = 1;
		}
	if (!any)
		goto out;
	h = ts_size(mm[first].heat, 1);
	w = ts_size(mm[first].heat, 2);
	hw = (size_t)h * (size_t)w;
	if (ts_size(p->logits, 1) < 2) {
		ret = error("target discrimination needs a model with at least 2 classes");
		goto out;
	}
	if (target_select(&predicted, p->logits, NULL, pred) < 0) {
		ret = -1;
		goto out;
	}
	for (i = 0; i < n && !own; i++)
		own = pred[i] != p->classes[i];
	if (own) { /* the run's targets are not the predicted classes: the predicted ones get their pass */
		struct cam_pass q = CAM_PASS_INIT;
		ret = cam_pass_run_hooked(&q, p->split, extra->x, p->utility, p->hook, &predicted, NULL, passes);
		if (!ret)
			ret = maps_on(&q, extra, mm, nm, h, w, m1);
		cam_pass_release(&q);
	} else {
		for (k = 0; k < nm && !ret; k++)
			if (mm[k].heat) {
				m1[k] = xmalloc(n * hw * sizeof(float));
				if (ts_copy_f32(mm[k].heat, m1[k], n * hw) != (long)(n * hw))
					ret = error("target discrimination: %s", ts_error());
			}
	}
	for (t = 0; t < 2 && !ret; t++) {
		struct cam_pass q = CAM_PASS_INIT;
		ret = cam_pass_run_hooked(&q, p->split, extra->x, p->utility, p->hook, &other[t], NULL, passes);
		if (!ret)
			ret = maps_on(&q, extra, mm, nm, h, w, m2);
		cam_pass_release(&q);
		for (k = 0; k < nm && !ret; k++) {
			if (!mm[k].heat)
				continue;
			for (i = 0; i < n; i++) {
				struct metric_row *r = &mm[k].rows[i];
				double *pr = t ? &r->disc_pearson_least : &r->disc_pearson_second;
				double *ms = t ? &r->disc_mass_least : &r->disc_mass_second;
				discrim_pair(m1[k] + i * hw, m2[k] + i * hw, hw, top, pr, ms);
				r->disc_done = 1;
			}
		}
		free_maps(m2, nm);
	}
out:
	free_maps(m1, nm);
	free_maps(m2, nm);
	free(m1);
	free(m2);
	free(pred);
	return ret;
}
