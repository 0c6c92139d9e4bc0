/*
 * metrics.h - the paper's evaluation metrics of a heatmap (SCIENCE.md "Metrics"): AD, IC, ADD,
 * Complexity and Coherency per image, and their dataset-level averages with ADCC.
 *
 * The CAM uses the experiment's utility; the scores use the softmax probability of the target class c:
 * Y = p_c(x), O = p_c(x * H), D = p_c(x * (1 - H)), where H multiplies the normalised input. Coherency
 * compares H with H', the same method, utility and class applied to x * H, whose forward also gives O.
 *
 * Beyond the paper, the field's faithfulness metrics, named in a spec's metrics: but not in "all" (they
 * cost many forwards per image; their parameters, struct metric_params, have the defaults below):
 *   road       ROADCombined (Rong et al., ICML 2022) as cam/road.h: percentiles 10..90, softmax target,
 *              noise 0.01 seeded by the experiment's seed and the image's dataset index; also keeps the
 *              MoRF and LeRF averages (road_morf, road_lerf).
 *   arcc       pytorch-grad-cam's ARCC: harmonic mean of Coherency, 1 - Complexity and
 *              clip(2 * ROADCombined, 0, 1), that ROAD with logit targets over percentiles 20, 40, 60, 80.
 *   insertion  Petsiuk et al. (RISE, BMVC 2018): p_c as the pixels of x are inserted into a blurred x
 *   deletion   (insertion) or replaced by 0 of the normalised input (deletion), most salient first, in
 *              METRIC_STEPS steps; the area under that curve by the trapezoidal rule.
 *   gain       Average Gain (Zhang et al., Opti-CAM, 2024): max(0, O - Y) / (1 - Y) per image.
 *   fidelity   Shapley fidelity (cam/fidelity.h): Spearman's rho and the normalised L2 error of the map
 *              before ReLU against the CRG game's Shapley values at the layer, estimated by antithetic
 *              permutation sampling (fidelity, fidelity_l2; fidelity_se the estimate's standard error).
 *              Computed in the group's batch (interp/group_batch.c), not by metrics_eval.
 *   sanity     the model-parameter randomisation test (Adebayo et al., NeurIPS 2018; cam/sanity.h):
 *              Spearman and SSIM of each map with the map after each cascading step, and pass/fail.
 *   discrimination  the overlap of the maps of two targets of an image (cam/discrim.h): predicted
 *              against second most likely and against least likely, Pearson and top-20% mass.
 */
#ifndef CAM_METRICS_H
#define CAM_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "cam/methods.h"

/* METRIC_NR counts the paper's six ("all"); METRIC_NR_ALL every metric camlab knows. */
enum metric {
	METRIC_AD,
	METRIC_COH,
	METRIC_COM,
	METRIC_ADCC,
	METRIC_IC,
	METRIC_ADD,
	METRIC_NR,
	METRIC_ROAD = METRIC_NR,
	METRIC_ARCC,
	METRIC_INSERTION,
	METRIC_DELETION,
	METRIC_GAIN,
	/* Shapley fidelity (cam/fidelity.h): the map against the CRG game's sampled Shapley values */
	METRIC_FIDELITY,
	/* sanity and discrimination: for all methods of a group at once (metrics_eval_group) */
	METRIC_SANITY,
	METRIC_DISCRIMINATION,
	METRIC_NR_ALL
};

extern const char *const metric_names[METRIC_NR_ALL];

/* insertion and deletion: points on the curve after the first (default of their 'steps') */
#define METRIC_STEPS 100

/*
 * The metrics' parameters from the spec (cam/params.h's table), with pytorch-grad-cam's defaults: ROAD's
 * percentiles 10..90 and noise 0.01, ARCC's ROAD percentiles 20, 40, 60, 80; insertion's and
 * deletion's steps (RISE's N, camlab's 100).
 */
#define METRIC_MAX_PERCENTILES 100
struct metric_params {
	size_t nr_road_percentiles;
	double road_percentiles[METRIC_MAX_PERCENTILES];
	double road_noise;
	size_t nr_arcc_percentiles;
	double arcc_percentiles[METRIC_MAX_PERCENTILES];
	int insertion_steps, deletion_steps;
	int fidelity_pairs;		/* Shapley fidelity's antithetic pairs (cam/fidelity.h) */
	int sanity_seed;		/* the sanity check's (cam/sanity.h) */
	int sanity_steps;
	double sanity_threshold;
	double discrimination_top;	/* the share of the predicted map's pixels (cam/discrim.h) */
};
void metric_params_init(struct metric_params *mp);

/* Silent lookup of one metric name as metrics_parse reads it ("all" is none): its index, or -1. */
int metric_lookup(const char *name);


/* Parse a comma-separated list of metric names ("all" for the six) into a mask of (1 << metric). */
int metrics_parse(const char *list, unsigned *mask);

/* The most steps of the sanity check's cascade (cam/sanity.h) a row keeps. */
#define SANITY_MAX_STEPS 64

/* One image's values; a metric that was not computed is NAN. */
struct metric_row {
	double ad, coh, com, ic, add;
	double y, o, d; /* the probabilities behind them */
	double road, road_morf, road_lerf, arcc, insertion, deletion, gain;
	/* Shapley fidelity: Spearman's rho and ||S - phi|| / ||phi|| of the map S with the estimate phi,
	 * and the estimate's standard error averaged over the positions (the same for every method) */
	double fidelity, fidelity_l2, fidelity_se;
	/* sanity and discrimination, valid where sanity_done / disc_done (metric_row_more names them) */
	unsigned char sanity_done, disc_done;
	int sanity_steps;
	double sanity_spearman, sanity_ssim, sanity_pass; /* at the last step; pass 1 or 0 */
	double sanity_curve[2][SANITY_MAX_STEPS];	  /* Spearman, SSIM after step s + 1 */
	double disc_pearson_second, disc_mass_second, disc_pearson_least, disc_mass_least;
};

/*
 * The per-image values beyond the paper's six that a metric_row holds, by the names the database and
 * CSV files give them: road, road_morf, road_lerf, arcc, insertion, deletion, gain, fidelity,
 * fidelity_l2, fidelity_se.
 */
enum { METRIC_NR_EXTRA = 10 };
extern const char *const metric_extra_names[METRIC_NR_EXTRA];
/* The value of extra column i of row r (NAN: not computed). */
double metric_row_extra(const struct metric_row *r, size_t i);

/*
 * How to make a method's map again for Coherency's second CAM: the passes it needs and a function from a
 * pass to S (B, h, w). cam_mapper_builtin() wraps cam_map; user methods bring their own.
 */
struct cam_mapper {
	unsigned passes;
	ts_tensor *(*map)(const struct cam_pass *p, const struct cam_extra *extra, void *ud);
	void *ud;
	enum cam_method method;		  /* for the built-in mapper */
	struct cam_method_params params; /* its parameters: the defaults until the caller sets them */
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

/*
 * The values of a row beyond metric_extra_names, by the names the database and CSV files give them:
 * sanity_spearman, sanity_ssim, sanity_pass, sanity_spearman_01.., sanity_ssim_01.. (per step),
 * disc_pearson_second, disc_mass_second, disc_pearson_least, disc_mass_least, those computed only.
 * Value i into *value and its name into name (size bytes); 0 when there is no value i.
 */
int metric_row_more(const struct metric_row *r, size_t i, char *name, size_t size, double *value);

/* The metrics computed for all methods of a group at once, after each one's metrics_eval. */
#define METRICS_GROUP ((1u << METRIC_SANITY) | (1u << METRIC_DISCRIMINATION))
struct metric_method {
	const struct cam_mapper *mapper;
	const ts_tensor *heat;	 /* (B, H, W) as metrics_eval got it; NULL: the method is left out */
	struct metric_row *rows; /* its B rows */
};
/*
 * The group metrics of `which` for the batch of pass p (extra as for cam_map; head: the model's last
 * linear module path or NULL), into each method's rows. 0, or -1 with an error.
 */
int metrics_eval_group(const struct cam_pass *p, const struct cam_extra *extra, const char *head,
		       unsigned which, struct metric_method *mm, size_t nm);

struct metric_summary {
	size_t n;
	double ad, coh, com, ic, add, adcc; /* averages over the images; NAN when not computed */
	double extra[METRIC_NR_EXTRA];	    /* the averages of metric_row_extra's columns, likewise */
};

/*
 * Dataset level: averages of each metric (Average Gain is the mean of the per-image gains, as ARCC,
 * ROAD, insertion and deletion are) and ADCC = 3 / (1/Coh + 1/(1 - Com) + 1/(1 - AD)) of them.
 */
void metrics_summarize(const struct metric_row *rows, size_t n, struct metric_summary *out);

#endif
