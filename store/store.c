/*
 * store.c - the SQLite results database (see store.h for the schema and the guarantees).
 */
#include "store/store.h"

#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/error.h"
#include "lib/quote.h"
#include "lib/strbuf.h"
#include "lib/xalloc.h"

struct store {
	sqlite3 *db;
	char *path;
	sqlite3_stmt *put_image;
};

static const char schema[] =
	"PRAGMA journal_mode=WAL;"
	/* WAL + NORMAL cannot corrupt the database; a power cut may lose the last batches, which a resumed
	 * run recomputes. FULL would sync the log at every batch's commit. */
	"PRAGMA synchronous=NORMAL;"
	"CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);"
	"CREATE TABLE IF NOT EXISTS specs(id INTEGER PRIMARY KEY, path TEXT, text TEXT, canonical TEXT,"
	" camlab_version TEXT, created TEXT);"
	"CREATE TABLE IF NOT EXISTS runs(key TEXT PRIMARY KEY, spec_id INTEGER, model TEXT, layer TEXT,"
	" layer_path TEXT, method TEXT, utility TEXT, target TEXT, config TEXT, nr_images INTEGER,"
	" state TEXT, error TEXT, created TEXT, finished TEXT);"
	"CREATE TABLE IF NOT EXISTS images(run_key TEXT, idx INTEGER, path TEXT, label INTEGER,"
	" class INTEGER, ad REAL, coh REAL, com REAL, ic REAL, add_ REAL, y REAL, o REAL, d REAL,"
	" PRIMARY KEY (run_key, idx));"
	"CREATE TABLE IF NOT EXISTS aggregates(run_key TEXT PRIMARY KEY, n INTEGER, ad REAL, coh REAL,"
	" com REAL, adcc REAL, ic REAL, add_ REAL);"
	"CREATE TABLE IF NOT EXISTS heatmaps(run_key TEXT, idx INTEGER, h INTEGER, w INTEGER, data BLOB,"
	" PRIMARY KEY (run_key, idx));"
	"CREATE TABLE IF NOT EXISTS inputs(model TEXT, idx INTEGER, path TEXT, h INTEGER, w INTEGER, rgb "
	"BLOB,"
	" PRIMARY KEY (model, idx));"
	"CREATE TABLE IF NOT EXISTS classes(model TEXT, idx INTEGER, name TEXT, PRIMARY KEY (model, idx));"
	"CREATE TABLE IF NOT EXISTS spec_runs(spec_id INTEGER, run_key TEXT, pos INTEGER,"
	" PRIMARY KEY (spec_id, run_key));"
	"CREATE TABLE IF NOT EXISTS user_metrics(run_key TEXT, idx INTEGER, name TEXT, value REAL,"
	" PRIMARY KEY (run_key, idx, name));"
	"CREATE TABLE IF NOT EXISTS image_metrics(run_key TEXT, idx INTEGER, name TEXT, value REAL,"
	" PRIMARY KEY (run_key, idx, name));"
	"CREATE TABLE IF NOT EXISTS outputs(key TEXT PRIMARY KEY, value TEXT);"
	"CREATE TABLE IF NOT EXISTS figures(idx INTEGER, by TEXT, PRIMARY KEY (idx, by));"
	"CREATE TABLE IF NOT EXISTS skipped(run_key TEXT, idx INTEGER, path TEXT, PRIMARY KEY (run_key, "
	"idx));"
	"INSERT OR IGNORE INTO meta VALUES ('schema_version', '1');"
	"INSERT OR IGNORE INTO meta VALUES ('created_by', 'camlab " CAMLAB_VERSION "');";

static int exec(struct store *s, const char *sql);

static int sql_error(struct store *s, const char *what)
{
	return error("%s: %s failed: %s", s->path, what, sqlite3_errmsg(s->db));
}

static void now(char buf[32])
{
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

char *store_path(const char *dir)
{
	struct strbuf sb = STRBUF_INIT;
	strbuf_addf(&sb, "%s/results.sqlite", dir);
	return strbuf_detach(&sb, NULL);
}

struct store *store_open(const char *dir)
{
	struct store *s = xcalloc(1, sizeof(*s));
	char *err = NULL;

	s->path = store_path(dir);
	if (sqlite3_open(s->path, &s->db) != SQLITE_OK) {
		error("cannot open results database '%s': %s", s->path, sqlite3_errmsg(s->db));
		store_close(s);
		return NULL;
	}
	/* Another camlab on the same folder (a resumed run, a report) waits rather than fails. */
	sqlite3_busy_timeout(s->db, 10000);
	if (sqlite3_exec(s->db, schema, NULL, NULL, &err) != SQLITE_OK) {
		error("cannot set up results database '%s': %s", s->path, err ? err : "?");
		sqlite3_free(err);
		store_close(s);
		return NULL;
	}
	if (sqlite3_prepare_v2(s->db,
			       "INSERT OR REPLACE INTO images VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", -1,
			       &s->put_image, NULL) != SQLITE_OK) {
		sql_error(s, "prepare");
		store_close(s);
		return NULL;
	}
	return s;
}

struct store *store_open_readonly(const char *dir)
{
	struct store *s = xcalloc(1, sizeof(*s));
	sqlite3_stmt *st = NULL;
	int ok;

	s->path = store_path(dir);
	if (access(s->path, F_OK) < 0) {
		store_close(s);
		return NULL;
	}
	/* Read-write where the file allows, only so that closing removes the WAL files, as a writer's
	 * close does; nothing is written. A write-protected file opens read-only. */
	if (sqlite3_open_v2(s->path, &s->db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
		error("cannot open results database '%s': %s", s->path, sqlite3_errmsg(s->db));
		store_close(s);
		return NULL;
	}
	sqlite3_busy_timeout(s->db, 10000);
	/* store_open writes the version first, in the same statement as the tables */
	ok = sqlite3_prepare_v2(s->db, "SELECT value FROM meta WHERE key = 'schema_version'", -1, &st,
				NULL) == SQLITE_OK &&
	     sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	if (!ok) {
		error("'%s' is not a camlab results database (it records no schema version)", s->path);
		store_close(s);
		return NULL;
	}
	ok = sqlite3_prepare_v2(s->db,
				"SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'skipped'", -1,
				&st, NULL) == SQLITE_OK &&
	     sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	/* a database from before the skipped table: an empty one in the connection's temp schema (which
	 * a write-protected file allows) lets the queries stay the same */
	if (!ok && exec(s, "CREATE TEMP TABLE skipped(run_key TEXT, idx INTEGER, path TEXT,"
			   " PRIMARY KEY (run_key, idx))") < 0) {
		store_close(s);
		return NULL;
	}
	/* likewise a database from before image_metrics (road, insertion, ...) */
	ok = sqlite3_prepare_v2(s->db,
				"SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'image_metrics'",
				-1, &st, NULL) == SQLITE_OK &&
	     sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	if (!ok && exec(s, "CREATE TEMP TABLE image_metrics(run_key TEXT, idx INTEGER, name TEXT, value REAL,"
			   " PRIMARY KEY (run_key, idx, name))") < 0) {
		store_close(s);
		return NULL;
	}
	return s;
}

void store_close(struct store *s)
{
	if (!s)
		return;
	sqlite3_finalize(s->put_image);
	sqlite3_close(s->db);
	free(s->path);
	free(s);
}

struct sqlite3 *store_db(struct store *s)
{
	return s->db;
}

static int exec(struct store *s, const char *sql)
{
	char *err = NULL;
	if (sqlite3_exec(s->db, sql, NULL, NULL, &err) != SQLITE_OK) {
		error("%s: %s: %s", s->path, sql, err ? err : "?");
		sqlite3_free(err);
		return -1;
	}
	return 0;
}

int store_begin(struct store *s)
{
	return exec(s, "BEGIN IMMEDIATE");
}

int store_commit(struct store *s)
{
	return exec(s, "COMMIT");
}

int store_rollback(struct store *s)
{
	return exec(s, "ROLLBACK");
}

long store_add_spec(struct store *s, const char *path, const char *text, const char *canonical)
{
	sqlite3_stmt *st;
	long id = -1;
	char ts[32];

	if (sqlite3_prepare_v2(s->db, "SELECT id FROM specs WHERE text = ? AND path = ?", -1, &st, NULL) !=
	    SQLITE_OK)
		return sql_error(s, "select spec");
	sqlite3_bind_text(st, 1, text, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, path, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		id = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (id >= 0)
		return id;
	now(ts);
	if (sqlite3_prepare_v2(s->db, "INSERT INTO specs(path, text, canonical, camlab_version, created) "
				      "VALUES (?,?,?,?,?)",
			       -1, &st, NULL) != SQLITE_OK)
		return sql_error(s, "insert spec");
	sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, text, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, canonical, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, CAMLAB_VERSION, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, ts, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_DONE)
		id = (long)sqlite3_last_insert_rowid(s->db);
	else
		sql_error(s, "insert spec");
	sqlite3_finalize(st);
	return id;
}

int store_add_run(struct store *s, long spec_id, long pos, const struct store_run *r)
{
	sqlite3_stmt *st;
	char ts[32];
	int rc;

	now(ts);
	if (sqlite3_prepare_v2(s->db,
			       "INSERT OR IGNORE INTO runs(key, spec_id, model, layer, layer_path, method, "
			       "utility, target, config, nr_images, state, created) "
			       "VALUES (?,?,?,?,?,?,?,?,?,?,'pending',?)",
			       -1, &st, NULL) != SQLITE_OK)
		return sql_error(s, "insert run");
	sqlite3_bind_text(st, 1, r->key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, spec_id);
	sqlite3_bind_text(st, 3, r->model, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, r->layer, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, r->layer_path, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, r->method, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, r->utility, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 8, r->target, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 9, r->config, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 10, r->nr_images);
	sqlite3_bind_text(st, 11, ts, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return sql_error(s, "insert run");
	if (sqlite3_prepare_v2(s->db, "INSERT OR REPLACE INTO spec_runs VALUES (?,?,?)", -1, &st, NULL) != SQLITE_OK)
		return sql_error(s, "insert spec run");
	sqlite3_bind_int64(st, 1, spec_id);
	sqlite3_bind_text(st, 2, r->key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, pos);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : sql_error(s, "insert spec run");
}

char *store_run_state(struct store *s, const char *key, long *nr_done)
{
	sqlite3_stmt *st;
	char *state = NULL;

	if (sqlite3_prepare_v2(s->db,
			       "SELECT state, (SELECT count(*) FROM images WHERE run_key = runs.key) "
			       "FROM runs WHERE key = ?",
			       -1, &st, NULL) != SQLITE_OK) {
		sql_error(s, "select run");
		return NULL;
	}
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		state = xstrdup((const char *)sqlite3_column_text(st, 0));
		if (nr_done)
			*nr_done = (long)sqlite3_column_int64(st, 1);
	}
	sqlite3_finalize(st);
	return state;
}

int store_set_state(struct store *s, const char *key, const char *state, const char *err)
{
	sqlite3_stmt *st;
	char ts[32];
	int rc;

	now(ts);
	if (sqlite3_prepare_v2(s->db, "UPDATE runs SET state = ?, error = ?, finished = ? WHERE key = ?", -1,
			       &st, NULL) != SQLITE_OK)
		return sql_error(s, "update run");
	sqlite3_bind_text(st, 1, state, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, err, -1, SQLITE_STATIC);
	if (!strcmp(state, "done") || !strcmp(state, "failed"))
		sqlite3_bind_text(st, 3, ts, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 3);
	sqlite3_bind_text(st, 4, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : sql_error(s, "update run");
}

int store_run_started(struct store *s, const char *key)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(s->db, "UPDATE runs SET state = 'partial' WHERE key = ? AND state = 'pending'",
			       -1, &st, NULL) != SQLITE_OK)
		return sql_error(s, "update run");
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : sql_error(s, "update run");
}

long store_done_images(struct store *s, const char *key, unsigned char *done, size_t n, char *const *paths,
		       long *changed)
{
	sqlite3_stmt *st;
	long found = 0;

	memset(done, 0, n);
	if (changed)
		*changed = -1;
	if (sqlite3_prepare_v2(s->db,
			       "SELECT idx, path FROM images WHERE run_key = ?1 "
			       "UNION ALL SELECT idx, path FROM skipped WHERE run_key = ?1",
			       -1, &st, NULL) != SQLITE_OK)
		return sql_error(s, "select images");
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW) {
		sqlite3_int64 i = sqlite3_column_int64(st, 0);
		const char *path = (const char *)sqlite3_column_text(st, 1);
		if (i < 0 || (size_t)i >= n || done[i])
			continue;
		if (paths && (!path || strcmp(path, paths[i]))) {
			if (changed && *changed < 0)
				*changed = (long)i;
			continue;
		}
		done[i] = 1;
		found++;
	}
	sqlite3_finalize(st);
	return found;
}

long store_undo_figures(struct store *s, const char *key, const unsigned char *figure, unsigned char *done,
			size_t n)
{
	sqlite3_stmt *st;
	long cleared = 0;
	size_t i;

	if (sqlite3_prepare_v2(s->db,
			       "SELECT 1 FROM images WHERE run_key = ?1 AND idx = ?2 AND NOT EXISTS "
			       "(SELECT 1 FROM heatmaps WHERE run_key = ?1 AND idx = ?2)",
			       -1, &st, NULL) != SQLITE_OK)
		return sql_error(s, "select heatmaps");
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	for (i = 0; i < n; i++) {
		if (!figure[i] || !done[i])
			continue;
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 2, (sqlite3_int64)i);
		if (sqlite3_step(st) == SQLITE_ROW) {
			done[i] = 0;
			cleared++;
		}
	}
	sqlite3_finalize(st);
	return cleared;
}

static void bind_real(sqlite3_stmt *st, int i, double v)
{
	if (isnan(v))
		sqlite3_bind_null(st, i);
	else
		sqlite3_bind_double(st, i, v);
}

int store_put_image(struct store *s, const char *key, const struct store_image *img)
{
	sqlite3_stmt *st = s->put_image;
	int rc;

	sqlite3_reset(st);
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, img->idx);
	sqlite3_bind_text(st, 3, img->path, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, img->label);
	sqlite3_bind_int64(st, 5, img->cls);
	bind_real(st, 6, img->ad);
	bind_real(st, 7, img->coh);
	bind_real(st, 8, img->com);
	bind_real(st, 9, img->ic);
	bind_real(st, 10, img->add);
	bind_real(st, 11, img->y);
	bind_real(st, 12, img->o);
	bind_real(st, 13, img->d);
	rc = sqlite3_step(st);
	return rc == SQLITE_DONE ? 0 : sql_error(s, "insert image");
}

int store_put_skipped(struct store *s, const char *key, long idx, const char *path)
{
	sqlite3_stmt *st;
	int rc;
	if (sqlite3_prepare_v2(s->db, "INSERT OR REPLACE INTO skipped VALUES (?,?,?)", -1, &st, NULL) !=
	    SQLITE_OK)
		return sql_error(s, "insert skipped image");
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, idx);
	sqlite3_bind_text(st, 3, path, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : sql_error(s, "insert skipped image");
}

int store_aggregate(struct store *s, const char *key)
{
	sqlite3_stmt *st;
	double v[5];
	long n = 0;
	int i, rc;

	if (sqlite3_prepare_v2(s->db,
			       "SELECT count(*), avg(ad), avg(coh), avg(com), avg(ic), avg(add_) FROM images "
			       "WHERE run_key = ?",
			       -1, &st, NULL) != SQLITE_OK)
		return sql_error(s, "aggregate");
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		n = (long)sqlite3_column_int64(st, 0);
		for (i = 0; i < 5; i++)
			v[i] = sqlite3_column_type(st, i + 1) == SQLITE_NULL ? NAN
									     : sqlite3_column_double(st, i + 1);
	}
	sqlite3_finalize(st);
	if (!n)
		return 0;
	if (sqlite3_prepare_v2(s->db, "INSERT OR REPLACE INTO aggregates VALUES (?,?,?,?,?,?,?,?)", -1, &st,
			       NULL) != SQLITE_OK)
		return sql_error(s, "insert aggregate");
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, n);
	bind_real(st, 3, v[0]);
	bind_real(st, 4, v[1]);
	bind_real(st, 5, v[2]);
	/* ADCC of the averages (SCIENCE.md), not an average of per-image values */
	bind_real(st, 6, 3.0 / (1.0 / v[1] + 1.0 / (1.0 - v[2]) + 1.0 / (1.0 - v[0])));
	bind_real(st, 7, v[3]);
	bind_real(st, 8, v[4]);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : sql_error(s, "insert aggregate");
}

static void csv_field(FILE *fp, sqlite3_stmt *st, int i)
{
	struct strbuf sb = STRBUF_INIT;
	const char *t;
	switch (sqlite3_column_type(st, i)) {
	case SQLITE_NULL:
		break;
	case SQLITE_INTEGER:
		fprintf(fp, "%lld", (long long)sqlite3_column_int64(st, i));
		break;
	case SQLITE_FLOAT:
		fprintf(fp, "%.9g", sqlite3_column_double(st, i));
		break;
	default:
		t = (const char *)sqlite3_column_text(st, i);
		quote_csv(&sb, t ? t : "");
		fwrite(sb.buf, 1, sb.len, fp);
		strbuf_release(&sb);
	}
}

static int export_one(struct store *s, const char *dir, const char *name, const char *sql)
{
	struct strbuf path = STRBUF_INIT;
	sqlite3_stmt *st;
	FILE *fp;
	int i, nc;

	strbuf_addf(&path, "%s/%s", dir, name);
	fp = fopen(path.buf, "w");
	if (!fp) {
		error("cannot write '%s'", path.buf);
		strbuf_release(&path);
		return -1;
	}
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
		fclose(fp);
		strbuf_release(&path);
		return sql_error(s, "export");
	}
	nc = sqlite3_column_count(st);
	for (i = 0; i < nc; i++)
		fprintf(fp, "%s%s", i ? "," : "", sqlite3_column_name(st, i));
	fputc('\n', fp);
	while (sqlite3_step(st) == SQLITE_ROW) {
		for (i = 0; i < nc; i++) {
			if (i)
				fputc(',', fp);
			csv_field(fp, st, i);
		}
		fputc('\n', fp);
	}
	sqlite3_finalize(st);
	fclose(fp);
	strbuf_release(&path);
	return 0;
}

long store_merge(struct store *s, const char *path)
{
	static const char *const copy[] = {
		"INSERT OR REPLACE INTO main.images SELECT * FROM shard.images "
		"WHERE run_key IN (SELECT key FROM main.runs)",
		"INSERT OR REPLACE INTO main.heatmaps SELECT * FROM shard.heatmaps "
		"WHERE run_key IN (SELECT key FROM main.runs)",
		"INSERT OR REPLACE INTO main.user_metrics SELECT * FROM shard.user_metrics "
		"WHERE run_key IN (SELECT key FROM main.runs)",
		"CREATE TABLE IF NOT EXISTS shard.image_metrics(run_key TEXT, idx INTEGER, name TEXT, value REAL,"
		" PRIMARY KEY (run_key, idx, name))",
		"INSERT OR REPLACE INTO main.image_metrics SELECT * FROM shard.image_metrics "
		"WHERE run_key IN (SELECT key FROM main.runs)",
		/* a shard of a camlab from before the table */
		"CREATE TABLE IF NOT EXISTS shard.skipped(run_key TEXT, idx INTEGER, path TEXT,"
		" PRIMARY KEY (run_key, idx))",
		"INSERT OR REPLACE INTO main.skipped SELECT * FROM shard.skipped "
		"WHERE run_key IN (SELECT key FROM main.runs)",
		"INSERT OR IGNORE INTO main.inputs SELECT * FROM shard.inputs",
		"INSERT OR IGNORE INTO main.classes SELECT * FROM shard.classes",
	};
	sqlite3 *h = s->db;
	sqlite3_stmt *st;
	long n = -1;
	size_t k;
	int ok = 0;

	if (sqlite3_prepare_v2(h, "ATTACH ? AS shard", -1, &st, NULL) != SQLITE_OK)
		return error("%s: %s", path, sqlite3_errmsg(h));
	sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
	ok = sqlite3_step(st) == SQLITE_DONE;
	sqlite3_finalize(st);
	if (!ok)
		return error("cannot open %s: %s", path, sqlite3_errmsg(h));
	if (store_begin(s) < 0)
		goto detach;
	for (k = 0; k < sizeof(copy) / sizeof(*copy); k++)
		if (sqlite3_exec(h, copy[k], NULL, NULL, NULL) != SQLITE_OK) {
			error("%s: cannot copy its results: %s", path, sqlite3_errmsg(h));
			store_rollback(s);
			goto detach;
		}
	if (store_commit(s) < 0)
		goto detach;
	n = 0;
	if (sqlite3_prepare_v2(h,
			       "SELECT count(*) FROM shard.images WHERE run_key IN (SELECT key FROM main.runs)",
			       -1, &st, NULL) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW)
			n = (long)sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	/* a run that failed in a shard: its images there are merged; the failure is said here */
	if (sqlite3_prepare_v2(h,
			       "SELECT key, error FROM shard.runs WHERE state = 'failed' AND key IN "
			       "(SELECT key FROM main.runs)",
			       -1, &st, NULL) == SQLITE_OK) {
		while (sqlite3_step(st) == SQLITE_ROW)
			warning("%s: run %s failed there: %s", path, sqlite3_column_text(st, 0),
				sqlite3_column_text(st, 1) ? (const char *)sqlite3_column_text(st, 1) : "?");
		sqlite3_finalize(st);
	}
detach:
	sqlite3_exec(h, "DETACH shard", NULL, NULL, NULL);
	return n;
}

/*
 * The columns the image_metrics names add to images.csv (per image) or aggregates.csv (the average over
 * the run's images that have it), after prefix; names other than [a-z0-9_] are left out.
 */
static void metric_columns(struct store *s, struct strbuf *sb, int aggregate)
{
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(s->db, "SELECT DISTINCT name FROM image_metrics ORDER BY name", -1, &st, NULL) !=
	    SQLITE_OK)
		return;
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);
		if (!name || !*name || strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_") != strlen(name))
			continue;
		if (aggregate)
			strbuf_addf(sb, ", (SELECT avg(m.value) FROM image_metrics m WHERE m.run_key = a.run_key AND "
					"m.name = '%s') AS %s", name, name);
		else
			strbuf_addf(sb, ", (SELECT m.value FROM image_metrics m WHERE m.run_key = i.run_key AND "
					"m.idx = i.idx AND m.name = '%s') AS %s", name, name);
	}
	sqlite3_finalize(st);
}

int store_export_csv(struct store *s, const char *dir)
{
	struct strbuf images = STRBUF_INIT, aggregates = STRBUF_INIT;
	int ret = 0;
	ret |= export_one(s, dir, "runs.csv",
			  "SELECT key, model, layer, layer_path, method, utility, target, nr_images, state, "
			  "created, finished FROM runs ORDER BY created, key");
	strbuf_addstr(&images, "SELECT r.model, r.layer, r.method, r.utility, r.target, i.*");
	metric_columns(s, &images, 0);
	strbuf_addstr(&images, " FROM images i JOIN runs r ON r.key = i.run_key ORDER BY r.model, r.layer, "
			       "r.method, r.utility, r.target, i.idx");
	ret |= export_one(s, dir, "images.csv", images.buf);
	ret |= export_one(s, dir, "user_metrics.csv",
			  "SELECT r.model, r.layer, r.method, r.utility, r.target, u.name, count(*) AS n, "
			  "avg(u.value) AS mean FROM user_metrics u JOIN runs r ON r.key = u.run_key "
			  "GROUP BY u.run_key, u.name ORDER BY 1, 2, 3, 4, 5, 6");
	strbuf_addstr(&aggregates, "SELECT r.model, r.layer, r.method, r.utility, r.target, a.*");
	metric_columns(s, &aggregates, 1);
	strbuf_addstr(&aggregates, " FROM aggregates a JOIN runs r ON r.key = a.run_key ORDER BY r.model, "
				   "r.layer, r.method, r.utility, r.target");
	ret |= export_one(s, dir, "aggregates.csv", aggregates.buf);
	strbuf_release(&images);
	strbuf_release(&aggregates);
	return ret ? -1 : 0;
}

int store_put_heatmap(struct store *s, const char *key, long idx, int h, int w, const float *data)
{
	sqlite3_stmt *st;
	int rc;
	if (sqlite3_prepare_v2(s->db, "INSERT OR REPLACE INTO heatmaps VALUES (?,?,?,?,?)", -1, &st, NULL) !=
	    SQLITE_OK)
		return sql_error(s, "insert heatmap");
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, idx);
	sqlite3_bind_int(st, 3, h);
	sqlite3_bind_int(st, 4, w);
	sqlite3_bind_blob(st, 5, data, (int)((size_t)h * (size_t)w * sizeof(float)), SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : sql_error(s, "insert heatmap");
}

int store_put_input(struct store *s, const char *model, long idx, const char *path, int h, int w,
		    const unsigned char *rgb)
{
	sqlite3_stmt *st;
	int rc;
	if (sqlite3_prepare_v2(s->db, "INSERT OR REPLACE INTO inputs VALUES (?,?,?,?,?,?)", -1, &st, NULL) !=
	    SQLITE_OK)
		return sql_error(s, "insert input");
	sqlite3_bind_text(st, 1, model, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, idx);
	sqlite3_bind_text(st, 3, path, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 4, h);
	sqlite3_bind_int(st, 5, w);
	sqlite3_bind_blob(st, 6, rgb, h * w * 3, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : sql_error(s, "insert input");
}

int store_set_output(struct store *s, const char *key, const char *value)
{
	sqlite3_stmt *st;
	int rc;
	if (sqlite3_prepare_v2(s->db, "INSERT OR REPLACE INTO outputs VALUES (?,?)", -1, &st, NULL) != SQLITE_OK)
		return sql_error(s, "insert output");
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : sql_error(s, "insert output");
}

int store_set_figures(struct store *s, const long *idx, const char *const *by, size_t n)
{
	sqlite3_stmt *st;
	size_t i;
	if (exec(s, "DELETE FROM figures") < 0)
		return -1;
	if (sqlite3_prepare_v2(s->db, "INSERT OR IGNORE INTO figures VALUES (?,?)", -1, &st, NULL) != SQLITE_OK)
		return sql_error(s, "insert figure");
	for (i = 0; i < n; i++) {
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, idx[i]);
		sqlite3_bind_text(st, 2, by[i], -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE) {
			sqlite3_finalize(st);
			return sql_error(s, "insert figure");
		}
	}
	sqlite3_finalize(st);
	return 0;
}

int store_put_metric(struct store *s, const char *key, long idx, const char *name, double value)
{
	sqlite3_stmt *st;
	int rc;
	if (isnan(value)) /* not computed: no row, as the CSV's empty field says */
		return 0;
	if (sqlite3_prepare_v2(s->db, "INSERT OR REPLACE INTO image_metrics VALUES (?,?,?,?)", -1, &st, NULL) !=
	    SQLITE_OK)
		return sql_error(s, "insert metric");
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, idx);
	sqlite3_bind_text(st, 3, name, -1, SQLITE_STATIC);
	sqlite3_bind_double(st, 4, value);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : sql_error(s, "insert metric");
}

int store_put_user_metric(struct store *s, const char *key, long idx, const char *name, double value)
{
	sqlite3_stmt *st;
	int rc;
	if (sqlite3_prepare_v2(s->db, "INSERT OR REPLACE INTO user_metrics VALUES (?,?,?,?)", -1, &st, NULL) !=
	    SQLITE_OK)
		return sql_error(s, "insert user metric");
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, idx);
	sqlite3_bind_text(st, 3, name, -1, SQLITE_STATIC);
	bind_real(st, 4, value);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : sql_error(s, "insert user metric");
}

int store_set_classes(struct store *s, const char *model, char *const *names, size_t n)
{
	sqlite3_stmt *st;
	size_t i;
	int ret = 0;

	if (!n)
		return 0;
	if (store_begin(s) < 0)
		return -1;
	if (sqlite3_prepare_v2(s->db, "INSERT OR REPLACE INTO classes VALUES (?,?,?)", -1, &st, NULL) != SQLITE_OK) {
		store_rollback(s);
		return sql_error(s, "insert class");
	}
	for (i = 0; i < n && !ret; i++) {
		sqlite3_reset(st);
		sqlite3_bind_text(st, 1, model, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, (sqlite3_int64)i);
		sqlite3_bind_text(st, 3, names[i], -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE)
			ret = sql_error(s, "insert class");
	}
	sqlite3_finalize(st);
	if (ret) {
		store_rollback(s);
		return -1;
	}
	return store_commit(s);
}

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

static double column_real(sqlite3_stmt *st, int i)
{
	return sqlite3_column_type(st, i) == SQLITE_NULL ? NAN : sqlite3_column_double(st, i);
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
		struct store_result *x;
		int has = sqlite3_column_int64(st, 8) > 0; /* an empty aggregate's averages mean nothing */

		ALLOC_GROW(r->runs, r->nr + 1, r->alloc);
		x = &r->runs[r->nr++];
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
	return 0;
fail:
	sql_error(s, "reading the runs");
	sqlite3_finalize(st);
	store_results_release(r);
	return -1;
}

void store_results_release(struct store_results *r)
{
	size_t i;

	for (i = 0; i < r->nr; i++) {
		struct store_result *x = &r->runs[i];
		free(x->key);
		free(x->model);
		free(x->layer);
		free(x->method);
		free(x->utility);
		free(x->target);
		free(x->state);
	}
	free(r->runs);
	*r = (struct store_results)STORE_RESULTS_INIT;
}

int store_each_image(struct store *s, const char *key, int (*fn)(const struct store_image *img, void *ud),
		     void *ud)
{
	sqlite3_stmt *st = NULL;
	int rc, ret = 0;

	if (sqlite3_prepare_v2(s->db,
			       "SELECT idx, path, label, class, ad, coh, com, ic, add_, y, o, d FROM images"
			       " WHERE run_key = ?1 ORDER BY idx",
			       -1, &st, NULL) != SQLITE_OK) {
		sql_error(s, "reading the images");
		return -1;
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
		if ((ret = fn(&img, ud)))
			break;
	}
	if (!ret && rc != SQLITE_DONE) {
		sql_error(s, "reading the images");
		ret = -1;
	}
	sqlite3_finalize(st);
	return ret;
}
