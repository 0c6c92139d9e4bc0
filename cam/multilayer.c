/*
 * multilayer.c - fused layers and RefineCAM (see multilayer.h): one cut and one pass per layer, the
 * method's map at each, and their combination as pytorch-grad-cam's base_cam.py and refine_cam.py do it.
 */
#include "cam/multilayer.h"

#include <stdlib.h>
#include <string.h>

#include "cam/model.h"
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
	cam_multi_clear(mu);
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

ts_tensor *cam_fused_map(const struct cam_pass *p, const struct cam_extra *extra, void *ud)
{
	const struct cam_fused *fu = ud;
	struct cam_multi *mu = fu->multi;
	struct cam_pass fresh[CAM_MULTI_MAX];
	const struct cam_pass *at;
	int64_t h = ts_size(extra->x, 2), w = ts_size(extra->x, 3);
	ts_tensor *acc = NULL, *r = NULL;
	size_t l;

	memset(fresh, 0, sizeof(fresh));
	if (p != mu->main && run_rest(mu, p, extra->x, fu->inner.passes, fresh) < 0) {
		error("%s", ts_error());
		goto out;
	}
	for (l = 0; l < mu->n; l++) {
		ts_tensor *s, *f, *next;
		at = !l ? p : p == mu->main ? &mu->rest[l] : &fresh[l];
		s = fu->inner.map(at, extra, fu->inner.ud);
		if (!s)
			goto out; /* the method said why */
		f = layer_map(s, h, w, fu->product);
		ts_free(s);
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
	for (l = 1; l < mu->n; l++)
		cam_pass_release(&fresh[l]);
	ts_free(acc);
	return r;
}

struct cam_mapper cam_fused_mapper(struct cam_fused *fu, const struct cam_mapper *inner, struct cam_multi *mu,
				   int refine)
{
	struct cam_mapper m = *inner;

	fu->inner = *inner;
	fu->multi = mu;
	fu->product = refine;
	m.map = cam_fused_map;
	m.ud = fu;
	return m;
}
