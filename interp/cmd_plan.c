/*
 * cmd_plan.c - `camlab plan`: the runs of an experiment, their ids and state, without running.
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

static const char plan_usage[] =
	"usage: camlab plan [--allow-unsafe] [--sweep KEY=V1,V2...] FILE [KEY=VALUE...]\n"
	"\n"
	"Prints the runs the experiment in FILE expands to, with their ids and state (done, partial,\n"
	"pending, failed) in its results database, without running anything. KEY=VALUE sets a value of\n"
	"the spec as if written in it; --sweep prints the runs of each of its points (as camlab run).\n";

static int max_int(int a, int b)
{
	return a > b ? a : b;
}

static int plan_one(const char *file, int unsafe)
{
	struct experiment e;
	struct plan p = PLAN_INIT;
	struct diag d = DIAG_INIT;
	struct run_state *st;
	size_t i, counts[4] = { 0 };
	int w[4] = { 14, 12, 13, 10 };

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

int cmd_plan(int argc, char **argv)
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
	int opt, unsafe = 0, ret = 0;
	size_t pt, n;

	memcpy(orig, argv, (size_t)argc * sizeof(*argv));
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (opt == 'h') {
			fputs(plan_usage, stdout);
			return 0;
		} else if (opt == 'u') {
			unsafe = 1;
		} else if (opt == 's') {
			if (cmd_sweep_add(optarg, cmd_arg_number(orig, argc, optarg)) < 0)
				return 2;
		} else {
			fputs(plan_usage, stderr);
			return 2;
		}
	}
	if (cmd_spec_operands(argc, argv, orig, optind, &file) < 0) {
		fputs(plan_usage, stderr);
		return 2;
	}
	free(orig);
	n = cmd_sweep_points();
	for (pt = 0; pt < n; pt++) {
		cmd_sweep_select(pt);
		if (n > 1)
			printf("%s# sweep point %zu of %zu: %s\n", pt ? "\n" : "", pt + 1, n, cmd_sweep_name());
		ret |= plan_one(file, unsafe);
	}
	return ret;
}
