/*
 * results.c - loading the runs' aggregate rows for the reports (see results.h) and the paper's
 * orders of rows.
 */
#include "reports/results.h"

#include <math.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "lib/error.h"
#include "lib/strbuf.h"
#include "lib/xalloc.h"

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
};

/* The extra metrics' means of the loaded runs; a database without image_metrics has none. */
static void load_extra(struct results *r, sqlite3 *db)
{
	sqlite3_stmt *st;
	size_t i;
	int m;

	for (i = 0; i < r->nr; i++)
		for (m = 0; m < RESULT_NR_EXTRA; m++)
			r->rows[i].extra[m] = NAN;
	if (sqlite3_prepare_v2(db, "SELECT run_key, name, avg(value) FROM image_metrics GROUP BY 1, 2", -1, &st,
			       NULL) != SQLITE_OK)
		return;
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *key = (const char *)sqlite3_column_text(st, 0);
		const char *name = (const char *)sqlite3_column_text(st, 1);
		for (m = 0; name && m < RESULT_NR_EXTRA && strcmp(name, extra_metric_info[m].column); m++)
			;
		for (i = 0; key && m < RESULT_NR_EXTRA && i < r->nr; i++)
			if (!strcmp(r->rows[i].key, key) && sqlite3_column_type(st, 2) != SQLITE_NULL)
				r->rows[i].extra[m] = sqlite3_column_double(st, 2);
	}
	sqlite3_finalize(st);
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

static char *col_str(sqlite3_stmt *st, int i)
{
	const unsigned char *s = sqlite3_column_text(st, i);
	return xstrdup(s ? (const char *)s : "");
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

/* The latest spec's id when the database records which runs each spec has (outputs.spec_id), else -1. */
static long latest_spec(sqlite3 *db)
{
	sqlite3_stmt *st;
	long id = -1;
	if (sqlite3_prepare_v2(db,
			       "SELECT CAST(o.value AS INTEGER) FROM outputs o WHERE o.key = 'spec_id' AND EXISTS "
			       "(SELECT 1 FROM spec_runs s WHERE s.spec_id = CAST(o.value AS INTEGER))",
			       -1, &st, NULL) != SQLITE_OK)
		return -1; /* an older database without these tables */
	if (sqlite3_step(st) == SQLITE_ROW)
		id = (long)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return id;
}

int results_load(struct results *r, sqlite3 *db)
{
	/* created, then rowid: a later duplicate replaces an earlier one below. */
	static const char sql_all[] =
		"SELECT r.key, r.model, r.layer, r.layer_path, r.method, r.utility, r.target, r.state,"
		" r.nr_images, a.n, a.ad, a.coh, a.com, a.adcc, a.ic, a.add_, r.config"
		" FROM runs r JOIN aggregates a ON a.run_key = r.key WHERE a.n > 0"
		" ORDER BY r.created, r.rowid";
	/* Only the latest spec's runs, in its grid order: a reverted spec shows its own old runs again. */
	static const char sql_spec[] =
		"SELECT r.key, r.model, r.layer, r.layer_path, r.method, r.utility, r.target, r.state,"
		" r.nr_images, a.n, a.ad, a.coh, a.com, a.adcc, a.ic, a.add_, r.config"
		" FROM runs r JOIN aggregates a ON a.run_key = r.key"
		" JOIN spec_runs s ON s.run_key = r.key AND s.spec_id = ?1 WHERE a.n > 0 ORDER BY s.pos";
	char **models = NULL, **layers = NULL, **targets = NULL;
	size_t nm = 0, am = 0, nl = 0, al = 0, nt = 0, at = 0, i;
	long spec = latest_spec(db);
	sqlite3_stmt *st;
	int rc, m;

	if (sqlite3_prepare_v2(db, spec >= 0 ? sql_spec : sql_all, -1, &st, NULL) != SQLITE_OK)
		return error("cannot read the runs of the results database: %s", sqlite3_errmsg(db));
	if (spec >= 0) {
		sqlite3_stmt *c;
		sqlite3_bind_int64(st, 1, spec);
		/* runs of other specs with results are left out of the tables; the index says how many */
		if (sqlite3_prepare_v2(db,
				       "SELECT count(*) FROM aggregates a WHERE a.n > 0 AND a.run_key NOT IN "
				       "(SELECT run_key FROM spec_runs WHERE spec_id = ?1)",
				       -1, &c, NULL) == SQLITE_OK) {
			sqlite3_bind_int64(c, 1, spec);
			if (sqlite3_step(c) == SQLITE_ROW)
				r->nr_superseded += (size_t)sqlite3_column_int64(c, 0);
			sqlite3_finalize(c);
		}
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct result x;
		memset(&x, 0, sizeof(x));
		x.key = col_str(st, 0);
		x.model = col_str(st, 1);
		x.layer = col_str(st, 2);
		x.layer_path = col_str(st, 3);
		x.method = col_str(st, 4);
		x.utility = col_str(st, 5);
		x.target = col_str(st, 6);
		x.state = col_str(st, 7);
		x.nr_images = (long)sqlite3_column_int64(st, 8);
		x.n = (long)sqlite3_column_int64(st, 9);
		for (m = 0; m < METRIC_NR; m++)
			x.v[m] = sqlite3_column_type(st, 10 + m) == SQLITE_NULL ? NAN
										  : sqlite3_column_double(st, 10 + m);
		x.precision = config_precision((const char *)sqlite3_column_text(st, 10 + METRIC_NR));
		for (i = 0; i < r->nr && !same_cell(&r->rows[i], &x); i++)
			;
		if (i < r->nr) {
			free_result(&r->rows[i]);
			r->rows[i] = x;
			r->nr_superseded++;
			continue;
		}
		ALLOC_GROW(r->rows, r->nr + 1, r->alloc);
		r->rows[r->nr++] = x;
	}
	if (rc != SQLITE_DONE) {
		sqlite3_finalize(st);
		return error("cannot read the runs of the results database: %s", sqlite3_errmsg(db));
	}
	sqlite3_finalize(st);

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
	load_extra(r, db);
	if (r->nr > 1) /* qsort with a NULL base is undefined even for no elements */
		qsort(r->rows, r->nr, sizeof(*r->rows), cmp_result);
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
