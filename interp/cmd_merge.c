/*
 * cmd_merge.c - `camlab merge`: gather an experiment's shards (`camlab run --shard I/N`, as `camlab
 * submit` runs them, or by hand on any machines) into its output folder, and build the report. Merging
 * needs no Slurm.
 */
#include "interp/commands.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsl/experiment.h"
#include "interp/run.h"
#include "lib/xalloc.h"

static const char merge_usage[] =
	"usage: camlab merge [--allow-unsafe] [--sweep KEY=V1,V2...] FILE [KEY=VALUE...]\n"
	"\n"
	"Gathers the results of the experiment's shards (OUTPUT/shards/shard-000-of-004 and so on,\n"
	"written by `camlab run --shard I/N`, as `camlab submit` runs them) into OUTPUT's database, sets\n"
	"the runs' states and builds the report. Says of every shard whether it is complete, has nothing\n"
	"to do (fewer chunks of images than shards), or is missing or incomplete, and for those prints the\n"
	"`camlab submit --only ...` command that runs them again (they resume) and merges after them.\n"
	"The shards must all be of one count. With --sweep (as camlab run), the runs of every point,\n"
	"each checked first. Exit status 0 when every run is done.\n";

/* The shards' results for each point of the sweep (the experiment alone without one). */
static int merge_points(const char *file, int unsafe)
{
	size_t pt, n = cmd_sweep_points();
	struct experiment *e = xcalloc(n, sizeof(*e));
	int ret = 0, bad = 0;

	for (pt = 0; pt < n; pt++) {
		cmd_sweep_select(pt);
		if (cmd_load_spec(file, &e[pt], unsafe) < 0 && ++bad && n > 1)
			fprintf(stderr, "camlab merge: with %s\n", cmd_sweep_name());
	}
	for (pt = 0; !bad && pt < n; pt++) {
		struct run_opts o = { 0 };
		int r;
		cmd_sweep_select(pt);
		if (n > 1)
			fprintf(stderr, "camlab merge: sweep point %zu of %zu: %s\n", pt + 1, n, cmd_sweep_name());
		o.merge = 1;
		o.progress = 0;
		r = run_experiment(&e[pt], &o);
		ret = r > ret ? r : ret;
	}
	for (pt = 0; pt < n; pt++)
		experiment_release(&e[pt]);
	free(e);
	return bad ? 1 : ret;
}

int cmd_merge(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "allow-unsafe", no_argument, NULL, 'u' },
		{ "unsafe", no_argument, NULL, 'u' },
		{ "sweep", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char **orig = xcalloc((size_t)argc + 1, sizeof(*orig));
	const char *file;
	int opt, unsafe = 0, ret = 2;

	memcpy(orig, argv, (size_t)argc * sizeof(*argv));
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (opt == 'h') {
			fputs(merge_usage, stdout);
			ret = 0;
			goto out;
		} else if (opt == 'u') {
			unsafe = 1;
		} else if (opt == 's') {
			if (cmd_sweep_add(optarg, cmd_arg_number(orig, argc, optarg)) < 0)
				goto out;
		} else {
			fputs(merge_usage, stderr);
			goto out;
		}
	}
	if (cmd_spec_operands(argc, argv, orig, optind, &file) < 0) {
		fputs(merge_usage, stderr);
		goto out;
	}
	ret = merge_points(file, unsafe);
out:
	free(orig);
	return ret;
}
