/*
 * plot.h - the report's gnuplot plots (PNG through pngcairo, and SVG): per metric, grouped bars of the
 * methods across models; the utility (ReST) ablation; the per-image distribution of AD and ADD. Each
 * plot keeps its script beside it (NAME.gp, self-contained: the data is inline), so it can be edited
 * and rerun with `gnuplot NAME.gp` in its folder.
 */
#ifndef REPORTS_PLOT_H
#define REPORTS_PLOT_H

#include "lib/strbuf.h"
#include "reports/results.h"
#include "reports/stats.h"

struct store;

/* A plot written (stem: DIR/STEM.png, .svg and .gp) and what it shows. */
struct plot_item {
	char *stem, *title;
};

struct plot_list {
	struct plot_item *items;
	size_t nr, alloc;
};
#define PLOT_LIST_INIT { NULL, 0, 0 }
void plot_list_release(struct plot_list *l);

/*
 * Run gnuplot ($CAMLAB_GNUPLOT, else gnuplot on the PATH) on SCRIPT in folder dir. What it prints
 * (stdout and stderr) is appended to out. Returns 0 when it exits 0, -1 when it fails, -2 when it
 * cannot be started at all.
 */
int plot_gnuplot(const char *dir, const char *script, struct strbuf *out);

/*
 * Write every plot of r into dir (which exists), reading the per-image values from s, and list them
 * in l. The metric plots show each mean with its bootstrap interval (boot; r's per-image values,
 * results_load_images). Plots gnuplot fails on, or prints anything for, are reported with error() or warning().
 * Returns 0; -1 when some plot failed; -2 when gnuplot cannot be run (nothing is drawn then).
 */
int plots_build(const char *dir, const struct results *r, struct store *s, const struct stats_boot_opts *boot,
		struct plot_list *l);

#endif
