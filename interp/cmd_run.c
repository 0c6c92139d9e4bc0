/*
 * cmd_run.c - `camlab run`: execute an experiment, every run of its grid, resuming where it stopped.
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
	"usage: camlab run [options] FILE [KEY=VALUE...]\n"
	"\n"
	"Runs the experiment in FILE (YAML or Lua): every run of its grid, batched, with the shared passes,\n"
	"heatmaps and metrics, into the results database of its output folder. A run that was interrupted\n"
	"resumes where it stopped; finished runs are not recomputed. KEY=VALUE sets a value of the spec as\n"
	"if written in it (data.limit=100 methods=gradcam,shapleycam models.NAME.layers.L=PATH).\n"
	"\n"
	"  --sweep KEY=V1,V2   run the experiment with each value in turn, into the same database (several\n"
	"                      --sweep: every combination); every point is checked before the first runs\n"
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

enum { OPT_LIMIT_RUN = 2000, OPT_DEVICES, OPT_FAIL_FAST, OPT_PROGRESS, OPT_NO_PROGRESS, OPT_UNSAFE,
       OPT_WORKERS_RUN, OPT_LOG_EVERY, OPT_SHARD, OPT_SWEEP };

/* The experiment at each point of the sweep (one without a sweep), each read and checked before any runs. */
static int run_points(const char *file, struct run_opts *o, int unsafe)
{
	struct experiment *e;
	int ret = 0, bad = 0;
	size_t pt, npoints;

	/* every point of a sweep is read and checked before any runs: a typo in the last stops the first */
	npoints = cmd_sweep_points();
	e = xcalloc(npoints, sizeof(*e));
	for (pt = 0; pt < npoints; pt++) {
		cmd_sweep_select(pt);
		if (cmd_load_spec(file, &e[pt], unsafe) < 0 && ++bad && npoints > 1)
			fprintf(stderr, "camlab run: with %s\n", cmd_sweep_name());
	}
	/* libtorch loads while the plan, the database and the image list are prepared */
	if (!bad)
		ts_load_start();
	for (pt = 0; !bad && pt < npoints; pt++) {
		int r;
		cmd_sweep_select(pt);
		if (npoints > 1)
			fprintf(stderr, "camlab run: sweep point %zu of %zu: %s\n", pt + 1, npoints, cmd_sweep_name());
		o->point = pt + 1;
		o->nr_points = npoints;
		r = run_experiment(&e[pt], o);
		ret = r > ret ? r : ret;
	}
	for (pt = 0; pt < npoints; pt++)
		experiment_release(&e[pt]);
	free(e);
	return bad ? 1 : ret;
}

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
		{ "sweep", required_argument, NULL, OPT_SWEEP },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct run_opts o = { 0 };
	char **orig = xcalloc((size_t)argc + 1, sizeof(*orig));
	const char *file;
	int opt, unsafe = 0;
	long v = 0;

	memcpy(orig, argv, (size_t)argc * sizeof(*argv));
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
		case OPT_SWEEP:
			if (cmd_sweep_add(optarg, cmd_arg_number(orig, argc, optarg)) < 0)
				return 2;
			break;
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
	if (cmd_spec_operands(argc, argv, orig, optind, &file) < 0) {
		fputs(run_usage, stderr);
		return 2;
	}
	free(orig);
	return run_points(file, &o, unsafe);
}
