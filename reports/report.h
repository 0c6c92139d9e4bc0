/*
 * report.h - an output folder's report, rebuilt from its results database alone (store/store.h):
 * the paper's tables, gnuplot plots, heatmap figures and an index.html that shows them, offline.
 *
 * Layout, under DIR/report/ (docs/reports.md describes every file):
 *   index.html                 everything on one page; relative links, no external CSS, JS or fonts
 *   tables/NAME.md|.tex|.csv   methods.MODEL.LAYER.UTILITY.TARGET, ablation.MODEL.LAYER.TARGET, the
 *                              spec's other ablations and their differences (reports/ablation.h)
 *   tables/tables.tex          a document that inputs every .tex table (pdflatex tables.tex)
 *   plots/NAME.png|.svg|.gp    metric-<M>, ablation.MODEL.LAYER.TARGET, NAME.vs-BASELINE and
 *                              distribution.MODEL.LAYER.UTILITY.TARGET
 *   figures/NAME.png           image<IDX>.by-<BY>.MODEL.LAYER
 * The three folders are emptied first, so nothing stale survives a rebuild.
 */
#ifndef REPORTS_REPORT_H
#define REPORTS_REPORT_H

/*
 * Build DIR/report from DIR/results.sqlite, as the database's outputs table asks (tables, plots,
 * formats, paper; everything when it is empty). Nothing is recomputed. Plots and figures are skipped
 * with a warning when gnuplot cannot be run; the database is only read. Returns 0; -1 after error() when
 * the database cannot be read, a file cannot be written, or gnuplot fails on a plot or figure (the rest
 * is still written). *written is the path of the index page when it was written (caller frees), else
 * NULL: a report that failed before it leaves the previous one as it was.
 */
int report_build(const char *dir, char **written);

/* The index page report_build writes for dir (caller frees). */
char *report_index_path(const char *dir);

#endif
