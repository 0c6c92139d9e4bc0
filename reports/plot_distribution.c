/*
 * plot_distribution.c - the report's box plots of the per-image AD and ADD of each methods table (see
 * plot.h), drawn with the helpers of plot.c.
 */
#include "reports/plot.h"
#include "reports/plot_priv.h"

#include <math.h>
#include <stdlib.h>

#include "lib/quote.h"
#include "lib/xalloc.h"
#include "reports/figure.h"
#include "reports/table.h"
#include "store/store.h"

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* numpy's default (linear) quantile of sorted v. */
static double quantile(const double *v, size_t n, double p)
{
	double pos = p * (double)(n - 1);
	size_t lo = (size_t)pos;
	if (lo + 1 >= n)
		return v[n - 1];
	return v[lo] + (pos - (double)lo) * (v[lo + 1] - v[lo]);
}

/* Box statistics, x100: q1, low whisker, high whisker, q3, median, mean (Tukey's 1.5 IQR whiskers). */
static int box_stats(double *v, size_t n, double out[6])
{
	double q1, q3, iqr, sum = 0;
	size_t i;
	if (!n)
		return 0;
	qsort(v, n, sizeof(*v), cmp_double);
	q1 = quantile(v, n, 0.25);
	q3 = quantile(v, n, 0.75);
	iqr = q3 - q1;
	out[0] = q1;
	out[3] = q3;
	out[4] = quantile(v, n, 0.5);
	out[1] = q1;
	out[2] = q3;
	for (i = 0; i < n; i++) {
		sum += v[i];
		if (v[i] >= q1 - 1.5 * iqr && v[i] < out[1])
			out[1] = v[i];
		if (v[i] <= q3 + 1.5 * iqr && v[i] > out[2])
			out[2] = v[i];
	}
	out[5] = sum / (double)n;
	for (i = 0; i < 6; i++)
		out[i] *= 100;
	return 1;
}

/* The values of v (n of them, fractions) outside the whiskers of box (percent), as "x value" lines. */
static void add_outliers(struct strbuf *sb, size_t x, const double *v, size_t n, const double box[6])
{
	size_t i;
	for (i = 0; i < n; i++)
		if (v[i] * 100 < box[1] || v[i] * 100 > box[2])
			strbuf_addf(sb, "%zu %.4f\n", x, v[i] * 100);
}

/*
 * The $box data block of runs x[0..n): a line per run with both box statistics (AD and ADD), and in
 * outliers[0] and [1] the images beyond the whiskers. *count: the runs that have a line; -1 on error.
 */
static int box_data(struct strbuf *data, struct strbuf outliers[2], struct store *s, const struct result *x,
		    size_t n, size_t *count)
{
	struct store_image_values iv = STORE_IMAGE_VALUES_INIT;
	size_t i, j;

	strbuf_addstr(data, "# x, AD: q1 low high q3 median mean, ADD: the same, colour\n$box << EOD\n");
	for (i = 0; i < n; i++) {
		size_t nad = 0, nadd = 0;
		double *ad, *add;
		double sa[6], sd[6];
		int k;
		if (store_image_values_load(&iv, s, x[i].key) < 0) {
			store_image_values_release(&iv);
			return -1;
		}
		ad = xcalloc(iv.nr + 1, sizeof(double));
		add = xcalloc(iv.nr + 1, sizeof(double));
		for (j = 0; j < iv.nr; j++) {
			if (!isnan(iv.rows[j].ad))
				ad[nad++] = iv.rows[j].ad;
			if (!isnan(iv.rows[j].add))
				add[nadd++] = iv.rows[j].add;
		}
		if (box_stats(ad, nad, sa) && box_stats(add, nadd, sd)) {
			add_outliers(&outliers[0], i + 1, ad, nad, sa);
			add_outliers(&outliers[1], i + 1, add, nadd, sd);
			strbuf_addf(data, "%zu", i + 1);
			for (k = 0; k < 6; k++)
				strbuf_addf(data, " %.4f", sa[k]);
			for (k = 0; k < 6; k++)
				strbuf_addf(data, " %.4f", sd[k]);
			strbuf_addf(data, " %lu\n", colour_int(colour(x[i].method, i)));
			(*count)++;
		}
		free(ad);
		free(add);
	}
	store_image_values_release(&iv);
	strbuf_addstr(data, "EOD\n");
	return 0;
}

/* The gnuplot commands of the two box plots of runs x[0..n), over counts images per method. */
static void distribution_body(struct strbuf *body, const char *title, const struct result *x, size_t n,
			      const char *counts, const struct strbuf outliers[2])
{
	struct strbuf name = STRBUF_INIT;
	size_t i;
	int p;

	strbuf_addstr(body, "set multiplot layout 1,2 title ");
	quote_gnuplot(body, title, 0);
	strbuf_addstr(body, " font \"sans:Bold,12\"\n");
	strbuf_addstr(body, common);
	strbuf_addstr(body, "set style fill solid 0.6 border rgb \"#303030\"\nset boxwidth 0.6 absolute\n"
			    "set yrange [0:100]\nunset key\nset bmargin 7\n");
	strbuf_addf(body, "set xrange [0.4:%zu.6]\nset xtics rotate by 35 right (", n);
	for (i = 0; i < n; i++) {
		strbuf_addstr(body, i ? ", " : "");
		quote_gnuplot(body, figure_label(x[i].method, &name), QUOTE_GNUPLOT_FORMAT);
		strbuf_addf(body, " %zu", i + 1);
	}
	strbuf_addstr(body, ")\n");
	strbuf_release(&name);
	for (p = 0; p < 2; p++) {
		int c = 2 + 6 * p;
		if (p == 1) /* the legend, as words, once */
			strbuf_addf(body,
				    "set label 1 \"Box: quartiles; whiskers: the furthest values within 1.5 IQR "
				    "of the box; circles: the images beyond; line: median; dot: mean. %s images "
				    "per method.\" "
				    "at screen 0.5, screen 0.03 center\n",
				    counts);
		strbuf_addf(body, "set title \"%s, %s is better\"\nset ylabel \"%s per image (%%)\"\n",
			    p ? "ADD" : "AD", p ? "higher" : "lower", p ? "ADD" : "AD");
		strbuf_addf(body,
			    "plot $box using 1:%d:%d:%d:%d:14 with candlesticks whiskerbars 0.5 "
			    "lc rgb variable, \\\n"
			    "     $box using 1:%d:%d:%d:%d with candlesticks lc rgb \"black\" lw 2, \\\n"
			    "     $box using 1:%d with points pt 7 ps 0.7 lc rgb \"black\"",
			    c, c + 1, c + 2, c + 3, c + 4, c + 4, c + 4, c + 4, c + 5);
		if (outliers[p].len)
			strbuf_addf(body,
				    ", \\\n     $out%d using 1:2 with points pt 6 ps 0.6 lc rgb \"#404040\"",
				    p);
		strbuf_addch(body, '\n');
	}
	strbuf_addstr(body, "unset multiplot\n");
}

/* The per-image AD and ADD of one methods table as box plots, one box per method. */
static int distribution_one(const char *dir, struct store *s, const struct result *x, size_t n,
			    struct plot_list *l)
{
	struct strbuf data = STRBUF_INIT, body = STRBUF_INIT, stem = STRBUF_INIT, title = STRBUF_INIT,
		      counts = STRBUF_INIT, outliers[2] = { STRBUF_INIT, STRBUF_INIT }, name = STRBUF_INIT;
	size_t i, count = 0;
	long lo, hi;
	int ret = 0, p;

	if (box_data(&data, outliers, s, x, n, &count) < 0) {
		ret = -1;
		goto out;
	}
	if (!count)
		goto out;
	for (p = 0; p < 2; p++)
		if (outliers[p].len)
			strbuf_addf(&data, "# x, %s of an image beyond the whiskers\n$out%d << EOD\n%sEOD\n",
				    p ? "ADD" : "AD", p, outliers[p].buf);

	table_block_stem(&stem, "distribution", x);
	strbuf_addf(&title, "Per-image AD and ADD: %s, layer %s, %s utility, target %s", x->model, x->layer,
		    figure_label(x->utility, &name), x->target);
	for (i = 0, lo = hi = x[0].n; i < n; i++) {
		lo = x[i].n < lo ? x[i].n : lo;
		hi = x[i].n > hi ? x[i].n : hi;
	}
	if (lo == hi)
		strbuf_addf(&counts, "%ld", lo);
	else
		strbuf_addf(&counts, "%ld to %ld", lo, hi);
	distribution_body(&body, title.buf, x, n, counts.buf, outliers);
	ret = draw(dir, stem.buf, title.buf, &data, &body, 1400, 600, l);
out:
	strbuf_release(&outliers[0]);
	strbuf_release(&outliers[1]);
	strbuf_release(&counts);
	strbuf_release(&data);
	strbuf_release(&body);
	strbuf_release(&stem);
	strbuf_release(&title);
	strbuf_release(&name);
	return ret;
}

int plot_distributions(const char *dir, const struct results *r, struct store *s, struct plot_list *l)
{
	size_t i, j;
	int ret = 0, rc;

	for (i = 0; i < r->nr && ret != -2; i = j) {
		for (j = i + 1; j < r->nr && same_block(&r->rows[j], &r->rows[i], 1); j++)
			;
		rc = distribution_one(dir, s, &r->rows[i], j - i, l);
		ret = rc == -2 ? -2 : ret | rc;
	}
	return ret;
}
