/*
 * test_params.c - cam/params.c's table against the C defaults the computing code uses (each typed
 * struct's INIT), the parsing of values into canonical text and typed fields, and cam/'s silent lookups.
 */
#include <math.h>
#include <string.h>

#include "cam/methods.h"
#include "cam/metrics.h"
#include "cam/params.h"
#include "cam/utility.h"
#include "lib/strbuf.h"
#include "tests/tap.h"

/* value's canonical text for parameter name of owner, or "ERR: why" */
static const char *canon(enum param_kind kind, int owner, const char *name, const char *value)
{
	static struct strbuf out = STRBUF_INIT;
	struct strbuf err = STRBUF_INIT;
	const struct param_info *p = params_find(kind, owner, name);

	strbuf_reset(&out);
	if (!p)
		strbuf_addstr(&out, "ERR: no such parameter");
	else if (params_parse(p, value, NULL, &out, &err) < 0) {
		strbuf_reset(&out);
		strbuf_addf(&out, "ERR: %s", err.buf);
	}
	strbuf_release(&err);
	return out.buf;
}

static void check(enum param_kind kind, int owner, const char *name, const char *value, const char *want)
{
	const char *got = canon(kind, owner, name, value);
	ok(!strcmp(got, want), "%s = '%s' reads as '%s' (got '%s')", name, value, want, got);
}

int main(void)
{
	const struct cam_method_params minit = CAM_METHOD_PARAMS_INIT;
	const struct utility_params uinit = UTILITY_PARAMS_INIT;
	struct cam_method_params mp;
	struct utility_params up;
	struct metric_params a, b;
	struct target_policy tp;
	size_t i;
	int topk, m;

	/* the table's defaults are the C defaults */
	memset(&mp, 0xff, sizeof(mp));
	mp.gamma = minit.gamma; /* computed: the table has no default for it */
	params_defaults(PARAM_METHOD, CAM_KPCACAM, &mp);
	params_defaults(PARAM_METHOD, CAM_FEM, &mp);
	ok(mp.aug_smooth == minit.aug_smooth && mp.eigen_smooth == minit.eigen_smooth &&
		   mp.kernel == minit.kernel && mp.k == minit.k,
	   "method parameters: table defaults = CAM_METHOD_PARAMS_INIT");
	memset(&up, 0, sizeof(up));
	params_defaults(PARAM_UTILITY, UTILITY_FINER, &up);
	ok(!memcmp(&up, &uinit, sizeof(up)), "utility parameters: table defaults = UTILITY_PARAMS_INIT");
	metric_params_init(&a);
	memset(&b, 0, sizeof(b));
	for (m = 0; m < METRIC_NR_ALL; m++)
		params_defaults(PARAM_METRIC, m, &b);
	ok(!memcmp(&a, &b, sizeof(a)), "metric parameters: table defaults = metric_params_init");

	/* every entry's default parses to itself */
	for (i = 0; i < param_table_size; i++) {
		const struct param_info *p = &param_table[i];
		int owner = p->owner == PARAM_EVERY ? 0 : p->owner;
		if (p->def)
			ok(!strcmp(canon(p->kind, owner, p->name, p->def), p->def) &&
				   params_is_default(p, canon(p->kind, owner, p->name, p->def)),
			   "default of %s is canonical", p->name);
	}

	/* canonical text: shortest numbers, lists joined by ',', booleans and choices spelt one way */
	check(PARAM_METHOD, CAM_KPCACAM, "gamma", "0.50", "0.5");
	check(PARAM_METHOD, CAM_KPCACAM, "gamma", "1e-3", "0.001");
	check(PARAM_METHOD, CAM_KPCACAM, "gamma", "0", "ERR: expected a number in (0, inf), not '0'");
	check(PARAM_METHOD, CAM_KPCACAM, "kernel", "RBF", "rbf");
	check(PARAM_METHOD, CAM_KPCACAM, "kernel", "rfb", "ERR: unknown kernel 'rfb'; did you mean 'rbf'?");
	check(PARAM_METHOD, CAM_GRADCAM, "eigen_smooth", "yes", "true");
	check(PARAM_METHOD, CAM_GRADCAM, "aug_smooth", "2", "ERR: expected true or false, not '2'");
	check(PARAM_METHOD, CAM_GRADCAM, "kernel", "rbf", "ERR: no such parameter");
	check(PARAM_METHOD, CAM_FEM, "k", "1.0", "1");
	check(PARAM_METHOD, CAM_FEM, "k", "nan", "ERR: expected a number in [-1000000, 1000000], not 'nan'");
	check(PARAM_UTILITY, UTILITY_FINER, "ranks", "1, 2,5", "1,2,5");
	check(PARAM_UTILITY, UTILITY_FINER, "ranks", "1.5", "ERR: expected an integer in [1, 100000], not '1.5'");
	check(PARAM_UTILITY, UTILITY_FINER, "ranks", "", "ERR: expected a list of integers, not an empty list");
	check(PARAM_METRIC, METRIC_ROAD, "percentiles", "10,50.0,90", "10,50,90");
	check(PARAM_METRIC, METRIC_ROAD, "percentiles", "10,,90", "ERR: expected a number in [0, 100], not ''");
	check(PARAM_METRIC, METRIC_ROAD, "noise", "0.010", "0.01");
	check(PARAM_METRIC, METRIC_INSERTION, "steps", "50.0", "50");
	check(PARAM_METRIC, METRIC_AD, "steps", "50", "ERR: no such parameter");

	/* typed values */
	{
		struct strbuf err = STRBUF_INIT;
		struct utility_params u = UTILITY_PARAMS_INIT;
		struct metric_params mm;
		metric_params_init(&mm);
		params_parse(params_find(PARAM_UTILITY, UTILITY_FINER, "ranks"), "2,7", &u, NULL, &err);
		ok(u.nr_ranks == 2 && u.ranks[0] == 2 && u.ranks[1] == 7, "ranks 2,7 stored as 2 ints");
		params_parse(params_find(PARAM_METRIC, METRIC_ARCC, "percentiles"), "25,75", &mm, NULL, &err);
		ok(mm.nr_arcc_percentiles == 2 && mm.arcc_percentiles[1] == 75 && mm.nr_road_percentiles == 9,
		   "arcc percentiles stored, road's untouched");
		strbuf_release(&err);
	}

	/* silent lookups, the verdicts cam/'s parsers give */
	ok(utility_lookup("post_softmax") == UTILITY_SOFTMAX && utility_lookup("softmx") == -1,
	   "utility_lookup: aliases, and -1 for an unknown name");
	ok(metric_lookup("Average_Drop") == METRIC_AD && metric_lookup("all") == -1 && metric_lookup("") == -1,
	   "metric_lookup: aliases, and -1 for all and an empty name");
	ok(target_lookup("top3", &tp, &topk) == 0 && topk == 3 && target_lookup("top0", &tp, &topk) == -1 &&
		   target_lookup("tench", &tp, &topk) == -1,
	   "target_lookup: policies, -1 for a bad top<k> and a class name");
	return done_testing();
}
