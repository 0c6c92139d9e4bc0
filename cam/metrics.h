/*
 * metrics.h - the paper's evaluation metrics of a heatmap (SCIENCE.md "Metrics"): AD, IC, ADD,
 * Complexity and Coherency per image, and their dataset-level averages with ADCC.
 *
 * The CAM uses the experiment's utility; the scores use the softmax probability of the target class c:
 * Y = p_c(x), O = p_c(x * H), D = p_c(x * (1 - H)), where H multiplies the normalised input. Coherency
 * compares H with H', the same method, utility and class applied to x * H, whose forward also gives O.
 */
#ifndef CAM_METRICS_H
#define CAM_METRICS_H

#include <stddef.h>

#include "cam/methods.h"

enum metric { METRIC_AD, METRIC_COH, METRIC_COM, METRIC_ADCC, METRIC_IC, METRIC_ADD, METRIC_NR };

extern const char *const metric_names[METRIC_NR];

/* Parse a comma-separated list of metric names ("all" for the six) into a mask of (1 << metric). */
int metrics_parse(const char *list, unsigned *mask);

/* One image's values; a metric that was not computed is NAN. */
struct metric_row {
	double ad, coh, com, ic, add;
	double y, o, d; /* the probabilities behind them */
};

/*
 * How to make a method's map again for Coherency's second CAM: the passes it needs and a function from a
 * pass to S (B, h, w). cam_mapper_builtin() wraps cam_map; user methods bring their own.
 */
struct cam_mapper {
	unsigned passes;
	ts_tensor *(*map)(const struct cam_pass *p, const struct cam_extra *extra, void *ud);
	void *ud;
	enum cam_method method; /* for the built-in mapper */
};

void cam_mapper_builtin(struct cam_mapper *mp, enum cam_method m);

/*
 * Evaluate the heatmaps heat (B, H, W) of a method, computed from pass p on input x (B, 3, H, W), filling
 * rows[B]. which is a mask of metrics; ADCC needs AD, Coh and Com and is computed by metrics_summarize.
 * extra is what the method needs beyond the passes (as for cam_map). Returns 0 or -1 with an error.
 */
int metrics_eval(const struct cam_pass *p, const ts_tensor *x, const ts_tensor *heat,
		 const struct cam_mapper *mapper, const struct cam_extra *extra, unsigned which,
		 struct metric_row *rows);

struct metric_summary {
	size_t n;
	double ad, coh, com, ic, add, adcc; /* averages over the images; NAN when not computed */
};

/* Dataset level: averages of each metric and ADCC = 3 / (1/Coh + 1/(1 - Com) + 1/(1 - AD)) of them. */
void metrics_summarize(const struct metric_row *rows, size_t n, struct metric_summary *out);

#endif
