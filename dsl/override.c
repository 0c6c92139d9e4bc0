/*
 * override.c - values from the command line (override.h): parsing "PATH=VALUE" and "--sweep" lists,
 * checking a path against the key table, and the list of what a spec was made of.
 */
#include "dsl/override.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "dsl/experiment.h"
#include "dsl/keys.h"
#include "lib/error.h"
#include "lib/strbuf.h"
#include "lib/suggest.h"
#include "lib/xalloc.h"

void exp_override_release(struct exp_override *o)
{
	size_t i;

	for (i = 0; i < o->nr_path; i++)
		free(o->path[i]);
	free(o->path);
	free(o->arg);
	free(o->text);
	free(o->value);
	memset(o, 0, sizeof(*o));
}

int exp_override_parse(struct exp_override *o, const char *text, int argn)
{
	const char *eq = strchr(text, '='), *p, *dot;
	size_t alloc = 0;

	memset(o, 0, sizeof(*o));
	if (!eq)
		return error("argument %d: '%s' is no override: expected KEY=VALUE (data.limit=100)", argn, text);
	if (eq == text)
		return error("argument %d: '%s' names no key before '='", argn, text);
	for (p = text; p < eq; p = dot + 1) {
		dot = memchr(p, '.', (size_t)(eq - p));
		if (!dot)
			dot = eq;
		if (dot == p) {
			exp_override_release(o);
			return error("argument %d: an empty key in '%.*s'", argn, (int)(eq - text), text);
		}
		ALLOC_GROW(o->path, o->nr_path + 1, alloc);
		o->path[o->nr_path++] = xstrndup(p, (size_t)(dot - p));
		if (dot == eq)
			break;
	}
	o->text = xstrdup(text);
	o->value = xstrdup(eq + 1);
	{
		struct strbuf sb = STRBUF_INIT;
		strbuf_addf(&sb, "argument %d", argn);
		o->arg = strbuf_detach(&sb, NULL);
	}
	return 0;
}

/*
 * Split a sweep's values at the commas outside brackets and quotes, so that [a, b] and "x,y" stay one
 * value each.
 */
int exp_sweep_parse(const char *text, int argn, struct exp_override **out)
{
	struct exp_override one, *list = NULL;
	const char *eq = strchr(text, '='), *p, *start;
	size_t nr = 0, alloc = 0;
	int depth = 0;
	char quote = 0;

	*out = NULL;
	if (exp_override_parse(&one, text, argn) < 0)
		return -1;
	exp_override_release(&one);
	for (start = p = eq + 1;; p++) {
		if (quote) {
			if (*p == quote)
				quote = 0;
			else if (!*p)
				break;
			continue;
		}
		if (*p == '"' || *p == '\'')
			quote = *p;
		else if (*p == '[' || *p == '{')
			depth++;
		else if ((*p == ']' || *p == '}') && depth)
			depth--;
		else if (!*p || (*p == ',' && !depth)) {
			struct strbuf sb = STRBUF_INIT;
			strbuf_add(&sb, text, (size_t)(eq + 1 - text));
			strbuf_add(&sb, start, (size_t)(p - start));
			ALLOC_GROW(list, nr + 1, alloc);
			exp_override_parse(&list[nr++], sb.buf, argn);
			strbuf_release(&sb);
			start = p + 1;
			if (!*p)
				break;
		}
	}
	if (quote) {
		while (nr)
			exp_override_release(&list[--nr]);
		free(list);
		return error("argument %d: an unclosed quote in '%s'", argn, text);
	}
	*out = list;
	return (int)nr;
}

/* ---- the path against the key table ---- */

static int is_index(const char *s)
{
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return 0;
	return 1;
}

/* The key of keys named name (or an alias), its id; -1 after reporting it unknown in where. */
static int find_key(const struct exp_override *o, struct diag *d, const struct exp_key *keys, size_t n,
		    const char *where, const char *name)
{
	struct src_pos pos = { o->arg, 0, 0 };
	const char *cands[32], *near[1], *home;
	size_t i;

	for (i = 0; i < n && i < 32; i++) {
		if (!strcmp(keys[i].name, name))
			return keys[i].id;
		cands[i] = keys[i].name;
	}
	home = exp_key_home(where, name);
	if (home)
		diag_error(d, pos, "unknown key '%s'%s%s%s: it is a key of %s", name, where ? " in '" : "",
			   where ? where : "", where ? "'" : "", home);
	else if (suggest_nearest(name, cands, i, near, 1))
		diag_error(d, pos, "unknown key '%s'%s%s%s; did you mean '%s'?", name, where ? " in '" : "",
			   where ? where : "", where ? "'" : "", near[0]);
	else
		diag_error(d, pos, "unknown key '%s'%s%s%s", name, where ? " in '" : "", where ? where : "",
			   where ? "'" : "");
	return -1;
}

static int too_deep(const struct exp_override *o, struct diag *d, size_t at)
{
	struct src_pos pos = { o->arg, 0, 0 };

	diag_error(d, pos, "'%s' is a value: it has no key '%s'", o->path[at - 1], o->path[at]);
	return -1;
}

/* A model's keys from path[at]: KEY, or layers.NAME[.KEY]. */
static int check_model(const struct exp_override *o, struct diag *d, size_t at)
{
	int id;

	if (at >= o->nr_path)
		return 0;
	if ((id = find_key(o, d, exp_model_keys, ARRAY_SIZE(exp_model_keys), "model", o->path[at])) < 0)
		return -1;
	if (id != M_LAYERS)
		return at + 1 < o->nr_path ? too_deep(o, d, at + 1) : 0;
	/* layers.NAME: a layer's module path, or its mapping's keys */
	if (at + 2 >= o->nr_path)
		return 0;
	if (find_key(o, d, exp_layer_keys, ARRAY_SIZE(exp_layer_keys) - 1, "layers", o->path[at + 2]) < 0)
		return -1;
	return at + 3 < o->nr_path ? too_deep(o, d, at + 3) : 0;
}

/*
 * Sections whose keys are checked here; the others (grid's exclude and zip, define's definitions, a
 * list of names' items and their parameters) take any path, and the front end checks what it reads.
 */
int exp_override_check(const struct exp_override *o, struct diag *d)
{
	static const struct {
		int id;
		const char *where;
		const struct exp_key *keys;
		size_t n;
	} sections[] = {
		{ T_DATA, "data", exp_data_keys, ARRAY_SIZE(exp_data_keys) },
		{ T_STATISTICS, "statistics", exp_statistics_keys, ARRAY_SIZE(exp_statistics_keys) },
		{ T_OUTPUTS, "outputs", exp_output_keys, ARRAY_SIZE(exp_output_keys) },
		{ T_GRID, "grid", exp_grid_keys, ARRAY_SIZE(exp_grid_keys) },
		{ T_DEFINE, "define", exp_define_keys, ARRAY_SIZE(exp_define_keys) },
	};
	struct src_pos pos = { o->arg, 0, 0 };
	size_t i;
	int id;

	if (!strcmp(o->path[0], "include")) {
		diag_error(d, pos, "'include' cannot be overridden: name the files in the spec");
		return -1;
	}
	if ((id = find_key(o, d, exp_top_keys, ARRAY_SIZE(exp_top_keys), NULL, o->path[0])) < 0)
		return -1;
	if (o->nr_path == 1)
		return 0;
	if (id == T_MODELS) /* models.NAME or models.INDEX, then a model's keys */
		return check_model(o, d, 2);
	for (i = 0; i < ARRAY_SIZE(sections); i++)
		if (sections[i].id == id)
			break;
	if (i == ARRAY_SIZE(sections)) {
		/* a list of names: an item by its index or name, and its parameters */
		if (exp_field_of(exp_top_fields, ARRAY_SIZE(exp_top_fields), id) &&
		    exp_field_of(exp_top_fields, ARRAY_SIZE(exp_top_fields), id)->type == EXP_FIELD_NAMES)
			return 0;
		return too_deep(o, d, 1);
	}
	if (find_key(o, d, sections[i].keys, sections[i].n, sections[i].where, o->path[1]) < 0)
		return -1;
	if (id == T_OUTPUTS && o->nr_path > 2 && strcmp(o->path[1], "figures") && strcmp(o->path[1], "figure"))
		return too_deep(o, d, 2);
	if (id == T_OUTPUTS && o->nr_path > 3 && is_index(o->path[2]) &&
	    find_key(o, d, exp_figure_keys, ARRAY_SIZE(exp_figure_keys), "figures", o->path[3]) < 0)
		return -1;
	if ((id == T_DATA || id == T_STATISTICS) && o->nr_path > 2)
		return too_deep(o, d, 2);
	return 0;
}

/* ---- sources ---- */

int experiment_add_source(struct experiment *e, const char *name, const char *what, const void *text,
			  size_t len, int parent, struct src_pos at)
{
	struct exp_source *s;

	ALLOC_GROW(e->sources, e->nr_sources + 1, e->alloc_sources);
	s = &e->sources[e->nr_sources];
	memset(s, 0, sizeof(*s));
	s->name = xstrdup(name);
	s->text = what ? xstrdup(what) : NULL;
	s->hash = text ? XXH64(text, len, 0) : 0;
	s->parent = parent;
	s->line = at.line;
	s->col = at.col;
	return (int)e->nr_sources++;
}

void experiment_sources_text(const struct experiment *e, const char *text, struct strbuf *out)
{
	size_t i;

	strbuf_addstr(out, text);
	if (e->nr_sources <= 1)
		return;
	if (out->len && out->buf[out->len - 1] != '\n')
		strbuf_addch(out, '\n');
	/* a comment in both languages' syntax would need two forms; '#' is what YAML and a reader expect */
	strbuf_addstr(out, "# camlab: this spec was read with\n");
	for (i = 1; i < e->nr_sources; i++) {
		const struct exp_source *s = &e->sources[i];
		if (s->text)
			strbuf_addf(out, "#   override %s: %s\n", s->name, s->text);
		else
			strbuf_addf(out, "#   include %s (xxh64 %016llx), from %s:%d:%d\n", s->name,
				    (unsigned long long)s->hash, e->sources[s->parent].name, s->line, s->col);
	}
}
