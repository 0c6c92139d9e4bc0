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
 * The maps come from one pass per layer (prefix, suffix and backward at that layer's cut), all with the
 * targets of the first layer's pass; in eval mode they are the activations and gradients one forward
 * would give. The combined map is already at the input's size and in [0, 1]; cam_postprocess() leaves it
 * so (to 1e-7). The metrics work on it as on any map: Coherency's second CAM is the whole fused map of
 * x * H again, every layer's pass included.
 */
#ifndef CAM_MULTILAYER_H
#define CAM_MULTILAYER_H

#include <stddef.h>

#include "cam/methods.h"
#include "cam/metrics.h"

struct model;

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
};

/*
 * Cut m at every layer of the joined string (layout and token settings as for a plain layer). Returns
 * a new cam_multi, or NULL after an error naming the layer that failed. Borrows m.
 */
struct cam_multi *cam_multi_new(struct model *m, const char *layers, enum ts_layout layout);
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
 * A method over a fused layer as a mapper (metrics.h): map(p, extra, ud) with ud a struct cam_fused.
 * Returns the combined map (B, H, W) at extra->x's size: from mu's passes when p is mu->main, else from
 * fresh passes at the other layers on extra->x (Coherency's second CAM).
 */
struct cam_fused {
	struct cam_mapper inner; /* the method at one layer (GradCAM++ for RefineCAM) */
	struct cam_multi *multi; /* borrowed */
	int product;		 /* RefineCAM's product, else the mean */
};
ts_tensor *cam_fused_map(const struct cam_pass *p, const struct cam_extra *extra, void *ud);
/* fu made for method m's mapper inner over mu; returns the mapper to use in its place. */
struct cam_mapper cam_fused_mapper(struct cam_fused *fu, const struct cam_mapper *inner, struct cam_multi *mu,
				   int refine);

#endif
