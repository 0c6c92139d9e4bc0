/*
 * luacam.c - Lua tensor bindings over torch_shim.h and the calls into user definitions (see luacam.h).
 *
 * A tensor is a full userdata holding one ts_tensor handle, freed by __gc. Every operation returns a
 * new tensor; a failing libtorch call raises a Lua error carrying ts_error(), which the caller turns
 * into an error naming the user's definition.
 */
#include "interp/luacam.h"

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdlib.h>
#include <string.h>

#include "dsl/sandbox.h"
#include "lib/error.h"
#include "lib/strbuf.h"
#include "lib/xalloc.h"

#define TENSOR_MT "camlab.tensor"
#define CALL_BUDGET 10000000 /* instructions per call: a user map is a few tensor operations */

static void budget_hook(lua_State *L, lua_Debug *ar)
{
	(void)ar;
	luaL_error(L, "instruction budget of %d exceeded (an endless loop?)", CALL_BUDGET);
}

/*
 * Bytes the definitions' Lua state may hold. Tensors are handles to libtorch's memory, so a definition
 * needs little; the cap keeps a runaway table from taking the machine (the spec's own state has one too).
 */
#define MEM_CAP ((size_t)256 << 20)

struct luacam {
	lua_State *L;
	const struct experiment *e;
	struct lua_cap mem;
};

/* Run the function below its n arguments on L's stack, within the instruction budget and memory cap. */
static int limited_pcall(lua_State *L, int n)
{
	int rc;

	lua_sethook(L, budget_hook, LUA_MASKCOUNT, CALL_BUDGET);
	rc = lua_pcall(L, n, 1, 0);
	lua_sethook(L, NULL, 0, 0);
	if (rc == LUA_ERRMEM) {
		lua_pop(L, 1);
		lua_pushfstring(L, "memory cap of %d MiB exceeded", (int)(MEM_CAP >> 20));
	}
	return rc;
}

static ts_tensor *check_tensor(lua_State *L, int i)
{
	ts_tensor **p = luaL_checkudata(L, i, TENSOR_MT);
	if (!*p)
		luaL_error(L, "use of a freed tensor");
	return *p;
}

/* Push a new tensor, taking ownership; raise on a failed operation. */
static int push_tensor(lua_State *L, ts_tensor *t)
{
	ts_tensor **p;
	if (!t)
		return luaL_error(L, "%s", ts_error());
	p = lua_newuserdatauv(L, sizeof(*p), 0);
	*p = t;
	luaL_setmetatable(L, TENSOR_MT);
	return 1;
}

static int t_gc(lua_State *L)
{
	ts_tensor **p = luaL_checkudata(L, 1, TENSOR_MT);
	ts_free(*p);
	*p = NULL;
	return 0;
}

/* Either operand may be a number. */
static int arith(lua_State *L, ts_tensor *(*tt)(const ts_tensor *, const ts_tensor *), int op)
{
	int a_num = lua_isnumber(L, 1), b_num = lua_isnumber(L, 2);
	if (!a_num && !b_num)
		return push_tensor(L, tt(check_tensor(L, 1), check_tensor(L, 2)));
	if (b_num) {
		const ts_tensor *a = check_tensor(L, 1);
		double s = lua_tonumber(L, 2);
		switch (op) {
		case '+':
			return push_tensor(L, ts_adds(a, s));
		case '-':
			return push_tensor(L, ts_adds(a, -s));
		case '*':
			return push_tensor(L, ts_muls(a, s));
		case '/':
			return push_tensor(L, ts_muls(a, 1.0 / s));
		}
	} else {
		const ts_tensor *b = check_tensor(L, 2);
		double s = lua_tonumber(L, 1);
		ts_tensor *t;
		switch (op) {
		case '+':
			return push_tensor(L, ts_adds(b, s));
		case '-':
			t = ts_muls(b, -1.0);
			push_tensor(L, ts_adds(t, s));
			ts_free(t);
			return 1;
		case '*':
			return push_tensor(L, ts_muls(b, s));
		case '/':
			t = ts_pows(b, -1.0);
			push_tensor(L, ts_muls(t, s));
			ts_free(t);
			return 1;
		}
	}
	return luaL_error(L, "bad tensor operation");
}

static int t_add(lua_State *L)
{
	return arith(L, ts_add, '+');
}

static int t_sub(lua_State *L)
{
	return arith(L, ts_sub, '-');
}

static int t_mul(lua_State *L)
{
	return arith(L, ts_mul, '*');
}

static int t_div(lua_State *L)
{
	return arith(L, ts_div, '/');
}

static int t_unm(lua_State *L)
{
	return push_tensor(L, ts_muls(check_tensor(L, 1), -1.0));
}

static int t_pow(lua_State *L)
{
	return push_tensor(L, ts_pows(check_tensor(L, 1), luaL_checknumber(L, 2)));
}

/* Lua dimension (1-based, or negative from the end) to a libtorch one. */
static int dim_arg(lua_State *L, const ts_tensor *t, lua_Integer d)
{
	int n = ts_dim(t);
	if (d >= 1 && d <= n)
		return (int)d - 1;
	if (d < 0 && -d <= n)
		return (int)d;
	return luaL_error(L, "dimension %d out of range for a %d-dimensional tensor", (int)d, n);
}

static int dims_arg(lua_State *L, const ts_tensor *t, int i, int dims[8])
{
	int n = 0;
	if (lua_isnoneornil(L, i))
		return 0;
	if (lua_isinteger(L, i)) {
		dims[0] = dim_arg(L, t, lua_tointeger(L, i));
		return 1;
	}
	luaL_checktype(L, i, LUA_TTABLE);
	for (n = 0; n < 8; n++) {
		lua_geti(L, i, n + 1);
		if (lua_isnil(L, -1)) {
			lua_pop(L, 1);
			break;
		}
		dims[n] = dim_arg(L, t, luaL_checkinteger(L, -1));
		lua_pop(L, 1);
	}
	return n;
}

#define REDUCER(name, fn)                                                                            \
	static int name(lua_State *L)                                                                \
	{                                                                                            \
		const ts_tensor *t = check_tensor(L, 1);                                             \
		int dims[8], n = dims_arg(L, t, 2, dims);                                            \
		return push_tensor(L, fn(t, dims, n, lua_toboolean(L, 3)));                          \
	}

REDUCER(t_sum, ts_sum)
REDUCER(t_mean, ts_mean)
REDUCER(t_amax, ts_amax)
REDUCER(t_amin, ts_amin)

#define UNARY(name, fn)                                                                              \
	static int name(lua_State *L)                                                                \
	{                                                                                            \
		return push_tensor(L, fn(check_tensor(L, 1)));                                       \
	}

UNARY(f_relu, ts_relu)
UNARY(f_abs, ts_abs)
UNARY(f_exp, ts_exp)
UNARY(f_log, ts_log)
UNARY(f_sqrt, ts_sqrt)
UNARY(f_zeros_like, ts_zeros_like)

static int t_size(lua_State *L)
{
	const ts_tensor *t = check_tensor(L, 1);
	lua_pushinteger(L, ts_size(t, dim_arg(L, t, luaL_checkinteger(L, 2))));
	return 1;
}

static int t_dim(lua_State *L)
{
	lua_pushinteger(L, ts_dim(check_tensor(L, 1)));
	return 1;
}

static int t_gt(lua_State *L)
{
	return push_tensor(L, ts_gts(check_tensor(L, 1), luaL_checknumber(L, 2)));
}

static int t_eq(lua_State *L)
{
	return push_tensor(L, ts_eqs(check_tensor(L, 1), luaL_checknumber(L, 2)));
}

static int t_clamp(lua_State *L)
{
	return push_tensor(L, ts_clamp(check_tensor(L, 1), luaL_checknumber(L, 2), luaL_checknumber(L, 3)));
}

static int f_softmax(lua_State *L)
{
	const ts_tensor *t = check_tensor(L, 1);
	return push_tensor(L, ts_softmax(t, dim_arg(L, t, luaL_optinteger(L, 2, -1))));
}

static int f_log_softmax(lua_State *L)
{
	const ts_tensor *t = check_tensor(L, 1);
	return push_tensor(L, ts_log_softmax(t, dim_arg(L, t, luaL_optinteger(L, 2, -1))));
}

static int f_gather(lua_State *L)
{
	const ts_tensor *t = check_tensor(L, 1);
	return push_tensor(L, ts_gather(t, dim_arg(L, t, luaL_checkinteger(L, 2)), check_tensor(L, 3)));
}

static int f_where(lua_State *L)
{
	return push_tensor(L, ts_where(check_tensor(L, 1), check_tensor(L, 2), check_tensor(L, 3)));
}

static const luaL_Reg tensor_methods[] = {
	{ "sum", t_sum },   { "mean", t_mean }, { "amax", t_amax },	  { "amin", t_amin },
	{ "size", t_size }, { "dim", t_dim },	{ "pow", t_pow },	  { "gt", t_gt },
	{ "eq", t_eq },	    { "clamp", t_clamp }, { "relu", f_relu },	  { "abs", f_abs },
	{ NULL, NULL },
};

static const luaL_Reg tensor_meta[] = {
	{ "__gc", t_gc },   { "__add", t_add }, { "__sub", t_sub }, { "__mul", t_mul },
	{ "__div", t_div }, { "__unm", t_unm }, { "__pow", t_pow }, { NULL, NULL },
};

static const luaL_Reg functions[] = {
	{ "relu", f_relu },	      { "abs", f_abs },		    { "exp", f_exp },
	{ "log", f_log },	      { "sqrt", f_sqrt },	    { "softmax", f_softmax },
	{ "log_softmax", f_log_softmax }, { "gather", f_gather },   { "where", f_where },
	{ "zeros_like", f_zeros_like }, { NULL, NULL },
};

static void open_sandbox(lua_State *L)
{
	/* What a definition needs: arithmetic, strings, tables. No io, os, require, nor load. */
	sandbox_open(L);
	lua_pushnil(L);
	lua_setglobal(L, "load");
	luaL_newmetatable(L, TENSOR_MT);
	luaL_setfuncs(L, tensor_meta, 0);
	luaL_newlib(L, tensor_methods);
	lua_setfield(L, -2, "__index");
	lua_pop(L, 1);
	lua_pushglobaltable(L);
	luaL_setfuncs(L, functions, 0);
	lua_pop(L, 1);
}

static const char *kind_table(enum exp_def_kind k)
{
	return k == EXP_DEF_METHOD ? "camlab.methods" : k == EXP_DEF_UTILITY ? "camlab.utilities" : "camlab.metrics";
}

/* Report why a definition did not load, and keep it for luacam_load_error. */
static void load_failed(struct luacam *lc, struct diag *d, const struct exp_def *def, const char *what,
			const char *detail)
{
	struct strbuf why = STRBUF_INIT;

	strbuf_addf(&why, "definition of '%s' %s%s", def->name, what, detail);
	diag_error(d, def->pos, "%s", why.buf);
	lua_getfield(lc->L, LUA_REGISTRYINDEX, "camlab.load_errors");
	lua_pushstring(lc->L, why.buf);
	lua_setfield(lc->L, -2, def->name);
	lua_pop(lc->L, 1);
	strbuf_release(&why);
}

const char *luacam_load_error(const struct luacam *lc, const char *name)
{
	const char *why = NULL;

	if (!lc)
		return NULL;
	lua_getfield(lc->L, LUA_REGISTRYINDEX, "camlab.load_errors");
	if (lua_getfield(lc->L, -1, name) == LUA_TSTRING)
		why = lua_tostring(lc->L, -1); /* the registry's table keeps the string */
	lua_pop(lc->L, 2);
	return why;
}

struct luacam *luacam_new(const struct experiment *e, struct diag *d)
{
	struct luacam *lc = xcalloc(1, sizeof(*lc));
	size_t i;

	lc->e = e;
	lc->mem.cap = MEM_CAP;
	lc->L = lua_newstate(xalloc_lua_capped, &lc->mem);
	open_sandbox(lc->L);
	lua_newtable(lc->L);
	lua_setfield(lc->L, LUA_REGISTRYINDEX, "camlab.methods");
	lua_newtable(lc->L);
	lua_setfield(lc->L, LUA_REGISTRYINDEX, "camlab.utilities");
	lua_newtable(lc->L);
	lua_setfield(lc->L, LUA_REGISTRYINDEX, "camlab.metrics");
	lua_newtable(lc->L);
	lua_setfield(lc->L, LUA_REGISTRYINDEX, "camlab.load_errors");
	for (i = 0; i < e->nr_defs; i++) {
		const struct exp_def *def = &e->defs[i];
		struct strbuf name = STRBUF_INIT;
		strbuf_addf(&name, "=%s:%d (%s)", e->file, def->pos.line, def->name);
		/* the chunk's own code (before `return function`) runs here: it gets the limits of a call */
		if (luaL_loadbufferx(lc->L, def->lua, strlen(def->lua), name.buf, "t") != LUA_OK ||
		    limited_pcall(lc->L, 0) != LUA_OK) {
			load_failed(lc, d, def, "does not load: ", lua_tostring(lc->L, -1));
			lua_pop(lc->L, 1);
		} else if (!lua_isfunction(lc->L, -1)) {
			load_failed(lc, d, def, "must return a function, not ", luaL_typename(lc->L, -1));
			lua_pop(lc->L, 1);
		} else {
			lua_getfield(lc->L, LUA_REGISTRYINDEX, kind_table(def->kind));
			lua_insert(lc->L, -2);
			lua_setfield(lc->L, -2, def->name);
			lua_pop(lc->L, 1);
		}
		strbuf_release(&name);
	}
	return lc;
}

void luacam_free(struct luacam *lc)
{
	if (!lc)
		return;
	lua_close(lc->L);
	free(lc);
}

static int has(const struct luacam *lc, const char *table, const char *name)
{
	int t;
	if (!lc)
		return 0;
	lua_getfield(lc->L, LUA_REGISTRYINDEX, table);
	t = lua_getfield(lc->L, -1, name);
	lua_pop(lc->L, 2);
	return t == LUA_TFUNCTION;
}

int luacam_has_method(const struct luacam *lc, const char *name)
{
	return has(lc, "camlab.methods", name);
}

int luacam_has_utility(const struct luacam *lc, const char *name)
{
	return has(lc, "camlab.utilities", name);
}

int luacam_has_metric(const struct luacam *lc, const char *name)
{
	return has(lc, "camlab.metrics", name);
}

/* Call table[name] with n tensors (borrowed: the Lua copies are clones) and return its tensor result. */
static ts_tensor *call(struct luacam *lc, const char *table, const char *what, const char *name,
		       const ts_tensor *const *args, int n, int keep_graph)
{
	lua_State *L = lc->L;
	ts_tensor *out = NULL, **p;
	int i;

	lua_getfield(L, LUA_REGISTRYINDEX, table);
	if (lua_getfield(L, -1, name) != LUA_TFUNCTION) {
		lua_pop(L, 2);
		error("no %s named '%s' is defined", what, name);
		return NULL;
	}
	for (i = 0; i < n; i++) {
		/*
		 * An alias (no in-place operation is bound, so user code cannot change camlab's tensors);
		 * a utility's must stay on the autograd graph, since camlab differentiates it.
		 */
		ts_tensor *t = keep_graph ? ts_clone(args[i]) : ts_detach(args[i]);
		p = lua_newuserdatauv(L, sizeof(*p), 0);
		*p = t;
		luaL_setmetatable(L, TENSOR_MT);
	}
	if (limited_pcall(L, n) != LUA_OK) {
		error("%s '%s' failed: %s", what, name, lua_tostring(L, -1));
	} else if (!(p = luaL_testudata(L, -1, TENSOR_MT)) || !*p) {
		error("%s '%s' returned %s, not a tensor", what, name, luaL_typename(L, -1));
	} else {
		out = keep_graph ? ts_clone(*p) : ts_detach(*p);
	}
	lua_pop(L, 2);
	lua_gc(L, LUA_GCCOLLECT);
	return out;
}

ts_tensor *luacam_method(struct luacam *lc, const char *name, const ts_tensor *a, const ts_tensor *g,
			 const ts_tensor *ha)
{
	const ts_tensor *args[3] = { a, g, ha };
	ts_tensor *s = call(lc, "camlab.methods", "method", name, args, 3, 0);
	if (s && (ts_dim(s) != 3 || ts_size(s, 0) != ts_size(a, 0) || ts_size(s, 1) != ts_size(a, 2) ||
		  ts_size(s, 2) != ts_size(a, 3))) {
		error("method '%s' must return a B x h x w map (%ld x %ld x %ld), not a %d-dimensional tensor",
		      name, (long)ts_size(a, 0), (long)ts_size(a, 2), (long)ts_size(a, 3), ts_dim(s));
		ts_free(s);
		return NULL;
	}
	return s;
}

ts_tensor *luacam_utility(struct luacam *lc, const char *name, const ts_tensor *logits, const ts_tensor *target)
{
	const ts_tensor *args[2] = { logits, target };
	ts_tensor *u = call(lc, "camlab.utilities", "utility", name, args, 2, 1);
	if (u && ts_numel(u) != ts_size(logits, 0)) {
		error("utility '%s' must return one value per image (B x 1)", name);
		ts_free(u);
		return NULL;
	}
	return u;
}

ts_tensor *luacam_metric(struct luacam *lc, const char *name, const ts_tensor *heat, const ts_tensor *y,
			 const ts_tensor *o, const ts_tensor *d)
{
	const ts_tensor *args[4] = { heat, y, o, d };
	ts_tensor *v = call(lc, "camlab.metrics", "metric", name, args, 4, 0);
	if (v && ts_numel(v) != ts_size(heat, 0)) {
		error("metric '%s' must return one value per image (%ld), not %ld", name, (long)ts_size(heat, 0),
		      (long)ts_numel(v));
		ts_free(v);
		return NULL;
	}
	return v;
}
