/*
 * store.c - the SQLite results database (see store.h for the schema and the guarantees): opening and
 * closing it, its schema, transactions, and the writes of a run. The reads are store_query.c, the
 * merging of shards store_merge.c, the CSV files store_export.c.
 */
#include "store/store.h"
#include "store/store_priv.h"

#include <math.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/error.h"
#include "lib/strbuf.h"
#include "lib/xalloc.h"

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

int sql_error(struct store *s, const char *what)
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

/* SQLite found the file damaged (truncated, overwritten) or no database at all. */
static int is_damaged(sqlite3 *db)
{
	int code = sqlite3_errcode(db) & 0xff;
	return code == SQLITE_CORRUPT || code == SQLITE_NOTADB;
}

static int damaged(struct store *s)
{
	return error("'%s' is damaged, or not a camlab results database: %s; camlab cannot use it (restore it "
		     "from a copy, or run into a new output folder)",
		     s->path, sqlite3_errmsg(s->db));
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
		if (is_damaged(s->db))
			damaged(s);
		else
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
	int ok, rc;

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
	rc = sqlite3_prepare_v2(s->db, "SELECT value FROM meta WHERE key = 'schema_version'", -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		if (is_damaged(s->db))
			damaged(s);
		else if (rc == SQLITE_DONE || strstr(sqlite3_errmsg(s->db), "no such table"))
			error("'%s' is not a camlab results database (it records no schema version)", s->path);
		else
			error("cannot read results database '%s': %s", s->path, sqlite3_errmsg(s->db));
		sqlite3_finalize(st);
		store_close(s);
		return NULL;
	}
	sqlite3_finalize(st);
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

/*
 * SQLite rolls a transaction back by itself after some errors (SQLITE_FULL, SQLITE_IOERR): then there is
 * nothing left to roll back, which is no error.
 */
int store_rollback(struct store *s)
{
	if (sqlite3_get_autocommit(s->db))
		return 0;
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
