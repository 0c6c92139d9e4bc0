/*
 * table.h - the paper's tables from the results: one methods table per model, layer, utility and
 * target (methods as rows in the paper's order, AD Coh Com ADCC IC ADD as columns, x100 with two
 * decimals, the best of each column in bold and the second underlined, RandomCAM left out of the
 * ranking), and their Markdown, LaTeX, CSV and HTML forms; the pieces the ablation tables
 * (reports/ablation.h, the paper's Table 5 among them) are built from.
 */
#ifndef REPORTS_TABLE_H
#define REPORTS_TABLE_H

#include <stddef.h>
#include <stdio.h>

#include "lib/strbuf.h"
#include "reports/paper.h"
#include "reports/results.h"
#include "reports/stats.h"

enum table_mark { TABLE_PLAIN, TABLE_BEST, TABLE_SECOND };

enum table_format { TABLE_MARKDOWN = 1 << 0, TABLE_LATEX = 1 << 1, TABLE_CSV = 1 << 2 };

/* camlab's six columns, then (with a paper table) the paper's six. */
#define TABLE_MAX_VALS (2 * METRIC_NR)

struct table_row {
	char *key[2];	/* the label columns as shown (display names); owned */
	int group;	/* rows of one group are ranked together; a rule separates groups */
	int ranked;	/* 0: left out when marking the best (the RandomCAM baseline) */
	int has[TABLE_MAX_VALS];
	long long q[TABLE_MAX_VALS]; /* the value x100 in hundredths: 1691 prints as 16.91 */
	enum table_mark mark[TABLE_MAX_VALS];
	/* camlab's columns: the bootstrap interval of the mean over the run's images, in hundredths
	 * like q (has_ci 0: the run has no per-image values of that metric) */
	int has_ci[METRIC_NR];
	long long lo[METRIC_NR], hi[METRIC_NR], hw[METRIC_NR]; /* hw: half the width */
	const struct result *x; /* the run the row shows (borrowed from the results) */
};

/*
 * The statistics the spec asks for (its statistics key, read from the canonical text the database
 * keeps): without them (on == 0) the tables print means alone, the best of each column in bold and the
 * second underlined, and only the CSV tables carry the intervals (bootstrap with the defaults). With
 * them every format prints "mean ± half-width", and bold marks the best value and every row the paired
 * test (Holm-corrected over the column) cannot tell from it (stats_mark_best); nothing is underlined.
 */
struct table_stats {
	int on;
	struct stats_mark_opts mark; /* the test, alpha, and the bootstrap (B, seed; alpha = 1 - level) */
};
#define TABLE_STATS_INIT                \
	{                               \
		0, STATS_MARK_OPTS_INIT \
	}

/*
 * Set st from the "statistics ..." line of a spec's canonical text (NULL, or no such line: st stays
 * off, with the defaults).
 */
void table_stats_from_canonical(struct table_stats *st, const char *canonical);

struct table {
	char *name;	     /* file stem, e.g. "methods.resnet50.last_conv.rest.predicted"; owned */
	char *caption;	     /* plain UTF-8 text; owned */
	int nr_keys;	     /* label columns: 1 (Method) or 2 (Method, Utility) */
	int nr_vals;	     /* METRIC_NR, or TABLE_MAX_VALS with the paper's columns */
	const struct metric_info *cols; /* the columns' metrics (nr_vals), or NULL: metric_info's */
	int metric0;	     /* with cols: column c is metric metric0 + c of RESULT_NR_ALL's numbering */
	char *paper_head;    /* which paper table the paper's columns are ("resnet50, last conv.
				(layer4.2.conv3)"), or NULL; owned */
	int stats;	     /* the rows print "mean ± half-width" (struct table_stats on) */
	int diff;	     /* differences: signed ("+0.12"), with statistics "+0.12 [+0.01, +0.25]" */
	const char *key_head; /* the second label column's head (static); NULL: "Utility" */
	struct table_row *rows;
	size_t nr, alloc;
};

/*
 * Build every table of r into *out (an array of *nr tables, the caller's: free with tables_free).
 * paper (may be NULL) adds the paper's column set to the methods tables of its network, or to every
 * methods table when no model is named like the network. The intervals are r's (results_load_images);
 * st (NULL: TABLE_STATS_INIT) says how to print them and mark the best. The tables borrow r's rows:
 * free them before r.
 */
void tables_build(const struct results *r, const struct paper_table *paper, const struct table_stats *st,
		  struct table **out, size_t *nr);
void tables_free(struct table *t, size_t nr);

/* The pieces of a table, for the ablation tables (reports/ablation.c). */

/* v x100 in hundredths (struct table_row's q): 0.16914 is 1691. */
long long table_q(double v);
/* A new row at the end of t, zeroed (group 0, nothing marked). */
struct table_row *table_new_row(struct table *t);
/* row's camlab columns from the run x (borrowed): its means, their intervals; ranked unless RandomCAM. */
void table_row_set_values(struct table_row *row, const struct result *x);
/* "MODEL, layer LAYER (PATH)" of the run x. */
void table_add_setting(struct strbuf *sb, const struct result *x);
/* "N images" (or "N1-N2 images"), with notes on unfinished runs and on an arithmetic other than fp32. */
void table_add_counts(struct strbuf *sb, const struct result *const *x, size_t n);
/* What a caption with statistics says of the intervals and of the marks of the best (who, whom). */
void table_add_stats_caption(struct strbuf *sb, const struct table_stats *st, const char *who,
			     const char *whom);
/*
 * With statistics, bold in each group's column on the best row and every row the paired test cannot
 * tell from it; nothing underlined (after table_rank).
 */
void table_mark_tested(struct table *t, const struct table_stats *st);

/* Mark the best and second values of each column within each group (dense ranks: ties share). */
void table_rank(struct table *t);

void table_write_markdown(FILE *f, const struct table *t);
/* A table float with booktabs rules, for \input in a document loading booktabs (and graphicx). */
void table_write_latex(FILE *f, const struct table *t);
void table_write_csv(FILE *f, const struct table *t);
void table_write_html(struct strbuf *sb, const struct table *t);

/*
 * Write DIR/NAME.md, .tex and .csv (as formats asks) for each table, and, with TABLE_LATEX,
 * DIR/tables.tex: a document that inputs them all (pdflatex tables.tex). 0, or -1 after error().
 */
int tables_write(const char *dir, const struct table *t, size_t nr, unsigned formats);

/* A file-name-safe form of s: letters, digits and "+-_" kept, anything else '_'. */
void table_slug(struct strbuf *sb, const char *s);

/*
 * The file stem of a methods table's block and of what is drawn from it: "PREFIX.MODEL.LAYER.UTILITY.TARGET"
 * of the run x, each part through table_slug (prefix as given), appended to sb.
 */
void table_block_stem(struct strbuf *sb, const char *prefix, const struct result *x);

#endif
