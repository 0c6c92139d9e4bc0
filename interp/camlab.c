/*
 * camlab.c - the camlab command: finds the subcommand and hands it its arguments.
 */
#include <stdio.h>
#include <string.h>

#include "cam/torch_load.h"
#include "cam/torch_shim.h"
#include "interp/commands.h"
#include "lib/suggest.h"
#include "lib/xalloc.h"

static const char usage[] =
	"usage: camlab <command> [options]\n"
	"\n"
	"Class activation maps for image classifiers, from the paper \"CAMs as Shapley Value-based\n"
	"Explainers\": heatmaps, metrics, tables and figures.\n"
	"\n"
	"commands:\n"
	"  run       run an experiment file (YAML or Lua), resuming where it stopped\n"
	"  plan      show the runs of an experiment and their state, without running\n"
	"  status    summarise the results database of an output folder\n"
	"  report    rebuild an output folder's tables, plots and figures from its database\n"
	"  submit    run an experiment on a Slurm cluster: an array of shards, then their merge\n"
	"  merge     gather an experiment's shards into its output folder and build the report\n"
	"  explain   heatmaps and overlays for images (camlab explain --help)\n"
	"  predict   a model's predictions and accuracy on images or a dataset\n"
	"  layers    the module paths of a model, to name a target layer\n"
	"  check     read and validate experiment specs without running them\n"
	"  version   print camlab's version\n"
	"\n"
	"  help      documentation: camlab help language | tutorial | reports | methods | utilities | "
	"metrics\n"
	"\n"
	"camlab <command> --help describes each command.\n";

static const struct {
	const char *name;
	int (*fn)(int, char **);
} commands[] = {
	{ "explain", cmd_explain },
	{ "predict", cmd_predict },
	{ "layers", cmd_layers },
	{ "check", cmd_check },
	{ "help", cmd_help },
	{ "run", cmd_run },
	{ "plan", cmd_plan },
	{ "status", cmd_status },
	{ "report", cmd_report },
	{ "submit", cmd_submit },
	{ "merge", cmd_merge },
};

int main(int argc, char **argv)
{
	size_t i;

	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    (!strcmp(argv[1], "help") && argc == 2)) {
		fputs(usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (!strcmp(argv[1], "version") || !strcmp(argv[1], "--version")) {
		printf("camlab %s\n", CAMLAB_VERSION);
		/* The tests read this line to know whether to run their GPU checks (tests/lib.sh, have_cuda). */
		printf("cuda devices: %d\n", ts_cuda_device_count());
		printf("%s, loaded from %s\n", ts_version(), ts_load_path());
		return 0;
	}
	/* camlab help COMMAND is camlab COMMAND --help */
	if (!strcmp(argv[1], "help") && argc == 3 && strcmp(argv[2], "help"))
		for (i = 0; i < ARRAY_SIZE(commands); i++)
			if (!strcmp(argv[2], commands[i].name)) {
				char *args[] = { argv[2], "--help", NULL };
				return commands[i].fn(2, args);
			}
	for (i = 0; i < ARRAY_SIZE(commands); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	{
		const char *names[ARRAY_SIZE(commands) + 1], *near[1];
		for (i = 0; i < ARRAY_SIZE(commands); i++)
			names[i] = commands[i].name;
		names[i] = "version";
		if (suggest_nearest(argv[1], names, ARRAY_SIZE(names), near, 1))
			fprintf(stderr, "camlab: '%s' is not a camlab command; did you mean '%s'?\n\n%s",
				argv[1], near[0], usage);
		else
			fprintf(stderr, "camlab: '%s' is not a camlab command\n\n%s", argv[1], usage);
	}
	return 2;
}
