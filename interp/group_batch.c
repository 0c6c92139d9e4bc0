/*
 * group_batch.c - one batch of a group of runs (see group_batch.h). The shared pass (forward, backward
 * and, when a Shapley method is in the group, one Hessian-vector product) serves every method of the
 * group, and each method then adds only its metric forwards. A batch's rows for all runs of the group
 * are committed in one transaction, so Ctrl-C or kill -9 loses at most the batch in flight.
 */
#include "interp/group_batch.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cam/fidelity.h"
#include "cam/metrics.h"
#include "cam/multilayer.h"
#include "cam/smooth.h"
#include "interp/luacam.h"
#include "interp/progress.h"
#include "interp/runner.h"
#include "lib/error.h"
#include "lib/strbuf.h"
#include "lib/xalloc.h"
#include "store/store.h"

/*
 * The results database could not take a write: what is in flight is rolled back (SQLite may have done
 * so already), so that nothing is half-written, and the run stops at the next check of store_failed.
 * Returns -1.
 */
int runner_store_failure(struct runner *r)
{
	if (!r->store_failed) {
		r->store_failed = 1;
		if (r->bar)
			fputc('\n', stderr);
	}
	store_rollback(r->store);
	return -1;
}

void group_run_fail(struct runner *r, struct group_run *g, const char *why)
{
	if (g->failed)
		return;
	g->failed = 1;
	g->error = xstrdup(why); /* why may be error_last(), which the error() below rewrites */
	r->failed = 1;
	if (!r->store_failed) /* else the run is not at fault, and nothing can be written */
		store_set_state(r->store, g->pr->key, "failed", g->error);
	if (r->bar)
		fputc('\n', stderr);
	error("run %s (%s) failed: %s", g->pr->key, plan_run_label(&r->plan, g->pr), g->error);
}

/*
 * Fail the group's runs because what failed: with the message of the error that said why, which the
 * results database keeps (error_last_reset() before the step), or pointing above when there was none.
 */
void group_runs_fail(struct runner *r, struct group_run *gr, size_t ng, const char *what)
{
	struct strbuf why = STRBUF_INIT;
	size_t k;

	if (*error_last())
		strbuf_addf(&why, "%s: %s", what, error_last());
	else
		strbuf_addf(&why, "%s (see above)", what);
	for (k = 0; k < ng; k++)
		group_run_fail(r, &gr[k], why.buf);
	strbuf_release(&why);
}

/*
 * The batch's heatmaps on the host when figures show one of its images (caller frees), else NULL: they
 * are stored with the batch's results, in its transaction.
 */
static float *figure_maps(struct runner *r, const struct batch *b, const ts_tensor *heat)
{
	size_t i, plane = (size_t)b->h * (size_t)b->w;
	float *host;

	for (i = 0; i < b->n && !r->figure[b->items[i]]; i++)
		;
	if (i == b->n)
		return NULL;
	host = xmalloc(b->n * plane * sizeof(float));
	if (ts_copy_f32(heat, host, b->n * plane) < 0) {
		free(host);
		return NULL;
	}
	return host;
}

/* Heatmaps and prepared inputs of the images that figures show, for reports to draw from the database. */
static int keep_figures(struct runner *r, struct group_run *g, const struct batch *b, const float *host)
{
	size_t i, plane = (size_t)b->h * (size_t)b->w;

	for (i = 0; host && i < b->n; i++) {
		size_t idx = b->items[i];
		if (!r->figure[idx] || g->done[idx])
			continue;
		if (store_put_heatmap(r->store, g->pr->key, (long)idx, b->h, b->w, host + i * plane) < 0 ||
		    store_put_input(r->store, r->e->models[g->pr->model].name, (long)idx,
				    r->ds.items[idx].path, b->h, b->w, b->shown[i].rgb) < 0)
			return -1;
	}
	return 0;
}

/* The metrics defined in Lua for one run's batch, from its heatmaps and probabilities, into out[B][nu]. */
static int user_metrics(struct runner *r, struct group_run *g, const ts_tensor *heat,
			const struct metric_row *rows, size_t n, double *out)
{
	size_t m, i;
	float *buf;
	int64_t shape[1] = { (int64_t)n };
	ts_tensor *t[3];
	int ret = 0;

	(void)g;
	if (!r->nr_user_metrics)
		return 0;
	buf = xmalloc(3 * n * sizeof(float));
	for (i = 0; i < n; i++) {
		buf[i] = (float)rows[i].y;
		buf[n + i] = (float)rows[i].o;
		buf[2 * n + i] = (float)rows[i].d;
	}
	for (i = 0; i < 3; i++) {
		ts_tensor *h = ts_from_f32(buf + i * n, shape, 1, "cpu");
		t[i] = ts_to_like(h, heat);
		ts_free(h);
	}
	for (m = 0; m < r->nr_user_metrics && !ret; m++) {
		ts_tensor *v = luacam_metric(r->lua, r->user_metrics[m], heat, t[0], t[1], t[2]);
		double *host = xmalloc(n * sizeof(double));
		if (!v || ts_copy_f64(v, host, n) != (long)n)
			ret = -1;
		for (i = 0; !ret && i < n; i++)
			out[i * r->nr_user_metrics + m] = host[i];
		free(host);
		ts_free(v);
	}
	for (i = 0; i < 3; i++)
		ts_free(t[i]);
	free(buf);
	return ret;
}

/*
 * A device out of memory, as libtorch says it: "CUDA out of memory. Tried to allocate ...", "CUDA error:
 * out of memory", or a CUDA library that could not allocate its workspace ("CUDA error:
 * CUBLAS_STATUS_ALLOC_FAILED when calling `cublasCreate(handle)`", cuDNN's CUDNN_STATUS_ALLOC_FAILED).
 */
static int is_oom(const char *msg)
{
	return msg && (strstr(msg, "out of memory") || strstr(msg, "_STATUS_ALLOC_FAILED"));
}

/*
 * A test knob, like git's GIT_TEST_* variables: CAMLAB_TEST_OOM_ABOVE=N makes every batch of more than
 * N images fail as a device out of memory would, so the halving below can be tested without a GPU.
 */
static int fake_oom(size_t n)
{
	const char *v = getenv("CAMLAB_TEST_OOM_ABOVE");
	return v && *v && n > (size_t)strtoul(v, NULL, 10);
}

/*
 * A test knob too: CAMLAB_TEST_BATCH_PAUSE_MS=N waits N ms after each batch is stored, so that a test
 * can stop a run between its batches (t49 kills a Slurm shard midway) however fast the machine is.
 */
static void test_pause(void)
{
	const char *v = getenv("CAMLAB_TEST_BATCH_PAUSE_MS");
	long ms = v && *v ? strtol(v, NULL, 10) : 0;

	if (ms > 0 && ms < 60000)
		usleep((useconds_t)ms * 1000);
}

/*
 * The rows of the batch's images that each run which computed them (ok) does not have yet, with the
 * figures' heatmaps (maps), in one transaction; then, and only then, they count as done for the runs.
 * Returns 0, or -1 when the database could not take them (runner_store_failure).
 */
static int store_batch(struct runner *r, struct group_run *gr, size_t ng, const struct batch *b,
		       const struct cam_pass *pass, const struct metric_row *rows, const double *uvals,
		       float *const *maps, const unsigned char *ok)
{
	size_t nu = r->nr_user_metrics, k, i, m;
	char name[64];
	double v;

	if (store_begin(r->store) < 0)
		return runner_store_failure(r);
	for (k = 0; k < ng; k++) {
		struct group_run *g = &gr[k];
		const struct metric_row *rk = rows + k * b->n;
		if (!ok[k] || g->failed)
			continue;
		if (keep_figures(r, g, b, maps[k]) < 0)
			return runner_store_failure(r);
		for (i = 0; i < b->n; i++) {
			size_t idx = b->items[i];
			struct store_image img = { (long)idx, r->ds.items[idx].path, b->labels[i], pass->classes[i],
						   rk[i].ad, rk[i].coh, rk[i].com, rk[i].ic, rk[i].add,
						   rk[i].y, rk[i].o, rk[i].d, NULL, 0 };
			if (g->done[idx])
				continue;
			if (store_put_image(r->store, g->pr->key, &img) < 0)
				return runner_store_failure(r);
			for (m = 0; m < nu; m++)
				if (store_put_user_metric(r->store, g->pr->key, (long)idx, r->user_metrics[m],
							  uvals[(k * b->n + i) * nu + m]) < 0)
					return runner_store_failure(r);
			for (m = 0; m < METRIC_NR_EXTRA; m++) /* road, insertion, ...: NAN writes nothing */
				if (store_put_metric(r->store, g->pr->key, (long)idx, metric_extra_names[m],
						     metric_row_extra(&rk[i], m)) < 0)
					return runner_store_failure(r);
			for (m = 0; metric_row_more(&rk[i], m, name, sizeof(name), &v); m++) /* sanity, ... */
				if (store_put_metric(r->store, g->pr->key, (long)idx, name, v) < 0)
					return runner_store_failure(r);
		}
		/* an interrupted run holds results: status and plan say partial, not pending */
		if (!g->started && cam_pass_note(pass, g->mapper.passes) &&
		    ((pass->hvp_zero && (g->mapper.passes & CAM_PASS_HVP) &&
		      fprintf(stderr, "note: run %s: %s\n", g->pr->key, CAM_HVP_ZERO_NOTE) < 0) ||
		     store_set_run_note(r->store, g->pr->key, cam_pass_note(pass, g->mapper.passes)) < 0))
			return runner_store_failure(r);
		if (!g->started && store_run_started(r->store, g->pr->key) < 0)
			return runner_store_failure(r);
	}
	if (store_commit(r->store) < 0)
		return runner_store_failure(r);
	/* only what is committed counts as done: a failed commit leaves the images to a resumed run */
	for (k = 0; k < ng; k++) {
		struct group_run *g = &gr[k];
		if (!ok[k] || g->failed)
			continue;
		g->started = 1;
		for (i = 0; i < b->n; i++)
			if (!g->done[b->items[i]]) {
				g->done[b->items[i]] = 1;
				g->stored++;
				g->nonfinite += !isfinite(rows[k * b->n + i].y);
			}
	}
	return 0;
}

/*
 * The metrics of all methods of the group at once (sanity, discrimination: cam/metrics.h), on the heats
 * of the runs that have them. Returns 1 when the device ran out of memory, else 0 (a failure fails the
 * group's runs).
 */
static int group_metrics(struct runner *r, struct group_run *gr, size_t ng, const struct cam_pass *pass,
			 const struct cam_extra *extra, ts_tensor *const *heats, const unsigned char *ok,
			 struct metric_row *rows, size_t n)
{
	struct metric_method *mm = xcalloc(ng, sizeof(*mm));
	size_t k;
	int oom = 0;

	for (k = 0; k < ng; k++)
		mm[k] = (struct metric_method){ &gr[k].mapper, ok[k] && !gr[k].failed ? heats[k] : NULL,
						rows + k * n };
	error_last_reset();
	if (metrics_eval_group(pass, extra, model_last_linear(&r->model), r->metrics, mm, ng) < 0) {
		if (is_oom(*error_last() ? error_last() : ts_error()))
			oom = 1;
		else
			group_runs_fail(r, gr, ng, "the sanity check or target discrimination failed");
	}
	free(mm);
	return oom;
}

/*
 * One batch for every run of a group: the shared pass, then each method's heatmaps and metrics; the
 * rows of images a run does not have yet are then written in one short transaction, so that another
 * camlab process writing to the same database (one per device) never waits for a computation.
 * Returns 1 when the device ran out of memory (nothing was written), else 0.
 */
static int group_batch(struct runner *r, struct group_run *gr, size_t ng, ts_split *split,
		       struct cam_multi *multi, const struct batch *b, enum utility u,
		       const struct utility_hook *hook, const struct target_policy *tp)
{
	size_t nu = r->nr_user_metrics;
	double *uvals = xcalloc(b->n * ng * (nu ? nu : 1), sizeof(double));
	struct cam_pass pass = CAM_PASS_INIT;
	struct cam_aug aug = CAM_AUG_INIT;
	struct cam_extra extra = { .model = r->model.mod,
				   .x = b->x,
				   .fc = r->fc,
				   .seed = r->e->seed,
				   .items = b->items,
				   .chunk = r->batch * 4,
				   .mean = r->pp.mean,
				   .std = r->pp.std,
				   .aug = &aug,
				   .metric_params = &r->metric_params };
	struct metric_row *rows = xcalloc(b->n * ng, sizeof(*rows));
	struct fidelity *fid = NULL; /* Shapley values of the batch, made once for all its methods */
	float **maps = xcalloc(ng, sizeof(*maps));
	ts_tensor **heats = xcalloc(ng, sizeof(*heats)); /* kept for the group metrics (sanity, ...) */
	unsigned char *ok = xcalloc(ng, 1);
	unsigned passes = 0, aug_passes = 0;
	size_t k;
	int oom = 0, want_aug = 0;

	for (k = 0; k < ng; k++)
		if (!gr[k].failed) {
			passes |= gr[k].mapper.passes;
			if (gr[k].smooth & CAM_SMOOTH_AUG) {
				want_aug = 1;
				aug_passes |= gr[k].mapper.passes;
			}
		}
	double t = progress_now();

	error_last_reset();
	/* a fused layer's passes are one forward through all its layers (cam_multi_pass) */
	if (fake_oom(b->n) ||
	    (multi ? cam_multi_pass(multi, &pass, b->x, u, hook, tp, b->labels, passes)
		   : cam_pass_run_hooked(&pass, split, b->x, u, hook, tp, b->labels, passes)) < 0) {
		if (fake_oom(b->n) || is_oom(ts_error()))
			oom = 1;
		else
			group_runs_fail(r, gr, ng, "the shared pass failed");
		goto out;
	}
	/* aug_smooth's five more passes (a fused layer's at all its layers), once for all the runs that ask */
	if (want_aug && (multi ? cam_multi_aug_run(multi, &aug, &pass, b->x, aug_passes)
			       : cam_aug_run(&aug, &pass, b->x, aug_passes)) < 0) {
		if (is_oom(ts_error()))
			oom = 1;
		for (k = 0; k < ng && !oom; k++)
			if (gr[k].smooth & CAM_SMOOTH_AUG)
				group_runs_fail(r, &gr[k], 1, "aug_smooth's passes failed");
	}
	r->t_pass += progress_now() - t;
	t = progress_now();
	for (k = 0; k < ng && !oom; k++) {
		struct group_run *g = &gr[k];
		struct cam_extra ek = extra;
		ts_tensor *s, *heat;
		if (g->failed)
			continue;
		ek.smooth = g->smooth;
		error_last_reset();
		s = g->mapper.map(&pass, &ek, g->mapper.ud);
		heat = s ? cam_heatmap(s, &ek, b->h, b->w) : NULL;
		if (!heat || metrics_eval(&pass, b->x, heat, &g->mapper, &ek, r->metrics, rows + k * b->n) < 0 ||
		    fidelity_eval(&fid, &pass, &ek, s, r->metrics, rows + k * b->n) < 0) {
			/* a method defined in Lua says why with error(); a tensor operation through ts_error() */
			if (*error_last())
				group_run_fail(r, g, error_last());
			else if (is_oom(ts_error()))
				oom = 1;
			else
				group_run_fail(r, g, ts_error());
		} else if (error_last_reset(),
			   user_metrics(r, g, heat, rows + k * b->n, b->n, uvals + k * b->n * nu) < 0) {
			group_runs_fail(r, g, 1, "a metric defined in Lua failed");
		} else {
			ok[k] = 1;
			maps[k] = figure_maps(r, b, heat);
			if (r->metrics & METRICS_GROUP) {
				heats[k] = heat;
				heat = NULL;
			}
		}
		ts_free(s);
		ts_free(heat);
	}
	if (!oom && (r->metrics & METRICS_GROUP) && group_metrics(r, gr, ng, &pass, &extra, heats, ok, rows, b->n))
		oom = 1;
	r->t_maps += progress_now() - t;
	t = progress_now();
	if (oom)
		goto out;
	if (store_batch(r, gr, ng, b, &pass, rows, uvals, maps, ok) == 0)
		r->t_store += progress_now() - t;
	test_pause();
out:
	for (k = 0; k < ng; k++) {
		free(maps[k]);
		ts_free(heats[k]);
	}
	free(maps);
	fidelity_cache_free(fid);
	cam_multi_clear(multi);
	cam_aug_release(&aug);
	free(heats);
	cam_pass_release(&pass);
	free(rows);
	free(ok);
	free(uvals);
	return oom;
}

/*
 * A batch, halved as often as the device needs: an out-of-memory error splits it in two and lowers the
 * batch size for the rest of the run, which goes on.
 */
void group_batch_process(struct runner *r, struct group_run *gr, size_t ng, ts_split *split,
			 struct cam_multi *multi, const struct batch *b, enum utility u,
			 const struct utility_hook *hook, const struct target_policy *tp)
{
	size_t half, part;

	if (!group_batch(r, gr, ng, split, multi, b, u, hook, tp) || r->store_failed)
		return;
	if (b->n == 1) {
		size_t k;
		for (k = 0; k < ng; k++)
			group_run_fail(r, &gr[k], "out of memory with a single image");
		return;
	}
	half = (b->n + 1) / 2;
	if ((size_t)r->batch > half) {
		r->batch = (int)half;
		if (r->bar)
			fputc('\n', stderr);
		warning("out of memory with %zu images: continuing with batches of %zu", b->n, half);
	}
	for (part = 0; part < 2; part++) {
		size_t off = part ? half : 0, len = part ? b->n - half : half;
		struct batch view = { len, b->items + off, b->labels + off, b->shown + off,
				      ts_narrow(b->x, 0, (int64_t)off, (int64_t)len), b->h, b->w };
		group_batch_process(r, gr, ng, split, multi, &view, u, hook, tp);
		ts_free(view.x); /* the view borrows everything else from b */
	}
}

/*
 * batch: auto on a CUDA device. The first batch (BATCH_PROBE images) is measured: the device memory it
 * took, over its images, sizes the rest to BATCH_MEM_SHARE of what was free before it, a power of two
 * from BATCH_PROBE to BATCH_MAX. Measured once per process, on a fresh allocator cache; an
 * out-of-memory error later still halves the batch.
 */
enum { BATCH_PROBE = 32, BATCH_MAX = 512 };
#define BATCH_MEM_SHARE 0.6

void group_batch_auto_size(struct runner *r, int64_t free_before, size_t probed)
{
	int64_t free_after, total, per_image;
	int b = BATCH_PROBE;

	r->batch_auto = 0;
	if (r->batch != BATCH_PROBE || probed == 0) /* halved already: memory decided */
		return;
	if (ts_device_memory(r->device, &free_after, &total) < 0) {
		warning("batch auto: %s; keeping batches of %d", ts_error(), r->batch);
		return;
	}
	per_image = (free_before - free_after) / (int64_t)probed;
	if (per_image < (1 << 20))
		per_image = 1 << 20;
	while (b < BATCH_MAX && (double)per_image * 2 * b <= BATCH_MEM_SHARE * (double)free_before)
		b *= 2;
	r->batch = b;
	if (r->bar)
		fputc('\n', stderr);
	fprintf(stderr, "batch auto on %s: %d images (the first batch took %.0f MiB per image; %.1f of %.1f GiB "
		"were free)\n", r->device, b, (double)per_image / (1 << 20), (double)free_before / (1 << 30),
	     (double)total / (1 << 30));
}

/*
 * batch: auto, decided per group on this worker's device (CUDA only): the first batch is BATCH_PROBE
 * images, decoded far enough ahead for the size it may grow to, and *free_before the device memory free
 * before it, for group_batch_auto_size() to measure against.
 */
void group_batch_auto_begin(struct runner *r, struct batch_source *src, int64_t *free_before)
{
	int64_t total;

	if (r->batch_auto && strncmp(r->device, "cuda", 4))
		r->batch_auto = 0;
	if (!r->batch_auto)
		return;
	if (ts_device_memory(r->device, free_before, &total) < 0) {
		warning("batch auto: %s; using batches of %d", ts_error(), r->batch);
		r->batch_auto = 0;
	} else {
		r->batch = BATCH_PROBE;
		src->ahead = 2 * BATCH_MAX;
	}
}
