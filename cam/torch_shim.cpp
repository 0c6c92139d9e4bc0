/*
 * torch_shim.cpp - the C API of torch_shim.h over libtorch; the only C++ in camlab.
 *
 * Every entry point catches what libtorch throws and turns it into a NULL or -1 return plus a message
 * for ts_error(). The one piece of real logic here is the split of a TorchScript module at a layer: see
 * the comment before ts_split_new().
 */
#include "torch_shim.h"

#include <ATen/Parallel.h>
#include <ATen/autocast_mode.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/jit/api/function_impl.h>
#include <torch/csrc/jit/ir/ir.h>
#include <torch/csrc/jit/passes/dead_code_elimination.h>
#include <torch/csrc/jit/python/update_graph_executor_opt.h>
#include <torch/cuda.h>
#include <torch/script.h>
#include <torch/version.h>

/* CMake defines CAMLAB_TORCH_CUDA when libtorch was built with CUDA: then the runtime's memory query. */
#if defined(CAMLAB_TORCH_CUDA) && __has_include(<cuda_runtime_api.h>) && __has_include(<c10/cuda/CUDAGuard.h>)
#include <c10/cuda/CUDAGuard.h>
#include <cuda_runtime_api.h>
#define TS_HAVE_CUDA_RUNTIME 1
#endif

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

struct ts_tensor {
	at::Tensor t;
};

struct ts_module {
	torch::jit::Module mod;
	c10::Device device;
	at::ScalarType amp = at::kFloat; /* autocast dtype; kFloat: off */
	bool channels_last = false;
	/* ts_module_taps' graph, built on first use for taps_types (shared_ptr: ts_taps is defined below) */
	std::shared_ptr<ts_taps> taps;
	std::string taps_types;
};

struct ts_carry {
	std::vector<c10::IValue> values;
	/* A token layer's prefix tokens (class, distillation, registers) as (B, N, C): not part of A, put
	 * back in front of A's tokens for the suffix; undefined when there are none. */
	at::Tensor prefix;
};

struct ts_split {
	ts_module *m;
	std::string layer; /* the module path it was cut at, to cut a copy of the module alike */
	enum ts_layout layout; /* an AUTO layout is resolved by the first prefix run */
	/* Token layouts: prefix tokens before the grid (-1: detect) and the grid (0: infer), see to_bchw. */
	int prefix_tokens = -1;
	int64_t grid_h = 0, grid_w = 0;
	int64_t seen_prefix = -1, seen_h = 0, seen_w = 0; /* the last prefix run's split, for the suffix's */
	std::unique_ptr<torch::jit::GraphFunction> prefix, suffix;
	/* Suffix inputs (after self) that the suffix mutates in place, so they are cloned before a call. */
	std::vector<bool> carry_mutated;
	bool a_mutated;
	size_t nr_carry;
};

static thread_local std::string last_error = "no error";
/* ts_init set NVIDIA_TF32_OVERRIDE=0 (the user had not set it), so precision tf32 may take it back. */
static bool tf32_env_ours = false;

static void set_error(const std::string &msg)
{
	/* libtorch messages carry a C++ backtrace after the first line; users need the first lines only. */
	std::string m = msg;
	size_t cut = m.find("\nException raised from");
	if (cut != std::string::npos)
		m.erase(cut);
	while (!m.empty() && (m.back() == '\n' || m.back() == ' '))
		m.pop_back();
	last_error = m;
}

#define TS_TRY try {
#define TS_CATCH(ret)                                                                              \
	}                                                                                          \
	catch (const c10::Error &e)                                                                \
	{                                                                                          \
		set_error(e.what_without_backtrace());                                             \
		return ret;                                                                        \
	}                                                                                          \
	catch (const std::exception &e)                                                            \
	{                                                                                          \
		set_error(e.what());                                                               \
		return ret;                                                                        \
	}                                                                                          \
	catch (...)                                                                                \
	{                                                                                          \
		set_error("unknown libtorch failure");                                             \
		return ret;                                                                        \
	}

static ts_tensor *wrap(at::Tensor t)
{
	return new ts_tensor{std::move(t)};
}

static std::vector<int64_t> shape_of(const int64_t *shape, int ndim)
{
	return std::vector<int64_t>(shape, shape + ndim);
}

/*
 * Autocast for one forward, like `with torch.autocast(device, dtype)`: the dispatcher casts each
 * eligible op, also inside a TorchScript graph run by the interpreter (measured: a traced ResNet under
 * CPU autocast returns bf16 logits). The API moved between libtorch 1.13 and 2.4.
 */
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
static bool autocast_enabled(c10::DeviceType d)
{
	return at::autocast::is_autocast_enabled(d);
}
static at::ScalarType autocast_dtype(c10::DeviceType d)
{
	return at::autocast::get_autocast_dtype(d);
}
static void autocast_set(c10::DeviceType d, bool on, at::ScalarType dt)
{
	at::autocast::set_autocast_enabled(d, on);
	at::autocast::set_autocast_dtype(d, dt);
}
#else
static bool autocast_enabled(c10::DeviceType d)
{
	return d == c10::DeviceType::CUDA ? at::autocast::is_enabled() : at::autocast::is_cpu_enabled();
}
static at::ScalarType autocast_dtype(c10::DeviceType d)
{
	return d == c10::DeviceType::CUDA ? at::autocast::get_autocast_gpu_dtype()
					  : at::autocast::get_autocast_cpu_dtype();
}
static void autocast_set(c10::DeviceType d, bool on, at::ScalarType dt)
{
	if (d == c10::DeviceType::CUDA) {
		at::autocast::set_enabled(on);
		at::autocast::set_autocast_gpu_dtype(dt);
	} else {
		at::autocast::set_cpu_enabled(on);
		at::autocast::set_autocast_cpu_dtype(dt);
	}
}
#endif

class autocast_scope {
      public:
	explicit autocast_scope(const ts_module *m) : on_(m->amp != at::kFloat), dev_(m->device.type())
	{
		if (!on_)
			return;
		prev_on_ = autocast_enabled(dev_);
		prev_dt_ = autocast_dtype(dev_);
		autocast_set(dev_, true, m->amp);
		at::autocast::increment_nesting();
	}
	~autocast_scope()
	{
		if (!on_)
			return;
		/* as torch.autocast's exit: the weights' cached low-precision copies go with the last scope */
		if (at::autocast::decrement_nesting() == 0)
			at::autocast::clear_cache();
		autocast_set(dev_, prev_on_, prev_dt_);
	}
	autocast_scope(const autocast_scope &) = delete;
	autocast_scope &operator=(const autocast_scope &) = delete;

      private:
	bool on_;
	c10::DeviceType dev_;
	bool prev_on_ = false;
	at::ScalarType prev_dt_ = at::kFloat;
};

/* The image as the module wants it: channels-last when its weights are. */
static at::Tensor module_input(const ts_module *m, const at::Tensor &x)
{
	if (m->channels_last && x.dim() == 4)
		return x.contiguous(at::MemoryFormat::ChannelsLast);
	return x;
}

/* A bf16 or fp16 tensor, as autocast leaves them. */
static bool low_precision(const at::Tensor &t)
{
	return t.is_floating_point() && t.scalar_type() != at::kFloat && t.scalar_type() != at::kDouble;
}

/* Results leave the shim in float32 whatever the autocast precision. */
static at::Tensor module_output(const ts_module *m, const at::Tensor &t)
{
	return m->amp != at::kFloat && low_precision(t) ? t.to(at::kFloat) : t;
}

/*
 * A forward's output as logits: a tensor (the first of a tuple) of shape (batch, classes). Callers index
 * it as such, and a scalar's or a vector's missing dimension would be read as a size of -1, so any other
 * shape is an error here, which every forward of the model passes.
 */
static at::Tensor logits_of(const ts_module *m, c10::IValue out, int64_t batch)
{
	if (out.isTuple())
		out = out.toTupleRef().elements()[0];
	if (!out.isTensor())
		throw std::runtime_error("the model's forward returned " + out.tagKind() +
					 ", expected a tensor of logits");
	at::Tensor t = out.toTensor();
	std::string want = "expected logits of shape (" + std::to_string(batch) + ", classes) for a batch of " +
			   std::to_string(batch) + " image(s)";
	if (t.dim() == 0)
		throw std::runtime_error("the model's output is a scalar; " + want);
	if (t.dim() != 2 || t.size(0) != batch || t.size(1) < 1) {
		std::string shape;
		for (int64_t i = 0; i < t.dim(); i++)
			shape += (i ? ", " : "") + std::to_string(t.size(i));
		throw std::runtime_error("the model's output has shape (" + shape + "); " + want);
	}
	return module_output(m, t);
}

static c10::Device parse_device(const char *name)
{
	std::string n(name ? name : "cpu");
	if (n != "cpu" && n != "cuda" && n.rfind("cuda:", 0) != 0)
		throw std::runtime_error("unsupported device '" + n + "': use cpu, cuda or cuda:N");
	c10::Device d(n);
	if (d.is_cuda()) {
		if (!torch::cuda::is_available())
			throw std::runtime_error(std::string("device '") + name +
						 "' is not available: no CUDA device (or a CPU-only libtorch)");
		if (d.has_index() && d.index() >= (int)torch::cuda::device_count())
			throw std::runtime_error(std::string("device '") + name + "' does not exist: " +
						 std::to_string(torch::cuda::device_count()) +
						 " CUDA device(s) visible");
	} else if (!d.is_cpu()) {
		throw std::runtime_error(std::string("unsupported device '") + name +
					 "': use cpu, cuda or cuda:N");
	}
	return d;
}

extern "C" {

const char *ts_error(void)
{
	return last_error.c_str();
}

int ts_init(int threads)
{
	TS_TRY
	if (threads <= 0)
		threads = (int)std::thread::hardware_concurrency();
	if (threads <= 0)
		threads = 1;
	at::set_num_threads(threads);
	/*
	 * LIBTORCH.md: the profiling executor's optimised graph can lose the link to a captured
	 * activation after warm-up; running the graphs unoptimised costs nothing measurable.
	 */
	torch::jit::setGraphExecutorOptimize(false);
	c10::GradMode::set_enabled(false);
	/*
	 * fp32 means fp32: PyTorch lets cuDNN use TensorFloat-32 (~1e-3 relative error); precision tf32
	 * opts in. Measured on an H200 with libtorch 2.11: the context flags alone left TF32 on, and
	 * NVIDIA_TF32_OVERRIDE=0 in the environment turned it off; both, then, before any CUDA work.
	 */
	if (!std::getenv("NVIDIA_TF32_OVERRIDE")) {
		setenv("NVIDIA_TF32_OVERRIDE", "0", 1);
		tf32_env_ours = true;
	}
	at::globalContext().setAllowTF32CuDNN(false);
	at::globalContext().setAllowTF32CuBLAS(false);
	return 0;
	TS_CATCH(-1)
}

int ts_num_threads(void)
{
	return at::get_num_threads();
}

int ts_device_check(const char *device)
{
	TS_TRY
	parse_device(device);
	return 0;
	TS_CATCH(-1)
}

int ts_cuda_device_count(void)
{
	TS_TRY
	return torch::cuda::is_available() ? (int)torch::cuda::device_count() : 0;
	TS_CATCH(0)
}

const char *ts_version(void)
{
#ifdef CAMLAB_TORCH_CUDA
	return "libtorch " TORCH_VERSION ", with CUDA";
#else
	return "libtorch " TORCH_VERSION ", CPU only";
#endif
}

int ts_set_grad(int enabled)
{
	int prev = c10::GradMode::is_enabled();
	c10::GradMode::set_enabled(enabled != 0);
	return prev;
}

void ts_manual_seed(uint64_t seed)
{
	torch::manual_seed(seed);
}

/* ---- tensors ---- */

void ts_free(ts_tensor *t)
{
	delete t;
}

ts_tensor *ts_from_f32(const float *data, const int64_t *shape, int ndim, const char *device)
{
	TS_TRY
	c10::Device d = parse_device(device);
	auto host = torch::from_blob(const_cast<float *>(data), shape_of(shape, ndim), torch::kFloat32);
	return wrap(host.to(d, /*non_blocking*/ false, /*copy*/ true));
	TS_CATCH(nullptr)
}

ts_tensor *ts_images_normalized(const unsigned char *const *rgb, int64_t n, int64_t h, int64_t w,
				const float mean[3], const float std[3], const char *device)
{
	TS_TRY
	c10::Device d = parse_device(device);
	bool cuda = d.is_cuda();
	at::Tensor host = torch::empty({n, h, w, 3}, torch::TensorOptions().dtype(torch::kUInt8).pinned_memory(cuda));
	uint8_t *p = host.data_ptr<uint8_t>();
	size_t bytes = (size_t)(h * w * 3);
	for (int64_t i = 0; i < n; i++)
		std::memcpy(p + (size_t)i * bytes, rgb[i], bytes);
	/* The pinned block is reused only after the copy is done: libtorch's host allocator records it. */
	at::Tensor bytes_dev = cuda ? host.to(d, /*non_blocking*/ true) : host;
	auto fopts = torch::TensorOptions().dtype(torch::kFloat32).device(d);
	/*
	 * Dividing by tensors, not by scalars: CUDA divides by a host scalar as a product with its
	 * reciprocal, which is not always the correctly rounded quotient that the CPU computes.
	 */
	at::Tensor k255 = torch::full({1, 1, 1, 1}, 255.0f, fopts);
	at::Tensor m = torch::tensor({mean[0], mean[1], mean[2]}, torch::kFloat32).to(d).view({1, 3, 1, 1});
	at::Tensor s = torch::tensor({std[0], std[1], std[2]}, torch::kFloat32).to(d).view({1, 3, 1, 1});
	at::Tensor x = bytes_dev.permute({0, 3, 1, 2}).to(torch::kFloat32).div_(k255).sub_(m).div_(s);
	return wrap(x.contiguous());
	TS_CATCH(nullptr)
}

ts_tensor *ts_from_i64(const int64_t *data, const int64_t *shape, int ndim, const char *device)
{
	TS_TRY
	c10::Device d = parse_device(device);
	auto host = torch::from_blob(const_cast<int64_t *>(data), shape_of(shape, ndim), torch::kInt64);
	return wrap(host.to(d, false, true));
	TS_CATCH(nullptr)
}

ts_tensor *ts_full(const int64_t *shape, int ndim, double value, const char *device)
{
	TS_TRY
	c10::Device d = parse_device(device);
	return wrap(torch::full(shape_of(shape, ndim), value, torch::TensorOptions().device(d)));
	TS_CATCH(nullptr)
}

ts_tensor *ts_rand_uniform(const int64_t *shape, int ndim, double lo, double hi, uint64_t seed,
			   const char *device)
{
	TS_TRY
	c10::Device d = parse_device(device);
	/* Drawn on the CPU so that a seed gives the same numbers on every device. */
	auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
	auto t = at::empty(shape_of(shape, ndim), at::kFloat);
	t.uniform_(lo, hi, gen);
	return wrap(t.to(d));
	TS_CATCH(nullptr)
}

ts_tensor *ts_zeros_like(const ts_tensor *t)
{
	if (!t)
		return nullptr;
	TS_TRY
	return wrap(torch::zeros_like(t->t));
	TS_CATCH(nullptr)
}

int ts_dim(const ts_tensor *t)
{
	return t ? (int)t->t.dim() : -1;
}

int ts_is_cuda(const ts_tensor *t)
{
	return t && t->t.is_cuda();
}

int64_t ts_size(const ts_tensor *t, int dim)
{
	if (!t || dim < -t->t.dim() || dim >= t->t.dim())
		return -1;
	return t->t.size(dim);
}

int64_t ts_numel(const ts_tensor *t)
{
	return t ? t->t.numel() : -1;
}

} /* extern "C" */

template <typename T> static long copy_out(const ts_tensor *t, T *out, size_t n, at::ScalarType st)
{
	if (!t) {
		set_error("no tensor to copy");
		return -1;
	}
	TS_TRY
	auto h = t->t.detach().to(at::kCPU, st).contiguous();
	size_t count = std::min((size_t)h.numel(), n);
	std::memcpy(out, h.data_ptr<T>(), count * sizeof(T));
	return (long)count;
	TS_CATCH(-1)
}

extern "C" {

long ts_copy_f32(const ts_tensor *t, float *out, size_t n)
{
	return copy_out<float>(t, out, n, at::kFloat);
}

long ts_copy_f64(const ts_tensor *t, double *out, size_t n)
{
	return copy_out<double>(t, out, n, at::kDouble);
}

long ts_copy_i64(const ts_tensor *t, int64_t *out, size_t n)
{
	return copy_out<int64_t>(t, out, n, at::kLong);
}

double ts_item(const ts_tensor *t)
{
	if (!t)
		return NAN;
	TS_TRY
	return t->t.item<double>();
	TS_CATCH(NAN)
}

#define UNARY(name, expr)                                                                          \
	ts_tensor *name(const ts_tensor *a)                                                        \
	{                                                                                          \
		if (!a)                                                                            \
			return nullptr;                                                            \
		TS_TRY                                                                             \
		const at::Tensor &x = a->t;                                                        \
		return wrap(expr);                                                                 \
		TS_CATCH(nullptr)                                                                  \
	}

#define BINARY(name, expr)                                                                         \
	ts_tensor *name(const ts_tensor *a, const ts_tensor *b)                                    \
	{                                                                                          \
		if (!a || !b)                                                                      \
			return nullptr;                                                            \
		TS_TRY                                                                             \
		const at::Tensor &x = a->t, &y = b->t;                                             \
		return wrap(expr);                                                                 \
		TS_CATCH(nullptr)                                                                  \
	}

#define SCALAR(name, expr)                                                                         \
	ts_tensor *name(const ts_tensor *a, double s)                                              \
	{                                                                                          \
		if (!a)                                                                            \
			return nullptr;                                                            \
		TS_TRY                                                                             \
		const at::Tensor &x = a->t;                                                        \
		return wrap(expr);                                                                 \
		TS_CATCH(nullptr)                                                                  \
	}

ts_tensor *ts_to_device(const ts_tensor *a, const char *device)
{
	if (!a)
		return nullptr;
	TS_TRY
	return wrap(a->t.to(parse_device(device)));
	TS_CATCH(nullptr)
}

ts_tensor *ts_to_like(const ts_tensor *a, const ts_tensor *like)
{
	if (!a || !like)
		return nullptr;
	TS_TRY
	return wrap(a->t.to(like->t.device()));
	TS_CATCH(nullptr)
}

UNARY(ts_to_f64, x.to(at::kDouble))
UNARY(ts_to_f32, x.to(at::kFloat))
UNARY(ts_clone, x.clone())
UNARY(ts_detach, x.detach())
UNARY(ts_leaf, x.detach().clone().requires_grad_(true))
UNARY(ts_relu, at::relu(x))
UNARY(ts_abs, at::abs(x))
UNARY(ts_exp, at::exp(x))
UNARY(ts_log, at::log(x))
UNARY(ts_sqrt, at::sqrt(x))
UNARY(ts_tanh, at::tanh(x))
UNARY(ts_floor, at::floor(x))
UNARY(ts_round, at::round(x))
BINARY(ts_add, x + y)
BINARY(ts_sub, x - y)
BINARY(ts_mul, x *y)
BINARY(ts_div, x / y)
BINARY(ts_matmul, at::matmul(x, y))
SCALAR(ts_adds, x + s)
SCALAR(ts_muls, x *s)
SCALAR(ts_pows, at::pow(x, s))
SCALAR(ts_gts, at::gt(x, s).to(x.scalar_type()))
SCALAR(ts_eqs, at::eq(x, s).to(x.scalar_type()))

ts_tensor *ts_where(const ts_tensor *cond, const ts_tensor *a, const ts_tensor *b)
{
	if (!cond || !a || !b)
		return nullptr;
	TS_TRY
	return wrap(at::where(cond->t != 0, a->t, b->t));
	TS_CATCH(nullptr)
}

ts_tensor *ts_clamp(const ts_tensor *a, double lo, double hi)
{
	if (!a)
		return nullptr;
	TS_TRY
	return wrap(at::clamp(a->t, lo, hi));
	TS_CATCH(nullptr)
}

static std::vector<int64_t> dims_of(const int *dims, int ndims)
{
	return std::vector<int64_t>(dims, dims + ndims);
}

#define REDUCE(name, all_expr, dim_expr)                                                           \
	ts_tensor *name(const ts_tensor *a, const int *dims, int ndims, int keepdim)              \
	{                                                                                          \
		if (!a)                                                                            \
			return nullptr;                                                            \
		TS_TRY                                                                             \
		const at::Tensor &x = a->t;                                                        \
		if (ndims == 0)                                                                    \
			return wrap(all_expr);                                                     \
		std::vector<int64_t> d = dims_of(dims, ndims);                                     \
		return wrap(dim_expr);                                                             \
		TS_CATCH(nullptr)                                                                  \
	}

REDUCE(ts_sum, x.sum(), x.sum(d, keepdim != 0))
REDUCE(ts_mean, x.mean(), x.mean(d, keepdim != 0))
REDUCE(ts_amax, x.max(), at::amax(x, d, keepdim != 0))
REDUCE(ts_amin, x.min(), at::amin(x, d, keepdim != 0))

ts_tensor *ts_argmax(const ts_tensor *a, int dim)
{
	if (!a)
		return nullptr;
	TS_TRY
	return wrap(a->t.argmax(dim));
	TS_CATCH(nullptr)
}

ts_tensor *ts_argmin(const ts_tensor *a, int dim)
{
	if (!a)
		return nullptr;
	TS_TRY
	return wrap(a->t.argmin(dim));
	TS_CATCH(nullptr)
}

int ts_topk(const ts_tensor *a, int k, int dim, ts_tensor **values, ts_tensor **indices)
{
	if (!a)
		return -1;
	TS_TRY
	auto r = a->t.topk(k, dim, /*largest*/ true, /*sorted*/ true);
	*values = wrap(std::get<0>(r));
	*indices = wrap(std::get<1>(r));
	return 0;
	TS_CATCH(-1)
}

ts_tensor *ts_softmax(const ts_tensor *a, int dim)
{
	if (!a)
		return nullptr;
	TS_TRY
	return wrap(at::softmax(a->t, dim));
	TS_CATCH(nullptr)
}

ts_tensor *ts_log_softmax(const ts_tensor *a, int dim)
{
	if (!a)
		return nullptr;
	TS_TRY
	return wrap(at::log_softmax(a->t, dim));
	TS_CATCH(nullptr)
}

ts_tensor *ts_gather(const ts_tensor *a, int dim, const ts_tensor *index)
{
	if (!a || !index)
		return nullptr;
	TS_TRY
	return wrap(at::gather(a->t, dim, index->t));
	TS_CATCH(nullptr)
}

ts_tensor *ts_narrow(const ts_tensor *a, int dim, int64_t start, int64_t len)
{
	if (!a)
		return nullptr;
	TS_TRY
	return wrap(a->t.narrow(dim, start, len));
	TS_CATCH(nullptr)
}

ts_tensor *ts_select(const ts_tensor *a, int dim, int64_t index)
{
	if (!a)
		return nullptr;
	TS_TRY
	return wrap(a->t.select(dim, index));
	TS_CATCH(nullptr)
}

ts_tensor *ts_cat(ts_tensor *const *ts, int n, int dim)
{
	TS_TRY
	std::vector<at::Tensor> v;
	for (int i = 0; i < n; i++) {
		if (!ts[i])
			return nullptr;
		v.push_back(ts[i]->t);
	}
	return wrap(at::cat(v, dim));
	TS_CATCH(nullptr)
}

ts_tensor *ts_reshape(const ts_tensor *a, const int64_t *shape, int ndim)
{
	if (!a)
		return nullptr;
	TS_TRY
	return wrap(a->t.reshape(shape_of(shape, ndim)));
	TS_CATCH(nullptr)
}

ts_tensor *ts_permute(const ts_tensor *a, const int *dims, int ndims)
{
	if (!a)
		return nullptr;
	TS_TRY
	return wrap(a->t.permute(dims_of(dims, ndims)));
	TS_CATCH(nullptr)
}

ts_tensor *ts_unsqueeze(const ts_tensor *a, int dim)
{
	if (!a)
		return nullptr;
	TS_TRY
	return wrap(a->t.unsqueeze(dim));
	TS_CATCH(nullptr)
}

ts_tensor *ts_squeeze(const ts_tensor *a, int dim)
{
	if (!a)
		return nullptr;
	TS_TRY
	return wrap(a->t.squeeze(dim));
	TS_CATCH(nullptr)
}

ts_tensor *ts_repeat_interleave(const ts_tensor *a, int64_t n)
{
	if (!a)
		return nullptr;
	TS_TRY
	return wrap(a->t.repeat_interleave(n, 0));
	TS_CATCH(nullptr)
}

ts_tensor *ts_interpolate(const ts_tensor *a, int64_t h, int64_t w, int align_corners)
{
	if (!a)
		return nullptr;
	TS_TRY
	std::vector<int64_t> size{h, w};
	return wrap(at::upsample_bilinear2d(a->t, size, align_corners != 0, c10::nullopt,
					    c10::nullopt));
	TS_CATCH(nullptr)
}

int ts_eigh(const ts_tensor *a, ts_tensor **values, ts_tensor **vectors)
{
	*values = *vectors = nullptr;
	if (!a)
		return -1;
	TS_TRY
	auto r = at::linalg_eigh(a->t, "L");
	*values = wrap(std::get<0>(r));
	*vectors = wrap(std::get<1>(r));
	return 0;
	TS_CATCH(-1)
}

ts_tensor *ts_conv2d(const ts_tensor *x, const ts_tensor *w)
{
	if (!x || !w)
		return nullptr;
	TS_TRY
	return wrap(at::conv2d(x->t, w->t));
	TS_CATCH(nullptr)
}

ts_tensor *ts_pad_reflect(const ts_tensor *a, int64_t pad)
{
	if (!a)
		return nullptr;
	TS_TRY
	return wrap(at::reflection_pad2d(a->t, {pad, pad, pad, pad}));
	TS_CATCH(nullptr)
}

ts_tensor *ts_flip(const ts_tensor *a, int dim)
{
	if (!a)
		return nullptr;
	TS_TRY
	return wrap(a->t.flip({dim}));
	TS_CATCH(nullptr)
}

ts_tensor *ts_grad(const ts_tensor *output, const ts_tensor *input, const ts_tensor *grad_output,
		   int create_graph)
{
	if (!output || !input)
		return nullptr;
	TS_TRY
	/* an output that depends on nothing that requires grad (G of a linear head, from a model whose
	 * parameters do not require grad) has the zero gradient; autograd would refuse it */
	if (!output->t.requires_grad())
		return wrap(torch::zeros_like(input->t));
	std::vector<at::Tensor> go;
	if (grad_output)
		go.push_back(grad_output->t);
	auto g = torch::autograd::grad({output->t}, {input->t}, go, /*retain_graph*/ true,
				       create_graph != 0, /*allow_unused*/ true);
	if (!g[0].defined())
		return wrap(torch::zeros_like(input->t));
	return wrap(g[0]);
	TS_CATCH(nullptr)
}

/* ---- modules ---- */

ts_module *ts_module_load(const char *path, const char *device)
{
	TS_TRY
	c10::Device d = parse_device(device);
	auto mod = torch::jit::load(path, d);
	mod.eval();
	return new ts_module{std::move(mod), d, at::kFloat, false, nullptr, std::string()};
	TS_CATCH(nullptr)
}

int ts_module_set_precision(ts_module *m, enum ts_precision p, int channels_last)
{
	TS_TRY
	switch (p) {
	case TS_PRECISION_FP32:
		m->amp = at::kFloat;
		break;
	case TS_PRECISION_BF16:
		m->amp = at::kBFloat16;
		break;
	case TS_PRECISION_FP16:
		if (!m->device.is_cuda())
			throw std::runtime_error("precision fp16 needs a CUDA device; on a CPU use bf16");
		m->amp = at::kHalf;
		break;
	case TS_PRECISION_TF32:
		if (!m->device.is_cuda())
			throw std::runtime_error("precision tf32 needs a CUDA device");
		m->amp = at::kFloat;
		break;
	default:
		throw std::runtime_error("unknown precision");
	}
	if (m->device.is_cuda()) {
		at::globalContext().setAllowTF32CuDNN(p == TS_PRECISION_TF32);
		at::globalContext().setAllowTF32CuBLAS(p == TS_PRECISION_TF32);
		if (p == TS_PRECISION_TF32 && tf32_env_ours) {
			unsetenv("NVIDIA_TF32_OVERRIDE"); /* read by cuDNN and cuBLAS when they start */
			tf32_env_ours = false;
		}
	}
	if (channels_last && !m->channels_last) {
		torch::NoGradGuard no_grad;
		for (at::Tensor t : m->mod.parameters())
			if (t.dim() == 4)
				t.set_data(t.contiguous(at::MemoryFormat::ChannelsLast));
		m->channels_last = true;
	} else if (!channels_last && m->channels_last) {
		torch::NoGradGuard no_grad;
		for (at::Tensor t : m->mod.parameters())
			if (t.dim() == 4)
				t.set_data(t.contiguous());
		m->channels_last = false;
	}
	return 0;
	TS_CATCH(-1)
}

int ts_device_memory(const char *device, int64_t *free_bytes, int64_t *total_bytes)
{
	TS_TRY
	c10::Device d = parse_device(device);
	if (!d.is_cuda())
		throw std::runtime_error(std::string("no memory figure for device '") + device +
					 "': only for CUDA devices");
#ifdef TS_HAVE_CUDA_RUNTIME
	c10::cuda::CUDAGuard guard(d.has_index() ? d.index() : (c10::DeviceIndex)0);
	size_t f = 0, t = 0;
	cudaError_t rc = cudaMemGetInfo(&f, &t);
	if (rc != cudaSuccess)
		throw std::runtime_error(std::string("cudaMemGetInfo: ") + cudaGetErrorString(rc));
	*free_bytes = (int64_t)f;
	*total_bytes = (int64_t)t;
	return 0;
#else
	(void)free_bytes;
	(void)total_bytes;
	throw std::runtime_error("device memory unknown: camlab was built without the CUDA runtime headers");
#endif
	TS_CATCH(-1)
}

int ts_module_set_double(ts_module *m, int on)
{
	TS_TRY
	m->mod.to(on ? at::kDouble : at::kFloat);
	return 0;
	TS_CATCH(-1)
}

void ts_module_free(ts_module *m)
{
	delete m;
}

static std::string short_type_name(const torch::jit::Module &m)
{
	auto qn = m.type()->name();
	return qn ? qn->name() : std::string("?");
}

int ts_module_paths(const ts_module *m, void (*fn)(const char *path, const char *type, void *ud),
		    void *ud)
{
	TS_TRY
	int n = 0;
	for (const auto &nm : m->mod.named_modules()) {
		std::string type = short_type_name(nm.value);
		fn(nm.name.c_str(), type.c_str(), ud);
		n++;
	}
	return n;
	TS_CATCH(-1)
}

ts_tensor *ts_module_forward(ts_module *m, const ts_tensor *x)
{
	if (!x)
		return nullptr;
	TS_TRY
	c10::IValue out;
	{
		autocast_scope ac(m);
		out = m->mod.forward({module_input(m, x->t)});
	}
	return wrap(logits_of(m, out, x->t.size(0)));
	TS_CATCH(nullptr)
}

ts_tensor *ts_module_attr(const ts_module *m, const char *path)
{
	TS_TRY
	std::string p(path);
	c10::IValue cur = m->mod._ivalue();
	size_t start = 0;
	while (true) {
		size_t dot = p.find('.', start);
		std::string seg = p.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
		auto obj = cur.toObject();
		if (!obj->type()->hasAttribute(seg))
			throw std::runtime_error("no attribute '" + p + "' in the model");
		cur = obj->getAttr(seg);
		if (dot == std::string::npos)
			break;
		if (!cur.isObject())
			throw std::runtime_error("'" + p.substr(0, dot) + "' is not a module");
		start = dot + 1;
	}
	if (!cur.isTensor())
		throw std::runtime_error("attribute '" + p + "' is not a tensor");
	return wrap(cur.toTensor().detach());
	TS_CATCH(nullptr)
}

ts_module *ts_module_clone(const ts_module *m)
{
	TS_TRY
	/* deepcopy keeps the class types (and so the methods a split is cut from) and copies every tensor */
	auto c = std::make_unique<ts_module>(ts_module{m->mod.deepcopy(), m->device, m->amp, m->channels_last, nullptr, std::string()});
	c->amp = m->amp;
	c->channels_last = m->channels_last;
	/* as the original's, so that the copy's passes build the same graphs */
	std::vector<bool> wants;
	for (const at::Tensor &t : m->mod.parameters())
		wants.push_back(t.requires_grad());
	size_t i = 0;
	for (at::Tensor t : c->mod.parameters())
		if (i < wants.size())
			t.requires_grad_(wants[i++]);
	return c.release();
	TS_CATCH(nullptr)
}

/* The submodule at a dotted path as named_modules() spells it ("" is the root). */
static torch::jit::Module submodule_at(const torch::jit::Module &root, const std::string &path)
{
	torch::jit::Module cur = root;
	size_t start = 0;
	while (start < path.size()) {
		size_t dot = path.find('.', start);
		std::string seg = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
		if (!cur.hasattr(seg) || !cur.attr(seg).isModule())
			throw std::runtime_error("no module '" + path + "' in the model");
		cur = cur.attr(seg).toModule();
		if (dot == std::string::npos)
			break;
		start = dot + 1;
	}
	return cur;
}

int ts_module_own_tensors(const ts_module *m, const char *path)
{
	TS_TRY
	torch::jit::Module sub = submodule_at(m->mod, path);
	int n = 0;
	for (const auto &p : sub.named_parameters(false))
		n += p.value.is_floating_point();
	for (const auto &b : sub.named_buffers(false))
		n += b.value.is_floating_point();
	return n;
	TS_CATCH(-1)
}

/*
 * What torch.nn's reset_parameters() does for the common modules, with our own generator: drawn on the
 * CPU in float32 and copied, so that a seed gives the same weights on every device and in Python
 * (torch.Generator().manual_seed(seed), then tensor.uniform_(-b, b, generator=g) in the same order).
 */
int ts_module_reinit(ts_module *m, const char *path, uint64_t seed)
{
	TS_TRY
	torch::NoGradGuard no_grad;
	torch::jit::Module sub = submodule_at(m->mod, path);
	auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
	bool norm = short_type_name(sub).find("Norm") != std::string::npos;
	int64_t fan_in = 0;
	int n = 0;

	for (const auto &p : sub.named_parameters(false))
		if (p.value.is_floating_point() && p.value.dim() >= 2 && p.value.size(0) > 0) {
			fan_in = p.value.numel() / p.value.size(0);
			break;
		}
	for (const auto &p : sub.named_parameters(false)) {
		at::Tensor t = p.value;
		if (!t.is_floating_point())
			continue;
		at::Tensor v = at::empty(t.sizes(), at::kFloat);
		if (norm) {
			v.fill_(p.name == "weight" ? 1.0 : 0.0);
		} else {
			int64_t fi = t.dim() >= 2 && t.size(0) > 0 ? t.numel() / t.size(0) : fan_in ? fan_in : t.numel();
			double b = fi > 0 ? 1.0 / std::sqrt((double)fi) : 0.0;
			v.uniform_(-b, b, gen);
		}
		t.copy_(v);
		n++;
	}
	for (const auto &b : sub.named_buffers(false)) {
		if (!norm || !b.value.defined())
			continue;
		if (b.name == "running_var")
			b.value.fill_(1);
		else if (b.name == "running_mean" || b.name == "num_batches_tracked")
			b.value.zero_();
		else
			continue;
		n++;
	}
	return n;
	TS_CATCH(-1)
}

} /* extern "C" */

/* ---- splitting a module at a layer ---- */

using torch::jit::Block;
using torch::jit::Graph;
using torch::jit::Node;
using torch::jit::Value;

/* The dotted attribute path by which v reaches the graph's self, or "?" if it does not. */
static std::string module_path_of(Value *v, Value *self)
{
	std::vector<std::string> segs;
	while (v != self) {
		Node *n = v->node();
		if (n->kind() != c10::prim::GetAttr)
			return "?";
		segs.push_back(n->s(c10::attr::name));
		v = n->input(0);
	}
	std::string path;
	for (auto it = segs.rbegin(); it != segs.rend(); ++it)
		path += (path.empty() ? "" : ".") + *it;
	return path;
}

static void find_calls(Block *b, Value *self, const std::string &path, std::vector<Node *> &out)
{
	for (Node *n : b->nodes()) {
		if (n->kind() == c10::prim::CallMethod && n->s(c10::attr::name) == "forward" &&
		    module_path_of(n->input(0), self) == path)
			out.push_back(n);
		for (Block *sub : n->blocks())
			find_calls(sub, self, path, out);
	}
}

/* The node of the top-level block that contains n (n itself if it is there). */
static Node *top_level(Node *n, Block *top)
{
	while (n->owningBlock() != top)
		n = n->owningBlock()->owningNode();
	return n;
}

/* Values that can be recomputed for free in another graph: constants and module attributes. */
static bool rematerializable(Value *v, Value *self)
{
	if (v == self)
		return true;
	Node *n = v->node();
	if (n->kind() == c10::prim::Constant)
		return true;
	if (n->kind() == c10::prim::GetAttr)
		return rematerializable(n->input(0), self);
	return false;
}

static bool is_inplace(Node *n)
{
	std::string s = n->kind().toQualString();
	return s.rfind("aten::", 0) == 0 && s.size() > 1 && s.back() == '_' && s[s.size() - 2] != '_';
}

/*
 * The first in-place op on v (as its input 0), or nullptr; looked for also inside the methods v is passed
 * to (VGG's ReLU(inplace=True) is the next module's forward, a call the suffix does not inline), a few
 * calls deep.
 */
/*
 * The graph a prim::CallMethod or prim::CallFunction node calls, or nullptr for any other node or a
 * callee that is not TorchScript. *shift is how many of the node's inputs come before the callee's own
 * (a function value comes before a function's arguments; a method's self is input 0 of both).
 */
static std::shared_ptr<Graph> callee_graph(Node *n, size_t *shift)
{
	torch::jit::Function *fn = nullptr;

	*shift = 0;
	if (n->kind() == c10::prim::CallMethod) {
		if (auto cls = n->input(0)->type()->cast<c10::ClassType>())
			fn = cls->findMethod(n->s(c10::attr::name));
	} else if (n->kind() == c10::prim::CallFunction) {
		if (auto ft = n->input(0)->type()->cast<c10::FunctionType>())
			fn = ft->function();
		*shift = 1;
	}
	if (!fn || !fn->isGraphFunction())
		return nullptr;
	return torch::jit::toGraphFunction(*fn).graph();
}

static Node *mutator_of(Value *v, int depth = 0)
{
	for (const auto &use : v->uses()) {
		Node *u = use.user;
		size_t shift;
		if (is_inplace(u) && use.offset == 0)
			return u;
		if (use.offset == 0 || depth >= 6)
			continue;
		/* ReLU's forward calls F.relu, which does relu_ inside an if */
		auto graph = callee_graph(u, &shift);
		if (graph && use.offset - shift < graph->inputs().size())
			if (Node *op = mutator_of(graph->inputs()[use.offset - shift], depth + 1))
				return op;
	}
	return nullptr;
}

static bool mutated_in(Value *v)
{
	return mutator_of(v) != nullptr;
}

/*
 * Clone v's defining chain of constants and attribute reads into g (whose self is new_self), memoised in
 * map; for everything else map must already hold v.
 */
static Value *remat(Graph &g, Value *v, Value *self, Value *new_self, std::map<Value *, Value *> &map)
{
	auto it = map.find(v);
	if (it != map.end())
		return it->second;
	if (v == self)
		return new_self;
	Node *n = v->node();
	Node *c = g.createClone(n, [&](Value *in) { return remat(g, in, self, new_self, map); });
	g.insertNode(c);
	for (size_t i = 0; i < n->outputs().size(); i++)
		map[n->output(i)] = c->output(i);
	return map.at(v);
}

/*
 * A module may reach its children from a helper method rather than from forward (torchvision's scripted
 * ResNet calls self._forward_impl): inline every call of a non-forward method on an ancestor of path.
 */
static void inline_helpers(Graph &g, Value *self, const std::string &path)
{
	bool again = true;
	while (again) {
		again = false;
		for (Node *n : g.block()->nodes()) {
			if (n->kind() != c10::prim::CallMethod || n->s(c10::attr::name) == "forward")
				continue;
			std::string r = module_path_of(n->input(0), self);
			if (r == "?" || !(r.empty() || (path.compare(0, r.size(), r) == 0 &&
						       (path.size() == r.size() || path[r.size()] == '.'))))
				continue;
			auto cls = n->input(0)->type()->expect<c10::ClassType>();
			auto &callee = torch::jit::toGraphFunction(cls->getMethod(n->s(c10::attr::name)));
			torch::jit::inlineCallTo(n, &callee);
			again = true;
			break;
		}
	}
}

/*
 * The call node of the module at dotted path target in g's top level: walks the path, inlining each
 * enclosing module's call. Throws, saying why, when the layer cannot be cut out (never called, called
 * twice, called inside control flow). With inlined_ok, an enclosing module whose call is missing may have
 * been inlined already (for another layer of a chain).
 */
static Node *layer_call(Graph &g, Value *self, const std::string &target, bool inlined_ok = false)
{
	Node *call = nullptr;
	size_t pos = 0;
	while (true) {
		size_t dot = target.find('.', pos);
		std::string path = target.substr(0, dot);
		std::vector<Node *> calls;
		inline_helpers(g, self, path);
		find_calls(g.block(), self, path, calls);
		if (calls.empty() && inlined_ok && dot != std::string::npos) {
			pos = dot + 1;
			continue;
		}
		if (calls.empty())
			throw std::runtime_error("module '" + path +
						 "' is never called by the model's forward, so it has no "
						 "activation to explain");
		if (calls.size() > 1)
			throw std::runtime_error("module '" + path + "' is called " +
						 std::to_string(calls.size()) +
						 " times in the model's forward; camlab needs a layer "
						 "called once");
		call = calls[0];
		if (call->owningBlock() != g.block())
			throw std::runtime_error("module '" + path +
						 "' is called inside control flow (an if or a loop); "
						 "camlab cannot cut the model there");
		if (dot == std::string::npos)
			break;
		auto cls = call->input(0)->type()->expect<c10::ClassType>();
		auto &callee = torch::jit::toGraphFunction(cls->getMethod("forward"));
		torch::jit::inlineCallTo(call, &callee);
		pos = dot + 1;
	}
	return call;
}

/* The values computed before call (its output a aside) that the rest of the graph needs. */
static std::vector<Value *> carried_values(Graph &g, Node *call, Value *a, Value *self)
{
	Block *top = g.block();
	std::set<Node *> after;
	for (Node *n = call->next(); n != top->return_node(); n = n->next())
		after.insert(n);
	after.insert(top->return_node());
	std::vector<Value *> needed;
	auto consider = [&](Value *v) {
		if (v == a || rematerializable(v, self))
			return;
		for (const auto &use : v->uses()) {
			if (after.count(top_level(use.user, top))) {
				needed.push_back(v);
				return;
			}
		}
	};
	consider(g.inputs()[1]);
	for (Node *n = top->nodes().front(); n != call; n = n->next())
		for (Value *o : n->outputs())
			consider(o);
	return needed;
}

/* Prefix: a copy of the graph returning (A, needed...), pruned to what that needs. */
static std::shared_ptr<Graph> prefix_graph(Graph &g, Node *call, Value *a, Value *self,
					   const std::vector<Value *> &needed)
{
	Block *top = g.block();
	auto pg = std::make_shared<Graph>();
	std::map<Value *, Value *> map;
	Value *pself = pg->addInput("self")->setType(self->type());
	Value *px = pg->addInput("x")->setType(g.inputs()[1]->type());
	map[self] = pself;
	map[g.inputs()[1]] = px;
	for (Node *n = top->nodes().front(); n != call->next(); n = n->next()) {
		Node *c = pg->createClone(n, [&](Value *v) { return map.at(v); });
		pg->insertNode(c);
		for (size_t i = 0; i < n->outputs().size(); i++)
			map[n->output(i)] = c->output(i);
	}
	std::vector<Value *> outs{map.at(a)};
	for (Value *v : needed)
		outs.push_back(map.at(v));
	Node *tup = pg->insertNode(pg->createTuple(outs));
	pg->registerOutput(tup->output());
	torch::jit::EliminateDeadCode(pg);
	return pg;
}

/* Suffix: (self, needed..., A) to the original outputs; notes in s which inputs it mutates. */
static std::shared_ptr<Graph> suffix_graph(ts_split *s, Graph &g, Node *call, Value *a, Value *self,
					   const std::vector<Value *> &needed)
{
	Block *top = g.block();
	auto sg = std::make_shared<Graph>();
	std::map<Value *, Value *> map;
	Value *sself = sg->addInput("self")->setType(self->type());
	for (Value *v : needed) {
		Value *in = sg->addInput()->setType(v->type());
		map[v] = in;
		s->carry_mutated.push_back(false);
	}
	Value *sa = sg->addInput("a")->setType(a->type());
	map[a] = sa;
	for (Node *n = call->next(); n != top->return_node(); n = n->next()) {
		Node *c = sg->createClone(n, [&](Value *v) { return remat(*sg, v, self, sself, map); });
		sg->insertNode(c);
		for (size_t i = 0; i < n->outputs().size(); i++)
			map[n->output(i)] = c->output(i);
	}
	for (Value *o : top->return_node()->inputs())
		sg->registerOutput(remat(*sg, o, self, sself, map));
	for (size_t i = 0; i < needed.size(); i++)
		s->carry_mutated[i] = mutated_in(sg->inputs()[i + 1]);
	s->a_mutated = mutated_in(sa);
	return sg;
}

/*
 * A fused layer's layers in one forward: the graph with every layer's call in its top level, cut at each.
 * Stage k (1 <= k < n) runs what lies between layer k-1 and layer k: (self, layer k-1's carry..., its A)
 * to (layer k's A, layer k's carry...); the first layer's prefix comes before it, the last one's suffix
 * after. Carries are the splits' own, as the splits are cut again on the same graph.
 */
struct ts_chain {
	ts_module *m;
	std::vector<ts_split *> splits; /* borrowed, in the order the forward calls their layers */
	std::vector<int> index;		/* splits[k] is the caller's index[k] */
	std::vector<std::unique_ptr<torch::jit::GraphFunction>> stages; /* stages[0] unused */
	std::vector<std::vector<bool>> carry_mutated;			/* per stage, as ts_split's */
	std::vector<bool> a_mutated;
};

/* Stage from call `from` (output a_from, carry needed_from) to call `to` (output a_to, carry needed_to). */
static std::shared_ptr<Graph> stage_graph(ts_chain *c, size_t k, Graph &g, Value *self, Node *from,
					  const std::vector<Value *> &needed_from, Node *to,
					  const std::vector<Value *> &needed_to)
{
	auto sg = std::make_shared<Graph>();
	std::map<Value *, Value *> map;
	Value *sself = sg->addInput("self")->setType(self->type());
	for (Value *v : needed_from)
		map[v] = sg->addInput()->setType(v->type());
	Value *sa = sg->addInput("a")->setType(from->output()->type());
	map[from->output()] = sa;
	for (Node *n = from->next(); n != to->next(); n = n->next()) {
		Node *cl = sg->createClone(n, [&](Value *v) { return remat(*sg, v, self, sself, map); });
		sg->insertNode(cl);
		for (size_t i = 0; i < n->outputs().size(); i++)
			map[n->output(i)] = cl->output(i);
	}
	std::vector<Value *> outs{map.at(to->output())};
	for (Value *v : needed_to)
		outs.push_back(remat(*sg, v, self, sself, map));
	Node *tup = sg->insertNode(sg->createTuple(outs));
	sg->registerOutput(tup->output());
	torch::jit::EliminateDeadCode(sg);
	c->carry_mutated[k].clear();
	for (size_t i = 0; i < needed_from.size(); i++)
		c->carry_mutated[k].push_back(mutated_in(sg->inputs()[i + 1]));
	c->a_mutated[k] = mutated_in(sa);
	return sg;
}

/* A carry's value without autograd history (a tensor, or a list of them), so a pass can keep it. */
static c10::IValue detached(const c10::IValue &v)
{
	if (v.isTensor())
		return v.toTensor().detach();
	if (v.isTensorList()) {
		c10::List<at::Tensor> l;
		for (const at::Tensor &t : v.toTensorVector())
			l.push_back(t.detach());
		return l;
	}
	return v;
}

/* The inputs of a stage or suffix after self: the carry (cloned where it mutates it), then A. */
static void stage_inputs(torch::jit::Stack &stack, const std::vector<c10::IValue> &carry,
			 const std::vector<bool> &mutated, at::Tensor in, bool a_mutated)
{
	for (size_t i = 0; i < carry.size(); i++) {
		const c10::IValue &v = carry[i];
		stack.push_back(mutated[i] && v.isTensor() ? c10::IValue(v.toTensor().clone()) : v);
	}
	/* an in-place op on a leaf that requires grad is an autograd error; on a copy it is fine */
	if (a_mutated || (in.is_leaf() && in.requires_grad()))
		in = in.clone();
	stack.push_back(in);
}

extern "C" {

/*
 * Why graph surgery: a plain TorchScript file offers no hooks from C++, and a traced wrapper returning
 * (logits, A) loses A after warm-up (LIBTORCH.md). Before inlining, a module's forward graph calls each
 * child as prim::CallMethod on prim::GetAttr chains from self, so inlining only the calls along the
 * layer's path leaves the layer's own call as one node N in the top-level graph. Cutting there gives a
 * prefix (inputs to A plus every earlier value used after N, such as a residual input) and a suffix
 * (those values and A to the logits). Both remain graphs over the same module object, so they share its
 * weights and device.
 */
ts_split *ts_split_new(ts_module *m, const char *layer, enum ts_layout layout)
{
	TS_TRY
	std::string target(layer);
	if (target.empty())
		throw std::runtime_error("empty layer name");
	auto &fwd = torch::jit::toGraphFunction(m->mod.get_method("forward").function());
	std::shared_ptr<Graph> g = fwd.graph()->copy();
	if (g->inputs().size() != 2)
		throw std::runtime_error("the model's forward takes " +
					 std::to_string(g->inputs().size() - 1) +
					 " arguments; camlab needs forward(image)");
	Value *self = g->inputs()[0];
	Node *call = layer_call(*g, self, target);
	if (call->outputs().size() != 1)
		throw std::runtime_error("layer '" + target + "' has more than one output");
	Value *a = call->output();
	std::vector<Value *> needed = carried_values(*g, call, a, self);

	auto s = std::make_unique<ts_split>();
	s->m = m;
	s->layer = target;
	s->layout = layout;
	s->nr_carry = needed.size();
	s->prefix = std::make_unique<torch::jit::GraphFunction>("camlab_prefix",
								 prefix_graph(*g, call, a, self, needed), nullptr);
	s->suffix = std::make_unique<torch::jit::GraphFunction>(
		"camlab_suffix", suffix_graph(s.get(), *g, call, a, self, needed), nullptr);
	return s.release();
	TS_CATCH(nullptr)
}

void ts_split_free(ts_split *s)
{
	delete s;
}

ts_split *ts_split_rebind(const ts_split *s, ts_module *m)
{
	ts_split *n = ts_split_new(m, s->layer.c_str(), s->layout);
	if (n) {
		n->prefix_tokens = s->prefix_tokens;
		n->grid_h = s->grid_h;
		n->grid_w = s->grid_w;
	}
	return n;
}

const char *ts_split_layer(const ts_split *s)
{
	return s->layer.c_str();
}

static enum ts_layout resolve_layout(const at::Tensor &raw, enum ts_layout layout)
{
	if (layout != TS_LAYOUT_AUTO && layout != TS_LAYOUT_AUTO_LAST)
		return layout;
	if (raw.dim() == 3)
		return TS_LAYOUT_BNC;
	return layout == TS_LAYOUT_AUTO_LAST ? TS_LAYOUT_BHWC : TS_LAYOUT_BCHW;
}

/* Detection looks at most this many prefix tokens: a class token, a distillation token, registers. */
#define MAX_PREFIX_TOKENS 16

/*
 * How n tokens from an in_h x in_w image split into prefix tokens and an h x w grid, the way
 * pytorch-grad-cam's reshape_transform does it for ViT (drop the class token, reshape the rest to the
 * patch grid). Declared values win; otherwise the smallest prefix count leaves a grid that is the image
 * divided by a whole stride (a patch size, or patch size times merges), else a square one. Returns false
 * when nothing fits.
 */
static bool token_grid(const ts_split *s, int64_t n, int64_t in_h, int64_t in_w, int64_t *prefix, int64_t *h,
		       int64_t *w)
{
	int64_t p_lo = s->prefix_tokens >= 0 ? s->prefix_tokens : 0;
	int64_t p_hi = s->prefix_tokens >= 0 ? s->prefix_tokens : std::min<int64_t>(MAX_PREFIX_TOKENS, n - 1);
	if (s->grid_h > 0 && s->grid_w > 0) {
		*h = s->grid_h;
		*w = s->grid_w;
		*prefix = n - *h * *w;
		return *prefix >= 0 && (s->prefix_tokens < 0 || *prefix == s->prefix_tokens);
	}
	for (int64_t p = p_lo; p <= p_hi; p++) {
		int64_t g = n - p;
		if (g <= 0)
			break;
		/* the image's own grid at some stride (rounded up, as patch embeddings with padding do) */
		for (int64_t stride = 1; in_h > 0 && in_w > 0 && stride <= std::max(in_h, in_w); stride++) {
			int64_t gh = (in_h + stride - 1) / stride, gw = (in_w + stride - 1) / stride;
			if (gh * gw == g) {
				*prefix = p, *h = gh, *w = gw;
				return true;
			}
			if (gh * gw < g)
				break;
		}
		int64_t side = (int64_t)std::lround(std::sqrt((double)g));
		if (side * side == g) {
			*prefix = p, *h = *w = side;
			return true;
		}
	}
	return false;
}

static at::Tensor to_bchw(ts_split *s, const at::Tensor &raw, enum ts_layout layout, int64_t in_h,
			  int64_t in_w, at::Tensor *prefix)
{
	switch (layout) {
	case TS_LAYOUT_AUTO:
	case TS_LAYOUT_AUTO_LAST:
	case TS_LAYOUT_BCHW:
		break;
	case TS_LAYOUT_BHWC:
		if (raw.dim() != 4)
			throw std::runtime_error("layout bhwc needs a layer output of 4 dimensions (B, h, w, C), "
						 "not " + std::to_string(raw.dim()));
		return raw.permute({0, 3, 1, 2}).contiguous();
	case TS_LAYOUT_BNC: {
		if (raw.dim() != 3)
			throw std::runtime_error("layout bnc needs a layer output of 3 dimensions (B, tokens, C), "
						 "not " + std::to_string(raw.dim()) +
						 (raw.dim() == 4 ? "; leave the layout out (auto) for (B, C, h, w)" : ""));
		int64_t n = raw.size(1), p = 0, h = 0, w = 0;
		if (!prefix && s->seen_prefix >= 0) { /* the suffix's A: split as its prefix run did */
			p = s->seen_prefix, h = s->seen_h, w = s->seen_w;
		} else if (!token_grid(s, n, in_h, in_w, &p, &h, &w))
			throw std::runtime_error(
				"token layout: " + std::to_string(n) + " tokens" +
				(s->prefix_tokens >= 0 ? " less " + std::to_string(s->prefix_tokens) + " prefix tokens"
						       : "") +
				(s->grid_h > 0 ? " do not make a " + std::to_string(s->grid_h) + "x" +
							 std::to_string(s->grid_w) + " grid"
					       : " do not form the image's grid or a square one") +
				"; give the prefix tokens (prefix_tokens, --prefix-tokens) or the grid (grid, --grid)");
		if (prefix) {
			*prefix = p > 0 ? raw.narrow(1, 0, p).detach().clone() : at::Tensor();
			s->seen_prefix = p, s->seen_h = h, s->seen_w = w;
		}
		at::Tensor grid = p > 0 ? raw.narrow(1, p, n - p) : raw;
		return grid.transpose(1, 2).reshape({raw.size(0), raw.size(2), h, w});
	}
	}
	if (raw.dim() != 4)
		throw std::runtime_error("the layer's output has " + std::to_string(raw.dim()) +
					 " dimensions, expected (B, C, h, w); declare its layout "
					 "(bhwc or bnc) if it is channels-last or tokens");
	return raw;
}

/* prefix: the dropped tokens (B or 1, N, C) of the batch a belongs to, or undefined. */
static at::Tensor from_bchw(const at::Tensor &a, enum ts_layout layout, const at::Tensor &prefix)
{
	switch (layout) {
	case TS_LAYOUT_AUTO:
	case TS_LAYOUT_AUTO_LAST:
	case TS_LAYOUT_BCHW:
		return a;
	case TS_LAYOUT_BHWC:
		return a.permute({0, 2, 3, 1});
	case TS_LAYOUT_BNC: {
		at::Tensor tokens = a.flatten(2).transpose(1, 2);
		if (!prefix.defined())
			return tokens;
		at::Tensor p = prefix.to(tokens.scalar_type());
		if (p.size(0) != tokens.size(0)) {
			if (p.size(0) != 1)
				throw std::runtime_error("a batch of " + std::to_string(tokens.size(0)) +
							 " activations for " + std::to_string(p.size(0)) +
							 " images' prefix tokens");
			p = p.expand({tokens.size(0), p.size(1), p.size(2)});
		}
		return at::cat({p, tokens}, 1);
	}
	}
	return a;
}

int ts_split_set_tokens(ts_split *s, int prefix_tokens, int grid_h, int grid_w)
{
	if (!s)
		return -1;
	if (prefix_tokens > 100000 || grid_h < 0 || grid_w < 0 || (grid_h > 0) != (grid_w > 0)) {
		set_error("bad token layout: prefix tokens " + std::to_string(prefix_tokens) + ", grid " +
			  std::to_string(grid_h) + "x" + std::to_string(grid_w));
		return -1;
	}
	s->prefix_tokens = prefix_tokens < 0 ? -1 : prefix_tokens;
	s->grid_h = grid_h;
	s->grid_w = grid_w;
	return 0;
}

enum ts_layout ts_split_layout(const ts_split *s)
{
	return s->layout;
}

void ts_split_tokens(const ts_split *s, int *prefix_tokens, int *grid_h, int *grid_w)
{
	bool bnc = s->layout == TS_LAYOUT_BNC && s->seen_prefix >= 0;
	*prefix_tokens = bnc ? (int)s->seen_prefix : -1;
	*grid_h = bnc ? (int)s->seen_h : 0;
	*grid_w = bnc ? (int)s->seen_w : 0;
}

int ts_split_prefix(ts_split *s, const ts_tensor *x, ts_carry **carry, ts_tensor **a)
{
	if (!x)
		return -1;
	TS_TRY
	torch::NoGradGuard no_grad;
	torch::jit::Stack stack{s->m->mod._ivalue(), module_input(s->m, x->t)};
	{
		autocast_scope ac(s->m);
		s->prefix->run(stack);
	}
	auto elems = stack.back().toTupleRef().elements();
	if (!elems[0].isTensor())
		throw std::runtime_error("the layer's output is not a tensor");
	at::Tensor raw = elems[0].toTensor();
	s->layout = resolve_layout(raw, s->layout);
	auto c = std::make_unique<ts_carry>();
	for (size_t i = 1; i < elems.size(); i++)
		c->values.push_back(elems[i]);
	/* A clone: a later in-place op in the model must not change the captured activation. */
	const at::Tensor &img = x->t;
	at::Tensor a_bchw = to_bchw(s, raw, s->layout, img.dim() == 4 ? img.size(2) : 0,
				    img.dim() == 4 ? img.size(3) : 0, &c->prefix);
	/* a copy either way: the float32 conversion of a bf16/fp16 A, or a clone */
	*a = wrap(low_precision(a_bchw) ? a_bchw.to(at::kFloat) : a_bchw.clone());
	*carry = c.release();
	return 0;
	TS_CATCH(-1)
}

/*
 * Whether the nodes of g (and of the methods and functions it calls, and of its blocks) only pool, reshape
 * and apply a linear map, as a global-average-pooling + linear head does: the condition of CAM. Control
 * flow and checks (dropout's argument checks) are allowed; any arithmetic that is not linear is not.
 */
static bool linear_head_nodes(torch::jit::Block *b, int depth)
{
	static const char *const ok[] = {
		"adaptive_avg_pool2d",
		"avg_pool2d",
		"mean",
		"flatten",
		"view",
		"reshape",
		"squeeze",
		"unsqueeze",
		"linear",
		"addmm",
		"matmul",
		"mm",
		"t",
		"dropout",
		"feature_dropout",
		"size",
		"len",
		"dim",
		"__getitem__",
		"permute",
		"transpose",
		"contiguous",
		"to",
		"detach",
		"Int",
		"Float",
		"eq",
		"ne",
		"lt",
		"gt",
		"le",
		"ge",
		"__or__",
		"__and__",
		"__not__",
		"__is__",
		"__isnot__",
		"format",
		"str",
		"warn",
		"list",
		"numel",
		"item",
	};
	if (depth > 8)
		return false;
	for (Node *n : b->nodes()) {
		auto kind = n->kind();
		if (kind == c10::prim::Constant || kind == c10::prim::GetAttr ||
		    kind == c10::prim::ListConstruct || kind == c10::prim::TupleConstruct ||
		    kind == c10::prim::TupleUnpack || kind == c10::prim::ListUnpack ||
		    kind == c10::prim::NumToTensor || kind == c10::prim::RaiseException ||
		    kind == c10::prim::Uninitialized || kind == c10::prim::unchecked_cast ||
		    kind == c10::prim::TupleIndex)
			continue;
		if (kind == c10::prim::If || kind == c10::prim::Loop) {
			for (auto *sub : n->blocks())
				if (!linear_head_nodes(sub, depth + 1))
					return false;
			continue;
		}
		if (kind == c10::prim::CallMethod || kind == c10::prim::CallFunction) {
			size_t shift;
			auto graph = callee_graph(n, &shift);
			if (!graph || !linear_head_nodes(graph->block(), depth + 1))
				return false;
			continue;
		}
		bool found = false;
		if (kind.is_aten())
			for (const char *name : ok)
				found |= !strcmp(kind.toUnqualString(), name);
		if (!found)
			return false;
	}
	return true;
}

int ts_split_linear_head(const ts_split *s)
{
	if (!s || !s->suffix)
		return 0;
	TS_TRY
	return linear_head_nodes(s->suffix->graph()->block(), 0) ? 1 : 0;
	TS_CATCH(0)
}

/*
 * The suffix on a; with live, *live receives A as the suffix left it when the model changed it in place
 * (VGG's ReLU(inplace=True) after features.28), else NULL: the paper's ShapleyCAM held this tensor.
 */
static ts_tensor *suffix_run(ts_split *s, const ts_carry *carry, const ts_tensor *a, const ts_tensor *prefix,
			     ts_tensor **live)
{
	if (live)
		*live = nullptr;
	if (!a || !carry)
		return nullptr;
	TS_TRY
	torch::jit::Stack stack{s->m->mod._ivalue()};
	for (size_t i = 0; i < carry->values.size(); i++) {
		const c10::IValue &v = carry->values[i];
		stack.push_back(s->carry_mutated[i] && v.isTensor() ? c10::IValue(v.toTensor().clone()) : v);
	}
	at::Tensor in = from_bchw(a->t, s->layout, prefix ? prefix->t : carry->prefix);
	/* An in-place op on a leaf that requires grad is an autograd error; on a copy it is fine. */
	if (s->a_mutated || in.is_leaf() || live)
		in = in.clone();
	auto version = in._version();
	stack.push_back(in);
	{
		autocast_scope ac(s->m);
		s->suffix->run(stack);
	}
	ts_tensor *logits = wrap(logits_of(s->m, stack.back(), a->t.size(0)));
	if (live && in._version() != version) {
		at::Tensor after = to_bchw(s, in.detach(), s->layout, 0, 0, nullptr);
		*live = wrap(low_precision(after) ? after.to(at::kFloat) : after.clone());
	}
	return logits;
	TS_CATCH(nullptr)
}

ts_tensor *ts_split_suffix(ts_split *s, const ts_carry *carry, const ts_tensor *a)
{
	return suffix_run(s, carry, a, nullptr, nullptr);
}

ts_tensor *ts_split_suffix_live(ts_split *s, const ts_carry *carry, const ts_tensor *a, ts_tensor **live)
{
	return suffix_run(s, carry, a, nullptr, live);
}

ts_tensor *ts_split_suffix_tokens(ts_split *s, const ts_carry *carry, const ts_tensor *a, const ts_tensor *prefix)
{
	if (!prefix)
		return nullptr;
	return suffix_run(s, carry, a, prefix, nullptr);
}

int ts_carry_prefix(const ts_carry *c, ts_tensor **prefix)
{
	*prefix = nullptr;
	if (!c)
		return -1;
	TS_TRY
	if (c->prefix.defined())
		*prefix = wrap(c->prefix);
	return 0;
	TS_CATCH(-1)
}

ts_carry *ts_carry_repeat_interleave(const ts_carry *c, int64_t n)
{
	if (!c)
		return nullptr;
	TS_TRY
	auto r = std::make_unique<ts_carry>();
	for (const auto &v : c->values) {
		if (v.isTensor() && v.toTensor().dim() > 0)
			r->values.push_back(v.toTensor().repeat_interleave(n, 0));
		else
			r->values.push_back(v);
	}
	if (c->prefix.defined())
		r->prefix = c->prefix.repeat_interleave(n, 0);
	return r.release();
	TS_CATCH(nullptr)
}

void ts_carry_free(ts_carry *c)
{
	delete c;
}

ts_chain *ts_chain_new(ts_split *const *splits, int n)
{
	TS_TRY
	if (n < 2)
		throw std::runtime_error("a chain needs two layers or more");
	ts_module *m = splits[0]->m;
	for (int i = 1; i < n; i++)
		if (splits[i]->m != m)
			throw std::runtime_error("the layers of a chain belong to one module");
	auto &fwd = torch::jit::toGraphFunction(m->mod.get_method("forward").function());
	std::shared_ptr<Graph> g = fwd.graph()->copy();
	if (g->inputs().size() != 2)
		throw std::runtime_error("the model's forward takes " + std::to_string(g->inputs().size() - 1) +
					 " arguments; camlab needs forward(image)");
	Value *self = g->inputs()[0];
	for (int i = 0; i < n; i++)
		layer_call(*g, self, splits[i]->layer, true);
	/* found again: inlining for a later layer may have replaced an earlier one's call (one inside another) */
	std::vector<Node *> calls(n);
	for (int i = 0; i < n; i++) {
		std::vector<Node *> found;
		find_calls(g->block(), self, splits[i]->layer, found);
		if (found.size() != 1 || found[0]->owningBlock() != g->block() || found[0]->outputs().size() != 1)
			throw std::runtime_error("layer '" + splits[i]->layer +
						 "' is not one call beside the chain's other layers");
		calls[i] = found[0];
	}
	std::map<Node *, size_t> pos;
	size_t p = 0;
	for (Node *nd : g->block()->nodes())
		pos[nd] = p++;
	std::vector<int> order(n);
	for (int i = 0; i < n; i++)
		order[i] = i;
	std::sort(order.begin(), order.end(), [&](int x, int y) { return pos.at(calls[x]) < pos.at(calls[y]); });
	for (int k = 1; k < n; k++)
		if (calls[order[k]] == calls[order[k - 1]])
			throw std::runtime_error("layer '" + splits[order[k]]->layer + "' is in the chain twice");

	auto c = std::make_unique<ts_chain>();
	c->m = m;
	c->stages.resize(n);
	c->carry_mutated.resize(n);
	c->a_mutated.resize(n);
	/* every graph is made before any split changes, so that a failure leaves them as they were */
	std::vector<std::vector<Value *>> needed(n);
	std::vector<std::unique_ptr<ts_split>> cut(n);
	for (int k = 0; k < n; k++) {
		Node *call = calls[order[k]];
		needed[k] = carried_values(*g, call, call->output(), self);
		cut[k] = std::make_unique<ts_split>();
		cut[k]->prefix = std::make_unique<torch::jit::GraphFunction>(
			"camlab_prefix", prefix_graph(*g, call, call->output(), self, needed[k]), nullptr);
		cut[k]->suffix = std::make_unique<torch::jit::GraphFunction>(
			"camlab_suffix", suffix_graph(cut[k].get(), *g, call, call->output(), self, needed[k]),
			nullptr);
		if (k)
			c->stages[k] = std::make_unique<torch::jit::GraphFunction>(
				"camlab_stage",
				stage_graph(c.get(), (size_t)k, *g, self, calls[order[k - 1]], needed[k - 1], call,
					    needed[k]),
				nullptr);
	}
	for (int k = 0; k < n; k++) {
		ts_split *s = splits[order[k]];
		s->prefix = std::move(cut[k]->prefix);
		s->suffix = std::move(cut[k]->suffix);
		s->carry_mutated = cut[k]->carry_mutated;
		s->a_mutated = cut[k]->a_mutated;
		s->nr_carry = needed[k].size();
		c->splits.push_back(s);
		c->index.push_back(order[k]);
	}
	return c.release();
	TS_CATCH(nullptr)
}

void ts_chain_free(ts_chain *c)
{
	delete c;
}

int ts_chain_forward(ts_chain *c, const ts_tensor *x, ts_tensor **a, ts_carry **carry, ts_tensor **tap,
		     ts_tensor **logits)
{
	size_t n = c ? c->splits.size() : 0;
	for (size_t i = 0; i < n; i++)
		a[i] = tap[i] = nullptr, carry[i] = nullptr;
	*logits = nullptr;
	if (!c || !x)
		return -1;
	TS_TRY
	ts_module *m = c->m;
	const at::Tensor &img = x->t;
	int64_t in_h = img.dim() == 4 ? img.size(2) : 0, in_w = img.dim() == 4 ? img.size(3) : 0;
	std::vector<at::Tensor> A(n), T(n);
	std::vector<std::unique_ptr<ts_carry>> C(n);
	std::vector<c10::IValue> elems;
	at::Tensor out;
	{
		/* as ts_split_prefix: nothing below the first layer is differentiated */
		torch::NoGradGuard no_grad;
		torch::jit::Stack stack{m->mod._ivalue(), module_input(m, img)};
		autocast_scope ac(m);
		c->splits[0]->prefix->run(stack);
		elems = stack.back().toTupleRef().elements().vec();
	}
	for (size_t k = 0; k < n; k++) {
		ts_split *s = c->splits[k];
		if (!elems[0].isTensor())
			throw std::runtime_error("the output of layer '" + s->layer + "' is not a tensor");
		at::Tensor raw = elems[0].toTensor();
		std::vector<c10::IValue> needed(elems.begin() + 1, elems.end());
		s->layout = resolve_layout(raw, s->layout);
		C[k] = std::make_unique<ts_carry>();
		at::Tensor t = to_bchw(s, raw, s->layout, in_h, in_w, &C[k]->prefix);
		/* the prefix tokens with their history: the layers below get gradients through them too */
		at::Tensor tokens = C[k]->prefix.defined() ? raw.narrow(1, 0, s->seen_prefix) : at::Tensor();
		if (low_precision(t))
			t = t.to(at::kFloat);
		if (!k && at::GradMode::is_enabled())
			t = t.detach().requires_grad_(true);
		A[k] = t.detach().clone();
		T[k] = t;
		for (const c10::IValue &v : needed)
			C[k]->values.push_back(detached(v));
		torch::jit::Stack stack{m->mod._ivalue()};
		if (k + 1 < n) {
			stage_inputs(stack, needed, c->carry_mutated[k + 1], from_bchw(t, s->layout, tokens),
				     c->a_mutated[k + 1]);
			autocast_scope ac(m);
			c->stages[k + 1]->run(stack);
			elems = stack.back().toTupleRef().elements().vec();
		} else {
			stage_inputs(stack, needed, s->carry_mutated, from_bchw(t, s->layout, tokens), s->a_mutated);
			{
				autocast_scope ac(m);
				s->suffix->run(stack);
			}
			out = logits_of(m, stack.back(), img.size(0));
		}
	}
	for (size_t k = 0; k < n; k++) {
		int i = c->index[k];
		a[i] = wrap(A[k]);
		tap[i] = wrap(T[k]);
		carry[i] = C[k].release();
	}
	*logits = wrap(out);
	return 0;
	TS_CATCH(-1)
}

static int grads_of(const ts_tensor *output, ts_tensor *const *inputs, int n, bool keep, bool create_graph,
		    ts_tensor **grads)
{
	for (int i = 0; i < n; i++)
		grads[i] = nullptr;
	if (!output)
		return -1;
	TS_TRY
	std::vector<at::Tensor> in;
	for (int i = 0; i < n; i++) {
		if (!inputs[i])
			return -1;
		in.push_back(inputs[i]->t);
	}
	/* kept graphs are ts_grad's: an output that depends on nothing that requires grad has zero gradients */
	std::vector<at::Tensor> g(n);
	if (!keep || output->t.requires_grad())
		g = torch::autograd::grad({output->t}, in, {}, keep, create_graph, /*allow_unused*/ true);
	for (int i = 0; i < n; i++)
		grads[i] = wrap(g[i].defined() ? g[i] : torch::zeros_like(in[i]));
	return 0;
	TS_CATCH(-1)
}

ts_tensor *ts_grad_sum(ts_tensor *const *outputs, ts_tensor *const *grad_outputs, int n, const ts_tensor *input)
{
	if (!input)
		return nullptr;
	TS_TRY
	std::vector<at::Tensor> out, go;
	for (int i = 0; i < n; i++) {
		if (!outputs[i] || !grad_outputs[i])
			return nullptr;
		/* as ts_grad: an output that depends on nothing that requires grad adds nothing */
		if (outputs[i]->t.requires_grad()) {
			out.push_back(outputs[i]->t);
			go.push_back(grad_outputs[i]->t);
		}
	}
	if (out.empty())
		return wrap(torch::zeros_like(input->t));
	auto g = torch::autograd::grad(out, {input->t}, go, /*retain_graph*/ true, /*create_graph*/ false,
				       /*allow_unused*/ true);
	return wrap(g[0].defined() ? g[0] : torch::zeros_like(input->t));
	TS_CATCH(nullptr)
}

int ts_grads(const ts_tensor *output, ts_tensor *const *inputs, int n, ts_tensor **grads)
{
	return grads_of(output, inputs, n, false, false, grads);
}

int ts_grads_keep(const ts_tensor *output, ts_tensor *const *inputs, int n, int create_graph,
		  ts_tensor **grads)
{
	return grads_of(output, inputs, n, true, create_graph != 0, grads);
}

} /* extern "C" */

/* ---- tapping the outputs of every module of some classes ---- */

struct ts_taps {
	ts_module *m;
	std::unique_ptr<torch::jit::GraphFunction> fn;
	std::vector<std::string> paths, types;
	std::vector<double> eps;
};

/*
 * The eps of the batch norm that module call n applies: a traced BatchNorm2d has it as a constant of its
 * graph's aten::batch_norm, a scripted one as a constant of its class. NaN when neither holds.
 */
static double batch_norm_eps(Node *n)
{
	auto cls = n->input(0)->type()->expect<c10::ClassType>();
	auto *fn = cls->findMethod("forward");
	if (fn && fn->isGraphFunction())
		for (Node *k : torch::jit::toGraphFunction(*fn).graph()->nodes())
			if (k->kind() == c10::aten::batch_norm && k->inputs().size() > 7)
				if (auto v = torch::jit::toIValue(k->input(7)))
					if (v->isDouble())
						return v->toDouble();
	if (cls->hasConstant("eps") && cls->getConstant("eps").isDouble())
		return cls->getConstant("eps").toDouble();
	return NAN;
}

static bool is_tap(Node *n, const std::set<std::string> &types)
{
	if (n->kind() != c10::prim::CallMethod || n->s(c10::attr::name) != "forward")
		return false;
	auto cls = n->input(0)->type()->cast<c10::ClassType>();
	return cls && cls->name() && types.count(cls->name()->name());
}

/* The first method call in b (or its blocks) that is not a tap and can be inlined, or nullptr. */
static Node *untapped_call(Block *b, const std::set<std::string> &types)
{
	for (Node *n : b->nodes()) {
		if (n->kind() == c10::prim::CallMethod && !is_tap(n, types)) {
			auto cls = n->input(0)->type()->cast<c10::ClassType>();
			auto *fn = cls ? cls->findMethod(n->s(c10::attr::name)) : nullptr;
			if (fn && fn->isGraphFunction())
				return n;
		}
		for (Block *sub : n->blocks())
			if (Node *c = untapped_call(sub, types))
				return c;
	}
	return nullptr;
}

static void find_taps(Block *b, const std::set<std::string> &types, std::vector<Node *> &out)
{
	for (Node *n : b->nodes()) {
		if (is_tap(n, types))
			out.push_back(n);
		for (Block *sub : n->blocks())
			find_taps(sub, types, out);
	}
}

/*
 * The forward graph with every call of a module of the tapped classes kept as one node and all other
 * module calls inlined around it, so that each tapped module's output is a value of the top-level graph
 * (the same graph surgery as ts_split_new's). Each output is returned after the logits, and the rest of
 * the graph reads a clone of it: an in-place op of the model (a ReLU(inplace=True) after a BatchNorm)
 * then changes the clone, and the gradient with respect to the returned value is the one with respect
 * to the module's output as it was, as a hook on that output sees it.
 */
static ts_taps *taps_build(ts_module *m, const std::string &type_list)
{
	std::set<std::string> types;
	std::stringstream ss(type_list);
	for (std::string t; std::getline(ss, t, ',');)
		if (!t.empty())
			types.insert(t);
	auto &fwd = torch::jit::toGraphFunction(m->mod.get_method("forward").function());
	std::shared_ptr<Graph> g = fwd.graph()->copy();
	if (g->inputs().size() != 2 || g->outputs().size() != 1)
		throw std::runtime_error("camlab needs forward(image) with one output");
	Value *self = g->inputs()[0];
	while (Node *call = untapped_call(g->block(), types)) {
		auto cls = call->input(0)->type()->expect<c10::ClassType>();
		torch::jit::inlineCallTo(call, &torch::jit::toGraphFunction(cls->getMethod(call->s(c10::attr::name))));
	}
	std::vector<Node *> taps;
	find_taps(g->block(), types, taps);
	auto t = std::make_unique<ts_taps>();
	t->m = m;
	Value *none;
	{
		torch::jit::WithInsertPoint ip(g->block()->nodes().front());
		none = g->insertConstant(c10::IValue());
	}
	std::vector<Value *> outs{g->outputs()[0]};
	for (Node *n : taps) {
		std::string path = module_path_of(n->input(0), self);
		if (n->owningBlock() != g->block())
			throw std::runtime_error("module '" + path + "' is called inside control flow (an if or a "
						 "loop); camlab cannot take its output there");
		Value *o = n->output();
		Node *c = g->create(c10::aten::clone, {o, none});
		c->output()->setType(o->type());
		c->insertAfter(n);
		o->replaceAllUsesAfterNodeWith(c, c->output());
		outs.push_back(o);
		t->paths.push_back(path);
		t->types.push_back(n->input(0)->type()->expect<c10::ClassType>()->name()->name());
		t->eps.push_back(batch_norm_eps(n));
	}
	Node *tup = g->createTuple(outs);
	tup->insertBefore(g->return_node());
	g->eraseOutput(0);
	g->registerOutput(tup->output());
	t->fn = std::make_unique<torch::jit::GraphFunction>("camlab_taps", g, nullptr);
	return t.release();
}

extern "C" {

ts_taps *ts_module_taps(ts_module *m, const char *types)
{
	TS_TRY
	if (!m->taps || m->taps_types != types) {
		m->taps.reset(taps_build(m, types));
		m->taps_types = types;
	}
	return m->taps.get();
	TS_CATCH(nullptr)
}

int ts_taps_count(const ts_taps *t)
{
	return (int)t->paths.size();
}

const char *ts_taps_path(const ts_taps *t, int i)
{
	return t->paths.at((size_t)i).c_str();
}

const char *ts_taps_type(const ts_taps *t, int i)
{
	return t->types.at((size_t)i).c_str();
}

double ts_taps_eps(const ts_taps *t, int i)
{
	return t->eps.at((size_t)i);
}

ts_tensor *ts_taps_forward(ts_taps *t, const ts_tensor *x, ts_tensor **outs)
{
	size_t n = t->paths.size();
	for (size_t i = 0; i < n; i++)
		outs[i] = nullptr;
	if (!x)
		return nullptr;
	TS_TRY
	torch::jit::Stack stack{t->m->mod._ivalue(), module_input(t->m, x->t)};
	{
		autocast_scope ac(t->m);
		t->fn->run(stack);
	}
	auto elems = stack.back().toTupleRef().elements();
	at::Tensor logits = logits_of(t->m, elems[0], x->t.size(0));
	for (size_t i = 0; i < n; i++) {
		if (!elems[i + 1].isTensor())
			throw std::runtime_error("module '" + t->paths[i] + "' returned no tensor");
		outs[i] = wrap(elems[i + 1].toTensor());
	}
	return wrap(logits);
	TS_CATCH(nullptr)
}

} /* extern "C" */
