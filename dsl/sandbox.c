/*
 * sandbox.c - limits for the sandboxed Lua states that their instruction budget cannot enforce (see
 * sandbox.h): Lua's pattern matcher is C code that backtracks without ever returning to the VM.
 */
#include "dsl/sandbox.h"

#include <lauxlib.h>
#include <lualib.h>
#include <math.h>
#include <string.h>

/*
 * The repetitions of a Lua pattern that can backtrack ('*', '+', '-' after a single-character class),
 * outside escapes and sets. '?' is at most one character and does not multiply the work.
 */
static int repetitions(const char *p, size_t len)
{
	size_t i = 0;
	int n = 0, item = 0; /* item: a character class just ended, so a quantifier may follow */

	while (i < len) {
		char ch = p[i];
		if (ch == '%') {
			i += 2;
			item = 1;
		} else if (ch == '[') {
			i++;
			if (i < len && p[i] == '^')
				i++;
			if (i < len && p[i] == ']') /* a ']' first in a set is a member */
				i++;
			while (i < len && p[i] != ']')
				i += p[i] == '%' ? 2 : 1;
			i++;
			item = 1;
		} else if (item && (ch == '*' || ch == '+' || ch == '-')) {
			n++;
			i++;
			item = 0;
		} else {
			item = ch != '(' && ch != ')' && !(ch == '^' && i == 0) && ch != '?';
			i++;
		}
	}
	return n;
}

static int guarded(lua_State *L)
{
	size_t n, plen;
	const char *p;
	int reps;

	luaL_checklstring(L, 1, &n);
	p = luaL_checklstring(L, 2, &plen);
	/* string.find(s, p, init, plain) with plain true matches no pattern */
	if (lua_tointeger(L, lua_upvalueindex(2)) && lua_toboolean(L, 4))
		reps = 0;
	else
		reps = repetitions(p, plen);
	if (reps && pow((double)n + 1, reps + 1) > SANDBOX_PATTERN_STEPS)
		return luaL_error(
			L,
			"string.%s: a pattern with %d repetitions on a string of %d bytes could "
			"backtrack for hours, which the sandbox's budget cannot stop: use fewer "
			"repetitions, a shorter string, or string.find(s, p, 1, true) for plain text",
			lua_tostring(L, lua_upvalueindex(3)), reps, (int)n);
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 1);
	lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
	return lua_gettop(L);
}

void sandbox_guard_patterns(lua_State *L)
{
	static const char *const names[] = { "find", "match", "gmatch", "gsub" };
	size_t i;

	if (lua_getglobal(L, "string") != LUA_TTABLE) {
		lua_pop(L, 1);
		return;
	}
	for (i = 0; i < sizeof(names) / sizeof(*names); i++) {
		lua_getfield(L, -1, names[i]);
		lua_pushinteger(L, !strcmp(names[i], "find"));
		lua_pushstring(L, names[i]);
		lua_pushcclosure(L, guarded, 3);
		lua_setfield(L, -2, names[i]);
	}
	lua_pop(L, 1);
}

void sandbox_open(lua_State *L)
{
	static const luaL_Reg libs[] = {
		{ LUA_GNAME, luaopen_base },	   { LUA_STRLIBNAME, luaopen_string },
		{ LUA_TABLIBNAME, luaopen_table }, { LUA_MATHLIBNAME, luaopen_math },
		{ LUA_UTF8LIBNAME, luaopen_utf8 }, { NULL, NULL },
	};
	const luaL_Reg *lib;

	for (lib = libs; lib->func; lib++) {
		luaL_requiref(L, lib->name, lib->func, 1);
		lua_pop(L, 1);
	}
	lua_pushnil(L);
	lua_setglobal(L, "dofile");
	lua_pushnil(L);
	lua_setglobal(L, "loadfile");
	sandbox_guard_patterns(L);
}
