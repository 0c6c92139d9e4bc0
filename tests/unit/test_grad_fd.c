/*
 * test_grad_fd.c - dU/dA and the Hessian-vector product from the split model, checked against central
 * finite differences in float64 through the suffix alone, on real models cut inside the network
 * (where the suffix needs carried values such as a residual input) and before global pooling.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cam/batch.h"
#include "cam/methods.h"
#include "cam/model.h"
#include "lib/error.h"
#include "tests/tap.h"

#define SHARED "../shared"

/* U summed over the batch at activation a, and optionally its gradient. */
static double u_at(ts_split *s, const ts_carry *c, const ts_tensor *a, const ts_tensor *target,
		   ts_tensor **grad)
{
	int prev = ts_set_grad(grad != NULL);
	ts_tensor *leaf = grad ? ts_leaf(a) : ts_clone(a);
	ts_tensor *logits = ts_split_suffix(s, c, leaf);
	ts_tensor *u = utility_eval(UTILITY_REST, logits, target);
	ts_tensor *sum = ts_sum(u, NULL, 0, 0);
	double v = ts_item(sum);
	if (grad)
		*grad = ts_grad(sum, leaf, NULL, 0);
	ts_set_grad(prev);
	ts_free(leaf);
	ts_free(logits);
	ts_free(u);
	ts_free(sum);
	return v;
}

static double dot(const ts_tensor *a, const ts_tensor *b)
{
	ts_tensor *p = ts_mul(a, b), *s = ts_sum(p, NULL, 0, 0);
	double v = ts_item(s);
	ts_free(p);
	ts_free(s);
	return v;
}

static double norm(const ts_tensor *a)
{
	return sqrt(dot(a, a));
}

/*
 * A confident prediction makes the utility's curvature (diag p - pp^T) vanish, so that HA is too small for
 * a finite difference to check; xscale < 1 pulls the input toward the mean colour to soften it. Steps are
 * small so that no ReLU above the layer changes side between the two evaluations.
 */
static void check(const char *model_file, const char *layer, const char *image, double xscale,
		  const float mean[3], const float std[3])
{
	struct model m;
	struct dataset ds = DATASET_INIT;
	struct preprocess pp = { 0, 0, { 0 }, { 0 } };
	struct batch_source src;
	struct batch b = BATCH_INIT;
	struct cam_pass p = CAM_PASS_INIT;
	struct target_policy pol = { TARGET_PREDICTED, 0 };
	ts_split *split = NULL;
	ts_tensor *x64, *v, *ap, *am, *gp = NULL, *gm = NULL, *fd, *diff;
	double eps, up, um, dd, gv, err, scale;

	memcpy(pp.mean, mean, sizeof(pp.mean));
	memcpy(pp.std, std, sizeof(pp.std));
	if (model_load(&m, model_file, "cpu") < 0 || ts_module_set_double(m.mod, 1) < 0 ||
	    model_split(&m, layer, TS_LAYOUT_BCHW, &split) < 0) {
		ok(0, "%s at %s: model loads and splits", model_file, layer);
		return;
	}
	dataset_open(&ds, image, NULL);
	batch_source_init(&src, &ds, &pp, "cpu", 0);
	batch_next(&src, &b, 4);
	{
		ts_tensor *x = ts_to_f64(b.x);
		x64 = ts_muls(x, xscale);
		ts_free(x);
	}
	if (!ok(cam_pass_run(&p, split, x64, UTILITY_REST, &pol, NULL, CAM_PASS_GRAD | CAM_PASS_HVP) == 0,
		"%s at %s: passes run in float64", model_file, layer))
		return;

	/* First order: the directional derivative along a random direction equals <G, v>. */
	{
		int64_t shape[4] = { ts_size(p.a, 0), ts_size(p.a, 1), ts_size(p.a, 2), ts_size(p.a, 3) };
		ts_tensor *r = ts_rand_uniform(shape, 4, -1.0, 1.0, 7, "cpu");
		v = ts_to_f64(r);
		ts_free(r);
	}
	scale = norm(p.a) / norm(v);
	eps = 1e-6 * scale;
	ap = ts_add(p.a, ts_muls(v, eps)); /* leaks a temporary: a test */
	am = ts_sub(p.a, ts_muls(v, eps));
	up = u_at(split, p.carry, ap, p.target, NULL);
	um = u_at(split, p.carry, am, p.target, NULL);
	dd = (up - um) / (2 * eps);
	gv = dot(p.g, v);
	err = fabs(dd - gv) / fabs(gv);
	ok(err < 1e-4, "%s at %s: <dU/dA, v> = finite difference (%.6g vs %.6g, rel err %.1e)", model_file,
	   layer, gv, dd, err);
	ts_free(ap);
	ts_free(am);

	/* Second order: (G(A + eps A) - G(A - eps A)) / 2 eps = HA. */
	eps = 1e-7;
	ap = ts_muls(p.a, 1 + eps);
	am = ts_muls(p.a, 1 - eps);
	u_at(split, p.carry, ap, p.target, &gp);
	u_at(split, p.carry, am, p.target, &gm);
	fd = ts_muls(ts_sub(gp, gm), 1 / (2 * eps));
	diff = ts_sub(fd, p.ha);
	err = norm(diff) / norm(p.ha);
	ok(norm(p.ha) > 0 && err < 1e-4,
	   "%s at %s: Hessian-vector product = finite difference of G (|HA| %.4g, rel err %.1e)", model_file,
	   layer, norm(p.ha), err);
	ts_free(ap);
	ts_free(am);
	ts_free(gp);
	ts_free(gm);
	ts_free(fd);
	ts_free(diff);
	ts_free(v);
	ts_free(x64);
	cam_pass_release(&p);
	batch_release(&b);
	batch_source_release(&src);
	dataset_release(&ds);
	ts_split_free(split);
	model_release(&m);
}

int main(void)
{
	static const float half[3] = { 0.5f, 0.5f, 0.5f };
	static const float cmean[3] = { 0.485f, 0.456f, 0.406f }, cstd[3] = { 0.229f, 0.224f, 0.225f };
	FILE *probe = fopen(SHARED "/models/mobilenet_v2_imagenet.pt", "rb");

	if (!probe)
		skip_all("no shared models at " SHARED "/models");
	fclose(probe);
	ts_init(0);
	check(SHARED "/models/mobilenet_v2_imagenet.pt", "Conv_1", SHARED "/data/photos_gradcam/both.png",
	      1.0, half, half);
	check(SHARED "/models/mobilenet_v2_imagenet.pt", "expanded_conv_12_project",
	      SHARED "/data/photos_gradcam/both.png", 1.0, half, half);
	check(SHARED "/models/resnet20_cifar10.pt", "f.layer2.1.conv1",
	      SHARED "/data/foolbox_samples/cifar10_00_3.png", 0.2, cmean, cstd);
	check(SHARED "/models/resnet56_cifar10.pt", "f.layer3.8.bn2",
	      SHARED "/data/foolbox_samples/cifar10_01_8.png", 0.2, cmean, cstd);
	return done_testing();
}
