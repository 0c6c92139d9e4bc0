/*
 * params.c - the table of the parameters of built-in methods, utilities and metrics, and the parsing
 * of a value into its canonical text and typed field (see params.h). It refers to the owners by their
 * enums only and calls nothing of theirs, so that they may call it without a loop between the files.
 */
#include "cam/params.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cam/methods.h"
#include "cam/metrics.h"
#include "cam/utility.h"
#include "lib/error.h"
#include "lib/suggest.h"
#include "lib/xalloc.h"

/* in enum cam_kpca_kernel's order */
static const char *const kernels[] = { "sigmoid", "rbf", "poly", "linear", "cosine" };

#define METHOD(f) offsetof(struct cam_method_params, f)
#define UTILITY(f) offsetof(struct utility_params, f)
#define METRIC(f) offsetof(struct metric_params, f)

const struct param_info param_table[] = {
	{ PARAM_METHOD, PARAM_EVERY, "aug_smooth", PARAM_BOOL, "false",
	  "test-time augmentation: the map averaged over flipped and scaled copies of the image",
	  .off = METHOD(aug_smooth) },
	{ PARAM_METHOD, PARAM_EVERY, "eigen_smooth", PARAM_BOOL, "false",
	  "the first principal component of the weighted activations instead of their sum",
	  .off = METHOD(eigen_smooth) },
	{ PARAM_METHOD, CAM_KPCACAM, "kernel", PARAM_CHOICE, "sigmoid",
	  "scikit-learn's KernelPCA kernel (degree 3 and coef0 1 where used)", .choices = kernels,
	  .nr_choices = ARRAY_SIZE(kernels), .off = METHOD(kernel) },
	{ PARAM_METHOD, CAM_KPCACAM, "gamma", PARAM_FLOAT, NULL,
	  "the kernel's gamma (default 1 / C, C the layer's channels, as scikit-learn's None)", 0, HUGE_VAL, 1,
	  .off = METHOD(gamma) },
	{ PARAM_METHOD, CAM_FEM, "k", PARAM_FLOAT, "2",
	  "a channel weighs by its share of positions above its mean + k standard deviations", -1e6, 1e6,
	  .off = METHOD(k) },
	{ PARAM_UTILITY, UTILITY_FINER, "alpha", PARAM_FLOAT, "1",
	  "the weight of the compared classes' logits: y_c - alpha y_j", -1e6, 1e6, .off = UTILITY(alpha) },
	{ PARAM_UTILITY, UTILITY_FINER, "ranks", PARAM_INTS, "1,2,3",
	  "the compared classes, by rank of |y - y_c| (c is rank 0; pytorch-grad-cam's comparison_categories)",
	  1, 100000, .max_items = UTILITY_MAX_RANKS, .off = UTILITY(ranks), .count_off = UTILITY(nr_ranks) },
	{ PARAM_METRIC, METRIC_ROAD, "percentiles", PARAM_FLOATS, "10,20,30,40,50,60,70,80,90",
	  "the percentiles of pixels removed (MoRF) and kept (LeRF)", 0, 100,
	  .max_items = METRIC_MAX_PERCENTILES, .off = METRIC(road_percentiles),
	  .count_off = METRIC(nr_road_percentiles) },
	{ PARAM_METRIC, METRIC_ROAD, "noise", PARAM_FLOAT, "0.01",
	  "the standard deviation of the noise added to imputed pixels (0: none)", 0, 1e6,
	  .off = METRIC(road_noise) },
	{ PARAM_METRIC, METRIC_ARCC, "percentiles", PARAM_FLOATS, "20,40,60,80",
	  "the percentiles of ARCC's ROAD (pytorch-grad-cam's road_percentiles)", 0, 100,
	  .max_items = METRIC_MAX_PERCENTILES, .off = METRIC(arcc_percentiles),
	  .count_off = METRIC(nr_arcc_percentiles) },
	{ PARAM_METRIC, METRIC_INSERTION, "steps", PARAM_INT, "100",
	  "points on the curve after the first (RISE's N)", 1, 10000, .off = METRIC(insertion_steps) },
	{ PARAM_METRIC, METRIC_DELETION, "steps", PARAM_INT, "100",
	  "points on the curve after the first (RISE's N)", 1, 10000, .off = METRIC(deletion_steps) },
	{ PARAM_METRIC, METRIC_FIDELITY, "pairs", PARAM_INT, "32",
	  "antithetic pairs of permutations per image (the standard error falls as 1 / sqrt(pairs))", 1, 100000,
	  .off = METRIC(fidelity_pairs) },
	{ PARAM_METRIC, METRIC_SANITY, "seed", PARAM_INT, "42",
	  "step s re-initialises its module from a generator seeded seed + s (Quantus's default seed)", 0,
	  2147483647.0, .off = METRIC(sanity_seed) },
	{ PARAM_METRIC, METRIC_SANITY, "steps", PARAM_INT, "0",
	  "0: randomise from the output down to the target layer; N: the top N modules (may pass the layer)",
	  0, SANITY_MAX_STEPS, .off = METRIC(sanity_steps) },
	{ PARAM_METRIC, METRIC_SANITY, "threshold", PARAM_FLOAT, "0.5",
	  "an image passes when the Spearman correlation at the last step is below it", -1, 1,
	  .off = METRIC(sanity_threshold) },
	{ PARAM_METRIC, METRIC_DISCRIMINATION, "top", PARAM_FLOAT, "0.2",
	  "the share of the predicted class's map whose pixels hold the other map's mass", 0, 1, 1,
	  .off = METRIC(discrimination_top) },
};

const size_t param_table_size = ARRAY_SIZE(param_table);

static int owns(const struct param_info *p, enum param_kind kind, int owner)
{
	return p->kind == kind && (p->owner == owner || p->owner == PARAM_EVERY);
}

const struct param_info *params_find(enum param_kind kind, int owner, const char *name)
{
	size_t i;

	for (i = 0; i < param_table_size; i++)
		if (owns(&param_table[i], kind, owner) && !strcmp(param_table[i].name, name))
			return &param_table[i];
	return NULL;
}

size_t params_names(enum param_kind kind, int owner, const char **out, size_t max)
{
	size_t i, n = 0;

	for (i = 0; i < param_table_size; i++)
		if (owns(&param_table[i], kind, owner) && n < max)
			out[n++] = param_table[i].name;
	return n;
}

const char *params_type_name(const struct param_info *p)
{
	switch (p->type) {
	case PARAM_BOOL:
		return "true or false";
	case PARAM_INT:
		return "an integer";
	case PARAM_FLOAT:
		return "a number";
	case PARAM_CHOICE:
		return "a name";
	case PARAM_INTS:
		return "a list of integers";
	case PARAM_FLOATS:
		return "a list of numbers";
	}
	return "a value";
}

/* The shortest decimal that reads back as the same double: "0.5", not 0.50000000000000000. */
static void put_number(struct strbuf *sb, double x)
{
	char buf[40];
	int prec = 0;

	if (x == floor(x) && fabs(x) < 1e15) { /* "10", not "1e+01"; -0 is 0 */
		strbuf_addf(sb, "%.0f", x == 0 ? 0.0 : x);
		return;
	}
	do
		snprintf(buf, sizeof(buf), "%.*g", ++prec, x);
	while (prec < 17 && strtod(buf, NULL) != x);
	strbuf_addstr(sb, buf);
}

static void put_range(struct strbuf *err, const struct param_info *p)
{
	strbuf_addstr(err, p->open_min ? "(" : "[");
	put_number(err, p->min);
	strbuf_addstr(err, ", ");
	if (isinf(p->max))
		strbuf_addstr(err, "inf");
	else
		put_number(err, p->max);
	strbuf_addch(err, p->type == PARAM_FLOAT && isinf(p->max) ? ')' : ']');
}

/* One number of p (a scalar, or a list's item) from s[0..len): 0, or -1 with why in err. */
static int parse_number(const struct param_info *p, const char *s, size_t len, double *out, struct strbuf *err)
{
	int integer = p->type == PARAM_INT || p->type == PARAM_INTS;
	char buf[64], *end;
	double x;

	while (len && isspace((unsigned char)*s))
		s++, len--;
	while (len && isspace((unsigned char)s[len - 1]))
		len--;
	if (len && len < sizeof(buf)) {
		memcpy(buf, s, len);
		buf[len] = '\0';
		errno = 0;
		x = strtod(buf, &end);
		if (!*end && isfinite(x) && (!integer || x == floor(x)) && x >= p->min && x <= p->max &&
		    !(p->open_min && x == p->min)) {
			*out = x;
			return 0;
		}
	}
	strbuf_addf(err, "expected %s in ", integer ? "an integer" : "a number");
	put_range(err, p);
	strbuf_addf(err, ", not '%.*s'", (int)(len < 40 ? len : 40), s);
	return -1;
}

static int parse_bool(const char *s, int *out)
{
	static const char *const yes[] = { "true", "yes", "on" }, *const no[] = { "false", "no", "off" };
	size_t i;

	for (i = 0; i < ARRAY_SIZE(yes); i++) {
		if (!strcasecmp(s, yes[i]))
			return *out = 1, 0;
		if (!strcasecmp(s, no[i]))
			return *out = 0, 0;
	}
	return -1;
}

static int parse_choice(const struct param_info *p, const char *s, int *out, struct strbuf *err)
{
	const char *near[1];
	size_t i;

	for (i = 0; i < p->nr_choices; i++)
		if (!strcasecmp(s, p->choices[i]))
			return *out = (int)i, 0;
	strbuf_addf(err, "unknown %s '%s'", p->name, s);
	if (suggest_nearest(s, p->choices, p->nr_choices, near, 1)) {
		strbuf_addf(err, "; did you mean '%s'?", near[0]);
	} else {
		strbuf_addstr(err, " (use ");
		for (i = 0; i < p->nr_choices; i++)
			strbuf_addf(err, "%s%s", i ? ", " : "", p->choices[i]);
		strbuf_addch(err, ')');
	}
	return -1;
}

/* A list's items, split at ',' (a scalar is a list of one). */
static int parse_list(const struct param_info *p, const char *value, void *typed, struct strbuf *canon,
		      struct strbuf *err)
{
	const char *s = value;
	size_t n = 0;
	double x;

	while (1) {
		size_t len = strcspn(s, ",");
		if (n == p->max_items) {
			strbuf_addf(err, "expected at most %zu items, not more", p->max_items);
			return -1;
		}
		if (parse_number(p, s, len, &x, err) < 0)
			return -1;
		if (canon) {
			if (n)
				strbuf_addch(canon, ',');
			put_number(canon, x);
		}
		if (typed && p->type == PARAM_INTS)
			((int *)((char *)typed + p->off))[n] = (int)x;
		else if (typed)
			((double *)((char *)typed + p->off))[n] = x;
		n++;
		s += len;
		if (!*s)
			break;
		s++;
	}
	if (typed)
		*(size_t *)((char *)typed + p->count_off) = n;
	return 0;
}

int params_parse(const struct param_info *p, const char *value, void *typed, struct strbuf *canon,
		 struct strbuf *err)
{
	double x;
	int b;

	if (!value || (!*value && p->type != PARAM_INTS && p->type != PARAM_FLOATS)) {
		strbuf_addf(err, "expected %s, not nothing", params_type_name(p));
		return -1;
	}
	switch (p->type) {
	case PARAM_BOOL:
		if (parse_bool(value, &b) < 0) {
			strbuf_addf(err, "expected true or false, not '%s'", value);
			return -1;
		}
		if (canon)
			strbuf_addstr(canon, b ? "true" : "false");
		if (typed)
			*(int *)((char *)typed + p->off) = b;
		return 0;
	case PARAM_INT:
	case PARAM_FLOAT:
		if (parse_number(p, value, strlen(value), &x, err) < 0)
			return -1;
		if (canon)
			put_number(canon, x);
		if (typed && p->type == PARAM_INT)
			*(int *)((char *)typed + p->off) = (int)x;
		else if (typed)
			*(double *)((char *)typed + p->off) = x;
		return 0;
	case PARAM_CHOICE:
		if (parse_choice(p, value, &b, err) < 0)
			return -1;
		if (canon)
			strbuf_addstr(canon, p->choices[b]);
		if (typed)
			*(int *)((char *)typed + p->off) = b;
		return 0;
	case PARAM_INTS:
	case PARAM_FLOATS:
		if (!*value) {
			strbuf_addf(err, "expected %s, not an empty list", params_type_name(p));
			return -1;
		}
		return parse_list(p, value, typed, canon, err);
	}
	return -1;
}

int params_is_default(const struct param_info *p, const char *canon)
{
	return p->def && !strcmp(p->def, canon);
}

void params_defaults(enum param_kind kind, int owner, void *typed)
{
	struct strbuf err = STRBUF_INIT;
	size_t i;

	for (i = 0; i < param_table_size; i++)
		if (owns(&param_table[i], kind, owner) && param_table[i].def &&
		    params_parse(&param_table[i], param_table[i].def, typed, NULL, &err) < 0)
			BUG("bad default of parameter '%s': %s", param_table[i].name, err.buf);
	strbuf_release(&err);
}

void params_help(FILE *fp, enum param_kind kind, int owner, const char *indent)
{
	size_t i, j;

	for (i = 0; i < param_table_size; i++) {
		const struct param_info *p = &param_table[i];
		if (p->kind != kind || p->owner != owner)
			continue;
		fprintf(fp, "%s%-13s ", indent, p->name);
		if (p->type == PARAM_CHOICE)
			for (j = 0; j < p->nr_choices; j++)
				fprintf(fp, "%s%s", j ? "|" : "", p->choices[j]);
		else
			fputs(params_type_name(p), fp);
		fprintf(fp, ", default %s\n%s  %s\n", p->def ? p->def : "computed", indent, p->help);
	}
}

void params_help_all(FILE *fp, enum param_kind kind, const char *const *names, size_t n)
{
	static const char *const what[PARAM_NR_KINDS] = { "method", "utility", "metric" };
	size_t i, j;
	int any = 0;

	for (i = 0; i < param_table_size; i++)
		any |= param_table[i].kind == kind;
	if (!any)
		return;
	fprintf(fp, "\nparameters (in a spec: {NAME: {PARAMETER: VALUE}}, e.g. %s):\n",
		kind == PARAM_METHOD	? "{kpcacam: {kernel: rbf, gamma: 0.5}}"
		: kind == PARAM_UTILITY ? "{finer: {alpha: 1, ranks: [1, 2, 3]}}"
					: "{road: {percentiles: [10, 50, 90], noise: 0}}");
	for (i = 0; i < param_table_size; i++)
		if (param_table[i].kind == kind && param_table[i].owner == PARAM_EVERY) {
			fprintf(fp, "  every %s:\n", what[kind]);
			params_help(fp, kind, PARAM_EVERY, "    ");
			break;
		}
	for (j = 0; j < n; j++)
		for (i = 0; i < param_table_size; i++)
			if (param_table[i].kind == kind && param_table[i].owner == (int)j) {
				fprintf(fp, "  %s:\n", names[j]);
				params_help(fp, kind, (int)j, "    ");
				break;
			}
	fprintf(fp, "A value other than the default shows in the %s's name in tables and the report, as\n"
		    "NAME(PARAMETER=VALUE); %s\n",
		what[kind],
		kind == PARAM_METRIC ? "a spec gives each metric one set of parameters."
				     : "two variants of one name are two entries of the grid.");
}
