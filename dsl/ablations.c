/*
 * ablations.c - exp_check_ablations() (see ablations.h): a declared ablation must be one the grid's
 * runs can answer, since it adds no runs of its own.
 */
#include "dsl/ablations.h"

#include <stdlib.h>
#include <string.h>

#include "cam/params.h"
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
 * over: method.NAME.PARAM. The value of an entry of methods that leaves the parameter out is its default:
 * the default's text, or "default" where the default is computed (kpcacam's gamma, from the layer).
 */
static const char *default_value(const struct param_info *p)
{
	return p->def ? p->def : "default";
}

/* The entry's label less parameter p, as names.c writes labels: "kpcacam(kernel=poly)". */
static char *variant_label(const char *base, const struct exp_name *m, const struct param_info *p)
{
	struct strbuf sb = STRBUF_INIT;
	size_t i, kept = 0;

	strbuf_addstr(&sb, base);
	for (i = 0; i < m->nr_params; i++) {
		const struct param_info *q = params_find(PARAM_METHOD, m->id, m->params[i].key);
		int list = q && (q->type == PARAM_INTS || q->type == PARAM_FLOATS);
		if (q == p)
			continue;
		strbuf_addf(&sb, "%s%s=%s%s%s", kept++ ? ", " : "(", m->params[i].key, list ? "[" : "",
			    m->params[i].value, list ? "]" : "");
	}
	if (kept)
		strbuf_addch(&sb, ')');
	return strbuf_detach(&sb, NULL);
}

/* The method NAME of method.NAME.PARAM: a built-in of the grid's methods, or an error at over. */
static int param_method(const struct experiment *e, const struct exp_ablation *a, const char *method,
			struct diag *d)
{
	const char **cands = xcalloc(e->nr_methods + 1, sizeof(*cands)), *near[1];
	size_t i, n = 0;
	int id = exp_kind_method.lookup(method);

	for (i = 0; i < e->nr_methods; i++)
		if (e->methods[i].name && e->methods[i].id == id && id >= 0)
			break;
	if (i < e->nr_methods) {
		free(cands);
		return id;
	}
	for (i = 0; i < e->nr_methods; i++)
		if (e->methods[i].name && e->methods[i].id >= 0)
			add_value(&cands, &n, exp_kind_method.builtins[e->methods[i].id]);
	if (suggest_nearest(method, cands, n, near, 1))
		diag_error(d, a->over_pos, "ablation over '%s': method '%s' is not in methods; did you mean '%s'?",
			   a->over, method, near[0]);
	else
		diag_error(d, a->over_pos, "ablation over '%s': method '%s' is not in methods", a->over, method);
	free(cands);
	return -1;
}

/* PARAM of method.NAME.PARAM: a parameter of the method id, or an error at over. */
static const struct param_info *param_of(const struct exp_ablation *a, int id, const char *method,
					 const char *param, struct diag *d)
{
	const struct param_info *p = params_find(PARAM_METHOD, id, param);
	const char *names[32], *near[1];
	size_t n;

	if (p)
		return p;
	n = params_names(PARAM_METHOD, id, names, ARRAY_SIZE(names));
	if (!n)
		diag_error(d, a->over_pos, "ablation over '%s': method '%s' has no parameters", a->over, method);
	else if (suggest_nearest(param, names, n, near, 1))
		diag_error(d, a->over_pos, "ablation over '%s': method '%s' has no parameter '%s'; did you mean '%s'?",
			   a->over, method, param, near[0]);
	else
		diag_error(d, a->over_pos, "ablation over '%s': method '%s' has no parameter '%s'", a->over, method,
			   param);
	return NULL;
}

/*
 * a's variants (exp_ablation): each entry of the method id, its variant and its value of p. Returns
 * whether some variant has several values, which an ablation needs.
 */
static int param_variants(const struct experiment *e, struct exp_ablation *a, int id, const struct param_info *p)
{
	size_t i, j, k;
	int several = 0;

	for (i = 0; i < a->nr_variants; i++) {
		free(a->variants[i].label);
		free(a->variants[i].variant);
		free(a->variants[i].value);
	}
	a->nr_variants = 0;

	for (i = 0; i < e->nr_methods; i++) {
		const struct exp_name *m = &e->methods[i];
		struct exp_ablation_variant *v;
		const char *value = default_value(p);
		if (!m->name || m->id != id)
			continue;
		for (j = 0; j < m->nr_params; j++)
			if (!strcmp(m->params[j].key, p->name))
				value = m->params[j].value;
		a->variants = xrealloc(a->variants, (a->nr_variants + 1) * sizeof(*a->variants));
		v = &a->variants[a->nr_variants++];
		v->label = xstrdup(m->name);
		v->variant = variant_label(exp_kind_method.builtins[id], m, p);
		v->value = xstrdup(value);
		for (k = 0; k + 1 < a->nr_variants; k++)
			several |= !strcmp(a->variants[k].variant, v->variant) && strcmp(a->variants[k].value, v->value);
	}
	return several;
}

/* The baseline as the variants spell their values ("0.50" -> "0.5", "default"); NULL after an error. */
static char *param_baseline(const struct exp_ablation *a, const struct param_info *p, struct diag *d)
{
	struct src_pos at = a->baseline_pos.line ? a->baseline_pos : a->pos;
	struct strbuf canon = STRBUF_INIT, err = STRBUF_INIT, has = STRBUF_INIT;
	const char **v = NULL, *near[1];
	size_t i, n = 0;

	if (!strcmp(a->baseline, "default"))
		strbuf_addstr(&canon, default_value(p));
	else if (params_parse(p, a->baseline, NULL, &canon, &err) < 0)
		strbuf_addstr(&canon, a->baseline); /* not a value of p: reported below as not in the grid */
	for (i = 0; i < a->nr_variants; i++) {
		if (!strcmp(a->variants[i].value, canon.buf))
			break;
		add_value(&v, &n, a->variants[i].value);
	}
	if (i < a->nr_variants) {
		free(v);
		strbuf_release(&err);
		return strbuf_detach(&canon, NULL);
	}
	for (i = 0; i < n; i++)
		strbuf_addf(&has, "%s'%s'", i ? ", " : "", v[i]);
	if (err.len)
		diag_error(d, at, "ablation baseline '%s' is not a value of parameter '%s' (%s); the grid has %s",
			   a->baseline, p->name, err.buf, has.buf);
	else if (p->type == PARAM_CHOICE && suggest_nearest(a->baseline, v, n, near, 1))
		diag_error(d, at, "ablation baseline '%s' is not one of the grid's values of '%s'; did you mean '%s'?",
			   a->baseline, p->name, near[0]);
	else
		diag_error(d, at, "ablation baseline '%s' is not one of the grid's values of '%s' (%s)", a->baseline,
			   p->name, has.buf);
	free(v);
	strbuf_release(&canon);
	strbuf_release(&err);
	strbuf_release(&has);
	return NULL;
}

/*
 * over: method.NAME.PARAM. NAME a built-in of the grid's methods, PARAM one of its parameters, and
 * some variant of the method (the entries alike but for PARAM) with several values of it. On success
 * a's variants are filled and its baseline spelt as their values.
 */
static void check_param(const struct experiment *e, struct exp_ablation *a, struct diag *d)
{
	const char *name = a->over + 7, *dot = strchr(name, '.');
	const struct param_info *p;
	char *method, *b;
	int id;

	if (!dot || dot == name || !dot[1]) {
		diag_error(d, a->over_pos, "bad ablation dimension '%s': a method's parameter is "
					   "method.NAME.PARAM, such as method.kpcacam.gamma",
			   a->over);
		return;
	}
	method = xstrndup(name, (size_t)(dot - name));
	if ((id = param_method(e, a, method, d)) < 0 || !(p = param_of(a, id, method, dot + 1, d))) {
		free(method);
		return;
	}
	if (!param_variants(e, a, id, p)) {
		diag_error(d, a->over_pos,
			   "ablation over '%s' needs several values of parameter '%s' of '%s' in methods (such as "
			   "methods: [%s, {%s: {%s: V}}]); the grid runs each '%s' with one",
			   a->over, p->name, method, method, method, p->name, method);
	} else if (a->baseline && (b = param_baseline(a, p, d))) {
		free(a->baseline);
		a->baseline = b;
	}
	free(method);
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
		for (dim = 0; dim < 5 && strcmp(a->over, exp_ablation_dims[dim]); dim++)
			;
		if (!strncmp(a->over, "method.", 7)) {
			check_param(e, a, d);
		} else if (dim == 5) {
			if (suggest_nearest(a->over, exp_ablation_dims, 5, near, 1))
				diag_error(d, a->over_pos, "unknown ablation dimension '%s'; did you mean '%s'?",
					   a->over, near[0]);
			else
				diag_error(d, a->over_pos, "unknown ablation dimension '%s': use model, layer, "
							   "utility, target, precision or method.NAME.PARAM",
					   a->over);
			continue;
		} else if (dim == DIM_PRECISION) {
			/*
			 * A spec runs in one arithmetic: the runs sharing a pass share the model, loaded in it
			 * (interp/group.c). Each precision is a run of the spec of its own.
			 */
			diag_error(d, a->over_pos,
				   "ablation over 'precision' needs several precisions, and a spec runs in one "
				   "('%s'): run it once per precision (camlab run FILE --sweep precision=fp32,bf16) "
				   "and compare the two (camlab compare DIR@-1 DIR)",
				   e->precision ? e->precision : "fp32");
		} else {
			n = grid_values(e, dim, &v);
			if (n == 1)
				diag_error(d, a->over_pos,
					   "ablation over '%s' needs several %s in the grid; it has one ('%s')", a->over,
					   dim_plurals[dim], v[0]);
			else if (n > 1 && a->baseline)
				check_baseline(a, dim, v, n, d);
			free(v);
		}
		for (j = 0; j < i; j++)
			if (e->ablations[j].over && !strcmp(e->ablations[j].over, a->over) &&
			    !strcmp(e->ablations[j].baseline ? e->ablations[j].baseline : "",
				    a->baseline ? a->baseline : ""))
				break;
		if (j < i)
			diag_error(d, a->pos, "ablation over '%s' is declared twice", a->over);
	}
}
