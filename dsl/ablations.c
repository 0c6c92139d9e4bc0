/*
 * ablations.c - exp_check_ablations() (see ablations.h): a declared ablation must be one the grid's
 * runs can answer, since it adds no runs of its own.
 */
#include "dsl/ablations.h"

#include <stdlib.h>
#include <string.h>

#include "dsl/names.h"
#include "lib/strbuf.h"
#include "lib/suggest.h"
#include "lib/xalloc.h"

const char *const exp_ablation_dims[5] = { "model", "layer", "utility", "target", "precision" };
enum { DIM_MODEL, DIM_LAYER, DIM_UTILITY, DIM_TARGET, DIM_PRECISION };
static const char *const dim_plurals[5] = { "models", "layers", "utilities", "targets", "precisions" };

static void add_value(const char ***v, size_t *n, const char *s)
{
	size_t i;
	if (!s)
		return;
	for (i = 0; i < *n; i++)
		if (!strcmp((*v)[i], s))
			return;
	*v = xrealloc(*v, (*n + 1) * sizeof(**v));
	(*v)[(*n)++] = s;
}

/* The grid's values of dimension dim, each once, in the order written (borrowed from e). */
static size_t grid_values(const struct experiment *e, int dim, const char ***v)
{
	size_t n = 0, i, j;

	*v = NULL;
	switch (dim) {
	case DIM_MODEL:
		for (i = 0; i < e->nr_models; i++)
			add_value(v, &n, e->models[i].name);
		break;
	case DIM_LAYER:
		for (i = 0; i < e->nr_models; i++)
			for (j = 0; j < e->models[i].nr_layers; j++)
				add_value(v, &n, e->models[i].layers[j].name);
		break;
	case DIM_UTILITY:
		for (i = 0; i < e->nr_utilities; i++)
			add_value(v, &n, e->utilities[i].name);
		break;
	case DIM_TARGET:
		for (i = 0; i < e->nr_targets; i++)
			add_value(v, &n, e->targets[i].name);
		break;
	case DIM_PRECISION:
		add_value(v, &n, e->precision ? e->precision : "fp32");
		break;
	}
	return n;
}

/* The baseline as the grid spells its values: built-in utilities and targets have several spellings. */
static char *canonical_baseline(int dim, const char *b)
{
	const char *why;
	int id;

	if (dim == DIM_UTILITY && (id = exp_kind_utility.lookup(b)) >= 0)
		return xstrdup(exp_kind_utility.builtins[id]);
	if (dim == DIM_TARGET)
		return exp_canonical_target(b, &why);
	return NULL;
}

static void check_baseline(struct exp_ablation *a, int dim, const char **v, size_t n, struct diag *d)
{
	struct src_pos at = a->baseline_pos.line ? a->baseline_pos : a->pos;
	char *c = canonical_baseline(dim, a->baseline);
	const char *near[1];
	struct strbuf sb = STRBUF_INIT;
	size_t i;

	for (i = 0; i < n && strcmp(v[i], c ? c : a->baseline); i++)
		;
	if (i < n) {
		if (c) {
			free(a->baseline);
			a->baseline = c;
		}
		return;
	}
	free(c);
	if (suggest_nearest(a->baseline, v, n, near, 1)) {
		diag_error(d, at, "ablation baseline '%s' is not one of the grid's %s; did you mean '%s'?",
			   a->baseline, dim_plurals[dim], near[0]);
		return;
	}
	for (i = 0; i < n; i++)
		strbuf_addf(&sb, "%s'%s'", i ? ", " : "", v[i]);
	diag_error(d, at, "ablation baseline '%s' is not one of the grid's %s (%s)", a->baseline,
		   dim_plurals[dim], sb.buf);
	strbuf_release(&sb);
}

/*
 * over: method.NAME.PARAM. NAME must be a method of the grid; a parameter can only vary once methods
 * take parameters in the spec (methods: [{kpcacam: {gamma: 0.5}}, ...]), which this version's grid
 * cannot express, so the dimension always has one value here.
 */
static void check_param(const struct experiment *e, const struct exp_ablation *a, struct diag *d)
{
	const char *name = a->over + 7, *dot = strchr(name, '.'), *near[1];
	const char **cands = xcalloc(e->nr_methods + 1, sizeof(*cands));
	char *method;
	size_t i, n = 0;

	if (!dot || dot == name || !dot[1]) {
		diag_error(d, a->over_pos, "bad ablation dimension '%s': a method's parameter is "
					   "method.NAME.PARAM, such as method.kpcacam.gamma",
			   a->over);
		free(cands);
		return;
	}
	method = xstrndup(name, (size_t)(dot - name));
	for (i = 0; i < e->nr_methods; i++)
		if (e->methods[i].name)
			cands[n++] = e->methods[i].name;
	for (i = 0; i < n && strcmp(cands[i], method); i++)
		;
	if (i == n && suggest_nearest(method, cands, n, near, 1))
		diag_error(d, a->over_pos, "ablation over '%s': method '%s' is not in methods; did you mean '%s'?",
			   a->over, method, near[0]);
	else if (i == n)
		diag_error(d, a->over_pos, "ablation over '%s': method '%s' is not in methods", a->over, method);
	else
		diag_error(d, a->over_pos,
			   "ablation over '%s' needs several values of parameter '%s' of '%s' in methods; the "
			   "grid runs '%s' with its defaults only",
			   a->over, dot + 1, method, method);
	free(method);
	free(cands);
}

void exp_check_ablations(struct experiment *e, struct diag *d)
{
	const char *near[1];
	size_t i, j, n;

	for (i = 0; i < e->nr_ablations; i++) {
		struct exp_ablation *a = &e->ablations[i];
		const char **v;
		int dim;

		if (!a->over) {
			diag_error(d, a->pos, "ablation %zu has no 'over': name a dimension (model, layer, utility, "
					      "target, precision or method.NAME.PARAM)",
				   i + 1);
			continue;
		}
		if (!strncmp(a->over, "method.", 7)) {
			check_param(e, a, d);
			continue;
		}
		for (dim = 0; dim < 5 && strcmp(a->over, exp_ablation_dims[dim]); dim++)
			;
		if (dim == 5) {
			if (suggest_nearest(a->over, exp_ablation_dims, 5, near, 1))
				diag_error(d, a->over_pos, "unknown ablation dimension '%s'; did you mean '%s'?",
					   a->over, near[0]);
			else
				diag_error(d, a->over_pos, "unknown ablation dimension '%s': use model, layer, "
							   "utility, target, precision or method.NAME.PARAM",
					   a->over);
			continue;
		}
		n = grid_values(e, dim, &v);
		if (n == 1)
			diag_error(d, a->over_pos, "ablation over '%s' needs several %s in the grid; it has one ('%s')",
				   a->over, dim_plurals[dim], v[0]);
		else if (n > 1 && a->baseline)
			check_baseline(a, dim, v, n, d);
		free(v);
		for (j = 0; j < i; j++)
			if (e->ablations[j].over && !strcmp(e->ablations[j].over, a->over) &&
			    !strcmp(e->ablations[j].baseline ? e->ablations[j].baseline : "",
				    a->baseline ? a->baseline : ""))
				break;
		if (j < i)
			diag_error(d, a->pos, "ablation over '%s' is declared twice", a->over);
	}
}
