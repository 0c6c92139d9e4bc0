/*
 * sandbox.c - the sandboxed Lua states' libraries, guards on the C functions their instruction budget
 * cannot see, the limits of one call and the watchdog behind them (see sandbox.h).
 */
#include "dsl/sandbox.h"

#include <errno.h>
#include <lauxlib.h>
#include <lualib.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/error.h"

/*
 * The repetitions of a Lua pattern that can backtrack ('*', '+', '-', '?' after a single-character
 * class), outside escapes and sets. '?' tries two ways, so forty of them try 2^40 ("a?a?...aaa").
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
		} else if (item && (ch == '*' || ch == '+' || ch == '-' || ch == '?')) {
			n++;
			i++;
			item = 0;
		} else {
			item = ch != '(' && ch != ')' && !(ch == '^' && i == 0);
			i++;
		}
	}
	return n;
}

/*
 * The matcher's worst case: from each start, each repetition may try every length; without repetitions
 * (or a plain find) each start compares up to the whole pattern.
 */
static double pattern_steps(size_t n, size_t plen, int reps)
{
	if (reps)
		return pow((double)n + 1, reps + 1);
	return ((double)n + 1) * ((double)plen + 1);
}

static int guarded(lua_State *L)
{
	size_t n, plen;
	const char *p;
	int reps, plain;

	luaL_checklstring(L, 1, &n);
	p = luaL_checklstring(L, 2, &plen);
	/* string.find(s, p, init, plain) with plain true matches no pattern */
	plain = lua_tointeger(L, lua_upvalueindex(2)) && lua_toboolean(L, 4);
	reps = plain ? 0 : repetitions(p, plen);
	if (reps && pattern_steps(n, plen, reps) > SANDBOX_PATTERN_STEPS)
		return luaL_error(
			L,
			"string.%s: a pattern with %d repetitions on a string of %d bytes could "
			"backtrack for hours, which the sandbox's budget cannot stop: use fewer "
			"repetitions, a shorter string, or string.find(s, p, 1, true) for plain text",
			lua_tostring(L, lua_upvalueindex(3)), reps, (int)n);
	if (!reps && pattern_steps(n, plen, 0) > SANDBOX_PATTERN_STEPS)
		return luaL_error(L,
				  "string.%s: a pattern of %d bytes on a string of %d bytes passes the "
				  "sandbox's limit of %I comparisons: use a shorter pattern or string",
				  lua_tostring(L, lua_upvalueindex(3)), (int)plen, (int)n,
				  (lua_Integer)SANDBOX_PATTERN_STEPS);
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 1);
	lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
	return lua_gettop(L);
}

/* Call the original (upvalue 1) with this call's arguments. */
static int call_original(lua_State *L)
{
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 1);
	lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
	return lua_gettop(L);
}

/* string.rep(s, n, sep) of an empty s and sep loops n times copying nothing. */
static int guarded_rep(lua_State *L)
{
	size_t l, lsep;

	luaL_checklstring(L, 1, &l);
	luaL_checkinteger(L, 2);
	luaL_optlstring(L, 3, "", &lsep);
	if (l + lsep == 0) {
		lua_pushliteral(L, "");
		return 1;
	}
	return call_original(L);
}

/* table.move(a1, f, e, t [, a2]) loops e - f + 1 times, with or without elements. */
static int guarded_move(lua_State *L)
{
	lua_Integer f = luaL_checkinteger(L, 2), e = luaL_checkinteger(L, 3);

	if (e >= f && (lua_Unsigned)e - (lua_Unsigned)f >= (lua_Unsigned)SANDBOX_TABLE_ITEMS)
		return luaL_error(L, "table.move: moving %I elements passes the sandbox's limit of %I",
				  (lua_Integer)((lua_Unsigned)e - (lua_Unsigned)f + 1),
				  (lua_Integer)SANDBOX_TABLE_ITEMS);
	return call_original(L);
}

/* table.insert, remove and sort loop over the length, which a __len metamethod can make anything. */
static int guarded_len(lua_State *L)
{
	if (lua_type(L, 1) == LUA_TTABLE) {
		lua_Integer n = luaL_len(L, 1);
		if (n > SANDBOX_TABLE_ITEMS)
			return luaL_error(L,
					  "table.%s: a table of length %I passes the sandbox's limit of %I",
					  lua_tostring(L, lua_upvalueindex(2)), (lua_Integer)n,
					  (lua_Integer)SANDBOX_TABLE_ITEMS);
	}
	return call_original(L);
}

/* Replace t[name] (t at the top of L's stack) by fn with the original and name as upvalues. */
static void wrap(lua_State *L, const char *name, lua_CFunction fn)
{
	if (lua_getfield(L, -1, name) == LUA_TNIL) {
		lua_pop(L, 1);
		return;
	}
	lua_pushstring(L, name);
	lua_pushcclosure(L, fn, 2);
	lua_setfield(L, -2, name);
}

void sandbox_guard_patterns(lua_State *L)
{
	static const char *const names[] = { "find", "match", "gmatch", "gsub" };
	static const char *const by_len[] = { "insert", "remove", "sort" };
	size_t i;

	if (lua_getglobal(L, "string") == LUA_TTABLE) {
		for (i = 0; i < sizeof(names) / sizeof(*names); i++) {
			lua_getfield(L, -1, names[i]);
			lua_pushinteger(L, !strcmp(names[i], "find"));
			lua_pushstring(L, names[i]);
			lua_pushcclosure(L, guarded, 3);
			lua_setfield(L, -2, names[i]);
		}
		wrap(L, "rep", guarded_rep);
	}
	lua_pop(L, 1);
	if (lua_getglobal(L, "table") == LUA_TTABLE) {
		wrap(L, "move", guarded_move);
		for (i = 0; i < sizeof(by_len) / sizeof(*by_len); i++)
			wrap(L, by_len[i], guarded_len);
	}
	lua_pop(L, 1);
}

/*
 * Lua runs finalisers with hooks off (lgc.c's GCTM), so a __gc that loops is beyond the budget, and it
 * runs when the collector decides, in lua_close at the latest. A metatable with __gc is refused: only
 * a metatable that has the field when it is set marks an object for finalisation.
 */
static int guarded_setmetatable(lua_State *L)
{
	if (lua_type(L, 2) == LUA_TTABLE) {
		lua_pushliteral(L, "__gc");
		if (lua_rawget(L, 2) != LUA_TNIL)
			return luaL_error(L,
					  "setmetatable: a finaliser (__gc) is not allowed in the sandbox, "
					  "since it would run outside the sandbox's limits");
		lua_pop(L, 1);
	}
	return call_original(L);
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
	lua_pushglobaltable(L);
	wrap(L, "setmetatable", guarded_setmetatable);
	lua_pop(L, 1);
	sandbox_guard_patterns(L);
	/* the same code gives the same numbers on every run (Lua 5.4 seeds from the clock) */
	lua_getglobal(L, "math");
	lua_getfield(L, -1, "randomseed");
	lua_pushinteger(L, 0);
	lua_call(L, 1, 0);
	lua_pop(L, 1);
}

/* ---------------------------------------------------------------------------------------------------
 * The limits of a call, and the watchdog.
 */

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static pthread_once_t wd_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t wd_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wd_cond;
static struct sandbox_call *wd_calls; /* armed calls, under wd_lock */
static pid_t wd_pid;		      /* the process whose watchdog runs (a forked child has none) */
static void (*wd_stuck)(const struct sandbox_call *c);

static void stuck_default(const struct sandbox_call *c)
{
	char msg[512];
	int n = snprintf(msg, sizeof(msg),
			 "fatal: %s ran past its wall-clock limit of %g s by %g s inside a C function, which "
			 "cannot be stopped safely; camlab stops\n",
			 c->what ? c->what : "a Lua call", c->seconds, SANDBOX_GRACE);
	if (n > 0 && write(2, msg, (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1) < 0)
		n = 0;
	_exit(124);
}

static void *watchdog(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&wd_lock);
	for (;;) {
		double now = now_s(), wake = 0;
		struct sandbox_call *c;
		for (c = wd_calls; c; c = c->next) {
			double end = c->start + c->seconds + SANDBOX_GRACE;
			if (c->armed != 1)
				continue;
			if (now >= end) {
				c->armed = 2; /* acted on once */
				(wd_stuck ? wd_stuck : stuck_default)(c);
				continue;
			}
			if (!wake || end < wake)
				wake = end;
		}
		if (!wake) {
			pthread_cond_wait(&wd_cond, &wd_lock);
		} else {
			struct timespec ts;
			ts.tv_sec = (time_t)wake;
			ts.tv_nsec = (long)((wake - (double)ts.tv_sec) * 1e9);
			pthread_cond_timedwait(&wd_cond, &wd_lock, &ts);
		}
	}
	return NULL;
}

static void wd_prepare(void)
{
	pthread_mutex_lock(&wd_lock);
}

static void wd_parent(void)
{
	pthread_mutex_unlock(&wd_lock);
}

/* The child of a fork has no watchdog thread and none of the parent's calls. */
static void wd_child(void)
{
	wd_calls = NULL;
	wd_pid = 0;
	pthread_mutex_unlock(&wd_lock);
}

static void wd_init(void)
{
	pthread_condattr_t attr;

	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&wd_cond, &attr);
	pthread_condattr_destroy(&attr);
	pthread_atfork(wd_prepare, wd_parent, wd_child);
}

/* Under wd_lock. Without a thread the limits still hold, except over a C loop that no guard knows. */
static void wd_start(void)
{
	pthread_t t;
	pthread_attr_t attr;

	if (wd_pid == getpid())
		return;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (!pthread_create(&t, &attr, watchdog, NULL))
		wd_pid = getpid();
	pthread_attr_destroy(&attr);
}

void sandbox_on_stuck(void (*fn)(const struct sandbox_call *c))
{
	pthread_mutex_lock(&wd_lock);
	wd_stuck = fn;
	pthread_mutex_unlock(&wd_lock);
}

struct sandbox_call *sandbox_call_of(lua_State *L)
{
	return *(struct sandbox_call **)lua_getextraspace(L);
}

void sandbox_call_begin(struct sandbox_call *c, lua_State *L, int every, lua_Hook hook)
{
	c->every = every > 0 ? every : 1;
	c->spent = 0;
	c->over = SANDBOX_WITHIN;
	c->start = now_s();
	*(struct sandbox_call **)lua_getextraspace(L) = c;
	lua_sethook(L, hook ? hook : sandbox_hook, LUA_MASKCOUNT, c->every);
	if (c->seconds > 0) {
		pthread_once(&wd_once, wd_init);
		pthread_mutex_lock(&wd_lock);
		wd_start();
		c->armed = 1;
		c->next = wd_calls;
		wd_calls = c;
		pthread_cond_signal(&wd_cond);
		pthread_mutex_unlock(&wd_lock);
	}
}

static void disarm(struct sandbox_call *c)
{
	struct sandbox_call **pp;

	if (!c->armed)
		return;
	pthread_mutex_lock(&wd_lock);
	for (pp = &wd_calls; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	c->armed = 0;
	pthread_mutex_unlock(&wd_lock);
}

void sandbox_call_end(struct sandbox_call *c, lua_State *L)
{
	lua_sethook(L, NULL, 0, 0);
	*(struct sandbox_call **)lua_getextraspace(L) = NULL;
	disarm(c);
}

int sandbox_call_tick(struct sandbox_call *c, lua_State *L)
{
	if (c->over)
		return c->over;
	c->spent += c->every;
	if (c->budget > 0 && c->spent >= c->budget)
		c->over = SANDBOX_OVER_BUDGET;
	else if (c->seconds > 0 && now_s() - c->start > c->seconds)
		c->over = SANDBOX_OVER_CLOCK;
	if (c->over)
		lua_sethook(L, lua_gethook(L), LUA_MASKCOUNT, 1);
	return c->over;
}

const char *sandbox_call_message(const struct sandbox_call *c)
{
	static char msg[160];

	if (c->over == SANDBOX_OVER_BUDGET)
		snprintf(msg, sizeof(msg), "instruction budget of %ld exceeded (an endless loop?)",
			 c->budget);
	else if (c->over == SANDBOX_OVER_CLOCK)
		snprintf(msg, sizeof(msg), "wall-clock limit of %g s exceeded (CAMLAB_LUA_SECONDS sets it)",
			 c->seconds);
	else
		msg[0] = '\0';
	return msg;
}

void sandbox_hook(lua_State *L, lua_Debug *ar)
{
	struct sandbox_call *c = sandbox_call_of(L);

	(void)ar;
	if (c && sandbox_call_tick(c, L))
		luaL_error(L, "%s", sandbox_call_message(c));
}

double sandbox_seconds(double dflt)
{
	static int warned;
	const char *v = getenv("CAMLAB_LUA_SECONDS");
	char *end;
	double s;

	if (!v || !*v)
		return dflt;
	errno = 0;
	s = strtod(v, &end);
	if (*end || errno || !(s > 0) || s > 1e6) {
		if (!warned++)
			warning("ignoring CAMLAB_LUA_SECONDS='%s': not a number of seconds between 0 and 1e6",
				v);
		return dflt;
	}
	return s;
}

void sandbox_close(lua_State *L)
{
	struct sandbox_call c;

	memset(&c, 0, sizeof(c));
	c.seconds = sandbox_seconds(10);
	c.what = "closing a Lua state (a finaliser?)";
	sandbox_call_begin(&c, L, 1000, NULL);
	*(struct sandbox_call **)lua_getextraspace(L) = NULL; /* lua_close runs no hook of ours */
	lua_close(L);
	disarm(&c);
}
