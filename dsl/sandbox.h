/*
 * sandbox.h - what the sandboxed Lua states (specs in dsl/lua.c, definitions in interp/luacam.c) share:
 * the libraries they open, guards on the C functions that the instruction budget cannot see, and the
 * limits of one call (instructions and wall clock) with the watchdog behind them.
 *
 * Lua's count hook fires only between VM instructions. A C function (the pattern matcher, table.move,
 * string.rep) that loops without calling back into Lua never returns to the VM, so no hook, timer or
 * signal can stop it safely: longjmp-ing out of it would leave the state inconsistent. Hence three
 * layers: each such C function is guarded by a count checked before it starts (below); the hook checks
 * the instruction budget and the wall clock; and a watchdog thread ends the process, with a message naming
 * the call, should a call still run SANDBOX_GRACE seconds past its wall-clock limit (a C loop that no
 * guard knows of). Finalisers (__gc) are refused in sandboxed states, and sandbox_close() stops any that
 * remain at their first instruction.
 */
#ifndef DSL_SANDBOX_H
#define DSL_SANDBOX_H

#include <lua.h>

/*
 * Open in L what a sandboxed state may use: the base, string, table, math and utf8 libraries, without
 * dofile and loadfile (no io, os, package or debug), the pattern functions and the other looping C
 * functions guarded as below, setmetatable refusing a metatable with __gc, math.random seeded with 0.
 * `load` stays for the caller to restrict (text chunks only, for specs) or remove (definitions).
 */
void sandbox_open(lua_State *L);

/*
 * Guard the C functions of L's libraries that can run for hours without returning to the VM: the pattern
 * functions (find, match, gmatch, gsub, also as methods of strings), whose worst case (the subject's
 * length + 1 to the power of the pattern's repetitions ('*', '+', '-', '?') plus one, or the subject's
 * length times the pattern's for a pattern without repetitions or a plain find) may not pass
 * SANDBOX_PATTERN_STEPS; string.rep of an empty string and separator (returns "" at once); table.move,
 * insert, remove and sort, whose count of elements (from the arguments or the length, which a __len
 * metamethod sets) may not pass SANDBOX_TABLE_ITEMS. A refused call is an error that names the limit.
 * Call after the libraries are open (sandbox_open does; an --allow-unsafe spec calls it alone).
 */
void sandbox_guard_patterns(lua_State *L);

#define SANDBOX_PATTERN_STEPS 1e9
#define SANDBOX_TABLE_ITEMS ((lua_Integer)1 << 24)
/* seconds a call may run past its wall-clock limit inside one C function before the watchdog acts */
#define SANDBOX_GRACE 10.0

/*
 * The limits of one protected call into a sandboxed state: set budget, seconds and what, then
 * sandbox_call_begin() before lua_pcall and sandbox_call_end() after it. The state's extra space holds a
 * pointer to the call while it runs (sandbox_call_of).
 */
struct sandbox_call {
	long budget;	  /* VM instructions */
	double seconds;	  /* wall clock */
	const char *what; /* "the spec 'x.lua'", "method 'm'": what the watchdog names (borrowed) */

	/* private */
	int every; /* instructions between two hooks */
	long spent;
	double start;
	int over; /* enum sandbox_over once a limit is passed */
	int armed;
	struct sandbox_call *next; /* the watchdog's list */
};

enum sandbox_over { SANDBOX_WITHIN = 0, SANDBOX_OVER_BUDGET, SANDBOX_OVER_CLOCK };

/*
 * Start counting: sets hook (sandbox_hook if NULL) on L every `every` instructions and arms the
 * watchdog. A custom hook calls sandbox_call_tick().
 */
void sandbox_call_begin(struct sandbox_call *c, lua_State *L, int every, lua_Hook hook);
/*
 * In a count hook: add c->every instructions and look at the clock. Returns SANDBOX_WITHIN, or which
 * limit has been passed; from then on the hook fires at every instruction, so that a pcall that caught
 * the error fails again at once. The caller raises the error (sandbox_call_message).
 */
int sandbox_call_tick(struct sandbox_call *c, lua_State *L);
/* Stop counting (removes the hook, disarms the watchdog). */
void sandbox_call_end(struct sandbox_call *c, lua_State *L);
/* The call running in L, or NULL. */
struct sandbox_call *sandbox_call_of(lua_State *L);
/*
 * The message for c->over: "instruction budget of N exceeded (an endless loop?)" or "wall-clock limit
 * of S s exceeded (...)". Static storage, overwritten by the next call.
 */
const char *sandbox_call_message(const struct sandbox_call *c);
/* The default hook: sandbox_call_tick, raising sandbox_call_message. */
void sandbox_hook(lua_State *L, lua_Debug *ar);

/*
 * The wall-clock limit of one call, in seconds: CAMLAB_LUA_SECONDS from the environment if it is a
 * number > 0, else dflt. A bad value is reported once and ignored.
 */
double sandbox_seconds(double dflt);

/*
 * lua_close(L) with a hook that stops every Lua finaliser at its first instruction (C finalisers, such
 * as a tensor's, still run): a finaliser is user code outside any call's limits.
 */
void sandbox_close(lua_State *L);

/*
 * What the watchdog does with a call stuck past its limit plus SANDBOX_GRACE: by default print
 * "fatal: ..." naming c->what and the limit, and _exit(124). A test may install its own action (NULL:
 * the default); it is called from the watchdog thread.
 */
void sandbox_on_stuck(void (*fn)(const struct sandbox_call *c));

#endif
