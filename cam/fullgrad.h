/*
 * fullgrad.h - FullGrad (Srinivas & Fleuret 2019), as pytorch-grad-cam's fullgrad_cam.py computes it:
 * the input gradient times the input plus the gradient times the bias at the output of every convolution
 * and batch norm of the network, each post-processed and summed. It is a map of the whole network, not of
 * one layer: the layer a run names plays no part in it.
 */
#ifndef CAM_FULLGRAD_H
#define CAM_FULLGRAD_H

#include "cam/torch_shim.h"
#include "cam/utility.h"

/* The module classes whose biases FullGrad takes (upstream's nn.Conv2d and nn.BatchNorm2d). */
#define CAM_FULLGRAD_TYPES "Conv2d,BatchNorm2d"

/*
 * FullGrad's terms for the batch x (B, 3, H, W) of model m and the utility (u, or hook when not NULL,
 * borrowed) at target (B, 1), as (B, 3 + L, H, W): the 3 input channels of mm_resize(|x * dU/dx|), then
 * one map per tapped layer with a bias b (a Conv2d's bias; a BatchNorm2d's beta - mean gamma /
 * sqrt(var + eps), what it adds in eval mode), sum_c mm_resize(|b_c dU/dO_c|) for its output O, in call
 * order. mm_resize(v) = bilinear resize (half-pixel) of (v - min v) / (1e-7 + max(v - min v)), per
 * channel map. Their sum is FullGrad's map before its final min-max; it has no ReLU. One forward and
 * one backward of the whole network. NULL with an error on failure.
 */
ts_tensor *cam_fullgrad_terms(ts_module *m, const ts_tensor *x, const ts_tensor *target, enum utility u,
			      const struct utility_hook *hook);

#endif
