/*
 * utility.c - utilities of the logits and target-class policies (see utility.h).
 */
#include "cam/utility.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/error.h"
#include "lib/suggest.h"
#include "lib/xalloc.h"

const char *const utility_names[UTILITY_NR] = { "logit", "softmax", "logsoftmax", "rest", "finer" };

/* Spellings the paper and other libraries use for the same utilities. */
static const struct {
	const char *alias;
	enum utility u;
} utility_aliases[] = {
	{ "pre-softmax", UTILITY_LOGIT }, { "presoftmax", UTILITY_LOGIT },
	{ "post-softmax", UTILITY_SOFTMAX }, { "postsoftmax", UTILITY_SOFTMAX },
	{ "log-softmax", UTILITY_LOGSOFTMAX }, { "logit+logsoftmax", UTILITY_REST },
	{ "finercam", UTILITY_FINER }, { "finer-cam", UTILITY_FINER },
};

int utility_lookup(const char *name)
{
	char buf[64];
	size_t i, n = strlen(name);

	if (n >= sizeof(buf))
		n = sizeof(buf) - 1;
	for (i = 0; i < n; i++)
		buf[i] = name[i] == '_' ? '-' : (char)tolower((unsigned char)name[i]);
	buf[n] = '\0';
	for (i = 0; i < UTILITY_NR; i++)
		if (!strcmp(buf, utility_names[i]))
			return (int)i;
	for (i = 0; i < sizeof(utility_aliases) / sizeof(*utility_aliases); i++)
		if (!strcmp(buf, utility_aliases[i].alias))
			return (int)utility_aliases[i].u;
	return -1;
}

int utility_parse(const char *name)
{
	char buf[64];
	size_t i, n = strlen(name);
	const char *near[1];
	int u = utility_lookup(name);

	if (u >= 0)
		return u;
	if (n >= sizeof(buf))
		n = sizeof(buf) - 1;
	for (i = 0; i < n; i++)
		buf[i] = name[i] == '_' ? '-' : (char)tolower((unsigned char)name[i]);
	buf[n] = '\0';
	if (suggest_nearest(buf, utility_names, UTILITY_NR, near, 1))
		return error("unknown utility '%s'; did you mean '%s'?", name, near[0]);
	return error("unknown utility '%s'; known: logit, softmax, logsoftmax, rest, finer", name);
}

/*
 * FinerCAM's target (pytorch-grad-cam's FinerWeightedTarget): y_c against the classes whose logits are
 * nearest to it, by default ranks 1, 2, 3 of |y - y_c| (rank 0 is c), each weighed by its softmax
 * probability: sum_j p_j (y_c - alpha y_j) / (sum_j p_j + 1e-9), alpha = 1 by default. Ranks the model
 * does not have (rank >= K) are left out, as the 3 nearest are fewer with 3 classes or less. Only the
 * ranking is detached; the probabilities are part of the gradient, as upstream's are.
 */
static ts_tensor *finer(const struct utility_params *up, const ts_tensor *logits, const ts_tensor *target)
{
	static const int CLS[1] = { 1 };
	int64_t k = ts_size(logits, 1), ranks[UTILITY_MAX_RANKS], shape[2], top = 0, nr = 0, b, i;
	ts_tensor *t[18] = { NULL }, *vals = NULL, *idx = NULL, *r = NULL;
	int64_t *cols;

	for (i = 0; i < (int64_t)up->nr_ranks; i++)
		if (up->ranks[i] >= 1 && up->ranks[i] < k) {
			ranks[nr++] = up->ranks[i];
			top = up->ranks[i] > top ? up->ranks[i] : top;
		}
	shape[0] = ts_size(logits, 0);
	shape[1] = nr;
	cols = xmalloc((size_t)(shape[0] * nr + 1) * sizeof(*cols));
	for (b = 0; b < shape[0]; b++)
		for (i = 0; i < nr; i++)
			cols[b * nr + i] = ranks[i];
	t[0] = ts_detach(logits);
	t[1] = ts_gather(t[0], 1, target);
	t[2] = ts_abs(t[3] = ts_sub(t[0], t[1]));
	t[4] = ts_muls(t[2], -1.0); /* -|y - y_c|: topk takes the nearest first, c itself at rank 0 */
	t[16] = ts_from_i64(cols, shape, 2, "cpu");
	t[17] = t[16] ? ts_to_like(t[16], target) : NULL;
	if (t[4] && t[17] && ts_topk(t[4], (int)top + 1, 1, &vals, &idx) == 0) {
		t[5] = ts_gather(idx, 1, t[17]);			 /* the ranks' classes, (B, nr) */
		t[6] = ts_softmax(logits, 1);				 /* p, with its gradient */
		t[7] = ts_gather(t[6], 1, t[5]);			 /* p_j */
		t[8] = ts_gather(logits, 1, t[5]);			 /* y_j */
		t[9] = ts_gather(logits, 1, target);			 /* y_c */
		t[10] = ts_sub(t[9], t[11] = ts_muls(t[8], up->alpha)); /* y_c - alpha y_j */
		t[12] = ts_sum(t[13] = ts_mul(t[7], t[10]), CLS, 1, 1);
		t[14] = ts_adds(t[15] = ts_sum(t[7], CLS, 1, 1), 1e-9);
		r = ts_div(t[12], t[14]);
	}
	free(cols);
	ts_free(vals);
	ts_free(idx);
	for (i = 0; i < (int64_t)(sizeof(t) / sizeof(*t)); i++)
		ts_free(t[i]);
	return r;
}

ts_tensor *utility_eval(enum utility u, const ts_tensor *logits, const ts_tensor *target)
{
	return utility_eval_params(u, NULL, logits, target);
}

ts_tensor *utility_eval_params(enum utility u, const struct utility_params *up, const ts_tensor *logits,
			       const ts_tensor *target)
{
	static const struct utility_params defaults = UTILITY_PARAMS_INIT;
	ts_tensor *t1, *t2, *r;

	switch (u) {
	case UTILITY_LOGIT:
		return ts_gather(logits, 1, target);
	case UTILITY_SOFTMAX:
		t1 = ts_softmax(logits, 1);
		r = ts_gather(t1, 1, target);
		ts_free(t1);
		return r;
	case UTILITY_LOGSOFTMAX:
		t1 = ts_log_softmax(logits, 1);
		r = ts_gather(t1, 1, target);
		ts_free(t1);
		return r;
	case UTILITY_REST:
		t1 = ts_log_softmax(logits, 1);
		t2 = ts_add(logits, t1);
		r = ts_gather(t2, 1, target);
		ts_free(t1);
		ts_free(t2);
		return r;
	case UTILITY_FINER:
		return finer(up ? up : &defaults, logits, target);
	case UTILITY_NR:
		break;
	}
	BUG("bad utility %d", (int)u);
}

/* target_parse, silent when quiet (then -1 says only that s is no target it knows) */
static int parse_target(const char *s, long (*lookup)(const char *name, void *ud), void *ud,
			struct target_policy *out, int *topk, int quiet)
{
	char *end;
	long v;

	*topk = 0;
	out->index = 0;
	if (!strcasecmp(s, "predicted") || !strcasecmp(s, "pred")) {
		out->kind = TARGET_PREDICTED;
		return 0;
	}
	if (!strcasecmp(s, "true") || !strcasecmp(s, "label")) {
		out->kind = TARGET_TRUE;
		return 0;
	}
	if (!strcasecmp(s, "least")) {
		out->kind = TARGET_LEAST;
		return 0;
	}
	if (!strncasecmp(s, "top", 3) && isdigit((unsigned char)s[3])) {
		v = strtol(s + 3, &end, 10);
		if (*end || v < 1 || v > 1000)
			return quiet ? -1 : error("bad target '%s': top<k> needs 1 <= k <= 1000", s);
		out->kind = TARGET_TOPK;
		out->index = 1;
		*topk = (int)v;
		return 0;
	}
	v = strtol(s, &end, 10);
	if (*s && !*end) {
		if (v < 0)
			return quiet ? -1 : error("bad target '%s': a class index is >= 0", s);
		out->kind = TARGET_INDEX;
		out->index = v;
		return 0;
	}
	if (lookup) {
		long cls = lookup(s, ud);
		if (cls == -2) /* a name several classes share: lookup said so */
			return -1;
		if (cls >= 0) {
			out->kind = TARGET_INDEX;
			out->index = cls;
			return 0;
		}
	}
	return quiet ? -1 : error("unknown target '%s': use predicted, true, least, top<k>, a class index or a "
		     "class name of the model",
		     s);
}

int target_parse(const char *s, long (*lookup)(const char *name, void *ud), void *ud,
		 struct target_policy *out, int *topk)
{
	return parse_target(s, lookup, ud, out, topk, 0);
}

int target_lookup(const char *s, struct target_policy *out, int *topk)
{
	return parse_target(s, NULL, NULL, out, topk, 1);
}

int target_fits(const struct target_policy *p, int64_t k)
{
	if (p->kind == TARGET_INDEX && p->index >= k)
		return error("target class %ld is out of range: the model has %ld classes (0 to %ld)",
			     p->index, (long)k, (long)k - 1);
	if (p->kind == TARGET_TOPK && p->index > k)
		return error("target top%ld asked for, but the model has %ld classes", p->index, (long)k);
	return 0;
}

int target_select(const struct target_policy *p, const ts_tensor *logits, const long *labels, long *out)
{
	int64_t b, nb = ts_size(logits, 0), k = ts_size(logits, 1);
	int64_t *idx;
	ts_tensor *t = NULL, *vals = NULL;
	int ret = 0;

	if (target_fits(p, k) < 0)
		return -1;
	idx = xmalloc((size_t)nb * sizeof(*idx));
	switch (p->kind) {
	case TARGET_PREDICTED:
		t = ts_argmax(logits, 1);
		break;
	case TARGET_LEAST:
		t = ts_argmin(logits, 1);
		break;
	case TARGET_TOPK:
		if (ts_topk(logits, (int)p->index, 1, &vals, &t) == 0) {
			ts_tensor *col = ts_narrow(t, 1, p->index - 1, 1);
			ts_free(t);
			ts_free(vals);
			t = col;
		}
		break;
	case TARGET_TRUE:
	case TARGET_INDEX:
		break;
	}
	if (t) {
		if (ts_copy_i64(t, idx, (size_t)nb) != nb)
			ret = error("cannot read the target classes: %s", ts_error());
		ts_free(t);
	} else if (p->kind == TARGET_PREDICTED || p->kind == TARGET_LEAST || p->kind == TARGET_TOPK) {
		ret = error("cannot select the target classes: %s", ts_error());
	}
	for (b = 0; b < nb && !ret; b++) {
		if (p->kind == TARGET_TRUE)
			out[b] = labels ? labels[b] : -1;
		else if (p->kind == TARGET_INDEX)
			out[b] = p->index;
		else
			out[b] = (long)idx[b];
		if (p->kind == TARGET_TRUE && out[b] < 0)
			ret = error("image %ld has no label (target 'true')", (long)b);
		else if (p->kind == TARGET_TRUE && out[b] >= k)
			ret = error(
				"image %ld's label %ld is out of range: the model has %ld classes (0 to %ld)",
				(long)b, out[b], (long)k, (long)k - 1);
		else if (out[b] < 0 || out[b] >= k)
			ret = error("target class %ld is out of range: the model has %ld classes (0 to %ld)",
				    out[b], (long)k, (long)k - 1);
	}
	free(idx);
	return ret;
}
