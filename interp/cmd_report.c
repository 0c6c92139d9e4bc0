/*
 * cmd_report.c - `camlab report DIR`: rebuild an output folder's tables, plots, figures and index page
 * from its results database, without recomputing anything.
 */
#include "interp/commands.h"

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
	char *index;
	int ret, i;

	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		fputs(report_usage, stdout);
		return 0;
	}
	for (i = 1; i < argc; i++)
		if (argv[i][0] == '-') {
			error("unknown option '%s'", argv[i]);
			fputs(report_usage, stderr);
			return 2;
		}
	if (argc != 2) {
		error("camlab report takes one output folder");
		fputs(report_usage, stderr);
		return 2;
	}
	ret = report_build(argv[1], &index);
	if (index) /* written even when some plot failed */
		printf("report: %s\n", index);
	free(index);
	return ret < 0 ? 1 : 0;
}
