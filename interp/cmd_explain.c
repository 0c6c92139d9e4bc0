/*
 * cmd_explain.c - `camlab explain`: heatmaps and overlays for images, for one model and layer, over
 * lists of methods, utilities and target classes.
 */
#include "interp/commands.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cam/methods.h"
#include "cam/multilayer.h"
#include "cam/overlay.h"
#include "cam/smooth.h"
#include "cam/utility.h"
#include "interp/modelopts.h"
#include "lib/error.h"
#include "lib/fs.h"
#include "lib/strbuf.h"
#include "lib/xalloc.h"
#include "reports/figure.h"

static const char explain_usage[] =
	"usage: camlab explain --model FILE --layer L [options] -o DIR [IMAGE...]\n"
	"\n"
	"Writes DIR/<image>_<method>.png (the heatmap over the image) and DIR/<image>_<method>.npy\n"
	"(the heatmap, float32 H x W in [0,1]) for every image, and prints each image's prediction.\n"
	"With several methods, utilities or targets, DIR/<image>_grid.png also shows them side by\n"
	"side, labelled (drawn by gnuplot, or $CAMLAB_GNUPLOT; skipped with a warning without it).\n"
	"\n" LAYEROPTS_HELP
	"  --method LIST       comma-separated methods, or all (default gradcam): cam, gradcam,\n"
	"                      hirescam, gradcam-e, layercam, xgradcam, gradcam++, randomcam,\n"
	"                      shapleycam, shapleycam-h, shapleycam-e, scorecam, ablationcam,\n"
	"                      eigencam, eigengradcam, kpcacam, segeigencam, fem, sobelcam,\n"
	"                      refinecam (needs --layer a,b; all has it there),\n"
	"                      fullgrad (the whole network's biases: the layer plays no part);\n"
	"                      all leaves out cam where the layer does not feed the pooling\n"
	"                      and linear head directly (a ViT's block), with a note\n"
	"  --utility LIST      logit, softmax, logsoftmax, rest, finer or all (default rest)\n"
	"  --target LIST       predicted (default), true, least, top<k>, a class index or name\n"
	"  --seed N            seed of randomcam (default 0)\n"
	"  --eigen-smooth      pytorch-grad-cam's eigen_smooth: the first principal component of\n"
	"                      each method's per-channel terms instead of their sum\n"
	"  --aug-smooth        pytorch-grad-cam's aug_smooth: the mean of the maps of the image\n"
	"                      flipped or not and multiplied by 0.9, 1, 1.1 (six passes, not min-maxed\n"
	"                      again)\n"
	"  --raw               also write <image>_<method>_raw.npy, the signed map before ReLU and\n"
	"                      min-max, resized to the input\n"
	"  --quirk shapley-live-activation\n"
	"                      the paper code's quirk: where the model applies an in-place ReLU to\n"
	"                      the layer's output, the ShapleyCAM variants use A after it (for A and\n"
	"                      the Hessian-vector product), as the paper's classes did; off by default\n"
	"  --quirk shapley-prefix-tokens\n"
	"                      pytorch-grad-cam's ShapleyCAM at a token layer: the Hessian-vector\n"
	"                      product moves the class token (the prefix tokens) with the grid, as\n"
	"                      its shapley_cam.py does; off by default (docs/transformers.md)\n"
	"  -o, --output DIR    output folder (created if needed)\n" MODELOPTS_HELP;

enum { OPT_METHOD = OPT_FIRST_COMMAND, OPT_UTILITY, OPT_TARGET, OPT_SEED, OPT_RAW, OPT_QUIRK, OPT_EIGEN, OPT_AUG };

struct target_entry {
	struct target_policy policy;
	char label[32];
};

struct explain {
	struct modelopts mo;
	const char *outdir;
	unsigned methods;
	int utilities[UTILITY_NR];
	int nr_utilities;
	struct target_entry *targets;
	int nr_targets;
	unsigned long long seed;
	int raw;
	unsigned quirk; /* --quirk: its pass flag (cam_quirk_passes) */
	int all; /* --method names all: refinecam joins it at a fused layer, cam leaves it where undefined */
	unsigned smooth; /* CAM_SMOOTH_* of --eigen-smooth and --aug-smooth, for every method */
	struct model model;
	struct dataset ds;
	ts_split *split;	 /* owned, or multi's first cut */
	struct cam_multi *multi; /* --layer a,b: a fused layer's cuts, else NULL */
	ts_tensor *fc;
	char **stems; /* a distinct name for each dataset item's files */
	int targets_checked, fatal;
	size_t all_zero; /* maps that are zero everywhere */
	size_t written, failed;
	int grids; /* several maps per image: draw <image>_grid.png; -1 once gnuplot has failed */
};

static long lookup_class(const char *name, void *ud)
{
	return model_class_index(ud, name);
}

static int have_target(const struct explain *e, const struct target_policy *p)
{
	int i;
	for (i = 0; i < e->nr_targets; i++)
		if (e->targets[i].policy.kind == p->kind && e->targets[i].policy.index == p->index)
			return 1;
	return 0;
}

static int parse_targets(struct explain *e, const char *list)
{
	char *copy = xstrdup(list), *p = copy, *comma;
	int ret = 0;

	do {
		struct target_policy pol;
		int topk, k;
		comma = strchr(p, ',');
		if (comma)
			*comma = '\0';
		if (target_parse(p, lookup_class, &e->model, &pol, &topk) < 0) {
			ret = -1;
		} else {
			for (k = 0; k < (topk ? topk : 1); k++) {
				struct target_entry *t;
				if (topk)
					pol.index = k + 1;
				if (have_target(e, &pol))
					continue; /* "cat,Cat", "3,3", "top2,top3": one map each */
				e->targets = xrealloc(e->targets, (size_t)(e->nr_targets + 1) * sizeof(*t));
				t = &e->targets[e->nr_targets++];
				t->policy = pol;
				if (topk) {
					snprintf(t->label, sizeof(t->label), "top%d", k + 1);
				} else if (pol.kind == TARGET_INDEX) {
					snprintf(t->label, sizeof(t->label), "c%ld", pol.index);
				} else {
					snprintf(t->label, sizeof(t->label), "%s",
						 pol.kind == TARGET_TRUE ? "true"
						 : pol.kind == TARGET_LEAST ? "least" : "predicted");
				}
			}
		}
		p = comma + 1;
	} while (comma);
	free(copy);
	return ret;
}

/* once each, in the order first given */
static void add_utility(struct explain *e, int u)
{
	int i;
	for (i = 0; i < e->nr_utilities; i++)
		if (e->utilities[i] == u)
			return;
	e->utilities[e->nr_utilities++] = u;
}

/* Whether a comma-separated list names "all" (any case, spaces around it), as cam_methods_parse reads it. */
static int names_all(const char *list)
{
	while (*list) {
		size_t len = strcspn(list, ",");
		const char *w = list;
		while (len && isspace((unsigned char)*w))
			w++, len--;
		while (len && isspace((unsigned char)w[len - 1]))
			len--;
		if (len == 3 && !strncasecmp(w, "all", 3))
			return 1;
		list += strcspn(list, ",");
		if (*list)
			list++;
	}
	return 0;
}

static int parse_utilities(struct explain *e, const char *list)
{
	char *copy = xstrdup(list), *p = copy, *comma;
	int ret = 0, u;

	e->nr_utilities = 0;
	do {
		comma = strchr(p, ',');
		if (comma)
			*comma = '\0';
		if (!strcasecmp(p, "all")) {
			for (u = 0; u < UTILITY_NR; u++)
				add_utility(e, u);
		} else if ((u = utility_parse(p)) < 0) {
			ret = -1;
		} else {
			add_utility(e, u);
		}
		p = comma + 1;
	} while (comma);
	free(copy);
	return ret;
}

static void print_prediction(struct explain *e, const struct batch *b, const ts_tensor *logits)
{
	int64_t k = ts_size(logits, 1);
	ts_tensor *prob = ts_softmax(logits, 1);
	float *host = xmalloc((size_t)(b->n * (size_t)k) * sizeof(float));
	size_t i;
	int64_t c;

	if (ts_copy_f32(prob, host, b->n * (size_t)k) < 0) {
		error("cannot read probabilities: %s", ts_error());
		b = NULL;
	}
	for (i = 0; b && i < b->n; i++) {
		const float *row = host + i * (size_t)k;
		int64_t best = 0;
		const char *name;
		for (c = 1; c < k; c++)
			if (row[c] > row[best])
				best = c;
		name = model_class_name(&e->model, (long)best);
		printf("%s: predicted %ld%s%s%s p=%.4f\n", e->ds.items[b->items[i]].path, (long)best,
		       name ? " '" : "", name ? name : "", name ? "'" : "", row[best]);
	}
	fflush(stdout);
	free(host);
	ts_free(prob);
}

static void output_name(struct strbuf *sb, struct explain *e, const char *stem, int method, int ui,
			int ti, const char *suffix)
{
	strbuf_reset(sb);
	strbuf_addf(sb, "%s/%s_%s", e->outdir, stem, cam_method_names[method]);
	if (e->nr_utilities > 1)
		strbuf_addf(sb, "_%s", utility_names[e->utilities[ui]]);
	if (e->nr_targets > 1)
		strbuf_addf(sb, "_%s", e->targets[ti].label);
	strbuf_addstr(sb, suffix);
}

/* Where image i's overlay for (ui, ti, method) is kept for its grid figure. */
static size_t keep_slot(const struct explain *e, size_t i, int ui, int ti, int method)
{
	size_t combo = (i * (size_t)e->nr_utilities + (size_t)ui) * (size_t)e->nr_targets;
	return (combo + (size_t)ti) * CAM_NR_METHODS + (size_t)method;
}

/*
 * Heatmaps (B, H, W) on the device to .npy and overlay .png files. keep (may be NULL) takes each
 * overlay written, at keep_slot().
 */
static void write_maps(struct explain *e, const struct batch *b, const ts_tensor *heat,
		       const ts_tensor *raw, int method, int ui, int ti, struct image *keep)
{
	size_t plane = (size_t)b->w * (size_t)b->h, i;
	float *host = xmalloc(b->n * plane * sizeof(float));
	float *rawhost = raw ? xmalloc(b->n * plane * sizeof(float)) : NULL;
	struct strbuf name = STRBUF_INIT;
	long shape[2] = { b->h, b->w };

	if (ts_copy_f32(heat, host, b->n * plane) < 0 ||
	    (raw && ts_copy_f32(raw, rawhost, b->n * plane) < 0)) {
		error("cannot read heatmaps: %s", ts_error());
		e->failed += b->n;
		goto out;
	}
	for (i = 0; i < b->n; i++) {
		const char *stem = e->stems[b->items[i]];
		struct image over = IMAGE_INIT;
		int bad = 0;
		size_t j;
		for (j = 0; j < plane && host[i * plane + j] == 0; j++)
			;
		e->all_zero += j == plane;
		output_name(&name, e, stem, method, ui, ti, ".npy");
		bad |= npy_write_f32(name.buf, host + i * plane, 2, shape) < 0;
		output_name(&name, e, stem, method, ui, ti, ".png");
		bad |= overlay_jet(&b->shown[i], host + i * plane, 0.5f, &over) < 0 ||
		       image_write_png(name.buf, &over) < 0;
		if (raw) {
			output_name(&name, e, stem, method, ui, ti, "_raw.npy");
			bad |= npy_write_f32(name.buf, rawhost + i * plane, 2, shape) < 0;
		}
		if (keep && !bad) {
			struct image *slot = &keep[keep_slot(e, i, ui, ti, method)];
			image_release(slot);
			*slot = over;
			image_init(&over);
		}
		image_release(&over);
		if (bad)
			e->failed++;
		else
			e->written++;
	}
out:
	strbuf_release(&name);
	free(host);
	free(rawhost);
}

/* A target as a figure names it: "tabby (281)", "class 3", "least likely: tabby (281)". */
static void target_caption(struct strbuf *sb, struct explain *e, int ti, long cls)
{
	const struct target_policy *p = &e->targets[ti].policy;
	const char *name;

	if (p->kind == TARGET_INDEX)
		cls = p->index;
	else
		strbuf_addstr(sb, p->kind == TARGET_TRUE    ? "true"
				  : p->kind == TARGET_LEAST ? "least likely"
				  : p->kind == TARGET_TOPK  ? "top "
							    : "predicted");
	if (p->kind == TARGET_TOPK)
		strbuf_addf(sb, "%ld", p->index);
	if (cls < 0)
		return;
	if (p->kind != TARGET_INDEX)
		strbuf_addstr(sb, ": ");
	name = model_class_name(&e->model, cls);
	if (name)
		strbuf_addf(sb, "%s (%ld)", name, cls);
	else
		strbuf_addf(sb, "class %ld", cls);
}

/*
 * One DIR/<image>_grid.png per image of the batch: the prepared input, then the kept overlays, as
 * the paper's figures set them side by side. Methods are the columns when there are several, else
 * targets, else utilities; the remaining lists make the rows, and what is fixed goes in the title.
 * classes[(i * U + ui) * T + ti] is image i's class for (ui, ti), -1 if its pass failed.
 */
static void write_grids(struct explain *e, const struct batch *b, struct image *keep,
			const long *classes)
{
	int nu = e->nr_utilities, nt = e->nr_targets, nm = 0, methods[CAM_NR_METHODS];
	int by_method, by_target, rows, cols, r, c, m;
	size_t i, n, k;
	struct figure_cell *cells;
	struct strbuf *text, path = STRBUF_INIT, err = STRBUF_INIT;
	const char **row_labels;

	for (m = 0; m < CAM_NR_METHODS; m++)
		if (e->methods & (1u << m))
			methods[nm++] = m;
	by_method = nm > 1;
	by_target = !by_method && nt > 1;
	cols = 1 + (by_method ? nm : by_target ? nt : nu);
	rows = by_method ? nu * nt : by_target ? nu : 1;
	n = (size_t)(rows * cols + rows + 1); /* cell labels, row labels, title */
	cells = xcalloc((size_t)(rows * cols), sizeof(*cells));
	row_labels = xcalloc((size_t)rows, sizeof(*row_labels));
	text = xmalloc(n * sizeof(*text));
	for (k = 0; k < n; k++)
		strbuf_init(&text[k], 0);

	for (i = 0; i < b->n && e->grids > 0; i++) {
		const char *file = e->ds.items[b->items[i]].path, *slash = strrchr(file, '/');
		const long *cls = classes + i * (size_t)(nu * nt); /* [ui * nt + ti] */
		struct strbuf *title = &text[n - 1];

		for (k = 0; k < n; k++)
			strbuf_reset(&text[k]);
		for (r = 0; r < rows; r++) {
			struct strbuf *rl = &text[rows * cols + r];
			int ui = by_method ? r / nt : by_target ? r : 0, ti = by_method ? r % nt : 0;
			cells[r * cols].img = &b->shown[i];
			cells[r * cols].label = r ? NULL : slash ? slash + 1 : file;
			for (c = 1; c < cols; c++) {
				struct strbuf *l = &text[r * cols + c];
				struct image *over;
				m = by_method ? methods[c - 1] : methods[0];
				if (by_method) {
					strbuf_addstr(l, figure_display_name(cam_method_names[m]));
				} else if (by_target) {
					ti = c - 1;
					target_caption(l, e, ti, cls[ui * nt + ti]);
				} else {
					ui = c - 1;
					strbuf_addstr(l, figure_display_name(utility_names[e->utilities[ui]]));
				}
				over = &keep[keep_slot(e, i, ui, ti, m)];
				cells[r * cols + c].img = over->w ? over : NULL;
				cells[r * cols + c].label = over->w ? l->buf : NULL; /* failed: blank */
			}
			if (rows > 1 && nu > 1)
				strbuf_addstr(rl, figure_display_name(utility_names[e->utilities[ui]]));
			if (rows > 1 && by_method && nt > 1) {
				if (rl->len)
					strbuf_addch(rl, '\n');
				target_caption(rl, e, ti, cls[ui * nt + ti]);
			}
			row_labels[r] = rl->buf;
		}
		if (nm == 1)
			strbuf_addstr(title, figure_display_name(cam_method_names[methods[0]]));
		if (nu == 1)
			strbuf_addf(title, "%s%s", title->len ? ", " : "",
				    figure_display_name(utility_names[e->utilities[0]]));
		if (nt == 1) {
			strbuf_addstr(title, title->len ? ", " : "");
			target_caption(title, e, 0, cls[0]);
		}

		strbuf_reset(&path);
		strbuf_addf(&path, "%s/%s_grid.png", e->outdir, e->stems[b->items[i]]);
		if (figure_grid(path.buf, cells, rows, cols, row_labels, title->len ? title->buf : NULL,
				&err) < 0) {
			warning("%s; no grid figures are drawn", err.buf);
			e->grids = -1;
		}
	}
	for (k = 0; k < n; k++)
		strbuf_release(&text[k]);
	free(text);
	free(cells);
	free(row_labels);
	strbuf_release(&path);
	strbuf_release(&err);
}

/* A class index or rank the model does not have would fail only after the other targets' maps. */
static int check_targets(const struct explain *e, int64_t k)
{
	int i;
	for (i = 0; i < e->nr_targets; i++)
		if (target_fits(&e->targets[i].policy, k) < 0)
			return -1;
	return 0;
}

/* Method m's map S from pass p: at the layer, or fused over --layer's layers (cam/multilayer.h). */
static ts_tensor *explain_map(struct explain *e, enum cam_method m, const struct cam_pass *p,
			      const struct cam_extra *extra)
{
	struct cam_mapper inner, fused;
	struct cam_fused fu;

	if (!e->multi)
		return cam_smooth_map(m, p, extra);
	cam_mapper_builtin(&inner, m);
	fused = cam_fused_mapper(&fu, &inner, e->multi, m == CAM_REFINECAM);
	return fused.map(p, extra, fused.ud);
}

/*
 * "all" names CAM, which a layer that does not feed global pooling and a linear head directly (a ViT's
 * block) cannot have: there "all" leaves it out with a note, once, rather than failing every image as a
 * CAM asked for by name does. A fused layer needs it at each of its layers.
 */
static void drop_undefined_cam(struct explain *e, const struct cam_pass *p)
{
	struct strbuf why = STRBUF_INIT;
	int undefined;
	size_t l;

	if (!e->all || !(e->methods & (1u << CAM_CAM)))
		return;
	error_capture(&why);
	undefined = cam_head_check(e->split, e->fc, ts_size(p->a, 1)) < 0;
	for (l = 1; !undefined && e->multi && l < e->multi->n; l++)
		undefined = cam_head_check(e->multi->splits[l], e->fc, ts_size(e->multi->rest[l].a, 1)) < 0;
	error_capture(NULL);
	if (undefined) {
		const char *msg = why.buf;
		while (why.len && why.buf[why.len - 1] == '\n')
			why.buf[--why.len] = '\0';
		if (!strncmp(msg, "error: ", 7))
			msg += 7;
		fprintf(stderr, "note: all leaves out cam at '%s': %s\n", e->mo.layer, msg);
		e->methods &= ~(1u << CAM_CAM);
	}
	strbuf_release(&why);
}

static int explain_batch(struct explain *e, const struct batch *b, struct cam_extra *extra)
{
	unsigned passes = cam_methods_passes(e->methods) | e->quirk;
	int ui, ti, m, ret = 0;
	/* The overlays and classes of the whole batch, for its grid figures. */
	size_t nkeep = e->grids > 0 ? keep_slot(e, b->n, 0, 0, 0) : 0, k;
	struct image *keep = nkeep ? xcalloc(nkeep, sizeof(*keep)) : NULL;
	long *classes = nkeep ? xmalloc(nkeep / CAM_NR_METHODS * sizeof(*classes)) : NULL;

	for (k = 0; classes && k < nkeep / CAM_NR_METHODS; k++)
		classes[k] = -1;

	extra->x = b->x;
	extra->items = b->items;
	extra->smooth = e->smooth;
	for (ui = 0; ui < e->nr_utilities; ui++) {
		for (ti = 0; ti < e->nr_targets; ti++) {
			struct cam_pass pass = CAM_PASS_INIT;
			struct cam_aug aug = CAM_AUG_INIT;
			if ((e->multi ? cam_multi_pass(e->multi, &pass, b->x, (enum utility)e->utilities[ui], NULL,
						       &e->targets[ti].policy, b->labels, passes)
				      : cam_pass_run(&pass, e->split, b->x, (enum utility)e->utilities[ui],
						     &e->targets[ti].policy, b->labels, passes)) < 0 ||
			    ((e->smooth & CAM_SMOOTH_AUG) &&
			     (e->multi ? cam_multi_aug_run(e->multi, &aug, &pass, b->x, passes)
				       : cam_aug_run(&aug, &pass, b->x, passes)) < 0)) {
				cam_pass_release(&pass);
				e->failed += b->n;
				ret = -1;
				continue;
			}
			extra->aug = &aug; /* the transformed passes serve every method */
			if (ui == 0 && ti == 0) {
				print_prediction(e, b, pass.logits);
				drop_undefined_cam(e, &pass);
				/* all targets against the model's classes before any map is written */
				if (!e->targets_checked && check_targets(e, ts_size(pass.logits, 1)) < 0) {
					cam_aug_release(&aug);
					cam_pass_release(&pass);
					e->fatal = 1;
					ret = -1;
					goto out;
				}
				e->targets_checked = 1;
			}
			for (k = 0; classes && k < b->n; k++) /* the classes of one method's slots */
				classes[keep_slot(e, k, ui, ti, 0) / CAM_NR_METHODS] = pass.classes[k];
			for (m = 0; m < CAM_NR_METHODS; m++) {
				ts_tensor *s, *heat, *raw = NULL;
				if (!(e->methods & (1u << m)))
					continue;
				s = explain_map(e, (enum cam_method)m, &pass, extra);
				heat = s ? cam_heatmap(s, extra, b->h, b->w) : NULL;
				if (e->raw)
					raw = cam_resize_raw(s, b->h, b->w);
				if (!heat || (e->raw && !raw)) {
					if (s)
						error("post-processing %s failed: %s", cam_method_names[m],
						      ts_error());
					e->failed += b->n;
					ret = -1;
				} else {
					write_maps(e, b, heat, raw, m, ui, ti, keep);
				}
				ts_free(s);
				ts_free(heat);
				ts_free(raw);
			}
			cam_multi_clear(e->multi);
			extra->aug = NULL;
			cam_aug_release(&aug);
			cam_pass_release(&pass);
		}
	}
out:
	if (keep) {
		if (!e->fatal)
			write_grids(e, b, keep, classes);
		for (k = 0; k < nkeep; k++)
			image_release(&keep[k]);
	}
	free(keep);
	free(classes);
	return ret;
}

static int explain_run(struct explain *e, const char *target_list, char **files, int nfiles)
{
	struct preprocess pp;
	struct batch_source src;
	struct batch b = BATCH_INIT;
	struct cam_extra extra = { 0 };
	size_t renamed;
	int r;

	if (modelopts_load(&e->mo, &e->model, &e->ds, files, nfiles, &pp) < 0)
		return -1;
	/* Targets may name classes, so they are parsed once the model's class names are known. */
	if (parse_targets(e, target_list) < 0)
		return -1;
	e->grids = e->nr_utilities > 1 || e->nr_targets > 1 || (e->methods & (e->methods - 1));
	if (strchr(e->mo.layer, ',')) {
		if (e->mo.prefix_tokens >= 0 || e->mo.grid_h)
			return error("--prefix-tokens and --grid describe one layer's tokens, not fused layers "
				     "('%s')", e->mo.layer);
		if (!(e->multi = cam_multi_new(&e->model, e->mo.layer, e->mo.layout)))
			return -1;
		if (e->all) /* refinecam is a method of fused layers only: "all" has it here */
			e->methods |= 1u << CAM_REFINECAM;
		e->split = e->multi->splits[0];
	} else if (e->methods & (1u << CAM_REFINECAM)) {
		return error("method 'refinecam' needs several layers: --layer %s,LAYER (camlab help "
			     "methods)", e->mo.layer);
	} else if (model_split(&e->model, e->mo.layer, e->mo.layout, &e->split) < 0 ||
		   model_split_tokens(e->split, e->mo.layer, e->mo.prefix_tokens, e->mo.grid_h,
				      e->mo.grid_w) < 0) {
		return -1;
	}
	if (e->methods & (1u << CAM_CAM))
		e->fc = model_head_weight(&e->model);
	if (mkdir_p(e->outdir) < 0)
		return -1;
	if (access(e->outdir, W_OK | X_OK) < 0)
		return error("cannot write into '%s': %s", e->outdir, strerror(errno));
	e->stems = batch_item_stems(&e->ds, &renamed);
	if (renamed)
		fprintf(stderr,
			"note: %zu image(s) share a file name with another; their files are named after their "
			"path below the folder all images share, with '_' for '/' (test/cat/0000.jpg: "
			"cat_0000_gradcam.png)\n",
			renamed);
	extra.model = e->model.mod;
	extra.fc = e->fc;
	extra.seed = e->seed;
	extra.chunk = e->mo.batch * 4;
	extra.mean = pp.mean;
	extra.std = pp.std;
	batch_source_init(&src, &e->ds, &pp, e->mo.device, e->mo.limit);
	while (!e->fatal && (r = batch_next(&src, &b, (size_t)e->mo.batch)) > 0)
		explain_batch(e, &b, &extra);
	if (e->fatal)
		r = -1;
	batch_release(&b);
	fprintf(stderr, "wrote %zu heatmaps to %s", e->written, e->outdir);
	if (src.nr_skipped)
		fprintf(stderr, "; skipped %zu unreadable image(s)", src.nr_skipped);
	if (e->failed)
		fprintf(stderr, "; %zu failed", e->failed);
	fputc('\n', stderr);
	if (e->all_zero)
		fprintf(stderr,
			"note: %zu of the maps are zero everywhere: at this layer nothing speaks for their "
			"target "
			"class (the ReLU before the min-max leaves nothing; --raw keeps the signed map)\n",
			e->all_zero);
	batch_source_release(&src);
	return r < 0 || e->failed || src.nr_skipped ? -1 : 0;
}

int cmd_explain(int argc, char **argv)
{
	static const struct option longopts[] = {
		MODELOPTS_LONG,
		LAYEROPTS_LONG,
		{ "method", required_argument, NULL, OPT_METHOD },
		{ "methods", required_argument, NULL, OPT_METHOD },
		{ "utility", required_argument, NULL, OPT_UTILITY },
		{ "target", required_argument, NULL, OPT_TARGET },
		{ "seed", required_argument, NULL, OPT_SEED },
		{ "raw", no_argument, NULL, OPT_RAW },
		{ "quirk", required_argument, NULL, OPT_QUIRK },
		{ "eigen-smooth", no_argument, NULL, OPT_EIGEN },
		{ "aug-smooth", no_argument, NULL, OPT_AUG },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct explain e;
	const char *method_list = "gradcam", *utility_list = "rest", *target_list = "predicted";
	size_t i;
	int opt, bad = 0, ret;
	long v = 0;

	memset(&e, 0, sizeof(e));
	modelopts_init(&e.mo);
	optind = 1;
	while ((opt = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
		int r = modelopts_parse(&e.mo, opt, optarg);
		if (r < 0) {
			bad = 1;
			continue;
		}
		if (r)
			continue;
		switch (opt) {
		case OPT_METHOD:
			method_list = optarg;
			break;
		case OPT_UTILITY:
			utility_list = optarg;
			break;
		case OPT_TARGET:
			target_list = optarg;
			break;
		case OPT_SEED:
			if (parse_count("seed", optarg, &v) < 0)
				bad = 1;
			e.seed = (unsigned long long)v;
			break;
		case OPT_RAW:
			e.raw = 1;
			break;
		case OPT_EIGEN:
			e.smooth |= CAM_SMOOTH_EIGEN;
			break;
		case OPT_AUG:
			e.smooth |= CAM_SMOOTH_AUG;
			break;
		case OPT_QUIRK:
			if (!(e.quirk = cam_quirk_passes(optarg)))
				bad = error("unknown quirk '%s': camlab knows " CAM_QUIRKS, optarg);
			break;
		case 'o':
			e.outdir = optarg;
			break;
		case 'h':
			fputs(explain_usage, stdout);
			return 0;
		default:
			fputs(explain_usage, stderr);
			return 2;
		}
	}
	if (!e.mo.layer)
		bad = error("no target layer given (--layer L; camlab layers --model M lists them)");
	if (!e.outdir)
		bad = error("no output folder given (-o DIR)");
	if (cam_methods_parse(method_list, &e.methods) < 0)
		bad = 1;
	e.all = names_all(method_list);
	if (parse_utilities(&e, utility_list) < 0)
		bad = 1;
	if (bad) {
		fprintf(stderr, "see camlab explain --help\n");
		return 2;
	}
	ret = explain_run(&e, target_list, argv + optind, argc - optind);
	model_release(&e.model);
	for (i = 0; e.stems && i < e.ds.nr; i++)
		free(e.stems[i]);
	free(e.stems);
	dataset_release(&e.ds);
	if (e.multi)
		cam_multi_free(e.multi); /* and the split it lent */
	else
		ts_split_free(e.split);
	ts_free(e.fc);
	free(e.targets);
	return ret < 0 ? 1 : 0;
}
