/*
 * preflight.c - a spec's models checked on one real image before anything long starts. `check` reads
 * only the spec, so a layer path with a typo, a Swin layer given the wrong layout or a class name the
 * model lacks used to show only when `run` reached that model, or in a Slurm job hours after `submit`.
 */
#include "interp/preflight.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cam/batch.h"
#include "cam/dataset.h"
#include "cam/methods.h"
#include "cam/model.h"
#include "cam/multilayer.h"
#include "cam/utility.h"
#include "dsl/names.h"
#include "interp/run.h"
#include "lib/error.h"
#include "lib/strbuf.h"
#include "lib/xalloc.h"

/*
 * Settle one step's messages, captured in cap: warnings and notes go to stderr now; when the step
 * failed, its last error (or the shim's, where it printed none) becomes an error in d at pos, after
 * `what` (the model it concerns). Returns -1 when the step failed, else 0.
 */
static int settle(struct diag *d, struct src_pos pos, struct strbuf *cap, const char *what, int failed)
{
	const char *line, *err = NULL;
	size_t len;

	if (failed) /* the last error is why the step failed */
		for (line = cap->buf; *line; line += len + (line[len] == '\n')) {
			len = strcspn(line, "\n");
			if (!strncmp(line, "error: ", 7))
				err = line;
		}
	/* the rest (warnings, notes, an unreadable image's error) as it would have been printed */
	for (line = cap->buf; *line; line += len + (line[len] == '\n')) {
		len = strcspn(line, "\n");
		if (line != err)
			fprintf(stderr, "%.*s\n", (int)len, line);
	}
	if (err)
		diag_error(d, pos, "%s: %.*s", what, (int)strcspn(err + 7, "\n"), err + 7);
	else if (failed)
		diag_error(d, pos, "%s: %s", what, ts_error());
	strbuf_reset(cap);
	return failed ? -1 : 0;
}

static long lookup_class(const char *name, void *ud)
{
	return model_class_index(ud, name);
}

#define ANY ((size_t)-1)

/* Does p have a run of model mi, and of layer li, target ti and method `method` where given (ANY, NULL)? */
static int plan_has(const struct plan *p, size_t mi, size_t li, size_t ti, const char *method)
{
	size_t i;
	for (i = 0; i < p->nr; i++) {
		const struct plan_run *r = &p->runs[i];
		if (r->model == mi && (li == ANY || r->layer == li) && (ti == ANY || r->target == ti) &&
		    (!method || !strcmp(p->e->methods[r->method].name, method)))
			return 1;
	}
	return 0;
}

struct check {
	const struct experiment *e;
	const struct plan *p;
	struct diag *d;
	FILE *fp;
	struct strbuf cap; /* this thread's error() and warning() lines, until settled */
	char what[256];	   /* "model 'NAME'", for messages */
};

/*
 * One cut of layer li of the loaded model m (at lpath, its path or one of a fused layer's): cut, A from
 * the image x, logits. Returns the number of classes or -1.
 */
static int64_t check_cut(struct check *c, size_t mi, size_t li, const char *lpath, struct model *m,
			 const ts_tensor *fc, const ts_tensor *x)
{
	const struct exp_layer *el = &c->e->models[mi].layers[li];
	enum ts_layout layout;
	ts_split *split = NULL;
	ts_carry *carry = NULL;
	ts_tensor *a = NULL, *logits = NULL;
	int64_t k = -1;
	int failed;

	failed = model_layout_parse(el->layout ? el->layout : "auto", &layout) < 0 ||
		 model_split(m, lpath, layout, &split) < 0;
	if (settle(c->d, el->pos, &c->cap, c->what, failed) < 0)
		return -1;
	failed = ts_split_prefix(split, x, &carry, &a) < 0 || !(logits = ts_split_suffix(split, carry, a));
	if (settle(c->d, el->pos, &c->cap, c->what, failed) < 0)
		goto out;
	if (ts_dim(logits) != 2) {
		diag_error(c->d, el->pos, "%s: its output has %d dimensions, not (images, classes) logits",
			   c->what, ts_dim(logits));
		goto out;
	}
	k = ts_size(logits, 1);
	if (c->fp) {
		int i;
		const char *path = model_layer_path(m, lpath);
		fprintf(c->fp, "  layer '%s'", el->name);
		if (strcmp(el->name, path))
			fprintf(c->fp, " (%s)", path);
		fprintf(c->fp, ": A ");
		for (i = 1; i < ts_dim(a); i++)
			fprintf(c->fp, "%s%ld", i > 1 ? "x" : "", (long)ts_size(a, i));
		fputc('\n', c->fp);
	}
	if (plan_has(c->p, mi, li, ANY, "cam")) {
		char what[sizeof(c->what) + 64];
		size_t j;
		for (j = 0; j < c->e->nr_methods && strcmp(c->e->methods[j].name, "cam"); j++)
			;
		snprintf(what, sizeof(what), "%s, layer '%s'", c->what, el->name);
		failed = cam_head_check(split, fc, ts_size(a, 1)) < 0;
		settle(c->d, c->e->methods[j].pos, &c->cap, what, failed);
	}
out:
	ts_free(logits);
	ts_free(a);
	ts_carry_free(carry);
	ts_split_free(split);
	return k;
}

/* Layer li of the loaded model m: each of its cuts (cam/multilayer.h). The number of classes or -1. */
static int64_t check_layer(struct check *c, size_t mi, size_t li, struct model *m, const ts_tensor *fc,
			   const ts_tensor *x)
{
	const char *paths = c->e->models[mi].layers[li].path;
	size_t i, n = cam_layer_count(paths);
	char one[1024];
	int64_t k = -1;

	if (n == 1)
		return check_cut(c, mi, li, paths, m, fc, x);
	for (i = 0; i < n && i < CAM_MULTI_MAX; i++) {
		cam_layer_nth(paths, i, one, sizeof(one));
		if ((k = check_cut(c, mi, li, one, m, fc, x)) < 0)
			return -1;
	}
	return k;
}

/* Every target p pairs with model mi, against its k classes and class names. */
static void check_targets(struct check *c, size_t mi, struct model *m, int64_t k)
{
	size_t t;

	for (t = 0; t < c->e->nr_targets; t++) {
		struct target_policy tp;
		int topk = 0, failed;
		if (!plan_has(c->p, mi, ANY, t, NULL))
			continue;
		failed = target_parse(c->e->targets[t].name, lookup_class, m, &tp, &topk) < 0;
		if (!failed && topk) { /* its deepest rank */
			tp.kind = TARGET_TOPK;
			tp.index = topk;
		}
		failed = failed || target_fits(&tp, k) < 0;
		settle(c->d, c->e->targets[t].pos, &c->cap, c->what, failed);
	}
}

static void check_model(struct check *c, size_t mi, struct dataset *ds)
{
	const struct exp_model *em = &c->e->models[mi];
	struct model m;
	struct preprocess pp;
	struct batch_source src;
	struct batch b = BATCH_INIT;
	ts_tensor *fc = NULL;
	int64_t k = -1, kl;
	size_t li, i;
	int failed, rc;

	snprintf(c->what, sizeof(c->what), "model '%s'", em->name);
	memset(&m, 0, sizeof(m));
	failed = model_load(&m, em->file, "cpu") < 0;
	if (settle(c->d, em->pos, &c->cap, c->what, failed) < 0)
		return;
	if (em->classes) {
		failed = model_meta_read_classes(&m.meta, em->classes) < 0;
		if (settle(c->d, em->classes_pos.line ? em->classes_pos : em->pos, &c->cap, c->what, failed) <
		    0)
			goto out;
	}
	run_model_preprocess(em, &m, &pp);
	free(model_label_map(&m, ds));
	settle(c->d, em->pos, &c->cap, c->what, 0);

	/* the first readable image, preprocessed for this model, in this thread (whose errors cap holds) */
	batch_source_init(&src, ds, &pp, "cpu", 0);
	batch_source_set_workers(&src, 0);
	rc = batch_next(&src, &b, 1);
	batch_source_release(&src);
	if (settle(c->d, c->e->data.pos, &c->cap, c->what, rc < 0) < 0)
		goto out;
	if (rc == 0) {
		diag_error(c->d, c->e->data.pos, "%s: no image of the data could be read", c->what);
		goto out;
	}
	if (c->fp) {
		fprintf(c->fp, "model '%s' (%s): %s as ", em->name, em->file, ds->items[b.items[0]].path);
		for (i = 0; i < (size_t)ts_dim(b.x); i++)
			fprintf(c->fp, "%s%ld", i ? "x" : "", (long)ts_size(b.x, i));
		fputc('\n', c->fp);
	}
	fc = model_head_weight(&m);
	for (li = 0; li < em->nr_layers; li++)
		if (plan_has(c->p, mi, li, ANY, NULL) && (kl = check_layer(c, mi, li, &m, fc, b.x)) > 0)
			k = kl;
	if (k < 0)
		goto out;
	if (c->fp)
		fprintf(c->fp, "  %ld classes%s\n", (long)k, m.meta.nr_classes ? ", named" : "");
	if (m.meta.nr_classes && (int64_t)m.meta.nr_classes != k)
		diag_error(c->d, em->classes_pos.line ? em->classes_pos : em->pos,
			   "%s: it gives %ld logits, but has %zu class names%s", c->what, (long)k,
			   m.meta.nr_classes, em->classes ? " in its classes file" : "");
	check_targets(c, mi, &m, k);
out:
	ts_free(fc);
	batch_release(&b);
	model_release(&m);
}

/*
 * Why method cam is undefined at a cut of layer el of the loaded model m (fc its head weight, or NULL),
 * as cam_head_undefined tells it from the cut graph without a forward, or NULL where it is defined at
 * every cut. NULL also where the layer cannot be cut: the run says why, as it does for every method.
 */
static const char *cam_undefined(const struct exp_layer *el, struct model *m, const ts_tensor *fc)
{
	enum ts_layout layout;
	size_t i, n = cam_layer_count(el->path);
	char one[1024];
	const char *why = NULL;

	if (model_layout_parse(el->layout ? el->layout : "auto", &layout) < 0)
		return NULL;
	for (i = 0; !why && i < n && i < CAM_MULTI_MAX; i++) {
		ts_split *split = NULL;
		if (cam_layer_nth(el->path, i, one, sizeof(one)) < 0 || model_split(m, one, layout, &split) < 0)
			continue;
		why = cam_head_undefined(split, fc);
		ts_split_free(split);
	}
	return why;
}

int preflight_all_cam(struct experiment *e, struct diag *d)
{
	struct plan p = PLAN_INIT;
	struct diag quiet = DIAG_INIT;
	struct strbuf cap = STRBUF_INIT;
	struct pair {
		size_t mi, li;
		const char *why;
	} *out = NULL;
	size_t mi, li, n = 0;

	if (!e->methods_all || !exp_in_names(e->methods, e->nr_methods, "cam") ||
	    plan_build(&p, e, &quiet) < 0)
		goto done;
	out = xcalloc(p.nr, sizeof(*out));
	/* what fails here (libtorch, a model file) the run reports in its turn: not twice */
	error_capture(&cap);
	for (mi = 0; mi < e->nr_models && ts_init(0) == 0; mi++) {
		const struct exp_model *em = &e->models[mi];
		struct model m;
		ts_tensor *fc;
		if (!plan_has(&p, mi, ANY, ANY, "cam"))
			continue;
		memset(&m, 0, sizeof(m));
		if (model_load(&m, em->file, "cpu") < 0)
			continue;
		fc = model_head_weight(&m);
		for (li = 0; li < em->nr_layers; li++) {
			const char *why;
			if (plan_has(&p, mi, li, ANY, "cam") && (why = cam_undefined(&em->layers[li], &m, fc)))
				out[n++] = (struct pair){ mi, li, why };
		}
		ts_free(fc);
		model_release(&m);
	}
	error_capture(NULL);
done:
	plan_release(&p);
	for (li = 0; li < n; li++) {
		const struct exp_model *em = &e->models[out[li].mi];
		const struct exp_layer *el = &em->layers[out[li].li];
		exp_leave_out(e, em->name, el->name, "cam", e->methods_all_pos);
		diag_warning(d, e->methods_all_pos, "all leaves out cam at layer '%s' of model '%s': %s", el->name,
			     em->name, out[li].why);
	}
	free(out);
	strbuf_release(&cap);
	diag_release(&quiet);
	return 0;
}

int preflight_models(const struct experiment *e, struct diag *d, FILE *fp)
{
	struct plan p = PLAN_INIT;
	struct check c = { e, &p, d, fp, STRBUF_INIT, "" };
	struct dataset ds;
	size_t mi;
	int errors = d->errors, failed;

	if (plan_build(&p, e, d) < 0)
		return -1;
	if (ts_init(0) < 0) {
		plan_release(&p);
		diag_error(d, e->models[0].pos, "cannot check the models: %s", ts_error());
		return -1;
	}
	dataset_init(&ds);
	error_capture(&c.cap);
	failed = dataset_open(&ds, e->data.path, e->data.labels) < 0;
	if (settle(d, e->data.pos, &c.cap, "data", failed) == 0) {
		for (mi = 0; mi < e->nr_models; mi++)
			if (plan_has(&p, mi, ANY, ANY, NULL))
				check_model(&c, mi, &ds);
	}
	error_capture(NULL);
	strbuf_release(&c.cap);
	dataset_release(&ds);
	plan_release(&p);
	return d->errors > errors ? -1 : 0;
}
