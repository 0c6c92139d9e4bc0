/*
 * road.h - ROAD (Rong et al., ICML 2022, "A consistent and efficient evaluation strategy for attribution
 * methods") and the ARCC score built on it, as pytorch-grad-cam's metrics/road.py and metrics/arcc.py
 * define them (docs: ../shared/reference/pytorch-grad-cam/README.md, "Metrics").
 *
 * Per percentile p, MoRF keeps the pixels whose map value is below numpy's percentile p of the map
 * (strict; linear interpolation) and LeRF those whose 1 - map is below the percentile of 1 - map. The
 * removed pixels are imputed by noisy linear imputation: each removed pixel is the weighted mean of its
 * in-image 8 neighbours (1/6 edge, 1/12 diagonal, renormalised at the border), solved jointly for all
 * removed pixels of a channel, on the normalised input, plus noise * N(0, 1). The score is
 * target(model(imputed)) - target(model(x)), with the target the softmax probability (ROAD) or the logit
 * (ARCC's ROAD) of the image's class.
 *
 * The system of one mask is (D - W_UU) v = W_UK x_K over the unknown pixels U, with D the diagonal of
 * the in-image neighbour weights: symmetric (the weights are) and positive definite when at least one
 * pixel is known, so each is factored by CHOLMOD (road_impute.h) and solved for the C channels. With no
 * pixel known (ties at the percentile) the image becomes 0, as upstream's solve gives.
 */
#ifndef CAM_ROAD_H
#define CAM_ROAD_H

#include <stddef.h>
#include <stdint.h>

#include "cam/road_impute.h" /* road_impute, and how the imputation is counted */
#include "cam/torch_shim.h"

enum road_target {
	ROAD_SOFTMAX = 0, /* ClassifierOutputSoftmaxTarget: ROAD's default */
	ROAD_LOGIT,	  /* ClassifierOutputTarget: ARCC's ROAD */
};

/* The percentiles of ROAD (10, 20, ..., 90) and of ARCC's ROAD (20, 40, 60, 80). */
extern const double road_percentiles_default[9];
extern const double road_percentiles_arcc[4];

struct road_opts {
	const double *percentiles; /* borrowed; in [0, 100] */
	size_t nr_percentiles;
	double noise;  /* standard deviation of the noise added to imputed pixels (upstream: 0.01) */
	uint64_t seed; /* of that noise */
	enum road_target target;
	int batch;   /* imputed images per forward */
	int threads; /* imputations of one image solved at once (one mask a job; ROAD_IMPUTE_NESTED: a direction) */
	unsigned impute_flags; /* enum road_impute_flags */
	struct road_impute_stats *stats; /* borrowed, may be NULL: the imputations' counts are added */
};

#define ROAD_OPTS_INIT { road_percentiles_default, 9, 0.01, 0, ROAD_SOFTMAX, 32, 1, 0, NULL }

/* Per image scores; arrays owned, n and nr_percentiles as evaluated. */
struct road_scores {
	size_t n, nr_percentiles;
	float *morf, *lerf;	/* n x nr_percentiles, row major */
	float *morf_avg, *lerf_avg; /* n: float32 mean over the percentiles, as upstream's np.mean */
	float *combined;	/* n: (lerf_avg - morf_avg) / 2 */
};

#define ROAD_SCORES_INIT { 0, 0, NULL, NULL, NULL, NULL, NULL }

void road_scores_release(struct road_scores *s);

/*
 * keep[i] = 1 for the pixels a percentile keeps of a map of n values: map[i] < percentile(map, p) for
 * MoRF (lerf = 0), 1 - map[i] < percentile(1 - map, p) for LeRF, in upstream's arithmetic (numpy's
 * percentile of float32 values, compared in float32 as torch does). Returns the number kept.
 * p is clamped to [0, 100]; the map should be finite (road_eval checks).
 */
size_t road_keep_mask(const float *map, size_t n, double p, int lerf, unsigned char *keep);

/*
 * ROAD of the maps (n, H, W, float32, host) of x (n, C, H, W, float32 on the model's device) for the
 * classes targets[n], both orders, with model m (borrowed). Fills *out (released first). Runs without
 * gradients. Returns 0, or -1 with an error.
 */
int road_eval(ts_module *m, const ts_tensor *x, const float *maps, const long *targets,
	      const struct road_opts *opts, struct road_scores *out);

/* Upstream's Complexity: the mean absolute value of a map of n values. */
double road_complexity(const float *map, size_t n);
/* Upstream's coherency: (rho + 1) / 2, rho Pearson's correlation of a and b (n - 1 form, + 1e-8). */
double road_coherency(const float *a, const float *b, size_t n);
/*
 * ARCC of one image: 3 / (1 / (coherency + 1e-8) + 1 / (1 - complexity + 1e-8) + 1 / (r + 1e-8)), with
 * r = clip(2 * road_combined, 0, 1) and road_combined from ROAD_LOGIT over road_percentiles_arcc.
 */
double road_arcc(double coherency, double complexity, double road_combined);

#endif
