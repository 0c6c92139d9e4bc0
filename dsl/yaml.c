/*
 * yaml.c - the YAML front end (see front.h): reads a spec with libyaml's document API into the
 * experiment IR (the text is read and its syntax checked by yaml_text.c), recording where each value
 * was written, and reports unknown keys (with the nearest valid key), wrong types and syntax errors.
 * Names are checked later, by experiment_validate().
 *
 * Values the IR keeps without a position (device, batch, table formats) are checked here, where their
 * position is known; a bad one is reported and the default kept, so validation does not repeat it.
 */
#include "dsl/front.h"
#include "dsl/yaml_front.h"
#include "dsl/keys.h"
#include "dsl/reader.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "cam/model.h"
#include "lib/strbuf.h"
#include "lib/suggest.h"
#include "lib/xalloc.h"

static yaml_node_t *get_node(struct yctx *c, int id)
{
	return yaml_document_get_node(&c->doc, id);
}

static const char *scalar(const yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* A quoted scalar is a string: never null, a boolean or a number (YAML's core schema). */
static int is_quoted(const yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE && n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
}

static int is_null(const yaml_node_t *n)
{
	const char *s = scalar(n);
	if (!s || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return 0;
	return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") || !strcmp(s, "NULL");
}

static const char *type_name(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_SEQUENCE_NODE:
		return "a list";
	case YAML_MAPPING_NODE:
		return "a mapping";
	default:
		return is_null(n) ? "nothing" : "a scalar";
	}
}

static void type_error(struct yctx *c, const yaml_node_t *v, const char *expected, const char *key)
{
	diag_error(c->d, yspec_pos(c, v), "expected %s for '%s', not %s", expected, key, type_name(v));
}

/*
 * A mapping's valid keys (aliases share an id; the first spelling of an id is its name), the fields of
 * its plain keys (keys.h), and what reads the other keys' values (NULL: every key has a field). visit
 * returns nothing; it reports its own errors. ud is the section's struct, where the fields go.
 */
typedef void (*visit_fn)(struct yctx *c, int id, const char *key, yaml_node_t *v, void *ud);

struct section {
	const char *where; /* for messages; NULL at the top level */
	const struct exp_key *keys;
	size_t nkeys;
	const struct exp_field *fields;
	size_t nfields;
	visit_fn visit;
};

static void read_field(struct yctx *c, const struct exp_field *f, const char *key, yaml_node_t *v, void *ud);

/*
 * Visit the pairs of a mapping whose keys must come from s->keys: an unknown key is reported at the key
 * with the nearest valid one, a key given twice (or with its alias) at its second place.
 */
static void walk_map(struct yctx *c, yaml_node_t *map, const struct section *s, void *ud)
{
	const char *where = s->where;
	int seen[32];
	const char *cands[32];
	yaml_node_pair_t *p;
	size_t i;

	for (i = 0; i < s->nkeys; i++) {
		seen[i] = 0;
		cands[i] = s->keys[i].name;
	}
	for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = get_node(c, p->key), *v = get_node(c, p->value);
		const char *name = scalar(k), *near[1];
		const struct exp_field *f;
		size_t j;

		if (!k || !v)
			continue;
		if (!name) {
			diag_error(c->d, yspec_pos(c, k), "expected a key name%s%s%s, not %s", where ? " in '" : "",
				   where ? where : "", where ? "'" : "", type_name(k));
			continue;
		}
		/* libyaml leaves merges to the application; a spec is short enough to repeat its keys */
		if (!strcmp(name, "<<") && !is_quoted(k)) {
			diag_error(c->d, yspec_pos(c, k),
				   "YAML merge keys (<<) are not supported; repeat the keys");
			continue;
		}
		for (i = 0; i < s->nkeys; i++)
			if (!strcmp(name, s->keys[i].name))
				break;
		if (i == s->nkeys) {
			struct strbuf in = STRBUF_INIT;
			const char *home = exp_key_home(where, name);
			if (where)
				strbuf_addf(&in, " in '%s'", where);
			if (home)
				diag_error(c->d, yspec_pos(c, k), "unknown key '%s'%s: it is a key of %s", name,
					   in.buf, home);
			else if (suggest_nearest(name, cands, s->nkeys, near, 1))
				diag_error(c->d, yspec_pos(c, k), "unknown key '%s'%s; did you mean '%s'?", name, in.buf,
					   near[0]);
			else
				diag_error(c->d, yspec_pos(c, k), "unknown key '%s'%s", name, in.buf);
			strbuf_release(&in);
			continue;
		}
		for (j = 0; j < s->nkeys; j++)
			if (s->keys[j].id == s->keys[i].id && seen[j])
				break;
		if (j < s->nkeys) {
			diag_error(c->d, yspec_pos(c, k), "duplicate key '%s' (first given at line %d)", name, seen[j]);
			continue;
		}
		seen[i] = (int)k->start_mark.line + 1;
		if ((f = exp_field_of(s->fields, s->nfields, s->keys[i].id)))
			read_field(c, f, s->keys[i].name, v, ud);
		else
			s->visit(c, s->keys[i].id, s->keys[i].name, v, ud);
	}
}

/* ---- values, for the reader (reader.h) ---- */

/*
 * A number with an integral value written as a float ("8.0", "1e3") is an integer, as it is in a Lua
 * spec, where arithmetic (64 / 8) gives floats.
 */
static int parse_integral(const char *s, long long *out)
{
	char *end;
	double x;

	errno = 0;
	*out = strtoll(s, &end, 10);
	if (end != s && !*end && !errno)
		return 0;
	errno = 0;
	x = strtod(s, &end);
	if (end == s || *end || errno || !(x >= -9.2e18 && x <= 9.2e18) || x != (double)(long long)x)
		return -1;
	*out = (long long)x;
	return 0;
}

static enum exp_vkind y_kind(void *ctx, void *v)
{
	const yaml_node_t *n = v;

	if (n->type == YAML_SEQUENCE_NODE)
		return EXP_V_LIST;
	if (n->type == YAML_MAPPING_NODE)
		return EXP_V_OTHER;
	return is_null(n) ? EXP_V_NULL : EXP_V_SCALAR;
}

static const char *y_type_name(void *ctx, void *v)
{
	return type_name(v);
}

static struct src_pos y_pos(void *ctx, void *v)
{
	return yspec_pos(ctx, v);
}

static char *y_text(void *ctx, void *v)
{
	return scalar(v) ? xstrdup(scalar(v)) : NULL;
}

static int y_is_string(void *ctx, void *v)
{
	return is_quoted(v);
}

static int y_integer(void *ctx, void *v, long long *out)
{
	if (!scalar(v) || is_null(v) || is_quoted(v))
		return -1;
	return parse_integral(scalar(v), out);
}

static int y_u64(void *ctx, void *v, uint64_t *out)
{
	const char *s = scalar(v);
	char *end;
	unsigned long long x;
	long long y;

	if (!s || is_null(v) || is_quoted(v))
		return -1;
	errno = 0;
	x = strtoull(s, &end, 10);
	if (end == s || *end || errno || *s == '-') {
		if (parse_integral(s, &y) < 0 || y < 0)
			return -1;
		x = (unsigned long long)y;
	}
	*out = x;
	return 0;
}

static int y_boolean(void *ctx, void *v, int *out)
{
	static const char *const yes[] = { "true", "yes", "on" }, *const no[] = { "false", "no", "off" };
	const char *s = scalar(v);
	size_t i;

	for (i = 0; s && !is_quoted(v) && i < ARRAY_SIZE(yes); i++) {
		if (!strcasecmp(s, yes[i])) {
			*out = 1;
			return 0;
		}
		if (!strcasecmp(s, no[i])) {
			*out = 0;
			return 0;
		}
	}
	return -1;
}

/*
 * A plain scalar as a number. YAML's .inf, -.inf and .nan are numbers, for exp_check_float to refuse by
 * name; so is a float too large for strtod (an infinity).
 */
static int y_number(void *ctx, void *v, double *out)
{
	static const char *const infs[] = { ".inf", ".Inf", ".INF" };
	static const char *const nans[] = { ".nan", ".NaN", ".NAN" };
	const char *s = scalar(v), *p;
	char *end;
	size_t i;

	if (!s || !*s || is_null(v) || is_quoted(v))
		return -1;
	p = *s == '-' || *s == '+' ? s + 1 : s;
	for (i = 0; i < ARRAY_SIZE(infs); i++) {
		if (!strcmp(p, infs[i])) {
			*out = *s == '-' ? -HUGE_VAL : HUGE_VAL;
			return 0;
		}
		if (p == s && !strcmp(s, nans[i])) {
			*out = NAN;
			return 0;
		}
	}
	*out = strtod(s, &end);
	return *end ? -1 : 0;
}

static size_t y_length(void *ctx, void *v)
{
	const yaml_node_t *n = v;
	return (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
}

static void y_each(void *ctx, void *v, int (*fn)(const struct exp_reader *r, void *item, void *arg),
		   const struct exp_reader *r, void *arg)
{
	yaml_node_t *n = v;
	yaml_node_item_t *it;

	for (it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
		yaml_node_t *item = get_node(ctx, *it);
		if (item && fn(r, item, arg))
			break;
	}
}

/* A scalar "a, b, c" is a list too; each name's column is where it starts in the line. */
static void y_split(void *ctx, void *v, struct exp_names *l)
{
	yaml_node_t *n = v;
	int quoted = n->data.scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
		     n->data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE;

	exp_names_split(l, scalar(n), yspec_pos(ctx, n), quoted);
}

static int y_pairs(void *ctx, void *v,
		   int (*fn)(const struct exp_reader *r, const char *key, struct src_pos key_pos, void *val,
			     void *arg),
		   const struct exp_reader *r, void *arg)
{
	yaml_node_t *n = v;
	yaml_node_pair_t *p;
	int nr = 0;

	if (n->type != YAML_MAPPING_NODE)
		return -1;
	for (p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		yaml_node_t *k = get_node(ctx, p->key), *val = get_node(ctx, p->value);
		if (!k || !val)
			continue;
		nr++;
		if (fn && fn(r, is_null(k) ? NULL : scalar(k), yspec_pos(ctx, k), val, arg))
			break;
	}
	return nr;
}

static struct exp_reader reader_of(struct yctx *c)
{
	struct exp_reader r = { c,	     c->d,	  y_kind,    y_type_name, y_pos,   y_text,
				y_is_string, y_integer, y_u64,	     y_boolean,	  y_number, y_length,
				y_each,	     y_split,	y_pairs };
	return r;
}

static void read_field(struct yctx *c, const struct exp_field *f, const char *key, yaml_node_t *v, void *ud)
{
	struct exp_reader r = reader_of(c);

	exp_read_field(&r, v, key, f, ud);
}

static int get_int(struct yctx *c, yaml_node_t *v, const char *key, long long min, long long max, long long *out)
{
	struct exp_reader r = reader_of(c);

	return exp_get_int(&r, v, key, min, max, out);
}

static void get_names(struct yctx *c, yaml_node_t *v, const char *key, struct exp_name **list, size_t *nr)
{
	struct exp_reader r = reader_of(c);

	exp_get_names(&r, v, key, list, nr);
}

static void split_scalar(struct yctx *c, yaml_node_t *v, struct exp_names *l)
{
	y_split(c, v, l);
}

/* ---- models ---- */

#define FIELDS(a) a, ARRAY_SIZE(a)

/* a layer as a mapping's value {path, layout}, and as a list's item {name, path, layout} */
static const struct section layer_value = { "layers", exp_layer_keys, ARRAY_SIZE(exp_layer_keys) - 1,
					     FIELDS(exp_layer_fields), NULL };
static const struct section layer_item = { "layers", FIELDS(exp_layer_keys), FIELDS(exp_layer_fields), NULL };

static int cmp_layer(const void *a, const void *b)
{
	const struct exp_layer *x = a, *y = b;
	return strcmp(x->name ? x->name : "", y->name ? y->name : "");
}

/*
 * A fused layer's module paths, [path, path, ...], as the one string "path,path" the IR keeps
 * (experiment.h); validate.c checks the paths themselves. NULL after an error.
 */
static char *fused_paths(struct yctx *c, yaml_node_t *v)
{
	struct strbuf sb = STRBUF_INIT;
	yaml_node_item_t *it;

	for (it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
		yaml_node_t *p = get_node(c, *it);
		if (!p)
			continue;
		if (!scalar(p) || is_null(p)) {
			diag_error(c->d, yspec_pos(c, p), "expected a module path in a fused layer's list, not %s",
				   type_name(p));
			strbuf_release(&sb);
			return NULL;
		}
		if (sb.len)
			strbuf_addch(&sb, ',');
		strbuf_addstr(&sb, scalar(p));
	}
	if (!sb.len) {
		diag_error(c->d, yspec_pos(c, v), "a fused layer's list of module paths is empty");
		strbuf_release(&sb);
		return NULL;
	}
	return strbuf_detach(&sb, NULL);
}

/*
 * layers: name -> path | [path, ...] | {path, layout}, or a list of paths | [path, ...] |
 * {name, path, layout}. A list of paths is one fused layer (experiment.h).
 */
static void parse_layers(struct yctx *c, yaml_node_t *v, struct exp_model *m)
{
	size_t alloc = 0;

	if (v->type == YAML_MAPPING_NODE) {
		yaml_node_pair_t *p;
		for (p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top; p++) {
			yaml_node_t *k = get_node(c, p->key), *lv = get_node(c, p->value);
			struct exp_layer *l;
			size_t j;
			if (!k || !lv)
				continue;
			if (!scalar(k) || is_null(k)) {
				diag_error(c->d, yspec_pos(c, k), "expected a layer name, not %s", type_name(k));
				continue;
			}
			for (j = 0; j < m->nr_layers; j++)
				if (!strcmp(m->layers[j].name, scalar(k)))
					break;
			if (j < m->nr_layers) {
				diag_error(c->d, yspec_pos(c, k), "duplicate layer name '%s'", scalar(k));
				continue;
			}
			ALLOC_GROW(m->layers, m->nr_layers + 1, alloc);
			l = &m->layers[m->nr_layers++];
			memset(l, 0, sizeof(*l));
			l->name = xstrdup(scalar(k));
			l->pos = yspec_pos(c, k);
			if (lv->type == YAML_MAPPING_NODE)
				walk_map(c, lv, &layer_value, l);
			else if (lv->type == YAML_SEQUENCE_NODE) {
				l->path = fused_paths(c, lv);
				l->pos = yspec_pos(c, lv);
			} else if (scalar(lv) && !is_null(lv)) {
				l->path = xstrdup(scalar(lv));
				l->pos = yspec_pos(c, lv);
			} else
				diag_error(c->d, yspec_pos(c, lv),
					   "expected a module path, a list of them or {path, layout} for layer '%s', not %s", l->name,
					   type_name(lv));
		}
		if (m->nr_layers > 1) /* qsort with a NULL base is undefined even for no elements */
			qsort(m->layers, m->nr_layers, sizeof(*m->layers), cmp_layer);
	} else if (v->type == YAML_SEQUENCE_NODE || (scalar(v) && !is_null(v))) {
		yaml_node_item_t one = 0, *it, *start, *top;
		if (v->type == YAML_SEQUENCE_NODE) {
			start = v->data.sequence.items.start;
			top = v->data.sequence.items.top;
		} else {
			one = (yaml_node_item_t)(v - c->doc.nodes.start) + 1;
			start = &one;
			top = start + 1;
		}
		for (it = start; it < top; it++) {
			yaml_node_t *lv = get_node(c, *it);
			struct exp_layer *l;
			if (!lv)
				continue;
			ALLOC_GROW(m->layers, m->nr_layers + 1, alloc);
			l = &m->layers[m->nr_layers++];
			memset(l, 0, sizeof(*l));
			l->pos = yspec_pos(c, lv);
			if (lv->type == YAML_MAPPING_NODE)
				walk_map(c, lv, &layer_item, l);
			else if (lv->type == YAML_SEQUENCE_NODE)
				l->path = fused_paths(c, lv);
			else if (scalar(lv) && !is_null(lv))
				l->path = xstrdup(scalar(lv));
			else
				diag_error(c->d, yspec_pos(c, lv), "expected a module path or {name, path, layout} in "
								"'layers', not %s",
					   type_name(lv));
			if (!l->name && l->path)
				l->name = xstrdup(l->path);
		}
	} else {
		type_error(c, v, "a mapping of layer names to module paths", "layers");
	}
}

/* layers, the one key of a model without a field */
static void visit_model(struct yctx *c, int id, const char *key, yaml_node_t *v, void *ud)
{
	parse_layers(c, v, ud);
}

static const struct section model_section = { "model", FIELDS(exp_model_keys), FIELDS(exp_model_fields),
					      visit_model };

static void parse_model(struct yctx *c, yaml_node_t *v, yaml_node_t *name_key, struct exp_model *m)
{
	memset(m, 0, sizeof(*m));
	m->input_size = m->resize = -1;
	m->pos = yspec_pos(c, name_key ? name_key : v);
	if (name_key)
		m->name = xstrdup(scalar(name_key));
	if (v->type != YAML_MAPPING_NODE) {
		type_error(c, v, "a mapping with 'file' and 'layers'", name_key ? scalar(name_key) : "models");
		return;
	}
	walk_map(c, v, &model_section, m);
	if (name_key)
		exp_model_keep_key(m, scalar(name_key), c->d);
}

static int cmp_model(const void *a, const void *b)
{
	const struct exp_model *x = a, *y = b;
	return strcmp(x->name ? x->name : "", y->name ? y->name : "");
}

/* models: a list of settings, or a mapping name -> settings (sorted by name, as Lua tables are). */
static void parse_models(struct yctx *c, yaml_node_t *v)
{
	struct experiment *e = c->e;
	size_t alloc = 0;

	if (v->type == YAML_SEQUENCE_NODE) {
		yaml_node_item_t *it;
		for (it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
			yaml_node_t *mv = get_node(c, *it);
			if (!mv)
				continue;
			ALLOC_GROW(e->models, e->nr_models + 1, alloc);
			parse_model(c, mv, NULL, &e->models[e->nr_models++]);
		}
	} else if (v->type == YAML_MAPPING_NODE) {
		yaml_node_pair_t *p;
		for (p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top; p++) {
			yaml_node_t *k = get_node(c, p->key), *mv = get_node(c, p->value);
			if (!k || !mv)
				continue;
			if (!scalar(k) || is_null(k)) {
				diag_error(c->d, yspec_pos(c, k), "expected a model name, not %s", type_name(k));
				continue;
			}
			ALLOC_GROW(e->models, e->nr_models + 1, alloc);
			parse_model(c, mv, k, &e->models[e->nr_models++]);
		}
		if (e->nr_models > 1) /* qsort with a NULL base is undefined even for no elements */
			qsort(e->models, e->nr_models, sizeof(*e->models), cmp_model);
	} else {
		type_error(c, v, "a list of models", "models");
	}
}

/* ---- data ---- */

static const struct section data_section = { "data", FIELDS(exp_data_keys), FIELDS(exp_data_fields), NULL };

static void parse_data(struct yctx *c, yaml_node_t *v)
{
	c->e->data.pos = yspec_pos(c, v);
	if (scalar(v) && !is_null(v)) { /* data: PATH */
		free(c->e->data.path);
		c->e->data.path = xstrdup(scalar(v));
		return;
	}
	if (v->type != YAML_MAPPING_NODE) {
		type_error(c, v, "a mapping with 'path'", "data");
		return;
	}
	walk_map(c, v, &data_section, &c->e->data);
}

/* ---- statistics ---- */

static const struct section statistics_section = { "statistics", FIELDS(exp_statistics_keys),
						   FIELDS(exp_statistics_fields), NULL };

/* statistics: {bootstrap, alpha, seed, test}; an empty mapping asks for the defaults, null for none. */
static void parse_statistics(struct yctx *c, yaml_node_t *v)
{
	c->e->statistics.pos = yspec_pos(c, v);
	if (is_null(v))
		return;
	if (v->type != YAML_MAPPING_NODE) {
		type_error(c, v, "a mapping with 'bootstrap', 'alpha', 'seed' or 'test'", "statistics");
		return;
	}
	c->e->statistics.on = 1;
	walk_map(c, v, &statistics_section, &c->e->statistics);
}

/* ---- grid ---- */

static const struct section exclude_section = { "exclude", FIELDS(exp_exclude_keys),
						FIELDS(exp_exclude_fields), NULL };

static void parse_excludes(struct yctx *c, yaml_node_t *v)
{
	struct experiment *e = c->e;
	yaml_node_item_t one, *it, *start, *top;
	size_t alloc = 0;

	if (v->type == YAML_MAPPING_NODE) {
		one = (yaml_node_item_t)(v - c->doc.nodes.start) + 1;
		start = &one;
		top = start + 1;
	} else if (v->type == YAML_SEQUENCE_NODE) {
		start = v->data.sequence.items.start;
		top = v->data.sequence.items.top;
	} else {
		type_error(c, v, "a list of {model, layer, method, utility, target}", "exclude");
		return;
	}
	for (it = start; it < top; it++) {
		yaml_node_t *xv = get_node(c, *it);
		struct exp_exclude *x;
		if (!xv)
			continue;
		if (xv->type != YAML_MAPPING_NODE) {
			type_error(c, xv, "a mapping such as {method: randomcam, utility: logit}", "exclude");
			continue;
		}
		ALLOC_GROW(e->excludes, e->nr_excludes + 1, alloc);
		x = &e->excludes[e->nr_excludes++];
		memset(x, 0, sizeof(*x));
		x->pos = yspec_pos(c, xv);
		walk_map(c, xv, &exclude_section, x);
	}
}

static void parse_zip(struct yctx *c, yaml_node_t *v)
{
	struct exp_names l = EXP_NAMES_INIT;

	if (v->type == YAML_SCALAR_NODE && !is_null(v)) {
		split_scalar(c, v, &l);
	} else if (v->type == YAML_SEQUENCE_NODE) {
		yaml_node_item_t *it;
		for (it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
			yaml_node_t *item = get_node(c, *it);
			if (item && scalar(item))
				exp_names_push(&l, scalar(item), strlen(scalar(item)), yspec_pos(c, item));
			else if (item) {
				diag_error(c->d, yspec_pos(c, item), "expected a dimension name in 'zip', not %s",
					   type_name(item));
				l.bad = 1;
			}
		}
	} else if (!is_null(v)) {
		type_error(c, v, "a list of dimensions (model, layer, method, utility, target)", "zip");
		return;
	}
	exp_names_zip(&l, c->e, c->d);
}

static void visit_grid(struct yctx *c, int id, const char *key, yaml_node_t *v, void *ud)
{
	if (id == G_EXCLUDE)
		parse_excludes(c, v);
	else
		parse_zip(c, v);
}

/* ---- define ---- */

static void visit_define(struct yctx *c, int id, const char *key, yaml_node_t *v, void *ud)
{
	struct experiment *e = c->e;
	yaml_node_pair_t *p;

	if (is_null(v))
		return;
	if (v->type != YAML_MAPPING_NODE) {
		type_error(c, v, "a mapping of names to Lua code", key);
		return;
	}
	for (p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top; p++) {
		yaml_node_t *k = get_node(c, p->key), *cv = get_node(c, p->value);
		struct exp_def *df;
		if (!k || !cv)
			continue;
		if (!scalar(k) || is_null(k)) {
			diag_error(c->d, yspec_pos(c, k), "expected a name in '%s', not %s", key, type_name(k));
			continue;
		}
		if (!scalar(cv) || is_null(cv)) {
			type_error(c, cv, "Lua code (a string)", scalar(k));
			continue;
		}
		ALLOC_GROW(e->defs, e->nr_defs + 1, c->def_alloc);
		df = &e->defs[e->nr_defs++];
		df->kind = (enum exp_def_kind)id;
		df->name = xstrdup(scalar(k));
		df->lua = xstrdup(scalar(cv));
		df->pos = yspec_pos(c, k);
	}
}

/* ---- outputs ---- */

static const struct section figure_section = { "figures", FIELDS(exp_figure_keys), FIELDS(exp_figure_fields),
					       NULL };

static void parse_figures(struct yctx *c, yaml_node_t *v)
{
	struct experiment *e = c->e;
	yaml_node_item_t *it;
	size_t alloc = 0;

	if (v->type != YAML_SEQUENCE_NODE) {
		type_error(c, v, "a list of {image, by}", "figures");
		return;
	}
	for (it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
		yaml_node_t *fv = get_node(c, *it);
		struct exp_figure *f;
		if (!fv)
			continue;
		ALLOC_GROW(e->figures, e->nr_figures + 1, alloc);
		f = &e->figures[e->nr_figures++];
		memset(f, 0, sizeof(*f));
		f->pos = yspec_pos(c, fv);
		if (fv->type == YAML_MAPPING_NODE)
			walk_map(c, fv, &figure_section, f);
		else if (scalar(fv) && !is_null(fv))
			f->image = xstrdup(scalar(fv));
		else
			type_error(c, fv, "{image, by}", "figures");
	}
}

static void parse_formats(struct yctx *c, yaml_node_t *v)
{
	struct exp_name *names = NULL;
	size_t n = 0;

	get_names(c, v, "formats", &names, &n);
	if (names)
		experiment_set_formats(c->e, names, n, c->d);
}

/* formats and figures; the other keys of outputs have fields */
static void visit_outputs(struct yctx *c, int id, const char *key, yaml_node_t *v, void *ud)
{
	if (id == O_FORMATS)
		parse_formats(c, v);
	else
		parse_figures(c, v);
}

/* ---- ablations ---- */

static const struct section ablation_section = { "ablations", FIELDS(exp_ablation_keys),
						 FIELDS(exp_ablation_fields), NULL };

/* ablations: a list of {over, baseline} or of dimensions; null or [] for none (not even Table 5's). */
static void parse_ablations(struct yctx *c, yaml_node_t *v)
{
	struct experiment *e = c->e;
	yaml_node_item_t *it;
	size_t alloc = 0;

	e->ablations_set = 1;
	e->ablations_pos = yspec_pos(c, v);
	if (is_null(v))
		return;
	if (v->type != YAML_SEQUENCE_NODE) {
		type_error(c, v, "a list of {over, baseline}", "ablations");
		return;
	}
	for (it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
		yaml_node_t *av = get_node(c, *it);
		struct exp_ablation *a;
		if (!av)
			continue;
		ALLOC_GROW(e->ablations, e->nr_ablations + 1, alloc);
		a = &e->ablations[e->nr_ablations++];
		memset(a, 0, sizeof(*a));
		a->pos = a->over_pos = yspec_pos(c, av);
		if (av->type == YAML_MAPPING_NODE)
			walk_map(c, av, &ablation_section, a);
		else if (scalar(av) && !is_null(av))
			a->over = xstrdup(scalar(av));
		else
			type_error(c, av, "{over, baseline}", "ablations");
	}
}

/* ---- the top level ---- */

static const struct section grid_section = { "grid", FIELDS(exp_grid_keys), NULL, 0, visit_grid };
static const struct section define_section = { "define", FIELDS(exp_define_keys), NULL, 0, visit_define };
static const struct section outputs_section = { "outputs", FIELDS(exp_output_keys), FIELDS(exp_output_fields),
						visit_outputs };

/* The top-level keys that are sections of their own, and batch (a number or auto). */
static void visit_top(struct yctx *c, int id, const char *key, yaml_node_t *v, void *ud)
{
	struct experiment *e = c->e;
	long long x;

	switch (id) {
	case T_BATCH:
		if (scalar(v) && !strcmp(scalar(v), "auto")) /* quoted or not: a string */
			e->batch = EXP_BATCH_AUTO;
		else if (!get_int(c, v, key, 1, 0x7fffffff, &x))
			e->batch = (int)x;
		break;
	case T_MODELS:
		parse_models(c, v);
		break;
	case T_DATA:
		parse_data(c, v);
		break;
	case T_STATISTICS:
		parse_statistics(c, v);
		break;
	case T_ABLATIONS:
		parse_ablations(c, v);
		break;
	case T_GRID:
		if (v->type == YAML_MAPPING_NODE)
			walk_map(c, v, &grid_section, NULL);
		else if (!is_null(v))
			type_error(c, v, "a mapping with 'exclude' or 'zip'", key);
		break;
	case T_DEFINE:
		if (v->type == YAML_MAPPING_NODE)
			walk_map(c, v, &define_section, NULL);
		else if (!is_null(v))
			type_error(c, v, "a mapping with 'methods', 'utilities' or 'metrics'", key);
		break;
	case T_OUTPUTS:
		if (v->type == YAML_MAPPING_NODE)
			walk_map(c, v, &outputs_section, e);
		else if (!is_null(v))
			type_error(c, v, "a mapping with 'tables', 'plots', 'formats', 'paper' or 'figures'", key);
		break;
	}
}

static const struct section top_section = { NULL, FIELDS(exp_top_keys), FIELDS(exp_top_fields), visit_top };

int exp_yaml_load(struct experiment *e, const char *file, const char *text, size_t len, struct diag *d)
{
	struct src_pos start = { e->file ? e->file : file, 1, 1 };
	yaml_node_t *root;
	struct yctx c;

	if (!e->file)
		e->file = xstrdup(file);
	start.file = e->file;
	memset(&c, 0, sizeof(c));
	c.e = e;
	c.d = d;
	c.def_alloc = e->nr_defs;
	if (yspec_compose(&c, file, text, len) < 0) {
		free(c.node_pos);
		return -1;
	}
	root = yaml_document_get_root_node(&c.doc);
	if (!root || is_null(root)) {
		diag_error(d, start, "empty spec: expected a mapping with at least 'models' and 'data'");
		yaml_document_delete(&c.doc);
		free(c.node_pos);
		return -1;
	}
	if (root->type != YAML_MAPPING_NODE) {
		diag_error(d, yspec_pos(&c, root), "expected a mapping of keys such as 'models' and 'data' at the top "
						"level, not %s",
			   type_name(root));
		yaml_document_delete(&c.doc);
		free(c.node_pos);
		return -1;
	}
	yspec_check_nul(&c);
	walk_map(&c, root, &top_section, e);
	yaml_document_delete(&c.doc);
	free(c.node_pos);
	return 0;
}
