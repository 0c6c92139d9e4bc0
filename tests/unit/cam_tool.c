/*
 * cam_tool.c - a test tool exposing camlab's numeric core to the shell tests: the shared passes of one
 * batch (x, A, G, HA, logits) and each method's map, as .npy files that Python checks independently.
 *
 *   cam_tool passes [model options] --layer L [--utility U] [--target T] [--layout K] -o DIR IMAGE...
 *
 * writes DIR/{x,a,g,ha,logits,target}.npy and DIR/S_<method>.npy (the map before ReLU, (B,h,w)) and
 * DIR/H_<method>.npy (after post-processing) for every method that applies, and DIR/M_<method>.npy
 * (its metrics). --lean computes only the passes the methods need (g and ha may then be missing) and
 * no metrics, which is what makes a check of many maps on a large model quick. --eigen-smooth and
 * --aug-smooth ask every method for upstream's smoothing (S is then the final map with --aug-smooth).
 * --fidelity P also writes
 * DIR/phi.npy and DIR/phi_se.npy, (B,h,w): the CRG game's Shapley values at the layer estimated from P
 * antithetic pairs (cam/fidelity.h; seed 0, the images' places in the batch), and DIR/phi_cost.npy, the
 * head forwards per image.
 *
 * With a fused layer (--layer a,b: cam/multilayer.h) it writes DIR/S_<method>.<path>.npy, the method's
 * map at each layer, and DIR/H_<method>.npy and DIR/M_<method>.npy of the fused map. --param KEY=VALUE
 * (any number of them) gives each method that has parameter KEY (cam/params.h) that value. --quirk Q
 * asks for a quirk's passes (cam_quirk_passes).
 */
#include "cam/smooth.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cam/fidelity.h"
#include "cam/methods.h"
#include "cam/metrics.h"
#include "cam/multilayer.h"
#include "cam/overlay.h"
#include "cam/params.h"
#include "interp/modelopts.h"
#include "lib/error.h"
#include "lib/strbuf.h"
#include "lib/xalloc.h"

enum {
	OPT_UTILITY = OPT_FIRST_COMMAND,
	OPT_TARGET,
	OPT_METHODS,
	OPT_RAW_INPUT,
	OPT_LEAN,
	OPT_FIDELITY,
	OPT_EIGEN,
	OPT_AUG,
	OPT_QUIRK,
	OPT_PARAM
};

/* An input tensor from a raw little-endian float32 file "FILE:N,C,H,W", already normalised. */
static ts_tensor *raw_input(const char *spec)
{
	char path[4096];
	long n, c, h, w, count;
	const char *colon = strrchr(spec, ':');
	FILE *fp;
	float *data;
	int64_t shape[4];
	ts_tensor *t;

	if (!colon || (size_t)(colon - spec) >= sizeof(path) ||
	    sscanf(colon + 1, "%ld,%ld,%ld,%ld", &n, &c, &h, &w) != 4) {
		error("--raw-input needs FILE:N,C,H,W");
		return NULL;
	}
	memcpy(path, spec, (size_t)(colon - spec));
	path[colon - spec] = '\0';
	count = n * c * h * w;
	data = xmalloc((size_t)count * sizeof(float));
	fp = fopen(path, "rb");
	if (!fp || fread(data, sizeof(float), (size_t)count, fp) != (size_t)count) {
		error("cannot read %ld floats from '%s'", count, path);
		if (fp)
			fclose(fp);
		free(data);
		return NULL;
	}
	fclose(fp);
	shape[0] = n;
	shape[1] = c;
	shape[2] = h;
	shape[3] = w;
	t = ts_from_f32(data, shape, 4, "cpu");
	free(data);
	return t;
}

static int save(const char *dir, const char *name, const ts_tensor *t)
{
	struct strbuf path = STRBUF_INIT;
	long shape[8];
	int nd = ts_dim(t), i, ret;
	int64_t n = ts_numel(t);
	float *host;

	if (!t || nd > 8)
		return error("no tensor for %s: %s", name, ts_error());
	host = xmalloc((size_t)(n ? n : 1) * sizeof(float));
	for (i = 0; i < nd; i++)
		shape[i] = (long)ts_size(t, i);
	ts_copy_f32(t, host, (size_t)n);
	strbuf_addf(&path, "%s/%s.npy", dir, name);
	ret = npy_write_f32(path.buf, host, nd, shape);
	strbuf_release(&path);
	free(host);
	return ret;
}

/* The estimate of the Shapley values of the pass's game, from `pairs` antithetic pairs. */
static int save_fidelity(const char *dir, const struct cam_pass *pass, int pairs)
{
	struct fidelity f = FIDELITY_INIT;
	struct fidelity_opts o = FIDELITY_OPTS_INIT;
	struct strbuf path = STRBUF_INIT;
	const char *names[3] = { "phi", "phi_se", "phi_cost" };
	float *host;
	size_t i, k;
	int ret = 0;

	o.pairs = pairs;
	if (fidelity_estimate(&f, pass, NULL, &o) < 0)
		return error("fidelity: %s", ts_error());
	host = xmalloc(f.n * f.d * sizeof(float));
	for (k = 0; k < 3 && !ret; k++) {
		long shape[3] = { (long)f.n, (long)f.h, (long)f.w }, one[1] = { 1 };
		const double *v = k ? f.se : f.phi;
		for (i = 0; i < f.n * f.d; i++)
			host[i] = k == 2 ? (float)f.forwards : (float)v[i];
		strbuf_reset(&path);
		strbuf_addf(&path, "%s/%s.npy", dir, names[k]);
		ret = k == 2 ? npy_write_f32(path.buf, host, 1, one) : npy_write_f32(path.buf, host, 3, shape);
	}
	free(host);
	strbuf_release(&path);
	fidelity_release(&f);
	return ret;
}

/* The layers' maps and the fused map (and its metrics unless lean) of each method in mask. */
static int fused_maps(const char *dir, const char *layers, struct cam_multi *mu, struct cam_pass *pass, const struct batch *b,
		      const struct cam_extra *extra, unsigned mask, int lean)
{
	struct strbuf name = STRBUF_INIT;
	int i, ret = 0;
	size_t l;

	for (i = 0; i < CAM_NR_METHODS; i++) {
		struct cam_mapper inner, mp;
		struct cam_fused fu;
		ts_tensor *f, *h;
		if (!(mask & (1u << i)))
			continue;
		cam_mapper_builtin(&inner, (enum cam_method)i);
		for (l = 0; l < mu->n; l++) {
			char path[512];
			ts_tensor *s = cam_map((enum cam_method)i, l ? &mu->rest[l] : pass, extra);
			cam_layer_nth(layers, l, path, sizeof(path));
			strbuf_reset(&name);
			strbuf_addf(&name, "S_%s.%s", cam_method_names[i], path);
			ret |= save(dir, name.buf, s);
			ts_free(s);
		}
		mp = cam_fused_mapper(&fu, &inner, mu, i == CAM_REFINECAM);
		f = mp.map(pass, extra, mp.ud);
		h = cam_postprocess(f, b->h, b->w);
		strbuf_reset(&name);
		strbuf_addf(&name, "H_%s", cam_method_names[i]);
		ret |= save(dir, name.buf, h);
		if (!lean && h) {
			/* M_<method>.npy: (B, 3) rows of ad, coh, com */
			struct metric_row *rows = xcalloc(b->n, sizeof(*rows));
			float *flat = xcalloc(b->n * 3, sizeof(float));
			long shape[2] = { (long)b->n, 3 };
			size_t k;
			if (metrics_eval(pass, b->x, h, &mp, extra, (1u << METRIC_NR) - 1, rows) < 0)
				ret = -1;
			for (k = 0; k < b->n; k++) {
				flat[k * 3] = (float)rows[k].ad;
				flat[k * 3 + 1] = (float)rows[k].coh;
				flat[k * 3 + 2] = (float)rows[k].com;
			}
			strbuf_reset(&name);
			strbuf_addf(&name, "%s/M_%s.npy", dir, cam_method_names[i]);
			ret |= npy_write_f32(name.buf, flat, 2, shape);
			free(rows);
			free(flat);
		}
		ts_free(f);
		ts_free(h);
	}
	strbuf_release(&name);
	return ret ? -1 : 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		MODELOPTS_LONG,
		LAYEROPTS_LONG,
		{ "utility", required_argument, NULL, OPT_UTILITY },
		{ "target", required_argument, NULL, OPT_TARGET },
		{ "methods", required_argument, NULL, OPT_METHODS },
		{ "raw-input", required_argument, NULL, OPT_RAW_INPUT },
		{ "lean", no_argument, NULL, OPT_LEAN },
		{ "fidelity", required_argument, NULL, OPT_FIDELITY },
		{ "eigen-smooth", no_argument, NULL, OPT_EIGEN },
		{ "aug-smooth", no_argument, NULL, OPT_AUG },
		{ "quirk", required_argument, NULL, OPT_QUIRK },
		{ "param", required_argument, NULL, OPT_PARAM },
		{ "output", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 },
	};
	struct modelopts mo;
	struct model m;
	struct dataset ds;
	struct preprocess pp;
	struct batch_source src;
	struct batch b = BATCH_INIT;
	struct cam_pass pass = CAM_PASS_INIT;
	struct cam_extra extra = { 0 };
	struct target_policy target = { TARGET_PREDICTED, 0 };
	const char *dir = NULL, *methods = "all", *raw = NULL;
	ts_split *split = NULL;
	struct cam_multi *multi = NULL;
	int opt, u = UTILITY_REST, topk, i, lean = 0, pairs = 0, nr_params = 0;
	unsigned smooth = 0, quirk = 0;
	char *params[16];
	unsigned mask;

	if (argc < 2 || strcmp(argv[1], "passes")) {
		fprintf(stderr, "usage: cam_tool passes [options] -o DIR IMAGE...\n");
		return 2;
	}
	modelopts_init(&mo);
	optind = 2;
	while ((opt = getopt_long(argc, argv, "o:", longopts, NULL)) != -1) {
		int r = modelopts_parse(&mo, opt, optarg);
		if (r < 0)
			return 2;
		if (r)
			continue;
		switch (opt) {
		case OPT_UTILITY:
			if ((u = utility_parse(optarg)) < 0)
				return 2;
			break;
		case OPT_TARGET:
			if (target_parse(optarg, NULL, NULL, &target, &topk) < 0)
				return 2;
			break;
		case OPT_METHODS:
			methods = optarg;
			break;
		case OPT_RAW_INPUT:
			raw = optarg;
			break;
		case OPT_PARAM:
			if (nr_params == 16 || !strchr(optarg, '='))
				return 2;
			params[nr_params++] = optarg;
			break;
		case OPT_LEAN:
			lean = 1;
			break;
		case OPT_FIDELITY:
			pairs = (int)strtol(optarg, NULL, 10);
			break;
		case OPT_EIGEN:
			smooth |= CAM_SMOOTH_EIGEN;
			break;
		case OPT_AUG:
			smooth |= CAM_SMOOTH_AUG;
			break;
		case OPT_QUIRK:
			if (!(quirk = cam_quirk_passes(optarg)))
				return 2;
			break;
		case 'o':
			dir = optarg;
			break;
		default:
			return 2;
		}
	}
	if (!mo.layer || !dir || cam_methods_parse(methods, &mask) < 0)
		return 2;
	if (raw) {
		/* no images: the model alone, and the input from the file */
		if (ts_init(0) < 0 || model_load(&m, mo.model, "cpu") < 0)
			return 1;
		dataset_init(&ds);
		b.x = raw_input(raw);
		if (!b.x)
			return 1;
		b.n = (size_t)ts_size(b.x, 0);
		b.h = (int)ts_size(b.x, 2);
		b.w = (int)ts_size(b.x, 3);
		b.labels = xcalloc(b.n, sizeof(long));
	} else if (modelopts_load(&mo, &m, &ds, argv + optind, argc - optind, &pp) < 0) {
		return 1;
	}
	if (strchr(mo.layer, ',')) {
		if (!(multi = cam_multi_new(&m, mo.layer, mo.layout)))
			return 1;
		split = multi->splits[0];
	} else if (model_split(&m, mo.layer, mo.layout, &split) < 0 ||
		   model_split_tokens(split, mo.layer, mo.prefix_tokens, mo.grid_h, mo.grid_w) < 0) {
		return 1;
	}
	batch_source_init(&src, &ds, &pp, mo.device, mo.limit);
	if (!raw && batch_next(&src, &b, ds.nr) <= 0)
		return 1;
	if ((multi ? cam_multi_pass(multi, &pass, b.x, (enum utility)u, NULL, &target, b.labels,
				    (lean ? cam_methods_passes(mask) : CAM_PASS_GRAD | CAM_PASS_HVP) | quirk)
		   : cam_pass_run(&pass, split, b.x, (enum utility)u, &target, b.labels,
				  (lean ? cam_methods_passes(mask) : CAM_PASS_GRAD | CAM_PASS_HVP) | quirk)) < 0)
		return 1;
	save(dir, "x", b.x);
	save(dir, "a", pass.a);
	if (pass.g)
		save(dir, "g", pass.g);
	if (pass.ha)
		save(dir, "ha", pass.ha);
	save(dir, "logits", pass.logits);
	if (pairs > 0 && save_fidelity(dir, &pass, pairs) < 0)
		return 1;
	{
		ts_tensor *t = ts_to_f32(pass.target);
		save(dir, "target", t);
		ts_free(t);
	}
	extra.fc = model_head_weight(&m);
	extra.model = m.mod;
	extra.x = b.x;
	extra.items = b.items;
	extra.chunk = 64;
	extra.smooth = smooth;
	/* SobelCAM undoes the normalisation: with --raw-input, the one --mean and --std give */
	extra.mean = raw ? (mo.have_mean ? mo.mean : NULL) : pp.mean;
	extra.std = raw ? (mo.have_std ? mo.std : NULL) : pp.std;
	if (multi) {
		int r = fused_maps(dir, mo.layer, multi, &pass, &b, &extra, mask, lean);
		cam_multi_free(multi);
		return r < 0 ? 1 : 0;
	}
	for (i = 0; i < CAM_NR_METHODS; i++) {
		struct strbuf name = STRBUF_INIT;
		ts_tensor *s, *h;
		if (!(mask & (1u << i)))
			continue;
		struct cam_method_params mpar = CAM_METHOD_PARAMS_INIT;
		for (int j = 0; j < nr_params; j++) {
			struct strbuf key = STRBUF_INIT, err = STRBUF_INIT;
			const struct param_info *pi;
			strbuf_add(&key, params[j], (size_t)(strchr(params[j], '=') - params[j]));
			pi = params_find(PARAM_METHOD, i, key.buf);
			if (pi && params_parse(pi, strchr(params[j], '=') + 1, &mpar, NULL, &err) < 0)
				die("--param %s: %s", params[j], err.buf);
			strbuf_release(&key);
			strbuf_release(&err);
		}
		extra.params = &mpar;
		error_set_quiet(i == CAM_CAM);
		s = cam_smooth_map((enum cam_method)i, &pass, &extra);
		error_set_quiet(0);
		if (!s)
			continue;
		h = cam_heatmap(s, &extra, b.h, b.w);
		if (!lean) {
			/* M_<method>.npy: (B, 8) rows of ad, coh, com, ic, add, y, o, d */
			struct metric_row *rows = xcalloc(b.n, sizeof(*rows));
			float *flat = xcalloc(b.n * 8, sizeof(float));
			long shape[2] = { (long)b.n, 8 };
			size_t k;
			struct cam_mapper mp;
			cam_mapper_builtin(&mp, (enum cam_method)i);
			mp.params = mpar;
			if (metrics_eval(&pass, b.x, h, &mp, &extra, (1u << METRIC_NR) - 1, rows) == 0) {
				for (k = 0; k < b.n; k++) {
					double v[8] = { rows[k].ad, rows[k].coh, rows[k].com, rows[k].ic,
							rows[k].add, rows[k].y, rows[k].o, rows[k].d };
					for (int j = 0; j < 8; j++)
						flat[k * 8 + j] = (float)v[j];
				}
				strbuf_addf(&name, "%s/M_%s.npy", dir, cam_method_names[i]);
				npy_write_f32(name.buf, flat, 2, shape);
				strbuf_reset(&name);
			}
			free(rows);
			free(flat);
		}
		strbuf_addf(&name, "S_%s", cam_method_names[i]);
		save(dir, name.buf, s);
		strbuf_reset(&name);
		strbuf_addf(&name, "H_%s", cam_method_names[i]);
		save(dir, name.buf, h);
		strbuf_release(&name);
		ts_free(s);
		ts_free(h);
	}
	ts_free((ts_tensor *)extra.fc);
	cam_pass_release(&pass);
	batch_release(&b);
	batch_source_release(&src);
	ts_split_free(split);
	model_release(&m);
	dataset_release(&ds);
	return 0;
}
