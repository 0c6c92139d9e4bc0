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
#define CALL_SECONDS 60.0    /* wall clock per call (CAMLAB_LUA_SECONDS): a batch's tensor operations */
#define HOOK_EVERY 100	     /* instructions between two looks at the budget and the clock */

/*
 * Bytes a definition's Lua state may hold. Tensors are handles to libtorch's memory, so a definition
 * needs little; the cap keeps a runaway table from taking the machine (the spec's own state has one too).
 */
#define MEM_CAP ((size_t)256 << 20)

/*
 * Every call of a definition runs in a fresh Lua state built from the definition's source alone, so that
 * no definition can change another's globals or builtins (relu = ... in one would change every method's
 * relu), and no call can leave state for the next (a counter in a global would make a resumed run's
 * numbers differ): a call's result depends on its source, which the run key holds, and its arguments.
 * A state costs some tens of microseconds; a call is a batch.
 */
struct luacam {
	const struct experiment *e;
	char **load_errors; /* per definition of e: why it does not load, or NULL */
	double seconds;
};

/* Run the function below its n arguments on L's stack, within the limits of a call. */
static int limited_pcall(struct luacam *lc, lua_State *L, int n, const char *what)
{
	struct sandbox_call call;
	struct lua_cap *mem;
	int rc;

	memset(&call, 0, sizeof(call));
	call.budget = CALL_BUDGET;
	call.seconds = lc->seconds;
	call.what = what;
	sandbox_call_begin(&call, L, HOOK_EVERY, NULL);
	rc = lua_pcall(L, n, 1, 0);
	sandbox_call_end(&call, L);
	lua_getallocf(L, (void **)&mem);
	if (rc != LUA_OK && call.over) {
		lua_pop(L, 1);
		lua_pushstring(L, sandbox_call_message(&call));
	} else if (rc == LUA_ERRMEM || (rc != LUA_OK && mem->hit)) {
		lua_pop(L, 1);
		lua_pushfstring(L, "memory cap of %d MiB exceeded", (int)(MEM_CAP >> 20));
	} else if (rc != LUA_OK && lua_type(L, -1) != LUA_TSTRING && lua_type(L, -1) != LUA_TNUMBER) {
		/* error({...}): say what was raised, not "(null)" */
		int nil = lua_isnil(L, -1);
		const char *type = luaL_typename(L, -1); /* Lua's own static names */
		lua_pop(L, 1);
		lua_pushfstring(L, "error object is %s%s, not a message", nil ? "" : "a ", type);
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
	/* getmetatable(A) gives a name: the table's __gc could otherwise become a Lua finaliser */
	lua_pushliteral(L, TENSOR_MT);
	lua_setfield(L, -2, "__metatable");
	lua_pop(L, 1);
	lua_pushglobaltable(L);
	luaL_setfuncs(L, functions, 0);
	lua_pop(L, 1);
}

static int opened(lua_State *L)
{
	open_sandbox(L);
	return 0;
}

/*
 * A fresh state (with its memory cap in *mem) in which the chunk of def has run and left its function
 * on the stack; NULL with why in *why (xstrdup'ed) if it does not load.
 */
static lua_State *def_state(struct luacam *lc, const struct exp_def *def, struct lua_cap *mem, char **why)
{
	struct strbuf name = STRBUF_INIT, what = STRBUF_INIT;
	lua_State *L;

	memset(mem, 0, sizeof(*mem));
	mem->cap = MEM_CAP;
	*why = NULL;
	L = lua_newstate(xalloc_lua_capped, mem);
	if (!L) {
		*why = xstrdup("cannot create a Lua state: out of memory");
		return NULL;
	}
	lua_pushcfunction(L, opened);
	if (lua_pcall(L, 0, 0, 0) != LUA_OK) {
		*why = xstrdup("cannot open the sandbox: out of memory");
		sandbox_close(L);
		return NULL;
	}
	strbuf_addf(&name, "=%s:%d (%s)", lc->e->file, def->pos.line, def->name);
	strbuf_addf(&what, "%s '%s' (loading)", exp_def_kind_names[def->kind], def->name);
	/* the chunk's own code (before `return function`) runs here: it gets the limits of a call */
	if (luaL_loadbufferx(L, def->lua, strlen(def->lua), name.buf, "t") != LUA_OK ||
	    limited_pcall(lc, L, 0, what.buf) != LUA_OK) {
		struct strbuf sb = STRBUF_INIT;
		strbuf_addf(&sb, "does not load: %s", lua_tostring(L, -1));
		*why = strbuf_detach(&sb, NULL);
	} else if (!lua_isfunction(L, -1)) {
		struct strbuf sb = STRBUF_INIT;
		strbuf_addf(&sb, "must return a function, not %s", luaL_typename(L, -1));
		*why = strbuf_detach(&sb, NULL);
	}
	strbuf_release(&name);
	strbuf_release(&what);
	if (*why) {
		sandbox_close(L);
		return NULL;
	}
	return L;
}

const char *luacam_load_error(const struct luacam *lc, const char *name)
{
	size_t i;

	if (!lc)
		return NULL;
	for (i = 0; i < lc->e->nr_defs; i++)
		if (lc->e->defs[i].name && !strcmp(lc->e->defs[i].name, name) && lc->load_errors[i])
			return lc->load_errors[i];
	return NULL;
}

struct luacam *luacam_new(const struct experiment *e, struct diag *d)
{
	struct luacam *lc = xcalloc(1, sizeof(*lc));
	size_t i;

	lc->e = e;
	lc->seconds = sandbox_seconds(CALL_SECONDS);
	lc->load_errors = xcalloc(e->nr_defs ? e->nr_defs : 1, sizeof(*lc->load_errors));
	for (i = 0; i < e->nr_defs; i++) {
		const struct exp_def *def = &e->defs[i];
		struct lua_cap mem;
		char *why;
		lua_State *L = def_state(lc, def, &mem, &why);
		if (L) {
			sandbox_close(L);
			continue;
		}
		/* luacam_load_error's text, which a failed run records */
		{
			struct strbuf sb = STRBUF_INIT;
			strbuf_addf(&sb, "definition of '%s' %s", def->name, why);
			diag_error(d, def->pos, "%s", sb.buf);
			lc->load_errors[i] = strbuf_detach(&sb, NULL);
			free(why);
		}
	}
	return lc;
}

void luacam_free(struct luacam *lc)
{
	size_t i;

	if (!lc)
		return;
	for (i = 0; i < lc->e->nr_defs; i++)
		free(lc->load_errors[i]);
	free(lc->load_errors);
	free(lc);
}

static const struct exp_def *find(const struct luacam *lc, enum exp_def_kind kind, const char *name, size_t *at)
{
	size_t i;

	for (i = 0; lc && i < lc->e->nr_defs; i++)
		if (lc->e->defs[i].kind == kind && lc->e->defs[i].name && !strcmp(lc->e->defs[i].name, name)) {
			if (at)
				*at = i;
			return &lc->e->defs[i];
		}
	return NULL;
}

/* A definition of that kind and name that loads. */
static int has(const struct luacam *lc, enum exp_def_kind kind, const char *name)
{
	size_t at;
	return find(lc, kind, name, &at) && !lc->load_errors[at];
}

int luacam_has_method(const struct luacam *lc, const char *name)
{
	return has(lc, EXP_DEF_METHOD, name);
}

int luacam_has_utility(const struct luacam *lc, const char *name)
{
	return has(lc, EXP_DEF_UTILITY, name);
}

int luacam_has_metric(const struct luacam *lc, const char *name)
{
	return has(lc, EXP_DEF_METRIC, name);
}

/* Call the definition of kind and name, in a fresh state, with n tensors (borrowed: the Lua copies are
 * aliases or clones) and return its tensor result. */
static ts_tensor *call(struct luacam *lc, enum exp_def_kind kind, const char *name, const ts_tensor *const *args,
		       int n, int keep_graph)
{
	const char *what = exp_def_kind_names[kind];
	const struct exp_def *def = find(lc, kind, name, NULL);
	struct strbuf call_what = STRBUF_INIT;
	struct lua_cap mem;
	ts_tensor *out = NULL, **p;
	lua_State *L;
	char *why;
	int i;

	if (!def) {
		error("no %s named '%s' is defined", what, name);
		return NULL;
	}
	if (!(L = def_state(lc, def, &mem, &why))) {
		error("definition of '%s' %s", name, why);
		free(why);
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
	strbuf_addf(&call_what, "%s '%s'", what, name);
	if (limited_pcall(lc, L, n, call_what.buf) != LUA_OK) {
		error("%s '%s' failed: %s", what, name, lua_tostring(L, -1));
	} else if (!(p = luaL_testudata(L, -1, TENSOR_MT)) || !*p) {
		error("%s '%s' returned %s, not a tensor", what, name, luaL_typename(L, -1));
	} else {
		out = keep_graph ? ts_clone(*p) : ts_detach(*p);
	}
	strbuf_release(&call_what);
	sandbox_close(L);
	return out;
}

ts_tensor *luacam_method(struct luacam *lc, const char *name, const ts_tensor *a, const ts_tensor *g,
			 const ts_tensor *ha)
{
	const ts_tensor *args[3] = { a, g, ha };
	ts_tensor *s = call(lc, EXP_DEF_METHOD, name, args, 3, 0);
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
	ts_tensor *u = call(lc, EXP_DEF_UTILITY, name, args, 2, 1);
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
	ts_tensor *v = call(lc, EXP_DEF_METRIC, name, args, 4, 0);
	if (v && ts_numel(v) != ts_size(heat, 0)) {
		error("metric '%s' must return one value per image (%ld), not %ld", name, (long)ts_size(heat, 0),
		      (long)ts_numel(v));
		ts_free(v);
		return NULL;
	}
	return v;
}
