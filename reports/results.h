/*
 * results.h - the aggregate results of an output folder's runs, read from the results database
 * (store/store.h) into memory in the order the reports show them, and the paper's orders of methods
 * and utilities.
 */
#ifndef REPORTS_RESULTS_H
#define REPORTS_RESULTS_H

#include <stddef.h>

#include "reports/stats.h"
#include "store/store.h"

/* The paper's table columns, in its order. */
enum metric { METRIC_AD, METRIC_COH, METRIC_COM, METRIC_ADCC, METRIC_IC, METRIC_ADD, METRIC_NR };

struct metric_info {
	const char *name;    /* as the paper's column heads: "AD", "Coh", ... */
	const char *column;  /* the aggregates table's column: "ad", ..., "add_" */
	const char *longname; /* for plot titles: "Average drop" */
	int higher_better;
};
extern const struct metric_info metric_info[METRIC_NR];

/*
 * The metrics beyond the paper's (store.h's image_metrics), a table each: ROAD, ARCC, insertion, deletion,
 * gain (the faithfulness metrics, from 0), Shapley fidelity's rho and L2 error (from RESULT_FIDELITY),
 * the sanity check's and target discrimination's (from RESULT_SANITY).
 */
enum { RESULT_NR_FAITHFUL = 5, RESULT_FIDELITY = 5, RESULT_SANITY = 7, RESULT_NR_EXTRA = 11 };
extern const struct metric_info extra_metric_info[RESULT_NR_EXTRA];

/* One run that has aggregate values. Every string is owned by the struct results it is in. */
struct result {
	char *key, *model, *layer, *layer_path, *method, *utility, *target, *state;
	char *precision; /* "fp32", or the run's other arithmetic ("bf16", "fp16", "tf32") */
	char *note;	 /* store_run_note's, such as "hvp-zero"; NULL: none */
	long n, nr_images; /* images averaged; images the run covers */
	double v[METRIC_NR]; /* averages in [0, 1] (x100 in the tables); NAN: not computed */
	double extra[RESULT_NR_EXTRA]; /* likewise, of extra_metric_info's metrics */
	/* First-appearance ranks of model, layer (within the model) and target, for sorting. */
	int model_ord, layer_ord, target_ord;
	/* Once results_load_images has read them: the per-image values, ordered by image index, and each
	 * metric's bootstrap interval (has_ci 0: none, the run has no per-image value of it). */
	struct store_image_values images;
	struct stats_ci ci[METRIC_NR];
	int has_ci[METRIC_NR];
};

/*
 * The rows sorted by model, layer (in the order the runs were created), target (likewise), utility
 * and method (the paper's orders, below). Where the database holds several runs of the same model,
 * layer, method, utility and target (a spec changed something else, such as the images), the most
 * recently created one is kept and the others are counted in nr_superseded.
 */
struct results {
	struct result *rows;
	size_t nr, alloc;
	size_t nr_superseded;
};
#define RESULTS_INIT { NULL, 0, 0, 0 }

/* Fill r (initialised, empty) from s; 0, or -1 after error() naming what failed. */
int results_load(struct results *r, struct store *s);
/*
 * Read every row's per-image values (result.images) from s and compute the bootstrap interval (o) of
 * each of its means: over the images that have a value of the metric; ADCC's from the ADCC of each
 * resample's mean AD, Coh and Com, drawn as the other columns draw theirs. 0, or -1 after error().
 */
int results_load_images(struct results *r, struct store *s, const struct stats_boot_opts *o);

/* Image v's value of metric m (NAN for ADCC, a function of three means, which images do not have). */
double results_image_value(const struct store_image_value *v, int m);
void results_release(struct results *r);

/*
 * The paper's row orders: methods RandomCAM, GradCAM++, XGradCAM, LayerCAM, GradCAM-E, ShapleyCAM-E,
 * HiResCAM, ShapleyCAM-H, GradCAM, ShapleyCAM; utilities pre-softmax, post-softmax, ReST. Others
 * sort after those, by name (compare with results_cmp_method / results_cmp_utility).
 */
int results_cmp_method(const char *a, const char *b);
int results_cmp_utility(const char *a, const char *b);

/* Whether method is the random baseline that tables leave out when marking the best. */
int results_is_baseline(const char *method);

#endif
