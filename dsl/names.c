/*
 * names.c - validation of the grid's names (see names.h): methods, utilities and metrics against cam/'s
 * built-ins and the spec's definitions, targets against cam/'s policies, an exclude's names against the
 * grid, and the definitions themselves.
 */
#include "dsl/names.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <lauxlib.h>
#include <lua.h>

#include "cam/methods.h"
#include "cam/metrics.h"
#include "cam/params.h"
#include "cam/utility.h"
#include "lib/error.h"
#include "lib/strbuf.h"
#include "lib/suggest.h"
#include "lib/xalloc.h"

/* ---------------------------------------------------------------------------------------------------
 * Names. Built-in names follow cam/'s parsers (case-insensitive, '_' for '-', the aliases they accept);
 * user definitions are matched exactly first, then with the same folding.
 */

static void fold(char *buf, size_t size, const char *s)
{
	size_t i;
	for (i = 0; s[i] && i + 1 < size; i++)
		buf[i] = s[i] == '_' ? '-' : (char)tolower((unsigned char)s[i]);
	buf[i] = '\0';
}

static int folded_equal(const char *a, const char *b)
{
	char fa[128], fb[128];
	fold(fa, sizeof(fa), a);
	fold(fb, sizeof(fb), b);
	return !strcmp(fa, fb);
}

/* cam/'s silent lookups: a name as its parsers read it, or -1 (a list "a,b" is no one name) */
static int lookup_utility(const char *name)
{
	return strchr(name, ',') ? -1 : utility_lookup(name);
}

static int lookup_metric(const char *name)
{
	return strchr(name, ',') ? -1 : metric_lookup(name);
}

static int builtin_method(const char *name)
{
	char buf[64];
	size_t i;
	if (strlen(name) >= sizeof(buf))
		return -1;
	fold(buf, sizeof(buf), name);
	for (i = 0; i < CAM_NR_METHODS; i++)
		if (!strcmp(buf, cam_method_names[i]))
			return (int)i;
	return -1;
}

/* The index of the definition of this kind named name (exactly, else folded), or -1. */
static long find_def(const struct experiment *e, enum exp_def_kind kind, const char *name)
{
	size_t i;
	for (i = 0; i < e->nr_defs; i++)
		if (e->defs[i].kind == kind && !strcmp(e->defs[i].name, name))
			return (long)i;
	for (i = 0; i < e->nr_defs; i++)
		if (e->defs[i].kind == kind && folded_equal(e->defs[i].name, name))
			return (long)i;
	return -1;
}

static int lookup_method(const char *name)
{
	return builtin_method(name);
}

const struct dim_kind exp_kind_method = { "method", "methods", cam_method_names, CAM_NR_METHODS, 1, 1,
					     EXP_DEF_METHOD, lookup_method };
const struct dim_kind exp_kind_utility = { "utility", "utilities", utility_names, UTILITY_NR, 1, 1,
					      EXP_DEF_UTILITY, lookup_utility };
const struct dim_kind exp_kind_metric = { "metric", "metrics", metric_names, METRIC_NR_ALL, 1, 1,
					     EXP_DEF_METRIC, lookup_metric };

/* Candidates for "did you mean": the built-ins and the user's definitions of that kind. */
static void report_unknown(const struct experiment *e, struct diag *d, const struct dim_kind *k,
			   struct src_pos pos, const char *prefix, const char *name)
{
	const char **cands = xcalloc(k->nr_builtins + e->nr_defs + 1, sizeof(char *));
	const char *near[1], *note = k == &exp_kind_method ? cam_method_absent_note(name) : NULL;
	size_t n = 0, i;

	for (i = 0; i < k->nr_builtins; i++)
		cands[n++] = k->builtins[i];
	for (i = 0; k->has_defs && i < e->nr_defs; i++)
		if (e->defs[i].kind == k->def_kind)
			cands[n++] = e->defs[i].name;
	if (!*name)
		diag_error(d, pos, "%sempty %s name", prefix, k->what);
	/* a method known by another name (EigenCAM) is said so, unless the user has a definition near it */
	else if (note && suggest_nearest(name, cands + k->nr_builtins, n - k->nr_builtins, near, 1))
		diag_error(d, pos, "%sunknown %s '%s'; did you mean '%s'?", prefix, k->what, name, near[0]);
	else if (note)
		diag_error(d, pos, "%sunknown %s '%s'%s", prefix, k->what, name, note);
	else if (suggest_nearest(name, cands, n, near, 1))
		diag_error(d, pos, "%sunknown %s '%s'; did you mean '%s'?", prefix, k->what, name, near[0]);
	else
		diag_error(d, pos, "%sunknown %s '%s'", prefix, k->what, name);
	free(cands);
}

/*
 * The canonical spelling of one name, with its id (experiment.h), or NULL if it is unknown ("all" is
 * handled by the caller).
 */
static const char *canonical_name(const struct experiment *e, const struct dim_kind *k, const char *name,
				  int *id)
{
	long def;
	int i;

	if (k->has_defs && e->nr_defs) {
		size_t j;
		for (j = 0; j < e->nr_defs; j++)
			if (e->defs[j].kind == k->def_kind && !strcmp(e->defs[j].name, name)) {
				*id = EXP_ID_DEF(j);
				return e->defs[j].name;
			}
	}
	i = k->lookup(name);
	if (i >= 0) {
		*id = i;
		return k->builtins[i];
	}
	def = k->has_defs ? find_def(e, k->def_kind, name) : -1;
	if (def < 0)
		return NULL;
	*id = EXP_ID_DEF(def);
	return e->defs[def].name;
}

static void push_name(struct exp_name **list, size_t *nr, size_t *alloc, const char *name, struct src_pos pos,
		      int id)
{
	ALLOC_GROW(*list, *nr + 1, *alloc);
	memset(&(*list)[*nr], 0, sizeof(**list));
	(*list)[*nr].name = name ? xstrdup(name) : NULL;
	(*list)[*nr].pos = pos;
	(*list)[*nr].id = id;
	(*nr)++;
}

/* ---------------------------------------------------------------------------------------------------
 * Parameters ({kpcacam: {gamma: 0.5}}): each checked against cam/params.h's table, where it is written;
 * those that differ from their defaults kept in the table's order, in canonical text, and shown in the
 * entry's label.
 */

static enum param_kind param_kind_of(const struct dim_kind *k)
{
	return k == &exp_kind_method ? PARAM_METHOD : k == &exp_kind_utility ? PARAM_UTILITY : PARAM_METRIC;
}

/* "unknown parameter 'gama' of method 'kpcacam'; did you mean 'gamma'?" and its kin */
static void unknown_param(struct diag *d, const struct dim_kind *k, int id, const char *name,
			  const struct exp_param *p)
{
	const char *names[32], *near[1];
	size_t n = params_names(param_kind_of(k), id, names, ARRAY_SIZE(names)), i;
	struct strbuf has = STRBUF_INIT;

	for (i = 0; i < n; i++)
		strbuf_addf(&has, "%s%s", i ? ", " : "", names[i]);
	if (!n)
		diag_error(d, p->key_pos, "unknown parameter '%s': %s '%s' has no parameters", p->key, k->what,
			   name);
	else if (suggest_nearest(p->key, names, n, near, 1))
		diag_error(d, p->key_pos, "unknown parameter '%s' of %s '%s'; did you mean '%s'?", p->key, k->what,
			   name, near[0]);
	else
		diag_error(d, p->key_pos, "unknown parameter '%s' of %s '%s' (it has %s)", p->key, k->what, name,
			   has.buf);
	strbuf_release(&has);
}

/*
 * Check in's parameters for the built-in id of kind k, named name (canonical); on success, out (pushed
 * already, with that name) gets the non-default ones in table order and its label. Returns 0, or -1
 * after reporting every bad one.
 */
static int check_params(struct diag *d, const struct dim_kind *k, int id, const char *name,
			const struct exp_name *in, struct exp_name *out)
{
	const struct param_info **found = xcalloc(in->nr_params + 1, sizeof(*found));
	char **canon = xcalloc(in->nr_params + 1, sizeof(*canon));
	struct strbuf label = STRBUF_INIT, err = STRBUF_INIT;
	size_t i, t, kept = 0;
	int bad = 0;

	for (i = 0; i < in->nr_params; i++) {
		const struct exp_param *p = &in->params[i];
		struct strbuf c = STRBUF_INIT;
		if (!(found[i] = params_find(param_kind_of(k), id, p->key))) {
			unknown_param(d, k, id, name, p);
			bad = 1;
			continue;
		}
		strbuf_reset(&err);
		if (params_parse(found[i], p->value, NULL, &c, &err) < 0) {
			diag_error(d, p->pos, "parameter '%s' of %s '%s': %s", p->key, k->what, name, err.buf);
			strbuf_release(&c);
			bad = 1;
			continue;
		}
		canon[i] = strbuf_detach(&c, NULL);
	}
	strbuf_addstr(&label, name);
	/* in the table's order, so that the order written changes neither the label nor the run's key */
	for (t = 0; !bad && t < param_table_size; t++)
		for (i = 0; i < in->nr_params; i++) {
			struct exp_param *q;
			int list = found[i]->type == PARAM_INTS || found[i]->type == PARAM_FLOATS;
			if (found[i] != &param_table[t] || params_is_default(found[i], canon[i]))
				continue;
			strbuf_addf(&label, "%s%s=%s%s%s", kept ? ", " : "(", found[i]->name, list ? "[" : "",
				    canon[i], list ? "]" : "");
			out->params = xrealloc(out->params, (kept + 1) * sizeof(*out->params));
			q = &out->params[kept++];
			q->key = xstrdup(found[i]->name);
			q->value = xstrdup(canon[i]);
			q->pos = in->params[i].pos;
			q->key_pos = in->params[i].key_pos;
		}
	if (kept) {
		strbuf_addch(&label, ')');
		out->nr_params = kept;
		free(out->name);
		out->name = strbuf_detach(&label, NULL);
	}
	for (i = 0; i < in->nr_params; i++)
		free(canon[i]);
	free(canon);
	free(found);
	strbuf_release(&label);
	strbuf_release(&err);
	return bad ? -1 : 0;
}

/* The entry pushed last, canonical name c with built-in or definition id, given in's parameters. */
static void entry_params(const struct experiment *e, struct diag *d, const struct dim_kind *k,
			 const struct exp_name *in, struct exp_name *out)
{
	if (!in->nr_params)
		return;
	if (out->id < 0) { /* a user definition takes what its code reads, not a table's parameters */
		diag_error(d, in->params[0].key_pos,
			   "%s '%s' is defined in the spec: parameters are for camlab's built-in %s", k->what,
			   e->defs[EXP_ID_DEF_INDEX(out->id)].name, k->plural);
	} else if (check_params(d, k, out->id, k->builtins[out->id], in, out) == 0) {
		return;
	}
	free(out->name); /* reported: kept as a NULL name, as an unknown one is */
	out->name = NULL;
	out->id = EXP_ID_NONE;
}

/* A metric's values are one column of the database: one set of parameters for each metric. */
static void check_metric_twins(struct diag *d, const struct exp_name *list, size_t n)
{
	size_t i, j;

	for (i = 1; i < n; i++)
		for (j = 0; j < i && list[i].name && list[i].id >= 0; j++)
			if (list[j].name && list[j].id == list[i].id) {
				diag_error(d, list[i].pos,
					   "metric '%s' is given twice with other parameters ('%s' and '%s'); a run "
					   "keeps one value of it per image",
					   metric_names[list[i].id], list[j].name, list[i].name);
				break;
			}
}

static int has_fused_layer(const struct experiment *e)
{
	size_t i, j;

	for (i = 0; i < e->nr_models; i++)
		for (j = 0; j < e->models[i].nr_layers; j++)
			if (e->models[i].layers[j].path && strchr(e->models[i].layers[j].path, ','))
				return 1;
	return 0;
}

/*
 * Replace a list by its canonical form: "all" expanded, names canonical, unknown names reported, and
 * duplicates dropped with a warning (they would only repeat runs).
 */
void exp_check_names(const struct experiment *e, struct diag *d, const struct dim_kind *k,
			struct exp_name **list, size_t *nr)
{
	struct exp_name *out = NULL;
	size_t n = 0, alloc = 0, i, j, b;
	struct src_pos nowhere = { e->file, 0, 0 };

	if (!*nr) {
		diag_error(d, nowhere, "no %s: the list is empty", k->plural);
		return;
	}
	for (i = 0; i < *nr; i++) {
		struct exp_name *in = &(*list)[i];
		const char *c;
		size_t first = n;
		int id;

		if (!in->name) { /* reported by the front end; kept, so that zip sees the list's length */
			push_name(&out, &n, &alloc, NULL, in->pos, EXP_ID_NONE);
			continue;
		}
		if (k->has_all && !strcasecmp(in->name, "all")) {
			if (in->nr_params)
				diag_error(d, in->params[0].key_pos, "'all' takes no parameters; give them to each %s",
					   k->what);
			/*
			 * "all" metrics are the paper's six: the others cost many forwards per image. "all"
			 * methods have refinecam only where the grid has a fused layer, which it needs
			 * (cam/multilayer.h); validate.c leaves it out at the plain layers of that grid, and
			 * cam at token layers, as explain's --method all does.
			 */
			for (b = 0; b < (k == &exp_kind_metric ? (size_t)METRIC_NR : k->nr_builtins); b++)
				if (k != &exp_kind_method || b != CAM_REFINECAM || has_fused_layer(e))
					push_name(&out, &n, &alloc, k->builtins[b], in->pos, (int)b);
		} else if ((c = canonical_name(e, k, in->name, &id))) {
			push_name(&out, &n, &alloc, c, in->pos, id);
			entry_params(e, d, k, in, &out[n - 1]);
			if (!out[n - 1].name)
				continue;
		} else {
			/* kept as a NULL name, as the front ends keep an item of the wrong type: zip counts it */
			report_unknown(e, d, k, in->pos, "", in->name);
			push_name(&out, &n, &alloc, NULL, in->pos, EXP_ID_NONE);
			continue;
		}
		/* drop what this entry added that is already there */
		for (b = first; b < n;) {
			for (j = 0; j < first; j++)
				if (out[j].name && !strcmp(out[j].name, out[b].name))
					break;
			if (j < first) {
				if (strcasecmp(in->name, "all"))
					diag_warning(d, in->pos, "duplicate %s '%s'", k->what, out[b].name);
				exp_name_release(&out[b]);
				memmove(&out[b], &out[b + 1], (n - b - 1) * sizeof(*out));
				n--;
			} else {
				b++;
			}
		}
	}
	if (k == &exp_kind_metric)
		check_metric_twins(d, out, n);
	exp_names_free(*list, *nr);
	*list = out ? out : xcalloc(1, sizeof(*out));
	*nr = n;
}

/* "top", "top-1", "top+2", "top0": meant as top<k>, not as a class name */
static int looks_like_topk(const char *s)
{
	if (strncasecmp(s, "top", 3))
		return 0;
	s += 3;
	if (*s == '-' || *s == '+')
		s++;
	while (isdigit((unsigned char)*s))
		s++;
	return !*s;
}

/* "3.0", "-1.5", "1e3": a number, which is no class name and no class index */
static int looks_like_number(const char *s)
{
	char *end;
	if (!isdigit((unsigned char)*s) &&
	    !((*s == '-' || *s == '+' || *s == '.') && isdigit((unsigned char)s[1])))
		return 0;
	(void)strtod(s, &end);
	return !*end;
}

/*
 * Targets: cam/'s policies, written canonically ("pred" -> "predicted", "label" -> "true", "007" -> "7").
 * A word that is no policy is a class name, which only the model can check; what cannot be a class name
 * (a number that is no index, top<k> out of range, "all") is reported here.
 */
char *exp_canonical_target(const char *s, const char **why)
{
	struct target_policy p;
	struct strbuf sb = STRBUF_INIT;
	int topk, r;
	char *end;

	*why = NULL;
	if (!*s) {
		*why = "an empty target";
		return NULL;
	}
	r = target_lookup(s, &p, &topk);
	if (r < 0) {
		errno = 0;
		(void)strtol(s, &end, 10);
		if (!*end) {
			*why = "a class index is >= 0";
			return NULL;
		}
		if (looks_like_topk(s)) {
			*why = "top<k> needs 1 <= k <= 1000";
			return NULL;
		}
		if (looks_like_number(s)) {
			*why = "a class index is an integer >= 0";
			return NULL;
		}
		if (!strcasecmp(s, "all")) {
			*why = "targets have no 'all'; list the ones wanted (predicted, true, least, top<k>, "
			       "class indices or names)";
			return NULL;
		}
		return xstrdup(s);
	}
	switch (p.kind) {
	case TARGET_PREDICTED:
		return xstrdup("predicted");
	case TARGET_TRUE:
		return xstrdup("true");
	case TARGET_LEAST:
		return xstrdup("least");
	case TARGET_INDEX:
		strbuf_addf(&sb, "%ld", p.index);
		return strbuf_detach(&sb, NULL);
	case TARGET_TOPK:
		strbuf_addf(&sb, "top%d", topk);
		return strbuf_detach(&sb, NULL);
	}
	return xstrdup(s);
}

void exp_check_targets(struct experiment *e, struct diag *d)
{
	size_t i, j;
	struct src_pos nowhere = { e->file, 0, 0 };

	if (!e->nr_targets)
		diag_error(d, nowhere, "no targets: the list is empty");
	for (i = 0; i < e->nr_targets; i++) {
		const char *why;
		char *c;
		if (!e->targets[i].name)
			continue;
		c = exp_canonical_target(e->targets[i].name, &why);
		if (!c) {
			diag_error(d, e->targets[i].pos, "bad target '%s': %s", e->targets[i].name, why);
			continue;
		}
		free(e->targets[i].name);
		e->targets[i].name = c;
	}
	for (i = 1; i < e->nr_targets; i++) {
		for (j = 0; j < i && e->targets[i].name; j++)
			if (e->targets[j].name && !strcmp(e->targets[i].name, e->targets[j].name))
				break;
		if (e->targets[i].name && j < i) {
			diag_warning(d, e->targets[i].pos, "duplicate target '%s'", e->targets[i].name);
			free(e->targets[i].name);
			memmove(&e->targets[i], &e->targets[i + 1], (e->nr_targets - i - 1) * sizeof(*e->targets));
			e->nr_targets--;
			i--;
		}
	}
}

int exp_in_names(const struct exp_name *list, size_t n, const char *name)
{
	size_t i;
	for (i = 0; i < n; i++)
		if (list[i].name && !strcmp(list[i].name, name))
			return 1;
	return 0;
}

void exp_leave_out(struct experiment *e, const char *model, const char *layer, const char *method,
		   struct src_pos pos)
{
	struct exp_exclude *x;

	e->excludes = xrealloc(e->excludes, (e->nr_excludes + 1) * sizeof(*e->excludes));
	x = &e->excludes[e->nr_excludes++];
	memset(x, 0, sizeof(*x));
	x->model = xstrdup(model);
	x->layer = xstrdup(layer);
	x->method = xstrdup(method);
	x->pos = pos;
}

/* An exclude field must name a value the grid has: canonicalise it, then look it up. */
void exp_check_exclude_name(const struct experiment *e, struct diag *d, struct src_pos pos,
			       const struct dim_kind *k, char **field, const struct exp_name *list, size_t n)
{
	int id;
	const char *c = canonical_name(e, k, *field, &id);
	const char **cands;
	const char *near[1];
	size_t i, j;

	if (exp_in_names(list, n, *field)) /* a label as the grid shows it: "kpcacam(gamma=0.5)" */
		return;
	if (c && exp_in_names(list, n, c)) {
		char *dup = xstrdup(c);
		free(*field);
		*field = dup;
		return;
	}
	cands = xcalloc(n + 1, sizeof(char *));
	for (i = 0, j = 0; i < n; i++)
		if (list[i].name)
			cands[j++] = list[i].name;
	if (suggest_nearest(*field, cands, j, near, 1))
		diag_error(d, pos, "exclude: %s '%s' is not in %s; did you mean '%s'?", k->what, *field,
			   k->plural, near[0]);
	else
		diag_error(d, pos, "exclude: %s '%s' is not in %s", k->what, *field, k->plural);
	free(cands);
}


/*
 * A definition's chunk is compiled, not run (running it is the runner's, with its limits), so that a
 * syntax error is found by check rather than when the run starts.
 */
static void compile_def(const struct exp_def *df, const char *file, struct diag *d)
{
	lua_State *L = lua_newstate(xalloc_lua, NULL);
	struct strbuf name = STRBUF_INIT;

	if (!L)
		return;
	strbuf_addf(&name, "=%s:%d (%s)", file, df->pos.line, df->name);
	if (luaL_loadbufferx(L, df->lua, strlen(df->lua), name.buf, "t") != LUA_OK)
		diag_error(d, df->pos, "%s '%s' does not compile: %s", exp_def_kind_names[df->kind], df->name,
			   lua_tostring(L, -1));
	strbuf_release(&name);
	lua_close(L);
}

void exp_check_defs(struct experiment *e, struct diag *d)
{
	size_t i, j;

	for (i = 0; i < e->nr_defs; i++) {
		struct exp_def *df = &e->defs[i];
		int builtin = -1;
		if (!df->name || !*df->name) {
			diag_error(d, df->pos, "a %s definition without a name", exp_def_kind_names[df->kind]);
			continue;
		}
		if (df->kind == EXP_DEF_METHOD)
			builtin = builtin_method(df->name);
		else if (df->kind == EXP_DEF_UTILITY)
			builtin = lookup_utility(df->name);
		else
			builtin = lookup_metric(df->name);
		if (builtin >= 0 || !strcasecmp(df->name, "all"))
			diag_error(d, df->pos, "%s '%s' is built in; give the definition another name",
				   exp_def_kind_names[df->kind], df->name);
		for (j = 0; j < i; j++)
			if (e->defs[j].kind == df->kind && e->defs[j].name && !strcmp(e->defs[j].name, df->name)) {
				diag_error(d, df->pos, "%s '%s' is defined twice", exp_def_kind_names[df->kind], df->name);
				break;
			}
		if (!df->lua || !*df->lua)
			diag_error(d, df->pos, "%s '%s' has no code", exp_def_kind_names[df->kind], df->name);
		else
			compile_def(df, e->file, d);
	}
}

