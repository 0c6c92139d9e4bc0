/*
 * cmd_compare.c - `camlab compare`: two output folders, or two spec versions of one folder, side by side:
 * the runs of the same model, layer, method, utility and target paired, each metric's two values and
 * their difference, and the runs only one side has. Reads the two databases only, read-only.
 */
#include "interp/commands.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "interp/tabular.h"
#include "lib/error.h"
#include "lib/strbuf.h"
#include "lib/xalloc.h"
#include "store/store.h"

static const char compare_usage[] =
	"usage: camlab compare [--where FIELD=VALUE[,...]]... [--metrics LIST] [--format markdown|csv|json]\n"
	"                      A [B]\n"
	"\n"
	"Pairs the runs of A and B that have the same model, layer, method, utility and target, and prints\n"
	"one row per pair: in (both, a or b: a run only one side has), same_config (yes: the same run\n"
	"configuration, so the same numbers), state and images aggregated on each side, then for each "
	"metric\n"
	"its value in A, in B and the difference B - A (fractions; tables show them x100).\n"
	"\n"
	"A and B are output folders (their latest spec version, as the report shows it), or DIR@ID for the\n"
	"spec version ID of a folder (camlab status lists them) and DIR@-N for N versions before its "
	"latest:\n"
	"camlab compare out/x@-1 out/x compares the previous version of an experiment with the current one.\n"
	"With a folder A alone, compares A@-1 with A.\n"
	"\n"
	"  --where F=V,...  only runs whose field F (model, layer, method, utility, target, state) is V\n"
	"                   (on either side; as camlab results --where)\n"
	"  --metrics LIST   the metrics compared, such as ad,coh,road, or all (default: those the runs\n"
	"                   have)\n"
	"  --format F       markdown (default), csv or json\n"
	"\n"
	"Reads results.sqlite read-only. A line on stderr counts the pairs. Exit status: 0, 1 if a side has "
	"no\n"
	"results or no such spec version, 2 on a usage error.\n";

/* One side: its folder, spec version and runs. */
struct side {
	char *dir;
	const char *spec; /* borrowed from the argument; NULL: the latest */
	struct store *s;
	struct store_results res;
	unsigned char *paired;
};

/* "3" or "-1": what may follow DIR@ */
static int is_version(const char *s)
{
	if (*s == '-')
		s++;
	return *s && strspn(s, "0123456789") == strlen(s);
}

/*
 * "DIR@SPEC" into dir and spec, unless the whole argument is a folder (whose name may hold an '@'), or
 * what follows the last '@' is no version.
 */
static void side_parse(struct side *sd, const char *arg, const char *spec)
{
	const char *at = strrchr(arg, '@');
	struct stat st;

	sd->spec = spec;
	if (at && is_version(at + 1) && stat(arg, &st) < 0) {
		sd->dir = xstrndup(arg, (size_t)(at - arg));
		sd->spec = at + 1;
	} else {
		sd->dir = xstrdup(arg);
	}
}

static int side_load(struct side *sd)
{
	long id;

	if (!(sd->s = store_open_readonly(sd->dir)))
		return error("'%s' has no results database (results.sqlite)", sd->dir);
	if ((id = tab_spec_id(sd->s, sd->dir, sd->spec)) < 0 || store_results_load(&sd->res, sd->s, id) < 0)
		return -1;
	sd->paired = xcalloc(sd->res.nr + 1, 1);
	return 0;
}

static void side_release(struct side *sd)
{
	store_results_release(&sd->res);
	store_close(sd->s);
	free(sd->dir);
	free(sd->paired);
}

static int same_run(const struct store_run_result *a, const struct store_run_result *b)
{
	int f;

	for (f = 0; f < TAB_STATE; f++)
		if (strcmp(tab_field_value(a, (enum tab_field)f), tab_field_value(b, (enum tab_field)f)))
			return 0;
	return 1;
}

/* One row: a and b may each be NULL (a run one side lacks), not both. */
static void row(struct tab *t, const struct store_run_result *a, const struct store_run_result *b,
		const struct tab_metrics *tm)
{
	const struct store_run_result *r = a ? a : b;
	size_t m;
	int f;

	for (f = 0; f < TAB_STATE; f++)
		tab_str(t, tab_field_value(r, (enum tab_field)f));
	tab_str(t, a && b ? "both" : a ? "a" : "b");
	tab_str(t, a && b ? (strcmp(a->key, b->key) ? "no" : "yes") : NULL);
	tab_str(t, a ? a->state : NULL);
	tab_str(t, b ? b->state : NULL);
	if (a)
		tab_int(t, a->n);
	else
		tab_str(t, NULL);
	if (b)
		tab_int(t, b->n);
	else
		tab_str(t, NULL);
	for (m = 0; m < tm->nr; m++) {
		double x = a ? tab_metric(a, tm, m) : NAN, y = b ? tab_metric(b, tm, m) : NAN;
		if (!tm->want[m])
			continue;
		tab_num(t, x);
		tab_num(t, y);
		tab_num(t, y - x); /* NAN when either is */
	}
	tab_row_end(t);
}

/* The sides from the operands: A B, or A alone for A@-1 against A. 0, or 2 after a usage error. */
static int sides_parse(struct side *A, struct side *B, int argc, char **argv)
{
	if (argc - optind == 1) {
		side_parse(A, argv[optind], "-1");
		side_parse(B, argv[optind], NULL);
		if (B->spec) { /* DIR@ID alone: which version would it be compared with? */
			fprintf(stderr, "camlab compare: give B beside '%s'\n\n%s", argv[optind], compare_usage);
			return 2;
		}
	} else if (argc - optind == 2) {
		side_parse(A, argv[optind], NULL);
		side_parse(B, argv[optind + 1], NULL);
	} else {
		fputs(compare_usage, stderr);
		return 2;
	}
	return 0;
}

/* The fixed columns, then for each metric wanted its value in A, in B and the difference. */
static size_t columns(const char **cols, struct strbuf *names, const struct tab_metrics *tm)
{
	static const char *const fixed[] = { "model",	    "layer",   "method",  "utility", "target", "in",
					     "same_config", "state_a", "state_b", "n_a",     "n_b" };
	static const char *const suffix[3] = { "_a", "_b", "_diff" };
	size_t nr = 0, i, m, k;

	for (i = 0; i < ARRAY_SIZE(fixed); i++)
		cols[nr++] = fixed[i];
	/* the names are NUL-separated in one buffer, which does not move once it is filled */
	for (m = 0; m < tm->nr; m++)
		for (k = 0; tm->want[m] && k < 3; k++)
			strbuf_addf(names, "%s%s%c", tm->names[m], suffix[k], '\0');
	for (i = 0; i < names->len; i += strlen(names->buf + i) + 1)
		cols[nr++] = names->buf + i;
	return nr;
}

int cmd_compare(int argc, char **argv)
{
	struct side A = { 0 }, B = { 0 };
	int status = 1;
	long both = 0, same = 0, only_a = 0, only_b = 0;
	struct strbuf names = STRBUF_INIT;
	struct tab_metrics tm;
	struct tab_options o;
	const char **cols = NULL;
	size_t i, j;
	struct tab t;

	if ((status = tab_options_parse(&o, argc, argv, "compare", compare_usage, 0)) >= 0)
		return status;
	tab_metrics_init(&tm);
	if ((status = sides_parse(&A, &B, argc, argv)))
		goto out;
	status = 1;
	if (side_load(&A) < 0 || side_load(&B) < 0)
		goto out;
	tab_metrics_collect(&tm, &A.res);
	tab_metrics_collect(&tm, &B.res);
	if (o.metrics && tab_metrics_choose(&tm, o.metrics) < 0) {
		fprintf(stderr, "\n%s", compare_usage);
		status = 2;
		goto out;
	}
	if (!o.metrics) {
		tab_metrics_present(&tm, &A.res, &o.where);
		tab_metrics_present(&tm, &B.res, &o.where);
	}

	cols = xcalloc(16 + 3 * tm.nr, sizeof(*cols));
	tab_begin(&t, stdout, o.fmt, cols, columns(cols, &names, &tm));
	/* A's runs in its grid order, each with its first match in B (a version has each run once) */
	for (i = 0; i < A.res.nr; i++) {
		const struct store_run_result *a = &A.res.runs[i], *b = NULL;

		for (j = 0; j < B.res.nr; j++)
			if (!B.paired[j] && same_run(a, &B.res.runs[j])) {
				b = &B.res.runs[j];
				break;
			}
		if (!tab_where_match(&o.where, a) && !(b && tab_where_match(&o.where, b)))
			continue;
		if (b) {
			B.paired[j] = 1;
			both++;
			same += !strcmp(a->key, b->key);
		} else {
			only_a++;
		}
		row(&t, a, b, &tm);
	}
	for (j = 0; j < B.res.nr; j++) {
		if (B.paired[j] || !tab_where_match(&o.where, &B.res.runs[j]))
			continue;
		only_b++;
		row(&t, NULL, &B.res.runs[j], &tm);
	}
	status = tab_end(&t) < 0;
	fprintf(stderr, "%ld %s in both (%ld with the same configuration), %ld only in A, %ld only in B\n",
		both, both == 1 ? "run" : "runs", same, only_a, only_b);
out:
	free(cols);
	strbuf_release(&names);
	tab_metrics_release(&tm);
	side_release(&A);
	side_release(&B);
	tab_options_release(&o);
	return status;
}
