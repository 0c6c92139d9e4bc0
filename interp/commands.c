/*
 * commands.c - the table of camlab's commands, and the usage text made from it, so that a command is
 * added in one place and `camlab --help` cannot forget it.
 */
#include "interp/commands.h"

#include <getopt.h>
#include <stdio.h>

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
	{ "help", cmd_help,
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

const char *commands_bad_option(char **argv)
{
	static char one[3];

	if (optopt > 0 && optopt < 128) { /* a short option: it may stand in a group ("-qx") */
		one[0] = '-';
		one[1] = (char)optopt;
		return one;
	}
	return argv[optind - 1];
}
