/*
 * lua_define.c - user definitions in a Lua spec: method(name, fn) and friends, and
 * define = { methods = { name = code } }, kept as source for the runner's Lua state.
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

/* ---------------------------------------------------------------------------------------------------
 * User definitions: method(name, fn) and friends, and define = { methods = { name = code } }.
 */


static void add_def(struct lua_ctx *c, enum exp_def_kind kind, const char *name, char *lua, struct src_pos pos)
{
	struct experiment *e = c->e;
	struct exp_def *df;

	e->defs = xrealloc(e->defs, (e->nr_defs + 1) * sizeof(*e->defs));
	df = &e->defs[e->nr_defs++];
	df->kind = kind;
	df->name = xstrdup(name);
	df->lua = lua;
	df->pos = pos;
}

struct dump_state {
	int init;
	luaL_Buffer b;
};

/* As string.dump does: the buffer starts on the first write, since luaL_buffinit pushes onto the stack */
static int dump_writer(lua_State *L, const void *p, size_t sz, void *ud)
{
	struct dump_state *st = ud;
	if (!st->init) {
		st->init = 1;
		luaL_buffinit(L, &st->b);
	}
	luaL_addlstring(&st->b, p, sz);
	return 0;
}

/* Push the stripped bytecode of the function at index f ("" if it has none). */
static void push_dump(lua_State *L, int f)
{
	struct dump_state st;
	st.init = 0;
	lua_pushvalue(L, f);
	lua_dump(L, dump_writer, &st, 1);
	if (st.init)
		luaL_pushresult(&st.b);
	else
		lua_pushliteral(L, "");
	lua_remove(L, -2);
}

/*
 * The source of the Lua function at index f, as a chunk that returns it ("return function(A, G, HA)
 * ... end", the form of YAML's inline code). Lua keeps only the lines a function spans, so every
 * `function` keyword on its first line and every `end` on its last are tried (a named `function f(...)`
 * loses its name), and the candidate whose stripped bytecode equals the function's own is the one.
 * Returns NULL if none matches.
 */
static char *function_source(struct lua_ctx *c, lua_State *L, int f, int *line, int *col)
{
	lua_Debug ar;
	size_t a, a_end, b, b_end, p, q;
	char *out = NULL;
	int top = lua_gettop(L);

	lua_pushvalue(L, f);
	if (!lua_getinfo(L, ">S", &ar) || strcmp(ar.source, c->source) || ar.linedefined < 1 ||
	    ar.lastlinedefined < ar.linedefined || (size_t)ar.lastlinedefined > c->nr_lines)
		return NULL;
	*line = ar.linedefined;
	a = lspec_line_off(c, ar.linedefined);
	a_end = (size_t)ar.linedefined < c->nr_lines ? lspec_line_off(c, ar.linedefined + 1) : c->len;
	b = lspec_line_off(c, ar.lastlinedefined);
	b_end = (size_t)ar.lastlinedefined < c->nr_lines ? lspec_line_off(c, ar.lastlinedefined + 1) : c->len;
	push_dump(L, f);
	for (p = a; p < a_end && !out; p++) {
		size_t body;
		if (!lspec_keyword_at(c, p, "function"))
			continue;
		/* skip a name: function t.f(...) */
		for (body = p + 8; body < a_end && (isspace((unsigned char)c->text[body]) ||
						    lspec_ident_char((unsigned char)c->text[body]) || c->text[body] == '.');
		     body++)
			;
		if (body >= c->len || c->text[body] != '(')
			continue;
		for (q = b_end; q-- > b && !out;) {
			luaL_Buffer buf;
			int i;
			if (q + 3 <= body || !lspec_keyword_at(c, q, "end"))
				continue;
			luaL_buffinit(L, &buf);
			for (i = 1; i < ar.linedefined; i++)
				luaL_addchar(&buf, '\n'); /* the same line numbers, which the dump keeps */
			luaL_addstring(&buf, "return function");
			luaL_addlstring(&buf, c->text + body, q + 3 - body);
			luaL_pushresult(&buf);
			if (luaL_loadbufferx(L, lua_tostring(L, -1), lua_rawlen(L, -1), c->source, "t") == LUA_OK &&
			    lua_pcall(L, 0, 1, 0) == LUA_OK && lua_type(L, -1) == LUA_TFUNCTION) {
				push_dump(L, lua_gettop(L));
				if (lua_rawequal(L, -1, top + 1)) {
					struct strbuf sb = STRBUF_INIT;
					strbuf_addstr(&sb, "return function");
					strbuf_add(&sb, c->text + body, q + 3 - body);
					out = strbuf_detach(&sb, NULL);
					*col = (int)(p - a) + 1;
				}
			}
			lua_settop(L, top + 1);
		}
	}
	lua_settop(L, top);
	return out;
}

/*
 * A definition runs later, in the runner's Lua state, from its own source alone: it may use globals and
 * camlab's bindings but not the spec's local variables.
 */
void lspec_define_function(struct lua_ctx *c, lua_State *L, enum exp_def_kind kind, const char *name, int f,
			    struct src_pos pos)
{
	const char *up;
	char *src;
	int i, line = pos.line, col = 0;

	if (lua_type(L, f) != LUA_TFUNCTION || lua_iscfunction(L, f)) {
		diag_error(c->d, pos, "%s '%s': expected a Lua function, not %s", exp_def_kind_names[kind], name,
			   lua_iscfunction(L, f) ? "a built-in function" : luaL_typename(L, f));
		return;
	}
	for (i = 1; (up = lua_getupvalue(L, f, i)); i++) {
		lua_pop(L, 1);
		if (*up && strcmp(up, "_ENV")) {
			diag_error(c->d, pos,
				   "%s '%s' uses '%s', a local variable of the spec; a definition must stand "
				   "alone, "
				   "since it runs apart from the spec, without its variables (move '%s' "
				   "inside the "
				   "function)",
				   exp_def_kind_names[kind], name, up, up);
			return;
		}
	}
	src = function_source(c, L, f, &line, &col);
	if (!src) {
		diag_error(c->d, pos, "cannot find the source of %s '%s': write it as %s(\"%s\", function(...) ... end)",
			   exp_def_kind_names[kind], name, exp_def_kind_names[kind], name);
		return;
	}
	pos.line = line;
	pos.col = col;
	add_def(c, kind, name, src, pos);
}

void lspec_get_define(struct lua_ctx *c, lua_State *L, int v, const struct where *w)
{
	struct where f;
	int kind;
	size_t i;

	v = lua_absindex(L, v);

	if (!lspec_is_mapping(L, v)) {
		lspec_type_error(c, L, v, w, "a mapping with 'methods', 'utilities' or 'metrics'");
		return;
	}
	lspec_check_keys(c, L, v, "define", exp_define_keys, ARRAY_SIZE(exp_define_keys), w);
	for (kind = 0; kind < 3; kind++) {
		struct keylist *kl;
		if (lspec_field(c, L, v, exp_define_keys, ARRAY_SIZE(exp_define_keys), kind, w, &f) == LUA_TNIL) {
			lua_pop(L, 1);
			continue;
		}
		if (!lspec_is_mapping(L, -1)) {
			lspec_type_error(c, L, -1, &f, "a mapping of names to Lua code");
			lua_pop(L, 1);
			continue;
		}
		if (!(kl = lspec_sorted_keys(c, L, lua_gettop(L), &f, "a name"))) {
			lua_pop(L, 1);
			continue;
		}
		for (i = 0; i < kl->nr; i++) {
			struct where item;
			const char *name = kl->v[i];
			lua_pushstring(L, name);
			lua_rawget(L, -2);
			item.key = name;
			item.pos = lspec_key_in(c, L, -2, name, f.off, &item.off);
			if (lua_type(L, -1) == LUA_TSTRING)
				add_def(c, (enum exp_def_kind)kind, name, xstrdup(lua_tostring(L, -1)), item.pos);
			else if (lua_type(L, -1) == LUA_TFUNCTION)
				lspec_define_function(c, L, (enum exp_def_kind)kind, name, lua_gettop(L), item.pos);
			else
				lspec_type_error(c, L, -1, &item, "Lua code (a string) or a function");
			lua_pop(L, 1);
		}
		c->depth--;
		lua_pop(L, 1);
	}
}

