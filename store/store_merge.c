/*
 * store_merge.c - gathering a shard's database (camlab run --shard) into the output folder's one.
 */
#include "store/store.h"
#include "store/store_priv.h"

#include <sqlite3.h>

#include "lib/error.h"

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
