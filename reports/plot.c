/*
 * plot.c - the report's gnuplot plots (see plot.h). Every script holds its data inline and draws the
 * same body twice, once for pngcairo and once for SVG, so the two pictures cannot differ.
 */
#include "reports/plot.h"
#include "reports/plot_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/error.h"
#include "lib/quote.h"
#include "lib/xalloc.h"
#include "reports/figure.h"
#include "reports/table.h"
#include "store/store.h"


void plot_list_release(struct plot_list *l)
{
	size_t i;
	for (i = 0; i < l->nr; i++) {
		free(l->items[i].stem);
		free(l->items[i].title);
	}
	free(l->items);
	l->items = NULL;
	l->nr = l->alloc = 0;
}

/* Distinct strings, kept in the order given by cmp (NULL: first appearance). */
struct names {
	const char **v;
	size_t nr, alloc;
};

static size_t names_add(struct names *n, const char *s, int (*cmp)(const char *, const char *))
{
	size_t i, j;
	for (i = 0; i < n->nr; i++)
		if (!strcmp(n->v[i], s))
			return i;
	ALLOC_GROW(n->v, n->nr + 1, n->alloc);
	for (i = n->nr; cmp && i > 0 && cmp(n->v[i - 1], s) > 0; i--)
		;
	for (j = n->nr; j > i; j--)
		n->v[j] = n->v[j - 1];
	n->v[i] = s;
	n->nr++;
	return i;
}

static size_t names_find(const struct names *n, const char *s)
{
	size_t i;
	for (i = 0; i < n->nr && strcmp(n->v[i], s); i++)
		;
	return i;
}

/* A table block's label: model and layer, with utility and target where those vary. */
static void block_label(struct strbuf *sb, const struct result *x, int utilities, int targets)
{
	struct strbuf scratch = STRBUF_INIT;

	strbuf_addf(sb, "%s\n%s", x->model, x->layer);
	if (utilities)
		strbuf_addf(sb, "\n%s", figure_label(x->utility, &scratch));
	if (targets)
		strbuf_addf(sb, "\n%s", x->target);
	strbuf_release(&scratch);
}

/* The clusters of metric_points: the methods tables of r, rows start[k] to start[k + 1], k < nb. */
struct clusters {
	struct names methods, utilities, targets;
	size_t nb, *start;
};

static void clusters_init(struct clusters *c, const struct results *r)
{
	size_t i;

	memset(c, 0, sizeof(*c));
	c->start = xcalloc(r->nr + 1, sizeof(size_t));
	for (i = 0; i < r->nr; i++) {
		names_add(&c->methods, r->rows[i].method, results_cmp_method);
		names_add(&c->utilities, r->rows[i].utility, NULL);
		names_add(&c->targets, r->rows[i].target, NULL);
		if (!i || !same_block(&r->rows[i], &r->rows[i - 1], 1))
			c->start[c->nb++] = i;
	}
	c->start[c->nb] = r->nr;
}

static void clusters_release(struct clusters *c)
{
	free(c->start);
	free(c->methods.v);
	free(c->utilities.v);
	free(c->targets.v);
}

/*
 * One metric's dots: the mean v, interval lo to hi of cluster k's method j at k * methods + j (NaN: no
 * such run or no finite mean), the range of the intervals, and which methods have a dot anywhere.
 */
struct points {
	double *v, *lo, *hi, ymin, ymax;
	int *shown, any;
	size_t ns; /* methods shown */
};

static void points_load(struct points *p, const struct clusters *c, const struct results *r, int m)
{
	size_t i, j, k, nm = c->methods.nr;

	p->v = xcalloc(3 * c->nb * nm + 1, sizeof(double));
	p->lo = p->v + c->nb * nm;
	p->hi = p->lo + c->nb * nm;
	p->ymin = p->ymax = NAN;
	p->shown = xcalloc(nm + 1, sizeof(int));
	p->any = 0;
	p->ns = 0;
	for (j = 0; j < c->nb * nm; j++)
		p->v[j] = p->lo[j] = p->hi[j] = NAN;
	for (k = 0; k < c->nb; k++)
		for (i = c->start[k]; i < c->start[k + 1]; i++) {
			j = k * nm + names_find(&c->methods, r->rows[i].method);
			p->v[j] = results_value(&r->rows[i], m);
			if (!isfinite(p->v[j])) {
				p->v[j] = NAN;
				continue;
			}
			if (r->rows[i].has_ci[m]) {
				const struct stats_ci *ci = &r->rows[i].ci[m];
				p->lo[j] = ci->lo < p->v[j] ? ci->lo : p->v[j];
				p->hi[j] = ci->hi > p->v[j] ? ci->hi : p->v[j];
			} else {
				p->lo[j] = p->hi[j] = p->v[j];
			}
			p->ymin = isnan(p->ymin) || p->lo[j] < p->ymin ? p->lo[j] : p->ymin;
			p->ymax = isnan(p->ymax) || p->hi[j] > p->ymax ? p->hi[j] : p->ymax;
		}
	/* A method without this metric anywhere gets neither a column nor a legend entry. */
	for (j = 0; j < c->nb * nm; j++)
		if (!isnan(p->v[j]))
			p->any = p->shown[j % nm] = 1;
	for (j = 0; j < nm; j++)
		p->ns += p->shown[j] != 0;
}

static void points_release(struct points *p)
{
	free(p->v);
	free(p->shown);
}

/* The gnuplot data block of the dots: a line per cluster, three columns per method shown. */
static void points_data(struct strbuf *data, const struct points *p, const struct clusters *c)
{
	size_t j, k;

	strbuf_addstr(data, "# cluster, then per method: mean, interval low, high (%)\n$data << EOD\n");
	for (k = 0; k < c->nb; k++) {
		strbuf_addf(data, "%zu", k);
		for (j = 0; j < c->methods.nr; j++) {
			size_t at = k * c->methods.nr + j;
			if (!p->shown[j])
				continue;
			if (isnan(p->v[at]))
				strbuf_addstr(data, " NaN NaN NaN");
			else
				strbuf_addf(data, " %.4f %.4f %.4f", 100 * p->v[at], 100 * p->lo[at],
					    100 * p->hi[at]);
		}
		strbuf_addch(data, '\n');
	}
	strbuf_addstr(data, "EOD\n");
}

/* The gnuplot commands that draw metric m's dots (p, any of them) with the title in title. */
static void points_body(struct strbuf *body, const char *title, const struct points *p,
			const struct clusters *c, const struct results *r, int m)
{
	/* a twentieth of the span above and below; a span of 0 (all equal) gets one point each way */
	double pad = p->any && p->ymax > p->ymin ? (p->ymax - p->ymin) * 100 / 20 : 1;
	struct strbuf name = STRBUF_INIT;
	size_t j, k, s;
	int col;

	strbuf_addstr(body, common);
	strbuf_addstr(body, "set title ");
	quote_gnuplot(body, title, 0);
	strbuf_addf(body, " font \"sans:Bold,11\"\nset ylabel \"%s (%%)\"\nset yrange [%.4f:%.4f]\n",
		    results_metric_info(m)->name, 100 * p->ymin - pad, 100 * p->ymax + pad);
	strbuf_addstr(body, "set style data yerrorbars\nset bars 0.5\n"
			    "set key outside right top vertical Left reverse title \"Method\"\n");
	/* The cluster labels have up to four lines; give them room. */
	strbuf_addf(body, "set bmargin %d\nset xrange [-0.6:%zu.6]\nset xtics (",
		    2 + 2 + (c->utilities.nr > 1) + (c->targets.nr > 1), c->nb - 1);
	for (k = 0; k < c->nb; k++) {
		struct strbuf lab = STRBUF_INIT;
		block_label(&lab, &r->rows[c->start[k]], c->utilities.nr > 1, c->targets.nr > 1);
		strbuf_addstr(body, k ? ", " : "");
		quote_gnuplot(body, lab.buf, QUOTE_GNUPLOT_FORMAT);
		strbuf_addf(body, " %zu", k);
		strbuf_release(&lab);
	}
	strbuf_addstr(body, ")\nplot ");
	/* the methods of a cluster side by side over 0.8 of its width, in the paper's order */
	for (j = 0, s = 0, col = 2; j < c->methods.nr; j++) {
		if (!p->shown[j])
			continue;
		strbuf_addf(body, "%s$data using ($1%+.4f):%d:%d:%d title ", s ? ", \\\n     " : "",
			    p->ns > 1 ? 0.8 * ((double)s / (double)(p->ns - 1) - 0.5) : 0.0, col, col + 1,
			    col + 2);
		col += 3;
		s++;
		quote_gnuplot(body, figure_label(c->methods.v[j], &name), 0);
		strbuf_addf(body, " pt 7 ps 0.9 lw 1.5 lc rgb \"%s\"", colour(c->methods.v[j], j));
	}
	strbuf_addch(body, '\n');
	strbuf_release(&name);
}

/*
 * Per metric: one cluster per methods table (model, layer, utility, target), in it each method's mean
 * as a dot with its bootstrap interval as whiskers (boot; a mean without an interval has none), on a y
 * axis fitted to the intervals: differences of a point matter where bars from 0 would hide them.
 */
static int metric_points(const char *dir, const struct results *r, const struct stats_boot_opts *boot,
			 struct plot_list *l)
{
	struct clusters c;
	int m, ret = 0;

	clusters_init(&c, r);
	for (m = 0; m < RESULT_NR_ALL; m++) {
		const struct metric_info *mi = results_metric_info(m);
		struct strbuf data = STRBUF_INIT, body = STRBUF_INIT, stem = STRBUF_INIT, title = STRBUF_INIT;
		struct points p;
		int w, rc;

		points_load(&p, &c, r, m);
		points_data(&data, &p, &c);
		if (p.any) {
			if (strcmp(mi->longname, mi->name))
				strbuf_addf(&title, "%s (%s)", mi->longname, mi->name);
			else
				strbuf_addstr(&title, mi->name);
			strbuf_addf(&title, ", %s is better; mean and %g%% bootstrap interval",
				    mi->higher_better ? "higher" : "lower", 100 * (1 - boot->alpha));
			strbuf_addstr(&stem, "metric-");
			table_slug(&stem, mi->name);
			points_body(&body, title.buf, &p, &c, r, m);
			w = 260 + (int)c.nb * ((int)c.methods.nr * 14 + 40);
			rc = draw(dir, stem.buf, title.buf, &data, &body, w < 720 ? 720 : w, 480, l);
			ret = rc == -2 ? -2 : ret | rc;
		}
		points_release(&p);
		strbuf_release(&data);
		strbuf_release(&body);
		strbuf_release(&stem);
		strbuf_release(&title);
		if (ret == -2)
			break;
	}
	clusters_release(&c);
	return ret;
}

/* One ablation figure per model, layer and target: a panel per metric, methods x utilities. */
static int ablation_one(const char *dir, const struct result *x, size_t n, int targets, struct plot_list *l)
{
	struct names methods = { 0 }, utilities = { 0 };
	struct strbuf data = STRBUF_INIT, body = STRBUF_INIT, stem = STRBUF_INIT, title = STRBUF_INIT,
		      name = STRBUF_INIT;
	size_t i, j, u, *count;
	int m, ret = 0, drawn = 0, have[METRIC_NR] = { 0 }, nonzero[METRIC_NR] = { 0 };

	for (i = 0; i < n; i++) {
		names_add(&methods, x[i].method, results_cmp_method);
		names_add(&utilities, x[i].utility, results_cmp_utility);
	}
	count = xcalloc(methods.nr, sizeof(size_t));
	for (i = 0; i < n; i++)
		count[names_find(&methods, x[i].method)]++;
	for (j = 0; j < methods.nr; j++)
		if (count[j] < 2) { /* only methods with several utilities */
			memmove(&methods.v[j], &methods.v[j + 1], (methods.nr - j - 1) * sizeof(*methods.v));
			memmove(&count[j], &count[j + 1], (methods.nr - j - 1) * sizeof(*count));
			methods.nr--;
			j--;
		}
	if (!methods.nr)
		goto out;
	for (m = 0; m < METRIC_NR; m++) {
		strbuf_addf(&data, "$%s << EOD\n", metric_info[m].column);
		for (j = 0; j < methods.nr; j++) {
			strbuf_addf(&data, "%zu", j);
			for (u = 0; u < utilities.nr; u++) {
				double v = NAN;
				for (i = 0; i < n; i++)
					if (!strcmp(x[i].method, methods.v[j]) && !strcmp(x[i].utility, utilities.v[u]))
						v = x[i].v[m];
				if (isnan(v)) {
					strbuf_addstr(&data, " NaN");
				} else {
					strbuf_addf(&data, " %.4f", 100 * v);
					have[m] = 1;
					nonzero[m] |= v != 0;
				}
			}
			strbuf_addch(&data, '\n');
		}
		strbuf_addstr(&data, "EOD\n");
	}
	strbuf_addstr(&stem, "ablation.");
	table_slug(&stem, x->model);
	strbuf_addch(&stem, '.');
	table_slug(&stem, x->layer);
	strbuf_addch(&stem, '.');
	table_slug(&stem, x->target);
	strbuf_addf(&title, "Utility ablation: %s, layer %s", x->model, x->layer);
	if (targets)
		strbuf_addf(&title, ", target %s", x->target);
	/* Room at the top for one legend, drawn by the first panel at a fixed place. */
	strbuf_addstr(&body, "set multiplot layout 2,3 title ");
	quote_gnuplot(&body, title.buf, 0);
	strbuf_addstr(&body, " font \"sans:Bold,12\" margins 0.06,0.99,0.11,0.86 spacing 0.07,0.17\n");
	strbuf_addstr(&body, common);
	strbuf_addf(&body,
		    "set style data histograms\nset style histogram clustered gap 1\n"
		    "set xrange [-0.6:%zu.6]\n"
		    "set key at screen 0.5, screen 0.935 center center horizontal maxrows 1 width 2\n"
		    "set xtics rotate by 35 right (",
		    methods.nr - 1);
	for (j = 0; j < methods.nr; j++) {
		strbuf_addstr(&body, j ? ", " : "");
		quote_gnuplot(&body, figure_label(methods.v[j], &name), QUOTE_GNUPLOT_FORMAT);
		strbuf_addf(&body, " %zu", j);
	}
	strbuf_addstr(&body, ")\n");
	for (m = 0; m < METRIC_NR; m++) {
		if (!have[m]) {
			/* a metric the experiment did not compute: an empty panel, not a gnuplot error */
			strbuf_addstr(&body, "set multiplot next\n");
			continue;
		}
		strbuf_addf(&body,
			    "set title \"%s, %s is better\"\nset ylabel \"%s (%%)\"\nset yrange %s\nplot ",
			    metric_info[m].name, metric_info[m].higher_better ? "higher" : "lower",
			    metric_info[m].name, nonzero[m] ? "[0:*]" : "[0:1]");
		for (u = 0; u < utilities.nr; u++) {
			strbuf_addf(&body, "%s$%s using %zu title ", u ? ", " : "", metric_info[m].column, u + 2);
			quote_gnuplot(&body, figure_label(utilities.v[u], &name), 0);
			strbuf_addf(&body, " lc rgb \"%s\"", colour(utilities.v[u], u));
		}
		strbuf_addstr(&body, !drawn++ ? "\nunset key\n" : "\n");
	}
	strbuf_addstr(&body, "unset multiplot\n");
	ret = draw(dir, stem.buf, title.buf, &data, &body, 1500, 900, l);
out:
	free(count);
	free(methods.v);
	free(utilities.v);
	strbuf_release(&data);
	strbuf_release(&body);
	strbuf_release(&stem);
	strbuf_release(&title);
	strbuf_release(&name);
	return ret;
}

static int ablation_bars(const char *dir, const struct results *r, struct plot_list *l)
{
	struct names targets = { 0 };
	size_t i, j, k;
	int ret = 0, rc;

	for (i = 0; i < r->nr; i++)
		names_add(&targets, r->rows[i].target, NULL);
	for (i = 0; i < r->nr && ret != -2; i = j) {
		for (j = i + 1; j < r->nr && same_block(&r->rows[j], &r->rows[i], 0); j++)
			;
		for (k = i + 1; k < j && !strcmp(r->rows[k].utility, r->rows[i].utility); k++)
			;
		if (k < j) {
			rc = ablation_one(dir, &r->rows[i], j - i, targets.nr > 1, l);
			ret = rc == -2 ? -2 : ret | rc;
		}
	}
	free(targets.v);
	return ret;
}

/* One critical-difference diagram: k methods (names, in the paper's order) with their average ranks. */
static int cd_one(const char *dir, int m, const char *const *names, const double *rank, size_t k, size_t nset,
		  const struct stats_friedman *fr, double cd, struct plot_list *l)
{
	struct strbuf data = STRBUF_INIT, body = STRBUF_INIT, stem = STRBUF_INIT, title = STRBUF_INIT,
		      lab = STRBUF_INIT, name = STRBUF_INIT;
	size_t *order = xcalloc(k, sizeof(*order)), i, j, t, half = (k + 1) / 2, ncl = 0, last = 0;
	double ybottom, ylab;
	int ret, w;

	/* the methods by average rank, best (lowest) first; insertion sort keeps the paper's order on ties */
	for (i = 0; i < k; i++) {
		for (j = i; j > 0 && rank[order[j - 1]] > rank[i]; j--)
			order[j] = order[j - 1];
		order[j] = i;
	}
	strbuf_addstr(&data, "# method's average rank, 0\n$ranks << EOD\n");
	for (i = 0; i < k; i++)
		strbuf_addf(&data, "%.4f 0\n", rank[i]);
	strbuf_addstr(&data, "EOD\n");

	strbuf_addf(&title,
		    "Critical difference, %s: average ranks over %zu settings (Friedman p = %.2g; "
		    "Nemenyi CD %.2f at 0.05)",
		    results_metric_info(m)->name, nset, fr->p, cd);
	strbuf_addstr(&stem, "cd-");
	table_slug(&stem, results_metric_info(m)->name);
	strbuf_addstr(&body, "unset border\nunset xtics\nunset ytics\nunset key\nunset label\nunset arrow\n"
			     "set title ");
	quote_gnuplot(&body, title.buf, 0);
	strbuf_addstr(&body, " font \"sans:Bold,11\"\n");
	/* the axis 1..k, rank 1 (the best) on the left, with the CD as a bar above it */
	strbuf_addf(&body, "set arrow from 1,0 to %zu,0 nohead lw 1.5\n", k);
	for (t = 1; t <= k; t++)
		strbuf_addf(&body,
			    "set arrow from %zu,0 to %zu,0.15 nohead\nset label \"%zu\" at %zu,0.4 center\n",
			    t, t, t, t);
	strbuf_addf(&body,
		    "set arrow from 1,1.1 to %.4f,1.1 heads size 0.1,90 lw 1.5\n"
		    "set label \"CD = %.2f\" at %.4f,1.45 center\n",
		    1 + cd, cd, 1 + cd / 2);
	/* the groups no pair of which differs by CD: maximal runs of the sorted ranks, one line each */
	for (i = 0; i < k; i++) {
		for (j = i; j + 1 < k && rank[order[j + 1]] - rank[order[i]] < cd; j++)
			;
		if (j > i && (!ncl || j > last)) {
			strbuf_addf(&body, "set arrow from %.4f,%.4f to %.4f,%.4f nohead lw 4\n",
				    rank[order[i]] - 0.03, -0.3 - 0.2 * (double)ncl, rank[order[j]] + 0.03,
				    -0.3 - 0.2 * (double)ncl);
			ncl++;
			last = j;
		}
	}
	/* each method's name beside the axis: the better half on the left, the others on the right */
	ybottom = -0.3 - 0.2 * (double)ncl;
	for (i = 0; i < k; i++) {
		size_t row = i < half ? i : k - 1 - i;
		int left = i < half;
		double x = rank[order[i]], end = left ? 0.8 : (double)k + 0.2;
		ylab = ybottom - 0.45 * (double)(row + 1);
		strbuf_addf(&body, "set arrow from %.4f,0 to %.4f,%.4f nohead lc rgb \"#606060\"\n", x, x,
			    ylab);
		strbuf_addf(&body, "set arrow from %.4f,%.4f to %.4f,%.4f nohead lc rgb \"#606060\"\n", x,
			    ylab, end, ylab);
		strbuf_reset(&lab);
		strbuf_addf(&lab, "%s (%.2f)", figure_label(names[order[i]], &name), x);
		strbuf_addstr(&body, "set label ");
		quote_gnuplot(&body, lab.buf, 0);
		strbuf_addf(&body, " at %.4f,%.4f %s\n", left ? end - 0.05 : end + 0.05, ylab,
			    left ? "right" : "left");
	}
	strbuf_addf(&body, "set xrange [-1.6:%.4f]\nset yrange [%.4f:1.8]\n", (double)k + 2.6,
		    ybottom - 0.45 * (double)(half + 1));
	strbuf_addstr(&body, "plot $ranks using 1:2 with points pt 7 ps 0.8 lc rgb \"black\"\n");
	w = 110 * ((int)k + 4);
	ret = draw(dir, stem.buf, title.buf, &data, &body, w < 760 ? 760 : w, 200 + 30 * (int)(half + ncl),
		   l);
	free(order);
	strbuf_release(&data);
	strbuf_release(&body);
	strbuf_release(&stem);
	strbuf_release(&title);
	strbuf_release(&lab);
	strbuf_release(&name);
	return ret;
}

/*
 * The critical-difference diagrams (Demšar 2006), one per metric, where the results hold several
 * models or layers: the settings are the methods tables, the methods those with the metric in every
 * setting (RandomCAM left out, as from the tables' marks); Friedman's test over the settings, Nemenyi's
 * CD at 0.05. Needs 3 to 20 such methods (Friedman's test; Nemenyi's table).
 */
static int cd_figures(const char *dir, const struct results *r, struct plot_list *l)
{
	struct names methods = { 0 }, settings = { 0 };
	size_t i, j, k, nb = 0, *start = xcalloc(r->nr + 1, sizeof(size_t));
	struct strbuf key = STRBUF_INIT;
	char **keys = xcalloc(r->nr + 1, sizeof(*keys));
	int m, ret = 0;

	for (i = 0; i < r->nr; i++) {
		if (!results_is_baseline(r->rows[i].method))
			names_add(&methods, r->rows[i].method, results_cmp_method);
		strbuf_reset(&key);
		strbuf_addf(&key, "%s\n%s", r->rows[i].model, r->rows[i].layer);
		keys[i] = strbuf_detach(&key, NULL);
		names_add(&settings, keys[i], NULL);
		if (!i || !same_block(&r->rows[i], &r->rows[i - 1], 1))
			start[nb++] = i;
	}
	start[nb] = r->nr;
	for (m = 0; m < RESULT_NR_ALL && settings.nr > 1 && ret != -2; m++) {
		double *v = xcalloc(nb * methods.nr + 1, sizeof(double)), *scores, *rank;
		const char **names = xcalloc(methods.nr + 1, sizeof(*names));
		size_t kk = 0;
		for (j = 0; j < nb * methods.nr; j++)
			v[j] = NAN;
		for (k = 0; k < nb; k++)
			for (i = start[k]; i < start[k + 1]; i++)
				if (!results_is_baseline(r->rows[i].method) && isfinite(results_value(&r->rows[i], m)))
					v[k * methods.nr + names_find(&methods, r->rows[i].method)] =
						results_value(&r->rows[i], m);
		scores = xcalloc(nb * methods.nr + 1, sizeof(double));
		rank = xcalloc(methods.nr + 1, sizeof(double));
		for (j = 0; j < methods.nr; j++) {
			for (k = 0; k < nb && !isnan(v[k * methods.nr + j]); k++)
				;
			if (k < nb)
				continue; /* not in every setting */
			for (k = 0; k < nb; k++)
				scores[k * methods.nr + kk] = v[k * methods.nr + j];
			names[kk++] = methods.v[j];
		}
		if (kk >= 3 && !isnan(stats_nemenyi_q(kk, 0.05))) {
			struct stats_friedman fr;
			/* rows of scores were laid out methods.nr apart: close them up to kk */
			for (k = 1; k < nb; k++)
				memmove(scores + k * kk, scores + k * methods.nr, kk * sizeof(double));
			if (stats_average_ranks(scores, nb, kk,
						results_metric_info(m)->higher_better ? STATS_HIGHER_BETTER
									     : STATS_LOWER_BETTER,
						rank) == 0 &&
			    stats_friedman(scores, nb, kk, &fr) == 0) {
				int rc = cd_one(dir, m, names, rank, kk, nb, &fr,
						stats_nemenyi_cd(kk, nb, 0.05), l);
				ret = rc == -2 ? -2 : ret | rc;
			}
		}
		free(v);
		free(scores);
		free(rank);
		free(names);
	}
	for (i = 0; i < r->nr; i++)
		free(keys[i]);
	free(keys);
	free(start);
	free(methods.v);
	free(settings.v);
	strbuf_release(&key);
	return ret;
}

int plots_build(const char *dir, const struct results *r, struct store *s, const struct stats_boot_opts *boot,
		struct plot_list *l)
{
	int ret, rc;
	if (!r->nr)
		return 0;
	if ((ret = metric_points(dir, r, boot, l)) == -2 || (rc = ablation_bars(dir, r, l)) == -2)
		return -2;
	ret |= rc;
	if ((rc = plot_distributions(dir, r, s, l)) == -2)
		return -2;
	ret |= rc;
	if ((rc = plot_sanity(dir, r, s, l)) == -2)
		return -2;
	ret |= rc;
	if ((rc = cd_figures(dir, r, l)) == -2)
		return -2;
	return ret | rc ? -1 : 0;
}
