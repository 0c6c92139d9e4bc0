/*
 * store_query.c - the reading side of the database: camlab status's summary, the queries of the
 * report and of camlab results and compare.
 */
#include "store/store.h"
#include "store/store_priv.h"

#include <limits.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/error.h"
#include "lib/strbuf.h"
#include "lib/xalloc.h"

static char *column_dup(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	return xstrdup(t ? (const char *)t : "");
}

/*
 * The three queries of a summary. A database that a shard's job created but has not yet given its
 * tables fails the first one, which the caller reports as holding no results.
 */
int store_summary_load(struct store_summary *sum, struct store *s)
{
	size_t alloc_states = 0, alloc_failed = 0, alloc_specs = 0;
	sqlite3_stmt *st = NULL;
	int rc;

	if (sqlite3_prepare_v2(s->db,
			       "SELECT state, count(*), sum(nr_images), "
			       "sum((SELECT count(*) FROM images WHERE run_key = runs.key)), "
			       "sum((SELECT count(*) FROM skipped WHERE run_key = runs.key)) "
			       "FROM runs GROUP BY state ORDER BY state",
			       -1, &st, NULL) != SQLITE_OK)
		goto fail;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_state_count *c;
		ALLOC_GROW(sum->states, sum->nr_states + 1, alloc_states);
		c = &sum->states[sum->nr_states++];
		c->state = column_dup(st, 0);
		c->runs = (long)sqlite3_column_int64(st, 1);
		c->nr_images = (long)sqlite3_column_int64(st, 2);
		c->nr_stored = (long)sqlite3_column_int64(st, 3);
		c->nr_skipped = (long)sqlite3_column_int64(st, 4);
		sum->nr_stored += c->nr_stored;
	}
	if (rc != SQLITE_DONE)
		goto fail;
	sqlite3_finalize(st);
	if (sqlite3_prepare_v2(s->db,
			       "SELECT key, model, layer, method, utility, target, error FROM runs "
			       "WHERE state = 'failed' ORDER BY rowid",
			       -1, &st, NULL) != SQLITE_OK)
		goto fail;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_failed_run *f;
		ALLOC_GROW(sum->failed, sum->nr_failed + 1, alloc_failed);
		f = &sum->failed[sum->nr_failed++];
		f->key = column_dup(st, 0);
		f->model = column_dup(st, 1);
		f->layer = column_dup(st, 2);
		f->method = column_dup(st, 3);
		f->utility = column_dup(st, 4);
		f->target = column_dup(st, 5);
		f->error = column_dup(st, 6);
	}
	if (rc != SQLITE_DONE)
		goto fail;
	sqlite3_finalize(st);
	/* the class probability is computed for every image: NULL only where it was not finite */
	if (sqlite3_prepare_v2(s->db, "SELECT count(*) FROM images WHERE y IS NULL", -1, &st, NULL) != SQLITE_OK)
		goto fail;
	if ((rc = sqlite3_step(st)) != SQLITE_ROW)
		goto fail;
	sum->nr_nonfinite = (long)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (sqlite3_prepare_v2(s->db, "SELECT id, path, camlab_version, created FROM specs ORDER BY id", -1,
			       &st, NULL) != SQLITE_OK)
		goto fail;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_spec_info *p;
		ALLOC_GROW(sum->specs, sum->nr_specs + 1, alloc_specs);
		p = &sum->specs[sum->nr_specs++];
		p->id = (long)sqlite3_column_int64(st, 0);
		p->path = column_dup(st, 1);
		p->camlab_version = column_dup(st, 2);
		p->created = column_dup(st, 3);
	}
	if (rc != SQLITE_DONE)
		goto fail;
	sqlite3_finalize(st);
	return 0;
fail:
	sql_error(s, "reading the summary");
	sqlite3_finalize(st);
	store_summary_release(sum);
	return -1;
}

void store_summary_release(struct store_summary *sum)
{
	size_t i;

	for (i = 0; i < sum->nr_states; i++)
		free(sum->states[i].state);
	for (i = 0; i < sum->nr_failed; i++) {
		struct store_failed_run *f = &sum->failed[i];
		free(f->key);
		free(f->model);
		free(f->layer);
		free(f->method);
		free(f->utility);
		free(f->target);
		free(f->error);
	}
	for (i = 0; i < sum->nr_specs; i++) {
		free(sum->specs[i].path);
		free(sum->specs[i].camlab_version);
		free(sum->specs[i].created);
	}
	free(sum->states);
	free(sum->failed);
	free(sum->specs);
	*sum = (struct store_summary)STORE_SUMMARY_INIT;
}

long store_spec_ids(struct store *s, long **ids, long *latest)
{
	sqlite3_stmt *st = NULL;
	size_t nr = 0, alloc = 0;
	int rc;

	*ids = NULL;
	*latest = -1;
	if (sqlite3_prepare_v2(s->db, "SELECT DISTINCT spec_id FROM spec_runs ORDER BY spec_id", -1, &st, NULL) !=
	    SQLITE_OK)
		goto fail;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		ALLOC_GROW(*ids, nr + 1, alloc);
		(*ids)[nr++] = (long)sqlite3_column_int64(st, 0);
	}
	if (rc != SQLITE_DONE)
		goto fail;
	sqlite3_finalize(st);
	/* the report's spec when it has runs (a spec recorded by a run that then failed its checks has none) */
	if (sqlite3_prepare_v2(s->db,
			       "SELECT coalesce((SELECT CAST(o.value AS INTEGER) FROM outputs o WHERE o.key = 'spec_id'"
			       " AND EXISTS (SELECT 1 FROM spec_runs r WHERE r.spec_id = CAST(o.value AS INTEGER))),"
			       " (SELECT max(spec_id) FROM spec_runs), -1)",
			       -1, &st, NULL) != SQLITE_OK)
		goto fail;
	if (sqlite3_step(st) != SQLITE_ROW)
		goto fail;
	*latest = (long)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return (long)nr;
fail:
	sql_error(s, "reading the spec ids");
	sqlite3_finalize(st);
	free(*ids);
	*ids = NULL;
	return -1;
}

/* Queries of the report */

char *store_output_value(struct store *s, const char *key)
{
	sqlite3_stmt *st;
	char *v = NULL;
	if (sqlite3_prepare_v2(s->db, "SELECT value FROM outputs WHERE key = ?", -1, &st, NULL) != SQLITE_OK)
		return NULL;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0) && *sqlite3_column_text(st, 0))
		v = xstrdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return v;
}

/* The latest spec's id when the database records which runs each spec has (outputs.spec_id), else -1. */
static long latest_spec(struct store *s)
{
	sqlite3_stmt *st;
	long id = -1;
	if (sqlite3_prepare_v2(
		    s->db,
		    "SELECT CAST(o.value AS INTEGER) FROM outputs o WHERE o.key = 'spec_id' AND EXISTS "
		    "(SELECT 1 FROM spec_runs s WHERE s.spec_id = CAST(o.value AS INTEGER))",
		    -1, &st, NULL) != SQLITE_OK)
		return -1; /* an older database without these tables */
	if (sqlite3_step(st) == SQLITE_ROW)
		id = (long)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return id;
}

static const char *column_text(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	return t ? (const char *)t : "";
}

static double column_real(sqlite3_stmt *st, int i)
{
	return sqlite3_column_type(st, i) == SQLITE_NULL ? NAN : sqlite3_column_double(st, i);
}

int store_each_result(struct store *s, store_result_fn fn, void *data, size_t *nr_other)
{
	/* created, then rowid: the caller keeps the last of duplicates. */
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
	long spec = latest_spec(s);
	sqlite3_stmt *st;
	int rc, ret = 0;

	*nr_other = 0;
	if (sqlite3_prepare_v2(s->db, spec >= 0 ? sql_spec : sql_all, -1, &st, NULL) != SQLITE_OK)
		return error("cannot read the runs of the results database: %s", sqlite3_errmsg(s->db));
	if (spec >= 0) {
		sqlite3_stmt *c;
		sqlite3_bind_int64(st, 1, spec);
		/* runs of other specs with results are left out of the tables; the index says how many */
		if (sqlite3_prepare_v2(s->db,
				       "SELECT count(*) FROM aggregates a WHERE a.n > 0 AND a.run_key NOT IN "
				       "(SELECT run_key FROM spec_runs WHERE spec_id = ?1)",
				       -1, &c, NULL) == SQLITE_OK) {
			sqlite3_bind_int64(c, 1, spec);
			if (sqlite3_step(c) == SQLITE_ROW)
				*nr_other = (size_t)sqlite3_column_int64(c, 0);
			sqlite3_finalize(c);
		}
	}
	while (!ret && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_result x;
		x.key = column_text(st, 0);
		x.model = column_text(st, 1);
		x.layer = column_text(st, 2);
		x.layer_path = column_text(st, 3);
		x.method = column_text(st, 4);
		x.utility = column_text(st, 5);
		x.target = column_text(st, 6);
		x.state = column_text(st, 7);
		x.nr_images = (long)sqlite3_column_int64(st, 8);
		x.n = (long)sqlite3_column_int64(st, 9);
		x.ad = column_real(st, 10);
		x.coh = column_real(st, 11);
		x.com = column_real(st, 12);
		x.adcc = column_real(st, 13);
		x.ic = column_real(st, 14);
		x.add = column_real(st, 15);
		x.config = column_text(st, 16);
		ret = fn(&x, data);
	}
	if (!ret && rc != SQLITE_DONE)
		ret = error("cannot read the runs of the results database: %s", sqlite3_errmsg(s->db));
	sqlite3_finalize(st);
	return ret;
}

void store_image_values_init(struct store_image_values *v)
{
	memset(v, 0, sizeof(*v));
}

void store_image_values_release(struct store_image_values *v)
{
	free(v->rows);
	store_image_values_init(v);
}

int store_image_values_load(struct store_image_values *v, struct store *s, const char *key)
{
	sqlite3_stmt *st;
	int rc;

	v->nr = 0;
	if (sqlite3_prepare_v2(
		    s->db, "SELECT idx, ad, coh, com, ic, add_ FROM images WHERE run_key = ? ORDER BY idx",
		    -1, &st, NULL) != SQLITE_OK)
		return error("cannot read the images of the results database: %s", sqlite3_errmsg(s->db));
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_image_value *x;
		ALLOC_GROW(v->rows, v->nr + 1, v->alloc);
		x = &v->rows[v->nr++];
		x->idx = (long)sqlite3_column_int64(st, 0);
		x->ad = column_real(st, 1);
		x->coh = column_real(st, 2);
		x->com = column_real(st, 3);
		x->ic = column_real(st, 4);
		x->add = column_real(st, 5);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return error("cannot read the images of the results database: %s", sqlite3_errmsg(s->db));
	return 0;
}

int store_each_figure(struct store *s, store_figure_fn fn, void *data)
{
	sqlite3_stmt *st;
	int ret = 0;

	if (sqlite3_prepare_v2(s->db, "SELECT idx, by FROM figures ORDER BY idx, by", -1, &st, NULL) !=
	    SQLITE_OK)
		return error("cannot read the figure requests of the results database: %s",
			     sqlite3_errmsg(s->db));
	while (!ret && sqlite3_step(st) == SQLITE_ROW)
		ret = fn((long)sqlite3_column_int64(st, 0), (const char *)sqlite3_column_text(st, 1), data);
	sqlite3_finalize(st);
	return ret;
}

void store_input_init(struct store_input *in)
{
	memset(in, 0, sizeof(*in));
}

void store_input_release(struct store_input *in)
{
	free(in->rgb);
	free(in->path);
	store_input_init(in);
}

int store_input_load(struct store_input *in, struct store *s, const char *model, long idx)
{
	sqlite3_stmt *st;
	int found = 0;

	if (sqlite3_prepare_v2(s->db, "SELECT h, w, rgb, path FROM inputs WHERE model = ? AND idx = ?", -1,
			       &st, NULL) != SQLITE_OK)
		return error("cannot read the inputs of the results database: %s", sqlite3_errmsg(s->db));
	sqlite3_bind_text(st, 1, model, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, idx);
	if (sqlite3_step(st) == SQLITE_ROW) {
		int h = sqlite3_column_int(st, 0), w = sqlite3_column_int(st, 1);
		const void *rgb = sqlite3_column_blob(st, 2);
		/* h * w * 3 in int, as the blob's size is: a product beyond it matches no blob */
		if (h > 0 && w > 0 && rgb && (size_t)h <= INT_MAX / 3 / (size_t)w &&
		    sqlite3_column_bytes(st, 2) == h * w * 3) {
			const char *path = (const char *)sqlite3_column_text(st, 3);
			size_t n = (size_t)h * (size_t)w * 3;
			in->h = h;
			in->w = w;
			in->rgb = xmalloc(n);
			memcpy(in->rgb, rgb, n);
			in->path = path ? xstrdup(path) : NULL;
			found = 1;
		}
	}
	sqlite3_finalize(st);
	return found;
}

void store_heatmap_init(struct store_heatmap *hm)
{
	memset(hm, 0, sizeof(*hm));
	hm->cls = -1;
}

void store_heatmap_release(struct store_heatmap *hm)
{
	free(hm->data);
	store_heatmap_init(hm);
}

int store_heatmap_load(struct store_heatmap *hm, struct store *s, const char *key, long idx)
{
	sqlite3_stmt *st;
	int found = 0;

	if (sqlite3_prepare_v2(
		    s->db,
		    "SELECT h.h, h.w, h.data, (SELECT class FROM images i WHERE i.run_key = h.run_key"
		    " AND i.idx = h.idx) FROM heatmaps h WHERE h.run_key = ? AND h.idx = ?",
		    -1, &st, NULL) != SQLITE_OK)
		return error("cannot read the heatmaps of the results database: %s", sqlite3_errmsg(s->db));
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, idx);
	if (sqlite3_step(st) == SQLITE_ROW) {
		const unsigned char *p = sqlite3_column_blob(st, 2);
		size_t n, i;
		hm->h = sqlite3_column_int(st, 0);
		hm->w = sqlite3_column_int(st, 1);
		if (sqlite3_column_type(st, 3) != SQLITE_NULL)
			hm->cls = (long)sqlite3_column_int64(st, 3);
		n = (size_t)hm->h * (size_t)hm->w;
		if (hm->h > 0 && hm->w > 0 && p && (size_t)sqlite3_column_bytes(st, 2) / 4 == n &&
		    (size_t)sqlite3_column_bytes(st, 2) % 4 == 0) {
			hm->data = xmalloc(n * sizeof(float));
			for (i = 0; i < n; i++) { /* float32 little-endian, whatever this machine is */
				uint32_t u = (uint32_t)p[4 * i] | (uint32_t)p[4 * i + 1] << 8 |
					     (uint32_t)p[4 * i + 2] << 16 | (uint32_t)p[4 * i + 3] << 24;
				memcpy(&hm->data[i], &u, sizeof(float));
			}
		}
		found = 1;
	}
	sqlite3_finalize(st);
	return found;
}

char *store_class_name(struct store *s, const char *model, long idx)
{
	sqlite3_stmt *st;
	char *name = NULL;

	if (sqlite3_prepare_v2(s->db, "SELECT name FROM classes WHERE model = ? AND idx = ?", -1, &st,
			       NULL) != SQLITE_OK)
		return NULL;
	sqlite3_bind_text(st, 1, model, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, idx);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		name = xstrdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return name;
}

char *store_spec_canonical(struct store *s)
{
	sqlite3_stmt *st;
	char *text = NULL;

	/* outputs.spec_id names the spec that last ran here; a database without it, its newest spec */
	if (sqlite3_prepare_v2(
		    s->db,
		    "SELECT canonical FROM specs WHERE id = coalesce((SELECT CAST(value AS INTEGER)"
		    " FROM outputs WHERE key = 'spec_id'), (SELECT max(id) FROM specs))",
		    -1, &st, NULL) != SQLITE_OK)
		return NULL;
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		text = xstrdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return text;
}

void store_limit_growth(struct store *s, long pages)
{
	sqlite3_stmt *st;
	long have = 0;
	char sql[64];

	if (sqlite3_prepare_v2(s->db, "PRAGMA page_count", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		have = (long)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	snprintf(sql, sizeof(sql), "PRAGMA max_page_count = %ld", have + pages);
	sqlite3_exec(s->db, sql, NULL, NULL, NULL);
}

long store_selection_size(struct store *s)
{
	sqlite3_stmt *st;
	long n = -1;

	if (sqlite3_prepare_v2(s->db, "SELECT max(nr_images) FROM runs", -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
		n = (long)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

/* End of the queries of the report */

/* Append (name, value) to a metric list; name is copied. */
static void metric_value_add(struct store_metric_value **v, size_t *nr, size_t *alloc, const char *name,
			     double value)
{
	ALLOC_GROW(*v, *nr + 1, *alloc);
	(*v)[*nr].name = xstrdup(name);
	(*v)[(*nr)++].value = value;
}

static void metric_values_free(struct store_metric_value *v, size_t nr)
{
	size_t i;
	for (i = 0; i < nr; i++)
		free(v[i].name);
	free(v);
}

/*
 * The one walk over image_metrics' means that store_each_metric_mean and store_results_load share:
 * fn(key, name, avg(value), ud) per run and name, in key then name order, NAN where the average is NULL;
 * the runs of spec spec_id only, or every run when spec_id < 0 (without spec_runs, which an old database
 * may lack). fn returns 0 to go on. Returns fn's last value; *failed says whether the query could not be
 * prepared (a database from before the table) or stopped on an error, which each caller reports its way.
 */
static int metric_means_walk(struct store *s, long spec_id,
			     int (*fn)(const char *key, const char *name, double mean, void *ud), void *ud,
			     int *failed)
{
	static const char sql_all[] = "SELECT run_key, name, avg(value) FROM image_metrics"
				      " GROUP BY 1, 2 ORDER BY 1, 2";
	static const char sql_spec[] = "SELECT m.run_key, m.name, avg(m.value) FROM image_metrics m"
				       " JOIN spec_runs p ON p.run_key = m.run_key WHERE p.spec_id = ?1"
				       " GROUP BY 1, 2 ORDER BY 1, 2";
	sqlite3_stmt *st = NULL;
	int ret = 0, rc = SQLITE_DONE;

	*failed = 0;
	if (sqlite3_prepare_v2(s->db, spec_id < 0 ? sql_all : sql_spec, -1, &st, NULL) != SQLITE_OK) {
		*failed = 1;
		return 0;
	}
	if (spec_id >= 0)
		sqlite3_bind_int64(st, 1, spec_id);
	while (!ret && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *key = (const char *)sqlite3_column_text(st, 0);
		const char *name = (const char *)sqlite3_column_text(st, 1);
		if (key && name)
			ret = fn(key, name, column_real(st, 2), ud);
	}
	if (!ret && rc != SQLITE_DONE)
		*failed = 1;
	sqlite3_finalize(st);
	return ret;
}

struct extra_means {
	struct store_results *r;
	size_t *alloc; /* of each run's extra list */
};

static int extra_mean_add(const char *key, const char *name, double mean, void *ud)
{
	struct extra_means *e = ud;
	size_t i;

	for (i = 0; i < e->r->nr; i++) {
		struct store_run_result *x = &e->r->runs[i];
		if (!strcmp(x->key, key))
			metric_value_add(&x->extra, &x->nr_extra, &e->alloc[i], name, mean);
	}
	return 0;
}

/* The means of each run's image_metrics, by name in name order, into r's runs (loaded, in key order too). */
static int load_extra_means(struct store_results *r, struct store *s)
{
	struct extra_means e = { r, xcalloc(r->nr + 1, sizeof(size_t)) };
	int failed;

	metric_means_walk(s, r->spec_id, extra_mean_add, &e, &failed);
	free(e.alloc);
	if (failed)
		return sql_error(s, "reading the runs' metrics");
	return 0;
}

int store_results_load(struct store_results *r, struct store *s, long spec_id)
{
	sqlite3_stmt *st = NULL;
	int rc;

	r->spec_id = spec_id;
	if (sqlite3_prepare_v2(s->db,
			       "SELECT r.key, r.model, r.layer, r.method, r.utility, r.target, r.state, r.nr_images,"
			       " coalesce(a.n, 0), a.ad, a.coh, a.com, a.adcc, a.ic, a.add_"
			       " FROM spec_runs p JOIN runs r ON r.key = p.run_key"
			       " LEFT JOIN aggregates a ON a.run_key = r.key"
			       " WHERE p.spec_id = ?1 ORDER BY p.pos, r.key",
			       -1, &st, NULL) != SQLITE_OK)
		goto fail;
	sqlite3_bind_int64(st, 1, spec_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_run_result *x;
		int has = sqlite3_column_int64(st, 8) > 0; /* an empty aggregate's averages mean nothing */

		ALLOC_GROW(r->runs, r->nr + 1, r->alloc);
		x = &r->runs[r->nr++];
		memset(x, 0, sizeof(*x)); /* ALLOC_GROW does not clear: extra stays empty until load_extra_means */
		x->key = column_dup(st, 0);
		x->model = column_dup(st, 1);
		x->layer = column_dup(st, 2);
		x->method = column_dup(st, 3);
		x->utility = column_dup(st, 4);
		x->target = column_dup(st, 5);
		x->state = column_dup(st, 6);
		x->nr_images = (long)sqlite3_column_int64(st, 7);
		x->n = (long)sqlite3_column_int64(st, 8);
		x->ad = has ? column_real(st, 9) : NAN;
		x->coh = has ? column_real(st, 10) : NAN;
		x->com = has ? column_real(st, 11) : NAN;
		x->adcc = has ? column_real(st, 12) : NAN;
		x->ic = has ? column_real(st, 13) : NAN;
		x->add = has ? column_real(st, 14) : NAN;
	}
	if (rc != SQLITE_DONE)
		goto fail;
	sqlite3_finalize(st);
	if (load_extra_means(r, s) < 0)
		goto fail_extra;
	return 0;
fail:
	sql_error(s, "reading the runs");
	sqlite3_finalize(st);
fail_extra:
	store_results_release(r);
	return -1;
}

void store_results_release(struct store_results *r)
{
	size_t i;

	for (i = 0; i < r->nr; i++) {
		struct store_run_result *x = &r->runs[i];
		free(x->key);
		free(x->model);
		free(x->layer);
		free(x->method);
		free(x->utility);
		free(x->target);
		free(x->state);
		metric_values_free(x->extra, x->nr_extra);
	}
	free(r->runs);
	*r = (struct store_results)STORE_RESULTS_INIT;
}

/* One image's extra metrics, read from ex (rows idx, name, value in idx order) as the images walk on. */
struct image_extras {
	struct store_metric_value *v;
	size_t nr, alloc;
	int pending; /* ex holds a row not yet taken */
};

static int image_extra(struct store *s, sqlite3_stmt *ex, long idx, struct image_extras *x)
{
	int rc = SQLITE_ROW;
	size_t i;

	for (i = 0; i < x->nr; i++)
		free(x->v[i].name);
	x->nr = 0;
	while (x->pending || (rc = sqlite3_step(ex)) == SQLITE_ROW) {
		long at = (long)sqlite3_column_int64(ex, 0);
		const char *name = (const char *)sqlite3_column_text(ex, 1);

		x->pending = 1;
		if (at > idx)
			return 0;
		x->pending = 0;
		if (at == idx && name)
			metric_value_add(&x->v, &x->nr, &x->alloc, name, column_real(ex, 2));
	}
	x->pending = 0;
	if (rc != SQLITE_DONE)
		return sql_error(s, "reading the images' metrics");
	return 0;
}

int store_each_image(struct store *s, const char *key, int (*fn)(const struct store_image *img, void *ud),
		     void *ud)
{
	sqlite3_stmt *st = NULL, *ex = NULL;
	struct image_extras extra = { NULL, 0, 0, 0 };
	int rc, ret = 0;

	if (sqlite3_prepare_v2(s->db,
			       "SELECT idx, name, value FROM image_metrics WHERE run_key = ?1 ORDER BY idx, name", -1,
			       &ex, NULL) != SQLITE_OK)
		ex = NULL; /* a database from before the table: no extra values */
	else
		sqlite3_bind_text(ex, 1, key, -1, SQLITE_STATIC);

	if (sqlite3_prepare_v2(s->db,
			       "SELECT idx, path, label, class, ad, coh, com, ic, add_, y, o, d FROM images"
			       " WHERE run_key = ?1 ORDER BY idx",
			       -1, &st, NULL) != SQLITE_OK) {
		sqlite3_finalize(ex);
		return sql_error(s, "reading the images");
	}
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_image img;
		const unsigned char *path = sqlite3_column_text(st, 1);

		img.idx = (long)sqlite3_column_int64(st, 0);
		img.path = path ? (const char *)path : "";
		img.label = sqlite3_column_type(st, 2) == SQLITE_NULL ? -1 : (long)sqlite3_column_int64(st, 2);
		img.cls = sqlite3_column_type(st, 3) == SQLITE_NULL ? -1 : (long)sqlite3_column_int64(st, 3);
		img.ad = column_real(st, 4);
		img.coh = column_real(st, 5);
		img.com = column_real(st, 6);
		img.ic = column_real(st, 7);
		img.add = column_real(st, 8);
		img.y = column_real(st, 9);
		img.o = column_real(st, 10);
		img.d = column_real(st, 11);
		img.extra = NULL;
		img.nr_extra = 0;
		if (ex && (ret = image_extra(s, ex, img.idx, &extra)) < 0)
			break;
		img.extra = extra.v;
		img.nr_extra = extra.nr;
		if ((ret = fn(&img, ud)))
			break;
	}
	if (!ret && rc != SQLITE_DONE) {
		sql_error(s, "reading the images");
		ret = -1;
	}
	sqlite3_finalize(st);
	sqlite3_finalize(ex);
	metric_values_free(extra.v, extra.nr);
	return ret;
}

struct mean_filter {
	int (*fn)(const char *key, const char *name, double mean, void *ud);
	void *ud;
};

/* store_each_metric_mean's callers never see a NULL average */
static int mean_if_any(const char *key, const char *name, double mean, void *ud)
{
	struct mean_filter *f = ud;
	return isnan(mean) ? 0 : f->fn(key, name, mean, f->ud);
}

int store_each_metric_mean(struct store *s, int (*fn)(const char *key, const char *name, double mean, void *ud),
			   void *ud)
{
	struct mean_filter f = { fn, ud };
	int failed;

	/* a database from before the table has no means, and a walk that fails midway keeps those it gave */
	return metric_means_walk(s, -1, mean_if_any, &f, &failed);
}

/* Per-run notes: in outputs under "note:<run key>", so that no table changes. */

int store_set_run_note(struct store *s, const char *key, const char *note)
{
	struct strbuf k = STRBUF_INIT;
	int ret;

	strbuf_addf(&k, "note:%s", key);
	ret = store_set_output(s, k.buf, note);
	strbuf_release(&k);
	return ret;
}

char *store_run_note(struct store *s, const char *key)
{
	struct strbuf k = STRBUF_INIT;
	char *v;

	strbuf_addf(&k, "note:%s", key);
	v = store_output_value(s, k.buf);
	strbuf_release(&k);
	return v;
}
