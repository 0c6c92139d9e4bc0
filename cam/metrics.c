/*
 * metrics.c - AD, IC, ADD, Complexity, Coherency and ADCC (see metrics.h), computed on the device for
 * a whole batch: two extra forwards per method (x * H with its CAM for O and Coherency, x * (1 - H) for
 * D) on top of the passes the heatmaps came from.
 */
#include "cam/metrics.h"

#include <ctype.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "lib/error.h"
#include "lib/suggest.h"
#include "lib/xalloc.h"

const char *const metric_names[METRIC_NR] = { "ad", "coh", "com", "adcc", "ic", "add" };

/* Names as the paper's tables spell them, accepted too. */
static const struct {
	const char *alias;
	enum metric m;
} metric_aliases[] = {
	{ "average-drop", METRIC_AD }, { "coherency", METRIC_COH }, { "complexity", METRIC_COM },
	{ "increase-in-confidence", METRIC_IC }, { "average-drop-in-deletion", METRIC_ADD },
};

static int metric_parse_one(const char *s, size_t len, unsigned *mask)
{
	char buf[64];
	const char *near[1];
	size_t i;

	if (!len || len >= sizeof(buf))
		return error("bad metric name '%.*s'", (int)len, s);
	for (i = 0; i < len; i++)
		buf[i] = s[i] == '_' ? '-' : (char)tolower((unsigned char)s[i]);
	buf[len] = '\0';
	if (!strcmp(buf, "all")) {
		*mask |= (1u << METRIC_NR) - 1;
		return 0;
	}
	for (i = 0; i < METRIC_NR; i++)
		if (!strcmp(buf, metric_names[i])) {
			*mask |= 1u << i;
			return 0;
		}
	for (i = 0; i < sizeof(metric_aliases) / sizeof(*metric_aliases); i++)
		if (!strcmp(buf, metric_aliases[i].alias)) {
			*mask |= 1u << metric_aliases[i].m;
			return 0;
		}
	if (suggest_nearest(buf, metric_names, METRIC_NR, near, 1))
		return error("unknown metric '%s'; did you mean '%s'?", buf, near[0]);
	return error("unknown metric '%s'; known: ad, coh, com, adcc, ic, add", buf);
}

int metrics_parse(const char *list, unsigned *mask)
{
	const char *p = list;
	int ret = 0;
	*mask = 0;
	while (1) {
		size_t len = strcspn(p, ",");
		const char *q = p;
		size_t l = len;
		while (l && isspace((unsigned char)*q))
			q++, l--;
		while (l && isspace((unsigned char)q[l - 1]))
			l--;
		if (metric_parse_one(q, l, mask) < 0)
			ret = -1;
		p += len;
		if (!*p)
			break;
		p++;
	}
	return ret;
}

/* p_c of logits (B, K) for the pass's classes, to the host. */
static int class_prob(const ts_tensor *logits, const ts_tensor *target, double *out, size_t n)
{
	ts_tensor *prob = ts_softmax(logits, 1), *pc = ts_gather(prob, 1, target);
	long got = ts_copy_f64(pc, out, n);
	ts_free(prob);
	ts_free(pc);
	return got == (long)n ? 0 : error("cannot read class probabilities: %s", ts_error());
}

/* Per-image Pearson correlation of (B, H, W) maps, to the host; NAN where a map is constant. */
static int pearson(const ts_tensor *a, const ts_tensor *b, double *out, size_t n)
{
	static const int D12[2] = { 1, 2 };
	ts_tensor *a64 = ts_to_f64(a), *b64 = ts_to_f64(b);
	ts_tensor *ma = ts_mean(a64, D12, 2, 1), *mb = ts_mean(b64, D12, 2, 1);
	ts_tensor *ca = ts_sub(a64, ma), *cb = ts_sub(b64, mb);
	ts_tensor *ab = ts_mul(ca, cb), *aa = ts_mul(ca, ca), *bb = ts_mul(cb, cb);
	ts_tensor *s[3] = { ts_sum(ab, D12, 2, 0), ts_sum(aa, D12, 2, 0), ts_sum(bb, D12, 2, 0) };
	ts_tensor *cat = ts_cat(s, 3, 0);
	double *host = xmalloc(3 * n * sizeof(double));
	long got = ts_copy_f64(cat, host, 3 * n);
	size_t i;
	int ret = 0;

	if (got != (long)(3 * n))
		ret = error("cannot compute coherency: %s", ts_error());
	for (i = 0; !ret && i < n; i++) {
		double den = sqrt(host[n + i] * host[2 * n + i]);
		out[i] = den > 0 ? host[i] / den : NAN;
	}
	free(host);
	ts_free(a64);
	ts_free(b64);
	ts_free(ma);
	ts_free(mb);
	ts_free(ca);
	ts_free(cb);
	ts_free(ab);
	ts_free(aa);
	ts_free(bb);
	for (i = 0; i < 3; i++)
		ts_free(s[i]);
	ts_free(cat);
	return ret;
}

static ts_tensor *builtin_map(const struct cam_pass *p, const struct cam_extra *extra, void *ud)
{
	const struct cam_mapper *mp = ud;
	return cam_map(mp->method, p, extra);
}

void cam_mapper_builtin(struct cam_mapper *mp, enum cam_method m)
{
	mp->passes = cam_methods_passes(1u << m);
	mp->map = builtin_map;
	mp->ud = mp;
	mp->method = m;
}

int metrics_eval(const struct cam_pass *p, const ts_tensor *x, const ts_tensor *heat,
		 const struct cam_mapper *mapper, const struct cam_extra *extra, unsigned which,
		 struct metric_row *rows)
{
	size_t n = (size_t)p->batch, i;
	ts_tensor *mask = ts_unsqueeze(heat, 1);
	ts_tensor *inv = ts_adds(ts_muls(mask, -1.0), 1.0); /* 1 - H */
	ts_tensor *xh = ts_mul(x, mask), *xinv = ts_mul(x, inv);
	double *y = xcalloc(n, sizeof(double)), *o = xcalloc(n, sizeof(double));
	double *d = xcalloc(n, sizeof(double)), *r = xcalloc(n, sizeof(double));
	int need_o = (which & ((1u << METRIC_AD) | (1u << METRIC_IC) | (1u << METRIC_ADCC))) != 0;
	int need_coh = (which & ((1u << METRIC_COH) | (1u << METRIC_ADCC))) != 0;
	int need_d = (which & (1u << METRIC_ADD)) != 0;
	int ret = 0;

	for (i = 0; i < n; i++) {
		rows[i] = (struct metric_row){ NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN };
		r[i] = NAN;
	}
	if (!xh || !xinv) {
		ret = error("cannot mask the input: %s", ts_error());
		goto out;
	}
	if (class_prob(p->logits, p->target, y, n) < 0) {
		ret = -1;
		goto out;
	}
	if (need_o || need_coh) {
		/* One pass on x * H serves O and, for Coherency, the second CAM with the same classes. */
		struct cam_pass q = CAM_PASS_INIT;
		struct target_policy same = { TARGET_TRUE, 0 };
		unsigned passes = need_coh ? mapper->passes : 0;
		if (cam_pass_run_hooked(&q, p->split, xh, p->utility, p->hook, &same, p->classes, passes) < 0) {
			ret = -1;
			goto out;
		}
		ret = class_prob(q.logits, q.target, o, n);
		if (!ret && need_coh) {
			struct cam_extra e2 = *extra;
			ts_tensor *s2, *h2;
			e2.x = xh;
			s2 = mapper->map(&q, &e2, mapper->ud);
			h2 = cam_postprocess(s2, ts_size(heat, 1), ts_size(heat, 2));
			ret = h2 ? pearson(heat, h2, r, n) : error("coherency CAM failed: %s", ts_error());
			ts_free(s2);
			ts_free(h2);
		}
		cam_pass_release(&q);
		if (ret)
			goto out;
	}
	if (need_d) {
		ts_tensor *logits = ts_module_forward(extra->model, xinv);
		ret = logits ? class_prob(logits, p->target, d, n) : error("forward on x * (1 - H) failed: %s",
									       ts_error());
		ts_free(logits);
		if (ret)
			goto out;
	}
	if (which & ((1u << METRIC_COM) | (1u << METRIC_ADCC))) {
		static const int D12[2] = { 1, 2 };
		ts_tensor *a = ts_abs(heat), *com = ts_mean(a, D12, 2, 0);
		double *c = xcalloc(n, sizeof(double));
		if (ts_copy_f64(com, c, n) != (long)n)
			ret = error("cannot compute complexity: %s", ts_error());
		for (i = 0; !ret && i < n; i++)
			rows[i].com = c[i];
		free(c);
		ts_free(a);
		ts_free(com);
		if (ret)
			goto out;
	}
	for (i = 0; i < n; i++) {
		rows[i].y = y[i];
		if (need_o) { /* O serves AD and IC: each is kept only when asked for (ADCC needs AD) */
			rows[i].o = o[i];
			if (which & ((1u << METRIC_AD) | (1u << METRIC_ADCC)))
				rows[i].ad = fmax(0.0, y[i] - o[i]) / y[i];
			if (which & (1u << METRIC_IC))
				rows[i].ic = o[i] > y[i] ? 1.0 : 0.0;
		}
		if (need_d) {
			rows[i].d = d[i];
			rows[i].add = fmax(0.0, y[i] - d[i]) / y[i];
		}
		if (need_coh)
			rows[i].coh = isfinite(r[i]) ? (r[i] + 1) / 2 : 0.0;
	}
out:
	ts_free(mask);
	ts_free(inv);
	ts_free(xh);
	ts_free(xinv);
	free(y);
	free(o);
	free(d);
	free(r);
	return ret;
}

static double mean_of(const struct metric_row *rows, size_t n, size_t offset)
{
	double s = 0;
	size_t i, k = 0;
	for (i = 0; i < n; i++) {
		double v = *(const double *)((const char *)&rows[i] + offset);
		if (isnan(v))
			return NAN;
		s += v;
		k++;
	}
	return k ? s / (double)k : NAN;
}

void metrics_summarize(const struct metric_row *rows, size_t n, struct metric_summary *out)
{
	out->n = n;
	out->ad = mean_of(rows, n, offsetof(struct metric_row, ad));
	out->coh = mean_of(rows, n, offsetof(struct metric_row, coh));
	out->com = mean_of(rows, n, offsetof(struct metric_row, com));
	out->ic = mean_of(rows, n, offsetof(struct metric_row, ic));
	out->add = mean_of(rows, n, offsetof(struct metric_row, add));
	/* ADCC of the averages, not the average of per-image ADCC (SCIENCE.md) */
	out->adcc = 3.0 / (1.0 / out->coh + 1.0 / (1.0 - out->com) + 1.0 / (1.0 - out->ad));
}
