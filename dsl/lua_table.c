/*
 * lua_table.c - the table given to experiment{} turned into the IR, section by section, exactly as the
 * YAML front end reads the same keys: plain keys through the shared reader (reader.h), with a Lua value
 * and where it was written as the reader's value.
 */
#include "dsl/lua_front.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "lib/strbuf.h"
#include "lib/suggest.h"
#include "lib/xalloc.h"

/* ---- values, for the reader (reader.h): a value on the stack and where it was written ---- */

struct lval {
	struct lua_ctx *c;
	lua_State *L;
	int idx; /* absolute */
	struct where w;
};

static enum exp_vkind l_kind(void *ctx, void *v)
{
	struct lval *x = v;

	switch (lua_type(x->L, x->idx)) {
	case LUA_TSTRING:
	case LUA_TNUMBER:
		return EXP_V_SCALAR;
	case LUA_TTABLE:
		return lspec_is_list(x->L, x->idx) ? EXP_V_LIST : EXP_V_OTHER;
	default:
		return EXP_V_OTHER; /* nil (never read: a key set to nil is no key), a boolean, a function */
	}
}

static const char *l_type_name(void *ctx, void *v)
{
	struct lval *x = v;
	return lspec_type_name(x->L, x->idx);
}

static struct src_pos l_pos(void *ctx, void *v)
{
	return ((struct lval *)v)->w.pos;
}

static char *l_text(void *ctx, void *v)
{
	struct lval *x = v;
	return lspec_scalar_text(x->L, x->idx);
}

static int l_is_string(void *ctx, void *v)
{
	struct lval *x = v;
	return lua_type(x->L, x->idx) == LUA_TSTRING;
}

/* An integer; a float with an integral value counts (1e3). */
static int l_integer(void *ctx, void *v, long long *out)
{
	struct lval *x = v;
	int isint = 0;
	lua_Integer i = 0;

	if (lua_type(x->L, x->idx) == LUA_TNUMBER)
		i = lua_tointegerx(x->L, x->idx, &isint);
	if (!isint)
		return -1;
	*out = i;
	return 0;
}

static int l_u64(void *ctx, void *v, uint64_t *out)
{
	long long i;

	if (l_integer(ctx, v, &i) < 0 || i < 0)
		return -1;
	*out = (uint64_t)i;
	return 0;
}

static int l_boolean(void *ctx, void *v, int *out)
{
	struct lval *x = v;

	if (lua_type(x->L, x->idx) != LUA_TBOOLEAN)
		return -1;
	*out = lua_toboolean(x->L, x->idx);
	return 0;
}

static int l_number(void *ctx, void *v, double *out)
{
	struct lval *x = v;

	if (lua_type(x->L, x->idx) != LUA_TNUMBER)
		return -1;
	*out = (double)lua_tonumber(x->L, x->idx);
	return 0;
}

static size_t l_length(void *ctx, void *v)
{
	struct lval *x = v;
	return (size_t)lua_rawlen(x->L, x->idx);
}

/* Each item pushed in turn, placed where it is written (list_offsets, list_item). */
static void l_each(void *ctx, void *v, int (*fn)(const struct exp_reader *r, void *item, void *arg),
		   const struct exp_reader *r, void *arg)
{
	struct lval *x = v;
	size_t len = (size_t)lua_rawlen(x->L, x->idx), *off = lspec_list_offsets(x->c, x->L, x->idx, &x->w), i,
	       cursor = x->w.off;
	int stop = 0;

	for (i = 1; i <= len && !stop; i++) {
		struct lval item = { x->c, x->L, 0, x->w };
		lua_rawgeti(x->L, x->idx, (lua_Integer)i);
		item.idx = lua_gettop(x->L);
		item.w = lspec_list_item(x->c, x->L, &x->w, off, i, &cursor);
		stop = fn(r, &item, arg);
		lua_pop(x->L, 1);
	}
	free(off);
}

/* A string "a, b, c" is a list too, as in YAML; each name is placed where it starts in the literal. */
static void split_names(struct lua_ctx *c, const char *s, size_t *cursor, struct src_pos dflt,
			struct exp_names *l)
{
	struct src_pos base = lspec_item_pos(c, s, cursor, dflt);
	int found = base.line != dflt.line || base.col != dflt.col;

	exp_names_split(l, s, base, found ? 1 : -1);
}

static void l_split(void *ctx, void *v, struct exp_names *l)
{
	struct lval *x = v;
	char *s = lspec_scalar_text(x->L, x->idx);
	size_t cursor = x->w.off;

	split_names(x->c, s, &cursor, x->w.pos, l);
	free(s);
}

/* A table's string keys in sorted order (Lua keeps none), each placed where it is written. */
static int l_pairs(void *ctx, void *v,
		   int (*fn)(const struct exp_reader *r, const char *key, struct src_pos key_pos, void *val,
			     void *arg),
		   const struct exp_reader *r, void *arg)
{
	struct lval *x = v;
	struct keylist *kl;
	size_t i;
	int nr = 0, stop = 0;

	if (!lspec_is_mapping(x->L, x->idx))
		return -1;
	if (!fn) {
		lua_pushnil(x->L);
		while (lua_next(x->L, x->idx)) {
			lua_pop(x->L, 1);
			nr++;
		}
		return nr;
	}
	if (!(kl = lspec_sorted_keys(x->c, x->L, x->idx, &x->w, "a name")))
		return 0; /* reported: a key that is no name */
	for (i = 0; i < kl->nr && !stop; i++) {
		struct lval item = { x->c, x->L, 0, x->w };
		lua_pushstring(x->L, kl->v[i]);
		lua_rawget(x->L, x->idx);
		item.idx = lua_gettop(x->L);
		item.w.key = kl->v[i];
		item.w.pos = lspec_key_in(x->c, x->L, x->idx, kl->v[i], x->w.off, &item.w.off);
		stop = fn(r, kl->v[i], item.w.pos, &item, arg);
		lua_pop(x->L, 1);
	}
	x->c->depth--;
	return (int)kl->nr;
}

static const struct exp_reader lua_reader = { NULL,	   NULL,      l_kind,	 l_type_name, l_pos,	l_text,
					      l_is_string, l_integer, l_u64,	 l_boolean,   l_number, l_length,
					      l_each,	   l_split,   l_pairs };

/* The reader for the value at v, written at w. */
static void reader_at(struct lua_ctx *c, lua_State *L, int v, const struct where *w, struct exp_reader *r,
		      struct lval *x)
{
	*r = lua_reader;
	r->ctx = c;
	r->d = c->d;
	x->c = c;
	x->L = L;
	x->idx = lua_absindex(L, v);
	x->w = *w;
}

static int get_int(struct lua_ctx *c, lua_State *L, int v, const struct where *w, long long min, long long max,
		   long long *out)
{
	struct exp_reader r;
	struct lval x;

	reader_at(c, L, v, w, &r, &x);
	return exp_get_int(&r, &x, w->key, min, max, out);
}

static void get_names(struct lua_ctx *c, lua_State *L, int v, const struct where *w, const char *key,
		      struct exp_name **list, size_t *nr)
{
	struct exp_reader r;
	struct lval x;

	reader_at(c, L, v, w, &r, &x);
	exp_get_names(&r, &x, key, list, nr);
}

/* Read the value at v (written at w) into the field f of ud (its section's struct), as keys.h describes it. */
static void read_field(struct lua_ctx *c, lua_State *L, int v, const struct where *w,
		       const struct exp_field *f, void *ud)
{
	struct exp_reader r;
	struct lval x;

	reader_at(c, L, v, w, &r, &x);
	exp_read_field(&r, &x, w->key, f, ud);
}

#define FIELDS(a) a, ARRAY_SIZE(a)

/* Every key of table t (written at owner) that has a field, read into ud. */
static void read_fields(struct lua_ctx *c, lua_State *L, int t, const struct exp_key *keys, size_t nkeys,
			const struct exp_field *fields, size_t nfields, const struct where *owner, void *ud)
{
	struct where w;
	size_t i;

	for (i = 0; i < nfields; i++) {
		if (lspec_field(c, L, t, keys, nkeys, fields[i].id, owner, &w) != LUA_TNIL)
			read_field(c, L, lua_gettop(L), &w, &fields[i], ud);
		lua_pop(L, 1);
	}
}

/* ---------------------------------------------------------------------------------------------------
 * The sections of the experiment table, as docs/language.md describes them.
 */

/* {path, layout} (a mapping's value, nkeys 2) or {name, path, layout} (a list's item, nkeys 3). */
static void layer_table(struct lua_ctx *c, lua_State *L, int v, struct exp_layer *l, size_t nkeys,
			const struct where *w)
{
	v = lua_absindex(L, v);

	lspec_check_keys(c, L, v, "layers", exp_layer_keys, nkeys, w);
	read_fields(c, L, v, exp_layer_keys, nkeys, FIELDS(exp_layer_fields), w, l);
}

static struct exp_layer *new_layer(struct exp_model *m, struct src_pos pos)
{
	struct exp_layer *l;
	m->layers = xrealloc(m->layers, (m->nr_layers + 1) * sizeof(*m->layers));
	l = &m->layers[m->nr_layers++];
	memset(l, 0, sizeof(*l));
	l->pos = pos;
	return l;
}

/*
 * A fused layer's module paths, the list of strings at lv, as the one string "path,path" the IR keeps
 * (experiment.h), the same as the YAML front end's; NULL after an error.
 */
static char *fused_paths(struct lua_ctx *c, lua_State *L, int lv, const struct where *w)
{
	struct strbuf sb = STRBUF_INIT;
	size_t i, n = lua_rawlen(L, lv);

	for (i = 1; i <= n; i++) {
		int t = lua_rawgeti(L, lv, (lua_Integer)i);
		if (t != LUA_TSTRING) {
			diag_error(c->d, w->pos, "expected a module path in a fused layer's list, not %s",
				   lspec_type_name(L, -1));
			lua_pop(L, 1);
			strbuf_release(&sb);
			return NULL;
		}
		if (sb.len)
			strbuf_addch(&sb, ',');
		strbuf_addstr(&sb, lua_tostring(L, -1));
		lua_pop(L, 1);
	}
	return strbuf_detach(&sb, NULL);
}

/*
 * layers: name -> path | {path, ...} | {path, layout} (sorted by name), or a list of paths | {path, ...}
 * | {name, path, layout}. A list of paths is one fused layer (experiment.h).
 */
static void get_layers(struct lua_ctx *c, lua_State *L, int v, struct exp_model *m, const struct where *w)
{
	size_t i, n, cursor = w->off;

	v = lua_absindex(L, v);

	if (lua_type(L, v) == LUA_TSTRING || (lua_type(L, v) == LUA_TTABLE && lspec_is_list(L, v) && lua_rawlen(L, v))) {
		int one = lua_type(L, v) == LUA_TSTRING;
		size_t *off = one ? NULL : lspec_list_offsets(c, L, v, w);
		n = one ? 1 : lua_rawlen(L, v);
		for (i = 1; i <= n; i++) {
			struct exp_layer *l;
			struct where item;
			int lv;
			if (one)
				lua_pushvalue(L, v);
			else
				lua_rawgeti(L, v, (lua_Integer)i);
			item = lspec_list_item(c, L, w, off, i, &cursor);
			lv = lua_gettop(L);
			l = new_layer(m, item.pos);
			if (lspec_is_mapping(L, lv))
				layer_table(c, L, lv, l, ARRAY_SIZE(exp_layer_keys), &item);
			else if (lua_type(L, lv) == LUA_TTABLE && lspec_is_list(L, lv) && lua_rawlen(L, lv))
				l->path = fused_paths(c, L, lv, &item);
			else if (lua_type(L, lv) == LUA_TSTRING)
				l->path = xstrdup(lua_tostring(L, lv));
			else
				diag_error(c->d, item.pos, "expected a module path or {name, path, layout} in 'layers', not %s",
					   lspec_type_name(L, lv));
			if (!l->name && l->path)
				l->name = xstrdup(l->path);
			lua_pop(L, 1);
		}
		free(off);
		return;
	}
	if (!lspec_is_mapping(L, v)) {
		lspec_type_error(c, L, v, w, "a mapping of layer names to module paths");
		return;
	}
	{
		struct keylist *kl = lspec_sorted_keys(c, L, v, w, "a layer name");
		if (!kl)
			return;
		for (i = 0; i < kl->nr; i++) {
			struct where item;
			struct exp_layer *l;
			const char *name = kl->v[i];
			lua_pushstring(L, name);
			lua_rawget(L, v);
			item.key = name;
			item.pos = lspec_key_in(c, L, v, name, w->off, &item.off);
			l = new_layer(m, item.pos);
			l->name = xstrdup(name);
			if (lspec_is_mapping(L, -1))
				layer_table(c, L, lua_gettop(L), l, ARRAY_SIZE(exp_layer_keys) - 1, &item);
			else if (lua_type(L, -1) == LUA_TTABLE && lspec_is_list(L, -1) && lua_rawlen(L, -1))
				l->path = fused_paths(c, L, lua_gettop(L), &item);
			else if (lua_type(L, -1) == LUA_TSTRING)
				l->path = xstrdup(lua_tostring(L, -1));
			else
				diag_error(c->d, item.pos, "expected a module path, a list of them or {path, layout} for layer '%s', not %s",
					   name, lspec_type_name(L, -1));
			lua_pop(L, 1);
		}
		c->depth--;
	}
}

static void get_model(struct lua_ctx *c, lua_State *L, int v, const char *name, const struct where *w)
{
	struct experiment *e = c->e;
	struct exp_model *m;
	struct where f;

	v = lua_absindex(L, v);

	e->models = xrealloc(e->models, (e->nr_models + 1) * sizeof(*e->models));
	m = &e->models[e->nr_models++];
	memset(m, 0, sizeof(*m));
	m->input_size = m->resize = -1; /* from the model's sidecar, else the images as they are */
	m->pos = w->pos;
	if (name)
		m->name = xstrdup(name);
	if (!lspec_is_mapping(L, v)) {
		lspec_type_error(c, L, v, w, "a mapping with 'file' and 'layers'");
		return;
	}
	lspec_check_keys(c, L, v, "model", exp_model_keys, ARRAY_SIZE(exp_model_keys), w);
	read_fields(c, L, v, FIELDS(exp_model_keys), FIELDS(exp_model_fields), w, m);
	if (name)
		exp_model_keep_key(m, name, c->d);
	if (lspec_field(c, L, v, exp_model_keys, ARRAY_SIZE(exp_model_keys), M_LAYERS, w, &f) != LUA_TNIL)
		get_layers(c, L, lua_gettop(L), m, &f);
	lua_pop(L, 1);
}

/* models: a list of settings, or a mapping name -> settings (sorted by name). */
static void get_models(struct lua_ctx *c, lua_State *L, int v, const struct where *w)
{
	size_t i, n;

	v = lua_absindex(L, v);

	if (lua_type(L, v) != LUA_TTABLE) {
		lspec_type_error(c, L, v, w, "a list of models");
		return;
	}
	if (lspec_is_list(L, v)) {
		size_t cursor = w->off, *off = lspec_list_offsets(c, L, v, w);
		n = lua_rawlen(L, v);
		for (i = 1; i <= n; i++) {
			struct where item;
			lua_rawgeti(L, v, (lua_Integer)i);
			item = lspec_list_item(c, L, w, off, i, &cursor);
			item.key = "models";
			get_model(c, L, lua_gettop(L), NULL, &item);
			lua_pop(L, 1);
		}
		free(off);
		return;
	}
	{
		struct keylist *kl = lspec_sorted_keys(c, L, v, w, "a model name");
		if (!kl)
			return;
		for (i = 0; i < kl->nr; i++) {
			struct where item;
			const char *name = kl->v[i];
			lua_pushstring(L, name);
			lua_rawget(L, v);
			item.key = name;
			item.pos = lspec_key_in(c, L, v, name, w->off, &item.off);
			get_model(c, L, lua_gettop(L), name, &item);
			lua_pop(L, 1);
		}
		c->depth--;
	}
}

/* data: {path, labels, limit, shuffle, seed}, or just the path. */
static void get_data(struct lua_ctx *c, lua_State *L, int v, const struct where *w)
{
	struct exp_data *dt = &c->e->data;

	v = lua_absindex(L, v);

	dt->pos = w->pos;
	if (lua_type(L, v) == LUA_TSTRING) {
		free(dt->path);
		dt->path = xstrdup(lua_tostring(L, v));
		return;
	}
	if (!lspec_is_mapping(L, v)) {
		lspec_type_error(c, L, v, w, "a mapping with 'path'");
		return;
	}
	lspec_check_keys(c, L, v, "data", exp_data_keys, ARRAY_SIZE(exp_data_keys), w);
	read_fields(c, L, v, FIELDS(exp_data_keys), FIELDS(exp_data_fields), w, dt);
}

/* statistics: {bootstrap, alpha, seed, test}; an empty table asks for the defaults. */
static void get_statistics(struct lua_ctx *c, lua_State *L, int v, const struct where *w)
{
	struct exp_statistics *st = &c->e->statistics;

	v = lua_absindex(L, v);
	st->pos = w->pos;
	if (!lspec_is_mapping(L, v)) {
		lspec_type_error(c, L, v, w, "a mapping with 'bootstrap', 'alpha', 'seed' or 'test'");
		return;
	}
	st->on = 1;
	lspec_check_keys(c, L, v, "statistics", exp_statistics_keys, ARRAY_SIZE(exp_statistics_keys), w);
	read_fields(c, L, v, FIELDS(exp_statistics_keys), FIELDS(exp_statistics_fields), w, st);
}

static void get_exclude(struct lua_ctx *c, lua_State *L, int v, const struct where *w)
{
	struct experiment *e = c->e;
	struct exp_exclude *x;

	v = lua_absindex(L, v);

	if (!lspec_is_mapping(L, v)) {
		lspec_type_error(c, L, v, w, "a mapping such as {method = \"randomcam\", utility = \"logit\"}");
		return;
	}
	e->excludes = xrealloc(e->excludes, (e->nr_excludes + 1) * sizeof(*e->excludes));
	x = &e->excludes[e->nr_excludes++];
	memset(x, 0, sizeof(*x));
	x->pos = w->pos;
	lspec_check_keys(c, L, v, "exclude", exp_exclude_keys, ARRAY_SIZE(exp_exclude_keys), w);
	read_fields(c, L, v, FIELDS(exp_exclude_keys), FIELDS(exp_exclude_fields), w, x);
}

/* exclude: a list of mappings, or one mapping. */
static void get_excludes(struct lua_ctx *c, lua_State *L, int v, const struct where *w)
{
	size_t i, n, cursor = w->off, *off;

	v = lua_absindex(L, v);

	if (lspec_is_mapping(L, v) && lua_rawlen(L, v) == 0 && !lspec_is_list(L, v)) {
		get_exclude(c, L, v, w);
		return;
	}
	if (lua_type(L, v) != LUA_TTABLE || !lspec_is_list(L, v)) {
		lspec_type_error(c, L, v, w, "a list of {model, layer, method, utility, target}");
		return;
	}
	n = lua_rawlen(L, v);
	off = lspec_list_offsets(c, L, v, w);
	for (i = 1; i <= n; i++) {
		struct where item;
		lua_rawgeti(L, v, (lua_Integer)i);
		item = lspec_list_item(c, L, w, off, i, &cursor);
		get_exclude(c, L, lua_gettop(L), &item);
		lua_pop(L, 1);
	}
	free(off);
}

static void get_zip(struct lua_ctx *c, lua_State *L, int v, const struct where *w)
{
	struct exp_names l = EXP_NAMES_INIT;
	size_t i, cursor = w->off;

	v = lua_absindex(L, v);

	if (lua_type(L, v) == LUA_TSTRING) {
		split_names(c, lua_tostring(L, v), &cursor, w->pos, &l);
	} else if (lua_type(L, v) == LUA_TTABLE && lspec_is_list(L, v)) {
		size_t len = lua_rawlen(L, v), *off = lspec_list_offsets(c, L, v, w);
		for (i = 1; i <= len; i++) {
			struct where item;
			lua_rawgeti(L, v, (lua_Integer)i);
			item = lspec_list_item(c, L, w, off, i, &cursor);
			if (lua_type(L, -1) == LUA_TSTRING) {
				const char *s = lua_tostring(L, -1);
				exp_names_push(&l, s, strlen(s), item.pos);
			} else {
				diag_error(c->d, item.pos, "expected a dimension name in 'zip', not %s",
					   lspec_type_name(L, -1));
				l.bad = 1;
			}
			lua_pop(L, 1);
		}
		free(off);
	} else {
		lspec_type_error(c, L, v, w, "a list of dimensions (model, layer, method, utility, target)");
		return;
	}
	exp_names_zip(&l, c->e, c->d);
}

static void get_grid(struct lua_ctx *c, lua_State *L, int v, const struct where *w)
{
	struct where f;

	v = lua_absindex(L, v);

	if (!lspec_is_mapping(L, v)) {
		lspec_type_error(c, L, v, w, "a mapping with 'exclude' or 'zip'");
		return;
	}
	lspec_check_keys(c, L, v, "grid", exp_grid_keys, ARRAY_SIZE(exp_grid_keys), w);
	if (lspec_field(c, L, v, exp_grid_keys, ARRAY_SIZE(exp_grid_keys), G_EXCLUDE, w, &f) != LUA_TNIL)
		get_excludes(c, L, lua_gettop(L), &f);
	lua_pop(L, 1);
	if (lspec_field(c, L, v, exp_grid_keys, ARRAY_SIZE(exp_grid_keys), G_ZIP, w, &f) != LUA_TNIL)
		get_zip(c, L, lua_gettop(L), &f);
	lua_pop(L, 1);
}

/* ---------------------------------------------------------------------------------------------------
 * outputs and the top level.
 */

/* figures: a list of {image, by} or of images. */
static void get_figures(struct lua_ctx *c, lua_State *L, int v, const struct where *w)
{
	struct experiment *e = c->e;
	size_t i, n, cursor = w->off, *off;

	v = lua_absindex(L, v);

	if (lua_type(L, v) != LUA_TTABLE || !lspec_is_list(L, v)) {
		lspec_type_error(c, L, v, w, "a list of {image, by}");
		return;
	}
	n = lua_rawlen(L, v);
	off = lspec_list_offsets(c, L, v, w);
	for (i = 1; i <= n; i++) {
		struct exp_figure *fig;
		struct where item;
		int fv;
		lua_rawgeti(L, v, (lua_Integer)i);
		fv = lua_gettop(L);
		item = lspec_list_item(c, L, w, off, i, &cursor);
		e->figures = xrealloc(e->figures, (e->nr_figures + 1) * sizeof(*e->figures));
		fig = &e->figures[e->nr_figures++];
		memset(fig, 0, sizeof(*fig));
		fig->pos = item.pos;
		if (lspec_is_mapping(L, fv)) {
			lspec_check_keys(c, L, fv, "figures", exp_figure_keys, ARRAY_SIZE(exp_figure_keys), &item);
			read_fields(c, L, fv, FIELDS(exp_figure_keys), FIELDS(exp_figure_fields), &item, fig);
		} else if (!(fig->image = lspec_scalar_text(L, fv))) {
			lspec_type_error(c, L, fv, &item, "{image, by}");
		}
		lua_pop(L, 1);
	}
	free(off);
}

/* ablations: a list of {over, baseline} or of dimensions; {} for none (not even Table 5's). */
static void get_ablations(struct lua_ctx *c, lua_State *L, int v, const struct where *w)
{
	struct experiment *e = c->e;
	size_t i, n, cursor = w->off, *off;

	v = lua_absindex(L, v);
	e->ablations_set = 1;
	e->ablations_pos = w->pos;
	if (lua_type(L, v) != LUA_TTABLE || !lspec_is_list(L, v)) {
		lspec_type_error(c, L, v, w, "a list of {over, baseline}");
		return;
	}
	n = lua_rawlen(L, v);
	off = lspec_list_offsets(c, L, v, w);
	for (i = 1; i <= n; i++) {
		struct exp_ablation *a;
		struct where item;
		int av;
		lua_rawgeti(L, v, (lua_Integer)i);
		av = lua_gettop(L);
		item = lspec_list_item(c, L, w, off, i, &cursor);
		e->ablations = xrealloc(e->ablations, (e->nr_ablations + 1) * sizeof(*e->ablations));
		a = &e->ablations[e->nr_ablations++];
		memset(a, 0, sizeof(*a));
		a->pos = a->over_pos = item.pos;
		if (lspec_is_mapping(L, av)) {
			lspec_check_keys(c, L, av, "ablations", exp_ablation_keys, ARRAY_SIZE(exp_ablation_keys),
					 &item);
			read_fields(c, L, av, FIELDS(exp_ablation_keys), FIELDS(exp_ablation_fields), &item, a);
		} else if (!(a->over = lspec_scalar_text(L, av))) {
			lspec_type_error(c, L, av, &item, "{over, baseline}");
		}
		lua_pop(L, 1);
	}
	free(off);
}

static void get_formats(struct lua_ctx *c, lua_State *L, int v, const struct where *w)
{
	struct exp_name *names = NULL;
	size_t n = 0;

	get_names(c, L, v, w, "formats", &names, &n);
	if (names)
		experiment_set_formats(c->e, names, n, c->d);
}

static void get_outputs(struct lua_ctx *c, lua_State *L, int v, const struct where *w)
{
	struct experiment *e = c->e;
	struct where f;

	v = lua_absindex(L, v);

	if (!lspec_is_mapping(L, v)) {
		lspec_type_error(c, L, v, w, "a mapping with 'tables', 'plots', 'formats', 'paper' or 'figures'");
		return;
	}
	lspec_check_keys(c, L, v, "outputs", exp_output_keys, ARRAY_SIZE(exp_output_keys), w);
	read_fields(c, L, v, FIELDS(exp_output_keys), FIELDS(exp_output_fields), w, e);
	if (lspec_field(c, L, v, exp_output_keys, ARRAY_SIZE(exp_output_keys), O_FORMATS, w, &f) != LUA_TNIL)
		get_formats(c, L, lua_gettop(L), &f);
	lua_pop(L, 1);
	if (lspec_field(c, L, v, exp_output_keys, ARRAY_SIZE(exp_output_keys), O_FIGURES, w, &f) != LUA_TNIL)
		get_figures(c, L, lua_gettop(L), &f);
	lua_pop(L, 1);
}

void lspec_convert_experiment(struct lua_ctx *c, lua_State *L, int t)
{
	struct experiment *e = c->e;
	struct where top = { "experiment", { NULL, 0, 0 }, 0 }, f;
	long long x;
	int id;

	top.pos = lspec_pos_line(c, c->call_line);
	top.off = c->call_off;
	luaL_checkstack(L, 32, "experiment");
	lspec_check_keys(c, L, t, NULL, exp_top_keys, ARRAY_SIZE(exp_top_keys), &top);
	read_fields(c, L, t, FIELDS(exp_top_keys), FIELDS(exp_top_fields), &top, e);
	/* the keys that are sections of their own, and batch (a number or "auto") */
	for (id = T_NAME; id <= T_OUTPUTS; id++) {
		int v;
		if (exp_field_of(FIELDS(exp_top_fields), id))
			continue;
		if (lspec_field(c, L, t, exp_top_keys, ARRAY_SIZE(exp_top_keys), id, &top, &f) == LUA_TNIL) {
			lua_pop(L, 1);
			continue;
		}
		v = lua_gettop(L);
		switch (id) {
		case T_BATCH:
			if (lua_type(L, v) == LUA_TSTRING && !strcmp(lua_tostring(L, v), "auto"))
				e->batch = EXP_BATCH_AUTO;
			else if (!get_int(c, L, v, &f, 1, 0x7fffffff, &x))
				e->batch = (int)x;
			break;
		case T_MODELS:
			get_models(c, L, v, &f);
			break;
		case T_DATA:
			get_data(c, L, v, &f);
			break;
		case T_STATISTICS:
			get_statistics(c, L, v, &f);
			break;
		case T_ABLATIONS:
			get_ablations(c, L, v, &f);
			break;
		case T_GRID:
			get_grid(c, L, v, &f);
			break;
		case T_DEFINE:
			lspec_get_define(c, L, v, &f);
			break;
		case T_OUTPUTS:
			get_outputs(c, L, v, &f);
			break;
		}
		lua_settop(L, v - 1);
	}
}

