/*
 * cmd_check.c - `camlab check`: read and validate experiment specs without running anything, printing
 * every problem of every spec as file:line:col, so that a spec can be fixed in one round.
 */
#include "interp/commands.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsl/diag.h"
#include "dsl/experiment.h"
#include "interp/preflight.h"

static const char check_usage[] =
	"usage: camlab check [--canonical] [--models] [--allow-unsafe] FILE...\n"
	"\n"
	"Reads each experiment spec (.yaml, .yml or .lua) and checks it: keys, types, names of methods,\n"
	"utilities, targets and metrics, model and data files. Prints every problem as\n"
	"file:line:col: error: message, or a one-line summary of a valid spec. Runs nothing.\n"
	"\n"
	"  --canonical     print the canonical text of each valid spec instead of the summary\n"
	"  --models        also load each model and put the data's first readable image through it at\n"
	"                  each layer, as a run would: layer paths and layouts, the number of classes,\n"
	"                  targets, CAM's head (seconds per model; camlab submit does it too)\n"
	"  --allow-unsafe  let Lua specs use io, os and require (also --unsafe)\n"
	"\n"
	"Exit status: 0 if every spec is valid, 1 if any is not, 2 on a usage error.\n";

static const char *plural(size_t n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

static void summary(const char *file, const struct experiment *e)
{
	size_t i, layers = 0;
	for (i = 0; i < e->nr_models; i++)
		layers += e->models[i].nr_layers;
	printf("%s: ok: %zu %s, %zu %s, %zu %s, %zu %s, %zu %s, %zu %s\n", file, e->nr_models,
	       plural(e->nr_models, "model", "models"), layers, plural(layers, "layer", "layers"),
	       e->nr_methods, plural(e->nr_methods, "method", "methods"), e->nr_utilities,
	       plural(e->nr_utilities, "utility", "utilities"), e->nr_targets,
	       plural(e->nr_targets, "target", "targets"), e->nr_metrics,
	       plural(e->nr_metrics, "metric", "metrics"));
}

int cmd_check(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "canonical", no_argument, NULL, 'c' },   { "models", no_argument, NULL, 'm' },
		{ "allow-unsafe", no_argument, NULL, 'u' }, { "unsafe", no_argument, NULL, 'u' },
		{ "help", no_argument, NULL, 'h' },	    { NULL, 0, NULL, 0 },
	};
	int i, opt, canonical = 0, unsafe = 0, models = 0, status = 0, nfiles = 0;

	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
		if (opt == 'h') {
			fputs(check_usage, stdout);
			return 0;
		} else if (opt == 'c') {
			canonical = 1;
		} else if (opt == 'm') {
			models = 1;
		} else if (opt == 'u') {
			unsafe = 1;
		} else {
			fprintf(stderr, "camlab check: unknown option '%s'\n\n%s", commands_bad_option(argv), check_usage);
			return 2;
		}
	}
	i = optind;
	if (i >= argc) {
		fputs(check_usage, stderr);
		return 2;
	}
	for (; i < argc; i++) {
		struct experiment e;
		struct diag d = DIAG_INIT;
		int ret;

		experiment_init(&e);
		ret = experiment_load(&e, argv[i], &d, unsafe);
		if (ret == 0 && !d.errors)
			cmd_check_paper(&e, &d);
		if (ret == 0 && !d.errors && models) {
			fflush(stdout); /* the summary of an earlier file comes first */
			preflight_models(&e, &d, stdout);
		}
		/* positions borrow e's file name: print before releasing e */
		fflush(stdout);
		diag_print(&d, stderr);
		fflush(stderr);
		if (ret < 0 || d.errors) {
			status = 1;
		} else if (canonical) {
			char *text = experiment_canonical(&e);
			fputs(text, stdout);
			free(text);
		} else {
			summary(argv[i], &e);
		}
		fflush(stdout);
		diag_release(&d);
		experiment_release(&e);
		nfiles++;
	}
	return status;
}
