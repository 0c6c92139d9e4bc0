/*
 * cmd_report.c - `camlab report DIR`: rebuild an output folder's tables, plots, figures and index page
 * from its results database, without recomputing anything.
 */
#include "interp/commands.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/error.h"
#include "reports/report.h"

static const char report_usage[] =
	"usage: camlab report DIR\n"
	"\n"
	"Rebuilds DIR/report/ (an experiment's output folder) from DIR/results.sqlite alone: the paper's\n"
	"tables (Markdown, LaTeX, CSV), gnuplot plots (PNG, SVG), heatmap figures and index.html, which\n"
	"shows them all and works offline. camlab run does this at its end. Plots and figures need gnuplot\n"
	"(or $CAMLAB_GNUPLOT); docs/reports.md describes the files.\n";

int cmd_report(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char *index;
	int ret, opt;

	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
		if (opt == 'h') {
			fputs(report_usage, stdout);
			return 0;
		}
		error("unknown option '%s'", commands_bad_option(argv));
		fputs(report_usage, stderr);
		return 2;
	}
	if (argc - optind != 1) {
		error("camlab report takes one output folder");
		fputs(report_usage, stderr);
		return 2;
	}
	ret = report_build(argv[optind], &index);
	if (index) /* written even when some plot failed */
		printf("report: %s\n", index);
	free(index);
	return ret < 0 ? 1 : 0;
}
