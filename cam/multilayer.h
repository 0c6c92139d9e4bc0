/*
 * multilayer.h - maps over several layers at once: a fused layer (a spec's `fused: [layer3, layer4]`, or
 * `--layer layer3,layer4`) and RefineCAM.
 *
 * A fused layer names its module paths as one string joined by ','. Every method runs at each of them
 * and the maps are combined as pytorch-grad-cam combines them (base_cam.py, compute_cam_per_layer and
 * aggregate_multi_layers): per layer F_l = resize(mm(relu(S_l))) to the input's size, then
 * mm(mean_l F_l). RefineCAM (refine_cam.py) runs GradCAM++ at each layer and takes mm(prod_l P_l) with
 * P_l = mm(resize(mm(relu(S_l)))), GradCAM++'s final map at layer l, which is high where every layer
 * agrees: the deep layer's localisation at the shallow layer's resolution. mm(v) = (v - min) / (max - min
 * + 1e-7) per image.
 *
 * The maps come from one pass for all the layers, as upstream's BaseCAM.forward takes them: one forward
 * that taps every layer (ts_chain), one backward giving dU/dA at each, and where a method needs it one
 * Hessian-vector product per layer. Where the layers cannot be tapped in one forward (one inside another)
 * or the paper's live-A quirk is asked for, each layer gets its own pass (prefix, suffix and backward at
 * its cut) with the targets of the first layer's; in eval mode both give the same numbers. The combined
 * map is already at the input's size and in [0, 1]; cam_postprocess() leaves it so (to 1e-7). The
 * metrics work on it as on any map: Coherency's second CAM is the whole fused map of x * H again, every
 * layer's pass included (those a pass per layer).
 */
#ifndef CAM_MULTILAYER_H
#define CAM_MULTILAYER_H

#include <stddef.h>

#include "cam/methods.h"
#include "cam/metrics.h"

struct model;
struct cam_aug;

/* A fused layer's paths may name this many layers at most. */
#define CAM_MULTI_MAX 8

/* How many module paths the joined layer string names (1 for a plain layer). */
size_t cam_layer_count(const char *layers);
/*
 * The i-th module path of a joined layer string into buf (size bytes; cut there). Returns its length, or
 * -1 if there is no i-th path.
 */
long cam_layer_nth(const char *layers, size_t i, char *buf, size_t size);

/* The model cut at each layer of a fused layer, and the passes of the batch in flight at all but the first. */
struct cam_multi {
	size_t n;
	ts_split *splits[CAM_MULTI_MAX]; /* owned; splits[0] is the cut the caller's main pass uses */
	struct cam_pass rest[CAM_MULTI_MAX]; /* rest[l], 1 <= l < n, for the pass *main */
	const struct cam_pass *main;	     /* borrowed; NULL when rest holds nothing */
	ts_chain *chain;		     /* owned: all the layers in one forward, or NULL: a pass each */
	/* forwards of the whole network cam_multi_pass made, and the batches they were for (CAMLAB_DEBUG) */
	unsigned long forwards, batches;
};

/*
 * Cut m at every layer of the joined string (layout and token settings as for a plain layer), and
 * through all of them at once where the model allows it. Returns a new cam_multi, or NULL after an
 * error naming the layer that failed. Borrows m. The test knob CAMLAB_TEST_FUSED_PER_LAYER=1 leaves
 * out the one-forward cut, so that a test can compare the two.
 */
struct cam_multi *cam_multi_new(struct model *m, const char *layers, enum ts_layout layout);
/* With CAMLAB_DEBUG set, says on stderr how many forwards its batches took. */
void cam_multi_free(struct cam_multi *mu);
/* Forget the batch's passes (cam_multi_run's), releasing them. */
void cam_multi_clear(struct cam_multi *mu);

/*
 * After main, the pass at splits[0] on x, ran: the passes at the other layers on x for main's classes,
 * utility and hook, kept until cam_multi_clear(). The identities main notes (hvp_zero, linear_head) then
 * hold only if they hold at every layer. 0, or -1 with ts_error() set.
 */
int cam_multi_run(struct cam_multi *mu, struct cam_pass *main, const ts_tensor *x, unsigned passes);

/*
 * The passes (cam_pass_flags) of x at every layer, as cam_pass_run_hooked() at splits[0] into *main
 * followed by cam_multi_run(), but in one forward and one backward where mu->chain allows it. 0, or -1
 * after an error (ts_error() says what libtorch said, e.g. that the device ran out of memory); *main
 * holds nothing then.
 */
int cam_multi_pass(struct cam_multi *mu, struct cam_pass *main, const ts_tensor *x, enum utility u,
		   const struct utility_hook *hook, const struct target_policy *target, const long *labels,
		   unsigned passes);

/*
 * aug_smooth's passes (cam/smooth.h) at a fused layer: for each transform of x but the identity, the
 * passes at every layer as cam_multi_pass() makes them (one forward where mu->chain allows it), for p's
 * classes, utility and hook, into *a (a->layers = mu->n). The batch's own passes in mu stay. 0, or -1
 * with an error (ts_error() saying "out of memory" where the device ran out); *a holds nothing then.
 */
int cam_multi_aug_run(struct cam_multi *mu, struct cam_aug *a, const struct cam_pass *p, const ts_tensor *x,
		      unsigned passes);

/*
 * A method over a fused layer as a mapper (metrics.h): map(p, extra, ud) with ud a struct cam_fused.
 * Returns the combined map (B, H, W) at extra->x's size: from mu's passes when p is mu->main, else from
 * fresh passes at the other layers on extra->x (Coherency's second CAM). With aug_smooth
 * (extra->smooth), the mean of the fused maps of the transformed inputs, each undone (extra->aug's
 * passes from cam_multi_aug_run when they are of extra->x, else passes run here); cam_heatmap() takes
 * it as it is. eigen_smooth is the inner method's, at each layer.
 */
struct cam_fused {
	struct cam_mapper inner; /* the method at one layer (GradCAM++ for RefineCAM) */
	struct cam_multi *multi; /* borrowed */
	int product;		 /* RefineCAM's product, else the mean */
	/*
	 * The inner map reads the whole network, not the layer (FullGrad): made once and used at every
	 * layer, where it is the same map.
	 */
	int whole;
};
ts_tensor *cam_fused_map(const struct cam_pass *p, const struct cam_extra *extra, void *ud);
/* fu made for method m's mapper inner over mu; returns the mapper to use in its place. */
struct cam_mapper cam_fused_mapper(struct cam_fused *fu, const struct cam_mapper *inner, struct cam_multi *mu,
				   int refine);

#endif
