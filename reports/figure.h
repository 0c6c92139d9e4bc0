/*
 * figure.h - labelled grids of pictures (overlays side by side, like the paper's Figs. 1, 5 and 6),
 * drawn by gnuplot's pngcairo terminal so that the labels are real text.
 */
#ifndef REPORTS_FIGURE_H
#define REPORTS_FIGURE_H

#include "cam/image.h"
#include "lib/strbuf.h"

/* One cell of a grid; both pointers stay the caller's. img NULL leaves the cell blank. */
struct figure_cell {
	const struct image *img;
	const char *label; /* drawn above the picture; NULL: none; '\n' breaks lines */
};

/*
 * Draw rows x cols cells (row-major) into the PNG out_png. Every picture is fitted, pixels square,
 * into one box of the size of the largest: pictures under 160 pixels are enlarged by a whole factor
 * with nearest-neighbour pixels, pictures over 320 are shrunk. row_labels (rows entries, may be NULL,
 * as may any entry) are written upright to the left of each row, title (may be NULL) on top.
 *
 * gnuplot is run from $CAMLAB_GNUPLOT if set, else "gnuplot" on the PATH, on a script and cell PNGs
 * in a temporary folder that is removed afterwards. Returns 0, or -1 when the figure could not be
 * drawn (gnuplot missing or failing, a file not writable): the reason is appended to err, or, when
 * err is NULL, reported with error(). Nothing is left at out_png on failure.
 */
int figure_grid(const char *out_png, const struct figure_cell *cells, int rows, int cols,
		const char *const *row_labels, const char *title, struct strbuf *err);

/*
 * The name a figure should print for a method or utility as camlab spells it ("gradcam++",
 * "shapleycam-h", "logit", "rest"): the paper's spelling ("GradCAM++", "ShapleyCAM-H", "pre-softmax",
 * "ReST"), or name itself when it is neither. The result is static or name.
 */
const char *figure_display_name(const char *name);

/*
 * The same for a label as the grid and the database spell it, which may carry a built-in's parameters
 * ("kpcacam(gamma=0.5)", dsl/experiment.h's exp_name): the display name with the parameters as they are
 * ("KPCA-CAM(gamma=0.5)"). A user's method or utility keeps its name. The result is static, name, or
 * buf's text (buf is reset first; it stays the caller's and is valid until buf changes).
 */
const char *figure_label(const char *name, struct strbuf *buf);
/* The same as a new string (caller frees). */
char *figure_label_dup(const char *name);

#endif
