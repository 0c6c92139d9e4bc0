/*
 * cmd_results.c - `camlab results`: the runs of an output folder and their aggregate metrics (or every
 * image's values) as Markdown, CSV or JSON, filtered by name, so that a script never needs SQL or the
 * database's layout. Reads the database only, read-only.
 */
#include "interp/commands.h"

#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
	"(covered), n (aggregated), then ad, coh, com, adcc, ic, add as fractions (tables show them x100).\n"
	"\n"
	"  --where F=V,...  only runs whose field F (model, layer, method, utility, target, state) is V;\n"
	"                   conditions on different fields must all hold, values given for one field\n"
	"                   (--where method=cam --where method=gradcam) are alternatives\n"
	"  --metrics LIST   the metric columns, such as ad,coh, or all (default: those the runs have)\n"
	"  --spec ID        another spec version of the folder (camlab status lists them; -N: N versions\n"
	"                   before the latest)\n"
	"  --images         one row per image and run instead: idx, path, label, class, then ad, coh, com,\n"
	"                   ic, add and the utilities y (original), o (explanation kept), d (deleted)\n"
	"  --format F       markdown (default), csv or json (an array of objects keyed by column)\n"
	"\n"
	"Reads results.sqlite read-only. Exit status: 0, 1 if DIR has no results or a spec version is\n"
	"unknown, 2 on a usage error.\n";

struct image_rows {
	struct tab *t;
	const struct store_run_result *r;
	const int *want; /* metrics: ad coh com adcc ic add; per image adcc has no value */
};

static int image_row(const struct store_image *img, void *ud)
{
	struct image_rows *ir = ud;
	const double v[TAB_NR_METRICS] = { img->ad, img->coh, img->com, NAN, img->ic, img->add };
	int m;

	tab_str(ir->t, ir->r->model);
	tab_str(ir->t, ir->r->layer);
	tab_str(ir->t, ir->r->method);
	tab_str(ir->t, ir->r->utility);
	tab_str(ir->t, ir->r->target);
	tab_int(ir->t, img->idx);
	tab_str(ir->t, img->path);
	tab_int(ir->t, img->label);
	tab_int(ir->t, img->cls);
	for (m = 0; m < TAB_NR_METRICS; m++)
		if (m != 3 && ir->want[m])
			tab_num(ir->t, v[m]);
	tab_num(ir->t, img->y);
	tab_num(ir->t, img->o);
	tab_num(ir->t, img->d);
	tab_row_end(ir->t);
	return 0;
}

int cmd_results(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "where", required_argument, NULL, 'w' },
		{ "format", required_argument, NULL, 'f' },
		{ "metrics", required_argument, NULL, 'm' },
		{ "spec", required_argument, NULL, 's' },
		{ "images", no_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static const char *const run_cols[] = { "model",  "layer", "method", "utility",
						"target", "state", "images", "n" };
	static const char *const image_cols[] = { "model", "layer", "method", "utility", "target",
						  "idx",   "path",  "label",  "class" };
	struct tab_where where = TAB_WHERE_INIT;
	struct store_results res = STORE_RESULTS_INIT;
	enum tab_format fmt = TAB_MARKDOWN;
	const char *spec = NULL, *dir, *cols[32];
	int opt, images = 0, want[TAB_NR_METRICS], status = 1, m, metrics_given = 0;
	size_t nr_cols = 0, i;
	struct store *s = NULL;
	struct tab t;
	long id;

	memset(want, 0, sizeof(want));
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'h':
			fputs(results_usage, stdout);
			tab_where_release(&where);
			return 0;
		case 'w':
			if (tab_where_add(&where, optarg) < 0)
				goto usage;
			break;
		case 'f':
			if (tab_format_parse(optarg, &fmt) < 0)
				goto usage;
			break;
		case 'm':
			if (tab_metrics_parse(optarg, want) < 0)
				goto usage;
			metrics_given = 1;
			break;
		case 's':
			spec = optarg;
			break;
		case 'i':
			images = 1;
			break;
		default:
			fprintf(stderr, "camlab results: unknown option '%s'\n\n%s",
				commands_bad_option(argv), results_usage);
			tab_where_release(&where);
			return 2;
		}
	}
	if (optind != argc - 1) {
		fputs(results_usage, stderr);
		tab_where_release(&where);
		return 2;
	}
	dir = argv[optind];
	if (!(s = store_open_readonly(dir))) {
		error("'%s' has no results database (results.sqlite)", dir);
		goto out;
	}
	if ((id = tab_spec_id(s, dir, spec)) < 0 || store_results_load(&res, s, id) < 0)
		goto out;
	if (!metrics_given)
		tab_metrics_present(&res, &where, want);

	if (images) {
		for (i = 0; i < ARRAY_SIZE(image_cols); i++)
			cols[nr_cols++] = image_cols[i];
		for (m = 0; m < TAB_NR_METRICS; m++)
			if (m != 3 && want[m])
				cols[nr_cols++] = tab_metric_names[m];
		cols[nr_cols++] = "y";
		cols[nr_cols++] = "o";
		cols[nr_cols++] = "d";
	} else {
		for (i = 0; i < ARRAY_SIZE(run_cols); i++)
			cols[nr_cols++] = run_cols[i];
		for (m = 0; m < TAB_NR_METRICS; m++)
			if (want[m])
				cols[nr_cols++] = tab_metric_names[m];
	}
	tab_begin(&t, stdout, fmt, cols, nr_cols);
	status = 0;
	for (i = 0; i < res.nr; i++) {
		const struct store_run_result *r = &res.runs[i];

		if (!tab_where_match(&where, r))
			continue;
		if (images) {
			struct image_rows ir = { &t, r, want };
			if (store_each_image(s, r->key, image_row, &ir) < 0) {
				status = 1;
				break;
			}
			continue;
		}
		tab_str(&t, r->model);
		tab_str(&t, r->layer);
		tab_str(&t, r->method);
		tab_str(&t, r->utility);
		tab_str(&t, r->target);
		tab_str(&t, r->state);
		tab_int(&t, r->nr_images);
		tab_int(&t, r->n);
		for (m = 0; m < TAB_NR_METRICS; m++)
			if (want[m])
				tab_num(&t, tab_metric(r, m));
		tab_row_end(&t);
	}
	if (tab_end(&t) < 0)
		status = 1;
out:
	store_results_release(&res);
	store_close(s);
	tab_where_release(&where);
	return status;
usage:
	fprintf(stderr, "\n%s", results_usage);
	tab_where_release(&where);
	return 2;
}
