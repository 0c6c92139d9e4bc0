/*
 * store_export.c - the CSV files of an output folder (runs, images, user metrics, aggregates),
 * written from its database after each run so that a spreadsheet or pandas reads the results.
 */
#include "store/store.h"
#include "store/store_priv.h"

#include <sqlite3.h>
#include <stdio.h>

#include "lib/error.h"
#include "lib/quote.h"
#include "lib/strbuf.h"

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
