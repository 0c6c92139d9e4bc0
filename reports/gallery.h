/*
 * gallery.h - the report's heatmap figures, like the paper's Figs. 1, 5 and 6: for each figure request
 * of the results database (an image index and what varies: method, utility or target), a labelled
 * grid of the image and its heatmap overlays, per model and layer.
 */
#ifndef REPORTS_GALLERY_H
#define REPORTS_GALLERY_H

#include "reports/plot.h"
#include "reports/results.h"

struct store;

/*
 * Draw the figures into dir (which exists) as image<IDX>.by-<BY>.<MODEL>.<LAYER>.png and list them in
 * l (stem without .png). A grid row holds one combination of the dimensions that do not vary, its
 * columns the input and then one overlay (JET over the input, image weight 0.5, as camlab explain
 * draws them) per value of the one that does. Returns 0, or -1 when some figure could not be drawn
 * (reported with error() or warning()).
 */
int gallery_build(const char *dir, const struct results *r, struct store *s, struct plot_list *l);

#endif
