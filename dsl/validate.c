/*
 * validate.c - experiment_validate() (see experiment.h): the front ends only read and type-check; every
 * check of a name or a value against what camlab knows is here and in names.c, so that a YAML spec and
 * its Lua twin fail with the same messages.
 */
#include "dsl/experiment.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cam/methods.h"
#include "cam/model.h"
#include "cam/methods.h"
#include "cam/multilayer.h"
#include "dsl/ablations.h"
#include "dsl/names.h"
#include "lib/strbuf.h"
#include "lib/suggest.h"
#include "lib/xalloc.h"

/* ---------------------------------------------------------------------------------------------------
 * Paths: relative to the spec's folder, made absolute and normalised (no ".", "..", "//"), so that the
 * canonical text does not depend on the folder camlab was started in.
 */

static void normalise_into(struct strbuf *out, const char *path)
{
	char *copy = xstrdup(path), *p = copy, *seg;
	size_t *starts = xcalloc(strlen(path) + 1, sizeof(size_t)), depth = 0;

	strbuf_reset(out);
	while (p) {
		seg = p;
		p = strchr(p, '/');
		if (p)
			*p++ = '\0';
		if (!*seg || !strcmp(seg, "."))
			continue;
		if (!strcmp(seg, "..")) {
			if (depth) {
				depth--;
				out->len = starts[depth];
				out->buf[out->len] = '\0';
			}
			continue;
		}
		starts[depth++] = out->len;
		strbuf_addch(out, '/');
		strbuf_addstr(out, seg);
	}
	if (!out->len)
		strbuf_addch(out, '/');
	free(starts);
	free(copy);
}

static char *resolve_path(const char *spec, const char *path)
{
	struct strbuf raw = STRBUF_INIT, out = STRBUF_INIT;
	const char *slash;

	if (path[0] != '/') {
		if (spec[0] != '/') {
			char cwd[4096];
			if (getcwd(cwd, sizeof(cwd)))
				strbuf_addstr(&raw, cwd);
			strbuf_addch(&raw, '/');
		}
		slash = strrchr(spec, '/');
		if (slash)
			strbuf_add(&raw, spec, (size_t)(slash - spec));
		strbuf_addch(&raw, '/');
	}
	strbuf_addstr(&raw, path);
	normalise_into(&out, raw.buf);
	strbuf_release(&raw);
	return strbuf_detach(&out, NULL);
}

static int path_exists(const char *path)
{
	struct stat st;
	return !stat(path, &st);
}

/*
 * The file a path is relative to: where it was written, an included file's folder for a path written
 * there, the working folder for an override's (its position names the argument, no file), else the spec.
 */
static const char *folder_of(const struct experiment *e, struct src_pos pos)
{
	size_t i;

	for (i = 1; pos.file && i < e->nr_sources; i++)
		if (pos.file == e->sources[i].name)
			return e->sources[i].text ? "." : pos.file;
	return e->file;
}

/* Resolve *path in place; 0 if it exists, -1 (with *path resolved anyway) if not. */
static int resolve_existing(const char *spec, char **path)
{
	char *r = resolve_path(spec, *path);
	free(*path);
	*path = r;
	return path_exists(r) ? 0 : -1;
}

static void unknown_value(struct diag *d, struct src_pos pos, const char *what, const char *s,
			  const char *const *names, size_t n)
{
	const char *near[1];
	if (suggest_nearest(s, names, n, near, 1))
		diag_error(d, pos, "unknown %s '%s'; did you mean '%s'?", what, s, near[0]);
	else
		diag_error(d, pos, "unknown %s '%s'", what, s);
}

static const struct exp_model *find_model(const struct experiment *e, const char *name)
{
	size_t i;
	for (i = 0; i < e->nr_models; i++)
		if (e->models[i].name && !strcmp(e->models[i].name, name))
			return &e->models[i];
	return NULL;
}

static const struct exp_layer *find_layer(const struct exp_model *m, const char *name)
{
	size_t i;
	for (i = 0; i < m->nr_layers; i++)
		if (m->layers[i].name && !strcmp(m->layers[i].name, name))
			return &m->layers[i];
	return NULL;
}

/* The file's name without folder and extension: a model's or an experiment's default name. */
static char *stem(const char *path)
{
	const char *base = strrchr(path, '/'), *dot;
	base = base ? base + 1 : path;
	dot = strrchr(base, '.');
	return dot && dot != base ? xstrndup(base, (size_t)(dot - base)) : xstrdup(base);
}

/* where a key was written, or else dflt (the key was not written: its owner's position) */
static struct src_pos pos_or(struct src_pos pos, struct src_pos dflt)
{
	return pos.line ? pos : dflt;
}

/* A whole number from 1 to 65536 spelled by the whole of s, else 0. */
static int grid_side(const char *s, size_t len)
{
	size_t i;
	int v = 0;

	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9' || v > 65536)
			return 0;
		v = v * 10 + (s[i] - '0');
	}
	return v <= 65536 ? v : 0;
}

/*
 * A layer's token keys: prefix_tokens not given becomes -1 (detect), and grid ([h, w], "h, w" or "hxw")
 * becomes grid_h x grid_w; both only mean something for tokens, so another layout is an error.
 */
static void check_layer_tokens(struct diag *d, struct exp_layer *l)
{
	if (!l->prefix_tokens_pos.line)
		l->prefix_tokens = -1;
	if (l->nr_grid == 2 && l->grid[0].name && l->grid[1].name) {
		l->grid_h = grid_side(l->grid[0].name, strlen(l->grid[0].name));
		l->grid_w = grid_side(l->grid[1].name, strlen(l->grid[1].name));
	} else if (l->nr_grid == 1 && l->grid[0].name) {
		const char *s = l->grid[0].name, *x = strchr(s, 'x');
		if (x) {
			l->grid_h = grid_side(s, (size_t)(x - s));
			l->grid_w = grid_side(x + 1, strlen(x + 1));
		}
	}
	if (l->nr_grid && (!l->grid_h || !l->grid_w)) {
		diag_error(d, l->grid_pos, "bad 'grid' for layer '%s': expected [h, w] (two whole numbers from 1)",
			   l->name ? l->name : "?");
		l->grid_h = l->grid_w = 0;
	}
	if ((l->prefix_tokens_pos.line || l->nr_grid) && l->layout && strcmp(l->layout, "auto") &&
	    strcmp(l->layout, "bnc"))
		diag_error(d, l->prefix_tokens_pos.line ? l->prefix_tokens_pos : l->grid_pos,
			   "layer '%s' has layout '%s': 'prefix_tokens' and 'grid' are for tokens (layout bnc)",
			   l->name ? l->name : "?", l->layout);
}

/*
 * A fused layer (experiment.h: its paths joined by ','): 2 to CAM_MULTI_MAX module paths, none empty
 * and none twice; the token keys describe one layer's tokens, so they are not for a fused one.
 */
static void check_fused_layer(struct diag *d, const struct exp_layer *l)
{
	size_t n = cam_layer_count(l->path), i, j;
	const char *name = l->name ? l->name : l->path;
	char a[512], b[512];

	if (n > CAM_MULTI_MAX)
		diag_error(d, l->pos, "fused layer '%s' names %zu module paths; at most %d", name, n,
			   CAM_MULTI_MAX);
	for (i = 0; i < n && i < CAM_MULTI_MAX; i++) {
		if (cam_layer_nth(l->path, i, a, sizeof(a)) <= 0) {
			diag_error(d, l->pos, "fused layer '%s' has an empty module path (path %zu of '%s')", name,
				   i + 1, l->path);
			continue;
		}
		for (j = 0; j < i; j++)
			if (cam_layer_nth(l->path, j, b, sizeof(b)) >= 0 && !strcmp(a, b)) {
				diag_error(d, l->pos, "fused layer '%s' names '%s' twice", name, a);
				break;
			}
	}
	if (l->prefix_tokens_pos.line || l->nr_grid)
		diag_error(d, l->prefix_tokens_pos.line ? l->prefix_tokens_pos : l->grid_pos,
			   "fused layer '%s': 'prefix_tokens' and 'grid' describe one layer's tokens, not a "
			   "fused layer's",
			   name);
}

static void check_models(struct experiment *e, struct diag *d)
{
	struct src_pos nowhere = { e->file, 0, 0 };
	size_t i, j, k;

	if (!e->nr_models)
		diag_error(d, nowhere, "no models: the spec needs a 'models' list");
	for (i = 0; i < e->nr_models; i++) {
		struct exp_model *m = &e->models[i];
		if (!m->file) {
			diag_error(d, m->pos, "model %zu has no 'file'", i + 1);
		} else {
			char *written = xstrdup(m->file);
			if (!m->name)
				m->name = stem(m->file);
			if (resolve_existing(folder_of(e, m->pos), &m->file) < 0)
				diag_error(d, m->pos, "model file '%s' not found", written);
			free(written);
		}
		if (m->name && !*m->name)
			diag_error(d, pos_or(m->name_pos, m->pos), "empty model name");
		if (m->classes) {
			char *written = xstrdup(m->classes);
			if (resolve_existing(folder_of(e, m->classes_pos), &m->classes) < 0)
				diag_error(d, pos_or(m->classes_pos, m->pos), "classes file '%s' not found",
					   written);
			free(written);
		}
		if (m->input_size < -1)
			diag_error(d, m->pos, "bad input_size %d: a size in pixels, or 0 for none", m->input_size);
		if (m->resize < -1)
			diag_error(d, m->pos, "bad resize %d: a size in pixels, or 0 for none", m->resize);
		/* the front ends refuse infinities and NaNs; an infinite std is refused here too */
		for (k = 0; m->have_std && k < 3; k++)
			if (!(m->std[k] > 0) || !isfinite(m->std[k])) {
				diag_error(d, pos_or(m->std_pos, m->pos), "bad std: every value must be > 0");
				break;
			}
		for (k = 0; m->have_mean && k < 3; k++)
			if (!isfinite(m->mean[k])) {
				diag_error(d, m->pos, "bad mean: every value must be a finite number");
				break;
			}
		for (j = 0; j < i && m->name; j++)
			if (e->models[j].name && !strcmp(e->models[j].name, m->name)) {
				diag_error(d, pos_or(m->name_pos, m->pos), "duplicate model name '%s'",
					   m->name);
				break;
			}
		if (!m->nr_layers)
			diag_error(d, m->pos, "model '%s' has no layers: name at least one under 'layers'",
				   m->name ? m->name : "?");
		for (j = 0; j < m->nr_layers; j++) {
			struct exp_layer *l = &m->layers[j];
			if (!l->path || !*l->path)
				diag_error(d, l->pos, "layer '%s' has no module path", l->name ? l->name : "?");
			if (!l->name)
				l->name = xstrdup(l->path ? l->path : "");
			if (!l->layout)
				l->layout = xstrdup("auto");
			else if (!exp_one_of(l->layout, exp_layouts, ARRAY_SIZE(exp_layouts)))
				unknown_value(d, l->pos, "layout", l->layout, exp_layouts, ARRAY_SIZE(exp_layouts));
			check_layer_tokens(d, l);
			if (l->path && strchr(l->path, ','))
				check_fused_layer(d, l);
			for (k = 0; k < j; k++)
				if (m->layers[k].name && !strcmp(m->layers[k].name, l->name)) {
					diag_error(d, l->pos, "duplicate layer name '%s' in model '%s'", l->name,
						   m->name ? m->name : "?");
					break;
				}
		}
	}
}

/* The module path of a layer that a and b share (with its layout), or NULL. */
static const char *shared_layer(const struct exp_model *a, const struct exp_model *b)
{
	size_t i, j;

	for (i = 0; i < a->nr_layers; i++)
		for (j = 0; j < b->nr_layers; j++)
			if (a->layers[i].path && b->layers[j].path &&
			    !strcmp(a->layers[i].path, b->layers[j].path) &&
			    !strcmp(a->layers[i].layout, b->layers[j].layout))
				return a->layers[i].path;
	return NULL;
}

static int same_string(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

/* Whether a and b give their runs the same keys (interp/plan.c), their layers aside. */
static int same_preprocessing(const struct exp_model *a, const struct exp_model *b)
{
	int k;

	if (a->input_size != b->input_size || a->resize != b->resize || a->have_mean != b->have_mean ||
	    a->have_std != b->have_std || !same_string(a->classes, b->classes))
		return 0;
	for (k = 0; k < 3; k++)
		if ((a->have_mean && a->mean[k] != b->mean[k]) || (a->have_std && a->std[k] != b->std[k]))
			return 0;
	return 1;
}

/*
 * Two entries of one model file with one preprocessing give a layer they share the same run keys, so
 * their runs are one: the database keeps the first entry's, under its name, and the second's name never
 * shows. Comparing files by path, not content, misses copies of a file, which is only a missed warning.
 * Run after check_models, which resolves the paths and fills in the exp_layouts. Not after an error: a value
 * refused (a NaN mean) reads as one not given, so that models would look alike that are not, and a spec
 * with errors runs nothing anyway.
 */
static void check_model_twins(const struct experiment *e, struct diag *d)
{
	size_t i, j;

	if (d->errors)
		return;

	for (i = 1; i < e->nr_models; i++) {
		const struct exp_model *m = &e->models[i];
		if (!m->file || !m->name || !path_exists(m->file))
			continue;
		for (j = 0; j < i; j++) {
			const struct exp_model *first = &e->models[j];
			const char *layer;
			if (!first->file || !first->name || strcmp(first->file, m->file) ||
			    !strcmp(first->name, m->name) || !same_preprocessing(first, m) ||
			    !(layer = shared_layer(first, m)))
				continue;
			diag_warning(d, m->pos,
				     "models '%s' and '%s' are the same network with the same preprocessing: "
				     "their runs at '%s' are the same runs, stored under '%s'",
				     first->name, m->name, layer, first->name);
			break;
		}
	}
}

static void check_data(struct experiment *e, struct diag *d)
{
	struct exp_data *dt = &e->data;
	struct src_pos pos = dt->pos;
	char *written;

	if (!pos.file)
		pos.file = e->file;
	if (!dt->path) {
		diag_error(d, pos, "no data: the spec needs 'data' with a 'path'");
		return;
	}
	written = xstrdup(dt->path);
	if (resolve_existing(folder_of(e, dt->pos), &dt->path) < 0)
		diag_error(d, pos, "data path '%s' not found", written);
	free(written);
	if (dt->labels) {
		written = xstrdup(dt->labels);
		if (resolve_existing(folder_of(e, dt->labels_pos), &dt->labels) < 0)
			diag_error(d, pos_or(dt->labels_pos, pos), "labels file '%s' not found", written);
		free(written);
	}
}

static void check_excludes(struct experiment *e, struct diag *d)
{
	size_t i, j, k;

	for (i = 0; i < e->nr_excludes; i++) {
		struct exp_exclude *x = &e->excludes[i];
		const struct exp_model *m = NULL;

		if (!x->model && !x->layer && !x->method && !x->utility && !x->target) {
			diag_error(d, x->pos, "exclude names no dimension: it would leave out every run");
			continue;
		}
		if (x->model && !(m = find_model(e, x->model))) {
			const char **cands = xcalloc(e->nr_models + 1, sizeof(char *));
			const char *near[1];
			size_t n = 0;
			for (j = 0; j < e->nr_models; j++)
				if (e->models[j].name)
					cands[n++] = e->models[j].name;
			if (suggest_nearest(x->model, cands, n, near, 1))
				diag_error(d, x->pos, "exclude: unknown model '%s'; did you mean '%s'?", x->model,
					   near[0]);
			else
				diag_error(d, x->pos, "exclude: unknown model '%s'", x->model);
			free(cands);
		}
		if (x->layer) {
			int found = 0;
			size_t n = 0;
			const char **cands;
			const char *near[1];
			for (j = 0; j < e->nr_models; j++)
				if (!m || m == &e->models[j]) {
					found |= find_layer(&e->models[j], x->layer) != NULL;
					n += e->models[j].nr_layers;
				}
			if (!found) {
				cands = xcalloc(n + 1, sizeof(char *));
				n = 0;
				for (j = 0; j < e->nr_models; j++)
					for (k = 0; (!m || m == &e->models[j]) && k < e->models[j].nr_layers; k++)
						if (e->models[j].layers[k].name)
							cands[n++] = e->models[j].layers[k].name;
				if (suggest_nearest(x->layer, cands, n, near, 1))
					diag_error(d, x->pos, "exclude: unknown layer '%s'; did you mean '%s'?",
						   x->layer, near[0]);
				else
					diag_error(d, x->pos, "exclude: unknown layer '%s'", x->layer);
				free(cands);
			}
		}
		if (x->method)
			exp_check_exclude_name(e, d, x->pos, &exp_kind_method, &x->method, e->methods, e->nr_methods);
		if (x->utility)
			exp_check_exclude_name(e, d, x->pos, &exp_kind_utility, &x->utility, e->utilities,
					   e->nr_utilities);
		if (x->target) {
			const char *why;
			char *c = exp_canonical_target(x->target, &why);
			if (!c || !exp_in_names(e->targets, e->nr_targets, c))
				diag_error(d, x->pos, "exclude: target '%s' is not in targets", x->target);
			if (c) {
				free(x->target);
				x->target = c;
			}
		}
	}
}

/* Whether an exclude leaves out every run of model m, layer l and method (any utility and target). */
static int excluded(const struct experiment *e, const struct exp_model *m, const struct exp_layer *l,
		    const char *method)
{
	size_t i;

	for (i = 0; i < e->nr_excludes; i++) {
		const struct exp_exclude *x = &e->excludes[i];
		if ((x->model || x->layer || x->method) && !x->utility && !x->target &&
		    (!x->model || (m->name && !strcmp(x->model, m->name))) &&
		    (!x->layer || (l->name && !strcmp(x->layer, l->name))) &&
		    (!x->method || !strcmp(x->method, method)))
			return 1;
	}
	return 0;
}

/* Whether the spec's methods name "all" (before exp_check_names expands it), and where. */
static int methods_name_all(const struct experiment *e, struct src_pos *pos)
{
	size_t i;

	for (i = 0; i < e->nr_methods; i++)
		if (e->methods[i].name && !strcasecmp(e->methods[i].name, "all")) {
			*pos = e->methods[i].pos;
			return 1;
		}
	return 0;
}

/*
 * A layer the spec declares to be tokens (layout bnc, or the token keys given): its activations are
 * (tokens, channels), and what follows a ViT block is more than pooling and a linear head.
 */
static int token_layer(const struct exp_layer *l)
{
	return (l->layout && !strcmp(l->layout, "bnc")) || l->prefix_tokens_pos.line || l->nr_grid;
}

static int has_method(const struct experiment *e, int id)
{
	size_t i;

	for (i = 0; i < e->nr_methods; i++)
		if (e->methods[i].name && e->methods[i].id == id)
			return 1;
	return 0;
}

/*
 * "all" as explain's --method all has it, layer by layer: refinecam (which exp_check_names put in only
 * where the grid has a fused layer) at the fused layers alone, and cam (undefined where more than
 * pooling and a linear head follows the layer) not at the token layers the spec declares, with a note.
 * The pairs left out become excludes, so that the grid, the plan and the canonical text all show them.
 */
static void all_per_layer(struct experiment *e, struct diag *d, struct src_pos pos)
{
	int refine = has_method(e, CAM_REFINECAM), cam = has_method(e, CAM_CAM);
	size_t i, j;

	for (i = 0; i < e->nr_models; i++)
		for (j = 0; j < e->models[i].nr_layers; j++) {
			const struct exp_model *m = &e->models[i];
			const struct exp_layer *l = &m->layers[j];
			if (!m->name || !l->name || !l->path)
				continue;
			if (refine && !strchr(l->path, ',') && !excluded(e, m, l, "refinecam"))
				exp_leave_out(e, m->name, l->name, "refinecam", pos);
			if (cam && token_layer(l) && !excluded(e, m, l, "cam")) {
				exp_leave_out(e, m->name, l->name, "cam", pos);
				diag_warning(d, pos,
					     "all leaves out cam at layer '%s' of model '%s': cam needs a "
					     "linear head on pooled channels, and a token layer (layout bnc) feeds "
					     "the blocks above it, not pooling and a linear head",
					     l->name, m->name);
			}
		}
}

/*
 * CAM weighs channels with the head's weights, which only means something where the layer's channels
 * are pooled straight into the linear head: a token layer's are not (a ViT block's feed the blocks
 * above). Said at the method for a layer the spec declares as tokens; for one whose layout is found
 * when the model is loaded, check --models says it.
 */
static void check_cam_tokens(struct experiment *e, struct diag *d)
{
	size_t i, j, k;

	for (k = 0; k < e->nr_methods; k++) {
		const struct exp_name *me = &e->methods[k];
		if (!me->name || me->id != CAM_CAM)
			continue;
		for (i = 0; i < e->nr_models; i++)
			for (j = 0; j < e->models[i].nr_layers; j++) {
				const struct exp_model *m = &e->models[i];
				const struct exp_layer *l = &m->layers[j];
				if (!l->path || !token_layer(l) || excluded(e, m, l, me->name))
					continue;
				diag_error(d, me->pos,
					   "method 'cam' needs a linear head on pooled channels, and layer '%s' of "
					   "model '%s' is a token layer (layout bnc), which feeds the blocks above "
					   "it: use gradcam with the logit utility, or leave the pair out (grid: "
					   "exclude: [{layer: %s, method: cam}])",
					   l->name ? l->name : "?", m->name ? m->name : "?", l->name ? l->name : "?");
			}
	}
}

/*
 * RefineCAM multiplies the maps of several layers (cam/multilayer.h): every layer of the grid it meets
 * must be a fused one, or be excluded for it. Said at the method, naming the layer.
 */
static void check_refinecam(struct experiment *e, struct diag *d)
{
	int zipped = (e->zip & (1u << EXP_LAYER)) && (e->zip & (1u << EXP_METHOD));
	size_t i, j, k;

	for (k = 0; k < e->nr_methods; k++) {
		const struct exp_name *me = &e->methods[k];
		if (!me->name || me->id != CAM_REFINECAM)
			continue;
		for (i = 0; i < e->nr_models; i++)
			for (j = 0; j < e->models[i].nr_layers; j++) {
				const struct exp_model *m = &e->models[i];
				const struct exp_layer *l = &m->layers[j];
				if ((zipped && j != k) || !l->path || strchr(l->path, ',') ||
				    excluded(e, m, l, me->name))
					continue;
				diag_error(d, me->pos,
					   "method 'refinecam' needs a fused layer (a list of module paths, "
					   "e.g. fused: [layer3, layer4]); layer '%s' of model '%s' is one module "
					   "('%s'): fuse it with another, or leave it out (grid: exclude: "
					   "[{layer: %s, method: refinecam}])",
					   l->name ? l->name : "?", m->name ? m->name : "?", l->path,
					   l->name ? l->name : "?");
			}
	}
}

/*
 * Shapley fidelity (cam/fidelity.h) and the sanity check (cam/sanity.h) are defined at one layer's
 * activations: at a fused layer they would silently read the first layer's alone. Said at the metric,
 * naming the first fused layer.
 */
static void check_fused_metrics(struct experiment *e, struct diag *d)
{
	const struct exp_model *m = NULL;
	const struct exp_layer *l = NULL;
	size_t i, j, k;

	for (i = 0; i < e->nr_models && !l; i++)
		for (j = 0; j < e->models[i].nr_layers && !l; j++)
			if (e->models[i].layers[j].path && strchr(e->models[i].layers[j].path, ',')) {
				m = &e->models[i];
				l = &m->layers[j];
			}
	for (k = 0; l && k < e->nr_metrics; k++) {
		const struct exp_name *me = &e->metrics[k];
		if (me->name && (me->id == METRIC_FIDELITY || me->id == METRIC_SANITY))
			diag_error(d, me->pos,
				   "metric '%s' is defined at one layer's activations; layer '%s' of model '%s' "
				   "fuses several ('%s'): run it in a spec without the fused layer",
				   metric_names[me->id], l->name ? l->name : "?", m->name ? m->name : "?", l->path);
	}
}

/* A position for a zip error: the first value of the dimension whose length disagrees. */
static struct src_pos dim_pos(const struct experiment *e, enum exp_dim dim)
{
	struct src_pos nowhere = { e->file, 0, 0 };
	switch (dim) {
	case EXP_MODEL:
		return e->nr_models ? e->models[0].pos : nowhere;
	case EXP_LAYER:
		return e->nr_models && e->models[0].nr_layers ? e->models[0].layers[0].pos : nowhere;
	case EXP_METHOD:
		return e->nr_methods ? e->methods[0].pos : nowhere;
	case EXP_UTILITY:
		return e->nr_utilities ? e->utilities[0].pos : nowhere;
	case EXP_TARGET:
		return e->nr_targets ? e->targets[0].pos : nowhere;
	default:
		return nowhere;
	}
}

static void check_zip(struct experiment *e, struct diag *d)
{
	size_t len[EXP_NR_DIMS] = { 0 };
	int dim, first = -1, nr = 0;
	size_t i;

	if (!e->zip)
		return;
	len[EXP_MODEL] = e->nr_models;
	len[EXP_METHOD] = e->nr_methods;
	len[EXP_UTILITY] = e->nr_utilities;
	len[EXP_TARGET] = e->nr_targets;
	if (e->nr_models)
		len[EXP_LAYER] = e->models[0].nr_layers;
	if (e->zip & (1u << EXP_LAYER))
		for (i = 1; i < e->nr_models; i++)
			if (e->models[i].nr_layers != len[EXP_LAYER]) {
				diag_error(d, e->models[i].pos,
					   "zip: model '%s' has %zu layers, model '%s' %zu; zipped layers need "
					   "the same number in every model",
					   e->models[i].name ? e->models[i].name : "?", e->models[i].nr_layers,
					   e->models[0].name ? e->models[0].name : "?", len[EXP_LAYER]);
				break;
			}
	for (dim = 0; dim < EXP_NR_DIMS; dim++) {
		if (!(e->zip & (1u << dim)))
			continue;
		nr++;
		if (first < 0) {
			first = dim;
			continue;
		}
		if (len[dim] != len[first])
			diag_error(d, dim_pos(e, (enum exp_dim)dim), "zip: %s has %zu value%s, %s %zu",
				   exp_dim_plurals[first], len[first], len[first] == 1 ? "" : "s", exp_dim_plurals[dim],
				   len[dim]);
	}
	if (e->zip >> EXP_NR_DIMS)
		diag_error(d, (struct src_pos){ e->file, 0, 0 }, "zip: unknown dimension bits 0x%x", e->zip);
	else if (nr == 1)
		diag_warning(d, (struct src_pos){ e->file, 0, 0 }, "zip: only '%s' given; zip needs two dimensions",
			     exp_dim_names[first]);
}

static void check_outputs(struct experiment *e, struct diag *d)
{
	struct src_pos nowhere = { e->file, 0, 0 };
	size_t i;

	if (!e->device || !experiment_valid_device(e->device))
		diag_error(d, pos_or(e->device_pos, nowhere), "bad device '%s': use cpu, cuda or cuda:N",
			   e->device ? e->device : "");
	if (e->batch == EXP_BATCH_UNSET)
		e->batch = e->device && !strncmp(e->device, "cuda", 4) ? EXP_BATCH_AUTO : 8;
	if (e->batch < 0)
		diag_error(d, nowhere, "bad batch %d: images per batch must be > 0", e->batch);
	if (!experiment_valid_precision(e->precision))
		unknown_value(d, nowhere, "precision", e->precision ? e->precision : "", model_precision_names,
			      TS_PRECISION_NR);
	else if (!strcmp(e->precision, "fp16") && e->device && strncmp(e->device, "cuda", 4))
		diag_error(d, pos_or(e->precision_pos, nowhere),
			   "precision fp16 needs a CUDA device; on '%s' use bf16", e->device);
	else if (!strcmp(e->precision, "tf32") && e->device && strncmp(e->device, "cuda", 4))
		diag_error(d, pos_or(e->precision_pos, nowhere),
			   "precision tf32 needs a CUDA device; on '%s' use fp32 or bf16", e->device);
	for (i = 0; i < e->nr_table_formats; i++)
		if (!exp_one_of(e->table_formats[i], exp_table_formats, ARRAY_SIZE(exp_table_formats)))
			unknown_value(d, nowhere, "table format", e->table_formats[i], exp_table_formats,
				      ARRAY_SIZE(exp_table_formats));
	for (i = 0; i < e->nr_figures; i++) {
		struct exp_figure *f = &e->figures[i];
		if (!f->image || !*f->image)
			diag_error(d, f->pos, "figure %zu has no 'image'", i + 1);
		if (!f->by)
			f->by = xstrdup("method");
		else if (!exp_one_of(f->by, exp_figure_by, ARRAY_SIZE(exp_figure_by)))
			unknown_value(d, f->pos, "figure 'by'", f->by, exp_figure_by, ARRAY_SIZE(exp_figure_by));
	}
}

/*
 * Names go into log lines, file names, the results database and the report: a control character (a
 * newline, an escape sequence) would forge or garble their lines, so no name may hold one. Returns 1 if
 * name has one, after an error at pos that shows the name up to it.
 */
static int control_in_name(struct diag *d, struct src_pos pos, const char *what, const char *name)
{
	const char *p;

	if (!name)
		return 0;
	for (p = name; *p && (unsigned char)*p >= 0x20 && *p != 0x7f; p++)
		;
	if (!*p)
		return 0;
	diag_error(d, pos, "bad %s name '%.*s...': it holds a control character (byte 0x%02x), which names "
			   "cannot",
		   what, (int)(p - name), name, (unsigned)(unsigned char)*p);
	return 1;
}

static void check_control_names(const struct experiment *e, struct diag *d, struct src_pos nowhere)
{
	size_t i, j;

	for (i = 0; i < e->nr_models; i++) {
		const struct exp_model *m = &e->models[i];
		control_in_name(d, pos_or(m->name_pos, m->pos), "model", m->name);
		for (j = 0; j < m->nr_layers; j++)
			control_in_name(d, pos_or(m->layers[j].pos, m->pos), "layer", m->layers[j].name);
	}
	/* methods, utilities and metrics must be built-in or defined names, and their errors escape them */
	for (i = 0; i < e->nr_targets; i++)
		control_in_name(d, pos_or(e->targets[i].pos, nowhere), "target", e->targets[i].name);
	for (i = 0; i < e->nr_defs; i++)
		control_in_name(d, pos_or(e->defs[i].pos, nowhere), "definition", e->defs[i].name);
}

/* statistics.alpha: a number strictly between 0 and 1 (a level of the test and of the intervals). */
static void check_statistics(struct experiment *e, struct diag *d)
{
	struct exp_statistics *st = &e->statistics;
	char *end = NULL;
	double a;

	if (!st->on)
		return;
	a = st->alpha ? strtod(st->alpha, &end) : NAN;
	if (!st->alpha || end == st->alpha || *end || !(a > 0 && a < 1))
		diag_error(
			d, pos_or(st->alpha_pos, st->pos),
			"bad 'alpha' '%s' in 'statistics': expected a number between 0 and 1, such as 0.05",
			st->alpha ? st->alpha : "null");
	else
		st->alpha_value = a;
}

/*
 * FullGrad reads every bias of the network, not the layer a run names: its runs at several layers of a
 * model compute the same maps, which a grid over layers would repeat and a table would show as equal
 * rows. Said once per model, not an error: the layer is still the grid's.
 */
static void check_fullgrad_layers(const struct experiment *e, struct diag *d)
{
	size_t i, m;

	for (i = 0; i < e->nr_methods; i++) {
		if (e->methods[i].id != CAM_FULLGRAD)
			continue;
		for (m = 0; m < e->nr_models; m++)
			if (e->models[m].nr_layers > 1)
				diag_warning(d, e->methods[i].pos,
					     "method 'fullgrad' reads the whole network, not a layer: its runs at "
					     "the %zu layers of model '%s' compute the same maps",
					     e->models[m].nr_layers, e->models[m].name);
	}
}

int experiment_validate(struct experiment *e, struct diag *d)
{
	struct src_pos nowhere = { NULL, 0, 0 };
	struct src_pos all_pos = { NULL, 0, 0 };
	int before = d->errors, all;
	size_t i;

	if (!e->file)
		e->file = xstrdup("spec");
	nowhere.file = e->file;
	if (!e->name)
		e->name = stem(e->file);
	/* the name becomes the default output folder, and names files: it must stay one path component */
	check_control_names(e, d, nowhere);
	if (control_in_name(d, pos_or(e->name_pos, nowhere), "experiment", e->name))
		; /* said */
	else if (!*e->name)
		diag_error(d, pos_or(e->name_pos, nowhere), "empty experiment name");
	else if (strchr(e->name, '/') || !strcmp(e->name, ".") || !strcmp(e->name, ".."))
		diag_error(d, pos_or(e->name_pos, nowhere),
			   "bad experiment name '%s': it names a folder and files, so it cannot contain '/' "
			   "or be '.' or '..'",
			   e->name);
	if (e->output && !*e->output)
		diag_error(d, pos_or(e->output_pos, nowhere),
			   "empty output folder: give a path, or leave 'output' out for out/<name> beside "
			   "the spec");
	if (!e->output) {
		struct strbuf sb = STRBUF_INIT;
		strbuf_addf(&sb, "out/%s", e->name);
		e->output = strbuf_detach(&sb, NULL);
	}
	{
		char *r = resolve_path(folder_of(e, e->output_pos), e->output);
		free(e->output);
		e->output = r;
	}
	exp_check_defs(e, d);
	check_models(e, d);
	check_model_twins(e, d);
	check_data(e, d);
	all = methods_name_all(e, &all_pos);
	e->methods_all = all;
	e->methods_all_pos = all_pos;
	exp_check_names(e, d, &exp_kind_method, &e->methods, &e->nr_methods);
	check_fullgrad_layers(e, d);
	exp_check_names(e, d, &exp_kind_utility, &e->utilities, &e->nr_utilities);
	exp_check_names(e, d, &exp_kind_metric, &e->metrics, &e->nr_metrics);
	e->metric_mask = 0;
	for (i = 0; i < e->nr_metrics; i++)
		if (e->metrics[i].name && e->metrics[i].id >= 0)
			e->metric_mask |= 1u << e->metrics[i].id;
	exp_check_targets(e, d);
	check_excludes(e, d);
	check_zip(e, d);
	if (all)
		all_per_layer(e, d, all_pos);
	check_refinecam(e, d);
	check_cam_tokens(e, d);
	check_fused_metrics(e, d);
	check_outputs(e, d);
	check_statistics(e, d);
	exp_check_ablations(e, d);
	return d->errors > before ? -1 : 0;
}
