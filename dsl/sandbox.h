/*
 * sandbox.h - what the sandboxed Lua states (specs in dsl/lua.c, definitions in interp/luacam.c) need
 * beyond their instruction budget and memory cap: limits on work the budget cannot see.
 */
#ifndef DSL_SANDBOX_H
#define DSL_SANDBOX_H

#include <lua.h>

/*
 * Open in L what a sandboxed state may use: the base, string, table, math and utf8 libraries, without
 * dofile and loadfile (no io, os, package or debug), the pattern functions guarded as below. `load`
 * stays for the caller to restrict (text chunks only, for specs) or remove (definitions).
 */
void sandbox_open(lua_State *L);

/*
 * Guard the string library's pattern functions (find, match, gmatch, gsub, and the methods of strings,
 * which are the same functions) in L. They run in C, where the instruction budget's hook never fires,
 * and a pattern of several lazy or greedy repetitions backtracks for hours on a few kilobytes
 * (("a"):rep(3000):find(".-.-.-b")). A call whose worst case, the subject's length to the power of the
 * pattern's repetitions plus one, passes SANDBOX_PATTERN_STEPS is an error that says so; plain finds,
 * short subjects and simple patterns are untouched. Call after the string library is open
 * (sandbox_open does).
 */
void sandbox_guard_patterns(lua_State *L);

#define SANDBOX_PATTERN_STEPS 1e9

#endif
