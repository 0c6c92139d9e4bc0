/*
 * cmd_run.c - `camlab run` (execute an experiment, resuming), `camlab plan` (show the runs and their
 * state without running) and `camlab status` (what a results folder holds).
 */
#include "interp/commands.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


#include "cam/torch_load.h"
#include "dsl/experiment.h"
#include "interp/modelopts.h"
#include "interp/plan.h"
#include "interp/run.h"
#include "lib/error.h"
#include "lib/strbuf.h"
#include "lib/xalloc.h"
#include "reports/paper.h"
#include "store/store.h"

static const char run_usage[] =
	"usage: camlab run [options] FILE\n"
	"\n"
	"Runs the experiment in FILE (YAML or Lua): every run of its grid, batched, with the shared passes,\n"
	"heatmaps and metrics, into the results database of its output folder. A run that was interrupted\n"
	"resumes where it stopped; finished runs are not recomputed.\n"
	"\n"
	"  --limit N           at most N more images per run now (a quick look; runs stay partial)\n"
	"  --fail-fast         stop at the first failing run (default: report it and go on)\n"
	"  --devices LIST      run on several devices at once, one process each, sharing each run:\n"
	"                      cuda:0,cuda:1 or all (every visible GPU); default: the experiment's\n"
	"  --progress          a progress bar even when stderr is not a terminal\n"
	"  --no-progress       plain log lines only\n"
	"  --log-every S       with no progress bar, a progress line every S seconds (30; 0: none)\n"
	"  --workers N         threads decoding images ahead of the model (default: all cores; 0: none)\n"
	"  --shard I/N         run shard I (0..N-1) of N: every N-th chunk of 64 images, into\n"
	"                      OUTPUT/shards/ (camlab submit runs shards as a Slurm array; camlab merge\n"
	"                      gathers them)\n"
	"  --allow-unsafe      let a Lua spec use io, os and require (also --unsafe)\n";

static const char plan_usage[] =
	"usage: camlab plan [--allow-unsafe] FILE\n"
	"\n"
	"Prints the runs the experiment in FILE expands to, with their ids and state (done, partial,\n"
	"pending, failed) in its results database, without running anything.\n";

static const char status_usage[] =
	"usage: camlab status DIR\n"
	"\n"
	"Summarises the results database in DIR (an experiment's output folder): runs by state, images\n"
	"stored, and the specs that produced them. With shards (camlab submit, run --shard), each shard's\n"
	"results, whether it runs now, had nothing to do, or is missing or incomplete, and the\n"
	"`camlab submit --only ...` command that runs those again.\n";

static int max_int(int a, int b)
{
	return a > b ? a : b;
}

void cmd_check_paper(const struct experiment *e, struct diag *d)
{
	struct src_pos pos = e->paper_pos.line ? e->paper_pos : (struct src_pos){ e->file, 0, 0 };
	struct paper_table t;
	struct strbuf why = STRBUF_INIT;
	size_t i, j;

	if (!e->paper_table)
		return;
	if (paper_resolve(e->paper_table, &t, &why) < 0) {
		diag_warning(d, pos, "%s (the tables will have no paper columns)", why.buf);
	} else if (t.automatic) {
		for (i = 0; i < e->nr_models; i++)
			for (j = 0; j < e->models[i].nr_layers; j++)
				if (paper_for(e->models[i].name, e->models[i].layers[j].name,
					      e->models[i].layers[j].path, &t))
					goto out;
		diag_warning(
			d, pos,
			"paper: auto: no model and layer is one of the paper's (a model named like resnet50, "
			"at layer4.2 or its pre_gap or last_conv), so the tables will have no paper columns");
	}
out:
	strbuf_release(&why);
}

int cmd_load_spec(const char *file, struct experiment *e, int unsafe)
{
	struct diag d = DIAG_INIT;
	int ret;
	experiment_init(e);
	ret = experiment_load(e, file, &d, unsafe);
	if (ret == 0 && !d.errors)
		cmd_check_paper(e, &d);
	diag_print(&d, stderr);
	diag_release(&d);
	return ret;
}

int cmd_spec_args(int argc, char **argv, const char *usage, const char **file, int *unsafe)
{
	static const struct option longopts[] = {
		{ "allow-unsafe", no_argument, NULL, 'u' },
		{ "unsafe", no_argument, NULL, 'u' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	*file = NULL;
	*unsafe = 0;
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (opt == 'h') {
			fputs(usage, stdout);
			return 0;
		} else if (opt == 'u') {
			*unsafe = 1;
		} else {
			fputs(usage, stderr);
			return 2;
		}
	}
	if (argc - optind != 1) {
		fputs(usage, stderr);
		return 2;
	}
	*file = argv[optind];
	return -1;
}

enum { OPT_LIMIT_RUN = 2000, OPT_DEVICES, OPT_FAIL_FAST, OPT_PROGRESS, OPT_NO_PROGRESS, OPT_UNSAFE,
       OPT_WORKERS_RUN, OPT_LOG_EVERY, OPT_SHARD };

int cmd_run(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "limit", required_argument, NULL, OPT_LIMIT_RUN },
		{ "fail-fast", no_argument, NULL, OPT_FAIL_FAST },
		{ "devices", required_argument, NULL, OPT_DEVICES },
		{ "progress", no_argument, NULL, OPT_PROGRESS },
		{ "no-progress", no_argument, NULL, OPT_NO_PROGRESS },
		{ "log-every", required_argument, NULL, OPT_LOG_EVERY },
		{ "shard", required_argument, NULL, OPT_SHARD },
		{ "allow-unsafe", no_argument, NULL, OPT_UNSAFE },
		{ "unsafe", no_argument, NULL, OPT_UNSAFE },
		{ "workers", required_argument, NULL, OPT_WORKERS_RUN },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct run_opts o = { 0 };
	struct experiment e;
	int opt, unsafe = 0, ret;
	long v = 0;

	o.progress = -1;
	o.workers = -1;
	o.log_every = 30;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (opt) {
		case OPT_DEVICES:
			o.devices = optarg;
			break;
		case OPT_LIMIT_RUN:
			if (parse_count("limit", optarg, &v) < 0)
				return 2;
			o.limit = (size_t)v;
			break;
		case OPT_FAIL_FAST:
			o.fail_fast = 1;
			break;
		case OPT_PROGRESS:
			o.progress = 1;
			break;
		case OPT_NO_PROGRESS:
			o.progress = 0;
			break;
		case OPT_UNSAFE:
			unsafe = 1;
			break;
		case OPT_SHARD: {
			/* strtol, not sscanf's %d: 99999999999 is out of range, not 1215752191 */
			char *end;
			long i = strtol(optarg, &end, 10), n = -1;
			if (end != optarg && *end == '/' && end[1] >= '0' && end[1] <= '9')
				n = strtol(end + 1, &end, 10);
			if (*end || n < 1 || i < 0 || i >= n || optarg[0] < '0' || optarg[0] > '9') {
				error("--shard needs I/N with 0 <= I < N, not '%s'", optarg);
				return 2;
			}
			if (n > SHARD_MAX) {
				error("--shard %s: at most %d shards (Slurm's MaxArraySize limits an array's "
				      "length, 1001 by default)",
				      optarg, SHARD_MAX);
				return 2;
			}
			o.shard = (int)i;
			o.nr_shards = (int)n;
			break;
		}
		case OPT_LOG_EVERY: {
			char *end;
			o.log_every = strtod(optarg, &end);
			if (end == optarg || *end || !(o.log_every >= 0)) {
				error("--log-every needs a number of seconds, not '%s'", optarg);
				return 2;
			}
			break;
		}
		case OPT_WORKERS_RUN:
			if (parse_count("workers", optarg, &v) < 0)
				return 2;
			o.workers = (int)v;
			break;
		case 'h':
			fputs(run_usage, stdout);
			return 0;
		default:
			fputs(run_usage, stderr);
			return 2;
		}
	}
	if (optind != argc - 1) {
		error("camlab run takes one experiment file");
		fputs(run_usage, stderr);
		return 2;
	}
	if (cmd_load_spec(argv[optind], &e, unsafe) < 0) {
		experiment_release(&e);
		return 1;
	}
	/* libtorch loads while the plan, the database and the image list are prepared */
	ts_load_start();
	ret = run_experiment(&e, &o);
	experiment_release(&e);
	return ret;
}

int cmd_plan(int argc, char **argv)
{
	struct experiment e;
	struct plan p = PLAN_INIT;
	struct diag d = DIAG_INIT;
	struct run_state *st;
	size_t i, counts[4] = { 0 };
	int unsafe, ret, w[4] = { 14, 12, 13, 10 };
	const char *file;

	if ((ret = cmd_spec_args(argc, argv, plan_usage, &file, &unsafe)) >= 0)
		return ret;
	if (cmd_load_spec(file, &e, unsafe) < 0 || plan_build(&p, &e, &d) < 0) {
		diag_print(&d, stderr);
		diag_release(&d);
		experiment_release(&e);
		return 1;
	}
	st = xcalloc(p.nr, sizeof(*st));
	run_states(&e, &p, st);
	/* columns as wide as their longest name, at least the usual widths */
	for (i = 0; i < p.nr; i++) {
		const struct plan_run *r = &p.runs[i];
		const struct exp_model *m = &e.models[r->model];
		w[0] = max_int(w[0], (int)strlen(m->name));
		w[1] = max_int(w[1], (int)strlen(m->layers[r->layer].name));
		w[2] = max_int(w[2], (int)strlen(e.methods[r->method].name));
		w[3] = max_int(w[3], (int)strlen(e.utilities[r->utility].name));
	}
	printf("%-16s  %-7s  %6s  %-*s %-*s %-*s %-*s %s\n", "run", "state", "images", w[0], "model", w[1],
	       "layer", w[2], "method", w[3], "utility", "target");
	for (i = 0; i < p.nr; i++) {
		const struct plan_run *r = &p.runs[i];
		const struct exp_model *m = &e.models[r->model];
		printf("%-16s  %-7s  %6ld  %-*s %-*s %-*s %-*s %s\n", r->key, st[i].state, st[i].done, w[0],
		       m->name, w[1], m->layers[r->layer].name, w[2], e.methods[r->method].name, w[3],
		       e.utilities[r->utility].name, plan_target_name(&p, r));
		counts[!strcmp(st[i].state, "done")     ? 0
		       : !strcmp(st[i].state, "partial") ? 1
		       : !strcmp(st[i].state, "failed")  ? 3
							 : 2]++;
	}
	printf("%zu runs: %zu done, %zu partial, %zu pending, %zu failed; results in %s\n", p.nr, counts[0],
	       counts[1], counts[2], counts[3], e.output);
	{
		/* the states above are the output folder's; shards' results count once merged */
		struct run_shard *sh;
		long n = run_shards(e.output, &sh);
		if (n > 0)
			printf("%ld shard folder(s) in %s/shards: `camlab merge %s` gathers them "
			       "(`camlab status %s` shows each)\n",
			       n, e.output, file, e.output);
		if (n >= 0)
			run_shards_free(sh, (size_t)n);
	}
	free(st);
	plan_release(&p);
	experiment_release(&e);
	return 0;
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

/*
 * The shards under DIR/shards (camlab submit, run --shard) and the image results each holds; whether it
 * runs now, had nothing to do, or is missing or incomplete, and the command that runs those again. With
 * complete (the merged results have every run done) none need to. Returns how many shard folders there
 * are, or -1 if there is no DIR/shards.
 */
static long print_shards(const char *dir, const char *intro, int complete)
{
	struct run_shard *sh;
	long n = run_shards(dir, &sh), i, nr_images = -1;
	int count, k, *redo;
	size_t nr_redo = 0;
	char *spec = NULL;
	unsigned char *seen;

	if (n <= 0) {
		if (n == 0)
			run_shards_free(sh, 0);
		return n;
	}
	if (intro)
		fputs(intro, stdout);
	count = run_shards_count(sh, (size_t)n, dir); /* several counts: listed, but no shard is missing */
	/* what the shards were given: the selection's size (which shards have images) and the spec */
	for (i = 0; i < n; i++) {
		struct store_summary sum = STORE_SUMMARY_INIT;
		struct store *s = store_open_readonly(sh[i].dir);
		if (s && nr_images < 0)
			nr_images = store_selection_size(s);
		if (s && !spec && store_summary_load(&sum, s) == 0 && sum.nr_specs)
			spec = xstrdup(sum.specs[sum.nr_specs - 1].path);
		store_summary_release(&sum);
		store_close(s);
	}
	seen = xcalloc(count > 0 ? (size_t)count : 1, 1);
	redo = xmalloc((count > 0 ? (size_t)count : 1) * sizeof(*redo));
	for (i = 0; i < n; i++) {
		const char *name = strrchr(sh[i].dir, '/') + 1;
		struct store_summary sum = STORE_SUMMARY_INIT;
		struct store *s = store_open_readonly(sh[i].dir);
		int running = run_shard_running(sh[i].dir), idle = 0, incomplete = 1;
		size_t j;

		if (count > 0) {
			seen[sh[i].i] = 1;
			idle = nr_images >= 0 && run_shard_idle((size_t)nr_images, sh[i].i, count);
		}
		if (!s || store_summary_load(&sum, s) < 0) {
			printf("%s: %s\n", name,
			       running ? "running, no results yet"
			       : idle	? "nothing to do (never started)"
					: "no results (not started yet, cancelled, or stopped before storing any)");
		} else {
			printf("%s: %ld image results stored; runs:", name, sum.nr_stored);
			incomplete = !sum.nr_states;
			for (j = 0; j < sum.nr_states; j++) {
				printf("%s %s %ld", j ? "," : "", sum.states[j].state, sum.states[j].runs);
				if (strcmp(sum.states[j].state, "done") && strcmp(sum.states[j].state, "failed"))
					incomplete = 1;
			}
			printf("%s%s\n", sum.nr_states ? "" : " none",
			       running	    ? "; running now"
			       : idle	    ? "; nothing to do"
			       : incomplete ? "; incomplete (stopped partway: killed, cancelled, out of time or "
					      "failed; its log says)"
					    : "");
		}
		if (count > 0 && incomplete && !running && !idle)
			redo[nr_redo++] = sh[i].i;
		store_summary_release(&sum);
		store_close(s);
	}
	for (k = 0; k < count; k++) {
		if (seen[k])
			continue;
		if (nr_images >= 0 && run_shard_idle((size_t)nr_images, k, count)) {
			printf("shard-%03d-of-%03d: nothing to do (never started)\n", k, count);
			continue;
		}
		printf("shard-%03d-of-%03d: missing (never started)\n", k, count);
		redo[nr_redo++] = k;
	}
	if (nr_redo && !complete) {
		struct strbuf cmd = STRBUF_INIT;
		qsort(redo, nr_redo, sizeof(*redo), cmp_int);
		run_shards_resubmit(&cmd, dir, count, redo, nr_redo, spec);
		printf("%zu shard(s) of %d missing or incomplete; once their jobs have ended (squeue), this runs "
		       "them again and merges after them:\n  %s\n",
		       nr_redo, count, cmd.buf);
		strbuf_release(&cmd);
	}
	free(seen);
	free(redo);
	free(spec);
	run_shards_free(sh, (size_t)n);
	return n;
}

int cmd_status(int argc, char **argv)
{
	struct store_summary sum = STORE_SUMMARY_INIT;
	struct store *s;
	size_t i;
	int complete = 1;

	if (argc != 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fputs(status_usage, argc == 2 ? stdout : stderr);
		return argc == 2 ? 0 : 2;
	}
	if (!(s = store_open_readonly(argv[1]))) {
		char *path = store_path(argv[1]);
		struct strbuf intro = STRBUF_INIT;
		long n = 0;
		if (access(path, F_OK) < 0) { /* perhaps shards run, none merged yet */
			strbuf_addf(&intro,
				    "no merged results yet (camlab merge gathers the shards into %s)\n",
				    path);
			if ((n = print_shards(argv[1], intro.buf, 0)) <= 0)
				error("no results in '%s' (no %s)", argv[1], path);
		}
		strbuf_release(&intro);
		free(path);
		return n > 0 ? 0 : 1;
	}
	if (store_summary_load(&sum, s) < 0) {
		store_close(s);
		return 1;
	}
	store_close(s);
	for (i = 0; i < sum.nr_states; i++) {
		const struct store_state_count *c = &sum.states[i];
		complete &= !strcmp(c->state, "done");
		printf("%-8s %5ld run(s), %ld of %ld image results stored", c->state, c->runs, c->nr_stored,
		       c->nr_images);
		if (c->nr_skipped)
			printf(", %ld unreadable skipped", c->nr_skipped);
		putchar('\n');
	}
	if (sum.nr_nonfinite)
		printf("note: %ld image result(s) had a NaN or infinite class probability (the model's outputs): "
		       "their metrics are empty, and the averages leave them out\n",
		       sum.nr_nonfinite);
	for (i = 0; i < sum.nr_failed; i++) {
		const struct store_failed_run *f = &sum.failed[i];
		printf("failed: %s %s/%s %s %s %s: %s\n", f->key, f->model, f->layer, f->method, f->utility,
		       f->target, f->error);
	}
	for (i = 0; i < sum.nr_specs; i++)
		printf("spec %ld: %s (camlab %s, %s)\n", sum.specs[i].id, sum.specs[i].path,
		       sum.specs[i].camlab_version, sum.specs[i].created);
	store_summary_release(&sum);
	print_shards(argv[1], NULL, complete && sum.nr_states);
	return 0;
}
