/*
 * test_identities.c - SCIENCE.md's identities between methods, on the real models in ../shared: at a
 * layer feeding global average pooling and a linear head, HiResCAM = GradCAM, ShapleyCAM-H = ShapleyCAM,
 * XGradCAM = GradCAM; where A >= 0, LayerCAM = GradCAM-E; CAM = GradCAM with the logit utility;
 * ShapleyCAM = GradCAM with the logit utility on a piecewise-linear head, and not with ReST. A layer
 * deeper inside the network is the control: there HiResCAM and GradCAM must differ.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cam/batch.h"
#include "cam/methods.h"
#include "cam/model.h"
#include "lib/error.h"
#include "lib/strbuf.h"
#include "tests/tap.h"

#define SHARED "../shared"

struct setup {
	struct model m;
	struct dataset ds;
	struct batch b;
	ts_split *split;
	ts_tensor *fc;
	const char *name;
};

static int setup_load(struct setup *s, const char *model_file, const char *layer, const char *data,
		      size_t limit, const float mean[3], const float std[3])
{
	struct preprocess pp = { 0, 0, { 0 }, { 0 } };
	struct batch_source src;

	memset(s, 0, sizeof(*s));
	memcpy(pp.mean, mean, sizeof(pp.mean));
	memcpy(pp.std, std, sizeof(pp.std));
	s->name = layer;
	dataset_init(&s->ds);
	if (model_load(&s->m, model_file, "cpu") < 0 || model_split(&s->m, layer, TS_LAYOUT_BCHW, &s->split) < 0 ||
	    dataset_open(&s->ds, data, NULL) < 0)
		return -1;
	batch_source_init(&src, &s->ds, &pp, "cpu", limit);
	if (batch_next(&src, &s->b, limit) <= 0)
		return -1;
	batch_source_release(&src);
	s->fc = model_head_weight(&s->m);
	return 0;
}

static void setup_release(struct setup *s)
{
	batch_release(&s->b);
	dataset_release(&s->ds);
	ts_split_free(s->split);
	ts_free(s->fc);
	model_release(&s->m);
}

/* The post-processed heatmap of a method, (B, H, W), or raw S when raw is set. */
static ts_tensor *heat(struct setup *s, const struct cam_pass *p, enum cam_method m, int raw)
{
	struct cam_extra e = {
		.model = s->m.mod, .x = s->b.x, .fc = s->fc, .items = s->b.items, .chunk = 32
	};
	ts_tensor *map = cam_map(m, p, &e), *h;
	if (raw)
		return map;
	h = cam_postprocess(map, s->b.h, s->b.w);
	ts_free(map);
	return h;
}

/* max |a - b| / max |b| */
static double rel_diff(const ts_tensor *a, const ts_tensor *b)
{
	ts_tensor *d = ts_sub(a, b), *ad = ts_abs(d), *ab = ts_abs(b);
	ts_tensor *md = ts_amax(ad, NULL, 0, 0), *mb = ts_amax(ab, NULL, 0, 0);
	double r = ts_item(md) / fmax(ts_item(mb), 1e-30);
	ts_free(d);
	ts_free(ad);
	ts_free(ab);
	ts_free(md);
	ts_free(mb);
	return r;
}

static void expect_same(struct setup *s, const struct cam_pass *p, enum cam_method a, enum cam_method b,
			int raw, double tol, const char *why)
{
	ts_tensor *ha = heat(s, p, a, raw), *hb = heat(s, p, b, raw);
	double d = rel_diff(ha, hb);
	ok(ha && hb && d < tol, "%s at %s (%s): %s = %s (max rel diff %.1e)", s->m.path, s->name, why,
	   cam_method_names[a], cam_method_names[b], d);
	ts_free(ha);
	ts_free(hb);
}

static void expect_differ(struct setup *s, const struct cam_pass *p, enum cam_method a, enum cam_method b,
			  double min, const char *why)
{
	ts_tensor *ha = heat(s, p, a, 0), *hb = heat(s, p, b, 0);
	double d = rel_diff(ha, hb);
	ok(ha && hb && d > min, "%s at %s (%s): %s != %s (max diff %.3f)", s->m.path, s->name, why,
	   cam_method_names[a], cam_method_names[b], d);
	ts_free(ha);
	ts_free(hb);
}

static int run(struct cam_pass *p, struct setup *s, enum utility u)
{
	struct target_policy pol = { TARGET_PREDICTED, 0 };
	return cam_pass_run(p, s->split, s->b.x, u, &pol, NULL, CAM_PASS_GRAD | CAM_PASS_HVP);
}

/* Identities at a layer that feeds global average pooling and a linear (or 1x1 conv) head. */
static void pre_gap(const char *model_file, const char *layer, const char *data, size_t n,
		    const float mean[3], const float std[3], int has_linear)
{
	struct setup s;
	struct cam_pass p = CAM_PASS_INIT;

	if (!ok(setup_load(&s, model_file, layer, data, n, mean, std) == 0, "%s at %s loads", model_file, layer))
		return;
	if (run(&p, &s, UTILITY_REST) == 0) {
		expect_same(&s, &p, CAM_HIRESCAM, CAM_GRADCAM, 1, 1e-4, "rest, GAP head");
		expect_same(&s, &p, CAM_SHAPLEYCAM_H, CAM_SHAPLEYCAM, 1, 1e-4, "rest, GAP head");
		expect_same(&s, &p, CAM_XGRADCAM, CAM_GRADCAM, 1, 1e-3, "rest, GAP head");
		expect_same(&s, &p, CAM_LAYERCAM, CAM_GRADCAM_E, 1, 1e-6, "rest, A >= 0 after ReLU");
		expect_differ(&s, &p, CAM_SHAPLEYCAM, CAM_GRADCAM, 1e-3, "rest: curvature of the utility");
	}
	cam_pass_release(&p);
	if (run(&p, &s, UTILITY_LOGIT) == 0) {
		ts_tensor *ha = ts_abs(p.ha), *mx = ts_amax(ha, NULL, 0, 0);
		ok(ts_item(mx) == 0.0, "%s at %s: HA is exactly zero with the logit utility on a piecewise-linear "
				       "head (max |HA| %g)", model_file, layer, ts_item(mx));
		ts_free(ha);
		ts_free(mx);
		expect_same(&s, &p, CAM_SHAPLEYCAM, CAM_GRADCAM, 1, 1e-6, "logit, piecewise-linear head");
		if (has_linear)
			expect_same(&s, &p, CAM_CAM, CAM_GRADCAM, 0, 1e-5, "logit, GAP + linear head");
	}
	cam_pass_release(&p);
	setup_release(&s);
}

/* Deeper in the network the head is not GAP + linear: the identities must not hold by accident. */
static void control(const char *model_file, const char *layer, const char *data, size_t n,
		    const float mean[3], const float std[3])
{
	struct setup s;
	struct cam_pass p = CAM_PASS_INIT;

	if (!ok(setup_load(&s, model_file, layer, data, n, mean, std) == 0, "%s at %s loads", model_file, layer))
		return;
	if (run(&p, &s, UTILITY_REST) == 0) {
		expect_differ(&s, &p, CAM_HIRESCAM, CAM_GRADCAM, 1e-2, "control, inner layer");
		expect_differ(&s, &p, CAM_SHAPLEYCAM_H, CAM_SHAPLEYCAM, 1e-2, "control, inner layer");
	}
	cam_pass_release(&p);
	setup_release(&s);
}

int main(void)
{
	static const float half[3] = { 0.5f, 0.5f, 0.5f };
	static const float cmean[3] = { 0.485f, 0.456f, 0.406f }, cstd[3] = { 0.229f, 0.224f, 0.225f };
	FILE *probe = fopen(SHARED "/models/resnet20_cifar10.pt", "rb");

	if (!probe)
		skip_all("no shared models at " SHARED "/models");
	fclose(probe);
	ts_init(0);
	pre_gap(SHARED "/models/resnet20_cifar10.pt", "f.layer3", SHARED "/data/foolbox_samples", 20, cmean,
		cstd, 1);
	pre_gap(SHARED "/models/resnet56_cifar10.pt", "f.layer3", SHARED "/data/foolbox_samples", 20, cmean,
		cstd, 1);
	pre_gap(SHARED "/models/mobilenet_v2_imagenet.pt", "Conv_1", SHARED "/data/photos_gradcam/both.png", 1,
		half, half, 0);
	control(SHARED "/models/resnet20_cifar10.pt", "f.layer2.2", SHARED "/data/foolbox_samples", 20, cmean,
		cstd);
	return done_testing();
}
