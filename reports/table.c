/*
 * table.c - building the paper's tables from the results, ranking their columns, and writing them as
 * Markdown, LaTeX (booktabs), CSV and HTML (see table.h).
 */
#include "reports/table.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/error.h"
#include "lib/quote.h"
#include "lib/xalloc.h"
#include "reports/figure.h"
#include "reports/stats.h"

void table_slug(struct strbuf *sb, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		int keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			   c == '+' || c == '-' || c == '_';
		strbuf_addch(sb, keep ? (char)c : '_');
	}
}

void table_block_stem(struct strbuf *sb, const char *prefix, const struct result *x)
{
	const char *part[4] = { x->model, x->layer, x->utility, x->target };
	size_t i;

	strbuf_addstr(sb, prefix);
	for (i = 0; i < 4; i++) {
		strbuf_addch(sb, '.');
		table_slug(sb, part[i]);
	}
}

/* Whether column c holds the paper's value (the methods tables put them after their own); an extra
 * table (cols set) may have more than METRIC_NR columns of its own. */
static int paper_col(const struct table *t, int c)
{
	return !t->cols && c >= METRIC_NR;
}

static const struct metric_info *col_info(const struct table *t, int c)
{
	return t->cols ? &t->cols[c] : &metric_info[c % METRIC_NR];
}

/* The metric camlab's column c of t shows, in RESULT_NR_ALL's numbering. */
static int col_metric(const struct table *t, int c)
{
	return t->cols ? t->metric0 + c : c;
}

long long table_q(double v)
{
	return llround(v * 10000.0);
}

static void add_q(struct strbuf *sb, long long q)
{
	long long a = q < 0 ? -q : q;
	strbuf_addf(sb, "%s%lld.%02lld", q < 0 ? "-" : "", a / 100, a % 100);
}

/* A difference: its sign always, so that "+0.12" and "-0.12" read alike. */
static void add_signed(struct strbuf *sb, long long q)
{
	if (q > 0)
		strbuf_addch(sb, '+');
	add_q(sb, q);
}

/*
 * Cell c of row: the value wrapped in the markup of its mark (open/close pairs: best, second), and in a
 * table with statistics its interval's half-width after pm (the format's plus-minus sign), or in a
 * table of differences the interval itself, whose side of 0 is what its mark says.
 */
static void add_cell(struct strbuf *sb, const struct table *t, const struct table_row *row, int c,
		     const char *const mark[4], const char *pm)
{
	int k = row->mark[c] == TABLE_BEST ? 0 : row->mark[c] == TABLE_SECOND ? 2 : -1;
	if (k >= 0)
		strbuf_addstr(sb, mark[k]);
	if (t->diff)
		add_signed(sb, row->q[c]);
	else
		add_q(sb, row->q[c]);
	if (t->stats && c < METRIC_NR && row->has_ci[c] && t->diff) {
		strbuf_addstr(sb, " [");
		add_signed(sb, row->lo[c]);
		strbuf_addstr(sb, ", ");
		add_signed(sb, row->hi[c]);
		strbuf_addch(sb, ']');
	} else if (t->stats && c < METRIC_NR && row->has_ci[c]) {
		strbuf_addstr(sb, pm);
		add_q(sb, row->hw[c]);
	}
	if (k >= 0)
		strbuf_addstr(sb, mark[k + 1]);
}

static struct table *new_table(struct table **tables, size_t *nr, size_t *alloc)
{
	struct table *t;
	ALLOC_GROW(*tables, *nr + 1, *alloc);
	t = &(*tables)[(*nr)++];
	memset(t, 0, sizeof(*t));
	return t;
}

struct table_row *table_new_row(struct table *t)
{
	struct table_row *row;
	ALLOC_GROW(t->rows, t->nr + 1, t->alloc);
	row = &t->rows[t->nr++];
	memset(row, 0, sizeof(*row));
	return row;
}

void table_row_set_values(struct table_row *row, const struct result *x)
{
	int m;
	row->x = x;
	row->ranked = !results_is_baseline(x->method);
	for (m = 0; m < METRIC_NR; m++) {
		row->has[m] = !isnan(x->v[m]) && isfinite(x->v[m]);
		row->q[m] = row->has[m] ? table_q(x->v[m]) : 0;
		row->has_ci[m] = row->has[m] && x->has_ci[m];
		if (row->has_ci[m]) {
			row->lo[m] = table_q(x->ci[m].lo);
			row->hi[m] = table_q(x->ci[m].hi);
			row->hw[m] = table_q((x->ci[m].hi - x->ci[m].lo) / 2);
		}
	}
}

/* The place of image idx in idx[0..n-1] (ascending), or n when it is not there. */
static size_t find_image(const long *idx, size_t n, long want)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (idx[mid] < want)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && idx[lo] == want ? lo : n;
}

/*
 * The values of metric m of the nk rows who[] of t on the images every one of them has a value for, in
 * the first row's index order: row r's at values[r * n + image] (allocated, caller frees); returns n.
 */
static size_t common_values(const struct table *t, const size_t *who, size_t nk, int m, double **values)
{
	long **idx = xcalloc(nk, sizeof(*idx));
	double **v = xcalloc(nk, sizeof(*v));
	size_t *nr = xcalloc(nk, sizeof(*nr)), n = 0, p, r, at;

	for (r = 0; r < nk; r++)
		nr[r] = results_image_column(t->rows[who[r]].x, m, &idx[r], &v[r]);
	*values = xcalloc(nk * nr[0] + 1, sizeof(double));
	for (p = 0; p < nr[0]; p++) {
		for (r = 0; r < nk; r++) {
			at = find_image(idx[r], nr[r], idx[0][p]);
			if (at == nr[r])
				break;
			(*values)[r * nr[0] + n] = v[r][at];
		}
		n += r == nk;
	}
	/* rows were laid out nr[0] apart: close them up to n */
	for (r = 1; n && r < nk; r++)
		memmove(*values + r * n, *values + r * nr[0], n * sizeof(double));
	for (r = 0; r < nk; r++) {
		free(idx[r]);
		free(v[r]);
	}
	free(idx);
	free(v);
	free(nr);
	return n;
}

/*
 * With statistics, bold marks in each group's column the best row and every row the paired test cannot
 * tell from it (stats_mark_best), over the images every ranked row of the column has a value for; ADCC,
 * a function of three means with no per-image value, and a column without such images keep the bold
 * of the best value. Nothing is underlined.
 */
void table_mark_tested(struct table *t, const struct table_stats *st)
{
	size_t i, j, k;
	int c;

	for (i = 0; i < t->nr; i = j) {
		for (j = i + 1; j < t->nr && t->rows[j].group == t->rows[i].group; j++)
			;
		for (c = 0; c < METRIC_NR && c < t->nr_vals; c++) {
			size_t *who = xcalloc(j - i + 1, sizeof(*who)), nk = 0, n = 0, r;
			int m = col_metric(t, c), *mark = NULL;
			double *values = NULL;

			for (k = i; k < j; k++) {
				if (t->rows[k].mark[c] == TABLE_SECOND)
					t->rows[k].mark[c] = TABLE_PLAIN;
				if (t->rows[k].ranked && t->rows[k].has[c] && t->rows[k].x)
					who[nk++] = k;
			}
			if (m != METRIC_ADCC && nk >= 2)
				n = common_values(t, who, nk, m, &values);
			if (n) {
				mark = xcalloc(nk, sizeof(*mark));
				if (stats_mark_best(values, nk, n,
						    col_info(t, c)->higher_better ? STATS_HIGHER_BETTER
										  : STATS_LOWER_BETTER,
						    &st->mark, mark, NULL) == 0)
					for (r = 0; r < nk; r++)
						t->rows[who[r]].mark[c] = mark[r] ? TABLE_BEST : TABLE_PLAIN;
			}
			free(who);
			free(values);
			free(mark);
		}
	}
}

/*
 * What the caption of a table with statistics adds: how the intervals and the marks were made (with
 * adcc, that ADCC, which no image has, marks its best value alone).
 */
static void add_stats_caption(struct strbuf *sb, const struct table_stats *st, const char *who,
			      const char *whom, int adcc)
{
	strbuf_addf(
		sb,
		"Mean \u00b1 half-width of the %g%% bootstrap interval (%u resamples, seed %llu). In bold %s "
		"and every %s that the %s (Holm-corrected, family-wise level %g) cannot tell from it%s",
		100 * (1 - st->mark.boot.alpha), st->mark.boot.B, (unsigned long long)st->mark.boot.seed, who,
		whom,
		st->mark.test == STATS_TEST_BOOTSTRAP ? "paired bootstrap test" : "Wilcoxon signed-rank test",
		st->mark.alpha, adcc ? "; ADCC: the best value" : "");
}

void table_add_stats_caption(struct strbuf *sb, const struct table_stats *st, const char *who,
			     const char *whom)
{
	add_stats_caption(sb, st, who, whom, 1);
}

void table_stats_from_canonical(struct table_stats *st, const char *canonical)
{
	const char *p = canonical;
	unsigned long long seed;
	char test[16];
	double alpha;
	unsigned B;

	*st = (struct table_stats)TABLE_STATS_INIT;
	while (p && *p) {
		if (!strncmp(p, "statistics ", 11) &&
		    sscanf(p, "statistics bootstrap %u alpha %lf seed %llu test %15s", &B, &alpha, &seed,
			   test) == 4 &&
		    B > 0 && alpha > 0 && alpha < 1) {
			st->on = 1;
			st->mark.boot.B = B;
			st->mark.boot.alpha = st->mark.alpha = alpha;
			st->mark.boot.seed = seed;
			st->mark.test =
				!strcmp(test, "bootstrap") ? STATS_TEST_BOOTSTRAP : STATS_TEST_WILCOXON;
			return;
		}
		p = strchr(p, '\n');
		p = p ? p + 1 : NULL;
	}
}

/* "N images", or "N1-N2 images" when the runs differ, and a note on unfinished runs. */
void table_add_counts(struct strbuf *sb, const struct result *const *x, size_t n)
{
	long lo = x[0]->n, hi = x[0]->n;
	size_t i, unfinished = 0;
	for (i = 0; i < n; i++) {
		lo = x[i]->n < lo ? x[i]->n : lo;
		hi = x[i]->n > hi ? x[i]->n : hi;
		unfinished += strcmp(x[i]->state, "done") != 0;
	}
	if (lo == hi)
		strbuf_addf(sb, "%ld image%s", lo, lo == 1 ? "" : "s");
	else
		strbuf_addf(sb, "%ld\u2013%ld images", lo, hi);
	if (unfinished)
		strbuf_addf(sb, "; %zu run%s not finished", unfinished, unfinished == 1 ? "" : "s");
	/* numbers computed in another arithmetic than fp32 say so where they are shown */
	for (i = 0; i < n && !strcmp(x[i]->precision, "fp32"); i++)
		;
	if (i < n)
		strbuf_addf(sb, "; computed in %s%s", x[i]->precision,
			    strcmp(x[i]->precision, "tf32") ? " (autocast)" : "");
}

/*
 * Equal rows that theory predicts are no finding: where a run found the Hessian-vector product zero
 * (the network is piecewise linear above the layer for the utility, pytorch-grad-cam issue #582),
 * ShapleyCAM is GradCAM and its -H and -E forms are HiResCAM and GradCAM-E; at a layer that feeds only
 * pooling and a linear head (cam_head_check's condition), SCIENCE.md's identities hold.
 */
static void add_theory_note(struct strbuf *sb, const struct result *const *x, size_t n)
{
	size_t i;

	for (i = 0; i < n && !(x[i]->note && strstr(x[i]->note, "hvp-zero")); i++)
		;
	if (i < n)
		strbuf_addstr(sb, " Note: the Hessian-vector product is zero here (the network is piecewise "
				  "linear above the layer for this utility), so ShapleyCAM equals GradCAM "
				  "(and ShapleyCAM-H, -E equal HiResCAM, GradCAM-E) by theory, not as a finding.");
	for (i = 0; i < n && !(x[i]->note && strstr(x[i]->note, "linear-head")); i++)
		;
	if (i < n)
		strbuf_addstr(sb, " Note: the layer feeds only pooling and a linear head, where the gradient is "
				  "the same at every position: HiResCAM and XGradCAM equal GradCAM, and "
				  "ShapleyCAM-H equals ShapleyCAM, by theory.");
}

void table_add_setting(struct strbuf *sb, const struct result *x)
{
	strbuf_addf(sb, "%s, layer %s", x->model, x->layer);
	if (*x->layer_path && strcmp(x->layer_path, x->layer))
		strbuf_addf(sb, " (%s)", x->layer_path);
}

static int same_block(const struct result *a, const struct result *b, int with_utility)
{
	return !strcmp(a->model, b->model) && !strcmp(a->layer, b->layer) && !strcmp(a->target, b->target) &&
	       (!with_utility || !strcmp(a->utility, b->utility));
}

static void methods_table(struct table *t, const struct result *const *x, size_t n,
			  const struct paper_table *paper, const struct table_stats *st)
{
	struct strbuf sb = STRBUF_INIT, lab = STRBUF_INIT;
	size_t i;
	int m;

	table_block_stem(&sb, "methods", x[0]);
	t->name = strbuf_detach(&sb, NULL);

	table_add_setting(&sb, x[0]);
	strbuf_addf(&sb, ", %s utility, target %s; ", figure_label(x[0]->utility, &lab), x[0]->target);
	table_add_counts(&sb, x, n);
	if (st->on) {
		strbuf_addstr(&sb, ". ");
		table_add_stats_caption(&sb, st, "the best method", "method");
	} else {
		strbuf_addstr(&sb, ". Best in bold, second underlined");
	}
	for (i = 0; i < n && !results_is_baseline(x[i]->method); i++)
		;
	strbuf_addstr(&sb, i < n ? "; RandomCAM left out." : ".");
	add_theory_note(&sb, x, n);
	t->stats = st->on;
	t->caption = strbuf_detach(&sb, NULL);
	t->nr_keys = 1;
	t->nr_vals = METRIC_NR;
	if (paper) {
		t->nr_vals = TABLE_MAX_VALS;
		strbuf_addf(&sb, "%s, %s (%s)", paper->network, paper_setting_name(paper->setting),
			    paper->layer);
		t->paper_head = strbuf_detach(&sb, NULL);
	}
	for (i = 0; i < n; i++) {
		struct table_row *row = table_new_row(t);
		double pv[METRIC_NR];
		row->key[0] = figure_label_dup(x[i]->method);
		table_row_set_values(row, x[i]);
		if (paper && paper_lookup(paper, x[i]->method, pv))
			for (m = 0; m < METRIC_NR; m++) {
				row->has[METRIC_NR + m] = 1;
				row->q[METRIC_NR + m] = llround(pv[m] * 100.0);
			}
	}
	table_rank(t);
	if (st->on)
		table_mark_tested(t, st);
	strbuf_release(&lab);
}

/*
 * The metrics beyond the paper's of one block, methods as rows: extra_metric_info's columns first to
 * first + count - 1 (the faithfulness metrics ROAD, ARCC, insertion, deletion, gain; Shapley fidelity's;
 * or the sanity check's and target discrimination's), named slug.MODEL.LAYER.UTILITY.TARGET, when a run
 * of it has one of them; with their intervals, and with statistics marked by the paired tests as the
 * methods tables are. Returns 0 (t left empty) when none has.
 */
static int extra_table(struct table *t, const struct result *const *x, size_t n, int first, int count,
		       const char *slug, const char *title, const struct table_stats *st)
{
	struct strbuf sb = STRBUF_INIT, lab = STRBUF_INIT;
	size_t i;
	int m, any = 0;

	for (i = 0; i < n; i++)
		for (m = 0; m < count; m++)
			any |= isfinite(x[i]->extra[first + m]);
	if (!any)
		return 0;
	table_block_stem(&sb, slug, x[0]);
	t->name = strbuf_detach(&sb, NULL);
	strbuf_addf(&sb, "%s (camlab help metrics): ", title);
	table_add_setting(&sb, x[0]);
	strbuf_addf(&sb, ", %s utility, target %s; ", figure_label(x[0]->utility, &lab), x[0]->target);
	table_add_counts(&sb, x, n);
	if (st->on) {
		strbuf_addstr(&sb, ". ");
		add_stats_caption(&sb, st, "the best method", "method", 0);
		strbuf_addstr(&sb, ".");
	} else {
		strbuf_addstr(&sb, ". Best in bold, second underlined.");
	}
	t->caption = strbuf_detach(&sb, NULL);
	t->stats = st->on;
	t->nr_keys = 1;
	t->nr_vals = count;
	t->cols = extra_metric_info + first;
	t->metric0 = METRIC_NR + first;
	for (i = 0; i < n; i++) {
		struct table_row *row = table_new_row(t);
		row->key[0] = figure_label_dup(x[i]->method);
		row->ranked = !results_is_baseline(x[i]->method);
		row->x = x[i];
		for (m = 0; m < count; m++) {
			const struct stats_ci *ci = &x[i]->ci[t->metric0 + m];
			row->has[m] = isfinite(x[i]->extra[first + m]);
			row->q[m] = row->has[m] ? table_q(x[i]->extra[first + m]) : 0;
			row->has_ci[m] = row->has[m] && x[i]->has_ci[t->metric0 + m];
			if (row->has_ci[m]) {
				row->lo[m] = table_q(ci->lo);
				row->hi[m] = table_q(ci->hi);
				row->hw[m] = table_q((ci->hi - ci->lo) / 2);
			}
		}
	}
	table_rank(t);
	if (st->on)
		table_mark_tested(t, st);
	strbuf_release(&lab);
	return 1;
}

void tables_build(const struct results *r, const struct paper_table *paper, const struct table_stats *st,
		  struct table **out, size_t *nr)
{
	static const struct table_stats defaults = TABLE_STATS_INIT;
	const struct result **x = xcalloc(r->nr + 1, sizeof(*x));
	struct table *tables = NULL;
	size_t alloc = 0, i, j;
	int any_match = 0;

	*nr = 0;
	if (!st)
		st = &defaults;
	for (i = 0; i < r->nr; i++)
		x[i] = &r->rows[i];
	for (i = 0; paper && !paper->automatic && i < r->nr; i++)
		any_match |= paper_matches_model(paper, r->rows[i].model);
	/* Rows come sorted by model, layer, target, utility, method: blocks are contiguous. */
	for (i = 0; i < r->nr; i = j) {
		struct paper_table own;
		const struct paper_table *p = NULL;
		for (j = i + 1; j < r->nr && same_block(x[j], x[i], 1); j++)
			;
		if (paper && paper->automatic)
			p = paper_for(x[i]->model, x[i]->layer, x[i]->layer_path, &own) ? &own : NULL;
		else if (paper && (!any_match || paper_matches_model(paper, x[i]->model)))
			p = paper;
		methods_table(new_table(&tables, nr, &alloc), x + i, j - i, p, st);
		if (!extra_table(new_table(&tables, nr, &alloc), x + i, j - i, 0, RESULT_NR_FAITHFUL,
				 "faithfulness", "Faithfulness metrics", st))
			(*nr)--;
		if (!extra_table(new_table(&tables, nr, &alloc), x + i, j - i, RESULT_SANITY,
				 RESULT_NR_EXTRA - RESULT_SANITY, "sanity",
				 "Sanity check (model-parameter randomisation) and target discrimination", st))
			(*nr)--;
		if (!extra_table(new_table(&tables, nr, &alloc), x + i, j - i, RESULT_FIDELITY,
				 RESULT_SANITY - RESULT_FIDELITY, "fidelity",
				 "Shapley fidelity: each map before ReLU against the sampled Shapley values", st))
			(*nr)--;
	}
	free(x);
	*out = tables;
}

void tables_free(struct table *t, size_t nr)
{
	size_t i, j;
	for (i = 0; i < nr; i++) {
		for (j = 0; j < t[i].nr; j++) {
			free(t[i].rows[j].key[0]);
			free(t[i].rows[j].key[1]);
		}
		free(t[i].rows);
		free(t[i].name);
		free(t[i].caption);
		free(t[i].paper_head);
	}
	free(t);
}

void table_rank(struct table *t)
{
	size_t i, j;
	int c;

	for (i = 0; i < t->nr; i = j) {
		for (j = i + 1; j < t->nr && t->rows[j].group == t->rows[i].group; j++)
			;
		for (c = 0; c < METRIC_NR && c < t->nr_vals; c++) {
			int up = col_info(t, c)->higher_better, have1 = 0, have2 = 0;
			long long best = 0, second = 0;
			size_t k;
			/* Dense ranks on the printed values: ties share a mark, the next value is second. */
			for (k = i; k < j; k++) {
				const struct table_row *row = &t->rows[k];
				long long q = row->q[c];
				if (!row->ranked || !row->has[c])
					continue;
				if (!have1 || (up ? q > best : q < best)) {
					if (have1) {
						second = best;
						have2 = 1;
					}
					best = q;
					have1 = 1;
				} else if (q != best && (!have2 || (up ? q > second : q < second))) {
					second = q;
					have2 = 1;
				}
			}
			for (k = i; k < j; k++) {
				struct table_row *row = &t->rows[k];
				row->mark[c] = TABLE_PLAIN;
				if (!row->ranked || !row->has[c])
					continue;
				if (have1 && row->q[c] == best)
					row->mark[c] = TABLE_BEST;
				else if (have2 && row->q[c] == second)
					row->mark[c] = TABLE_SECOND;
			}
		}
	}
}

/* The key cell of row i, column k: blank when it repeats the row above within its group. */
static const char *key_cell(const struct table *t, size_t i, int k)
{
	const char *s = t->rows[i].key[k] ? t->rows[i].key[k] : "";
	if (k == 0 && t->nr_keys > 1 && i > 0 && t->rows[i - 1].group == t->rows[i].group)
		return "";
	return s;
}

static const char *key_head(const struct table *t, int k)
{
	return k == 0 ? "Method" : t->key_head ? t->key_head : "Utility";
}

static const char *arrow(const struct table *t, int c, const char *up, const char *down)
{
	return col_info(t, c)->higher_better ? up : down;
}

static const char *const md_marks[4] = { "**", "**", "<u>", "</u>" };
static const char *const tex_marks[4] = { "\\textbf{", "}", "\\underline{", "}" };
static const char *const html_marks[4] = { "<b>", "</b>", "<u>", "</u>" };

void table_write_markdown(FILE *f, const struct table *t)
{
	struct strbuf sb = STRBUF_INIT;
	size_t i;
	int k, c;

	strbuf_addstr(&sb, "**");
	quote_markdown(&sb, t->caption);
	strbuf_addstr(&sb, "**\n\n|");
	for (k = 0; k < t->nr_keys; k++)
		strbuf_addf(&sb, " %s |", key_head(t, k));
	for (c = 0; c < t->nr_vals; c++)
		strbuf_addf(&sb, " %s%s%s |", paper_col(t, c) ? "paper " : "", col_info(t, c)->name,
			    arrow(t, c, "\u2191", "\u2193"));
	strbuf_addstr(&sb, "\n|");
	for (k = 0; k < t->nr_keys; k++)
		strbuf_addstr(&sb, " :--- |");
	for (c = 0; c < t->nr_vals; c++)
		strbuf_addstr(&sb, " ---: |");
	strbuf_addch(&sb, '\n');
	for (i = 0; i < t->nr; i++) {
		const struct table_row *row = &t->rows[i];
		strbuf_addch(&sb, '|');
		for (k = 0; k < t->nr_keys; k++) {
			strbuf_addch(&sb, ' ');
			quote_markdown(&sb, key_cell(t, i, k));
			strbuf_addstr(&sb, " |");
		}
		for (c = 0; c < t->nr_vals; c++) {
			strbuf_addch(&sb, ' ');
			if (!row->has[c]) {
				strbuf_addstr(&sb, "\u2013 |");
				continue;
			}
			add_cell(&sb, t, row, c, md_marks, " \u00b1 ");
			strbuf_addstr(&sb, " |");
		}
		strbuf_addch(&sb, '\n');
	}
	if (t->paper_head) {
		strbuf_addstr(&sb, "\nColumns *paper*: the paper's published values for ");
		quote_markdown(&sb, t->paper_head);
		strbuf_addstr(&sb, ".\n");
	}
	fwrite(sb.buf, 1, sb.len, f);
	strbuf_release(&sb);
}

void table_write_latex(FILE *f, const struct table *t)
{
	struct strbuf sb = STRBUF_INIT;
	int k, c, wide = !t->cols && t->nr_vals > METRIC_NR; /* paper columns */
	size_t i;

	strbuf_addf(&sb, "%% %s: written by camlab report from results.sqlite; needs \\usepackage{booktabs}%s\n",
		    t->name, wide ? " and graphicx" : "");
	strbuf_addstr(&sb, "\\begin{table}[htbp]\n\\centering\n\\caption{");
	quote_latex(&sb, t->caption);
	strbuf_addstr(&sb, "}\n\\label{tab:");
	strbuf_addstr(&sb, t->name);
	strbuf_addstr(&sb, "}\n");
	if (wide)
		strbuf_addstr(&sb, "\\resizebox{\\linewidth}{!}{%\n");
	strbuf_addstr(&sb, "\\begin{tabular}{");
	for (k = 0; k < t->nr_keys; k++)
		strbuf_addch(&sb, 'l');
	for (c = 0; c < t->nr_vals; c++)
		strbuf_addch(&sb, 'r');
	strbuf_addstr(&sb, "}\n\\toprule\n");
	if (wide) {
		for (k = 0; k < t->nr_keys; k++)
			strbuf_addstr(&sb, "& ");
		strbuf_addf(&sb, "\\multicolumn{%d}{c}{camlab} & \\multicolumn{%d}{c}{paper: ", METRIC_NR, METRIC_NR);
		quote_latex(&sb, t->paper_head);
		strbuf_addf(&sb, "} \\\\\n\\cmidrule(lr){%d-%d}\\cmidrule(lr){%d-%d}\n", t->nr_keys + 1,
			    t->nr_keys + METRIC_NR, t->nr_keys + METRIC_NR + 1, t->nr_keys + 2 * METRIC_NR);
	}
	for (k = 0; k < t->nr_keys; k++)
		strbuf_addf(&sb, "%s%s", k ? " & " : "", key_head(t, k));
	for (c = 0; c < t->nr_vals; c++)
		strbuf_addf(&sb, " & %s$%s$", col_info(t, c)->name, arrow(t, c, "\\uparrow", "\\downarrow"));
	strbuf_addstr(&sb, " \\\\\n\\midrule\n");
	for (i = 0; i < t->nr; i++) {
		const struct table_row *row = &t->rows[i];
		if (i > 0 && row->group != t->rows[i - 1].group)
			strbuf_addstr(&sb, "\\midrule\n");
		for (k = 0; k < t->nr_keys; k++) {
			if (k)
				strbuf_addstr(&sb, " & ");
			quote_latex(&sb, key_cell(t, i, k));
		}
		for (c = 0; c < t->nr_vals; c++) {
			strbuf_addstr(&sb, " & ");
			if (!row->has[c]) {
				strbuf_addstr(&sb, "--");
				continue;
			}
			add_cell(&sb, t, row, c, tex_marks, " $\\pm$ ");
		}
		strbuf_addstr(&sb, " \\\\\n");
	}
	strbuf_addstr(&sb, "\\bottomrule\n\\end{tabular}");
	strbuf_addstr(&sb, wide ? "}\n" : "\n");
	strbuf_addstr(&sb, "\\end{table}\n");
	fwrite(sb.buf, 1, sb.len, f);
	strbuf_release(&sb);
}

void table_write_csv(FILE *f, const struct table *t)
{
	struct strbuf sb = STRBUF_INIT;
	size_t i;
	int k, c;

	for (k = 0; k < t->nr_keys; k++)
		strbuf_addf(&sb, "%s%s", k ? "," : "", key_head(t, k));
	for (c = 0; c < t->nr_vals; c++) {
		strbuf_addf(&sb, ",%s%s", paper_col(t, c) ? "paper " : "", col_info(t, c)->name);
		if (c < METRIC_NR) /* the interval of camlab's mean: always, whatever the spec asks */
			strbuf_addf(&sb, ",%s_lo,%s_hi", col_info(t, c)->name, col_info(t, c)->name);
	}
	strbuf_addch(&sb, '\n');
	for (i = 0; i < t->nr; i++) {
		const struct table_row *row = &t->rows[i];
		for (k = 0; k < t->nr_keys; k++) {
			if (k)
				strbuf_addch(&sb, ',');
			quote_csv(&sb, row->key[k] ? row->key[k] : "");
		}
		for (c = 0; c < t->nr_vals; c++) {
			strbuf_addch(&sb, ',');
			if (row->has[c])
				add_q(&sb, row->q[c]);
			if (c >= METRIC_NR)
				continue;
			strbuf_addch(&sb, ',');
			if (row->has_ci[c])
				add_q(&sb, row->lo[c]);
			strbuf_addch(&sb, ',');
			if (row->has_ci[c])
				add_q(&sb, row->hi[c]);
		}
		strbuf_addch(&sb, '\n');
	}
	fwrite(sb.buf, 1, sb.len, f);
	strbuf_release(&sb);
}

void table_write_html(struct strbuf *sb, const struct table *t)
{
	size_t i;
	int k, c;

	strbuf_addstr(sb, "<table>\n<caption>");
	quote_html(sb, t->caption);
	strbuf_addstr(sb, "</caption>\n<thead>\n");
	if (t->paper_head) {
		strbuf_addf(sb, "<tr><th colspan=\"%d\"></th><th colspan=\"%d\" class=\"grp\">camlab</th>"
				"<th colspan=\"%d\" class=\"grp paper\">paper: ",
			    t->nr_keys, METRIC_NR, METRIC_NR);
		quote_html(sb, t->paper_head);
		strbuf_addstr(sb, "</th></tr>\n");
	}
	strbuf_addstr(sb, "<tr>");
	for (k = 0; k < t->nr_keys; k++)
		strbuf_addf(sb, "<th class=\"key\">%s</th>", key_head(t, k));
	for (c = 0; c < t->nr_vals; c++)
		strbuf_addf(sb, "<th%s>%s%s</th>", paper_col(t, c) ? " class=\"paper\"" : "",
			    col_info(t, c)->name, arrow(t, c, "\u2191", "\u2193"));
	strbuf_addstr(sb, "</tr>\n</thead>\n<tbody>\n");
	for (i = 0; i < t->nr; i++) {
		const struct table_row *row = &t->rows[i];
		int rule = i > 0 && row->group != t->rows[i - 1].group;
		strbuf_addstr(sb, rule ? "<tr class=\"rule\">" : "<tr>");
		for (k = 0; k < t->nr_keys; k++) {
			strbuf_addstr(sb, "<td class=\"key\">");
			quote_html(sb, key_cell(t, i, k));
			strbuf_addstr(sb, "</td>");
		}
		for (c = 0; c < t->nr_vals; c++) {
			strbuf_addstr(sb, paper_col(t, c) ? "<td class=\"paper\">" : "<td>");
			if (!row->has[c]) {
				strbuf_addstr(sb, "\u2013</td>");
				continue;
			}
			add_cell(sb, t, row, c, html_marks, " \u00b1 ");
			strbuf_addstr(sb, "</td>");
		}
		strbuf_addstr(sb, "</tr>\n");
	}
	strbuf_addstr(sb, "</tbody>\n</table>\n");
}

typedef void (*table_writer)(FILE *, const struct table *);

static int write_one(const char *dir, const struct table *t, const char *ext, table_writer fn)
{
	struct strbuf path = STRBUF_INIT;
	FILE *f;
	int ret = 0;

	strbuf_addf(&path, "%s/%s.%s", dir, t->name, ext);
	f = fopen(path.buf, "w");
	if (!f) {
		ret = error("cannot write '%s': %s", path.buf, strerror(errno));
		goto out;
	}
	fn(f, t);
	if (ferror(f) | fclose(f))
		ret = error("cannot write '%s': %s", path.buf, strerror(errno));
out:
	strbuf_release(&path);
	return ret;
}

static int write_latex_document(const char *dir, const struct table *t, size_t nr)
{
	struct strbuf path = STRBUF_INIT;
	size_t i;
	FILE *f;
	int ret = 0;

	strbuf_addf(&path, "%s/tables.tex", dir);
	f = fopen(path.buf, "w");
	if (!f) {
		ret = error("cannot write '%s': %s", path.buf, strerror(errno));
		goto out;
	}
	fputs("% All of camlab's tables in one document: pdflatex tables.tex\n"
	      "\\documentclass{article}\n\\usepackage[margin=2cm]{geometry}\n"
	      "\\usepackage{booktabs}\n\\usepackage{graphicx}\n\\begin{document}\n",
	      f);
	for (i = 0; i < nr; i++) {
		/* a table whose file could not be written (a name too long for a file name) is left out */
		struct strbuf one = STRBUF_INIT;
		strbuf_addf(&one, "%s/%s.tex", dir, t[i].name);
		if (!access(one.buf, R_OK))
			fprintf(f, "\\input{%s.tex}\n", t[i].name);
		strbuf_release(&one);
	}
	fputs("\\end{document}\n", f);
	if (ferror(f) | fclose(f))
		ret = error("cannot write '%s': %s", path.buf, strerror(errno));
out:
	strbuf_release(&path);
	return ret;
}

int tables_write(const char *dir, const struct table *t, size_t nr, unsigned formats)
{
	size_t i;
	int ret = 0;

	for (i = 0; i < nr; i++) {
		if (formats & TABLE_MARKDOWN)
			ret |= write_one(dir, &t[i], "md", table_write_markdown);
		if (formats & TABLE_LATEX)
			ret |= write_one(dir, &t[i], "tex", table_write_latex);
		if (formats & TABLE_CSV)
			ret |= write_one(dir, &t[i], "csv", table_write_csv);
	}
	if (formats & TABLE_LATEX)
		ret |= write_latex_document(dir, t, nr);
	return ret ? -1 : 0;
}
