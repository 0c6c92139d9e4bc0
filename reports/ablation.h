/*
 * ablation.h - the report's declared ablations (the spec's 'ablations' key, docs/language.md): for one
 * grid dimension, each method's runs side by side across its values, and each value's difference to a
 * baseline value, with paired bootstrap intervals over the images both runs have. The paper's Table 5
 * is the ablation over the utility; a spec without the key gets that one, without a baseline.
 *
 * Built from the results alone, like every table (reports/table.h): nothing is run for an ablation,
 * so an ablation over a dimension the grid does not vary has no table.
 */
#ifndef REPORTS_ABLATION_H
#define REPORTS_ABLATION_H

#include <stddef.h>

#include "reports/plot.h"
#include "reports/results.h"
#include "reports/table.h"

enum ablation_dim {
	ABLATION_MODEL,
	ABLATION_LAYER,
	ABLATION_UTILITY,
	ABLATION_TARGET,
	ABLATION_PRECISION,
	ABLATION_PARAM, /* method.NAME.PARAM: the method's entries side by side by their value of PARAM */
};

/*
 * Over a method's parameter: an entry of the spec's methods (a run's method label), its variant (the
 * label less the parameter) and its value of the parameter, as the spec's canonical text records them
 * (dsl/experiment.h's exp_ablation); every string owned.
 */
struct ablation_variant {
	char *label, *variant, *value;
};

struct ablation {
	enum ablation_dim dim;
	char *over;	/* as the spec wrote it: "utility", "method.kpcacam.gamma"; owned */
	char *baseline; /* a value of the dimension, or NULL: no table of differences; owned */
	struct ablation_variant *variants; /* ABLATION_PARAM: in the order of the spec's methods */
	size_t nr_variants, alloc_variants;
};

struct ablation_list {
	struct ablation *items;
	size_t nr, alloc;
};
#define ABLATION_LIST_INIT { NULL, 0, 0 }

/*
 * Fill l (initialised, empty) from the "ablation OVER BASELINE" lines of a spec's canonical text
 * (dsl/canonical.c), with their "  variant LABEL VARIANT VALUE" lines; "ablations none" leaves it empty; a text with neither (an older spec, or one
 * without the key; NULL too) gives the utility ablation without a baseline, which reports have always
 * had. A line it cannot read is left out.
 */
void ablation_list_from_canonical(struct ablation_list *l, const char *canonical);
void ablation_list_release(struct ablation_list *l);

/*
 * Append to *t (an array of *nr tables from tables_build, reallocated) the tables of each ablation of
 * l, in l's order: for each setting of the other dimensions (model, layer, utility, target) where a
 * method has several values of the dimension, the values table
 *   ablation.MODEL.LAYER.TARGET                    over the utility (the paper's Table 5, as before)
 *   ablation-DIM.OTHERS                            over another dimension (OTHERS: the fixed ones)
 * with a row per method and value, ranked within each method (with st on, by the paired test); over a
 * method's parameter (ablation-method_NAME_PARAM.OTHERS) a row per variant and value, the runs of
 * methods that are not the parameter's method left out; and,
 * with a baseline, its table of differences NAME.vs-BASELINE: a row per method and value other than
 * the baseline, each metric's value minus the baseline's (x100), with the percentile interval of the
 * paired bootstrap over the images both runs have a value for (st's bootstrap, or the defaults), in
 * bold where the interval excludes 0 (with st on; the CSV always carries the intervals). ADCC's
 * interval is of the ADCC of each resample's means. The tables borrow r's rows and l's strings: free
 * them before r and l.
 */
void ablation_tables_build(const struct results *r, const struct ablation_list *l, const struct table_stats *st,
			   struct table **t, size_t *nr);

/*
 * A plot of each table of differences in t (DIR/NAME.png, .svg, .gp): a panel per metric, each
 * difference a point with its interval's whiskers, and the line at 0. Returns as plots_build does.
 */
int ablation_plots_build(const char *dir, const struct table *t, size_t nr, struct plot_list *l);

#endif
