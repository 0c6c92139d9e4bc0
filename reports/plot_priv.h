/*
 * plot_priv.h - what the files of the report's plots (plot.c, plot_distribution.c, ablation.c's plots
 * of differences) share, and nothing else includes: the colours, the gnuplot settings of every plot,
 * and the drawing of one plot.
 */
#ifndef REPORTS_PLOT_PRIV_H
#define REPORTS_PLOT_PRIV_H

#include <stddef.h>

#include "lib/strbuf.h"
#include "reports/plot.h"
#include "reports/results.h"

/* The colour ("#rrggbb") of a method or utility name; the i-th spare colour for a name without one. */
const char *colour(const char *name, size_t i);
/* "#rrggbb" as the integer gnuplot's "lc rgb variable" reads. */
unsigned long colour_int(const char *rgb);

/* The gnuplot settings every plot starts with. */
extern const char common[];

/*
 * Draws the plot stem (DIR/STEM.png, .svg and .gp) from its data blocks and commands, w x h pixels, and
 * lists it in l with its title. Returns as plot_gnuplot does.
 */
int draw(const char *dir, const char *stem, const char *title, const struct strbuf *data,
	 const struct strbuf *body, int w, int h, struct plot_list *l);

/* Whether results a and b are of one methods table: model, layer, target, and utility if with_utility. */
int same_block(const struct result *a, const struct result *b, int with_utility);

/* The box plots of the per-image AD and ADD, one per methods table of r (plot_distribution.c). */
int plot_distributions(const char *dir, const struct results *r, struct store *s, struct plot_list *l);
/* The sanity check's curve of each methods table whose runs computed it (plot_sanity.c). */
int plot_sanity(const char *dir, const struct results *r, struct store *s, struct plot_list *l);

#endif
