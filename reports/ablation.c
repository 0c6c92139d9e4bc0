/*
 * ablation.c - the declared ablations' tables and plots (see ablation.h): the runs of one setting sorted
 * by method and by the dimension's value, side by side, and each value's paired difference to the
 * baseline's run of the same method.
 */
#include "reports/ablation.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lib/quote.h"
#include "lib/strbuf.h"
#include "lib/xalloc.h"
#include "reports/figure.h"
#include "reports/plot_priv.h"
#include "reports/stats.h"

static const char *const dim_names[] = { "model", "layer", "utility", "target", "precision" };
static const char *const dim_heads[] = { "Model", "Layer", "Utility", "Target", "Precision" };

/* ---------------------------------------------------------------------------------------------------
 * The declarations, from the canonical text.
 */

/*
 * The next word of a canonical line at *p, as canonical.c's put_str wrote it (bare, "-" for none, or
 * double-quoted with \" \\ \n \t \xHH): 0 with *out set (NULL for "-"; caller frees), or -1.
 */
static int read_word(const char **p, char **out)
{
	struct strbuf sb = STRBUF_INIT;
	const char *s = *p;

	*out = NULL;
	if (*s != '"') {
		size_t n = strcspn(s, " \n");
		if (!n)
			return -1;
		*p = s + n;
		if (n > 1 || *s != '-')
			*out = xstrndup(s, n);
		return 0;
	}
	for (s++; *s && *s != '"' && *s != '\n'; s++) {
		if (*s != '\\') {
			strbuf_addch(&sb, *s);
			continue;
		}
		s++;
		if (*s == 'n' || *s == 't') {
			strbuf_addch(&sb, *s == 'n' ? '\n' : '\t');
		} else if (*s == 'x' && isxdigit((unsigned char)s[1]) && isxdigit((unsigned char)s[2])) {
			char hex[3] = { s[1], s[2], 0 };
			strbuf_addch(&sb, (char)strtoul(hex, NULL, 16));
			s += 2;
		} else if (*s == '"' || *s == '\\') {
			strbuf_addch(&sb, *s);
		} else {
			break;
		}
	}
	if (*s != '"') {
		strbuf_release(&sb);
		return -1;
	}
	*p = s + 1;
	*out = strbuf_detach(&sb, NULL);
	return 0;
}

/* "ablation OVER BASELINE" at p into a: 0, or -1 when the line is not one. */
static int read_line(const char *p, struct ablation *a)
{
	size_t d;

	memset(a, 0, sizeof(*a));
	p += strlen("ablation ");
	if (read_word(&p, &a->over) < 0 || !a->over || *p++ != ' ' || read_word(&p, &a->baseline) < 0 ||
	    (*p && *p != '\n'))
		goto bad;
	for (d = 0; d < ARRAY_SIZE(dim_names) && strcmp(a->over, dim_names[d]); d++)
		;
	if (d < ARRAY_SIZE(dim_names))
		a->dim = (enum ablation_dim)d;
	else if (!strncmp(a->over, "method.", 7))
		a->dim = ABLATION_PARAM;
	else
		goto bad;
	return 0;
bad:
	free(a->over);
	free(a->baseline);
	return -1;
}

/* "  variant LABEL VARIANT VALUE" at p, under the parameter ablation a: 0, or -1 when the line is not one. */
static int read_variant(const char *p, struct ablation *a)
{
	struct ablation_variant v = { NULL, NULL, NULL }; /* a line cut short leaves the later words unread */

	p += strlen("  variant ");
	if (read_word(&p, &v.label) < 0 || *p++ != ' ' || read_word(&p, &v.variant) < 0 || *p++ != ' ' ||
	    read_word(&p, &v.value) < 0 || (*p && *p != '\n') || !v.label || !v.variant || !v.value) {
		free(v.label);
		free(v.variant);
		free(v.value);
		return -1;
	}
	ALLOC_GROW(a->variants, a->nr_variants + 1, a->alloc_variants);
	a->variants[a->nr_variants++] = v;
	return 0;
}

void ablation_list_from_canonical(struct ablation_list *l, const char *canonical)
{
	const char *p = canonical;
	int declared = 0, in_param = 0;

	while (p && *p) {
		if (!strncmp(p, "ablations none\n", 15) || !strcmp(p, "ablations none")) {
			declared = 1;
		} else if (!strncmp(p, "ablation ", 9)) {
			struct ablation a;
			declared = 1;
			in_param = 0;
			if (read_line(p, &a) == 0) {
				ALLOC_GROW(l->items, l->nr + 1, l->alloc);
				l->items[l->nr++] = a;
				in_param = a.dim == ABLATION_PARAM;
			}
		} else if (in_param && !strncmp(p, "  variant ", 10)) {
			read_variant(p, &l->items[l->nr - 1]);
		} else {
			in_param = 0;
		}
		p = strchr(p, '\n');
		p = p ? p + 1 : NULL;
	}
	if (!declared) {
		ALLOC_GROW(l->items, l->nr + 1, l->alloc);
		memset(&l->items[l->nr], 0, sizeof(l->items[l->nr]));
		l->items[l->nr].dim = ABLATION_UTILITY;
		l->items[l->nr++].over = xstrdup("utility");
	}
}

void ablation_list_release(struct ablation_list *l)
{
	size_t i;

	for (i = 0; i < l->nr; i++) {
		struct ablation *a = &l->items[i];
		size_t j;
		free(a->over);
		free(a->baseline);
		for (j = 0; j < a->nr_variants; j++) {
			free(a->variants[j].label);
			free(a->variants[j].variant);
			free(a->variants[j].value);
		}
		free(a->variants);
	}
	free(l->items);
	l->items = NULL;
	l->nr = l->alloc = 0;
}

/* ---------------------------------------------------------------------------------------------------
 * Settings: the runs that differ only in the method and the ablation's dimension.
 */

static const char *field(const struct result *x, enum ablation_dim d)
{
	switch (d) {
	case ABLATION_MODEL:
		return x->model;
	case ABLATION_LAYER:
		return x->layer;
	case ABLATION_UTILITY:
		return x->utility;
	case ABLATION_TARGET:
		return x->target;
	default:
		return x->precision;
	}
}

/*
 * The order of one field's values, as the results have them (reports/results.h): models, layers and
 * targets in the order the runs were created, utilities in the paper's. A layer's rank is within its
 * model, so across models (an ablation over the model) layers go by name.
 */
static int cmp_field(const struct result *a, const struct result *b, enum ablation_dim f, enum ablation_dim over)
{
	switch (f) {
	case ABLATION_MODEL:
		return (a->model_ord > b->model_ord) - (a->model_ord < b->model_ord);
	case ABLATION_LAYER:
		if (over == ABLATION_MODEL)
			return strcmp(a->layer, b->layer);
		return (a->layer_ord > b->layer_ord) - (a->layer_ord < b->layer_ord);
	case ABLATION_UTILITY:
		return results_cmp_utility(a->utility, b->utility);
	case ABLATION_TARGET:
		return (a->target_ord > b->target_ord) - (a->target_ord < b->target_ord);
	default:
		return strcmp(a->precision, b->precision);
	}
}

/* The fixed fields of an ablation over `over`, in the results' order; the count. */
static int fixed_fields(enum ablation_dim over, enum ablation_dim out[4])
{
	static const enum ablation_dim order[] = { ABLATION_MODEL, ABLATION_LAYER, ABLATION_TARGET,
						   ABLATION_UTILITY };
	int i, n = 0;

	for (i = 0; i < 4; i++)
		if (order[i] != over)
			out[n++] = order[i];
	return n;
}

/*
 * A run as one ablation sees it: the method it is a row of and its value of the dimension. Over a
 * method's parameter the method is the run's variant (its label less the parameter: the runs of
 * "kpcacam" and "kpcacam(gamma=0.5)" are two values of one method) and the value its variant's.
 */
struct arow {
	const struct result *x;
	const char *method, *value; /* borrowed from x, or from the ablation's variants */
	size_t ord;		    /* over a parameter: the variant's position in the spec's methods */
};

/* The setting first (fixed fields), then the method, then the dimension's value. */
static int cmp_rows(const struct arow *a, const struct arow *b, enum ablation_dim over)
{
	enum ablation_dim f[4];
	int i, n = fixed_fields(over, f), c;

	for (i = 0; i < n; i++)
		if ((c = cmp_field(a->x, b->x, f[i], over)))
			return c;
	if ((c = results_cmp_method(a->method, b->method)))
		return c;
	if (over == ABLATION_PARAM)
		return (a->ord > b->ord) - (a->ord < b->ord);
	return cmp_field(a->x, b->x, over, over);
}

static int same_setting(const struct result *a, const struct result *b, enum ablation_dim over)
{
	enum ablation_dim f[4];
	int i, n = fixed_fields(over, f);

	for (i = 0; i < n; i++)
		if (strcmp(field(a, f[i]), field(b, f[i])))
			return 0;
	return 1;
}

/* What the tables call the dimension: "layer", or a method's parameter by its name ("gamma"). */
static const char *dim_word(const struct ablation *a)
{
	return a->dim == ABLATION_PARAM ? strrchr(a->over, '.') + 1 : dim_names[a->dim];
}

static const char *dim_head(const struct ablation *a)
{
	return a->dim == ABLATION_PARAM ? dim_word(a) : dim_heads[a->dim];
}

/* A value as the tables show it (caller frees): utilities by their display names, the rest as named. */
static char *shown(enum ablation_dim d, const char *v)
{
	return d == ABLATION_UTILITY ? figure_label_dup(v) : xstrdup(v);
}

/* ---------------------------------------------------------------------------------------------------
 * The tables.
 */

static struct table *new_table(struct table **t, size_t *nr)
{
	struct table *x;

	*t = xrealloc(*t, (*nr + 1) * sizeof(**t));
	x = &(*t)[(*nr)++];
	memset(x, 0, sizeof(*x));
	return x;
}

/*
 * The file stem of an ablation's values table: over the utility the name Table 5 always had
 * (ablation.MODEL.LAYER.TARGET); over another dimension ablation-DIM. (over a method's parameter
 * ablation-method_NAME_PARAM.) and the fixed fields' values in the methods tables' order (model, layer,
 * utility, target).
 */
static void add_stem(struct strbuf *sb, const struct result *x, const struct ablation *a)
{
	static const enum ablation_dim order[] = { ABLATION_MODEL, ABLATION_LAYER, ABLATION_UTILITY,
						   ABLATION_TARGET };
	enum ablation_dim over = a->dim;
	size_t i;

	if (over == ABLATION_UTILITY) {
		strbuf_addstr(sb, "ablation");
	} else if (over == ABLATION_PARAM) {
		strbuf_addstr(sb, "ablation-");
		table_slug(sb, a->over);
	} else {
		strbuf_addf(sb, "ablation-%s", dim_names[over]);
	}
	for (i = 0; i < ARRAY_SIZE(order); i++) {
		if (order[i] == over)
			continue;
		strbuf_addch(sb, '.');
		table_slug(sb, field(x, order[i]));
	}
}

/* What the caption says of the setting: "MODEL, layer L (PATH), U utility, target T", less the dimension. */
static void add_setting(struct strbuf *sb, const struct result *x, enum ablation_dim over)
{
	if (over != ABLATION_MODEL && over != ABLATION_LAYER)
		table_add_setting(sb, x);
	else if (over == ABLATION_LAYER)
		strbuf_addstr(sb, x->model);
	else
		strbuf_addf(sb, "layer %s", x->layer);
	if (over != ABLATION_UTILITY) {
		char *u = figure_label_dup(x->utility);
		strbuf_addf(sb, ", %s utility", u);
		free(u);
	}
	if (over != ABLATION_TARGET)
		strbuf_addf(sb, ", target %s", x->target);
}

/* Whether the run of s[k] is a row: its method has another value of the dimension in the setting. */
static int in_rows(const struct arow *s, size_t i, size_t j, size_t k)
{
	size_t n = 0, m;
	for (m = i; m < j; m++)
		n += !strcmp(s[m].method, s[k].method);
	return n > 1;
}

/* table_add_counts of the runs s[i..j). */
static void add_counts(struct strbuf *sb, const struct arow *s, size_t i, size_t j)
{
	const struct result **x = xcalloc(j - i + 1, sizeof(*x));
	size_t k;

	for (k = i; k < j; k++)
		x[k - i] = s[k].x;
	table_add_counts(sb, x, j - i);
	free(x);
}

/*
 * The values table of one setting s[i..j) (sorted by cmp_rows): a row per method and value for the
 * methods with several values, grouped by method. Returns 0 (t left empty) when no method has.
 */
static int values_table(struct table *t, const struct arow *s, size_t i, size_t j, const struct ablation *a,
			const struct table_stats *st)
{
	struct strbuf sb = STRBUF_INIT;
	enum ablation_dim d = a->dim;
	const char *last = NULL; /* the method of the last row */
	size_t k, group = 0;

	for (k = i; k < j; k++) {
		struct table_row *row;
		if (!in_rows(s, i, j, k))
			continue;
		if (last && strcmp(last, s[k].method))
			group++;
		last = s[k].method;
		row = table_new_row(t);
		row->key[0] = figure_label_dup(s[k].method);
		row->key[1] = shown(d, s[k].value);
		row->group = (int)group;
		table_row_set_values(row, s[k].x);
	}
	if (!t->nr)
		return 0;
	add_stem(&sb, s[i].x, a);
	t->name = strbuf_detach(&sb, NULL);
	if (d == ABLATION_UTILITY)
		strbuf_addstr(&sb, "Utility ablation (the paper's Table 5): ");
	else if (d == ABLATION_PARAM)
		strbuf_addf(&sb, "Ablation of parameter %s (%s): ", dim_word(a), a->over);
	else
		strbuf_addf(&sb, "%s ablation: ", dim_heads[d]);
	add_setting(&sb, s[i].x, d);
	strbuf_addstr(&sb, "; ");
	add_counts(&sb, s, i, j);
	if (st->on) {
		struct strbuf who = STRBUF_INIT, whom = STRBUF_INIT;
		strbuf_addf(&who, "the best %s of each method", dim_word(a));
		strbuf_addf(&whom, "%s of the method", dim_word(a));
		strbuf_addstr(&sb, ". ");
		table_add_stats_caption(&sb, st, who.buf, whom.buf);
		strbuf_addch(&sb, '.');
		strbuf_release(&who);
		strbuf_release(&whom);
	} else {
		strbuf_addstr(&sb, ". Best of each method in bold, second underlined.");
	}
	t->caption = strbuf_detach(&sb, NULL);
	t->nr_keys = 2;
	t->nr_vals = METRIC_NR;
	t->key_head = dim_head(a);
	t->stats = st->on;
	table_rank(t);
	if (st->on)
		table_mark_tested(t, st);
	return 1;
}

static double adcc(double ad, double coh, double com)
{
	return 3.0 / (1.0 / coh + 1.0 / (1.0 - com) + 1.0 / (1.0 - ad));
}

static int cmp_double(const void *pa, const void *pb)
{
	double x = *(const double *)pa, y = *(const double *)pb;
	return x < y ? -1 : x > y;
}

/*
 * The images runs a and b both have a value of metric m for (for ADCC: of AD, Coh and Com), as pairs:
 * va[k * w + c], vb likewise, w = 3 for ADCC (AD, Coh, Com), else 1. Returns the number of images.
 */
static size_t pair_images(const struct result *a, const struct result *b, int m, double **va, double **vb)
{
	const struct store_image_values *ia = &a->images, *ib = &b->images;
	size_t p = 0, q = 0, n = 0, w = m == METRIC_ADCC ? 3 : 1, c;

	*va = xcalloc(w * ia->nr + 1, sizeof(double));
	*vb = xcalloc(w * ia->nr + 1, sizeof(double));
	while (p < ia->nr && q < ib->nr) {
		const struct store_image_value *x = &ia->rows[p], *y = &ib->rows[q];
		double u[3], v[3];
		int ok = 1;
		if (x->idx != y->idx) {
			x->idx < y->idx ? p++ : q++;
			continue;
		}
		if (m == METRIC_ADCC) {
			u[0] = x->ad, u[1] = x->coh, u[2] = x->com;
			v[0] = y->ad, v[1] = y->coh, v[2] = y->com;
		} else {
			u[0] = results_image_value(x, m);
			v[0] = results_image_value(y, m);
		}
		for (c = 0; c < w; c++)
			ok &= isfinite(u[c]) && isfinite(v[c]);
		for (c = 0; ok && c < w; c++) {
			(*va)[n * w + c] = u[c];
			(*vb)[n * w + c] = v[c];
		}
		n += ok;
		p++;
		q++;
	}
	return n;
}

/*
 * The paired percentile interval of ADCC(a) - ADCC(b) over n images (va, vb as pair_images): each
 * resample draws its images as stats_bootstrap_mean does and takes the difference of the ADCC of the
 * two runs' means.
 */
static int adcc_diff_interval(const double *va, const double *vb, size_t n, const struct stats_boot_opts *o,
			      struct stats_ci *out)
{
	double *m = xcalloc(o->B + 1, sizeof(double));
	struct stats_rng rng;
	unsigned b;
	size_t i;

	stats_rng_init(&rng, o->seed);
	for (b = 0; b < o->B; b++) {
		double s[6] = { 0, 0, 0, 0, 0, 0 };
		for (i = 0; i < n; i++) {
			size_t k = (size_t)stats_rng_below(&rng, n), c;
			for (c = 0; c < 3; c++) {
				s[c] += va[3 * k + c];
				s[3 + c] += vb[3 * k + c];
			}
		}
		m[b] = adcc(s[0] / (double)n, s[1] / (double)n, s[2] / (double)n) -
		       adcc(s[3] / (double)n, s[4] / (double)n, s[5] / (double)n);
	}
	qsort(m, o->B, sizeof(*m), cmp_double);
	out->lo = stats_percentile(m, o->B, 100.0 * o->alpha / 2);
	out->hi = stats_percentile(m, o->B, 100.0 * (1 - o->alpha / 2));
	free(m);
	return isfinite(out->lo) && isfinite(out->hi) ? 0 : -1;
}

/* The paired interval of metric m's a - b over the images both have; 0, or -1 if there is none. */
static int diff_interval(const struct result *a, const struct result *b, int m, const struct stats_boot_opts *o,
			 struct stats_ci *out)
{
	double *va, *vb;
	size_t n = pair_images(a, b, m, &va, &vb);
	struct stats_paired p;
	int ret = -1;

	if (n && o->B && m == METRIC_ADCC) {
		ret = adcc_diff_interval(va, vb, n, o, out);
	} else if (n && o->B && stats_bootstrap_paired(va, vb, n, o, &p) == 0) {
		*out = p.ci;
		ret = 0;
	}
	free(va);
	free(vb);
	return ret;
}

/* Row's values: a's minus the baseline run b's, their intervals, and (with st on) the marks. */
static void diff_values(struct table_row *row, const struct result *a, const struct result *b,
			const struct table_stats *st)
{
	struct stats_ci ci;
	int m;

	row->x = a;
	row->ranked = 0;
	for (m = 0; m < METRIC_NR; m++) {
		row->has[m] = isfinite(a->v[m]) && isfinite(b->v[m]);
		if (!row->has[m])
			continue;
		row->q[m] = table_q(a->v[m] - b->v[m]);
		if (!a->images.nr || diff_interval(a, b, m, &st->mark.boot, &ci) < 0)
			continue;
		row->has_ci[m] = 1;
		row->lo[m] = table_q(ci.lo);
		row->hi[m] = table_q(ci.hi);
		row->hw[m] = table_q((ci.hi - ci.lo) / 2);
		if (st->on && (ci.lo > 0 || ci.hi < 0))
			row->mark[m] = TABLE_BEST;
	}
}

/*
 * The differences table of one setting s[i..j) (sorted by cmp_rows) whose values table is v: for each
 * method with a run at the baseline, a row per other value. Returns 0 (t left empty) when none has.
 */
static int diff_table(struct table *t, const struct table *v, const struct arow *s, size_t i, size_t j,
		      const struct ablation *a, const struct table_stats *st)
{
	struct strbuf sb = STRBUF_INIT;
	enum ablation_dim d = a->dim;
	size_t k, m, e, group = 0;

	for (k = i; k < j; k = e) {
		const struct result *base = NULL;
		for (e = k; e < j && !strcmp(s[e].method, s[k].method); e++)
			if (!strcmp(s[e].value, a->baseline))
				base = s[e].x;
		if (!base || e - k < 2)
			continue;
		for (m = k; m < e; m++) {
			struct table_row *row;
			if (s[m].x == base)
				continue;
			row = table_new_row(t);
			row->key[0] = figure_label_dup(s[m].method);
			row->key[1] = shown(d, s[m].value);
			row->group = (int)group;
			diff_values(row, s[m].x, base, st);
		}
		group++;
	}
	if (!t->nr)
		return 0;
	strbuf_addf(&sb, "%s.vs-", v->name);
	table_slug(&sb, a->baseline);
	t->name = strbuf_detach(&sb, NULL);
	if (d == ABLATION_UTILITY) {
		char *u = figure_label_dup(a->baseline);
		strbuf_addf(&sb, "Differences to the %s utility", u);
		free(u);
	} else {
		strbuf_addf(&sb, "Differences to %s %s", dim_word(a), a->baseline);
	}
	strbuf_addstr(&sb, " (each value minus the baseline's, x100): ");
	add_setting(&sb, s[i].x, d);
	strbuf_addstr(&sb, "; ");
	add_counts(&sb, s, i, j);
	strbuf_addf(&sb, ". %s %g%% interval of the paired bootstrap over the images both runs have (%u "
			 "resamples, seed %llu)",
		    st->on ? "Each with the" : "The CSV gives each difference's", 100 * (1 - st->mark.boot.alpha),
		    st->mark.boot.B, (unsigned long long)st->mark.boot.seed);
	strbuf_addstr(&sb, st->on ? "; in bold where it excludes 0." : ".");
	t->caption = strbuf_detach(&sb, NULL);
	t->nr_keys = 2;
	t->nr_vals = METRIC_NR;
	t->key_head = dim_head(a);
	t->stats = st->on;
	t->diff = 1;
	return 1;
}

/* Stable: the results' order breaks ties, as in the tables before ablations were declared. */
static void sort_rows(struct arow *s, size_t n, enum ablation_dim over)
{
	size_t i, j;

	for (i = 1; i < n; i++) {
		struct arow x = s[i];
		for (j = i; j > 0 && cmp_rows(&s[j - 1], &x, over) > 0; j--)
			s[j] = s[j - 1];
		s[j] = x;
	}
}

/*
 * The runs of r as ablation a sees them, into s: each with its method and value; over a method's
 * parameter only the runs of the variants the spec recorded (other methods have no value of it).
 * Returns their number.
 */
static size_t arows(const struct results *r, const struct ablation *a, struct arow *s)
{
	size_t i, v, n = 0;

	for (i = 0; i < r->nr; i++) {
		const struct result *x = &r->rows[i];
		if (a->dim != ABLATION_PARAM) {
			s[n].x = x;
			s[n].method = x->method;
			s[n].value = field(x, a->dim);
			s[n++].ord = 0;
			continue;
		}
		for (v = 0; v < a->nr_variants && strcmp(a->variants[v].label, x->method); v++)
			;
		if (v == a->nr_variants)
			continue;
		s[n].x = x;
		s[n].method = a->variants[v].variant;
		s[n].value = a->variants[v].value;
		s[n++].ord = v;
	}
	return n;
}

void ablation_tables_build(const struct results *r, const struct ablation_list *l, const struct table_stats *st,
			   struct table **t, size_t *nr)
{
	static const struct table_stats defaults = TABLE_STATS_INIT;
	struct arow *s = xcalloc(r->nr + 1, sizeof(*s));
	size_t a, i, j, k, n;

	if (!st)
		st = &defaults;
	for (a = 0; a < l->nr; a++) {
		const struct ablation *ab = &l->items[a];
		n = arows(r, ab, s);
		sort_rows(s, n, ab->dim);
		for (i = 0; i < n; i = j) {
			struct table *v, *d;
			for (j = i + 1; j < n && same_setting(s[j].x, s[i].x, ab->dim); j++)
				;
			for (k = i + 1; k < j && !strcmp(s[k].value, s[i].value); k++)
				;
			if (k == j)
				continue; /* one value: no ablation */
			v = new_table(t, nr);
			if (!values_table(v, s, i, j, ab, st)) {
				(*nr)--;
				continue;
			}
			if (!ab->baseline)
				continue;
			d = new_table(t, nr); /* moves the tables: v is d - 1 */
			if (!diff_table(d, d - 1, s, i, j, ab, st))
				(*nr)--;
		}
	}
	free(s);
}

/* ---------------------------------------------------------------------------------------------------
 * The plots of the differences.
 */

/* One table of differences: a panel per metric, a point per row with its interval, the line at 0. */
static int diff_plot(const char *dir, const struct table *t, struct plot_list *l)
{
	struct strbuf data = STRBUF_INIT, body = STRBUF_INIT, title = STRBUF_INIT, lab = STRBUF_INIT;
	const char *semi = strchr(t->caption, ';');
	size_t i;
	int m, ret;

	strbuf_add(&title, t->caption, semi ? (size_t)(semi - t->caption) : strlen(t->caption));
	for (m = 0; m < METRIC_NR; m++) {
		strbuf_addf(&data, "$%s << EOD\n", metric_info[m].column);
		for (i = 0; i < t->nr; i++) {
			const struct table_row *row = &t->rows[i];
			if (!row->has[m])
				strbuf_addf(&data, "%zu NaN NaN NaN\n", i);
			else if (!row->has_ci[m])
				strbuf_addf(&data, "%zu %.2f NaN NaN\n", i, row->q[m] / 100.0);
			else
				strbuf_addf(&data, "%zu %.2f %.2f %.2f\n", i, row->q[m] / 100.0, row->lo[m] / 100.0,
					    row->hi[m] / 100.0);
		}
		strbuf_addstr(&data, "EOD\n");
	}
	strbuf_addstr(&body, "set multiplot layout 2,3 title ");
	quote_gnuplot(&body, title.buf, 0);
	strbuf_addstr(&body, " font \"sans:Bold,12\" margins 0.06,0.99,0.16,0.90 spacing 0.07,0.24\n");
	strbuf_addstr(&body, common);
	strbuf_addf(&body, "unset key\nset bars 0.5\nset xrange [-0.6:%zu.6]\nset xtics rotate by 35 right (",
		    t->nr - 1);
	for (i = 0; i < t->nr; i++) {
		strbuf_reset(&lab);
		strbuf_addf(&lab, "%s, %s", t->rows[i].key[0], t->rows[i].key[1]);
		strbuf_addstr(&body, i ? ", " : "");
		quote_gnuplot(&body, lab.buf, QUOTE_GNUPLOT_FORMAT);
		strbuf_addf(&body, " %zu", i);
	}
	strbuf_addstr(&body, ")\n");
	for (m = 0; m < METRIC_NR; m++) {
		int have = 0, have_ci = 0;
		long long lo = 0, hi = 0;
		for (i = 0; i < t->nr; i++) {
			const struct table_row *row = &t->rows[i];
			if (!row->has[m])
				continue;
			have = 1;
			have_ci |= row->has_ci[m];
			lo = row->q[m] < lo ? row->q[m] : lo;
			hi = row->q[m] > hi ? row->q[m] : hi;
			lo = row->has_ci[m] && row->lo[m] < lo ? row->lo[m] : lo;
			hi = row->has_ci[m] && row->hi[m] > hi ? row->hi[m] : hi;
		}
		if (!have) {
			/* a metric the experiment did not compute: an empty panel, not a gnuplot error */
			strbuf_addstr(&body, "set multiplot next\n");
			continue;
		}
		/* the range holds 0; every difference 0 (IC often is) would be an empty range */
		strbuf_addstr(&body, lo == hi ? "set yrange [-1:1]\n" : "set autoscale y\n");
		strbuf_addf(&body,
			    "set title \"%s, %s is better\"\nset ylabel \"difference (x100)\"\n"
			    "plot 0 with lines lc rgb \"#909090\" dt 2, "
			    "$%s using 1:2 with points pt 7 ps 1 lc rgb \"#1f5fa8\"",
			    metric_info[m].name, metric_info[m].higher_better ? "higher" : "lower",
			    metric_info[m].column);
		if (have_ci)
			strbuf_addf(&body, ", $%s using 1:2:3:4 with yerrorbars pt 7 ps 1 lc rgb \"#1f5fa8\"",
				    metric_info[m].column);
		strbuf_addch(&body, '\n');
	}
	strbuf_addstr(&body, "unset multiplot\n");
	ret = draw(dir, t->name, title.buf, &data, &body, 1500, 900, l);
	strbuf_release(&data);
	strbuf_release(&body);
	strbuf_release(&title);
	strbuf_release(&lab);
	return ret;
}

int ablation_plots_build(const char *dir, const struct table *t, size_t nr, struct plot_list *l)
{
	size_t i;
	int ret = 0, rc;

	for (i = 0; i < nr && ret != -2; i++) {
		if (!t[i].diff)
			continue;
		rc = diff_plot(dir, &t[i], l);
		ret = rc == -2 ? -2 : ret | rc;
	}
	return ret;
}
