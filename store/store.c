/*
 * store.c - the SQLite results database (see store.h for the schema and the guarantees).
 */
#include "store/store.h"

#include <limits.h>
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

int store_export_csv(struct store *s, const char *dir)
{
	int ret = 0;
	ret |= export_one(s, dir, "runs.csv",
			  "SELECT key, model, layer, layer_path, method, utility, target, nr_images, state, "
			  "created, finished FROM runs ORDER BY created, key");
	ret |= export_one(s, dir, "images.csv",
			  "SELECT r.model, r.layer, r.method, r.utility, r.target, i.* FROM images i JOIN runs r "
			  "ON r.key = i.run_key ORDER BY r.model, r.layer, r.method, r.utility, r.target, i.idx");
	ret |= export_one(s, dir, "user_metrics.csv",
			  "SELECT r.model, r.layer, r.method, r.utility, r.target, u.name, count(*) AS n, "
			  "avg(u.value) AS mean FROM user_metrics u JOIN runs r ON r.key = u.run_key "
			  "GROUP BY u.run_key, u.name ORDER BY 1, 2, 3, 4, 5, 6");
	ret |= export_one(s, dir, "aggregates.csv",
			  "SELECT r.model, r.layer, r.method, r.utility, r.target, a.* FROM aggregates a JOIN "
			  "runs r ON r.key = a.run_key ORDER BY r.model, r.layer, r.method, r.utility, r.target");
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
		struct store_run_result *x = &r->runs[i];
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
