/*
 * cmd_results.c - `camlab results`: the runs of an output folder and their aggregate metrics (or every
 * image's values) as Markdown, CSV or JSON, filtered by name, so that a script never needs SQL or the
 * database's layout. Reads the database only, read-only.
 */
#include "interp/commands.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "interp/tabular.h"
#include "lib/error.h"
#include "lib/xalloc.h"
#include "store/store.h"

static const char results_usage[] =
	"usage: camlab results [--where FIELD=VALUE[,...]]... [--metrics LIST] [--spec ID] [--images]\n"
	"                      [--format markdown|csv|json] DIR\n"
	"\n"
	"Prints the runs of the output folder DIR (its latest spec version, as the report shows them) with\n"
	"their aggregate metrics, one row per run: model, layer, method, utility, target, state, images\n"
	"(covered), n (aggregated), then ad, coh, com, adcc, ic, add as fractions (tables show them x100)\n"
	"and every other metric the runs have (road, arcc, insertion, deletion, gain, ...: image means).\n"
	"\n"
	"  --where F=V,...  only runs whose field F (model, layer, method, utility, target, state) is V;\n"
	"                   conditions on different fields must all hold, values given for one field\n"
	"                   (--where method=cam --where method=gradcam) are alternatives\n"
	"  --metrics LIST   the metric columns, such as ad,coh,road, or all (default: those the runs have)\n"
	"  --spec ID        another spec version of the folder (camlab status lists them; -N: N versions\n"
	"                   before the latest)\n"
	"  --images         one row per image and run instead: idx, path, label, class, then ad, coh, com,\n"
	"                   ic, add, the other metrics, and the utilities y (original), o (explanation\n"
	"                   kept), d (deleted)\n"
	"  --format F       markdown (default), csv or json (an array of objects keyed by column)\n"
	"\n"
	"Reads results.sqlite read-only. Exit status: 0, 1 if DIR has no results or a spec version is\n"
	"unknown, 2 on a usage error.\n";

struct image_rows {
	struct tab *t;
	const struct store_run_result *r;
	const struct tab_metrics *tm; /* per image adcc has no value: its column is left out */
};

static int image_row(const struct store_image *img, void *ud)
{
	struct image_rows *ir = ud;
	size_t m;

	tab_str(ir->t, ir->r->model);
	tab_str(ir->t, ir->r->layer);
	tab_str(ir->t, ir->r->method);
	tab_str(ir->t, ir->r->utility);
	tab_str(ir->t, ir->r->target);
	tab_int(ir->t, img->idx);
	tab_str(ir->t, img->path);
	tab_int(ir->t, img->label);
	tab_int(ir->t, img->cls);
	for (m = 0; m < ir->tm->nr; m++)
		if (ir->tm->want[m] && strcmp(ir->tm->names[m], "adcc"))
			tab_num(ir->t, tab_image_metric(img, ir->tm, m));
	tab_num(ir->t, img->y);
	tab_num(ir->t, img->o);
	tab_num(ir->t, img->d);
	tab_row_end(ir->t);
	return 0;
}

/* The columns: the run's fields or an image's, then the metrics wanted; cols has room for them all. */
static size_t columns(const char **cols, const struct tab_metrics *tm, int images)
{
	static const char *const run_cols[] = { "model",  "layer", "method", "utility",
						"target", "state", "images", "n" };
	static const char *const image_cols[] = { "model", "layer", "method", "utility", "target",
						  "idx",   "path",  "label",  "class" };
	size_t nr = 0, i;

	for (i = 0; i < (images ? ARRAY_SIZE(image_cols) : ARRAY_SIZE(run_cols)); i++)
		cols[nr++] = images ? image_cols[i] : run_cols[i];
	for (i = 0; i < tm->nr; i++)
		if (tm->want[i] && !(images && !strcmp(tm->names[i], "adcc")))
			cols[nr++] = tm->names[i];
	if (images) {
		cols[nr++] = "y";
		cols[nr++] = "o";
		cols[nr++] = "d";
	}
	return nr;
}

static void run_row(struct tab *t, const struct store_run_result *r, const struct tab_metrics *tm)
{
	size_t m;

	tab_str(t, r->model);
	tab_str(t, r->layer);
	tab_str(t, r->method);
	tab_str(t, r->utility);
	tab_str(t, r->target);
	tab_str(t, r->state);
	tab_int(t, r->nr_images);
	tab_int(t, r->n);
	for (m = 0; m < tm->nr; m++)
		if (tm->want[m])
			tab_num(t, tab_metric(r, tm, m));
	tab_row_end(t);
}

int cmd_results(int argc, char **argv)
{
	struct store_results res = STORE_RESULTS_INIT;
	struct tab_metrics tm;
	struct tab_options o;
	struct store *s = NULL;
	const char **cols = NULL;
	int status;
	size_t i;
	struct tab t;
	long id;

	if ((status = tab_options_parse(&o, argc, argv, "results", results_usage, 1)) >= 0)
		return status;
	if (optind != argc - 1) {
		fputs(results_usage, stderr);
		tab_options_release(&o);
		return 2;
	}
	status = 1;
	tab_metrics_init(&tm);
	if (!(s = store_open_readonly(argv[optind]))) {
		error("'%s' has no results database (results.sqlite)", argv[optind]);
		goto out;
	}
	if ((id = tab_spec_id(s, argv[optind], o.spec)) < 0 || store_results_load(&res, s, id) < 0)
		goto out;
	tab_metrics_collect(&tm, &res);
	if (o.metrics && tab_metrics_choose(&tm, o.metrics) < 0) {
		fprintf(stderr, "\n%s", results_usage);
		status = 2;
		goto out;
	}
	if (!o.metrics)
		tab_metrics_present(&tm, &res, &o.where);

	cols = xcalloc(tm.nr + 16, sizeof(*cols));
	tab_begin(&t, stdout, o.fmt, cols, columns(cols, &tm, o.images));
	status = 0;
	for (i = 0; i < res.nr && !status; i++) {
		const struct store_run_result *r = &res.runs[i];
		struct image_rows ir = { &t, r, &tm };

		if (!tab_where_match(&o.where, r))
			continue;
		if (!o.images)
			run_row(&t, r, &tm);
		else if (store_each_image(s, r->key, image_row, &ir) < 0)
			status = 1;
	}
	if (tab_end(&t) < 0)
		status = 1;
out:
	free(cols);
	tab_metrics_release(&tm);
	store_results_release(&res);
	store_close(s);
	tab_options_release(&o);
	return status;
}
