/*
 * lua_override.c - a Lua spec made of several files and the command line's overrides, as compose.c does
 * it for YAML: include("common/models.lua") runs another Lua file (sandboxed like the spec, its path
 * relative to the spec, a regular file of at most SPEC_MAX_BYTES, a cycle and nesting past
 * MAX_INCLUDE_DEPTH refused) and returns its table; the tables included are merged, in order, under the
 * experiment{} table, which wins key by key; then each override (override.h) is put at its path, its
 * value read as YAML reads one flow value and given as the Lua value a spec would write.
 *
 * Values from included files and overrides have no place in the spec's text: each is marked with the
 * source that wrote it (lua_pos.c's provenance, kept through the merge), so that an error about one points
 * into the included file, with the chain of includes, or at the override's argument, as in YAML.
 */
#include "dsl/lua_front.h"

#include <errno.h>
#include <lauxlib.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <yaml.h>

#include "dsl/override.h"
#include "lib/error.h"
#include "lib/fs.h"

#define SPEC_MAX_BYTES ((size_t)16 << 20) /* as lua.c */
#define MAX_INCLUDE_DEPTH LSPEC_MAX_INCLUDE_DEPTH

/*
 * The merge, in Lua: mappings key by key, models by name (a later mapping refines and extends, a later
 * list is the models in its order, an item naming an included model is that model refined), anything
 * else replaced.
 */
static const char merge_lua[] =
	"local spec, includes, keysrc, tablesrc = ...\n"
	"local function src(t, k) local ks = keysrc[t] return ks and ks[k] or tablesrc[t] or 0 end\n"
	"local function set(r, k, s) local ks = keysrc[r] if not ks then ks = {} keysrc[r] = ks end ks[k] = s end\n"
	"local function is_list(t) if type(t) ~= 'table' then return false end\n"
	"  local n = 0 for _ in pairs(t) do n = n + 1 end return n == #t and n > 0 end\n"
	"local function merge(a, b)\n"
	"  if type(a) ~= 'table' or type(b) ~= 'table' or is_list(a) or is_list(b) then return b end\n"
	"  local r = {} for k, v in pairs(a) do r[k] = v set(r, k, src(a, k)) end\n"
	"  for k, v in pairs(b) do r[k] = merge(r[k], v) set(r, k, src(b, k)) end return r end\n"
	"local function named(a, name)\n"
	"  if is_list(a) then for _, m in ipairs(a) do if type(m) == 'table' and m.name == name then return m end end\n"
	"  elseif type(a) == 'table' and type(a[name]) == 'table' then\n"
	"    local m = merge(a[name], {}) m.name = name set(m, 'name', src(a, name)) return m end end\n"
	"local function models(a, b)\n"
	"  if type(a) ~= 'table' or type(b) ~= 'table' then return b end\n"
	"  if not is_list(a) and not is_list(b) then return merge(a, b) end\n"
	"  local r = {}\n"
	"  if not is_list(b) then\n"
	"    for _, m in ipairs(a) do r[#r + 1] = type(m) == 'table' and b[m.name] and merge(m, b[m.name]) or m end\n"
	"    local keys = {} for k in pairs(b) do if not named(a, k) then keys[#keys + 1] = k end end\n"
	"    table.sort(keys) for _, k in ipairs(keys) do r[#r + 1] = named(b, k) end return r end\n"
	"  for _, m in ipairs(b) do\n"
	"    if type(m) == 'string' then\n"
	"      local found = named(a, m) if not found then error(\"no model '\" .. m .. \"' in the included files\", 0) end\n"
	"      r[#r + 1] = found\n"
	"    elseif type(m) == 'table' and m.name ~= nil and named(a, m.name) then r[#r + 1] = merge(named(a, m.name), m)\n"
	"    else r[#r + 1] = m end end\n"
	"  return r end\n"
	"local base = {}\n"
	"local function over(a, b)\n"
	"  local r = merge(a, b) local am, bm = a.models or a.model, b.models or b.model\n"
	"  if am ~= nil and bm ~= nil then r.model = nil r.models = models(am, bm)\n"
	"    set(r, 'models', src(b, b.models ~= nil and 'models' or 'model')) end return r end\n"
	"for _, t in ipairs(includes) do base = over(base, t) end\n"
	"return over(base, spec)\n";

/* As lua.c finds it: the allocator's ud is the context's memory cap, whose hit_ud is the context. */
static struct lua_ctx *ctx_of(lua_State *L)
{
	void *ud;
	lua_getallocf(L, &ud);
	return ((struct lua_cap *)ud)->hit_ud;
}

/* The folder of the file that calls include(): the innermost file being read, else the spec's. */
static char *resolve(struct lua_ctx *c, lua_State *L, const char *name)
{
	struct strbuf sb = STRBUF_INIT;
	const char *from = c->file, *slash;
	lua_Integer n;

	lua_getfield(L, LUA_REGISTRYINDEX, "camlab.reading");
	n = lua_istable(L, -1) ? (lua_Integer)lua_rawlen(L, -1) : 0;
	if (n) {
		lua_rawgeti(L, -1, n);
		from = lua_tostring(L, -1);
		lua_pop(L, 1);
	}
	slash = strrchr(from, '/');
	if (name[0] != '/' && slash)
		strbuf_add(&sb, from, (size_t)(slash - from + 1));
	strbuf_addstr(&sb, name);
	lua_pop(L, 1);
	return strbuf_detach(&sb, NULL);
}

/*
 * Where include() is called: the line of the calling chunk (the spec or an included file) and the column
 * where `include` is written on it, for the chain an error in the included file names.
 */
static struct src_pos include_call(struct lua_ctx *c, lua_State *L, lua_Integer depth)
{
	struct src_pos at = { NULL, c->last_line, 0 };
	const char *text = c->text;
	const size_t *lines = c->lines;
	size_t len = c->len, nr = c->nr_lines, start, b, e;
	lua_Debug ar;

	if (lua_getstack(L, 1, &ar) && lua_getinfo(L, "l", &ar) && ar.currentline > 0)
		at.line = ar.currentline;
	if (depth) {
		const struct lspec_src *s = &c->srcs[c->reading[depth] - 1];
		text = s->text;
		lines = s->lines;
		len = s->len;
		nr = s->nr_lines;
	}
	if (at.line < 1 || (size_t)at.line > nr)
		return at;
	start = b = lines[at.line - 1];
	e = (size_t)at.line < nr ? lines[at.line] : len;
	for (; b + 7 <= e; b++)
		if (!memcmp(text + b, "include", 7) && (b == start || !lspec_ident_char((unsigned char)text[b - 1]))) {
			at.col = (int)(b - start) + 1;
			break;
		}
	return at;
}

/* include("file.lua"): run it, keep its table for the merge under experiment{}, and return it. */
static int l_include(lua_State *L)
{
	struct lua_ctx *c = ctx_of(L);
	const char *name = luaL_checkstring(L, 1);
	char *path = resolve(c, L, name), *real;
	struct strbuf sb = STRBUF_INIT, chunk = STRBUF_INIT;
	struct stat st;
	lua_Integer depth, i;
	int ret, parent = 0, esrc, k;

	lua_settop(L, 1);
	lua_getfield(L, LUA_REGISTRYINDEX, "camlab.reading");
	if (!lua_istable(L, 2)) {
		lua_pop(L, 1);
		lua_newtable(L);
		lua_pushvalue(L, -1);
		lua_setfield(L, LUA_REGISTRYINDEX, "camlab.reading");
	}
	depth = (lua_Integer)lua_rawlen(L, 2);
	lua_pushstring(L, path);
	free(path);
	path = (char *)lua_tostring(L, 3); /* kept alive on the stack */
	if (depth >= MAX_INCLUDE_DEPTH)
		return luaL_error(L, "includes nested more than %d deep", MAX_INCLUDE_DEPTH);
	if (stat(path, &st) < 0)
		return luaL_error(L, "cannot include '%s': %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return luaL_error(L, "cannot include '%s': not a regular file", path);
	real = realpath(path, NULL);
	lua_getfield(L, LUA_REGISTRYINDEX, "camlab.real");
	if (!lua_istable(L, -1)) {
		lua_pop(L, 1);
		lua_newtable(L);
		lua_pushvalue(L, -1);
		lua_setfield(L, LUA_REGISTRYINDEX, "camlab.real");
	}
	for (i = 1; real && i <= depth; i++) {
		int same;
		lua_rawgeti(L, -1, i);
		same = lua_isstring(L, -1) && !strcmp(lua_tostring(L, -1), real);
		lua_pop(L, 1);
		if (same) {
			free(real);
			return luaL_error(L, "include cycle: '%s' is being read", path);
		}
	}
	lua_pushstring(L, real ? real : path);
	lua_rawseti(L, -2, depth + 1);
	free(real);
	lua_pop(L, 1);
	error_set_quiet(1);
	ret = read_file(path, SPEC_MAX_BYTES, &sb);
	error_set_quiet(0);
	if (ret < 0) {
		strbuf_release(&sb);
		return luaL_error(L, "cannot include '%s': %s", path, strerror(errno));
	}
	if (!c->e->nr_sources)
		experiment_add_source(c->e, c->file, NULL, c->text, c->len, -1, (struct src_pos){ NULL, 0, 0 });
	if (depth) /* the including file: the one being read at the depth above */
		parent = c->srcs[c->reading[depth] - 1].esrc;
	esrc = experiment_add_source(c->e, path, NULL, sb.buf, sb.len, parent, include_call(c, L, depth));
	k = lspec_add_src(c, c->e->sources[esrc].name, esrc, sb.buf, sb.len);
	c->reading[depth + 1] = k;
	strbuf_addf(&chunk, "@%s", path);
	ret = luaL_loadbufferx(L, sb.buf, sb.len, chunk.buf, "t");
	strbuf_release(&sb);
	strbuf_release(&chunk);
	if (ret != LUA_OK)
		return lua_error(L);
	lua_pushvalue(L, 3);
	lua_rawseti(L, 2, depth + 1);
	lua_call(L, 0, 1);
	lua_pushnil(L);
	lua_rawseti(L, 2, depth + 1);
	if (!lua_istable(L, -1))
		return luaL_error(L, "'%s' returns no table: an included file ends with return { ... }", path);
	lspec_mark_table(L, -1, k);
	lua_getfield(L, LUA_REGISTRYINDEX, "camlab.includes");
	if (!lua_istable(L, -1)) {
		lua_pop(L, 1);
		lua_newtable(L);
		lua_pushvalue(L, -1);
		lua_setfield(L, LUA_REGISTRYINDEX, "camlab.includes");
	}
	lua_pushvalue(L, -2);
	lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
	lua_pop(L, 1);
	return 1;
}

void lspec_open_include(lua_State *L)
{
	lua_pushcfunction(L, l_include);
	lua_setglobal(L, "include");
}

/* ---- overrides ---- */

static int is_null(const char *s)
{
	return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") || !strcmp(s, "NULL");
}

/* A YAML node as the Lua value a spec would write: a plain scalar that reads as a number is one. */
static void push_node(lua_State *L, yaml_document_t *doc, yaml_node_t *n, int depth)
{
	luaL_checkstack(L, 4, "override");
	if (!n || depth > SPEC_MAX_DEPTH) {
		lua_pushnil(L);
	} else if (n->type == YAML_SCALAR_NODE) {
		const char *s = (const char *)n->data.scalar.value;
		char *end;
		long long i;
		double x;
		if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) {
			lua_pushlstring(L, s, n->data.scalar.length);
		} else if (is_null(s)) {
			lua_pushnil(L);
		} else if (!strcasecmp(s, "true") || !strcasecmp(s, "yes") || !strcasecmp(s, "on")) {
			lua_pushboolean(L, 1); /* as docs/language.md's booleans */
		} else if (!strcasecmp(s, "false") || !strcasecmp(s, "no") || !strcasecmp(s, "off")) {
			lua_pushboolean(L, 0);
		} else if (errno = 0, i = strtoll(s, &end, 10), !*end && !errno && end != s) {
			lua_pushinteger(L, (lua_Integer)i);
		} else if (x = strtod(s, &end), !*end && end != s) {
			lua_pushnumber(L, x);
		} else {
			lua_pushlstring(L, s, n->data.scalar.length);
		}
	} else if (n->type == YAML_SEQUENCE_NODE) {
		yaml_node_item_t *it;
		lua_Integer k = 0;
		lua_newtable(L);
		for (it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
			push_node(L, doc, yaml_document_get_node(doc, *it), depth + 1);
			lua_rawseti(L, -2, ++k);
		}
	} else {
		yaml_node_pair_t *p;
		lua_newtable(L);
		for (p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
			push_node(L, doc, yaml_document_get_node(doc, p->key), depth + 1);
			push_node(L, doc, yaml_document_get_node(doc, p->value), depth + 1);
			if (lua_isnil(L, -2))
				lua_pop(L, 2);
			else
				lua_rawset(L, -3);
		}
	}
}

/* The override's value on the stack: 0, or -1 after an error at the argument. */
static int push_value(struct lua_ctx *c, lua_State *L, const struct exp_override *o, const char *arg)
{
	struct src_pos pos = { arg, 0, 0 };
	yaml_parser_t parser;
	yaml_document_t doc;

	if (!yaml_parser_initialize(&parser)) {
		diag_error(c->d, pos, "out of memory reading the value");
		return -1;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)o->value, strlen(o->value));
	if (!yaml_parser_load(&parser, &doc)) {
		diag_error(c->d, pos, "cannot read the value '%s': %s", o->value,
			   parser.problem ? parser.problem : "not YAML");
		yaml_parser_delete(&parser);
		return -1;
	}
	push_node(L, &doc, yaml_document_get_root_node(&doc), 0);
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	return 0;
}

/* In the table at t, the item of a list that seg names (its index from 0, its name) pushed: 0, or -1. */
static int push_item(lua_State *L, int t, const char *seg)
{
	lua_Integer i, n = (lua_Integer)lua_rawlen(L, t);
	char *end;
	long long k = strtoll(seg, &end, 10);

	if (!*end && end != seg && k >= 0 && k < n) {
		lua_pushinteger(L, k + 1);
		return 0;
	}
	for (i = 1; i <= n; i++) {
		int found;
		lua_rawgeti(L, t, i);
		if (lua_istable(L, -1))
			lua_getfield(L, -1, "name");
		else
			lua_pushvalue(L, -1);
		found = lua_type(L, -1) == LUA_TSTRING && !strcmp(lua_tostring(L, -1), seg);
		lua_pop(L, 2);
		if (found) {
			lua_pushinteger(L, i);
			return 0;
		}
	}
	return -1;
}

/*
 * Put override o at its path in the table at t; what it sets is marked as source k's (lua_pos.c), so that
 * an error about its value points at the argument, arg.
 */
static void apply(struct lua_ctx *c, lua_State *L, int t, const struct exp_override *o, const char *arg, int k)
{
	struct src_pos pos = { arg, 0, 0 };
	int top = lua_gettop(L), cur = t;
	size_t i;

	if (push_value(c, L, o, arg) < 0)
		return;
	lspec_mark_table(L, top + 1, k);
	for (i = 0; i < o->nr_path; i++) {
		int last = i + 1 == o->nr_path, item = 0;
		if (lspec_is_list(L, cur) && lua_rawlen(L, cur) > 0) {
			item = 1;
			if (push_item(L, cur, o->path[i]) < 0) {
				diag_error(c->d, pos, "no item '%s' in '%s' (%zu items): name one by its name or its index",
					   o->path[i], i ? o->path[i - 1] : "the spec", (size_t)lua_rawlen(L, cur));
				break;
			}
		} else {
			lua_pushstring(L, o->path[i]);
		}
		if (last) {
			lua_pushvalue(L, top + 1);
			lua_rawset(L, cur);
			if (!item)
				lspec_set_src(L, cur, o->path[i], k);
			break;
		}
		lua_pushvalue(L, -1);
		if (lua_rawget(L, cur) != LUA_TTABLE) {
			if (!lua_isnil(L, -1)) {
				diag_error(c->d, pos, "'%s' is a value, not a table: it has no '%s'", o->path[i],
					   o->path[i + 1]);
				break;
			}
			lua_pop(L, 1);
			lua_newtable(L);
			lua_pushvalue(L, -2);
			lua_pushvalue(L, -2);
			lua_rawset(L, cur);
			lspec_mark_table(L, -1, k);
			if (!item)
				lspec_set_src(L, cur, o->path[i], k);
		}
		cur = lua_gettop(L);
	}
	lua_settop(L, top);
}

void lspec_compose(struct lua_ctx *c, lua_State *L, int t)
{
	struct experiment *e = c->e;
	size_t i;

	t = lua_absindex(L, t);
	lua_getfield(L, LUA_REGISTRYINDEX, "camlab.includes");
	if (lua_istable(L, -1)) {
		if (luaL_loadbufferx(L, merge_lua, sizeof(merge_lua) - 1, "=merge", "t") != LUA_OK)
			lua_error(L);
		lua_pushvalue(L, t);
		lua_pushvalue(L, -3);
		lspec_push_provenance(L);
		lua_call(L, 4, 1);
		lua_replace(L, t);
	}
	lua_pop(L, 1);
	if (e->nr_overrides && !e->nr_sources)
		experiment_add_source(e, c->file, NULL, c->text, c->len, -1, (struct src_pos){ NULL, 0, 0 });
	for (i = 0; i < e->nr_overrides; i++) {
		int at = experiment_add_source(e, e->overrides[i].arg, e->overrides[i].text, NULL, 0, -1,
					       (struct src_pos){ NULL, 0, 0 });
		apply(c, L, t, &e->overrides[i], e->sources[at].name,
		      lspec_add_src(c, e->sources[at].name, at, NULL, 0));
	}
}
