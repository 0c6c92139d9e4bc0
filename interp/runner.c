/*
 * runner.c - the experiment runner (see run.h): the results folder and its lock, the selection of
 * images, what the database records of the spec, its runs and outputs, the workers or the merge, and
 * the report; the runs' states for camlab status.
 */
#include "interp/runner.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "interp/group.h"
#include "interp/luacam.h"
#include "interp/shard.h"
#include "interp/workers.h"
#include "lib/error.h"
#include "lib/fs.h"
#include "lib/strbuf.h"
#include "lib/xalloc.h"
#include "reports/report.h"
#include "store/store.h"

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

/* A runner for e with o, its plan not yet built: the batch size and the built-in metrics asked for. */
static void runner_init(struct runner *r, const struct experiment *e, const struct run_opts *o)
{
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
	/* the built-in metrics, as validation resolved them (those defined in Lua are not among them) */
	r->metrics = e->metric_mask;
	group_metric_params(e, &r->metric_params);
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

/*
 * The spec in the database, as written (the very bytes experiment_load parsed) and in canonical form.
 * Returns its id, or -1.
 */
static long record_spec(struct runner *r)
{
	struct strbuf all = STRBUF_INIT;
	char *canon = experiment_canonical(r->e);
	long id;

	/* with the files it includes and the overrides named after it: the canonical text is the merge */
	experiment_sources_text(r->e, r->e->text ? r->e->text : "", &all);
	id = store_add_spec(r->store, r->e->file, all.buf, canon);
	strbuf_release(&all);
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
	workers_fake_full_disk(r.store);
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
		ret = shard_merge(&r);
		goto report;
	}
	fprintf(stderr, "%s: %zu run(s) over %zu image(s)", e->name ? e->name : e->file, r.plan.nr,
		r.nr_images);
	if (o->nr_shards)
		fprintf(stderr, ", shard %d of %d (chunks of %d images)", o->shard, o->nr_shards,
			SHARD_CHUNK);
	fprintf(stderr, ", results in %s\n", r.out);
	if (workers_devices(e, o, &devs) < 0)
		goto out;
	for (i = 0; i < r.plan.nr; i = group_end(&r.plan, i))
		r.nr_groups++;
	if (!(r.shares = batch_shares_new(r.nr_groups)))
		goto out;
	if (devs.nr > 1) {
		/* One process per device; libtorch's threads are started in each child, never before the fork. */
		store_close(r.store);
		r.store = NULL;
		ret = workers_fork(&r, &devs);
		if (!r.store && !(r.store = store_open(r.out))) {
			ret = 1; /* the workers' results are stored, but nothing can settle or report them */
			goto out;
		}
		if (!r.store_failed)
			group_settle_runs(&r);
	} else {
		r.device = devs.nr ? devs.names[0] : "cpu";
		r.workers = 1;
		ret = workers_run(&r);
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
	workers_devices_release(&devs);
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
