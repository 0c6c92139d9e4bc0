/*
 * tabular.c - Markdown, CSV and JSON rows, and the --where and --metrics options of the commands that
 * print runs (see tabular.h).
 */
#include "interp/tabular.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cam/metrics.h"
#include "interp/commands.h"
#include "lib/error.h"
#include "lib/quote.h"
#include "lib/suggest.h"
#include "lib/xalloc.h"
#include "store/store.h"

int tab_format_parse(const char *s, enum tab_format *f)
{
	if (!strcmp(s, "markdown") || !strcmp(s, "md"))
		*f = TAB_MARKDOWN;
	else if (!strcmp(s, "csv"))
		*f = TAB_CSV;
	else if (!strcmp(s, "json"))
		*f = TAB_JSON;
	else
		return error("unknown format '%s' (markdown, csv or json)", s);
	return 0;
}

void tab_begin(struct tab *t, FILE *fp, enum tab_format fmt, const char *const *cols, size_t nr_cols)
{
	size_t i;

	t->fp = fp;
	t->fmt = fmt;
	t->cols = cols;
	t->nr_cols = nr_cols;
	t->cell = 0;
	t->rows = 0;
	strbuf_init(&t->line, 256);
	if (fmt == TAB_JSON) {
		fputs("[", fp);
		return;
	}
	for (i = 0; i < nr_cols; i++) {
		if (fmt == TAB_CSV) {
			if (i)
				strbuf_addch(&t->line, ',');
			quote_csv(&t->line, cols[i]);
		} else {
			strbuf_addstr(&t->line, "| ");
			quote_markdown(&t->line, cols[i]);
			strbuf_addch(&t->line, ' ');
		}
	}
	if (fmt == TAB_MARKDOWN) {
		strbuf_addstr(&t->line, "|\n");
		for (i = 0; i < nr_cols; i++)
			strbuf_addstr(&t->line, "|---");
		strbuf_addch(&t->line, '|');
	}
	strbuf_addch(&t->line, '\n');
	fputs(t->line.buf, fp);
	strbuf_reset(&t->line);
}

/* Start a cell: the separator, and in JSON its key. */
static void cell_start(struct tab *t)
{
	if (t->cell >= t->nr_cols)
		BUG("row of more than %zu cells", t->nr_cols);
	switch (t->fmt) {
	case TAB_JSON:
		strbuf_addstr(&t->line, t->cell ? ", " : "{");
		quote_json(&t->line, t->cols[t->cell]);
		strbuf_addstr(&t->line, ": ");
		break;
	case TAB_CSV:
		if (t->cell)
			strbuf_addch(&t->line, ',');
		break;
	case TAB_MARKDOWN:
		strbuf_addstr(&t->line, "| ");
		break;
	}
	t->cell++;
}

static void cell_end(struct tab *t)
{
	if (t->fmt == TAB_MARKDOWN)
		strbuf_addch(&t->line, ' ');
}

void tab_str(struct tab *t, const char *s)
{
	cell_start(t);
	if (!s) {
		if (t->fmt == TAB_JSON)
			strbuf_addstr(&t->line, "null");
	} else if (t->fmt == TAB_JSON) {
		quote_json(&t->line, s);
	} else if (t->fmt == TAB_CSV) {
		quote_csv(&t->line, s);
	} else {
		quote_markdown(&t->line, s);
	}
	cell_end(t);
}

void tab_num(struct tab *t, double x)
{
	cell_start(t);
	if (!isfinite(x)) /* JSON has no NaN or infinity; an average of nothing is no number */
		strbuf_addstr(&t->line, t->fmt == TAB_JSON ? "null" : "");
	else
		strbuf_addf(&t->line, t->fmt == TAB_MARKDOWN ? "%.4f" : "%.10g", x);
	cell_end(t);
}

void tab_int(struct tab *t, long x)
{
	cell_start(t);
	strbuf_addf(&t->line, "%ld", x);
	cell_end(t);
}

void tab_row_end(struct tab *t)
{
	if (t->cell != t->nr_cols)
		BUG("row of %zu cells, not %zu", t->cell, t->nr_cols);
	if (t->fmt == TAB_JSON)
		fprintf(t->fp, "%s\n%s}", t->rows ? "," : "", t->line.buf);
	else
		fprintf(t->fp, "%s%s\n", t->line.buf, t->fmt == TAB_MARKDOWN ? "|" : "");
	strbuf_reset(&t->line);
	t->cell = 0;
	t->rows++;
}

int tab_end(struct tab *t)
{
	if (t->fmt == TAB_JSON)
		fputs(t->rows ? "\n]\n" : "]\n", t->fp);
	strbuf_release(&t->line);
	if (fflush(t->fp) || ferror(t->fp))
		return error("cannot write the table");
	return 0;
}

static const char *const field_names[TAB_NR_FIELDS] = { "model",   "layer",  "method",
							"utility", "target", "state" };

const char *tab_field_value(const struct store_run_result *r, enum tab_field f)
{
	switch (f) {
	case TAB_MODEL:
		return r->model;
	case TAB_LAYER:
		return r->layer;
	case TAB_METHOD:
		return r->method;
	case TAB_UTILITY:
		return r->utility;
	case TAB_TARGET:
		return r->target;
	default:
		return r->state;
	}
}

/* The field named by the text at p up to an '=' (len bytes), or -1. */
static int field_at(const char *p, size_t len)
{
	int f;

	for (f = 0; f < TAB_NR_FIELDS; f++)
		if (strlen(field_names[f]) == len && !strncmp(p, field_names[f], len))
			return f;
	return -1;
}

/*
 * The end of the value that starts at p: the next comma that a field name and '=' follow, so that a
 * value may hold commas and '=' ("model=a,b" is the model "a,b").
 */
static const char *value_end(const char *p)
{
	const char *c, *eq;

	for (c = strchr(p, ','); c; c = strchr(c + 1, ','))
		if ((eq = strchr(c + 1, '=')) && field_at(c + 1, (size_t)(eq - c - 1)) >= 0)
			return c;
	return p + strlen(p);
}

int tab_where_add(struct tab_where *w, const char *arg)
{
	const char *p = arg;

	do {
		const char *eq = strchr(p, '='), *end, *near[1];
		char *name;
		int f;

		if (!eq)
			return error("--where: expected FIELD=VALUE, not '%s'", p);
		if ((f = field_at(p, (size_t)(eq - p))) < 0) {
			name = xstrndup(p, (size_t)(eq - p));
			if (suggest_nearest(name, field_names, TAB_NR_FIELDS, near, 1))
				error("--where: unknown field '%s'; did you mean '%s'?", name, near[0]);
			else
				error("--where: unknown field '%s' (model, layer, method, utility, target or "
				      "state)",
				      name);
			free(name);
			return -1;
		}
		end = value_end(eq + 1);
		w->values[f] = xrealloc(w->values[f], (w->nr[f] + 1) * sizeof(*w->values[f]));
		w->values[f][w->nr[f]++] = xstrndup(eq + 1, (size_t)(end - eq - 1));
		p = end + (*end == ',');
	} while (*p);
	return 0;
}

int tab_where_match(const struct tab_where *w, const struct store_run_result *r)
{
	int f;
	size_t i;

	for (f = 0; f < TAB_NR_FIELDS; f++) {
		if (!w->nr[f])
			continue;
		for (i = 0; i < w->nr[f] && strcmp(w->values[f][i], tab_field_value(r, (enum tab_field)f));
		     i++)
			;
		if (i == w->nr[f])
			return 0;
	}
	return 1;
}

void tab_where_release(struct tab_where *w)
{
	int f;
	size_t i;

	for (f = 0; f < TAB_NR_FIELDS; f++) {
		for (i = 0; i < w->nr[f]; i++)
			free(w->values[f][i]);
		free(w->values[f]);
	}
	memset(w, 0, sizeof(*w));
}

/* The paper's metrics, as the aggregates table holds them */
static const char *const paper_metrics[] = { "ad", "coh", "com", "adcc", "ic", "add" };
enum { NR_PAPER = 6 };

static size_t metric_index(const struct tab_metrics *tm, const char *name)
{
	size_t m;
	for (m = 0; m < tm->nr && strcmp(tm->names[m], name); m++)
		;
	return m;
}

static void metric_add(struct tab_metrics *tm, const char *name)
{
	size_t old = tm->alloc;

	if (metric_index(tm, name) < tm->nr)
		return;
	ALLOC_GROW(tm->names, tm->nr + 1, tm->alloc);
	if (tm->alloc != old) {
		tm->want = xrealloc(tm->want, tm->alloc);
		memset(tm->want + old, 0, tm->alloc - old);
	}
	tm->names[tm->nr++] = xstrdup(name);
}

void tab_metrics_init(struct tab_metrics *tm)
{
	size_t i;

	memset(tm, 0, sizeof(*tm));
	for (i = 0; i < NR_PAPER; i++)
		metric_add(tm, paper_metrics[i]);
	for (i = 0; i < METRIC_NR_EXTRA; i++)
		metric_add(tm, metric_extra_names[i]);
}

void tab_metrics_release(struct tab_metrics *tm)
{
	size_t i;

	for (i = 0; i < tm->nr; i++)
		free(tm->names[i]);
	free(tm->names);
	free(tm->want);
	memset(tm, 0, sizeof(*tm));
}

void tab_metrics_collect(struct tab_metrics *tm, const struct store_results *res)
{
	size_t i, j;

	for (i = 0; i < res->nr; i++)
		for (j = 0; j < res->runs[i].nr_extra; j++)
			metric_add(tm, res->runs[i].extra[j].name);
}

/* The value of the metric called name among v[n], NAN if it has none. */
static double value_named(const struct store_metric_value *v, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(v[i].name, name))
			return v[i].value;
	return NAN;
}

double tab_metric(const struct store_run_result *r, const struct tab_metrics *tm, size_t m)
{
	const double v[NR_PAPER] = { r->ad, r->coh, r->com, r->adcc, r->ic, r->add };
	return m < NR_PAPER ? v[m] : value_named(r->extra, r->nr_extra, tm->names[m]);
}

double tab_image_metric(const struct store_image *img, const struct tab_metrics *tm, size_t m)
{
	const double v[NR_PAPER] = { img->ad, img->coh, img->com, NAN, img->ic, img->add };
	return m < NR_PAPER ? v[m] : value_named(img->extra, img->nr_extra, tm->names[m]);
}

int tab_metrics_choose(struct tab_metrics *tm, const char *arg)
{
	const char *p = arg;
	size_t m;

	memset(tm->want, 0, tm->nr);
	while (*p) {
		const char *end = strchr(p, ','), *near[1];
		char *name;

		if (!end)
			end = p + strlen(p);
		name = xstrndup(p, (size_t)(end - p));
		if (!strcmp(name, "all")) {
			memset(tm->want, 1, tm->nr);
		} else if ((m = metric_index(tm, name)) < tm->nr) {
			tm->want[m] = 1;
		} else {
			if (suggest_nearest(name, (const char *const *)tm->names, tm->nr, near, 1))
				error("--metrics: unknown metric '%s'; did you mean '%s'?", name, near[0]);
			else
				error("--metrics: unknown metric '%s' (ad, coh, com, adcc, ic, add, road, ... or "
				      "all)",
				      name);
			free(name);
			return -1;
		}
		free(name);
		p = *end ? end + 1 : end;
	}
	return 0;
}

void tab_metrics_present(struct tab_metrics *tm, const struct store_results *res, const struct tab_where *w)
{
	size_t i, m;

	for (i = 0; i < res->nr; i++)
		for (m = 0; m < tm->nr; m++)
			if (tab_where_match(w, &res->runs[i]) && isfinite(tab_metric(&res->runs[i], tm, m)))
				tm->want[m] = 1;
}

int tab_options_parse(struct tab_options *o, int argc, char **argv, const char *name, const char *usage,
		      int with_results)
{
	/* --spec and --images are results' alone */
	static const struct option longopts[] = {
		{ "where", required_argument, NULL, 'w' }, { "format", required_argument, NULL, 'f' },
		{ "metrics", required_argument, NULL, 'm' }, { "help", no_argument, NULL, 'h' },
		{ "spec", required_argument, NULL, 's' },	 { "images", no_argument, NULL, 'i' },
		{ NULL, 0, NULL, 0 },
	};
	static const struct option compare_longopts[] = {
		{ "where", required_argument, NULL, 'w' }, { "format", required_argument, NULL, 'f' },
		{ "metrics", required_argument, NULL, 'm' }, { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	memset(o, 0, sizeof(*o));
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "h", with_results ? longopts : compare_longopts, NULL)) != -1) {
		switch (opt) {
		case 'h':
			fputs(usage, stdout);
			tab_options_release(o);
			return 0;
		case 'w':
			if (tab_where_add(&o->where, optarg) < 0)
				goto usage;
			break;
		case 'f':
			if (tab_format_parse(optarg, &o->fmt) < 0)
				goto usage;
			break;
		case 'm': /* checked once the databases say which metrics they hold */
			o->metrics = optarg;
			break;
		case 's':
			o->spec = optarg;
			break;
		case 'i':
			o->images = 1;
			break;
		default:
			fprintf(stderr, "camlab %s: unknown option '%s'\n\n%s", name, commands_bad_option(argv),
				usage);
			tab_options_release(o);
			return 2;
		}
	}
	return -1;
usage:
	fprintf(stderr, "\n%s", usage);
	tab_options_release(o);
	return 2;
}

void tab_options_release(struct tab_options *o)
{
	tab_where_release(&o->where);
}

long tab_spec_id(struct store *s, const char *dir, const char *which)
{
	long *ids = NULL, latest, nr, want = -1, i;
	char *end;

	if ((nr = store_spec_ids(s, &ids, &latest)) < 0)
		return -1;
	if (latest < 0) {
		free(ids);
		return error("'%s' has no runs yet", dir);
	}
	if (!which) {
		free(ids);
		return latest;
	}
	errno = 0;
	want = strtol(which, &end, 10);
	if (end == which || *end || errno) {
		free(ids);
		return error("expected a spec version (ID or -N), not '%s'", which);
	}
	if (want <= 0) { /* -N: count back from the latest among the versions */
		for (i = 0; i < nr && ids[i] != latest; i++)
			;
		i += want;
		want = i >= 0 && i < nr ? ids[i] : -1;
		if (want < 0) {
			free(ids);
			return error("'%s' has no spec version %s (it has %ld)", dir, which, nr);
		}
	} else {
		for (i = 0; i < nr && ids[i] != want; i++)
			;
		if (i == nr) {
			free(ids);
			return error("'%s' has no spec version %ld (camlab status %s lists them)", dir, want,
				     dir);
		}
	}
	free(ids);
	return want;
}
