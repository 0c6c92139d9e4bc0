/*
 * canonical.c - experiment_canonical() (see experiment.h): the text two specs that mean the same thing
 * share, whichever front end read them.
 */
#include "dsl/experiment.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/strbuf.h"
#include "lib/xalloc.h"

/* ---------------------------------------------------------------------------------------------------
 * The canonical text. One item per line, "key value..." separated by single spaces; nested items are
 * indented by two spaces under their owner. A string is written bare when it is non-empty, does not
 * start with '-' or '"' and has only letters, digits and "_.+/:-@,=%"; otherwise in double quotes with
 * C escapes (\" \\ \n \t \xHH). "-" stands for an absent (NULL) value. Numbers are decimal; floats %.9g
 * (enough to read back the same float). Order:
 *
 *   camlab-experiment 1
 *   name N / output PATH / device D / batch B|auto / precision P / quirk Q / channels_last 1 / seed S
 *                                 precision, quirk and channels_last only when not at their defaults
 *                                 (fp32, none, 0), so that specs without them keep their text
 *   model NAME                    one per model, in the order written
 *     file PATH / input_size I / resize R / mean M M M | mean - / std ... / classes PATH|-
 *     layer NAME PATH LAYOUT      one per layer, in the IR's order (front ends sort mappings by name);
 *                                 a fused layer's PATH is its paths joined by a comma
 *   data / path P / labels P|- / limit L / shuffle 0|1 / seed S
 *   methods N... / utilities N... / targets N... / metrics N...      in the order written, "all" expanded
 *   exclude model=V layer=V method=V utility=V target=V             V is "-" for any; in written order
 *   zip DIM...                    in the order model layer method utility target; "zip -" when none
 *   define KIND NAME              sorted by kind (method, utility, metric) then name; without the code,
 *                                 which the two front ends keep in different forms (YAML's inline code,
 *                                 the Lua function's own source)
 *   tables 0|1 / plots 0|1 / formats F... / paper T|-
 *   statistics bootstrap B alpha A seed S test T      only when the spec has 'statistics'; A is the
 *                                 shortest decimal that reads back as the same double
 *   ablation OVER BASELINE|-      in the order written; "ablations none" for an empty list, nothing
 *                                 without the key (the report then makes the utility ablation)
 *     variant LABEL VARIANT VALUE over a method's parameter: each entry of the method (exp_ablation)
 *   figure IMAGE BY               in the order written
 *
 * Paths are absolute and normalised. Positions are not part of the text.
 */

static void put_str(struct strbuf *sb, const char *s)
{
	const char *p;
	int bare;

	if (!s) {
		strbuf_addch(sb, '-');
		return;
	}
	bare = *s && *s != '-' && *s != '"';
	for (p = s; bare && *p; p++)
		bare = isalnum((unsigned char)*p) || strchr("_.+/:-@,=%", *p);
	if (bare) {
		strbuf_addstr(sb, s);
		return;
	}
	strbuf_addch(sb, '"');
	for (p = s; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (c == '"' || c == '\\')
			strbuf_addf(sb, "\\%c", c);
		else if (c == '\n')
			strbuf_addstr(sb, "\\n");
		else if (c == '\t')
			strbuf_addstr(sb, "\\t");
		else if (c < 0x20 || c >= 0x7f)
			strbuf_addf(sb, "\\x%02x", c);
		else
			strbuf_addch(sb, (char)c);
	}
	strbuf_addch(sb, '"');
}

static void put_kv(struct strbuf *sb, const char *indent, const char *key, const char *value)
{
	strbuf_addf(sb, "%s%s ", indent, key);
	put_str(sb, value);
	strbuf_addch(sb, '\n');
}

static void put_names(struct strbuf *sb, const char *key, const struct exp_name *list, size_t n)
{
	size_t i;
	strbuf_addstr(sb, key);
	for (i = 0; i < n; i++) {
		strbuf_addch(sb, ' ');
		put_str(sb, list[i].name);
	}
	strbuf_addch(sb, '\n');
}

static void put_floats(struct strbuf *sb, const char *key, int have, const float *v)
{
	if (have)
		strbuf_addf(sb, "  %s %.9g %.9g %.9g\n", key, (double)v[0], (double)v[1], (double)v[2]);
	else
		strbuf_addf(sb, "  %s -\n", key);
}

static int cmp_def(const void *a, const void *b)
{
	const struct exp_def *x = *(const struct exp_def *const *)a, *y = *(const struct exp_def *const *)b;
	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	return strcmp(x->name ? x->name : "", y->name ? y->name : "");
}

/* "ablation OVER BASELINE" lines, each with its "  variant LABEL VARIANT VALUE" lines. */
static void put_ablations(struct strbuf *sb, const struct experiment *e)
{
	size_t i, j;

	if (e->ablations_set && !e->nr_ablations)
		strbuf_addstr(sb, "ablations none\n");
	for (i = 0; i < e->nr_ablations; i++) {
		strbuf_addstr(sb, "ablation ");
		put_str(sb, e->ablations[i].over);
		strbuf_addch(sb, ' ');
		put_str(sb, e->ablations[i].baseline);
		strbuf_addch(sb, '\n');
		for (j = 0; j < e->ablations[i].nr_variants; j++) {
			const struct exp_ablation_variant *v = &e->ablations[i].variants[j];
			strbuf_addstr(sb, "  variant ");
			put_str(sb, v->label);
			strbuf_addch(sb, ' ');
			put_str(sb, v->variant);
			strbuf_addch(sb, ' ');
			put_str(sb, v->value);
			strbuf_addch(sb, '\n');
		}
	}
}

char *experiment_canonical(const struct experiment *e)
{
	struct strbuf sb = STRBUF_INIT;
	const struct exp_def **defs;
	size_t i, j;
	int dim;

	strbuf_addstr(&sb, "camlab-experiment 1\n");
	put_kv(&sb, "", "name", e->name);
	put_kv(&sb, "", "output", e->output);
	put_kv(&sb, "", "device", e->device);
	if (e->batch == EXP_BATCH_AUTO)
		strbuf_addstr(&sb, "batch auto\n");
	else
		strbuf_addf(&sb, "batch %d\n", e->batch);
	if (e->precision && strcmp(e->precision, "fp32"))
		put_kv(&sb, "", "precision", e->precision);
	if (e->quirk)
		put_kv(&sb, "", "quirk", e->quirk);
	if (e->channels_last)
		strbuf_addstr(&sb, "channels_last 1\n");
	strbuf_addf(&sb, "seed %llu\n", (unsigned long long)e->seed);
	for (i = 0; i < e->nr_models; i++) {
		const struct exp_model *m = &e->models[i];
		put_kv(&sb, "", "model", m->name);
		put_kv(&sb, "  ", "file", m->file);
		strbuf_addf(&sb, "  input_size %d\n  resize %d\n", m->input_size, m->resize);
		put_floats(&sb, "mean", m->have_mean, m->mean);
		put_floats(&sb, "std", m->have_std, m->std);
		put_kv(&sb, "  ", "classes", m->classes);
		for (j = 0; j < m->nr_layers; j++) {
			strbuf_addstr(&sb, "  layer ");
			put_str(&sb, m->layers[j].name);
			strbuf_addch(&sb, ' ');
			put_str(&sb, m->layers[j].path);
			strbuf_addch(&sb, ' ');
			put_str(&sb, m->layers[j].layout);
			/* only when given, so that the canonical text of every earlier spec stays the same */
			if (m->layers[j].prefix_tokens_pos.line)
				strbuf_addf(&sb, " prefix_tokens %d", m->layers[j].prefix_tokens);
			if (m->layers[j].grid_h > 0)
				strbuf_addf(&sb, " grid %dx%d", m->layers[j].grid_h, m->layers[j].grid_w);
			strbuf_addch(&sb, '\n');
		}
	}
	strbuf_addstr(&sb, "data\n");
	put_kv(&sb, "  ", "path", e->data.path);
	put_kv(&sb, "  ", "labels", e->data.labels);
	strbuf_addf(&sb, "  limit %zu\n  shuffle %d\n  seed %llu\n", e->data.limit, e->data.shuffle ? 1 : 0,
		    (unsigned long long)e->data.seed);
	put_names(&sb, "methods", e->methods, e->nr_methods);
	put_names(&sb, "utilities", e->utilities, e->nr_utilities);
	put_names(&sb, "targets", e->targets, e->nr_targets);
	put_names(&sb, "metrics", e->metrics, e->nr_metrics);
	for (i = 0; i < e->nr_excludes; i++) {
		const struct exp_exclude *x = &e->excludes[i];
		const char *v[] = { x->model, x->layer, x->method, x->utility, x->target };
		strbuf_addstr(&sb, "exclude");
		for (dim = 0; dim < EXP_NR_DIMS; dim++) {
			strbuf_addf(&sb, " %s=", exp_dim_names[dim]);
			put_str(&sb, v[dim]);
		}
		strbuf_addch(&sb, '\n');
	}
	strbuf_addstr(&sb, "zip");
	for (dim = 0; dim < EXP_NR_DIMS; dim++)
		if (e->zip & (1u << dim))
			strbuf_addf(&sb, " %s", exp_dim_names[dim]);
	strbuf_addstr(&sb, e->zip ? "\n" : " -\n");
	defs = xcalloc(e->nr_defs + 1, sizeof(*defs));
	for (i = 0; i < e->nr_defs; i++)
		defs[i] = &e->defs[i];
	if (e->nr_defs > 1) /* qsort with a NULL base is undefined even for no elements */
		qsort(defs, e->nr_defs, sizeof(*defs), cmp_def);
	for (i = 0; i < e->nr_defs; i++) {
		strbuf_addf(&sb, "define %s ", exp_def_kind_names[defs[i]->kind]);
		put_str(&sb, defs[i]->name);
		strbuf_addch(&sb, '\n');
	}
	free(defs);
	strbuf_addf(&sb, "tables %d\nplots %d\nformats", e->tables ? 1 : 0, e->plots ? 1 : 0);
	for (i = 0; i < e->nr_table_formats; i++) {
		strbuf_addch(&sb, ' ');
		put_str(&sb, e->table_formats[i]);
	}
	strbuf_addch(&sb, '\n');
	put_kv(&sb, "", "paper", e->paper_table);
	if (e->statistics.on) {
		char alpha[32];
		int prec = 0;
		/* the shortest decimal that reads back as the same double: "0.05", not 0.050000000000000003 */
		do
			snprintf(alpha, sizeof(alpha), "%.*g", ++prec, e->statistics.alpha_value);
		while (prec < 17 && strtod(alpha, NULL) != e->statistics.alpha_value);
		strbuf_addf(&sb, "statistics bootstrap %zu alpha %s seed %llu test ", e->statistics.bootstrap,
			    alpha, (unsigned long long)e->statistics.seed);
		put_str(&sb, e->statistics.test);
		strbuf_addch(&sb, '\n');
	}
	put_ablations(&sb, e);
	for (i = 0; i < e->nr_figures; i++) {
		strbuf_addstr(&sb, "figure ");
		put_str(&sb, e->figures[i].image);
		strbuf_addch(&sb, ' ');
		put_str(&sb, e->figures[i].by);
		strbuf_addch(&sb, '\n');
	}
	return strbuf_detach(&sb, NULL);
}
