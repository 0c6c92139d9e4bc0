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
#include "store/store.h"

const struct metric_info metric_info[METRIC_NR] = {
	{ "AD", "ad", "Average drop", 0 },
	{ "Coh", "coh", "Coherency", 1 },
	{ "Com", "com", "Complexity", 0 },
	{ "ADCC", "adcc", "ADCC", 1 },
	{ "IC", "ic", "Increase in confidence", 1 },
	{ "ADD", "add_", "Average drop in deletion", 1 },
};

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
	store_image_values_release(&x->images);
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
	}
	free_seen(models, nm);
	free_seen(layers, nl);
	free_seen(targets, nt);
	if (r->nr > 1) /* qsort with a NULL base is undefined even for no elements */
		qsort(r->rows, r->nr, sizeof(*r->rows), cmp_result);
	return 0;
}

int results_load_images(struct results *r, struct store *s)
{
	size_t i;
	for (i = 0; i < r->nr; i++)
		if (store_image_values_load(&r->rows[i].images, s, r->rows[i].key) < 0)
			return -1;
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
