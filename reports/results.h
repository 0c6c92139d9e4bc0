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

/*
 * Every metric a report ranks, in one numbering: the paper's six (enum metric), then extra_metric_info's
 * at METRIC_NR + e. results_metric_info(m) is its label and direction, results_value(x, m) the run's mean
 * (NAN: none).
 */
#define RESULT_NR_ALL (METRIC_NR + RESULT_NR_EXTRA)
const struct metric_info *results_metric_info(int m);

/* One image's values of the extra metrics (NAN: none), as image_metrics holds them. */
struct result_image_extra {
	long idx;
	double v[RESULT_NR_EXTRA];
};

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
	/* Once results_load_images has read them: the per-image values, ordered by image index (the
	 * paper's in images, the extra metrics' in extra_images), and each metric's bootstrap interval, in
	 * the numbering of RESULT_NR_ALL (has_ci 0: none, the run has no per-image value of it). */
	struct store_image_values images;
	struct result_image_extra *extra_images;
	size_t nr_extra_images, alloc_extra_images;
	struct stats_ci ci[RESULT_NR_ALL];
	int has_ci[RESULT_NR_ALL];
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
 * Read every row's per-image values (result.images, result.extra_images) from s and compute the
 * bootstrap interval (o) of each of its means, the extra metrics' too: over the images that have a value
 * of the metric; ADCC's from the ADCC of each resample's mean AD, Coh and Com, drawn as the other
 * columns draw theirs. 0, or -1 after error().
 */
int results_load_images(struct results *r, struct store *s, const struct stats_boot_opts *o);

/* Image v's value of metric m (NAN for ADCC, a function of three means, which images do not have). */
double results_image_value(const struct store_image_value *v, int m);

/* The run's mean of metric m (RESULT_NR_ALL's numbering); NAN: none. */
double results_value(const struct result *x, int m);

/*
 * The images of x that have a finite value of metric m (RESULT_NR_ALL's numbering), in index order:
 * their indices into *idx and values into *v (both allocated, caller frees, even for 0 images); returns
 * how many. ADCC has none.
 */
size_t results_image_column(const struct result *x, int m, long **idx, double **v);
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
