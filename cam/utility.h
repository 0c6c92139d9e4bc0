/*
 * utility.h - the utilities U of the logits that a CAM explains (SCIENCE.md "Utilities"), and the
 * target-class policies that pick the class c for each image.
 */
#ifndef CAM_UTILITY_H
#define CAM_UTILITY_H

#include "cam/torch_shim.h"

enum utility {
	UTILITY_LOGIT,	    /* y_c, pre-softmax */
	UTILITY_SOFTMAX,    /* p_c, post-softmax */
	UTILITY_LOGSOFTMAX, /* log p_c */
	UTILITY_REST,	    /* y_c + log p_c */
	UTILITY_FINER,	    /* FinerCAM's: y_c - y_j of the 3 classes nearest y_c, weighed by p_j */
	UTILITY_NR
};

extern const char *const utility_names[UTILITY_NR];

/* A utility defined outside camlab's list (in Lua): U (B, 1) from the logits and the target classes. */
struct utility_hook {
	ts_tensor *(*fn)(void *ud, const ts_tensor *logits, const ts_tensor *target);
	void *ud;
};

/*
 * A utility's parameters from the spec (cam/params.h's table): FinerCAM's, as pytorch-grad-cam's
 * FinerCAM.forward has them (alpha = 1, comparison_categories = [1, 2, 3]).
 */
#define UTILITY_MAX_RANKS 32
struct utility_params {
	double alpha;	 /* finer: y_c - alpha y_j */
	size_t nr_ranks; /* finer: the classes compared with c, by rank of |y - y_c| (c itself is 0) */
	int ranks[UTILITY_MAX_RANKS];
};
#define UTILITY_PARAMS_INIT { 1.0, 3, { 1, 2, 3 } }

/* Parse a utility name (case-insensitive, '_' for '-'); -1 with an error with a suggestion if unknown. */
int utility_parse(const char *name);

/*
 * U for each image: logits (B, K), target (B, 1) int64 class indices; returns (B, 1), differentiable
 * when the logits are. Caller owns the result.
 */
ts_tensor *utility_eval(enum utility u, const ts_tensor *logits, const ts_tensor *target);
/* The same with the utility's parameters (borrowed; NULL: the defaults). */
ts_tensor *utility_eval_params(enum utility u, const struct utility_params *up, const ts_tensor *logits,
			       const ts_tensor *target);
/*
 * Silent lookup of a name as utility_parse reads it: the utility, or -1 without a message (for dsl/'s
 * validation, which says itself what is wrong).
 */
int utility_lookup(const char *name);

enum target_kind {
	TARGET_PREDICTED, /* argmax of the logits (the paper's default) */
	TARGET_TRUE,	  /* the dataset's label */
	TARGET_LEAST,	  /* argmin (Fig. 1) */
	TARGET_INDEX,	  /* a fixed class */
	TARGET_TOPK	  /* the rank-th most likely class (rank counts from 1) */
};

struct target_policy {
	enum target_kind kind;
	long index; /* TARGET_INDEX: the class; TARGET_TOPK: the rank */
};

/*
 * Parse "predicted", "true", "least", a class index, a class name (looked up with lookup, which returns
 * -1 for an unknown name and -2, having said why, for one it refuses; may be NULL) or "topK" (expanded by the caller into ranks 1..K: *topk receives K,
 * and the policy is rank 1). Returns 0 or -1 with an error.
 */
int target_parse(const char *s, long (*lookup)(const char *name, void *ud), void *ud,
		 struct target_policy *out, int *topk);
/* The same for the policies alone (no class names), silent: 0, or -1 without a message. */
int target_lookup(const char *s, struct target_policy *out, int *topk);

/*
 * Pick each image's class: logits (B, K) on the device, labels (B) on the host (-1 unknown; only read for
 * TARGET_TRUE). Fills out[B] on the host and returns 0, or -1 with an error naming the image index
 * when a label is needed but unknown or out of range.
 */
int target_select(const struct target_policy *p, const ts_tensor *logits, const long *labels, long *out);
/* 0 if a model with k classes has p's class or rank, else -1 after an error giving the model's range. */
int target_fits(const struct target_policy *p, int64_t k);

#endif
