/*
 * smooth.c - aug_smooth (see smooth.h), after pytorch-grad-cam's base_cam.py
 * (forward_augmentation_with_ttach) and ttach's HorizontalFlip and Multiply.
 */
#include "cam/smooth.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "lib/error.h"

static const double factors[3] = { 0.9, 1.0, 1.1 };

ts_tensor *cam_aug_input(const ts_tensor *x, int t)
{
	ts_tensor *f = t >= 3 ? ts_flip(x, -1) : ts_clone(x), *out;

	if (t % 3 == 1)
		return f;
	out = ts_muls(f, factors[t % 3]);
	ts_free(f);
	return out;
}

ts_tensor *cam_aug_undo(const ts_tensor *map, int t)
{
	return t >= 3 ? ts_flip(map, -1) : ts_clone(map);
}

ts_tensor *cam_aug_mean_free(ts_tensor **maps)
{
	ts_tensor *sum = NULL, *out = NULL;
	int t, all = 1;

	for (t = 0; t < CAM_AUG_NR; t++)
		all = all && maps[t];
	if (all) {
		sum = ts_clone(maps[0]);
		for (t = 1; t < CAM_AUG_NR && sum; t++) {
			ts_tensor *s = ts_add(sum, maps[t]);
			ts_free(sum);
			sum = s;
		}
		out = sum ? ts_muls(sum, 1.0 / CAM_AUG_NR) : NULL;
		ts_free(sum);
	}
	for (t = 0; t < CAM_AUG_NR; t++) {
		ts_free(maps[t]);
		maps[t] = NULL;
	}
	return out;
}

/*
 * aug_smooth: the final maps of the six transformed inputs (e->aug's passes when they are of e->x, else
 * passes run here), each transform undone, averaged.
 */
static ts_tensor *aug_smoothed(enum cam_method m, const struct cam_pass *p, const struct cam_extra *e)
{
	struct cam_aug own = CAM_AUG_INIT;
	const struct cam_aug *aug = e->aug;
	struct cam_extra et = *e;
	ts_tensor *maps[CAM_AUG_NR] = { NULL }, *res = NULL;
	int t, ok = 1;

	if (!e->x) {
		error("aug_smooth needs the input batch");
		return NULL;
	}
	/* transform 0 has a pass; a fused layer's (cam/multilayer.h) are its first layer's, perhaps not p's */
	if (!aug || aug->x != e->x || aug->pass[0].split != p->split) {
		if (cam_aug_run(&own, p, e->x, cam_methods_passes(1u << m) | cam_pass_quirks(p)) < 0)
			return NULL;
		aug = &own;
	}
	et.smooth &= ~(unsigned)CAM_SMOOTH_AUG;
	et.aug = NULL;
	for (t = 0; t < CAM_AUG_NR && ok; t++) {
		const struct cam_pass *pt = t == CAM_AUG_IDENTITY ? p : &aug->pass[t];
		ts_tensor *s, *h;
		et.x = t == CAM_AUG_IDENTITY ? e->x : aug->xt[t];
		s = cam_map(m, pt, &et);
		h = s ? cam_postprocess(s, ts_size(e->x, 2), ts_size(e->x, 3)) : NULL;
		maps[t] = h ? cam_aug_undo(h, t) : NULL;
		ok = maps[t] != NULL;
		ts_free(s);
		ts_free(h);
	}
	res = cam_aug_mean_free(maps);
	cam_aug_release(&own);
	if (!res)
		error("aug_smooth of %s failed: %s", cam_method_names[m], ts_error());
	return res;
}

ts_tensor *cam_smooth_map(enum cam_method m, const struct cam_pass *p, const struct cam_extra *e)
{
	return e->smooth & CAM_SMOOTH_AUG ? aug_smoothed(m, p, e) : cam_map(m, p, e);
}

ts_tensor *cam_heatmap(const ts_tensor *s, const struct cam_extra *e, int64_t h, int64_t w)
{
	if (e->smooth & CAM_SMOOTH_AUG)
		return s ? ts_clone(s) : NULL;
	return cam_postprocess(s, h, w);
}

int cam_aug_run(struct cam_aug *a, const struct cam_pass *p, const ts_tensor *x, unsigned passes)
{
	struct target_policy same = { TARGET_TRUE, 0 };
	int t;

	memset(a, 0, sizeof(*a));
	a->x = x;
	a->layers = 1;
	for (t = 0; t < CAM_AUG_NR; t++) {
		if (t == CAM_AUG_IDENTITY)
			continue;
		if (!(a->xt[t] = cam_aug_input(x, t)) ||
		    cam_pass_run_hooked(&a->pass[t], p->split, a->xt[t], p->utility, p->hook, &same, p->classes,
					passes) < 0) {
			cam_aug_release(a);
			return error("aug_smooth's pass of transform %d failed: %s", t, ts_error());
		}
	}
	return 0;
}

void cam_aug_release(struct cam_aug *a)
{
	size_t l;
	int t;

	for (t = 0; t < CAM_AUG_NR; t++) {
		ts_free(a->xt[t]);
		if (t != CAM_AUG_IDENTITY)
			cam_pass_release(&a->pass[t]);
		for (l = 1; a->rest[t] && l < a->layers; l++)
			cam_pass_release(&a->rest[t][l]);
		free(a->rest[t]);
	}
	memset(a, 0, sizeof(*a));
}
