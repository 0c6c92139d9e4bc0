/*
 * discrim.h - target discrimination, the question of the paper's Fig. 1: does a method's map for one
 * class differ from its map for another class of the same image? For every method of a group at once,
 * the maps of the predicted class are compared with those of the second most likely and of the least
 * likely class (two shared passes per batch, whatever the number of methods).
 */
#ifndef CAM_DISCRIM_H
#define CAM_DISCRIM_H

#include <stddef.h>

#include "cam/metrics.h"

/* The share of the predicted map's pixels whose mass of the other map is measured (the spec cannot
 * change it yet). */
#define DISCRIM_TOP 0.2

/*
 * For each method of mm with a heat and each image of p's batch: the Pearson correlation over pixels of
 * the heatmaps H1 (predicted class) and H2 (second most likely, then least likely), and the mass of H2
 * inside H1's top share: sum of H2 over the ceil(top * HW) pixels largest in H1 (ties in pixel order)
 * over the sum of H2. Where Pearson is undefined: 1 when both maps are constant (the same map, zero
 * after cam_postprocess), 0 when one is; an all-zero H2 gives a mass of top (what a uniform map gives). Lower values: better discrimination. Where p's targets are the predicted classes,
 * the methods' heats serve as H1; else the predicted class gets a pass of its own.
 * Returns 0, or -1 with an error (a model with fewer than 2 classes).
 */
int discrim_eval(const struct cam_pass *p, const struct cam_extra *extra, double top, struct metric_method *mm,
		 size_t nm);

/* The two values for one image's maps a, b of n pixels (see above): *r Pearson, *mass b's in a's top. */
void discrim_pair(const float *a, const float *b, size_t n, double top, double *r, double *mass);

#endif
