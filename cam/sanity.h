/*
 * sanity.h - the model-parameter randomisation test of Adebayo et al. ("Sanity Checks for Saliency
 * Maps", NeurIPS 2018), cascading as Quantus's MPRT does, for every method of a group at once: the
 * modules are re-initialised one at a time from the output down to the target layer, and after each
 * step every method's heatmap is made again on the randomised copy and compared with its heatmap on the
 * trained model. A method whose maps do not change (an edge detector, a map that ignores the model)
 * fails. The trained model is never touched: the steps change a copy (ts_module_clone).
 */
#ifndef CAM_SANITY_H
#define CAM_SANITY_H

#include <stddef.h>
#include <stdint.h>

#include "cam/metrics.h"

/* Defaults (the spec cannot change them yet): Quantus's seed, the cascade down to the target layer. */
#define SANITY_SEED 42
#define SANITY_THRESHOLD 0.5

struct sanity_opts {
	uint64_t seed;	  /* step s (from 1) re-initialises its module from a generator seeded seed + s */
	int steps;	  /* 0: from the output down to the target layer; N > 0: the top N modules */
	double threshold; /* an image passes when the Spearman correlation at the last step is below it */
};
#define SANITY_OPTS_INIT { SANITY_SEED, 0, SANITY_THRESHOLD }

/*
 * The cascade of m cut at layer: the modules that hold parameters or buffers of their own, in the reverse
 * of named_modules()'s order (the output first, as Quantus's top_down order), down to the last module
 * at or inside layer (steps 0), or the first `steps` of them (which may go below the layer, towards the
 * input, as Adebayo's full cascade); at most SANITY_MAX_STEPS. *paths (n entries) is the caller's to free
 * with sanity_cascade_free; *head counts its first entries that are above the layer (outside it, after
 * it in named_modules()'s order). Returns 0, or -1 with an error when there is no such module.
 */
int sanity_cascade(const ts_module *m, const char *layer, int steps, char ***paths, size_t *n, size_t *head);
void sanity_cascade_free(char **paths, size_t n);

/*
 * The test for the batch of pass p (x the batch's input, model and head in extra as for cam_map;
 * head is the model's last linear module path, NULL: none, whose weight CAM reads on each copy). Each
 * method of mm with a heat gets, per image, the Spearman correlation and SSIM at every step and the
 * summary values (metric_row's sanity fields) at the last step above the layer: the whole head
 * randomised while A is still the trained model's, where a map that ignores the model or the class
 * (SobelCAM, RandomCAM) is unchanged; or at the last step when no step is above the layer. The curve
 * goes on into the layer, where A changes too. The targets stay the trained model's.
 * Returns 0, or -1 with an error.
 */
int sanity_eval(const struct cam_pass *p, const struct cam_extra *extra, const char *head,
		const struct sanity_opts *o, struct metric_method *mm, size_t nm);

/*
 * Spearman's rank correlation of two maps of n values (ties get their average rank, as scipy's
 * spearmanr); where scipy has NAN: 1 when both maps are constant (after cam_postprocess both are then
 * zero: unchanged), 0 when one is (the map has lost, or gained, its ranking).
 */
double sanity_spearman(const float *a, const float *b, size_t n);
/*
 * SSIM of two h x w maps as skimage.metrics.structural_similarity with its defaults: 7 x 7 uniform
 * windows, sample covariances, K1 0.01, K2 0.03, the mean over the windows that fit inside the map, and
 * data_range the spread of both maps together (Quantus's). 1 when both are the same constant; NAN when
 * the map is smaller than 7 x 7.
 */
double sanity_ssim(const float *a, const float *b, int h, int w);

#endif
