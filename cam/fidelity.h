/*
 * fidelity.h - Shapley fidelity: how close a method's map comes to the exact Shapley values of the CRG
 * game at the target layer (SCIENCE.md "Identities"), estimated by sampling.
 *
 * The game of one image: players are the h x w positions of A; a coalition S is worth
 * v(S) = U(head(A with the positions outside S set to zero)), the experiment's utility at the image's
 * target class, with the network above the layer (the split's suffix) re-run on the masked A. phi_j, the
 * Shapley value of position j, is estimated by permutation sampling with antithetic pairs: each of P
 * random orders pi is walked forwards and backwards, every position's marginal contribution recorded in
 * both, and the mean of a pair's two contributions is one independent sample of phi_j (for a game whose
 * utility is quadratic in A, a pair gives phi_j exactly). The standard error of phi_j is the pairs'
 * standard deviation over sqrt(P). The estimate keeps efficiency exactly: sum_j phi_j = v(N) - v(empty).
 *
 * Cost per image: 2 + 2 P (d - 1) head forwards for d = h * w positions, batched over the images and the
 * coalitions of a batch in forwards of about FIDELITY_CHUNK_BYTES of A.
 */
#ifndef CAM_FIDELITY_H
#define CAM_FIDELITY_H

#include <stddef.h>
#include <stdint.h>

#include "cam/methods.h"
#include "cam/metrics.h"

/* antithetic pairs of permutations per image (64 permutations); a spec parameter to be */
#define FIDELITY_PAIRS 32
/* masked copies of A per head forward: at most this many bytes of them */
#define FIDELITY_CHUNK_BYTES (64u << 20)

struct fidelity_opts {
	int pairs;	/* P >= 1 (with one pair there is no standard error: NAN) */
	uint64_t seed;	/* the run's seed; image i draws its orders from cam_image_seed(seed ^ .., i) */
	size_t chunk_bytes;
};
#define FIDELITY_OPTS_INIT { FIDELITY_PAIRS, 0, FIDELITY_CHUNK_BYTES }

/* One batch's estimate, on the host. */
struct fidelity {
	size_t n, d;	  /* images, positions */
	int64_t h, w;	  /* the layer's grid: d = h * w */
	double *phi;	  /* n * d estimates, image by image, positions row by row */
	double *se;	  /* n * d standard errors */
	long forwards;	  /* head forwards per image (masked copies of A through the suffix) */
};
#define FIDELITY_INIT { 0 }

/*
 * Estimate phi for every image of pass p (its split, carry, A, targets and utility): items[n] are the
 * images' dataset indices (NULL: their places in the batch), which seed their orders, so that an image
 * gets the same estimate in any batch. 0, or -1 with an error.
 */
int fidelity_estimate(struct fidelity *f, const struct cam_pass *p, const size_t *items,
		      const struct fidelity_opts *o);
void fidelity_release(struct fidelity *f);

/*
 * Compare maps s (n, h, w) before ReLU with the estimate: rank[i] the Spearman rank correlation (ties
 * get their average rank; NAN where either is constant), l2[i] = ||s_i - phi_i|| / ||phi_i|| (NAN where
 * phi_i = 0). A map at a finer grid whose sides are multiples of the layer's (SobelCAM's, at the input)
 * is averaged over blocks to the layer's grid first. 0, or -1 with an error.
 */
int fidelity_compare(const struct fidelity *f, const ts_tensor *s, double *rank, double *l2);

/*
 * The hook of a group's batch: with METRIC_FIDELITY in which, fill rows[n]'s fidelity, fidelity_l2 and
 * fidelity_se for map s of one method. The estimate is made on the first call and kept in *cache for the
 * other methods of the batch (they share the pass); fidelity_cache_free(*cache) when the batch is done.
 * 0, or -1 with an error.
 */
int fidelity_eval(struct fidelity **cache, const struct cam_pass *p, const struct cam_extra *extra,
		  const ts_tensor *s, unsigned which, struct metric_row *rows);
void fidelity_cache_free(struct fidelity *cache);

#endif
