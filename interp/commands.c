/*
 * commands.c - the table of camlab's commands, and the usage text made from it, so that a command is
 * added in one place and `camlab --help` cannot forget it.
 */
#include "interp/commands.h"

#include <stdio.h>
#include <string.h>

static int help(int argc, char **argv);

const struct command commands[] = {
	{ "run", cmd_run, "run an experiment file (YAML or Lua), resuming where it stopped", 0 },
	{ "plan", cmd_plan, "show the runs of an experiment and their state, without running", 0 },
	{ "status", cmd_status, "summarise the results database of an output folder", 0 },
	{ "results", cmd_results, "an output folder's runs and metrics, as Markdown, CSV or JSON", 0 },
	{ "compare", cmd_compare, "two output folders or spec versions side by side", 0 },
	{ "report", cmd_report, "rebuild an output folder's tables, plots and figures from its database", 0 },
	{ "submit", cmd_submit, "run an experiment on a Slurm cluster: an array of shards, then their merge", 0 },
	{ "merge", cmd_merge, "gather an experiment's shards into its output folder and build the report", 0 },
	{ "explain", cmd_explain, "heatmaps and overlays for images (camlab explain --help)", 0 },
	{ "predict", cmd_predict, "a model's predictions and accuracy on images or a dataset", 0 },
	{ "layers", cmd_layers, "the module paths of a model, to name a target layer", 0 },
	{ "check", cmd_check, "read and validate experiment specs without running them", 0 },
	{ "init", cmd_init, "write a commented starter experiment for a model", 0 },
	{ "version", cmd_version, "print camlab's version", 0 },
	{ "help", help,
	  "documentation: camlab help language | tutorial | studies | reports | methods\n"
	  "            | utilities | metrics | schema",
	  1 },
	{ NULL, NULL, NULL, 0 },
};

void commands_usage(FILE *fp)
{
	const struct command *c;

	fputs("usage: camlab <command> [options]\n"
	      "\n"
	      "Class activation maps for image classifiers, from the paper \"CAMs as Shapley Value-based\n"
	      "Explainers\": heatmaps, metrics, tables and figures.\n"
	      "\n"
	      "commands:\n",
	      fp);
	for (c = commands; c->name; c++)
		fprintf(fp, "%s  %-10s%s\n", c->gap_before ? "\n" : "", c->name, c->summary);
	fputs("\ncamlab <command> --help describes each command.\n", fp);
}

/*
 * `camlab help`: the topics are cmd_help's; the commands are known here, so `camlab help COMMAND` (which
 * is `camlab COMMAND --help`) and the list of commands are answered here, and cmd_help needs no table.
 */
static int help(int argc, char **argv)
{
	const struct command *c;

	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		cmd_help(argc, argv);
		printf("\ncommands (camlab help COMMAND is camlab COMMAND --help):\n");
		for (c = commands; c->name; c++)
			printf("  %-10s%s\n", c->name, c->summary);
		return 0;
	}
	for (c = commands; c->name; c++)
		if (argc == 2 && c->fn != help && !strcmp(argv[1], c->name)) {
			char *args[] = { argv[1], "--help", NULL };
			return c->fn(2, args);
		}
	return cmd_help(argc, argv);
}
