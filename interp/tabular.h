/*
 * tabular.h - the rows `camlab results` and `camlab compare` print, as a Markdown table (to read), CSV
 * or JSON (for scripts), every name going through lib/quote's function for the format; and their
 * --where filter and --metrics choice, so that both commands take the same options.
 */
#ifndef INTERP_TABULAR_H
#define INTERP_TABULAR_H

#include <stddef.h>
#include <stdio.h>

#include "lib/strbuf.h"

struct store;
struct store_run_result;
struct store_image;
struct store_results;

enum tab_format { TAB_MARKDOWN, TAB_CSV, TAB_JSON };

/* "markdown" (or "md"), "csv" or "json" into *f: 0, or -1 after an error naming the choices. */
int tab_format_parse(const char *s, enum tab_format *f);

/*
 * A table being written to fp, one row at a time: tab_begin writes the header (Markdown, CSV) or the
 * opening bracket (JSON: an array with one object per row, keyed by the column names); each row is its
 * cells, one call each, in column order, then tab_row_end; tab_end closes it. cols is borrowed until
 * tab_end.
 */
struct tab {
	FILE *fp;
	enum tab_format fmt;
	const char *const *cols;
	size_t nr_cols, cell; /* the next cell's column */
	long rows;
	struct strbuf line;
};

void tab_begin(struct tab *t, FILE *fp, enum tab_format fmt, const char *const *cols, size_t nr_cols);
/* A text cell; NULL is an empty cell (JSON null). */
void tab_str(struct tab *t, const char *s);
/* A number: NAN is an empty cell (JSON null); Markdown shows 4 decimals, CSV and JSON 10 digits. */
void tab_num(struct tab *t, double x);
void tab_int(struct tab *t, long x);
void tab_row_end(struct tab *t);
/* Close the table; 0, or -1 after an error when fp could not be written. */
int tab_end(struct tab *t);

/* The run fields --where can name: model, layer, method, utility, target, state. */
enum tab_field { TAB_MODEL, TAB_LAYER, TAB_METHOD, TAB_UTILITY, TAB_TARGET, TAB_STATE, TAB_NR_FIELDS };

/*
 * A filter on runs: for each field, the values it may have (none given: any). Conditions on different
 * fields must all hold; values given for the same field are alternatives.
 */
struct tab_where {
	char **values[TAB_NR_FIELDS]; /* owned */
	size_t nr[TAB_NR_FIELDS];
};
#define TAB_WHERE_INIT    \
	{                 \
		{ NULL }, \
		{         \
			0 \
		}         \
	}

/*
 * Add the conditions "field=value[,field=value...]" of one --where: 0, or -1 after an error. A comma
 * ends a value only where a field name and '=' follow it, so a value may hold commas.
 */
int tab_where_add(struct tab_where *w, const char *arg);
int tab_where_match(const struct tab_where *w, const struct store_run_result *r);
const char *tab_field_value(const struct store_run_result *r, enum tab_field f);
void tab_where_release(struct tab_where *w);

/*
 * The metric columns: the paper's six (ad, coh, com, adcc, ic, add), the others camlab computes (road,
 * arcc, insertion, ... as cam/metrics.h names them) and any other name the databases hold, each wanted
 * or not. tab_metrics_init knows the first two groups; tab_metrics_collect adds the third.
 */
struct tab_metrics {
	char **names;
	unsigned char *want;
	size_t nr, alloc;
};

void tab_metrics_init(struct tab_metrics *tm);
void tab_metrics_release(struct tab_metrics *tm);
/* Add the names of the metrics the runs of res have that tm does not know yet. */
void tab_metrics_collect(struct tab_metrics *tm, const struct store_results *res);
/*
 * --metrics "ad,road": want each metric named (none other); "all" is every one tm knows.
 * 0, or -1 after an error with the nearest name.
 */
int tab_metrics_choose(struct tab_metrics *tm, const char *arg);
/*
 * Want each metric that a run of res that w matches has a value of: the default columns, which leave
 * out the metrics a spec did not ask for.
 */
void tab_metrics_present(struct tab_metrics *tm, const struct store_results *res, const struct tab_where *w);
/* Metric m of tm: a run's aggregate, or one image's value (adcc has none per image); NAN: none. */
double tab_metric(const struct store_run_result *r, const struct tab_metrics *tm, size_t m);
double tab_image_metric(const struct store_image *img, const struct tab_metrics *tm, size_t m);

/*
 * The options `camlab results` and `camlab compare` share: --where, --format, --metrics, --help, and
 * for results also --spec and --images (with_results).
 */
struct tab_options {
	struct tab_where where;
	enum tab_format fmt;
	const char *metrics; /* --metrics as given, or NULL: tab_metrics_choose checks it */
	const char *spec;
	int images;
};

/*
 * Parse the options of `camlab name` into o (zeroed first), printing usage after --help (to stdout) or
 * a usage error (to stderr). Returns -1 to go on, optind at the first operand; else the exit status
 * (0 after --help, 2 after a usage error), with o released.
 */
int tab_options_parse(struct tab_options *o, int argc, char **argv, const char *name, const char *usage,
		      int with_results);
void tab_options_release(struct tab_options *o);

/*
 * The spec version which names in the results database s of the folder dir: a recorded id ("3"), or
 * "-N", N versions before the latest ("0" and NULL: the latest, whose runs the report shows). The id,
 * or -1 after an error (also when no spec has runs).
 */
long tab_spec_id(struct store *s, const char *dir, const char *which);

#endif
