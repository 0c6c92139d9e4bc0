/*
 * run.c - the experiment runner (see run.h).
 *
 * Runs that share model, layer, utility and target form a group: one pass per batch (forward, backward
 * and, when a Shapley method is in the group, one Hessian-vector product) serves every method of the
 * group, and each method then adds only its metric forwards. A batch's rows for all runs of the group
 * are committed in one transaction, so Ctrl-C or kill -9 loses at most the batch in flight.
 */
#include "interp/run.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>


#include "cam/batch.h"
#include "cam/methods.h"
#include "cam/metrics.h"
#include "cam/model.h"
#include "cam/torch_load.h"
#include "interp/luacam.h"
#include "reports/report.h"
#include "lib/error.h"
#include "lib/fs.h"
#include "lib/quote.h"
#include "lib/strbuf.h"
#include "lib/xalloc.h"
#include "store/store.h"

static char *read_file(const char *path)
{
	struct strbuf sb = STRBUF_INIT;
	char buf[4096];
	size_t got;
	FILE *fp = fopen(path, "rb");
	if (!fp)
		return strbuf_detach(&sb, NULL);
	while ((got = fread(buf, 1, sizeof(buf), fp)) > 0)
		strbuf_add(&sb, buf, got);
	fclose(fp);
	return strbuf_detach(&sb, NULL);
}

static double seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* The images an experiment covers: the first `limit`, or a seeded random subset of that size. */
static size_t *select_images(const struct exp_data *d, size_t nr, size_t *n_out)
{
	size_t n = d->limit && d->limit < nr ? d->limit : nr, i;
	size_t *all = xmalloc((nr ? nr : 1) * sizeof(size_t));
	for (i = 0; i < nr; i++)
		all[i] = i;
	if (d->shuffle) {
		/* splitmix64: a documented, portable generator, so a seed names the same subset everywhere */
		unsigned long long x = d->seed;
		for (i = nr; i > 1; i--) {
			unsigned long long z = (x += 0x9e3779b97f4a7c15ULL);
			size_t j, t;
			z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
			z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
			z ^= z >> 31;
			j = (size_t)(z % i);
			t = all[i - 1];
			all[i - 1] = all[j];
			all[j] = t;
		}
		/* keep the chosen images in dataset order: results read more naturally */
		for (i = 1; i < n; i++) {
			size_t v = all[i], k = i;
			while (k > 0 && all[k - 1] > v) {
				all[k] = all[k - 1];
				k--;
			}
			all[k] = v;
		}
	}
	*n_out = n;
	return all;
}

struct runner {
	const struct experiment *e;
	const struct run_opts *o;
	char *out; /* the results folder: the experiment's output, or its shard's */
	struct plan plan;
	struct store *store;
	struct dataset ds;
	size_t *images, nr_images; /* the selection, as dataset indices */
	unsigned metrics;
	unsigned char *figure; /* per dataset index: its heatmaps are kept for figures */
	struct luacam *lua;    /* the experiment's Lua definitions, or NULL */
	const char **user_metrics; /* names of the metrics defined in Lua */
	size_t nr_user_metrics;
	/* the loaded model */
	long model_index;
	long *label_map; /* the loaded model's classes of the dataset's labels, NULL: as they are */
	char **paths;	 /* the dataset's image paths (borrowed from ds), to check stored results against */
	struct model model;
	struct preprocess pp;
	ts_tensor *fc;
	/* progress */
	int bar;
	size_t runs_done, images_done_now, batches_done;
	double t0, t_line; /* the start; the last progress line without a bar */
	int failed;
	/*
	 * A write to the results database failed (a full disk, a file made read-only or damaged): every
	 * later batch would fail alike, so the run stops, keeping every batch committed before
	 */
	int store_failed;
	int batch; /* images per batch: the experiment's, halved after an out-of-memory error */
	int batch_auto; /* batch: auto on a CUDA device: 1 until the first batch has been measured */
	/* where a group's time went, in seconds: waiting for decoded images, the shared pass, the methods'
	 * maps and metrics (device work is counted where its results reach the host), the database */
	double t_wait, t_pass, t_maps, t_store;
	/* the end of the group's first batch and its images: the rate after it leaves out the cold start */
	double t_first;
	size_t n_first;
	const char *device;  /* this worker's device */
	int worker, workers; /* this process is worker `worker` of `workers`, one per device */
	int decode_workers;  /* image decoding threads (-1: one per core) */
	/* per group, the chunks of its images that the workers take in turn (shared across fork) */
	struct batch_share *shares;
	size_t nr_groups;
};

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

static int store_failure(struct runner *r);

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
		return store_failure(r);
	free(r->label_map);
	r->label_map = model_label_map(&r->model, &r->ds);
	r->model_index = (long)mi;
	return 0;
}

/*
 * Whether a progress report is due at time t: after every batch with a bar (on a terminal), else a line
 * every --log-every seconds (never with 0).
 */
static int progress_due(struct runner *r, int bar, double t)
{
	if (!bar && (r->o->log_every <= 0 || t - r->t_line < r->o->log_every))
		return 0;
	r->t_line = t;
	return 1;
}

/*
 * An images/s figure readable at both ends: 1536.4, 4.42, 0.0391 (a network on a slow CPU), never
 * "0.0" for a run that is moving. No exponent: the benchmark scripts read these numbers.
 */
static const char *rate_text(double v, char buf[32])
{
	snprintf(buf, 32, "%.*f", v >= 10 ? 1 : v >= 1 ? 2 : v >= 0.1 ? 3 : 4, v);
	return buf;
}

/* The end of a progress report: the time left at rate, then the end of its line (none for a bar). */
static void progress_end(int bar, double left, double rate)
{
	if (rate > 0 && left > 0) {
		long eta = (long)(left / rate);
		fprintf(stderr, "  ETA %ld:%02ld:%02ld", eta / 3600, eta / 60 % 60, eta % 60);
	}
	fputs(bar ? "" : "\n", stderr);
	fflush(stderr);
}

/* Where the run is (quiet in workers: the parent reports for all of them). */
static void progress(struct runner *r, size_t run_i, size_t nruns, size_t done, size_t total,
		     const char *label)
{
	double t = seconds(), dt = t - r->t0, rate = dt > 0 ? (double)r->images_done_now / dt : 0;
	char buf[32];
	if (r->workers > 1 || !progress_due(r, r->bar, t))
		return;
	fprintf(stderr, "%s[run %zu/%zu] %s  %zu/%zu images  %s img/s", r->bar ? "\r\033[K" : "", run_i,
		nruns, label, done, total, rate_text(rate, buf));
	progress_end(r->bar, (double)total - (double)done, rate);
}

struct group_run;
static ts_tensor *user_map(const struct cam_pass *p, const struct cam_extra *extra, void *ud);

struct group_run {
	struct plan_run *pr;
	struct cam_mapper mapper;
	const char *user;    /* a Lua method's name, or NULL for a built-in one */
	struct luacam *lua;
	unsigned char *done; /* per dataset index */
	int failed;
	char *error;
	size_t stored;
	size_t nonfinite; /* of them, images whose class probability was NaN or infinite */
	int started; /* its state went from pending to partial with its first stored batch */
};

static ts_tensor *user_map(const struct cam_pass *p, const struct cam_extra *extra, void *ud)
{
	struct group_run *g = ud;
	(void)extra;
	return luacam_method(g->lua, g->user, p->a, p->g, p->ha);
}

/*
 * The results database could not take a write: what is in flight is rolled back (SQLite may have done
 * so already), so that nothing is half-written, and the run stops at the next check of store_failed.
 * Returns -1.
 */
static int store_failure(struct runner *r)
{
	if (!r->store_failed) {
		r->store_failed = 1;
		if (r->bar)
			fputc('\n', stderr);
	}
	store_rollback(r->store);
	return -1;
}

static void fail_run(struct runner *r, struct group_run *g, const char *why)
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
		store_failure(r);
		return;
	}
	for (i = *nr_recorded; i < src->nr_skipped; i++) {
		size_t idx = src->skipped[i];
		for (k = 0; k < ng; k++)
			if (!gr[k].failed &&
			    store_put_skipped(r->store, gr[k].pr->key, (long)idx, r->ds.items[idx].path) < 0) {
				store_failure(r);
				return;
			}
	}
	if (store_commit(r->store) < 0) {
		store_failure(r);
		return;
	}
	for (i = *nr_recorded; i < src->nr_skipped; i++)
		for (k = 0; k < ng; k++)
			if (!gr[k].failed)
				gr[k].done[src->skipped[i]] = 1;
	*nr_recorded = src->nr_skipped;
}

/*
 * Fail the group's runs because what failed: with the message of the error that said why, which the
 * results database keeps (error_last_reset() before the step), or pointing above when there was none.
 */
static void fail_runs(struct runner *r, struct group_run *gr, size_t ng, const char *what)
{
	struct strbuf why = STRBUF_INIT;
	size_t k;

	if (*error_last())
		strbuf_addf(&why, "%s: %s", what, error_last());
	else
		strbuf_addf(&why, "%s (see above)", what);
	for (k = 0; k < ng; k++)
		fail_run(r, &gr[k], why.buf);
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

struct user_utility_ctx {
	struct luacam *lua;
	const char *name;
};

static ts_tensor *user_utility(void *ud, const ts_tensor *logits, const ts_tensor *target)
{
	struct user_utility_ctx *c = ud;
	return luacam_utility(c->lua, c->name, logits, target);
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
 * A third test knob: CAMLAB_TEST_DB_PAGES=K lets the results database grow by K pages (of 4 KiB) from
 * its size when opened, after which SQLite's writes fail with SQLITE_FULL as they do on a full disk
 * (PRAGMA max_page_count), to test that a run stops and resumes without a disk to fill.
 */
static void fake_full_disk(struct store *s)
{
	const char *v = getenv("CAMLAB_TEST_DB_PAGES");

	if (s && v && *v)
		store_limit_growth(s, strtol(v, NULL, 10));
}

/*
 * One batch for every run of a group: the shared pass, then each method's heatmaps and metrics; the
 * rows of images a run does not have yet are then written in one short transaction, so that another
 * camlab process writing to the same database (one per device) never waits for a computation.
 * Returns 1 when the device ran out of memory (nothing was written), else 0.
 */
static int group_batch(struct runner *r, struct group_run *gr, size_t ng, ts_split *split,
		       const struct batch *b, enum utility u, const struct utility_hook *hook,
		       const struct target_policy *tp)
{
	size_t nu = r->nr_user_metrics, m;
	double *uvals = xcalloc(b->n * ng * (nu ? nu : 1), sizeof(double));
	struct cam_pass pass = CAM_PASS_INIT;
	struct cam_extra extra = { .model = r->model.mod,
				   .x = b->x,
				   .fc = r->fc,
				   .seed = r->e->seed,
				   .items = b->items,
				   .chunk = r->batch * 4,
				   .mean = r->pp.mean,
				   .std = r->pp.std };
	struct metric_row *rows = xcalloc(b->n * ng, sizeof(*rows));
	float **maps = xcalloc(ng, sizeof(*maps));
	unsigned char *ok = xcalloc(ng, 1);
	unsigned passes = 0;
	size_t k, i;
	int oom = 0;

	for (k = 0; k < ng; k++)
		if (!gr[k].failed)
			passes |= gr[k].mapper.passes;
	double t = seconds();

	error_last_reset();
	if (fake_oom(b->n) || cam_pass_run_hooked(&pass, split, b->x, u, hook, tp, b->labels, passes) < 0) {
		if (fake_oom(b->n) || is_oom(ts_error()))
			oom = 1;
		else
			fail_runs(r, gr, ng, "the shared pass failed");
		goto out;
	}
	r->t_pass += seconds() - t;
	t = seconds();
	for (k = 0; k < ng && !oom; k++) {
		struct group_run *g = &gr[k];
		ts_tensor *s, *heat;
		if (g->failed)
			continue;
		error_last_reset();
		s = g->mapper.map(&pass, &extra, g->mapper.ud);
		heat = cam_postprocess(s, b->h, b->w);
		if (!heat || metrics_eval(&pass, b->x, heat, &g->mapper, &extra, r->metrics, rows + k * b->n) < 0) {
			/* a method defined in Lua says why with error(); a tensor operation through ts_error() */
			if (*error_last())
				fail_run(r, g, error_last());
			else if (is_oom(ts_error()))
				oom = 1;
			else
				fail_run(r, g, ts_error());
		} else if (error_last_reset(),
			   user_metrics(r, g, heat, rows + k * b->n, b->n, uvals + k * b->n * nu) < 0) {
			fail_runs(r, g, 1, "a metric defined in Lua failed");
		} else {
			ok[k] = 1;
			maps[k] = figure_maps(r, b, heat);
		}
		ts_free(s);
		ts_free(heat);
	}
	r->t_maps += seconds() - t;
	t = seconds();
	if (oom)
		goto out;
	if (store_begin(r->store) < 0)
		goto store_failed;
	for (k = 0; k < ng; k++) {
		struct group_run *g = &gr[k];
		const struct metric_row *rk = rows + k * b->n;
		if (!ok[k] || g->failed)
			continue;
		if (keep_figures(r, g, b, maps[k]) < 0)
			goto store_failed;
		for (i = 0; i < b->n; i++) {
			size_t idx = b->items[i];
			struct store_image img = { (long)idx, r->ds.items[idx].path, b->labels[i], pass.classes[i],
						   rk[i].ad, rk[i].coh, rk[i].com, rk[i].ic, rk[i].add,
						   rk[i].y, rk[i].o, rk[i].d };
			if (g->done[idx])
				continue;
			if (store_put_image(r->store, g->pr->key, &img) < 0)
				goto store_failed;
			for (m = 0; m < nu; m++)
				if (store_put_user_metric(r->store, g->pr->key, (long)idx, r->user_metrics[m],
							  uvals[(k * b->n + i) * nu + m]) < 0)
					goto store_failed;
		}
		if (!g->started && cam_pass_note(&pass, g->mapper.passes) &&
		    ((pass.hvp_zero && (g->mapper.passes & CAM_PASS_HVP) &&
		      fprintf(stderr, "note: run %s: %s\n", g->pr->key, CAM_HVP_ZERO_NOTE) < 0) ||
		     store_set_run_note(r->store, g->pr->key, cam_pass_note(&pass, g->mapper.passes)) < 0))
			goto store_failed;
		/* an interrupted run holds results: status and plan say partial, not pending */
		if (!g->started && store_run_started(r->store, g->pr->key) < 0)
			goto store_failed;
	}
	if (store_commit(r->store) < 0)
		goto store_failed;
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
	r->t_store += seconds() - t;
	goto out;
store_failed:
	store_failure(r);
out:
	for (k = 0; k < ng; k++)
		free(maps[k]);
	free(maps);
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
static void process_batch(struct runner *r, struct group_run *gr, size_t ng, ts_split *split,
			  const struct batch *b, enum utility u, const struct utility_hook *hook,
			  const struct target_policy *tp)
{
	size_t half, part;

	if (!group_batch(r, gr, ng, split, b, u, hook, tp) || r->store_failed)
		return;
	if (b->n == 1) {
		size_t k;
		for (k = 0; k < ng; k++)
			fail_run(r, &gr[k], "out of memory with a single image");
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
		process_batch(r, gr, ng, split, &view, u, hook, tp);
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

static void size_batch(struct runner *r, int64_t free_before, size_t probed)
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
 * Returns 1 if it is done, 0 if not, -1 when the database could not take it (store_failure).
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
		return store_failure(r);
	return nd == want;
}

/*
 * A group of runs as run_group() works through it. The utility hook, target policy and cut model are
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
	struct utility_hook uhook;
	const struct utility_hook *hook; /* &uhook for a utility defined in Lua, else NULL */
	struct target_policy tp;
	ts_split *split;
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
	const char *mname = r->e->methods[g->pr->method].name;
	unsigned mask = 0;
	char why[1024];

	if (luacam_load_error(r->lua, mname)) {
		fail_run(r, g, luacam_load_error(r->lua, mname));
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
		error_set_quiet(1);
		if (cam_methods_parse(mname, &mask) < 0 || !mask || (mask & (mask - 1))) {
			error_set_quiet(0);
			snprintf(why, sizeof(why), "method '%s' is neither built in nor defined", mname);
			fail_run(r, g, why);
			return -1;
		}
		error_set_quiet(0);
		cam_mapper_builtin(&g->mapper, (enum cam_method)__builtin_ctz(mask));
	}
	/* on request, the paper code's live activations: only runs that use HA see them */
	if (r->e->quirk && (g->mapper.passes & CAM_PASS_HVP))
		g->mapper.passes |= CAM_PASS_LIVE_A;
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
		fail_run(r, g, error_last()[0] ? error_last() : "cannot read the run's stored images");
		return;
	}
	if (changed >= 0) {
		/* resuming would give the new file the old one's results, and skip the new file */
		snprintf(why, sizeof(why),
			 "the dataset changed since this run stored results: its image %ld is now "
			 "'%s', another file then (files added or removed renumber the images); "
			 "restore the dataset, or use a new output folder",
			 changed, r->paths[changed]);
		fail_run(r, g, why);
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
	grp->t_start = seconds();
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
	ts_split_free(grp->split);
	free(grp->want);
	free(grp->runs);
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
			fail_run(r, &grp->runs[k], luacam_load_error(r->lua, uname));
		return -1;
	}
	error_last_reset();
	if (load_model(r, pr0->model) < 0) {
		if (!r->store_failed) /* the database's trouble is no fault of the runs */
			fail_runs(r, grp->runs, grp->nr, "cannot load the model");
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
		u = utility_parse(uname);
	}
	if (u < 0 ||
	    target_parse(r->e->targets[pr0->target].name, lookup_class, &r->model, &grp->tp, &topk) < 0) {
		fail_runs(r, grp->runs, grp->nr, "bad utility or target");
		return -1;
	}
	grp->utility = (enum utility)u;
	if (pr0->rank) { /* one rank of a top-k target */
		grp->tp.kind = TARGET_TOPK;
		grp->tp.index = pr0->rank;
	}
	/* the spec's layout was validated by experiment_validate; NULL is the default, auto */
	error_last_reset();
	if (model_layout_parse(el->layout ? el->layout : "auto", &layout) < 0 ||
	    model_split(&r->model, el->path, layout, &grp->split) < 0 ||
	    model_split_tokens(grp->split, el->path, el->prefix_tokens, el->grid_h, el->grid_w) < 0) {
		fail_runs(r, grp->runs, grp->nr, "cannot cut the model at the layer");
		return -1;
	}
	return 0;
}

/*
 * batch: auto, decided per group on this worker's device (CUDA only): the first batch is BATCH_PROBE
 * images, decoded far enough ahead for the size it may grow to, and *free_before the device memory free
 * before it, for size_batch() to measure against.
 */
static void batch_auto_begin(struct runner *r, struct batch_source *src, int64_t *free_before)
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
	batch_auto_begin(r, &src, &free_before);
	tw = seconds();
	r->t_wait = r->t_pass = r->t_maps = r->t_store = 0;
	r->n_first = 0;
	while ((rc = batch_next(&src, &b, (size_t)r->batch)) > 0) {
		r->t_wait += seconds() - tw;
		record_skipped(r, grp->runs, grp->nr, &src, &nr_recorded);
		map_labels(r, &b);
		process_batch(r, grp->runs, grp->nr, grp->split, &b, grp->utility, grp->hook, &grp->tp);
		if (r->batch_auto)
			size_batch(r, free_before, b.n);
		if (!done_here) {
			r->t_first = seconds();
			r->n_first = b.n;
		}
		done_here += b.n;
		r->images_done_now += b.n;
		fake_crash(r, ++r->batches_done);
		progress(r, r->runs_done + 1, r->plan.nr, done_here, grp->nr_todo,
			 plan_run_label(&r->plan, grp->pr0));
		if (all_failed(grp->runs, grp->nr) || (r->failed && r->o->fail_fast) || r->store_failed)
			break;
		tw = seconds();
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
			fail_run(r, &grp->runs[k], "a batch could not be prepared (see above)");
}

/*
 * The speed of n images in dt seconds, also after the first batch (without model loading and the
 * device's cold start), and where the time went.
 */
static void log_rate(const struct runner *r, size_t n, double dt)
{
	double t_after = seconds() - r->t_first;
	char buf[32];

	fprintf(stderr, " in %.1f s, %s images/s", dt, rate_text((double)n / dt, buf));
	if (r->n_first && n > r->n_first && t_after > 0)
		fprintf(stderr, ", %s after the first batch",
			rate_text((double)(n - r->n_first) / t_after, buf));
	fprintf(stderr,
		" (waiting for images %.2f s, pass %.2f s, maps and metrics %.2f s, "
		"database %.2f s)",
		r->t_wait, r->t_pass, r->t_maps, r->t_store);
}

/* The group's line in the log: what it computed and how fast, or why it computed nothing. */
static void group_log(const struct runner *r, const struct group *grp)
{
	double dt;
	size_t n;

	if (r->bar)
		fputs("\r\033[K", stderr);
	dt = seconds() - grp->t_start;
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
		log_rate(r, n, dt);
	if (grp->nr_pending > grp->nr_todo)
		fprintf(stderr, "; %zu left for a later run", grp->nr_pending - grp->nr_todo);
	fputc('\n', stderr);
}

/*
 * Runs first..last-1 of the plan (group g) share model, layer, utility and target. With several
 * workers, each takes chunks of the group's images until none is left, and the runs' states are
 * settled by the parent once all have finished.
 */
static void run_group(struct runner *r, size_t first, size_t last, size_t g)
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

/* Which images figures show, and what the report should produce, for reports to read from the database. */
static int record_outputs(struct runner *r)
{
	const struct experiment *e = r->e;
	struct strbuf sb = STRBUF_INIT;
	long *idx = xcalloc(e->nr_figures + 1, sizeof(long));
	const char **by = xcalloc(e->nr_figures + 1, sizeof(char *));
	size_t i, j, n = 0;
	int ret = 0;

	r->figure = xcalloc(r->ds.nr ? r->ds.nr : 1, 1);
	for (i = 0; i < e->nr_figures; i++) {
		const char *img = e->figures[i].image;
		char *end;
		long v = strtol(img, &end, 10);
		/*
		 * A number is a position among the experiment's images, not in the dataset: with shuffle,
		 * `image: 0` is the first of the images drawn (a dataset index would rarely be among them).
		 */
		if (!*end && end != img) {
			if (v < 0 || (size_t)v >= r->nr_images) {
				warning("%s:%d:%d: figure image %s: the experiment has %zu image(s), 0 to %zu; no "
					"figure for it",
					e->file, e->figures[i].pos.line, e->figures[i].pos.col, img,
					r->nr_images, r->nr_images ? r->nr_images - 1 : 0);
				continue;
			}
			v = (long)r->images[v];
		} else {
			size_t len = strlen(img);
			for (v = -1, j = 0; j < r->ds.nr && v < 0; j++) {
				size_t pl = strlen(r->ds.items[j].path);
				if (pl >= len && !strcmp(r->ds.items[j].path + pl - len, img))
					v = (long)j;
			}
			for (j = 0; j < r->nr_images && v >= 0 && r->images[j] != (size_t)v; j++)
				;
			if (v < 0 || j == r->nr_images) {
				warning("%s:%d:%d: figure image '%s' is not among the experiment's images; "
					"no figure for it",
					e->file, e->figures[i].pos.line, e->figures[i].pos.col, img);
				continue;
			}
		}
		r->figure[v] = 1;
		idx[n] = v;
		by[n++] = e->figures[i].by ? e->figures[i].by : "method";
	}
	ret |= store_set_figures(r->store, idx, by, n);
	ret |= store_set_output(r->store, "name", e->name ? e->name : "experiment");
	ret |= store_set_output(r->store, "tables", e->tables ? "1" : "0");
	ret |= store_set_output(r->store, "plots", e->plots ? "1" : "0");
	for (i = 0; i < e->nr_table_formats; i++)
		strbuf_addf(&sb, "%s%s", i ? "," : "", e->table_formats[i]);
	ret |= store_set_output(r->store, "formats", sb.buf);
	ret |= store_set_output(r->store, "paper", e->paper_table ? e->paper_table : "");
	strbuf_release(&sb);
	free(idx);
	free(by);
	return ret ? -1 : 0;
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
static size_t group_end(const struct plan *p, size_t i)
{
	size_t j;
	for (j = i + 1; j < p->nr && same_group(&p->runs[i], &p->runs[j]); j++)
		;
	return j;
}

struct devices {
	char **names;
	size_t nr;
};

static void devices_release(struct devices *d)
{
	size_t i;
	for (i = 0; i < d->nr; i++)
		free(d->names[i]);
	free(d->names);
}

/*
 * The devices to run on: --devices LIST (or "all": every visible CUDA device), else the experiment's.
 * Asking libtorch how many GPUs there are would start it before the fork, so "all" counts the
 * CUDA_VISIBLE_DEVICES list or the /dev/nvidiaN files instead.
 */
static int devices_of(const struct experiment *e, const struct run_opts *o, struct devices *d)
{
	const char *list = o->devices && *o->devices ? o->devices : (e->device ? e->device : "cpu");
	char *copy, *p, *comma;

	if (!strcmp(list, "all")) {
		const char *vis = getenv("CUDA_VISIBLE_DEVICES");
		size_t n = 0, i;
		if (vis && *vis) {
			n = 1;
			for (p = (char *)vis; *p; p++)
				n += *p == ',';
		} else {
			char path[32];
			for (n = 0; n < 64; n++) {
				snprintf(path, sizeof(path), "/dev/nvidia%zu", n);
				if (access(path, F_OK) < 0)
					break;
			}
		}
		if (!n)
			return error("--devices all: no CUDA device is visible");
		d->names = xcalloc(n, sizeof(char *));
		for (i = 0; i < n; i++) {
			char name[32];
			snprintf(name, sizeof(name), "cuda:%zu", i);
			d->names[d->nr++] = xstrdup(name);
		}
		return 0;
	}
	copy = xstrdup(list);
	for (p = copy;; p = comma + 1) {
		comma = strchr(p, ',');
		if (comma)
			*comma = '\0';
		if (*p && !experiment_valid_device(p)) {
			/* checked here because asking libtorch would start it before the fork */
			error("unsupported device '%s': use cpu, cuda or cuda:N", p);
			free(copy);
			return -1;
		}
		if (*p) {
			d->names = xrealloc(d->names, (d->nr + 1) * sizeof(char *));
			d->names[d->nr++] = xstrdup(p);
		}
		if (!comma)
			break;
	}
	free(copy);
	return d->nr ? 0 : error("no device given");
}

/* A worker's exit status when the results database could not take a write. */
enum { RUN_STORE_FAILED = 3 };

/*
 * Run the groups, taking chunks of their images with the other workers (if any). Returns 0, 1, or
 * RUN_STORE_FAILED when it stopped because the results database could not take a write.
 */
static int run_worker(struct runner *r)
{
	struct diag d = DIAG_INIT;
	size_t i, j, g;

	if (r->e->nr_defs) {
		r->lua = luacam_new(r->e, &d);
		/* a method or utility that does not load fails its runs (at their group); a metric, all */
		for (i = 0; i < r->e->nr_defs; i++)
			if (r->e->defs[i].kind == EXP_DEF_METRIC &&
			    luacam_load_error(r->lua, r->e->defs[i].name))
				break;
		if (d.errors)
			diag_print(&d, stderr);
		if (i < r->e->nr_defs) {
			diag_release(&d);
			return 1;
		}
	}
	diag_release(&d);
	for (i = 0; i < r->e->nr_metrics; i++) {
		if (!luacam_has_metric(r->lua, r->e->metrics[i].name))
			continue;
		r->user_metrics = xrealloc(r->user_metrics, (r->nr_user_metrics + 1) * sizeof(char *));
		r->user_metrics[r->nr_user_metrics++] = r->e->metrics[i].name;
		/* a Lua metric is given y, o and d: compute them even if no built-in metric needs them */
		r->metrics |= (1u << METRIC_AD) | (1u << METRIC_ADD);
	}
	if (ts_init(r->workers > 1 ? 1 : 0) < 0 || ts_device_check(r->device) < 0)
		return error("%s", ts_error()) ? 1 : 1;
	if (!r->store) {
		if (!(r->store = store_open(r->out)))
			return 1;
		fake_full_disk(r->store);
	}
	r->t0 = r->t_line = seconds();
	for (i = 0, g = 0; i < r->plan.nr; i = j, g++) {
		j = group_end(&r->plan, i);
		run_group(r, i, j, g);
		if (r->store_failed)
			return RUN_STORE_FAILED;
		if (r->failed && r->o->fail_fast) {
			error("stopping at the first failure (--fail-fast)");
			break;
		}
	}
	return r->failed ? 1 : 0;
}

/* Image results the database holds for the plan's runs (at most the selection's size per run). */
static long stored_results(struct runner *r)
{
	long n = 0;
	size_t i;
	for (i = 0; i < r->plan.nr; i++) {
		long nd = 0;
		free(store_run_state(r->store, r->plan.runs[i].key, &nd));
		n += nd < (long)r->nr_images ? nd : (long)r->nr_images;
	}
	return n;
}

/* The workers' progress, from the database, as progress() shows a single process's. */
static void watch(struct runner *r, int bar, size_t nworkers, long base, double t0)
{
	double t = seconds(), rate;
	long done, total = (long)(r->plan.nr * r->nr_images);

	if (!progress_due(r, bar, t))
		return;
	done = stored_results(r);
	rate = t > t0 ? (double)(done - base) / (t - t0) : 0;
	fprintf(stderr, "%s[%zu workers] %ld/%ld image results stored  %.1f/s", bar ? "\r\033[K" : "",
		nworkers, done, total, rate);
	progress_end(bar, (double)(total - done), rate);
}

/*
 * One child process per device, all working through the groups in order, each taking chunks of a
 * group's images while any are left; waits for all, showing their progress from the database.
 * Returns 0 or 1.
 */
static int fork_workers(struct runner *r, const struct devices *devs)
{
	pid_t *pids = xcalloc(devs->nr, sizeof(pid_t));
	size_t i, alive = 0;
	int ret = 0, status, bar = r->bar;
	pid_t parent;
	long base;
	double t0;

	ts_load_wait(); /* never fork while the loader thread may hold the dynamic loader's lock */
	parent = getpid();
	fflush(stdout);
	fflush(stderr);
	for (i = 0; i < devs->nr; i++) {
		pids[i] = fork();
		if (pids[i] < 0) {
			ret = error("cannot start a worker for '%s': %s", devs->names[i], strerror(errno));
			break;
		}
		if (pids[i] == 0) {
			/* a worker ends with the run: killed, its parent leaves no process computing alone */
			if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != parent)
				_exit(1);
			r->device = devs->names[i];
			r->worker = (int)i;
			r->workers = (int)devs->nr;
			if (r->o->workers < 0) {
				/* the cores are shared by the device processes */
				long cores = sysconf(_SC_NPROCESSORS_ONLN);
				r->decode_workers = cores > (long)devs->nr ? (int)(cores / (long)devs->nr) : 1;
			}
			/* the parent shows the progress of all (progress() is quiet in workers) */
			r->bar = 0;
			fprintf(stderr, "worker %zu on %s\n", i, r->device);
			_exit(run_worker(r));
		}
		alive++;
	}
	r->store = store_open(r->out);
	base = r->store ? stored_results(r) : 0;
	r->t_line = t0 = seconds();
	while (alive) {
		int any = 0;
		for (i = 0; i < devs->nr; i++) {
			pid_t p;
			if (pids[i] <= 0 || !(p = waitpid(pids[i], &status, WNOHANG)))
				continue;
			any = 1;
			alive--;
			pids[i] = 0;
			if (p > 0 && WIFEXITED(status) && WEXITSTATUS(status) == RUN_STORE_FAILED)
				r->store_failed = 1;
			if (p < 0 || !WIFEXITED(status) || WEXITSTATUS(status)) {
				if (p > 0 && !WIFEXITED(status))
					error("the worker on '%s' died (signal %d)", devs->names[i],
					      WTERMSIG(status));
				ret = 1;
			}
		}
		if (alive && !any) {
			usleep(200 * 1000);
			if (r->store)
				watch(r, bar, devs->nr, base, t0);
		}
	}
	if (bar)
		fputs("\r\033[K", stderr);
	free(pids);
	return ret;
}

/*
 * After the workers: every run's state and aggregates from what they stored (failed runs stay failed).
 * Returns how many runs are done.
 */
static size_t settle_runs(struct runner *r)
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

char *run_shard_dir(const char *output, int i, int n)
{
	struct strbuf sb = STRBUF_INIT;
	strbuf_addf(&sb, "%s/shards/shard-%03d-of-%03d", output, i, n);
	return strbuf_detach(&sb, NULL);
}

static int cmp_shard(const void *a, const void *b)
{
	const struct run_shard *x = a, *y = b;
	return x->n != y->n ? (x->n > y->n) - (x->n < y->n) : (x->i > y->i) - (x->i < y->i);
}

long run_shards(const char *output, struct run_shard **out)
{
	struct strbuf dir = STRBUF_INIT;
	struct run_shard *sh = NULL;
	struct dirent *de;
	size_t nr = 0;
	DIR *dp;

	*out = NULL;
	strbuf_addf(&dir, "%s/shards", output);
	dp = opendir(dir.buf);
	strbuf_release(&dir);
	if (!dp)
		return -1;
	while ((de = readdir(dp))) {
		int a, b, end = 0;
		/* only the names camlab makes: a count past SHARD_MAX is no shard of it */
		if (sscanf(de->d_name, "shard-%d-of-%d%n", &a, &b, &end) == 2 && !de->d_name[end] && b > 0 &&
		    b <= SHARD_MAX && a >= 0 && a < b) {
			sh = xrealloc(sh, (nr + 1) * sizeof(*sh));
			sh[nr].i = a;
			sh[nr].n = b;
			sh[nr++].dir = run_shard_dir(output, a, b);
		}
	}
	closedir(dp);
	if (nr > 1) /* qsort with a NULL base is undefined even for no elements */
		qsort(sh, nr, sizeof(*sh), cmp_shard);
	*out = sh;
	return (long)nr;
}

void run_shards_free(struct run_shard *s, size_t n)
{
	size_t i;
	for (i = 0; i < n; i++)
		free(s[i].dir);
	free(s);
}

int run_shards_count(const struct run_shard *s, size_t n, const char *output)
{
	if (!n)
		return 0;
	/* sorted by count: the first and the last differ if any do */
	if (s[0].n != s[n - 1].n)
		return error("the shards in %s/shards are of different counts (%d and %d): a merge gathers the "
			     "shards of one count; move the others' folders away (shard-*-of-%03d), or remove "
			     "%s/shards to start again",
			     output, s[0].n, s[n - 1].n, s[0].n, output);
	return s[0].n;
}

int run_shard_idle(size_t nr_images, int i, int n)
{
	(void)n; /* chunk k is shard k % n's: shard i has one if there is a chunk i */
	return (size_t)i >= (nr_images + SHARD_CHUNK - 1) / SHARD_CHUNK;
}

int run_shard_running(const char *dir)
{
	struct strbuf path = STRBUF_INIT;
	struct flock fl;
	int fd, held = 0;

	strbuf_addf(&path, "%s/lock", dir);
	fd = open(path.buf, O_RDONLY | O_CLOEXEC);
	strbuf_release(&path);
	if (fd < 0)
		return 0;
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	if (fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK)
		held = 1;
	close(fd);
	return held;
}

void run_shards_resubmit(struct strbuf *sb, const char *output, int n, const int *list, size_t nr,
			 const char *spec)
{
	struct strbuf path = STRBUF_INIT, rec = STRBUF_INIT;
	char buf[4096];
	size_t i, got;
	FILE *fp;
	int whole;

	strbuf_addf(&path, "%s/" SHARD_SUBMIT_ARGS, output);
	if ((fp = fopen(path.buf, "rb"))) {
		while ((got = fread(buf, 1, sizeof(buf), fp)) > 0)
			strbuf_add(&rec, buf, got);
		fclose(fp);
	}
	strbuf_release(&path);
	whole = rec.len && rec.buf[rec.len - 1] == '\0'; /* each word ends with a NUL */
	if (whole) {
		/* the spec's relative paths are the working folder's: the submission's, if this is another */
		char *cwd = getcwd(NULL, 0);
		if (!cwd || strcmp(cwd, rec.buf)) {
			strbuf_addstr(sb, "cd ");
			quote_shell(sb, rec.buf);
			strbuf_addstr(sb, " && ");
		}
		free(cwd);
	}
	strbuf_addf(sb, "camlab submit --tasks %d --only ", n);
	for (i = 0; i < nr; i++) {
		size_t j = i;
		while (j + 1 < nr && list[j + 1] == list[j] + 1)
			j++;
		strbuf_addf(sb, i ? ",%d" : "%d", list[i]);
		if (j > i)
			strbuf_addf(sb, "-%d", list[j]);
		i = j;
	}
	if (whole) {
		for (i = strlen(rec.buf) + 1; i < rec.len; i += strlen(rec.buf + i) + 1) {
			strbuf_addch(sb, ' ');
			quote_shell(sb, rec.buf + i);
		}
	} else if (spec) {
		strbuf_addch(sb, ' ');
		quote_shell(sb, spec);
	} else {
		strbuf_addstr(sb, " FILE");
	}
	strbuf_release(&rec);
}

/*
 * One process at a time writes an output folder or a shard: a second one (a run started twice, a
 * resubmission while the first still runs, on another node) would compute everything again beside it
 * and write the same SQLite file, which over NFS can corrupt it. A POSIX lock on DIR/lock (which NFS's
 * lock manager shares between hosts) is held while it runs, and released by the kernel if the process
 * dies. what names DIR in the message. Returns the lock's descriptor, or -1 after an error.
 */
static int lock_output(const char *dir, const char *what)
{
	struct strbuf path = STRBUF_INIT;
	struct flock fl;
	int fd;

	strbuf_addf(&path, "%s/lock", dir);
	fd = open(path.buf, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) {
		error("cannot open %s: %s", path.buf, strerror(errno));
		strbuf_release(&path);
		return -1;
	}
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	if (fcntl(fd, F_SETLK, &fl) < 0) {
		if (errno == EACCES || errno == EAGAIN)
			error("another process is running %s (%s is locked): not starting a second one", what,
			      path.buf);
		else
			error("cannot lock %s: %s", path.buf, strerror(errno));
		close(fd);
		fd = -1;
	}
	strbuf_release(&path);
	return fd;
}

/*
 * Per shard k of n, whether a run that has not failed still lacks an image of its chunks in the merged
 * database: the shard is incomplete whatever its own database says (a shard killed before it settled its
 * runs, or one whose folder is gone). A calloc'ed array of n flags.
 */
static unsigned char *shards_lacking(struct runner *r, int n)
{
	unsigned char *lacks = xcalloc((size_t)n, 1), *done = xmalloc(r->ds.nr ? r->ds.nr : 1);
	size_t i, k;

	for (k = 0; k < r->plan.nr; k++) {
		const char *key = r->plan.runs[k].key;
		char *st = store_run_state(r->store, key, NULL);
		int failed = st && !strcmp(st, "failed");
		free(st);
		if (failed || store_done_images(r->store, key, done, r->ds.nr, r->paths, NULL) < 0)
			continue;
		for (i = 0; i < r->nr_images; i++)
			if (!done[r->images[i]])
				lacks[(i / SHARD_CHUNK) % (size_t)n] = 1;
	}
	free(done);
	return lacks;
}

/*
 * camlab merge: every shard's results (OUTPUT/shards/shard-I-of-N, all of one N) into OUTPUT's database,
 * then the runs' states from all of them. Says of every shard whether it is complete, has nothing to do
 * (fewer chunks than shards), or is missing or incomplete, and for those the command that runs them
 * again. Returns 0 if every run is done, else 1.
 */
static int merge_shards(struct runner *r)
{
	struct run_shard *sh;
	long nr = run_shards(r->out, &sh), i;
	long *results; /* per shard: image results merged; -1: no folder; -2: a folder without results */
	unsigned char *lacks;
	int *redo, n, k, ret = 0;
	size_t done, nr_redo = 0, chunks = (r->nr_images + SHARD_CHUNK - 1) / SHARD_CHUNK;

	if (nr <= 0) {
		error("no shards in %s/shards: run `camlab submit` (Slurm) or `camlab run --shard I/N` first",
		      r->out);
		if (nr == 0)
			run_shards_free(sh, 0);
		return 1;
	}
	if ((n = run_shards_count(sh, (size_t)nr, r->out)) < 0) {
		run_shards_free(sh, (size_t)nr);
		return 1;
	}
	results = xmalloc((size_t)n * sizeof(*results));
	for (k = 0; k < n; k++)
		results[k] = -1;
	for (i = 0; i < nr; i++) {
		struct strbuf db = STRBUF_INIT;
		strbuf_addf(&db, "%s/results.sqlite", sh[i].dir);
		if (access(db.buf, R_OK) < 0)
			results[sh[i].i] = -2;
		else if ((results[sh[i].i] = store_merge(r->store, db.buf)) < 0)
			ret = 1; /* said; the shard counts as having no results */
		strbuf_release(&db);
	}
	done = settle_runs(r);
	lacks = shards_lacking(r, n);
	redo = xmalloc((size_t)n * sizeof(*redo));
	for (k = 0; k < n; k++) {
		fprintf(stderr, "shard %d of %d: ", k, n);
		if (run_shard_idle(r->nr_images, k, n)) {
			fprintf(stderr, "nothing to do (%zu image(s) make %zu chunk(s) of %d)\n", r->nr_images,
				chunks, SHARD_CHUNK);
			continue;
		}
		if (results[k] >= 0)
			fprintf(stderr, "%ld image result(s)", results[k]);
		if (!lacks[k])
			fputs(results[k] >= 0 ? "\n" : "no folder, its results merged before\n", stderr);
		else if (results[k] >= 0)
			fputs(", incomplete (stopped partway: killed, cancelled, out of time or failed; its log "
			      "says)\n",
			      stderr);
		else if (results[k] == -2)
			fputs("no results (not started yet, cancelled, or stopped before storing any)\n", stderr);
		else
			fputs("missing (never started)\n", stderr);
		if (lacks[k])
			redo[nr_redo++] = k;
	}
	fprintf(stderr, "merged %ld shard folder(s) into %s: %zu of %zu run(s) done", nr, r->out, done,
		r->plan.nr);
	if (done < r->plan.nr) {
		ret = 1;
		if (nr_redo)
			fprintf(stderr, "; run the missing or incomplete shards again (they resume), then merge "
					"again");
	}
	fputc('\n', stderr);
	if (nr_redo) {
		struct strbuf cmd = STRBUF_INIT;
		char *spec = realpath(r->e->file, NULL);
		run_shards_resubmit(&cmd, r->e->output, n, redo, nr_redo, spec ? spec : r->e->file);
		fprintf(stderr, "%zu shard(s) of %d missing or incomplete; this runs them again and merges after "
				"them:\n  %s\n",
			nr_redo, n, cmd.buf);
		free(spec);
		strbuf_release(&cmd);
	}
	free(results);
	free(lacks);
	free(redo);
	run_shards_free(sh, (size_t)nr);
	return ret;
}

/* A runner for e with o, its plan not yet built: the batch size and the built-in metrics asked for. */
static void runner_init(struct runner *r, const struct experiment *e, const struct run_opts *o)
{
	size_t i;

	memset(r, 0, sizeof(*r));
	r->e = e;
	r->o = o;
	r->model_index = -1;
	r->bar = o->progress < 0 ? isatty(2) : o->progress;
	r->batch = e->batch > 0 ? e->batch : 8;
	/* batch: auto means 8 on a CPU (libtorch gains nothing from more there) and a measured size on CUDA */
	r->batch_auto = e->batch == EXP_BATCH_AUTO; /* per worker: only where its device is CUDA */
	r->decode_workers = o->workers;
	dataset_init(&r->ds);
	for (i = 0; i < e->nr_metrics; i++) {
		unsigned m = 0;
		error_set_quiet(1); /* metrics defined in Lua are not in camlab's list */
		if (metrics_parse(e->metrics[i].name, &m) == 0)
			r->metrics |= m;
		error_set_quiet(0);
	}
}

static void runner_release(struct runner *r)
{
	if (r->model_index >= 0)
		model_release(&r->model);
	ts_free(r->fc);
	free(r->label_map);
	free(r->paths);
	store_close(r->store);
	dataset_release(&r->ds);
	free(r->images);
	free(r->figure);
	free(r->user_metrics);
	luacam_free(r->lua);
	plan_release(&r->plan);
	batch_shares_free(r->shares, r->nr_groups);
	free(r->out);
}

/* The spec in the database, as written and in canonical form. Returns its id, or -1. */
static long record_spec(struct runner *r)
{
	char *text = read_file(r->e->file);
	char *canon = experiment_canonical(r->e);
	long id = store_add_spec(r->store, r->e->file, text, canon);

	free(text);
	free(canon);
	return id;
}

/*
 * The plan's runs in the database under spec spec_id, and that id for the report: it shows the runs of
 * this spec, not older runs that share their labels.
 */
static int record_runs(struct runner *r, long spec_id)
{
	const struct experiment *e = r->e;
	char id[32];
	size_t i;

	for (i = 0; i < r->plan.nr; i++) {
		const struct plan_run *pr = &r->plan.runs[i];
		const struct exp_model *m = &e->models[pr->model];
		struct store_run sr = { pr->key,
					m->name,
					m->layers[pr->layer].name,
					m->layers[pr->layer].path,
					e->methods[pr->method].name,
					e->utilities[pr->utility].name,
					plan_target_name(&r->plan, pr),
					pr->config,
					(long)r->nr_images };
		if (store_add_run(r->store, spec_id, (long)i, &sr) < 0)
			return -1;
	}
	snprintf(id, sizeof(id), "%ld", spec_id);
	return store_set_output(r->store, "spec_id", id) < 0 ? -1 : 0;
}

/*
 * The CSV files and the report, from the database alone. A report that fails is a warning: it does not
 * undo the results. Returns -1 if the CSV export failed.
 */
static int write_report(struct runner *r)
{
	const char *output = r->e->output;
	int ret = store_export_csv(r->store, output) < 0 ? -1 : 0;
	char *index;

	if (report_build(output, &index) < 0)
		warning("the report of %s is incomplete (see above); camlab report %s rebuilds it", output,
			output);
	if (index)
		fprintf(stderr, "report: %s\n", index);
	free(index);
	return ret;
}

int run_experiment(const struct experiment *e, const struct run_opts *o)
{
	int lock_fd = -1;
	struct runner r;
	struct diag d = DIAG_INIT;
	struct devices devs = { NULL, 0 };
	long spec_id;
	size_t i;
	int ret = 1;

	runner_init(&r, e, o);
	if (plan_build(&r.plan, e, &d) < 0) {
		diag_print(&d, stderr);
		diag_release(&d);
		return 1;
	}
	r.out = o->nr_shards ? run_shard_dir(e->output, o->shard, o->nr_shards) : xstrdup(e->output);
	if (mkdir_p(r.out) < 0 ||
	    (lock_fd = lock_output(r.out, o->nr_shards ? "this shard" : "on this output folder")) < 0 ||
	    !(r.store = store_open(r.out)))
		goto out;
	fake_full_disk(r.store);
	if ((spec_id = record_spec(&r)) < 0)
		goto out;
	if (dataset_open(&r.ds, e->data.path, e->data.labels) < 0)
		goto out;
	r.paths = xcalloc(r.ds.nr ? r.ds.nr : 1, sizeof(*r.paths));
	for (i = 0; i < r.ds.nr; i++)
		r.paths[i] = r.ds.items[i].path;
	r.images = select_images(&e->data, r.ds.nr, &r.nr_images);
	if (record_outputs(&r) < 0 || record_runs(&r, spec_id) < 0)
		goto out;
	if (o->merge) {
		ret = merge_shards(&r);
		goto report;
	}
	fprintf(stderr, "%s: %zu run(s) over %zu image(s)", e->name ? e->name : e->file, r.plan.nr,
		r.nr_images);
	if (o->nr_shards)
		fprintf(stderr, ", shard %d of %d (chunks of %d images)", o->shard, o->nr_shards,
			SHARD_CHUNK);
	fprintf(stderr, ", results in %s\n", r.out);
	if (devices_of(e, o, &devs) < 0)
		goto out;
	for (i = 0; i < r.plan.nr; i = group_end(&r.plan, i))
		r.nr_groups++;
	if (!(r.shares = batch_shares_new(r.nr_groups)))
		goto out;
	if (devs.nr > 1) {
		/* One process per device; libtorch's threads are started in each child, never before the fork. */
		store_close(r.store);
		r.store = NULL;
		ret = fork_workers(&r, &devs);
		if (!r.store && !(r.store = store_open(r.out))) {
			ret = 1; /* the workers' results are stored, but nothing can settle or report them */
			goto out;
		}
		if (!r.store_failed)
			settle_runs(&r);
	} else {
		r.device = devs.nr ? devs.names[0] : "cpu";
		r.workers = 1;
		ret = run_worker(&r);
	}
	if (r.store_failed) {
		/* a report now would show results that are not all there, and could not be written either */
		error("stopped: '%s/results.sqlite' cannot take more results (see above); every batch stored "
		      "before is kept, and nothing of the batch in flight was written",
		      r.out);
		if (o->nr_shards)
			fprintf(stderr, "hint: once it can (free space on its disk), run shard %d of %d again: it "
					"resumes where it stopped\n",
				o->shard, o->nr_shards);
		else
			fprintf(stderr, "hint: once it can (free space on its disk), `camlab run %s` resumes where "
					"it stopped\n",
				e->file);
		ret = 1;
		goto out;
	}
	if (o->nr_shards) {
		/* the report is the merge's, over all shards */
		fprintf(stderr, "shard %d of %d %s; `camlab merge %s` gathers the shards' results\n",
			o->shard, o->nr_shards, ret ? "is incomplete (see above)" : "done", e->file);
		goto out;
	}
report:
	if (write_report(&r) < 0)
		ret = 1;
out:
	runner_release(&r);
	diag_release(&d);
	devices_release(&devs);
	if (lock_fd >= 0)
		close(lock_fd); /* releases the shard's lock */
	return ret;
}

int run_states(const struct experiment *e, const struct plan *p, struct run_state *out)
{
	char *path = store_path(e->output);
	struct store *s = NULL;
	size_t i;
	FILE *probe = fopen(path, "rb");

	free(path);
	if (probe) {
		fclose(probe);
		s = store_open(e->output);
	}
	for (i = 0; i < p->nr; i++) {
		char *st = s ? store_run_state(s, p->runs[i].key, &out[i].done) : NULL;
		snprintf(out[i].state, sizeof(out[i].state), "%s", st ? st : "pending");
		if (!st)
			out[i].done = 0;
		out[i].total = -1;
		free(st);
	}
	store_close(s);
	return 0;
}
