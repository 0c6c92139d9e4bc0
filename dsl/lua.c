/*
 * lua.c - the Lua front end (see front.h): runs a spec in a fresh, sandboxed Lua 5.4 state and turns the
 * table given to experiment{} into the IR, exactly as the YAML front end reads the same keys. Lua keeps
 * no positions for table fields, so the position of a key, and of each item of a list written as a table
 * constructor, is found by scanning the spec's text.
 */
#include "dsl/front.h"
#include "dsl/lua_front.h"
#include "dsl/keys.h"
#include "dsl/reader.h"
#include "dsl/sandbox.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "cam/model.h"
#include "lib/strbuf.h"
#include "lib/suggest.h"
#include "lib/xalloc.h"

/*
 * The limits of a spec run. A spec only builds a table, so these are generous for any honest spec and
 * stop a runaway one within a fraction of a second.
 */
#define LUA_MEM_CAP ((size_t)64 << 20)	/* bytes the Lua state may hold */
#define LUA_BUDGET 10000000L		/* VM instructions */
#define LUA_SECONDS 10.0		/* wall clock (CAMLAB_LUA_SECONDS), for what C functions do */
#define LUA_HOOK_EVERY 1000		/* instructions between two budget checks */

/* The context of a state: its allocator's ud is the context's memory cap, whose hit_ud is the context. */
static struct lua_ctx *ctx_of(lua_State *L)
{
	void *ud;
	lua_getallocf(L, &ud);
	return ((struct lua_cap *)ud)->hit_ud;
}

/* ---------------------------------------------------------------------------------------------------
 * Limits: a memory cap on top of xalloc_lua, and an instruction budget counted by a hook.
 */

static int spec_line(lua_State *L, int level);

/* The first refused allocation: reading the stack allocates nothing, and the state is consistent. */
static void mem_refused(void *ud)
{
	struct lua_ctx *c = ud;
	if (c->L)
		c->mem_line = spec_line(c->L, 0);
}

static int in_spec(const struct lua_ctx *c, const lua_Debug *ar)
{
	return ar->source && !strcmp(ar->source, c->source) && ar->currentline > 0;
}

/*
 * Once the budget is spent the hook fires on every instruction, so a spec that catches the error with
 * pcall fails again at its next instruction, up to the unprotected top.
 */
static void budget_hook(lua_State *L, lua_Debug *ar)
{
	struct lua_ctx *c = ctx_of(L);

	if (lua_getinfo(L, "Sl", ar) && in_spec(c, ar))
		c->last_line = ar->currentline;
	if (c->over_budget) {
		luaL_error(L, "%s", sandbox_call_message(&c->call));
		return;
	}
	if (!sandbox_call_tick(&c->call, L))
		return;
	c->over_budget = 1;
	c->budget_line = c->last_line;
	luaL_error(L, "%s", sandbox_call_message(&c->call));
}

/* The line of the innermost frame running the spec's own code (not a load()ed chunk, not C), or 0. */
static int spec_line(lua_State *L, int level)
{
	struct lua_ctx *c = ctx_of(L);
	lua_Debug ar;

	for (; lua_getstack(L, level, &ar); level++)
		if (lua_getinfo(L, "Sl", &ar) && in_spec(c, &ar))
			return ar.currentline;
	return 0;
}

static int msg_handler(lua_State *L)
{
	ctx_of(L)->err_line = spec_line(L, 1);
	return 1;
}

static int l_define(lua_State *L)
{
	struct lua_ctx *c = ctx_of(L);
	enum exp_def_kind kind = (enum exp_def_kind)lua_tointeger(L, lua_upvalueindex(1));
	struct src_pos pos = lspec_pos_line(c, spec_line(L, 1));

	if (lua_type(L, 1) != LUA_TSTRING || lua_type(L, 2) != LUA_TFUNCTION) {
		diag_error(c->d, pos, "%s expects a name and a function: %s(\"name\", function(...) ... end)",
			   exp_def_kind_names[kind], exp_def_kind_names[kind]);
		return 0;
	}
	lspec_define_function(c, L, kind, lua_tostring(L, 1), 2, pos);
	return 0;
}

/* define = { methods = { name = "return function(A, G, HA) ... end" or function(A, G, HA) ... end } } */
/*
 * Lua strings may hold NUL bytes, which C strings cannot: a name would be cut there silently. Report each
 * string key or value of the spec's table t that holds one (as the YAML front end does), at the call of
 * experiment{}. The walk stops at SPEC_MAX_DEPTH, which also ends a table that holds itself.
 */
static void check_nul(struct lua_ctx *c, lua_State *L, int t, struct src_pos pos, int depth)
{
	int i;

	if (depth > SPEC_MAX_DEPTH || !lua_checkstack(L, 4))
		return;
	lua_pushnil(L);
	while (lua_next(L, t)) {
		for (i = -2; i <= -1; i++) {
			size_t len;
			const char *str;
			if (lua_type(L, i) != LUA_TSTRING)
				continue;
			str = lua_tolstring(L, i, &len);
			if (strlen(str) != len)
				diag_error(c->d, pos, "a NUL character (\\0) in '%s...': strings cannot hold one", str);
		}
		if (lua_type(L, -1) == LUA_TTABLE)
			check_nul(c, L, lua_gettop(L), pos, depth + 1);
		lua_pop(L, 1);
	}
}

static int l_experiment(lua_State *L)
{
	struct lua_ctx *c = ctx_of(L);
	int line = spec_line(L, 1);

	if (c->called) {
		diag_error(c->d, lspec_pos_line(c, line), "experiment{} is called a second time (first at line %d)",
			   c->call_line);
		return 0;
	}
	c->called = 1;
	c->call_line = line;
	c->call_off = lspec_line_off(c, line);
	if (lua_gettop(L) != 1 || lua_type(L, 1) != LUA_TTABLE) {
		diag_error(c->d, lspec_pos_line(c, line), "experiment expects one table: experiment { name = ..., ... }");
		return 0;
	}
	lspec_compose(c, L, 1);
	check_nul(c, L, 1, lspec_pos_line(c, line), 1);
	lspec_convert_experiment(c, L, 1);
	return 0;
}

/* ---------------------------------------------------------------------------------------------------
 * The sandbox.
 */

/* range(a, b [, step]): the list a, a + step, ..., up to b. */
static int l_range(lua_State *L)
{
	lua_Integer a = luaL_checkinteger(L, 1), b = luaL_checkinteger(L, 2), step = luaL_optinteger(L, 3, 1);
	lua_Integer n = 0, x;

	luaL_argcheck(L, step != 0, 3, "step must not be 0");
	lua_createtable(L, 0, 0);
	for (x = a; step > 0 ? x <= b : x >= b; x += step) {
		lua_pushinteger(L, x);
		lua_rawseti(L, -2, ++n);
		if ((step > 0 && x > LUA_MAXINTEGER - step) || (step < 0 && x < LUA_MININTEGER - step))
			break;
	}
	return 1;
}

/* load() for text only: a binary chunk could break the VM's invariants. */
static int l_load(lua_State *L)
{
	const char *mode = luaL_optstring(L, 3, "t");
	int n = lua_gettop(L);

	if (strcmp(mode, "t"))
		return luaL_error(L, "load: only text chunks are allowed in a spec (mode \"t\")");
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 1);
	lua_settop(L, n < 3 ? 4 : n + 1);
	lua_pushliteral(L, "t");
	lua_replace(L, 4);
	lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
	return lua_gettop(L);
}

/* print() to stderr: a spec's stdout belongs to camlab's own output. */
static int l_print(lua_State *L)
{
	int i, n = lua_gettop(L);
	for (i = 1; i <= n; i++) {
		size_t len;
		const char *s = luaL_tolstring(L, i, &len);
		if (i > 1)
			fputc('\t', stderr);
		fwrite(s, 1, len, stderr);
		lua_pop(L, 1);
	}
	fputc('\n', stderr);
	return 0;
}

static int l_env(lua_State *L)
{
	const char *v = getenv(luaL_checkstring(L, 1));
	if (v)
		lua_pushstring(L, v);
	else
		lua_pushnil(L);
	return 1;
}

static void open_sandbox(struct lua_ctx *c, lua_State *L)
{
	int kind;

	if (c->allow_unsafe) {
		luaL_openlibs(L);
		sandbox_guard_patterns(L); /* trusted, but a hang is still a hang */
		lua_pushcfunction(L, l_env);
		lua_setglobal(L, "env");
	} else {
		sandbox_open(L);
		lua_getglobal(L, "load");
		lua_pushcclosure(L, l_load, 1);
		lua_setglobal(L, "load");
		lua_pushcfunction(L, l_print);
		lua_setglobal(L, "print");
	}
	/* the same spec builds the same IR on every run */
	lua_getglobal(L, "math");
	lua_getfield(L, -1, "randomseed");
	lua_pushinteger(L, 0);
	lua_call(L, 1, 0);
	lua_pop(L, 1);

	lua_pushcfunction(L, l_experiment);
	lua_setglobal(L, "experiment");
	for (kind = 0; kind < 3; kind++) {
		lua_pushinteger(L, kind);
		lua_pushcclosure(L, l_define, 1);
		lua_setglobal(L, exp_def_kind_names[kind]);
	}
	lua_pushcfunction(L, l_range);
	lua_setglobal(L, "range");
	lspec_open_include(L);
}

/* "<short_src>:<line>: message" -> message, with the line. */
static const char *strip_where(const struct lua_ctx *c, const char *msg, int *line)
{
	size_t n = strlen(c->short_src);
	const char *p;
	long l = 0;

	if (strncmp(msg, c->short_src, n) || msg[n] != ':' || !isdigit((unsigned char)msg[n + 1]))
		return msg;
	for (p = msg + n + 1; isdigit((unsigned char)*p); p++)
		l = l < 100000000 ? l * 10 + (*p - '0') : l;
	if (*p != ':')
		return msg;
	if (line && !*line)
		*line = (int)l;
	p++;
	while (*p == ' ')
		p++;
	return p;
}

/*
 * Lua's parser recurses once per nested bracket or block and stops near 200 levels with "C stack
 * overflow", which says neither where nor why. Brackets are counted first, so that a spec nested past
 * SPEC_MAX_DEPTH is an error at the bracket that passes it; *deepest is the offset of the first bracket
 * at the greatest depth, where Lua's own message is placed.
 */
static int check_depth(struct lua_ctx *c, size_t *deepest)
{
	size_t i = 0;
	int depth = 0, max = 0;

	*deepest = 0;
	while (i < c->len) {
		size_t j = lspec_skip_literal(c, i);
		char ch;
		if (j != i) {
			i = j;
			continue;
		}
		ch = c->text[i];
		if (ch == '{' || ch == '(' || ch == '[') {
			if (++depth > SPEC_MAX_DEPTH) {
				diag_error(c->d, lspec_pos_at(c, i),
					   "tables and brackets nested deeper than %d levels", SPEC_MAX_DEPTH);
				return -1;
			}
			if (depth > max) {
				max = depth;
				*deepest = i;
			}
		} else if ((ch == '}' || ch == ')' || ch == ']') && depth > 0) {
			depth--;
		}
		i++;
	}
	return 0;
}

static void report_error(struct lua_ctx *c, lua_State *L, int status)
{
	int line = c->err_line;
	const char *msg;

	if (c->over_budget) {
		diag_error(c->d, lspec_pos_line(c, c->budget_line), "%s", sandbox_call_message(&c->call));
		return;
	}
	if (status == LUA_ERRMEM || (c->mem.hit && status == LUA_ERRERR)) {
		int at = c->mem_line ? c->mem_line : c->last_line;
		if (!c->mem.hit)
			diag_error(c->d, lspec_pos_line(c, at), "out of memory running the spec");
		else if (c->mem.cap % ((size_t)1 << 20) == 0)
			diag_error(c->d, lspec_pos_line(c, at), "memory cap of %zu MiB exceeded", c->mem.cap >> 20);
		else
			diag_error(c->d, lspec_pos_line(c, at), "memory cap of %zu bytes exceeded", c->mem.cap);
		return;
	}
	if (lua_type(L, -1) == LUA_TSTRING) {
		static const char *const closed[] = { "(global 'io')", "(global 'os')",
						      "(global 'require')" };
		const char *hint = "";
		size_t i;
		msg = strip_where(c, lua_tostring(L, -1), &line);
		/* the sandbox's libraries look like a typo to someone who has not read about it */
		for (i = 0; i < sizeof(closed) / sizeof(*closed) && !c->allow_unsafe; i++)
			if (strstr(msg, closed[i]))
				hint = " (io, os and require are closed to specs unless camlab is given "
				       "--allow-unsafe)";
		diag_error(c->d, lspec_pos_line(c, line), "%s%s", msg, hint);
	} else {
		diag_error(c->d, lspec_pos_line(c, line), "error object is %s, not a message", luaL_typename(L, -1));
	}
}

/*
 * The identifiers of the Lua source src, by kind, into the tables at own and reads: a name declared local
 * (or a for variable, or a named function) or assigned (name = ...) is the source's own; any other name
 * that is not a field (t.name, t:name) is read. A guess from the text, good enough for a warning; one
 * pass, so that its cost is the source's length.
 */
static void scan_names(lua_State *L, const char *src, int own, int reads)
{
	struct lua_ctx t;
	size_t i = 0, j, k;

	memset(&t, 0, sizeof(t));
	t.text = (char *)src;
	t.len = strlen(src);
	while (i < t.len) {
		int mine = 0;
		if ((j = lspec_skip_literal(&t, i)) != i) {
			i = j;
			continue;
		}
		if (!lspec_ident_char((unsigned char)src[i]) || isdigit((unsigned char)src[i])) {
			i++;
			continue;
		}
		for (j = i; j < t.len && lspec_ident_char((unsigned char)src[j]); j++)
			;
		for (k = i; k > 0 && isspace((unsigned char)src[k - 1]); k--)
			;
		if (k > 0 && (src[k - 1] == ':' || (src[k - 1] == '.' && (k < 2 || src[k - 2] != '.')))) {
			i = j;
			continue; /* a field */
		}
		if ((k >= 5 && lspec_keyword_at(&t, k - 5, "local")) || (k >= 3 && lspec_keyword_at(&t, k - 3, "for")) ||
		    (k >= 8 && lspec_keyword_at(&t, k - 8, "function")))
			mine = 1;
		for (k = j; k < t.len && isspace((unsigned char)src[k]); k++)
			;
		if (k < t.len && src[k] == '=' && (k + 1 >= t.len || src[k + 1] != '='))
			mine = 1;
		lua_pushlstring(L, src + i, j - i);
		lua_pushboolean(L, 1);
		lua_rawset(L, mine ? own : reads);
		i = j;
	}
}

/* Does the table at t hold the key at the top of L's stack (raw)? */
static int has_key(lua_State *L, int t)
{
	int found;
	lua_pushvalue(L, -1);
	found = lua_rawget(L, t) != LUA_TNIL;
	lua_pop(L, 1);
	return found;
}

/*
 * A definition runs apart from the spec (interp/luacam.h), where the spec's globals do not exist: a
 * definition that reads one passes check and then fails, or reads nil, when it runs. Warn at check time.
 * Builtins (the registry's camlab.builtins) are the globals the sandbox set before the spec ran.
 */
static void warn_spec_globals(struct lua_ctx *c, lua_State *L)
{
	int top = lua_gettop(L), builtins, globals, own, reads;
	size_t i;

	lua_getfield(L, LUA_REGISTRYINDEX, "camlab.builtins");
	builtins = lua_gettop(L);
	lua_pushglobaltable(L);
	globals = lua_gettop(L);
	for (i = 0; i < c->e->nr_defs; i++) {
		const struct exp_def *df = &c->e->defs[i];
		if (!df->lua)
			continue;
		lua_newtable(L);
		own = lua_gettop(L);
		lua_newtable(L);
		reads = lua_gettop(L);
		scan_names(L, df->lua, own, reads);
		lua_pushnil(L);
		while (lua_next(L, reads)) {
			const char *name;
			lua_pop(L, 1);
			if (has_key(L, own) || has_key(L, builtins) || !has_key(L, globals))
				continue;
			name = lua_tostring(L, -1);
			diag_warning(c->d, df->pos,
				     "%s '%s' reads '%s', a global the spec sets: a definition runs apart from "
				     "the spec and sees only camlab's built-ins, so '%s' is nil there (set it "
				     "inside the definition)",
				     exp_def_kind_names[df->kind], df->name ? df->name : "", name, name);
		}
		lua_settop(L, globals);
	}
	lua_settop(L, top);
}

/* Runs protected: the sandbox, the spec, then the experiment{} table's conversion (in the call). */
static int run_spec(lua_State *L)
{
	struct lua_ctx *c = ctx_of(L);
	lua_Debug ar;
	size_t deepest;
	int status;

	open_sandbox(c, L);
	/* the names a spec did not set */
	lua_newtable(L);
	lua_pushglobaltable(L);
	lua_pushnil(L);
	while (lua_next(L, -2)) {
		lua_pop(L, 1);
		lua_pushvalue(L, -1);
		lua_pushboolean(L, 1);
		lua_rawset(L, -5);
	}
	lua_pop(L, 1);
	lua_setfield(L, LUA_REGISTRYINDEX, "camlab.builtins");
	lua_pushcfunction(L, msg_handler);
	/* Lua abbreviates the chunk name in messages; an empty chunk of the same name says how */
	if (luaL_loadbufferx(L, "", 0, c->source, "t") == LUA_OK && lua_getinfo(L, ">S", &ar))
		memcpy(c->short_src, ar.short_src, sizeof(c->short_src));
	if (check_depth(c, &deepest) < 0)
		return 0;
	status = luaL_loadbufferx(L, c->text, c->len, c->source, "t");
	if (status != LUA_OK) {
		int line = 0;
		const char *msg = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "cannot load the spec";
		if (strstr(msg, "C stack overflow")) {
			diag_error(c->d, lspec_pos_at(c, deepest),
				   "nested too deeply for Lua's parser (C stack overflow; it allows about 200 "
				   "levels of brackets and blocks)");
		} else if (status == LUA_ERRSYNTAX) {
			msg = strip_where(c, msg, &line);
			diag_error(c->d, lspec_pos_line(c, line), "%s", msg);
		} else {
			report_error(c, L, status);
		}
		return 0;
	}
	sandbox_call_begin(&c->call, L, LUA_HOOK_EVERY, budget_hook);
	status = lua_pcall(L, 0, 0, -2);
	sandbox_call_end(&c->call, L);
	if (status != LUA_OK || c->over_budget)
		report_error(c, L, status);
	else if (!c->called)
		diag_error(c->d, lspec_pos_line(c, 0), "no experiment{} in the spec: write experiment { name = ..., ... }");
	else
		warn_spec_globals(c, L);
	/* nothing useful was read unless the spec ran and called experiment{} */
	lua_pushboolean(L, status == LUA_OK && !c->over_budget && c->called);
	return 1;
}

/* The spec's text, a copy the first-line fix may change, and where its lines start. */
static void take_spec(struct lua_ctx *c, const char *text, size_t len)
{
	size_t i, alloc = 0;

	c->len = len;
	c->text = xmalloc(len + 1);
	memcpy(c->text, text, len);
	c->text[len] = '\0';
	/* a first line starting with '#' is skipped, as lua(1) and luaL_loadfile do */
	if (c->len && c->text[0] == '#')
		for (i = 0; i < c->len && c->text[i] != '\n'; i++)
			c->text[i] = ' ';
	ALLOC_GROW(c->lines, 1, alloc);
	c->lines[c->nr_lines++] = 0;
	for (i = 0; i < c->len; i++)
		if (c->text[i] == '\n' && i + 1 < c->len) {
			ALLOC_GROW(c->lines, c->nr_lines + 1, alloc);
			c->lines[c->nr_lines++] = i + 1;
		}
}

int exp_lua_load(struct experiment *e, const char *file, const char *text, size_t len, struct diag *d,
		 int allow_unsafe)
{
	struct lua_ctx c;
	struct strbuf source = STRBUF_INIT;
	lua_State *L;
	int status, ran = 0, i;

	memset(&c, 0, sizeof(c));
	if (!e->file)
		e->file = xstrdup(file);
	c.e = e;
	c.d = d;
	c.file = e->file;
	c.allow_unsafe = allow_unsafe;
	c.mem.cap = LUA_MEM_CAP;
	c.mem.on_hit = mem_refused;
	c.mem.hit_ud = &c;
	c.call.budget = LUA_BUDGET;
	c.call.seconds = sandbox_seconds(LUA_SECONDS);
	take_spec(&c, text, len);
	strbuf_init(&c.what, 0);
	strbuf_addf(&c.what, "the spec '%s'", file);
	c.call.what = c.what.buf;
	strbuf_addf(&source, "@%s", file);
	c.source = source.buf;

	L = lua_newstate(xalloc_lua_capped, &c.mem);
	c.L = L;
	if (!L) {
		diag_error(d, lspec_pos_line(&c, 0), "cannot create a Lua state: out of memory");
	} else {
		lua_pushcfunction(L, run_spec);
		status = lua_pcall(L, 0, 1, 0);
		if (status == LUA_OK)
			ran = lua_toboolean(L, -1);
		else
			report_error(&c, L, status);
		sandbox_close(L);
	}
	strbuf_release(&c.what);
	for (i = 0; i < KEY_DEPTH; i++)
		free(c.keys[i].v);
	free(c.lines);
	free(c.text);
	lspec_srcs_release(&c);
	strbuf_release(&source);
	return ran ? 0 : -1;
}

