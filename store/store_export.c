/*
 * store_export.c - the CSV files of an output folder (runs, images, user metrics, aggregates),
 * written from its database after each run so that a spreadsheet or pandas reads the results.
 */
#include "store/store.h"
#include "store/store_priv.h"

#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

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
