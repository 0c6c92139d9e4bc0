/*
 * smooth.h - pytorch-grad-cam's aug_smooth (base_cam.py, forward_augmentation_with_ttach) for every
 * method: six test-time transforms of the input, a pass and a final map for each, each transform undone
 * on its map, and their mean. The transformed passes of a batch are shared by the methods that ask for
 * aug_smooth (struct cam_aug in struct cam_extra). eigen_smooth is cam_map's own (cam/methods.h).
 */
#ifndef CAM_SMOOTH_H
#define CAM_SMOOTH_H

#include "cam/methods.h"
#include "cam/torch_shim.h"

/*
 * ttach's Compose([HorizontalFlip(), Multiply(factors=[0.9, 1, 1.1])]) in its order: transform t flips
 * when t >= 3 and multiplies the (normalised) input by 0.9, 1, 1.1 for t % 3 = 0, 1, 2. Transform 1 is
 * the identity.
 */
enum { CAM_AUG_NR = 6, CAM_AUG_IDENTITY = 1 };

/* Transform t of x (B, C, H, W). */
ts_tensor *cam_aug_input(const ts_tensor *x, int t);
/* A map (B, H, W) of transform t's input, back in the input's frame (Multiply leaves masks alone). */
ts_tensor *cam_aug_undo(const ts_tensor *map, int t);
/* The mean of CAM_AUG_NR maps (B, H, W) in transform order, or NULL when one is NULL; frees them all. */
ts_tensor *cam_aug_mean_free(ts_tensor **maps);

/*
 * aug_smooth's passes: one per transform of x but the identity, whose pass is the batch's own, each with
 * the batch's target classes (upstream is given them as targets, so a flipped image is explained for the
 * class of the image, not for what the model makes of the flipped one). At a fused layer each transform
 * has the passes at all its layers (cam_multi_aug_run, cam/multilayer.h): pass[t] at the first, rest[t]
 * at the others.
 */
struct cam_aug {
	const ts_tensor *x;		  /* the input they transform (borrowed) */
	ts_tensor *xt[CAM_AUG_NR];	  /* transformed inputs; [CAM_AUG_IDENTITY] NULL */
	struct cam_pass pass[CAM_AUG_NR]; /* their passes; [CAM_AUG_IDENTITY] unused */
	size_t layers;			  /* the layers each transform has passes at: 1, or a fused layer's */
	/* rest[t][l], 1 <= l < layers: the pass at layer l (owned; NULL at one layer and for the identity) */
	struct cam_pass *rest[CAM_AUG_NR];
};
#define CAM_AUG_INIT { 0 }
/*
 * Run the passes (cam_pass_flags) of the transformed x with p's split, utility and classes, at p's layer
 * alone. 0, or -1 with an error (and ts_error() saying "out of memory" where the device ran out).
 */
int cam_aug_run(struct cam_aug *a, const struct cam_pass *p, const ts_tensor *x, unsigned passes);
void cam_aug_release(struct cam_aug *a);

/*
 * cam_map with aug_smooth as well (extra->smooth & CAM_SMOOTH_AUG): the final map (B, H, W), the mean of
 * the cam_postprocess'd maps of the six transformed inputs (extra->aug's passes when they are of
 * extra->x, else passes run here), each transform undone; not min-maxed again, as upstream's is not
 * (cam_heatmap knows). Without the flag, cam_map itself.
 */
ts_tensor *cam_smooth_map(enum cam_method m, const struct cam_pass *p, const struct cam_extra *extra);
/* The heatmap (B, h, w) from s = cam_smooth_map(.., extra): cam_postprocess(s), or s with aug_smooth. */
ts_tensor *cam_heatmap(const ts_tensor *s, const struct cam_extra *extra, int64_t h, int64_t w);

#endif
