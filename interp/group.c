/*
 * group.c - the runs that share model, layer, utility and target (see group.h): one pass per batch
 * serves them all. Their state comes from the results database, so a run resumes where it stopped.
 */
#include "interp/group.h"

#include <assert.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cam/methods.h"
#include "cam/params.h"
#include "cam/metrics.h"
#include "cam/model.h"
#include "cam/multilayer.h"
#include "cam/torch_load.h"
#include "interp/group_batch.h"
#include "interp/luacam.h"
#include "interp/progress.h"
#include "interp/runner.h"
#include "lib/error.h"
#include "lib/xalloc.h"
#include "store/store.h"

static long lookup_class(const char *name, void *ud)
{
	return model_class_index(ud, name);
}

void run_model_preprocess(const struct exp_model *em, const struct model *m, struct preprocess *pp)
{
	if (model_preprocess(m, em->input_size, em->resize, em->have_mean ? em->mean : NULL,
			     em->have_std ? em->std : NULL, pp))
		fprintf(stderr,
			"note: model '%s' has no mean and std in the spec or a sidecar; using ImageNet's\n",
			em->name);
}

static int load_model(struct runner *r, size_t mi)
{
	const struct exp_model *em = &r->e->models[mi];

	if (r->model_index == (long)mi)
		return 0;
	if (r->model_index >= 0) {
		model_release(&r->model);
		ts_free(r->fc);
		r->fc = NULL;
	}
	r->model_index = -1;
	if (model_load(&r->model, em->file, r->device) < 0)
		return -1;
	{
		/* validated with the spec; NULL is the default */
		enum ts_precision p = TS_PRECISION_FP32;
		if (r->e->precision && model_precision_parse(r->e->precision, &p) < 0)
			return -1;
		if (ts_module_set_precision(r->model.mod, p, r->e->channels_last) < 0)
			return error("%s: %s", em->file, ts_error());
	}
	if (em->classes && model_meta_read_classes(&r->model.meta, em->classes) < 0)
		return -1;
	run_model_preprocess(em, &r->model, &r->pp);
	r->fc = model_head_weight(&r->model);
	if (store_set_classes(r->store, em->name, r->model.meta.classes, r->model.meta.nr_classes) < 0)
		return runner_store_failure(r);
	free(r->label_map);
	r->label_map = model_label_map(&r->model, &r->ds);
	r->model_index = (long)mi;
	return 0;
}

static ts_tensor *user_map(const struct cam_pass *p, const struct cam_extra *extra, void *ud)
{
	struct group_run *g = ud;
	(void)extra;
	return luacam_method(g->lua, g->user, p->a, p->g, p->ha);
}

struct user_utility_ctx {
	struct luacam *lua;
	const char *name;
};

static ts_tensor *user_utility(void *ud, const ts_tensor *logits, const ts_tensor *target)
{
	struct user_utility_ctx *c = ud;
	return luacam_utility(c->lua, c->name, logits, target);
}

/* A built-in utility with parameters other than its defaults, as a hook (ud: the group's utility_ctx). */
struct builtin_utility_ctx {
	enum utility u;
	struct utility_params params;
};

static ts_tensor *builtin_utility(void *ud, const ts_tensor *logits, const ts_tensor *target)
{
	const struct builtin_utility_ctx *c = ud;
	return utility_eval_params(c->u, &c->params, logits, target);
}

/*
 * The typed parameters of a validated entry of kind (cam/params.h) into typed, which holds the
 * defaults: the IR keeps only the others, in canonical text, so none fails to parse.
 */
static void entry_params(const struct exp_name *n, enum param_kind kind, void *typed)
{
	struct strbuf err = STRBUF_INIT;
	size_t i;

	for (i = 0; i < n->nr_params; i++) {
		const struct param_info *p = params_find(kind, n->id, n->params[i].key);
		if (!p || params_parse(p, n->params[i].value, typed, NULL, &err) < 0)
			BUG("parameter '%s' of '%s' was not validated", n->params[i].key, n->name);
	}
	strbuf_release(&err);
}

void group_metric_params(const struct experiment *e, struct metric_params *mp)
{
	size_t i;

	metric_params_init(mp);
	for (i = 0; i < e->nr_metrics; i++)
		if (e->metrics[i].id >= 0)
			entry_params(&e->metrics[i], PARAM_METRIC, mp);
}

/*
 * Another test knob: CAMLAB_TEST_KILL_WORKER=W:N kills worker W (of several devices) with SIGKILL after
 * its N-th batch, as a crash or a node failure would, to test that the others go on and a rerun
 * completes the runs.
 */
static void fake_crash(const struct runner *r, size_t batches)
{
	const char *v = getenv("CAMLAB_TEST_KILL_WORKER");
	int w, n;
	if (r->workers > 1 && v && sscanf(v, "%d:%d", &w, &n) == 2 && w == r->worker && (size_t)n == batches)
		raise(SIGKILL);
}

/*
 * Record the images src skipped since the last call (*nr_recorded of them were recorded before) for the
 * group's runs, so that a run counts them as seen: it is done when every image is stored or skipped,
 * and a resumed run does not decode them again.
 */
static void record_skipped(struct runner *r, struct group_run *gr, size_t ng, const struct batch_source *src,
			   size_t *nr_recorded)
{
	size_t i, k;

	if (*nr_recorded == src->nr_skipped || r->store_failed)
		return;
	if (store_begin(r->store) < 0) {
		runner_store_failure(r);
		return;
	}
	for (i = *nr_recorded; i < src->nr_skipped; i++) {
		size_t idx = src->skipped[i];
		for (k = 0; k < ng; k++)
			if (!gr[k].failed &&
			    store_put_skipped(r->store, gr[k].pr->key, (long)idx, r->ds.items[idx].path) < 0) {
				runner_store_failure(r);
				return;
			}
	}
	if (store_commit(r->store) < 0) {
		runner_store_failure(r);
		return;
	}
	for (i = *nr_recorded; i < src->nr_skipped; i++)
		for (k = 0; k < ng; k++)
			if (!gr[k].failed)
				gr[k].done[src->skipped[i]] = 1;
	*nr_recorded = src->nr_skipped;
}

/*
 * The selection's images go to the workers in chunks of this many, each worker taking the next chunk
 * when it needs more: a few chunks per worker and group at least, so that devices of different speeds
 * finish together, and at most CHUNK_MAX.
 */
enum { CHUNK_MAX = 64, CHUNKS_PER_WORKER = 8 };

static size_t chunk_size(const struct runner *r)
{
	size_t c;
	if (r->o->nr_shards) /* the shard's own chunks, shared by its workers */
		return SHARD_CHUNK;
	c = r->nr_images / ((size_t)r->workers * CHUNKS_PER_WORKER);
	return c < 1 ? 1 : c > CHUNK_MAX ? CHUNK_MAX : c;
}

/* Whether every chunk of group g has been taken, by this worker or another. */
static int group_taken(const struct runner *r, size_t g)
{
	size_t c = chunk_size(r);
	return atomic_load(&r->shares[g].next_chunk) >= (r->nr_images + c - 1) / c;
}

/* Whether the i-th image of the selection is this process's: always, unless it runs a shard. */
static int in_shard(const struct runner *r, size_t i)
{
	return !r->o->nr_shards || (i / SHARD_CHUNK) % (size_t)r->o->nr_shards == (size_t)r->o->shard;
}

/*
 * A run's state from the images stored for it (done: per dataset index), with its aggregates, in one
 * transaction: done when it has every image of the selection (of the shard's part of it, in a shard).
 * Returns 1 if it is done, 0 if not, -1 when the database could not take it (runner_store_failure).
 */
static int settle_run(struct runner *r, const char *key, const unsigned char *done)
{
	size_t i, nd = 0, want = 0;
	for (i = 0; i < r->nr_images; i++)
		if (in_shard(r, i)) {
			want++;
			nd += done[r->images[i]];
		}
	if (store_begin(r->store) < 0 || store_aggregate(r->store, key) < 0 ||
	    store_set_state(r->store, key, nd == want ? "done" : "partial", NULL) < 0 ||
	    store_commit(r->store) < 0)
		return runner_store_failure(r);
	return nd == want;
}

/*
 * A group of runs as group_process() works through it. The utility hook, target policy and cut model are
 * prepared once for the group (group_pass_init) and serve every batch of all its runs; the hook points
 * into the struct, which therefore stays where it is while the group runs.
 */
struct group {
	size_t first, last, index;  /* the plan's runs first..last-1, the index-th group in plan order */
	const struct plan_run *pr0; /* the first run: the model, layer, utility and target of all */
	struct group_run *runs;
	size_t nr;
	unsigned char *want;  /* per position in the selection: some run of the group lacks the image */
	size_t nr_pending;    /* the images wanted (of this shard, in a shard) */
	size_t nr_todo;	      /* of them, those this camlab run computes: at most --limit */
	enum utility utility; /* unused with a hook, which computes U */
	struct user_utility_ctx uctx;
	struct builtin_utility_ctx bctx; /* a built-in utility with parameters */
	struct utility_hook uhook;
	/* &uhook for a utility defined in Lua or a built-in one with parameters, else NULL */
	const struct utility_hook *hook;
	struct target_policy tp;
	ts_split *split;	   /* owned, or multi->splits[0] for a fused layer */
	struct cam_multi *multi;   /* a fused layer's cuts, else NULL */
	struct cam_fused *fused;   /* per run: its method over the fused layer */
	/* for the group's line in the log */
	double t_start;
	size_t images_before;
};

/*
 * The mapper of run g's method: one defined in Lua, else a built-in one. A method that did not load or
 * does not exist fails the run; returns -1 then.
 */
static int group_run_mapper(struct runner *r, struct group_run *g)
{
	const struct exp_name *en = &r->e->methods[g->pr->method];
	const char *mname = en->name;
	unsigned mask = 0;
	char why[1024];

	if (luacam_load_error(r->lua, mname)) {
		group_run_fail(r, g, luacam_load_error(r->lua, mname));
		return -1;
	}
	if (luacam_has_method(r->lua, mname)) {
		/* A user method may use G and HA: give it both. */
		g->user = mname;
		g->lua = r->lua;
		g->mapper.passes = CAM_PASS_GRAD | CAM_PASS_HVP;
		g->mapper.map = user_map;
		g->mapper.ud = g;
	} else {
		/* validation resolved the name (its label, kpcacam(gamma=0.5), is no name cam/ parses) */
		if (en->id >= 0 && en->id < CAM_NR_METHODS)
			mask = 1u << en->id;
		if (!mask) {
			snprintf(why, sizeof(why), "method '%s' is neither built in nor defined", mname);
			group_run_fail(r, g, why);
			return -1;
		}
		cam_mapper_builtin(&g->mapper, (enum cam_method)en->id);
		entry_params(en, PARAM_METHOD, &g->mapper.params);
		/* the spec's check says so first; explain and a hand-edited plan land here */
		if (g->mapper.method == CAM_REFINECAM &&
		    !strchr(r->e->models[g->pr->model].layers[g->pr->layer].path, ',')) {
			group_run_fail(r, g, "method 'refinecam' needs a fused layer (a list of module paths)");
			return -1;
		}
		/* upstream's smoothing options (cam/smooth.h), per run: the group's extra serves them all */
		g->smooth = (g->mapper.params.eigen_smooth ? CAM_SMOOTH_EIGEN : 0u) |
			    (g->mapper.params.aug_smooth ? CAM_SMOOTH_AUG : 0u);
	}
	/* on request, the paper code's live activations or upstream's HVP direction: only runs that use HA */
	if (g->mapper.passes & CAM_PASS_HVP)
		g->mapper.passes |= cam_quirk_passes(r->e->quirk);
	return 0;
}

/*
 * Run pr of a group, as the database left it: the images it has stored or skipped, and its method's
 * mapper. A run that cannot go on is failed here; the others of its group go on without it.
 */
static void group_run_init(struct runner *r, struct group_run *g, struct plan_run *pr)
{
	char why[1024];
	long changed;

	g->pr = pr;
	g->done = xcalloc(r->ds.nr ? r->ds.nr : 1, 1);
	error_last_reset();
	if (store_done_images(r->store, pr->key, g->done, r->ds.nr, r->paths, &changed) < 0) {
		/* computing every image again would cost hours and could hide a database in trouble */
		group_run_fail(r, g, error_last()[0] ? error_last() : "cannot read the run's stored images");
		return;
	}
	if (changed >= 0) {
		/* resuming would give the new file the old one's results, and skip the new file */
		snprintf(why, sizeof(why),
			 "the dataset changed since this run stored results: its image %ld is now "
			 "'%s', another file then (files added or removed renumber the images); "
			 "restore the dataset, or use a new output folder",
			 changed, r->paths[changed]);
		group_run_fail(r, g, why);
		return;
	}
	store_undo_figures(r->store, pr->key, r->figure, g->done, r->ds.nr);
	group_run_mapper(r, g);
}

/*
 * Mark in want the images that some run of the group still lacks, in selection order, and count them.
 * Other workers store only images of chunks they took, so what this worker read from the database stays
 * true for the chunks it takes.
 */
static size_t group_pending(const struct runner *r, struct group *grp)
{
	size_t i, k, n = 0;

	for (i = 0; i < r->nr_images; i++) {
		size_t idx = r->images[i];
		for (k = 0; k < grp->nr; k++)
			if (!grp->runs[k].failed && !grp->runs[k].done[idx])
				break;
		if (k < grp->nr && in_shard(r, i)) {
			grp->want[i] = 1;
			n++;
		}
	}
	return n;
}

/* The group of the plan's runs first..last-1, the index-th group: its runs and the images they lack. */
static void group_init(struct runner *r, struct group *grp, size_t first, size_t last, size_t index)
{
	size_t k;

	assert(first < last && last <= r->plan.nr && index < r->nr_groups);
	memset(grp, 0, sizeof(*grp));
	grp->first = first;
	grp->last = last;
	grp->index = index;
	grp->pr0 = &r->plan.runs[first];
	grp->runs = xcalloc(last - first, sizeof(*grp->runs));
	grp->nr = last - first;
	grp->want = xcalloc(r->nr_images ? r->nr_images : 1, 1);
	grp->t_start = progress_now();
	grp->images_before = r->images_done_now;
	for (k = 0; k < grp->nr; k++)
		group_run_init(r, &grp->runs[k], &r->plan.runs[first + k]);
	/* one pass serves them all: each run has pr0's model, layer, utility, target and rank */
	for (k = 1; k < grp->nr; k++)
		assert(grp->runs[k].pr->model == grp->pr0->model &&
		       grp->runs[k].pr->layer == grp->pr0->layer &&
		       grp->runs[k].pr->utility == grp->pr0->utility &&
		       grp->runs[k].pr->target == grp->pr0->target &&
		       grp->runs[k].pr->rank == grp->pr0->rank);
	grp->nr_pending = group_pending(r, grp);
	/* at most --limit per run, for all workers together (the batch source counts them) */
	grp->nr_todo = r->o->limit && r->o->limit < grp->nr_pending ? r->o->limit : grp->nr_pending;
	assert(grp->nr_todo <= grp->nr_pending && grp->nr_pending <= r->nr_images);
}

static void group_release(struct group *grp)
{
	size_t k;

	for (k = 0; k < grp->nr; k++) {
		free(grp->runs[k].done);
		free(grp->runs[k].error);
	}
	if (grp->multi)
		cam_multi_free(grp->multi); /* and the split it lent */
	else
		ts_split_free(grp->split);
	free(grp->fused);
	free(grp->want);
	free(grp->runs);
}

/*
 * A fused layer (cam/multilayer.h): the model cut at each of its layers, the first cut serving as the
 * group's split, and each run's method wrapped to run at every layer and fuse the maps (RefineCAM
 * multiplies them).
 */
static int group_fused_init(struct runner *r, struct group *grp, const char *paths, enum ts_layout layout)
{
	size_t k;

	grp->multi = cam_multi_new(&r->model, paths, layout);
	if (!grp->multi) {
		group_runs_fail(r, grp->runs, grp->nr, "cannot cut the model at the fused layer's layers");
		return -1;
	}
	grp->split = grp->multi->splits[0];
	grp->fused = xcalloc(grp->nr, sizeof(*grp->fused));
	for (k = 0; k < grp->nr; k++) {
		struct group_run *g = &grp->runs[k];
		if (!g->failed)
			g->mapper = cam_fused_mapper(&grp->fused[k], &g->mapper, grp->multi,
						     !g->user && g->mapper.method == CAM_REFINECAM);
	}
	return 0;
}

/*
 * What every batch of the group shares: the model (loaded unless it is already), the utility (a hook
 * for one defined in Lua), the target policy and the model cut at the layer. When a step fails, the
 * group's runs fail saying which step and why, and -1 is returned.
 */
static int group_pass_init(struct runner *r, struct group *grp)
{
	const struct plan_run *pr0 = grp->pr0;
	const struct exp_layer *el = &r->e->models[pr0->model].layers[pr0->layer];
	const char *uname = r->e->utilities[pr0->utility].name;
	enum ts_layout layout;
	int topk, u;
	size_t k;

	if (luacam_load_error(r->lua, uname)) {
		for (k = 0; k < grp->nr; k++)
			group_run_fail(r, &grp->runs[k], luacam_load_error(r->lua, uname));
		return -1;
	}
	error_last_reset();
	if (load_model(r, pr0->model) < 0) {
		if (!r->store_failed) /* the database's trouble is no fault of the runs */
			group_runs_fail(r, grp->runs, grp->nr, "cannot load the model");
		return -1;
	}
	error_last_reset(); /* from here, the error a failure records is the utility's or the target's */
	if (luacam_has_utility(r->lua, uname)) {
		grp->uctx.lua = r->lua;
		grp->uctx.name = uname;
		grp->uhook.fn = user_utility;
		grp->uhook.ud = &grp->uctx;
		grp->hook = &grp->uhook;
		u = UTILITY_LOGIT; /* unused: the hook computes U */
	} else {
		const struct exp_name *en = &r->e->utilities[pr0->utility];
		u = en->id >= 0 ? en->id : utility_parse(uname);
		if (u >= 0 && en->nr_params) {
			grp->bctx.u = (enum utility)u;
			grp->bctx.params = (struct utility_params)UTILITY_PARAMS_INIT;
			entry_params(en, PARAM_UTILITY, &grp->bctx.params);
			grp->uhook.fn = builtin_utility;
			grp->uhook.ud = &grp->bctx;
			grp->hook = &grp->uhook;
		}
	}
	if (u < 0 ||
	    target_parse(r->e->targets[pr0->target].name, lookup_class, &r->model, &grp->tp, &topk) < 0) {
		group_runs_fail(r, grp->runs, grp->nr, "bad utility or target");
		return -1;
	}
	grp->utility = (enum utility)u;
	if (pr0->rank) { /* one rank of a top-k target */
		grp->tp.kind = TARGET_TOPK;
		grp->tp.index = pr0->rank;
	}
	/* the spec's layout was validated by experiment_validate; NULL is the default, auto */
	error_last_reset();
	if (model_layout_parse(el->layout ? el->layout : "auto", &layout) < 0)
		goto bad_cut;
	if (strchr(el->path, ','))
		return group_fused_init(r, grp, el->path, layout);
	if (model_split(&r->model, el->path, layout, &grp->split) < 0 ||
	    model_split_tokens(grp->split, el->path, el->prefix_tokens, el->grid_h, el->grid_w) < 0)
		goto bad_cut;
	return 0;
bad_cut:
	group_runs_fail(r, grp->runs, grp->nr, "cannot cut the model at the layer");
	return -1;
}

/* A batch's dataset labels as the loaded model's class indices, where the two differ (label_map). */
static void map_labels(const struct runner *r, struct batch *b)
{
	size_t i;

	for (i = 0; r->label_map && i < b->n; i++)
		if (b->labels[i] >= 0)
			b->labels[i] = r->label_map[b->labels[i]];
}

static int all_failed(const struct group_run *gr, size_t ng)
{
	size_t k;

	for (k = 0; k < ng && gr[k].failed; k++)
		;
	return k == ng;
}

/*
 * The group's batches, from the chunks of its wanted images that this worker takes, until none is left,
 * every run has failed, or one has with --fail-fast. The images the decoder skipped are recorded for the
 * runs as it goes; the timings for the group's log line are taken here.
 */
static void group_batches(struct runner *r, struct group *grp)
{
	struct batch_source src;
	struct batch b = BATCH_INIT;
	size_t k, done_here = 0, nr_recorded = 0;
	int64_t free_before = 0;
	double tw;
	int rc;

	batch_source_init(&src, &r->ds, &r->pp, r->device, 0);
	batch_source_set_order(&src, r->images, r->nr_images);
	batch_source_share(&src, &r->shares[grp->index], chunk_size(r), grp->want, r->o->limit);
	batch_source_set_workers(&src, r->decode_workers);
	group_batch_auto_begin(r, &src, &free_before);
	tw = progress_now();
	r->t_wait = r->t_pass = r->t_maps = r->t_store = 0;
	r->n_first = 0;
	while ((rc = batch_next(&src, &b, (size_t)r->batch)) > 0) {
		r->t_wait += progress_now() - tw;
		record_skipped(r, grp->runs, grp->nr, &src, &nr_recorded);
		map_labels(r, &b);
		group_batch_process(r, grp->runs, grp->nr, grp->split, grp->multi, &b, grp->utility, grp->hook,
				    &grp->tp);
		if (r->batch_auto)
			group_batch_auto_size(r, free_before, b.n);
		if (!done_here) {
			r->t_first = progress_now();
			r->n_first = b.n;
		}
		done_here += b.n;
		r->images_done_now += b.n;
		fake_crash(r, ++r->batches_done);
		progress_batch(r, r->runs_done + 1, r->plan.nr, done_here, grp->nr_todo,
			 plan_run_label(&r->plan, grp->pr0));
		if (all_failed(grp->runs, grp->nr) || (r->failed && r->o->fail_fast) || r->store_failed)
			break;
		tw = progress_now();
	}
	batch_release(&b);
	record_skipped(r, grp->runs, grp->nr, &src, &nr_recorded);
	if (src.nr_skipped)
		warning("%zu unreadable image(s) skipped (named above); the runs record them and "
			"will not try them again",
			src.nr_skipped);
	batch_source_release(&src);
	if (rc < 0) /* the decoding threads said why; their messages are not this thread's */
		for (k = 0; k < grp->nr; k++)
			group_run_fail(r, &grp->runs[k], "a batch could not be prepared (see above)");
}

/* The group's line in the log: what it computed and how fast, or why it computed nothing. */
static void group_log(const struct runner *r, const struct group *grp)
{
	double dt;
	size_t n;

	if (r->bar)
		fputs("\r\033[K", stderr);
	dt = progress_now() - grp->t_start;
	n = r->images_done_now - grp->images_before;
	fprintf(stderr, "runs %zu-%zu/%zu %s x %zu method(s)", grp->first + 1, grp->last, r->plan.nr,
		plan_run_label(&r->plan, grp->pr0), grp->nr);
	if (r->workers > 1)
		fprintf(stderr, ", worker %d on %s", r->worker, r->device);
	if (all_failed(grp->runs, grp->nr)) { /* nothing was stored, maybe nothing tried: no rate to report */
		fputs(": failed (see above)\n", stderr);
		return;
	}
	fprintf(stderr, ": %zu image(s)", n);
	if (!grp->nr_todo)
		fputs(" (already done)", stderr);
	else if (!n && r->workers > 1)
		fputs(" (the other workers took them)", stderr);
	if (n && dt > 0)
		progress_rate(r, n, dt);
	if (grp->nr_pending > grp->nr_todo)
		fprintf(stderr, "; %zu left for a later run", grp->nr_pending - grp->nr_todo);
	fputc('\n', stderr);
}

/*
 * Runs first..last-1 of the plan (group g) share model, layer, utility and target. With several
 * workers, each takes chunks of the group's images until none is left, and the runs' states are
 * settled by the parent once all have finished.
 */
void group_process(struct runner *r, size_t first, size_t last, size_t g)
{
	struct group grp;
	size_t k;

	group_init(r, &grp, first, last, g);
	if (!grp.nr_todo)
		goto settle;
	if (group_taken(r, g)) /* the other workers have it all: nothing to load the model for */
		goto out;
	if (group_pass_init(r, &grp) == 0)
		group_batches(r, &grp);
	/*
	 * NaN or infinite outputs are stored as empty metrics, which the averages leave out: a run of them
	 * would end "done" with empty columns, so each run says how many it had
	 */
	for (k = 0; k < grp.nr; k++)
		if (grp.runs[k].nonfinite)
			warning("run %s (%s): %zu of %zu image(s) had a NaN or infinite class probability (the "
				"model's outputs): their metrics are empty, and the averages leave them out",
				grp.runs[k].pr->key, plan_run_label(&r->plan, grp.runs[k].pr),
				grp.runs[k].nonfinite, grp.runs[k].stored);
settle:
	for (k = 0; k < grp.nr && !r->store_failed; k++)
		if (!grp.runs[k].failed && r->workers == 1)
			settle_run(r, grp.runs[k].pr->key, grp.runs[k].done);
out:
	r->runs_done += grp.nr;
	group_log(r, &grp);
	group_release(&grp);
}

static int same_group(const struct plan_run *a, const struct plan_run *b)
{
	return a->model == b->model && a->layer == b->layer && a->utility == b->utility &&
	       a->target == b->target && a->rank == b->rank;
}

/*
 * The end of the group of runs that starts at run i: the plan's runs i..end-1 share a pass. Groups are
 * numbered in this order, by the worker loop and by the shares made for them.
 */
size_t group_end(const struct plan *p, size_t i)
{
	size_t j;
	for (j = i + 1; j < p->nr && same_group(&p->runs[i], &p->runs[j]); j++)
		;
	return j;
}

/*
 * After the workers: every run's state and aggregates from what they stored (failed runs stay failed).
 * Returns how many runs are done.
 */
size_t group_settle_runs(struct runner *r)
{
	unsigned char *done = xmalloc(r->ds.nr ? r->ds.nr : 1);
	size_t i, nr_done = 0;

	for (i = 0; i < r->plan.nr; i++) {
		const char *key = r->plan.runs[i].key;
		long nd = 0;
		char *st = store_run_state(r->store, key, &nd);
		if (!st || strcmp(st, "failed")) {
			memset(done, 0, r->ds.nr ? r->ds.nr : 1);
			if (store_done_images(r->store, key, done, r->ds.nr, r->paths, NULL) >= 0)
				nr_done += settle_run(r, key, done);
		}
		free(st);
	}
	free(done);
	return nr_done;
}
