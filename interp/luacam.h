/*
 * luacam.h - running an experiment's Lua definitions (methods, utilities, metrics) on the device: a sandboxed Lua
 * state whose tensors are libtorch tensors, so user code is a few tensor operations like the built-in
 * methods, not a loop over pixels.
 *
 * In Lua a tensor supports + - * / ^ and unary minus (with tensors or numbers) and the methods
 * t:sum(dims [, keepdim]), t:mean(...), t:amax(...), t:amin(...), t:size(d), t:dim(), t:pow(s), t:gt(s),
 * t:eq(s), t:clamp(lo, hi); the functions relu, abs, exp, log, sqrt, softmax(t, d), log_softmax(t, d),
 * gather(t, d, index), where(cond, a, b), zeros_like(t). Dimensions count from 1 (2 is the channel of
 * A); dims may be a number or a list such as {3, 4}.
 *
 * Each call of a definition runs in a fresh sandboxed state built from that definition's source alone
 * (dsl/sandbox.h): definitions cannot see or change one another, nor keep state from call to call, so a
 * call's result depends only on the source (which the run key holds) and the tensors it is given. A call
 * has an instruction budget, a memory cap and a wall-clock limit (CAMLAB_LUA_SECONDS, default 60 s).
 */
#ifndef INTERP_LUACAM_H
#define INTERP_LUACAM_H

#include "cam/torch_shim.h"
#include "dsl/diag.h"
#include "dsl/experiment.h"

struct luacam;

/*
 * Load every definition of e once, to report problems (syntax, not a function, a limit passed) to d.
 * e must outlive the result.
 */
struct luacam *luacam_new(const struct experiment *e, struct diag *d);
void luacam_free(struct luacam *lc);
/* Why the definition of name did not load (as reported to luacam_new's d), or NULL. Owned by lc. */
const char *luacam_load_error(const struct luacam *lc, const char *name);

/* Is name a method (or utility) defined by the experiment? */
int luacam_has_method(const struct luacam *lc, const char *name);
int luacam_has_utility(const struct luacam *lc, const char *name);

/*
 * The map S (B, h, w) of the user method name from A, G and HA (all (B, C, h, w)); NULL with an error
 * naming the method and the Lua message on failure, or when the result has the wrong shape.
 */
ts_tensor *luacam_method(struct luacam *lc, const char *name, const ts_tensor *a, const ts_tensor *g,
			 const ts_tensor *ha);

int luacam_has_metric(const struct luacam *lc, const char *name);

/*
 * A user metric: one value per image (B) from the heatmaps H (B, H, W) and the probabilities of the
 * target class y = p_c(x), o = p_c(x * H), d = p_c(x * (1 - H)), each (B). NULL with an error on failure.
 */
ts_tensor *luacam_metric(struct luacam *lc, const char *name, const ts_tensor *heat, const ts_tensor *y,
			 const ts_tensor *o, const ts_tensor *d);

/* U (B, 1) of the user utility name from the logits (B, K) and the target classes (B, 1) int64. */
ts_tensor *luacam_utility(struct luacam *lc, const char *name, const ts_tensor *logits, const ts_tensor *target);

#endif
