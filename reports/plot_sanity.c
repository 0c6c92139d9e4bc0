/*
 * plot_sanity.c - the sanity check's curve (cam/sanity.h): per methods table, each method's mean Spearman
 * correlation of its map with the map after each step of the cascading randomisation, from the
 * sanity_spearman_NN means of the image_metrics table. A method whose line stays at 1 ignores the model.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/quote.h"
#include "lib/strbuf.h"
#include "lib/xalloc.h"
#include "reports/figure.h"
#include "reports/plot_priv.h"
#include "reports/table.h"
#include "store/store.h"

enum { CURVE_MAX = 64 };

struct curves {
	const struct results *r;
	double *rho; /* r->nr x CURVE_MAX means, NAN where absent */
};

static int curve_mean(const char *key, const char *name, double mean, void *ud)
{
	struct curves *c = ud;
	unsigned step;
	char tail;
	size_t i;

	if (sscanf(name, "sanity_spearman_%2u%c", &step, &tail) != 1 || step < 1 || step > CURVE_MAX)
		return 0;
	for (i = 0; i < c->r->nr; i++)
		if (!strcmp(c->r->rows[i].key, key))
			c->rho[i * CURVE_MAX + step - 1] = mean;
	return 0;
}

/* One block's plot: a line per method over the steps it has. */
static int curve_one(const char *dir, const struct result *x, const double *rho, size_t n, struct plot_list *l)
{
	struct strbuf data = STRBUF_INIT, body = STRBUF_INIT, plot = STRBUF_INIT, stem = STRBUF_INIT,
		      title = STRBUF_INIT, name = STRBUF_INIT;
	size_t i, s, lines = 0, steps = 0;
	int ret = 0;

	for (i = 0; i < n; i++) {
		size_t k = 0;
		while (k < CURVE_MAX && isfinite(rho[i * CURVE_MAX + k]))
			k++;
		if (!k)
			continue;
		steps = k > steps ? k : steps;
		strbuf_addf(&data, "$m%zu << EOD\n", i);
		for (s = 0; s < k; s++)
			strbuf_addf(&data, "%zu %.6f\n", s + 1, rho[i * CURVE_MAX + s]);
		strbuf_addstr(&data, "EOD\n");
		strbuf_addstr(&plot, lines++ ? ", \\\n     " : "plot ");
		strbuf_addf(&plot, "$m%zu using 1:2 with linespoints pt 7 lw 2 lc rgb \"%s\" title ", i,
			    colour(x[i].method, i));
		quote_gnuplot(&plot, figure_label(x[i].method, &name), 0);
	}
	if (!lines)
		goto out;
	table_block_stem(&stem, "sanity", x);
	strbuf_addf(&title, "Sanity check (cascading randomisation from the output): Spearman of each map with "
			    "the trained model's; %s, layer %s, %s utility, target %s",
		    x->model, x->layer, figure_label(x->utility, &name), x->target);
	strbuf_addstr(&body, common);
	strbuf_addstr(&body, "set title ");
	quote_gnuplot(&body, title.buf, 0);
	strbuf_addf(&body, "\nset xlabel \"modules re-initialised (from the output)\"\n"
				   "set ylabel \"Spearman rho (1: unchanged)\"\nset yrange [-1:1.05]\n"
				   "set xrange [0.5:%zu.5]\nset xtics 1\n"
				   "set key outside right top vertical Left reverse title \"Method\"\n",
		    steps);
	strbuf_add(&body, plot.buf, plot.len);
	strbuf_addch(&body, '\n');
	ret = draw(dir, stem.buf, title.buf, &data, &body, 1200, 600, l);
out:
	strbuf_release(&data);
	strbuf_release(&body);
	strbuf_release(&plot);
	strbuf_release(&stem);
	strbuf_release(&title);
	strbuf_release(&name);
	return ret;
}

int plot_sanity(const char *dir, const struct results *r, struct store *s, struct plot_list *l)
{
	struct curves c = { r, NULL };
	size_t i, j;
	int ret = 0, rc;

	if (!r->nr)
		return 0;
	c.rho = xmalloc(r->nr * CURVE_MAX * sizeof(double));
	for (i = 0; i < r->nr * CURVE_MAX; i++)
		c.rho[i] = NAN;
	store_each_metric_mean(s, curve_mean, &c);
	for (i = 0; i < r->nr && ret != -2; i = j) {
		for (j = i + 1; j < r->nr && same_block(&r->rows[j], &r->rows[i], 1); j++)
			;
		rc = curve_one(dir, &r->rows[i], c.rho + i * CURVE_MAX, j - i, l);
		ret = rc == -2 ? -2 : ret | rc;
	}
	free(c.rho);
	return ret;
}
