/*
 * road_impute.h - ROAD's noisy linear imputation (road.h says what it computes): the sparse systems of
 * one image's masks, solved with CHOLMOD, one factorisation for a whole nested family of masks.
 *
 * The system of a mask is (D - W_UU) v = W_UK x_K over its unknown pixels U, with D the diagonal of the
 * in-image neighbour weights. Each mask's system is factored on its own, in a nested-dissection order
 * of its unknowns.
 *
 * D does not depend on the mask, so every system is the principal submatrix M[U, U] of one full-grid
 * matrix M = D - W. When the unknown sets are nested (U_1 ⊇ U_2 ⊇ ..., as the percentile masks of one
 * direction always are: thresholds of one map), an elimination order of U_1 that puts U_k's pixels
 * before the rest, for every k, makes each M[U_k, U_k]'s factor the leading block of M[U_1, U_1]'s: one
 * factorisation serves all the masks (ROAD_IMPUTE_NESTED). It is not the default because it costs more:
 * eliminating U_k first turns its whole boundary into a dense clique, and on the MobileNet-V2 maps of
 * bench/RESULTS.md the one constrained factorisation per direction took 3.4x the flops of the nine
 * separate ones; the boundary cliques alone, which any such order must factor, cost about as much as
 * the nine.
 */
#ifndef CAM_ROAD_IMPUTE_H
#define CAM_ROAD_IMPUTE_H

#include <stddef.h>
#include <stdint.h>

/* What the solves cost; each field is added to by road_impute_masks. */
struct road_impute_stats {
	size_t masks;	   /* masks imputed */
	size_t factorisations; /* sparse factorisations done */
	size_t nested;	   /* families solved with one factorisation */
	size_t fallbacks;	   /* families not nested, factored per mask */
	double flops;	   /* CHOLMOD's count of the factorisations' flops (LL') */
	double lnz;	   /* nonzeros of the factors */
};

#define ROAD_IMPUTE_STATS_INIT { 0, 0, 0, 0, 0, 0 }

void road_impute_stats_add(struct road_impute_stats *to, const struct road_impute_stats *from);

/*
 * Impute the pixels of img (C, H, W, float32, normalised) where keep (H, W) is 0, into out (C, H, W;
 * may not alias img). noise > 0 adds noise * N(0, 1) from *rng (a splitmix64 state) to each imputed
 * value, channel by channel in raster order. With no pixel known the image becomes 0 (plus noise), as
 * upstream's solve gives. Returns 0, or -1 with an error when the sparse solve fails.
 */
int road_impute(const float *img, int C, int H, int W, const unsigned char *keep, double noise,
		uint64_t *rng, float *out);

enum road_impute_flags {
	ROAD_IMPUTE_NESTED = 1 << 0, /* one factorisation for a nested family of masks (see above) */
};

/*
 * road_impute for nm masks of one image: keep holds nm masks (H, W) one after the other, out nm images
 * (C, H, W), rngs nm noise states (mask k's noise from rngs[k], as road_impute draws it). With
 * ROAD_IMPUTE_NESTED, masks whose unknown sets are nested share one factorisation; masks that are not
 * are factored one by one (st->fallbacks counts those calls). The values agree with one factorisation
 * per mask to rounding. st (may be NULL) is added to. Returns 0, or -1 with an error.
 */
int road_impute_masks(const float *img, int C, int H, int W, const unsigned char *keep, size_t nm,
		      double noise, uint64_t *rngs, unsigned flags, float *out, struct road_impute_stats *st);

#endif
