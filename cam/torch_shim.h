/*
 * torch_shim.h - camlab's only window onto libtorch, as a C API of opaque handles.
 *
 * Everything numeric that camlab does on a device goes through here: tensors, TorchScript modules, and a
 * module cut at a target layer into a prefix (image to activation A) and a suffix (A to logits), which is
 * how camlab gets A, dU/dA, the Hessian-vector product and re-evaluations on a modified A.
 *
 * Conventions:
 *  - No C++ type or exception crosses this header. A function that fails returns NULL (for handles) or a
 *    negative number, and ts_error() then describes the failure (per thread, until the next failure).
 *  - Every ts_tensor * returned is a new handle owned by the caller, to be released with ts_free(). Input
 *    handles are borrowed, never consumed. Tensor operations accept NULL inputs and then return NULL
 *    without touching ts_error(), so a chain of operations can be checked once at its end.
 *  - Tensors stay on their device; only ts_copy_*() and ts_item() bring data to the host.
 *  - Devices are named "cpu", "cuda" or "cuda:N".
 *  - Operations record autograd history when grad mode is on (ts_set_grad) and an input requires grad.
 */
#ifndef CAM_TORCH_SHIM_H
#define CAM_TORCH_SHIM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ts_tensor ts_tensor;
typedef struct ts_module ts_module;
typedef struct ts_split ts_split;
typedef struct ts_carry ts_carry;
typedef struct ts_taps ts_taps;
typedef struct ts_chain ts_chain;

/* Last failure on this thread; never NULL. */
const char *ts_error(void);

/*
 * Set libtorch up: intra-op threads (0 = number of cores) and the graph executor mode that keeps
 * autograd to a captured activation working after warm-up. Call once before anything else.
 */
int ts_init(int threads);
/* The intra-op threads libtorch was given: what camlab's own CPU work beside it may use too. */
int ts_num_threads(void);

/* 0 if the device name is valid and usable here; otherwise -1 with ts_error() saying why. */
int ts_device_check(const char *device);
int ts_cuda_device_count(void);
/* The libtorch the shim was built against and whether with CUDA: "libtorch 1.13.0, CPU only". */
const char *ts_version(void);

/* Returns the previous state. Grad mode is per thread and starts off (camlab turns it on where needed). */
int ts_set_grad(int enabled);
void ts_manual_seed(uint64_t seed);

/* ---- tensors ---- */
void ts_free(ts_tensor *t);
ts_tensor *ts_from_f32(const float *data, const int64_t *shape, int ndim, const char *device);
ts_tensor *ts_from_i64(const int64_t *data, const int64_t *shape, int ndim, const char *device);
ts_tensor *ts_full(const int64_t *shape, int ndim, double value, const char *device);
/*
 * n images of h x w RGB bytes (rows of pixels, 3 bytes each) as a float (n, 3, h, w) batch on the device,
 * normalised per channel as (x / 255 - mean) / std: torchvision's ToTensor + Normalize, the same float
 * operations in the same order. The bytes travel (a quarter of the floats; from pinned memory and
 * asynchronously on CUDA) and the arithmetic runs on the device.
 */
ts_tensor *ts_images_normalized(const unsigned char *const *rgb, int64_t n, int64_t h, int64_t w,
				const float mean[3], const float std[3], const char *device);
/* Uniform in [lo, hi) from a generator seeded with seed; the same seed gives the same values on a device. */
ts_tensor *ts_rand_uniform(const int64_t *shape, int ndim, double lo, double hi, uint64_t seed,
			   const char *device);
ts_tensor *ts_zeros_like(const ts_tensor *t);

int ts_dim(const ts_tensor *t);
/* 1 if t is on a CUDA device, else 0. */
int ts_is_cuda(const ts_tensor *t);
int64_t ts_size(const ts_tensor *t, int dim);
int64_t ts_numel(const ts_tensor *t);
/* Copy to host (converting), n elements at most; returns the count copied or -1. */
long ts_copy_f32(const ts_tensor *t, float *out, size_t n);
long ts_copy_f64(const ts_tensor *t, double *out, size_t n);
long ts_copy_i64(const ts_tensor *t, int64_t *out, size_t n);
/* The value of a one-element tensor; NAN on failure. */
double ts_item(const ts_tensor *t);

ts_tensor *ts_to_device(const ts_tensor *t, const char *device);
/* t moved to the device of like, keeping its dtype. */
ts_tensor *ts_to_like(const ts_tensor *t, const ts_tensor *like);
ts_tensor *ts_to_f64(const ts_tensor *t);
ts_tensor *ts_to_f32(const ts_tensor *t);
ts_tensor *ts_clone(const ts_tensor *t);
ts_tensor *ts_detach(const ts_tensor *t);
/* A detached copy that is an autograd leaf requiring grad. */
ts_tensor *ts_leaf(const ts_tensor *t);

/* Element-wise, broadcasting like PyTorch. */
ts_tensor *ts_add(const ts_tensor *a, const ts_tensor *b);
ts_tensor *ts_sub(const ts_tensor *a, const ts_tensor *b);
ts_tensor *ts_mul(const ts_tensor *a, const ts_tensor *b);
ts_tensor *ts_div(const ts_tensor *a, const ts_tensor *b);
ts_tensor *ts_adds(const ts_tensor *a, double s);
ts_tensor *ts_muls(const ts_tensor *a, double s);
ts_tensor *ts_pows(const ts_tensor *a, double s);
ts_tensor *ts_relu(const ts_tensor *a);
ts_tensor *ts_abs(const ts_tensor *a);
ts_tensor *ts_exp(const ts_tensor *a);
ts_tensor *ts_log(const ts_tensor *a);
ts_tensor *ts_sqrt(const ts_tensor *a);
ts_tensor *ts_tanh(const ts_tensor *a);
ts_tensor *ts_floor(const ts_tensor *a);
/* To the nearest integer, halves to even (as OpenCV's saturate_cast rounds). */
ts_tensor *ts_round(const ts_tensor *a);
/* 1.0 where a > s (ts_gts) or a == s (ts_eqs), else 0.0, in a's dtype. */
ts_tensor *ts_gts(const ts_tensor *a, double s);
ts_tensor *ts_eqs(const ts_tensor *a, double s);
/* cond is a 0/1 tensor: where cond != 0 take a, else b. */
ts_tensor *ts_where(const ts_tensor *cond, const ts_tensor *a, const ts_tensor *b);
ts_tensor *ts_clamp(const ts_tensor *a, double lo, double hi);

/* Reductions over dims (ndims == 0: over everything). */
ts_tensor *ts_sum(const ts_tensor *a, const int *dims, int ndims, int keepdim);
ts_tensor *ts_mean(const ts_tensor *a, const int *dims, int ndims, int keepdim);
ts_tensor *ts_amax(const ts_tensor *a, const int *dims, int ndims, int keepdim);
ts_tensor *ts_amin(const ts_tensor *a, const int *dims, int ndims, int keepdim);
/* int64 indices. */
ts_tensor *ts_argmax(const ts_tensor *a, int dim);
ts_tensor *ts_argmin(const ts_tensor *a, int dim);
/* k largest along dim, sorted descending; values and int64 indices. */
int ts_topk(const ts_tensor *a, int k, int dim, ts_tensor **values, ts_tensor **indices);

ts_tensor *ts_softmax(const ts_tensor *a, int dim);
ts_tensor *ts_log_softmax(const ts_tensor *a, int dim);
/* index: int64 with a's number of dims. */
ts_tensor *ts_gather(const ts_tensor *a, int dim, const ts_tensor *index);
ts_tensor *ts_matmul(const ts_tensor *a, const ts_tensor *b);

ts_tensor *ts_narrow(const ts_tensor *a, int dim, int64_t start, int64_t len);
ts_tensor *ts_select(const ts_tensor *a, int dim, int64_t index);
ts_tensor *ts_cat(ts_tensor *const *ts, int n, int dim);
ts_tensor *ts_reshape(const ts_tensor *a, const int64_t *shape, int ndim);
ts_tensor *ts_permute(const ts_tensor *a, const int *dims, int ndims);
ts_tensor *ts_unsqueeze(const ts_tensor *a, int dim);
ts_tensor *ts_squeeze(const ts_tensor *a, int dim);
/* Each slice along dim 0 repeated n times in place: [a0 a0 a1 a1 ...]. */
ts_tensor *ts_repeat_interleave(const ts_tensor *a, int64_t n);

/* Bilinear resize of (N,C,H,W) to (N,C,h,w), like torch.nn.functional.interpolate. */
ts_tensor *ts_interpolate(const ts_tensor *a, int64_t h, int64_t w, int align_corners);

/*
 * Eigenvalues (ascending, (..., n)) and eigenvectors (columns, (..., n, n)) of symmetric matrices
 * (..., n, n), from their lower triangles; batched. 0, or -1 with both NULL.
 */
int ts_eigh(const ts_tensor *a, ts_tensor **values, ts_tensor **vectors);
/* Convolution of x (N, Cin, H, W) with w (Cout, Cin, kh, kw): no bias, stride 1, no padding. */
ts_tensor *ts_conv2d(const ts_tensor *x, const ts_tensor *w);
/* (N, C, H, W) padded by pad on each side, mirrored without repeating the edge (OpenCV's default border). */
ts_tensor *ts_pad_reflect(const ts_tensor *a, int64_t pad);
/* a with the order of its entries along dim reversed (dim -1: the last; a horizontal flip of images). */
ts_tensor *ts_flip(const ts_tensor *a, int dim);

/*
 * Gradients of sum(outputs * grad_outputs) with respect to input (grad_outputs NULL: ones).
 * create_graph keeps the result differentiable, for a second backward; the graph is kept either way
 * so that several gradients can be taken from one forward.
 */
ts_tensor *ts_grad(const ts_tensor *output, const ts_tensor *input, const ts_tensor *grad_output,
		   int create_graph);

/*
 * The gradient of sum_i sum(outputs[i] * grad_outputs[i]) with respect to input, in one backward (the
 * graph is kept): a Hessian-vector product along several tensors at once, when the outputs are the
 * gradients at each (from ts_grads_keep with create_graph).
 */
ts_tensor *ts_grad_sum(ts_tensor *const *outputs, ts_tensor *const *grad_outputs, int n, const ts_tensor *input);

/*
 * Gradients of sum(output) with respect to n tensors in one backward, into grads[0..n-1] (owned by the
 * caller; zeros for a tensor output does not depend on). The graph is freed. 0, or -1 with grads NULL.
 */
int ts_grads(const ts_tensor *output, ts_tensor *const *inputs, int n, ts_tensor **grads);

/*
 * The same keeping the graph, so that more gradients can be taken from it (a Hessian-vector product at
 * each of the inputs); create_graph as for ts_grad. 0, or -1 with grads NULL.
 */
int ts_grads_keep(const ts_tensor *output, ts_tensor *const *inputs, int n, int create_graph,
		  ts_tensor **grads);

/* ---- modules ---- */

/* Load a TorchScript file onto a device, in eval mode. */
ts_module *ts_module_load(const char *path, const char *device);

/* Arithmetic of a module's forwards. */
enum ts_precision {
	TS_PRECISION_FP32 = 0, /* the default: everything in float32 */
	TS_PRECISION_BF16,     /* autocast to bfloat16 (CUDA and CPU) */
	TS_PRECISION_FP16,     /* autocast to float16 (CUDA only) */
	TS_PRECISION_TF32,     /* float32 with TensorFloat-32 convolutions and matrix products (CUDA only) */
	TS_PRECISION_NR
};
/*
 * Run the module's forwards (whole, prefix and suffix) under autocast to bf16/fp16, as torch.autocast
 * does: matrix products and convolutions in the low precision, reductions and softmax in float32. What
 * the shim hands back (A from ts_split_prefix, logits) is float32 either way, so camlab's own arithmetic
 * and the gradients with respect to A stay float32. channels_last keeps 4-D weights and images in
 * channels-last memory order (faster convolutions on tensor cores). Fails for fp16 and tf32 on a CPU.
 * fp32 is strict float32 (ts_init turns PyTorch's default TensorFloat-32 convolutions off, so a GPU gives
 * the CPU's numbers to rounding); tf32 allows TensorFloat-32 again, for the whole process (a global
 * setting, the same for every module), and must be asked for before the process's first convolution.
 */
int ts_module_set_precision(ts_module *m, enum ts_precision p, int channels_last);

/*
 * Free and total memory of a CUDA device in bytes, as the driver reports them (memory cached by
 * libtorch's allocator counts as used). -1 with ts_error() set for a CPU, or a build without CUDA.
 */
int ts_device_memory(const char *device, int64_t *free_bytes, int64_t *total_bytes);
/* Convert parameters and buffers to float64 (1) or back to float32 (0), for exact checks in tests. */
int ts_module_set_double(ts_module *m, int on);
void ts_module_free(ts_module *m);
/*
 * Call fn for each module path as named_modules() prints it, in that order (the root, "", first), with
 * the module's class name (e.g. "Linear", "Conv2d"). Returns the number of paths, or -1.
 */
int ts_module_paths(const ts_module *m, void (*fn)(const char *path, const char *type, void *ud),
		    void *ud);
/* Plain forward of the whole model (honours grad mode). */
ts_tensor *ts_module_forward(ts_module *m, const ts_tensor *x);
/* The float tensor attribute at a dotted path (a parameter or buffer, e.g. "fc.weight"), or NULL. */
ts_tensor *ts_module_attr(const ts_module *m, const char *path);
/*
 * A copy of m with its own parameters and buffers (on m's device, with m's precision), for changing
 * weights without touching m; free it with ts_module_free. NULL with ts_error() on failure.
 */
ts_module *ts_module_clone(const ts_module *m);
/* How many float parameters and buffers the module at path (as ts_module_paths names it) holds itself
 * (not its children's); -1 when path names no module. */
int ts_module_own_tensors(const ts_module *m, const char *path);
/*
 * Re-initialise the parameters and buffers the module at path holds itself, as torch.nn's
 * reset_parameters() does: a module whose class name contains "Norm" gets weight 1, bias 0, running
 * mean 0 and running variance 1; any other module each parameter uniform in [-b, b], b = 1/sqrt(fan_in),
 * fan_in = numel / size(0) of the parameter (of the module's first parameter of 2 or more dims for a
 * 1-dim one, such as a bias). The values come from a CPU generator seeded with seed, drawn in float32 in
 * the order of named_parameters(), so the same seed gives the same weights on every device. Returns the
 * number of tensors changed, or -1.
 */
int ts_module_reinit(ts_module *m, const char *path, uint64_t seed);

/*
 * The model's forward with the output of every module of some classes tapped (FullGrad needs the
 * gradient with respect to the output of every convolution and batch norm). types is a comma-separated
 * list of class names as ts_module_paths gives them ("Conv2d,BatchNorm2d"). Every module call that is
 * not of those classes is inlined, so each tapped call is one node of the forward graph; a tapped module
 * called twice is two taps. Built on first use and kept by the module for the same types (borrowed:
 * valid until ts_module_free or a call with other types). NULL with ts_error() set when a tapped module
 * is called inside control flow.
 */
ts_taps *ts_module_taps(ts_module *m, const char *types);
int ts_taps_count(const ts_taps *t);
/* Tap i's module path as named_modules() prints it, and its class name (borrowed from t). */
const char *ts_taps_path(const ts_taps *t, int i);
const char *ts_taps_type(const ts_taps *t, int i);
/*
 * The eps of the batch norm tap i applies (a traced module has it in its graph, a scripted one as a
 * constant of its class, neither as an attribute); NaN when it applies none.
 */
double ts_taps_eps(const ts_taps *t, int i);
/*
 * Logits of x (honours grad mode: turn it on, and pass an x that requires grad, for gradients), and in
 * outs[0..count-1] (owned by the caller) each tap's output as the module returned it, before any in-place
 * op of the model changed it, with its autograd history: ts_grads() then gives dU/d(output).
 */
ts_tensor *ts_taps_forward(ts_taps *t, const ts_tensor *x, ts_tensor **outs);

/* How a layer's output is laid out; the split always hands A to camlab as (B, C, h, w). */
enum ts_layout {
	TS_LAYOUT_AUTO = 0,   /* 3-D output: BNC; 4-D: BCHW (resolved by the first prefix run) */
	TS_LAYOUT_AUTO_LAST,  /* 3-D output: BNC; 4-D: BHWC (for normalisation layers of transformers) */
	TS_LAYOUT_BCHW,	      /* convolutional maps */
	TS_LAYOUT_BHWC,	      /* channels last, e.g. Swin's (B, 7, 7, C) */
	TS_LAYOUT_BNC,	      /* tokens (B, N + h*w, C): N prefix tokens, then an h x w grid row by row */
};

/*
 * Cut m at the module whose path is layer. Fails (NULL, ts_error() set) if the path names no module,
 * if that module is called more or less than once, or if the call sits inside control flow.
 * The split borrows m, which must outlive it.
 */
ts_split *ts_split_new(ts_module *m, const char *layer, enum ts_layout layout);
void ts_split_free(ts_split *s);
/* A split of m (a ts_module_clone of s's module) at s's layer, with s's layout and token settings. */
ts_split *ts_split_rebind(const ts_split *s, ts_module *m);
/* The module path the split was cut at (borrowed from s). */
const char *ts_split_layer(const ts_split *s);
/*
 * For the bnc layout: prefix_tokens tokens (a class token, distillation or register tokens) come before
 * the grid and are left out of A (the suffix gets them back unchanged); grid_h x grid_w is the grid. By
 * default (prefix_tokens -1, grid 0x0) both are inferred by the first prefix run: the fewest prefix
 * tokens (at most 16) that leave the input image's grid at some stride, else a square grid. -1 with
 * ts_error() set for values out of range.
 */
int ts_split_set_tokens(ts_split *s, int prefix_tokens, int grid_h, int grid_w);
/* The layout, resolved once ts_split_prefix has run (before that an AUTO layout reads as given). */
enum ts_layout ts_split_layout(const ts_split *s);
/* The prefix tokens and grid the last ts_split_prefix used (bnc only; *prefix_tokens -1 otherwise). */
void ts_split_tokens(const ts_split *s, int *prefix_tokens, int *grid_h, int *grid_w);

/*
 * Run the prefix on x without recording gradients: *a receives A as (B, C, h, w), as the layer produced
 * it (a copy, so a later in-place op cannot change it), and *carry every other value the suffix needs
 * (such as a residual input). Both owned by the caller.
 */
int ts_split_prefix(ts_split *s, const ts_tensor *x, ts_carry **carry, ts_tensor **a);
/*
 * 1 if what follows the layer only pools, reshapes and applies a linear map (a global-average-pooling +
 * linear head, where CAM is defined), else 0.
 */
int ts_split_linear_head(const ts_split *s);
/* Logits from a (B', C, h, w) given the prefix's carry (honours grad mode; a may require grad). */
ts_tensor *ts_split_suffix(ts_split *s, const ts_carry *carry, const ts_tensor *a);
/*
 * The same, and *live (owned by the caller) receives A as the model left it when it changed A in place
 * (a ReLU(inplace=True) after the layer), detached; NULL when the model did not change it.
 */
ts_tensor *ts_split_suffix_live(ts_split *s, const ts_carry *carry, const ts_tensor *a, ts_tensor **live);
/*
 * The suffix on a with prefix (B, N, C) as the prefix tokens instead of the carry's: a leaf made from
 * ts_carry_prefix's tokens, to differentiate along them too (the quirk shapley-prefix-tokens).
 */
ts_tensor *ts_split_suffix_tokens(ts_split *s, const ts_carry *carry, const ts_tensor *a, const ts_tensor *prefix);
/* *prefix (owned by the caller) receives the carry's prefix tokens (B, N, C), or NULL when it has none. */
int ts_carry_prefix(const ts_carry *c, ts_tensor **prefix);
/* A carry whose batch is b repeated n times each, to evaluate n variants of every image's A at once. */
ts_carry *ts_carry_repeat_interleave(const ts_carry *c, int64_t n);
void ts_carry_free(ts_carry *c);

/*
 * Several layers of one forward (a fused layer): the n splits (borrowed; cut at different layers of one
 * module, which must outlive the chain) are cut again on one graph in which every layer is one call, so
 * that one forward hands each split the A and the carry its own prefix would; ts_chain_forward then runs
 * the model once, from the first layer the forward reaches to the last. The splits keep working alone
 * (their prefix and suffix give the same numbers as before). NULL with ts_error() set when the layers
 * cannot be cut together (one inside another); the splits are then unchanged.
 */
ts_chain *ts_chain_new(ts_split *const *splits, int n);
void ts_chain_free(ts_chain *c);
/*
 * One forward of x through the chain (honours grad mode). For split i, in the order ts_chain_new was
 * given them: a[i], its A as (B, C, h, w) (a detached copy, as ts_split_prefix gives it); carry[i], what
 * its suffix needs (detached); tap[i], the tensor whose gradient is dU/dA at that layer (with autograd
 * history under grad mode: ts_grads_keep of a utility of *logits gives every layer's G in one
 * backward). *logits (B, K). All owned by the caller. 0, or -1 with everything NULL.
 */
int ts_chain_forward(ts_chain *c, const ts_tensor *x, ts_tensor **a, ts_carry **carry, ts_tensor **tap,
		     ts_tensor **logits);

#ifdef __cplusplus
}
#endif

#endif
