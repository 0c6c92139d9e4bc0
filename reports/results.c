/*
 * results.c - loading the runs' aggregate rows for the reports (see results.h) and the paper's
 * orders of rows.
 */
#include "reports/results.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lib/error.h"
#include "lib/strbuf.h"
#include "lib/xalloc.h"
#include "reports/stats.h"
#include "store/store.h"

const struct metric_info metric_info[METRIC_NR] = {
	{ "AD", "ad", "Average drop", 0 },
	{ "Coh", "coh", "Coherency", 1 },
	{ "Com", "com", "Complexity", 0 },
	{ "ADCC", "adcc", "ADCC", 1 },
	{ "IC", "ic", "Increase in confidence", 1 },
	{ "ADD", "add_", "Average drop in deletion", 1 },
};

/* column: the image_metrics name, whose mean over the run's images is the value */
const struct metric_info extra_metric_info[RESULT_NR_EXTRA] = {
	{ "ROAD", "road", "ROAD (combined)", 1 },  { "ARCC", "arcc", "ARCC", 1 },
	{ "Ins", "insertion", "Insertion AUC", 1 }, { "Del", "deletion", "Deletion AUC", 0 },
	{ "AG", "gain", "Average gain", 1 },
	{ "rho", "fidelity", "Shapley fidelity (rank correlation)", 1 },
	{ "L2", "fidelity_l2", "Shapley fidelity (L2 error)", 0 },
	/* sanity: the last step's rho and the share of images passing; discrimination's Pearson and mass */
	{ "San.rho", "sanity_spearman", "Sanity check: Spearman at the last step", 0 },
	{ "San.pass", "sanity_pass", "Sanity check: images passing", 1 },
	{ "Disc.r", "disc_pearson_second", "Target discrimination: Pearson, predicted vs second", 0 },
	{ "Disc.mass", "disc_mass_second", "Target discrimination: top-20% mass, predicted vs second", 0 },
};

const struct metric_info *results_metric_info(int m)
{
	return m < METRIC_NR ? &metric_info[m] : &extra_metric_info[m - METRIC_NR];
}

double results_value(const struct result *x, int m)
{
	return m < METRIC_NR ? x->v[m] : x->extra[m - METRIC_NR];
}

static int extra_mean(const char *key, const char *name, double mean, void *ud)
{
	struct results *r = ud;
	size_t i;
	int m;

	for (m = 0; m < RESULT_NR_EXTRA && strcmp(name, extra_metric_info[m].column); m++)
		;
	for (i = 0; m < RESULT_NR_EXTRA && i < r->nr; i++)
		if (!strcmp(r->rows[i].key, key))
			r->rows[i].extra[m] = mean;
	return 0;
}

/* The extra metrics' means of the loaded runs; a database without image_metrics has none. */
static void load_extra(struct results *r, struct store *s)
{
	size_t i;
	int m;

	for (i = 0; i < r->nr; i++)
		for (m = 0; m < RESULT_NR_EXTRA; m++)
			r->rows[i].extra[m] = NAN;
	store_each_metric_mean(s, extra_mean, r);
}

static const char *const method_order[] = {
	"randomcam", "gradcam++", "xgradcam", "layercam", "gradcam-e",
	"shapleycam-e", "hirescam", "shapleycam-h", "gradcam", "shapleycam",
};
static const char *const utility_order[] = { "logit", "softmax", "rest" };

static int rank_in(const char *name, const char *const *list, size_t n)
{
	size_t i;
	for (i = 0; i < n; i++)
		if (!strcmp(name, list[i]))
			return (int)i;
	return (int)n;
}

static int cmp_ordered(const char *a, const char *b, const char *const *list, size_t n)
{
	int ra = rank_in(a, list, n), rb = rank_in(b, list, n);
	if (ra != rb)
		return ra < rb ? -1 : 1;
	return strcmp(a, b);
}

int results_cmp_method(const char *a, const char *b)
{
	return cmp_ordered(a, b, method_order, sizeof(method_order) / sizeof(*method_order));
}

int results_cmp_utility(const char *a, const char *b)
{
	return cmp_ordered(a, b, utility_order, sizeof(utility_order) / sizeof(*utility_order));
}

int results_is_baseline(const char *method)
{
	return !strcmp(method, "randomcam");
}

static int cmp_result(const void *pa, const void *pb)
{
	const struct result *a = pa, *b = pb;
	int c;
	if (a->model_ord != b->model_ord)
		return a->model_ord < b->model_ord ? -1 : 1;
	if (a->layer_ord != b->layer_ord)
		return a->layer_ord < b->layer_ord ? -1 : 1;
	if (a->target_ord != b->target_ord)
		return a->target_ord < b->target_ord ? -1 : 1;
	if ((c = results_cmp_utility(a->utility, b->utility)))
		return c;
	return results_cmp_method(a->method, b->method);
}

static void free_result(struct result *x)
{
	free(x->key);
	free(x->model);
	free(x->layer);
	free(x->layer_path);
	free(x->method);
	free(x->utility);
	free(x->target);
	free(x->state);
	free(x->precision);
	free(x->note);
	store_image_values_release(&x->images);
	free(x->extra_images);
}

/* The precision a run's configuration names (plan.c writes "precision=P" only when it is not fp32). */
static char *config_precision(const char *config)
{
	const char *p = config ? strstr(config, "\nprecision=") : NULL;
	size_t len;
	if (!p)
		return xstrdup("fp32");
	p += strlen("\nprecision=");
	len = strcspn(p, "\n");
	return xstrndup(p, len);
}

static int same_cell(const struct result *a, const struct result *b)
{
	return !strcmp(a->model, b->model) && !strcmp(a->layer, b->layer) && !strcmp(a->method, b->method) &&
	       !strcmp(a->utility, b->utility) && !strcmp(a->target, b->target);
}

/* The first-appearance rank of name among the strings seen so far (seen grows). */
static int ordinal(char ***seen, size_t *nr, size_t *alloc, const char *name)
{
	size_t i;
	for (i = 0; i < *nr; i++)
		if (!strcmp((*seen)[i], name))
			return (int)i;
	ALLOC_GROW(*seen, *nr + 1, *alloc);
	(*seen)[*nr] = xstrdup(name);
	return (int)(*nr)++;
}

static void free_seen(char **seen, size_t nr)
{
	while (nr)
		free(seen[--nr]);
	free(seen);
}

/* Keep one row per model, layer, method, utility and target: a later duplicate replaces an earlier one. */
static int add_result(const struct store_result *y, void *data)
{
	struct results *r = data;
	struct result x;
	size_t i;

	memset(&x, 0, sizeof(x));
	x.key = xstrdup(y->key);
	x.model = xstrdup(y->model);
	x.layer = xstrdup(y->layer);
	x.layer_path = xstrdup(y->layer_path);
	x.method = xstrdup(y->method);
	x.utility = xstrdup(y->utility);
	x.target = xstrdup(y->target);
	x.state = xstrdup(y->state);
	x.nr_images = y->nr_images;
	x.n = y->n;
	x.v[METRIC_AD] = y->ad;
	x.v[METRIC_COH] = y->coh;
	x.v[METRIC_COM] = y->com;
	x.v[METRIC_ADCC] = y->adcc;
	x.v[METRIC_IC] = y->ic;
	x.v[METRIC_ADD] = y->add;
	x.precision = config_precision(y->config);
	for (i = 0; i < r->nr && !same_cell(&r->rows[i], &x); i++)
		;
	if (i < r->nr) {
		free_result(&r->rows[i]);
		r->rows[i] = x;
		r->nr_superseded++;
		return 0;
	}
	ALLOC_GROW(r->rows, r->nr + 1, r->alloc);
	r->rows[r->nr++] = x;
	return 0;
}

int results_load(struct results *r, struct store *s)
{
	char **models = NULL, **layers = NULL, **targets = NULL;
	size_t nm = 0, am = 0, nl = 0, al = 0, nt = 0, at = 0, i, other;

	if (store_each_result(s, add_result, r, &other) < 0)
		return -1;
	r->nr_superseded += other;

	/* Order of appearance is the order the runs were created in, which follows the spec's lists. */
	for (i = 0; i < r->nr; i++) {
		struct result *x = &r->rows[i];
		struct strbuf ml = STRBUF_INIT;
		x->model_ord = ordinal(&models, &nm, &am, x->model);
		strbuf_addf(&ml, "%s\n%s", x->model, x->layer);
		x->layer_ord = ordinal(&layers, &nl, &al, ml.buf);
		strbuf_release(&ml);
		x->target_ord = ordinal(&targets, &nt, &at, x->target);
		x->note = store_run_note(s, x->key);
	}
	free_seen(models, nm);
	free_seen(layers, nl);
	free_seen(targets, nt);
	load_extra(r, s);
	if (r->nr > 1) /* qsort with a NULL base is undefined even for no elements */
		qsort(r->rows, r->nr, sizeof(*r->rows), cmp_result);
	return 0;
}

double results_image_value(const struct store_image_value *v, int m)
{
	switch (m) {
	case METRIC_AD:
		return v->ad;
	case METRIC_COH:
		return v->coh;
	case METRIC_COM:
		return v->com;
	case METRIC_IC:
		return v->ic;
	case METRIC_ADD:
		return v->add;
	}
	return NAN;
}

static double adcc(double ad, double coh, double com)
{
	return 3.0 / (1.0 / coh + 1.0 / (1.0 - com) + 1.0 / (1.0 - ad));
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/*
 * The interval of ADCC, the harmonic combination of the mean AD, Coh and Com (store_aggregate): over
 * the images that have all three, each resample draws its images as stats_bootstrap_mean does (the
 * same draws as the other columns when they have the same images) and gives the ADCC of its means.
 * 0, or -1 when no image has the three values.
 */
static int adcc_interval(const struct store_image_values *iv, const struct stats_boot_opts *o,
			 struct stats_ci *out)
{
	double *v = xcalloc(3 * iv->nr + 1, sizeof(double)), *m;
	struct stats_rng rng;
	size_t n = 0, i;
	unsigned b;

	for (i = 0; i < iv->nr; i++) {
		const struct store_image_value *x = &iv->rows[i];
		if (isfinite(x->ad) && isfinite(x->coh) && isfinite(x->com)) {
			v[3 * n] = x->ad;
			v[3 * n + 1] = x->coh;
			v[3 * n + 2] = x->com;
			n++;
		}
	}
	if (!n || !o->B) {
		free(v);
		return -1;
	}
	m = xcalloc(o->B, sizeof(double));
	stats_rng_init(&rng, o->seed);
	for (b = 0; b < o->B; b++) {
		double s[3] = { 0, 0, 0 };
		for (i = 0; i < n; i++) {
			size_t k = (size_t)stats_rng_below(&rng, n);
			s[0] += v[3 * k];
			s[1] += v[3 * k + 1];
			s[2] += v[3 * k + 2];
		}
		m[b] = adcc(s[0] / (double)n, s[1] / (double)n, s[2] / (double)n);
	}
	qsort(m, o->B, sizeof(*m), cmp_double);
	out->lo = stats_percentile(m, o->B, 100.0 * o->alpha / 2);
	out->hi = stats_percentile(m, o->B, 100.0 * (1 - o->alpha / 2));
	free(m);
	free(v);
	return isfinite(out->lo) && isfinite(out->hi) ? 0 : -1;
}

size_t results_image_column(const struct result *x, int m, long **idx, double **v)
{
	size_t n = 0, i, nr = m < METRIC_NR ? x->images.nr : x->nr_extra_images;

	*idx = xcalloc(nr + 1, sizeof(**idx));
	*v = xcalloc(nr + 1, sizeof(**v));
	for (i = 0; i < nr; i++) {
		double y = m < METRIC_NR ? results_image_value(&x->images.rows[i], m)
					 : x->extra_images[i].v[m - METRIC_NR];
		if (!isfinite(y))
			continue;
		(*idx)[n] = m < METRIC_NR ? x->images.rows[i].idx : x->extra_images[i].idx;
		(*v)[n++] = y;
	}
	return n;
}

/* The bootstrap interval of metric m's mean over the images of x that have it; 0, or -1 if none. */
static int interval(const struct result *x, int m, const struct stats_boot_opts *o, struct stats_ci *out)
{
	double *v;
	long *idx;
	size_t n;
	int ret;

	if (m == METRIC_ADCC)
		return adcc_interval(&x->images, o, out);
	n = results_image_column(x, m, &idx, &v);
	ret = n && o->B ? stats_bootstrap_mean(v, n, o, out) : -1;
	free(idx);
	free(v);
	return ret;
}

/* store_each_image's callback: an image's values of the extra metrics, where it has any. */
static int add_extra_image(const struct store_image *img, void *ud)
{
	struct result *x = ud;
	struct result_image_extra *e;
	size_t i;
	int m, any = 0;

	for (i = 0; i < img->nr_extra; i++)
		for (m = 0; m < RESULT_NR_EXTRA; m++)
			any |= !strcmp(img->extra[i].name, extra_metric_info[m].column);
	if (!any)
		return 0;
	ALLOC_GROW(x->extra_images, x->nr_extra_images + 1, x->alloc_extra_images);
	e = &x->extra_images[x->nr_extra_images++];
	e->idx = img->idx;
	for (m = 0; m < RESULT_NR_EXTRA; m++)
		e->v[m] = NAN;
	for (i = 0; i < img->nr_extra; i++)
		for (m = 0; m < RESULT_NR_EXTRA; m++)
			if (!strcmp(img->extra[i].name, extra_metric_info[m].column))
				e->v[m] = img->extra[i].value;
	return 0;
}

int results_load_images(struct results *r, struct store *s, const struct stats_boot_opts *o)
{
	size_t i;
	int m;
	for (i = 0; i < r->nr; i++) {
		struct result *x = &r->rows[i];
		int any = 0;
		if (store_image_values_load(&x->images, s, x->key) < 0)
			return -1;
		x->nr_extra_images = 0;
		for (m = 0; m < RESULT_NR_EXTRA; m++)
			any |= isfinite(x->extra[m]);
		/* a run without the extra metrics costs no second walk over its images */
		if (any && store_each_image(s, x->key, add_extra_image, x) < 0)
			return -1;
		for (m = 0; m < RESULT_NR_ALL; m++)
			x->has_ci[m] = isfinite(results_value(x, m)) && interval(x, m, o, &x->ci[m]) == 0;
	}
	return 0;
}

void results_release(struct results *r)
{
	size_t i;
	for (i = 0; i < r->nr; i++)
		free_result(&r->rows[i]);
	free(r->rows);
	r->rows = NULL;
	r->nr = r->alloc = r->nr_superseded = 0;
}
