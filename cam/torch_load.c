/*
 * torch_load.c - the stubs that stand for torch_shim.h's functions: the first call loads libcamlab_torch.so
 * (and with it libtorch), looks up every function once, and each stub then calls through its pointer.
 * The stubs include torch_shim.h, so a stub whose signature drifts from the header does not compile.
 */
#include "cam/torch_load.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cam/torch_shim.h"
#include "lib/fs.h"
#include "lib/strbuf.h"

#define SHIM_NAME "libcamlab_torch.so"
#ifndef CAMLAB_TORCH_LIB
#define CAMLAB_TORCH_LIB SHIM_NAME
#endif
#ifndef CAMLAB_TORCH_INSTALLED
#define CAMLAB_TORCH_INSTALLED "../lib/camlab"
#endif

/*
 * Every function of torch_shim.h: FN(return type, name, parameters, arguments), VOID for those that
 * return nothing, FREE for the destructors (which take NULL without loading libtorch).
 */
#define TS_FUNCTIONS(FN, VOID, FREE)                                                                         \
	FN(const char *, ts_error, (void), ())                                                               \
	FN(int, ts_init, (int threads), (threads))                                                           \
	FN(int, ts_num_threads, (void), ())                                                                  \
	FN(int, ts_device_check, (const char *device), (device))                                             \
	FN(int, ts_cuda_device_count, (void), ())                                                            \
	FN(const char *, ts_version, (void), ())                                                             \
	FN(int, ts_set_grad, (int enabled), (enabled))                                                       \
	VOID(ts_manual_seed, (uint64_t seed), (seed))                                                        \
	FREE(ts_free, ts_tensor)                                                                             \
	FN(ts_tensor *, ts_from_f32,                                                                         \
	   (const float *data, const int64_t *shape, int ndim, const char *device),                          \
	   (data, shape, ndim, device))                                                                      \
	FN(ts_tensor *, ts_from_i64,                                                                         \
	   (const int64_t *data, const int64_t *shape, int ndim, const char *device),                        \
	   (data, shape, ndim, device))                                                                      \
	FN(ts_tensor *, ts_full, (const int64_t *shape, int ndim, double value, const char *device),         \
	   (shape, ndim, value, device))                                                                     \
	FN(ts_tensor *, ts_images_normalized,                                                                \
	   (const unsigned char *const *rgb, int64_t n, int64_t h, int64_t w, const float mean[3],           \
	    const float std[3], const char *device),                                                         \
	   (rgb, n, h, w, mean, std, device))                                                                \
	FN(ts_tensor *, ts_rand_uniform,                                                                     \
	   (const int64_t *shape, int ndim, double lo, double hi, uint64_t seed, const char *device),        \
	   (shape, ndim, lo, hi, seed, device))                                                              \
	FN(ts_tensor *, ts_zeros_like, (const ts_tensor *t), (t))                                            \
	FN(int, ts_dim, (const ts_tensor *t), (t))                                                           \
	FN(int, ts_is_cuda, (const ts_tensor *t), (t))                                                       \
	FN(int64_t, ts_size, (const ts_tensor *t, int dim), (t, dim))                                        \
	FN(int64_t, ts_numel, (const ts_tensor *t), (t))                                                     \
	FN(long, ts_copy_f32, (const ts_tensor *t, float *out, size_t n), (t, out, n))                       \
	FN(long, ts_copy_f64, (const ts_tensor *t, double *out, size_t n), (t, out, n))                      \
	FN(long, ts_copy_i64, (const ts_tensor *t, int64_t *out, size_t n), (t, out, n))                     \
	FN(double, ts_item, (const ts_tensor *t), (t))                                                       \
	FN(ts_tensor *, ts_to_device, (const ts_tensor *t, const char *device), (t, device))                 \
	FN(ts_tensor *, ts_to_like, (const ts_tensor *t, const ts_tensor *like), (t, like))                  \
	FN(ts_tensor *, ts_to_f64, (const ts_tensor *t), (t))                                                \
	FN(ts_tensor *, ts_to_f32, (const ts_tensor *t), (t))                                                \
	FN(ts_tensor *, ts_clone, (const ts_tensor *t), (t))                                                 \
	FN(ts_tensor *, ts_detach, (const ts_tensor *t), (t))                                                \
	FN(ts_tensor *, ts_leaf, (const ts_tensor *t), (t))                                                  \
	FN(ts_tensor *, ts_add, (const ts_tensor *a, const ts_tensor *b), (a, b))                            \
	FN(ts_tensor *, ts_sub, (const ts_tensor *a, const ts_tensor *b), (a, b))                            \
	FN(ts_tensor *, ts_mul, (const ts_tensor *a, const ts_tensor *b), (a, b))                            \
	FN(ts_tensor *, ts_div, (const ts_tensor *a, const ts_tensor *b), (a, b))                            \
	FN(ts_tensor *, ts_adds, (const ts_tensor *a, double s), (a, s))                                     \
	FN(ts_tensor *, ts_muls, (const ts_tensor *a, double s), (a, s))                                     \
	FN(ts_tensor *, ts_pows, (const ts_tensor *a, double s), (a, s))                                     \
	FN(ts_tensor *, ts_relu, (const ts_tensor *a), (a))                                                  \
	FN(ts_tensor *, ts_abs, (const ts_tensor *a), (a))                                                   \
	FN(ts_tensor *, ts_exp, (const ts_tensor *a), (a))                                                   \
	FN(ts_tensor *, ts_log, (const ts_tensor *a), (a))                                                   \
	FN(ts_tensor *, ts_sqrt, (const ts_tensor *a), (a))                                                  \
	FN(ts_tensor *, ts_tanh, (const ts_tensor *a), (a))                                                  \
	FN(ts_tensor *, ts_floor, (const ts_tensor *a), (a))                                                 \
	FN(ts_tensor *, ts_round, (const ts_tensor *a), (a))                                                 \
	FN(ts_tensor *, ts_gts, (const ts_tensor *a, double s), (a, s))                                      \
	FN(ts_tensor *, ts_eqs, (const ts_tensor *a, double s), (a, s))                                      \
	FN(ts_tensor *, ts_where, (const ts_tensor *cond, const ts_tensor *a, const ts_tensor *b),           \
	   (cond, a, b))                                                                                     \
	FN(ts_tensor *, ts_clamp, (const ts_tensor *a, double lo, double hi), (a, lo, hi))                   \
	FN(ts_tensor *, ts_sum, (const ts_tensor *a, const int *dims, int ndims, int keepdim),               \
	   (a, dims, ndims, keepdim))                                                                        \
	FN(ts_tensor *, ts_mean, (const ts_tensor *a, const int *dims, int ndims, int keepdim),              \
	   (a, dims, ndims, keepdim))                                                                        \
	FN(ts_tensor *, ts_amax, (const ts_tensor *a, const int *dims, int ndims, int keepdim),              \
	   (a, dims, ndims, keepdim))                                                                        \
	FN(ts_tensor *, ts_amin, (const ts_tensor *a, const int *dims, int ndims, int keepdim),              \
	   (a, dims, ndims, keepdim))                                                                        \
	FN(ts_tensor *, ts_argmax, (const ts_tensor *a, int dim), (a, dim))                                  \
	FN(ts_tensor *, ts_argmin, (const ts_tensor *a, int dim), (a, dim))                                  \
	FN(int, ts_topk, (const ts_tensor *a, int k, int dim, ts_tensor **values, ts_tensor **indices),      \
	   (a, k, dim, values, indices))                                                                     \
	FN(ts_tensor *, ts_softmax, (const ts_tensor *a, int dim), (a, dim))                                 \
	FN(ts_tensor *, ts_log_softmax, (const ts_tensor *a, int dim), (a, dim))                             \
	FN(ts_tensor *, ts_gather, (const ts_tensor *a, int dim, const ts_tensor *index), (a, dim, index))   \
	FN(ts_tensor *, ts_matmul, (const ts_tensor *a, const ts_tensor *b), (a, b))                         \
	FN(ts_tensor *, ts_narrow, (const ts_tensor *a, int dim, int64_t start, int64_t len),                \
	   (a, dim, start, len))                                                                             \
	FN(ts_tensor *, ts_select, (const ts_tensor *a, int dim, int64_t index), (a, dim, index))            \
	FN(ts_tensor *, ts_cat, (ts_tensor *const *ts, int n, int dim), (ts, n, dim))                        \
	FN(ts_tensor *, ts_reshape, (const ts_tensor *a, const int64_t *shape, int ndim), (a, shape, ndim))  \
	FN(ts_tensor *, ts_permute, (const ts_tensor *a, const int *dims, int ndims), (a, dims, ndims))      \
	FN(ts_tensor *, ts_unsqueeze, (const ts_tensor *a, int dim), (a, dim))                               \
	FN(ts_tensor *, ts_squeeze, (const ts_tensor *a, int dim), (a, dim))                                 \
	FN(ts_tensor *, ts_repeat_interleave, (const ts_tensor *a, int64_t n), (a, n))                       \
	FN(ts_tensor *, ts_interpolate, (const ts_tensor *a, int64_t h, int64_t w, int align_corners),       \
	   (a, h, w, align_corners))                                                                         \
	FN(int, ts_eigh, (const ts_tensor *a, ts_tensor **values, ts_tensor **vectors),                      \
	   (a, values, vectors))                                                                             \
	FN(ts_tensor *, ts_conv2d, (const ts_tensor *x, const ts_tensor *w), (x, w))                         \
	FN(ts_tensor *, ts_pad_reflect, (const ts_tensor *a, int64_t pad), (a, pad))                         \
	FN(ts_tensor *, ts_flip, (const ts_tensor *a, int dim), (a, dim))                                    \
	FN(ts_tensor *, ts_grad,                                                                             \
	   (const ts_tensor *output, const ts_tensor *input, const ts_tensor *grad_output,                   \
	    int create_graph),                                                                               \
	   (output, input, grad_output, create_graph))                                                       \
	FN(ts_module *, ts_module_load, (const char *path, const char *device), (path, device))              \
	FN(int, ts_module_set_precision, (ts_module * m, enum ts_precision p, int channels_last),            \
	   (m, p, channels_last))                                                                            \
	FN(int, ts_device_memory, (const char *device, int64_t *free_bytes, int64_t *total_bytes),           \
	   (device, free_bytes, total_bytes))                                                                \
	FN(int, ts_module_set_double, (ts_module * m, int on), (m, on))                                      \
	FREE(ts_module_free, ts_module)                                                                      \
	FN(int, ts_module_paths,                                                                             \
	   (const ts_module *m, void (*fn)(const char *path, const char *type, void *ud), void *ud),         \
	   (m, fn, ud))                                                                                      \
	FN(ts_tensor *, ts_module_forward, (ts_module * m, const ts_tensor *x), (m, x))                      \
	FN(ts_tensor *, ts_module_attr, (const ts_module *m, const char *path), (m, path))                   \
	FN(ts_taps *, ts_module_taps, (ts_module * m, const char *types), (m, types))                        \
	FN(int, ts_taps_count, (const ts_taps *t), (t))                                                      \
	FN(const char *, ts_taps_path, (const ts_taps *t, int i), (t, i))                                    \
	FN(const char *, ts_taps_type, (const ts_taps *t, int i), (t, i))                                    \
	FN(double, ts_taps_eps, (const ts_taps *t, int i), (t, i))                                           \
	FN(ts_tensor *, ts_taps_forward, (ts_taps * t, const ts_tensor *x, ts_tensor **outs), (t, x, outs))  \
	FN(int, ts_grads, (const ts_tensor *output, ts_tensor *const *inputs, int n, ts_tensor **grads),     \
	   (output, inputs, n, grads))                                                                       \
	FN(int, ts_grads_keep,                                                                               \
	   (const ts_tensor *output, ts_tensor *const *inputs, int n, int create_graph, ts_tensor **grads),  \
	   (output, inputs, n, create_graph, grads))                                                         \
	FN(ts_tensor *, ts_grad_sum,                                                                         \
	   (ts_tensor *const *outputs, ts_tensor *const *grad_outputs, int n, const ts_tensor *input),       \
	   (outputs, grad_outputs, n, input))                                                                \
	FN(ts_chain *, ts_chain_new, (ts_split *const *splits, int n), (splits, n))                          \
	FREE(ts_chain_free, ts_chain)                                                                        \
	FN(int, ts_chain_forward,                                                                            \
	   (ts_chain * c, const ts_tensor *x, ts_tensor **a, ts_carry **carry, ts_tensor **tap,              \
	    ts_tensor **logits),                                                                             \
	   (c, x, a, carry, tap, logits))                                                                    \
	FN(ts_module *, ts_module_clone, (const ts_module *m), (m))                                          \
	FN(int, ts_module_own_tensors, (const ts_module *m, const char *path), (m, path))                    \
	FN(int, ts_module_reinit, (ts_module * m, const char *path, uint64_t seed), (m, path, seed))         \
	FN(ts_split *, ts_split_new, (ts_module * m, const char *layer, enum ts_layout layout),              \
	   (m, layer, layout))                                                                               \
	FREE(ts_split_free, ts_split)                                                                        \
	FN(ts_split *, ts_split_rebind, (const ts_split *s, ts_module *m), (s, m))                           \
	FN(const char *, ts_split_layer, (const ts_split *s), (s))                                           \
	FN(int, ts_split_set_tokens, (ts_split *s, int prefix_tokens, int grid_h, int grid_w),               \
	   (s, prefix_tokens, grid_h, grid_w))                                                               \
	FN(enum ts_layout, ts_split_layout, (const ts_split *s), (s))                                        \
	VOID(ts_split_tokens, (const ts_split *s, int *prefix_tokens, int *grid_h, int *grid_w),             \
	     (s, prefix_tokens, grid_h, grid_w))                                                             \
	FN(int, ts_split_prefix, (ts_split * s, const ts_tensor *x, ts_carry **carry, ts_tensor **a),        \
	   (s, x, carry, a))                                                                                 \
	FN(ts_tensor *, ts_split_suffix, (ts_split * s, const ts_carry *carry, const ts_tensor *a),          \
	   (s, carry, a))                                                                                    \
	FN(int, ts_split_linear_head, (const ts_split *s), (s))                                              \
	FN(ts_tensor *, ts_split_suffix_live,                                                                \
	   (ts_split * s, const ts_carry *carry, const ts_tensor *a, ts_tensor **live), (s, carry, a, live)) \
	FN(ts_tensor *, ts_split_suffix_tokens,                                                              \
	   (ts_split * s, const ts_carry *carry, const ts_tensor *a, const ts_tensor *prefix),               \
	   (s, carry, a, prefix))                                                                            \
	FN(int, ts_carry_prefix, (const ts_carry *c, ts_tensor **prefix), (c, prefix))                       \
	FN(ts_carry *, ts_carry_repeat_interleave, (const ts_carry *c, int64_t n), (c, n))                   \
	FREE(ts_carry_free, ts_carry)

#define POINTER(ret, name, params, args) ret(*name) params;
#define VOID_POINTER(name, params, args) void(*name) params;
#define FREE_POINTER(name, type) void (*name)(type *);
static struct ts_api {
	TS_FUNCTIONS(POINTER, VOID_POINTER, FREE_POINTER)
} api;

/* dlsym's result stored through void **, as POSIX prescribes for function pointers */
#define SLOT(ret, name, params, args) { #name, (void **)&api.name },
#define VOID_SLOT(name, params, args) { #name, (void **)&api.name },
#define FREE_SLOT(name, type) { #name, (void **)&api.name },
static const struct {
	const char *name;
	void **slot;
} slots[] = { TS_FUNCTIONS(SLOT, VOID_SLOT, FREE_SLOT) };

static pthread_once_t once = PTHREAD_ONCE_INIT;
static struct strbuf failure = STRBUF_INIT;   /* why the load failed; empty if it did not */
static struct strbuf shim_path = STRBUF_INIT; /* where it was loaded from */
static int loaded;
static pthread_t loader;
static int loader_running;

/*
 * The shim where an installed or built camlab has it: beside the running executable (the build folder),
 * else in its installed place relative to it (bin/../lib/camlab, CAMLAB_TORCH_INSTALLED); 0 if neither.
 */
static int near_executable(struct strbuf *path)
{
	static const char *const dirs[] = { "", "/" CAMLAB_TORCH_INSTALLED };
	char *exe = self_path(), *slash = exe ? strrchr(exe, '/') : NULL;
	size_t i;

	if (slash) {
		*slash = '\0';
		for (i = 0; i < sizeof(dirs) / sizeof(*dirs); i++) {
			strbuf_reset(path);
			strbuf_addf(path, "%s%s/%s", exe, dirs[i], SHIM_NAME);
			if (!access(path->buf, F_OK)) {
				free(exe);
				return 1;
			}
		}
	}
	free(exe);
	strbuf_reset(path);
	return 0;
}

static void load(void)
{
	const char *env = getenv("CAMLAB_TORCH_SHIM");
	void *h;
	size_t i;

	if (env && *env)
		strbuf_addstr(&shim_path, env);
	else if (!near_executable(&shim_path))
		strbuf_addstr(&shim_path, CAMLAB_TORCH_LIB);
	/* RTLD_GLOBAL: libtorch's symbols visible to what it loads later, as when linked at start-up */
	if (!(h = dlopen(shim_path.buf, RTLD_NOW | RTLD_GLOBAL))) {
		const char *why = dlerror();
		strbuf_addf(&failure, "cannot load libtorch through '%s': %s", shim_path.buf,
			    why ? why : "unknown error");
		return;
	}
	for (i = 0; i < sizeof(slots) / sizeof(*slots); i++) {
		if (!(*slots[i].slot = dlsym(h, slots[i].name))) {
			strbuf_addf(&failure,
				    "'%s' lacks %s: it was built from other sources than this camlab",
				    shim_path.buf, slots[i].name);
			return;
		}
	}
	__atomic_store_n(&loaded, 1, __ATOMIC_RELEASE);
}

/*
 * The loaded functions. A library that cannot be loaded ends the process, saying why: the stubs have no
 * other way to fail (ts_free returns nothing, ts_error is itself in the library), and a camlab without
 * its shim is a broken installation, not an error of the user's input.
 */
static const struct ts_api *need(void)
{
	pthread_once(&once, load);
	if (failure.len) {
		fflush(stdout);
		fprintf(stderr, "camlab: %s\n(set CAMLAB_TORCH_SHIM to the path of %s)\n", failure.buf,
			SHIM_NAME);
		exit(1);
	}
	return &api;
}

static void *load_in_background(void *unused)
{
	pthread_once(&once, load);
	return NULL;
}

void ts_load_start(void)
{
	if (loader_running || ts_loaded())
		return;
	if (pthread_create(&loader, NULL, load_in_background, NULL))
		return; /* the first stub loads it instead */
	loader_running = 1;
	atexit(ts_load_wait);
}

void ts_load_wait(void)
{
	if (!loader_running)
		return;
	pthread_join(loader, NULL);
	loader_running = 0;
}

int ts_loaded(void)
{
	return __atomic_load_n(&loaded, __ATOMIC_ACQUIRE);
}

const char *ts_load_path(void)
{
	return ts_loaded() ? shim_path.buf : NULL;
}

#define STUB(ret, name, params, args)     \
	ret name params                   \
	{                                 \
		return need()->name args; \
	}
#define VOID_STUB(name, params, args) \
	void name params              \
	{                             \
		need()->name args;    \
	}
#define FREE_STUB(name, type)            \
	void name(type *p)               \
	{                                \
		if (p)                   \
			need()->name(p); \
	}
TS_FUNCTIONS(STUB, VOID_STUB, FREE_STUB)
