/*
 * methods.h - the CAM methods of SCIENCE.md on one batch, sharing their passes.
 *
 * For one batch, model, layer, utility and target, cam_pass_run() does one prefix forward, one suffix
 * forward and backward and, only when a Shapley method is asked for, one Hessian-vector product; every
 * gradient method is then a few tensor operations on A, G and HA on the device (cam_map). ScoreCAM and
 * AblationCAM re-run the network (whole, or above the layer) in batches. pytorch-grad-cam's principal-
 * component methods solve one small batched symmetric eigenproblem per batch; SobelCAM reads the input.
 */
#ifndef CAM_METHODS_H
#define CAM_METHODS_H

#include <stdint.h>

#include "cam/torch_shim.h"
#include "cam/utility.h"

enum cam_method {
	CAM_CAM,
	CAM_GRADCAM,
	CAM_HIRESCAM,
	CAM_GRADCAM_E,
	CAM_LAYERCAM,
	CAM_XGRADCAM,
	CAM_GRADCAMPP,
	CAM_RANDOMCAM,
	CAM_SHAPLEYCAM,
	CAM_SHAPLEYCAM_H,
	CAM_SHAPLEYCAM_E,
	CAM_SCORECAM,
	CAM_ABLATIONCAM,
	CAM_EIGENCAM,
	CAM_EIGENGRADCAM,
	CAM_KPCACAM,
	CAM_SEGEIGENCAM,
	CAM_FEM,
	CAM_SOBELCAM,
	CAM_REFINECAM, /* over a fused layer only (cam/multilayer.h); at one layer its map is GradCAM++'s */
	CAM_FULLGRAD,
	CAM_NR_METHODS
};

extern const char *const cam_method_names[CAM_NR_METHODS];

/*
 * Parse a comma-separated list of method names ("all" for every one; case-insensitive, '_' for '-')
 * into mask bits (1 << method). Returns 0, or -1 with an error naming the bad entry and the nearest name.
 */
int cam_methods_parse(const char *list, unsigned *mask);

/*
 * What to say of an unknown method name that is a well-known CAM method under another spelling, where the
 * nearest camlab name would mislead ("eigen_cam" is not "hirescam"): NULL if `name` (in any case, '_' or
 * '-' anywhere) is none of them; else a static string to follow "unknown method 'NAME'": either
 * "; did you mean 'eigencam'? (...)" for one camlab has under its own name, or ": FinerCAM is ..." for
 * one camlab has as a utility.
 */
const char *cam_method_absent_note(const char *name);

enum cam_pass_flags {
	CAM_PASS_GRAD = 1 << 0, /* G = dU/dA */
	CAM_PASS_HVP = 1 << 1,	/* HA = (d2U/dA2) A, by a second backward */
	/*
	 * The paper code's quirk (SCIENCE.md), on request only: where the model applies an in-place op to
	 * the layer's output (VGG-16's ReLU(inplace=True) after features.28), the paper's ShapleyCAM classes
	 * kept a live reference to it and so saw the values after that op. With this flag a_live holds them
	 * and HA is H times a_live; the ShapleyCAM variants then use a_live for A. Without such an op it
	 * changes nothing.
	 */
	CAM_PASS_LIVE_A = 1 << 2,
	/*
	 * pytorch-grad-cam's direction at a token layer, on request only (quirk shapley-prefix-tokens):
	 * shapley_cam.py takes the Hessian-vector product along the layer's whole output, so the prefix
	 * tokens (a ViT's class token) move with the grid and HA gains H[grid, prefix] a_prefix. Without
	 * the flag they are held fixed, as the players of the map's game are the grid's positions only
	 * (docs/transformers.md). Where the layer has no prefix tokens it changes nothing.
	 */
	CAM_PASS_PREFIX_TOKENS = 1 << 3,
};

/*
 * The quirks a run may ask for (spec key `quirk`, explain's --quirk): each reproduces another program's
 * ShapleyCAM where it departs from the definition, on request only.
 */
#define CAM_QUIRK_LIVE "shapley-live-activation"	  /* the paper's code: CAM_PASS_LIVE_A */
#define CAM_QUIRK_PREFIX_TOKENS "shapley-prefix-tokens" /* pytorch-grad-cam: CAM_PASS_PREFIX_TOKENS */
#define CAM_QUIRKS CAM_QUIRK_LIVE " or " CAM_QUIRK_PREFIX_TOKENS
/* The pass flag of a quirk's name: CAM_PASS_LIVE_A or CAM_PASS_PREFIX_TOKENS; 0 for NULL or another name. */
unsigned cam_quirk_passes(const char *quirk);

/* Which passes a set of methods needs. */
unsigned cam_methods_passes(unsigned mask);

/*
 * A method's parameters from the spec (cam/params.h's table; the defaults are pytorch-grad-cam's).
 * aug_smooth and eigen_smooth belong to every method; the others to one.
 */
enum cam_kpca_kernel { CAM_KPCA_SIGMOID, CAM_KPCA_RBF, CAM_KPCA_POLY, CAM_KPCA_LINEAR, CAM_KPCA_COSINE };
struct cam_method_params {
	int aug_smooth, eigen_smooth;
	int kernel;   /* kpcacam: enum cam_kpca_kernel (upstream: sigmoid) */
	double gamma; /* kpcacam: the kernel's gamma; 0: 1 / C, scikit-learn's default (upstream: None) */
	double k;     /* fem: standard deviations above a channel's mean (upstream: 2) */
};
#define CAM_METHOD_PARAMS_INIT { 0, 0, CAM_KPCA_SIGMOID, 0.0, 2.0 }

/* The shared passes of one batch. All tensors are on the model's device and owned by the pass. */
struct cam_pass {
	ts_split *split;   /* borrowed */
	ts_carry *carry;   /* the prefix's values for the suffix */
	ts_tensor *a;	   /* (B, C, h, w), detached */
	ts_tensor *logits; /* (B, K), detached */
	ts_tensor *target; /* (B, 1) int64 */
	ts_tensor *u;	   /* (B, 1) the utility at the target, detached */
	ts_tensor *g;	   /* dU/dA or NULL */
	ts_tensor *ha;	   /* HA or NULL */
	ts_tensor *a_live; /* CAM_PASS_LIVE_A: A after the model's in-place op on it, or NULL */
	int prefix_hvp;	   /* CAM_PASS_PREFIX_TOKENS was asked: HA moved the prefix tokens too, if any */
	enum utility utility;
	const struct utility_hook *hook; /* a user utility that replaces utility, or NULL (borrowed) */
	long *classes; /* host copy of the targets, B entries */
	long batch;
	/*
	 * 1 when HA vanished to rounding: max|HA| <= CAM_HVP_ZERO * max|G| (HA and G have the same units,
	 * and ShapleyCAM weighs G - HA/2). The network above the layer is then piecewise linear for this
	 * utility (the logit, through ReLUs, pooling and linear maps), so ShapleyCAM equals GradCAM and its
	 * -H and -E forms HiResCAM and GradCAM-E. 0 when HA was not computed.
	 */
	int hvp_zero;
	/* 1 when the layer feeds only pooling and a linear head (ts_split_linear_head): G and HA are the
	 * same at every position, so HiResCAM and XGradCAM equal GradCAM, ShapleyCAM-H ShapleyCAM. */
	int linear_head;
};

/* float32 rounding of a backward pass is ~1e-7 relative; curvature that matters is far above 1e-6. */
#define CAM_HVP_ZERO 1e-6
/* Whether HA is zero to rounding beside G, as hvp_zero says (0 when either cannot be reduced). */
int cam_hvp_vanishes(const ts_tensor *g, const ts_tensor *ha);
/*
 * The identities theory gives a run of a method that needs passes on pass p, as the report reads them
 * back from the database: "hvp-zero", "linear-head", both joined by ',', or NULL when none holds.
 */
const char *cam_pass_note(const struct cam_pass *p, unsigned passes);
/* What a run whose first batch had hvp_zero logs (once) and the report notes under its table. */
#define CAM_HVP_ZERO_NOTE                                                                                  \
	"the Hessian-vector product is zero (the network is piecewise linear above the layer for this " \
	"utility), so ShapleyCAM equals GradCAM here, as theory says (not a finding)"

#define CAM_PASS_INIT { 0 }

/* The quirk flags pass p took effect with, for more passes like it (aug_smooth's transforms). */
unsigned cam_pass_quirks(const struct cam_pass *p);

/*
 * Run the passes for x (B, 3, H, W) on the model's device: the prefix, the suffix with gradients, the
 * target selection (labels: host, B entries, may be NULL) and the requested backward passes.
 */
int cam_pass_run(struct cam_pass *p, ts_split *split, const ts_tensor *x, enum utility u,
		 const struct target_policy *target, const long *labels, unsigned flags);
/* The same with a user utility (hook, borrowed for the life of the pass) in place of u. */
int cam_pass_run_hooked(struct cam_pass *p, ts_split *split, const ts_tensor *x, enum utility u,
			const struct utility_hook *hook, const struct target_policy *target, const long *labels,
			unsigned flags);
/* The pass's utility (built in or hooked) of other logits (B', K) for targets (B', 1). */
ts_tensor *cam_pass_utility(const struct cam_pass *p, const ts_tensor *logits, const ts_tensor *target);
void cam_pass_release(struct cam_pass *p);

/*
 * What a method's map may be asked for on top of its definition (struct cam_extra's smooth): upstream's
 * keyword arguments of the same names, for every method.
 */
enum cam_smooth_flags {
	/* eigen_smooth: the first principal component of the per-channel terms whose sum is the map */
	CAM_SMOOTH_EIGEN = 1 << 0,
	/* aug_smooth: the mean of the final maps of six transformed inputs, each transform undone */
	CAM_SMOOTH_AUG = 1 << 1,
};
struct metric_params; /* metrics.h */

/* What the methods that need more than A, G and HA are given. */
struct cam_extra {
	ts_module *model;	 /* whole model, for ScoreCAM */
	const ts_tensor *x;	 /* the input batch, for ScoreCAM */
	const ts_tensor *fc;	 /* (K, C) head weight, for CAM; NULL: CAM is unavailable */
	uint64_t seed;		 /* RandomCAM */
	const size_t *items;	 /* the batch's dataset indices, for RandomCAM's per-image seeds (or NULL) */
	int chunk;		 /* forwards per batch for ScoreCAM and AblationCAM */
	/*
	 * x's normalisation, x = (RGB / 255 - mean) / std per channel (3 values each, borrowed), from which
	 * SobelCAM gets the image's bytes back; NULL: mean 0, std 1.
	 */
	const float *mean, *std;
	/*
	 * CAM_SMOOTH_* flags (cam/smooth.h): upstream's eigen_smooth and aug_smooth for this map; 0 for the
	 * plain method. A caller computing several methods sets them per method on a copy of the struct.
	 */
	unsigned smooth;
	/*
	 * aug_smooth's transformed passes of x (cam/smooth.h), shared by the methods of a batch that ask for
	 * it (borrowed; NULL, or passes of another input, as Coherency's second map has: cam_smooth_map
	 * then runs its own).
	 */
	const struct cam_aug *aug;
	/* the method's parameters (borrowed); NULL: the defaults */
	const struct cam_method_params *params;
	/* the metrics' parameters, for metrics_eval (borrowed); NULL: the defaults */
	const struct metric_params *metric_params;
};


/* The seed of image `item`'s RandomCAM weights under the run's seed (splitmix64's finaliser). */
uint64_t cam_image_seed(uint64_t seed, size_t item);

/*
 * Whether method 'cam' is defined at split's layer, whose A has `channels` channels: fc, the model's
 * (K, C) head weight (NULL: none), has a column per channel and only pooling and that linear map follow
 * the layer. 0, or -1 after an error saying which and where CAM would work.
 */
int cam_head_check(const ts_split *split, const ts_tensor *fc, int64_t channels);
/*
 * The part of cam_head_check that needs no activation: why 'cam' is undefined at split's layer (no
 * linear head, or more than pooling and it after the layer), as a static sentence, or NULL.
 */
const char *cam_head_undefined(const ts_split *split, const ts_tensor *fc);

/*
 * The map S (B, h, w) before the final ReLU for one method; (B, H, W), the input's size, for SobelCAM,
 * which reads the image and not the layer, and FullGrad, which reads the whole network (extra's model
 * and x, with the pass's utility and classes). With extra->smooth:
 *  - CAM_SMOOTH_EIGEN: for the methods whose S is a sum over channels of terms M_k (w_k A_k for GradCAM
 *    and the other weight methods, G_k A_k for HiResCAM, and so on), the first principal component of
 *    the M_k instead (upstream's get_2d_projection, its sign fixed as EigenCAM's); for FullGrad, that of
 *    its terms at 1/8 of the input's size, min-maxed and resized back, as upstream does. The methods
 *    that are principal components already (eigencam, eigengradcam, segeigencam, kpcacam) and SobelCAM
 *    ignore it, as upstream's do.
 *  - CAM_SMOOTH_AUG is cam_smooth_map's (cam/smooth.h), which runs more passes; cam_map refuses it.
 * NULL with an error on failure.
 */
ts_tensor *cam_map(enum cam_method m, const struct cam_pass *p, const struct cam_extra *extra);

/*
 * SCIENCE.md's post-processing: minmax(bilinear(relu(S))) to (B, H, W), half-pixel bilinear, minmax per
 * image with epsilon 1e-7 (applied before and after the resize, as the reference does).
 */
ts_tensor *cam_postprocess(const ts_tensor *s, int64_t h, int64_t w);
/* The signed map resized to (B, H, W) without ReLU or minmax, for users who want the raw values. */
ts_tensor *cam_resize_raw(const ts_tensor *s, int64_t h, int64_t w);

#endif
