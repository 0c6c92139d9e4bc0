/*
 * lua.c - the Lua front end (see front.h): runs a spec in a fresh, sandboxed Lua 5.4 state and turns the
 * table given to experiment{} into the IR, exactly as the YAML front end reads the same keys. Lua keeps
 * no positions for table fields, so the position of a key, and of each item of a list written as a table
 * constructor, is found by scanning the spec's text.
 */
#include "dsl/front.h"
#include "dsl/keys.h"
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
#define SPEC_MAX_BYTES ((size_t)16 << 20) /* a larger spec is refused, as the YAML front end does */
#define KEY_DEPTH 4			/* mappings iterated inside one another */

struct keylist {
	const char **v; /* borrowed from the Lua strings of the table being walked */
	size_t nr, alloc;
};

/* Everything one run needs; the Lua state finds it as its allocator's userdata. */
struct lua_ctx {
	struct experiment *e;
	struct diag *d;
	const char *file;	/* e->file: positions point at it */
	int allow_unsafe;
	char *text;		/* the spec as read */
	size_t len;
	size_t *lines;		/* offset of each line's first byte */
	size_t nr_lines;
	const char *source;	/* "@file": the spec's chunk name, to tell its frames from load()ed ones */
	char short_src[LUA_IDSIZE];

	lua_State *L;		/* once created, for the allocator to say where a refusal happened */
	struct lua_cap mem;	/* the state's memory cap (xalloc_lua_capped) */
	int mem_line;
	struct sandbox_call call;	/* the spec's instruction budget and wall clock */
	struct strbuf what;		/* "the spec 'file'", for the watchdog */
	int over_budget, budget_line, last_line;
	int err_line;		/* set by the message handler */

	int called;		/* experiment{} seen */
	int call_line;
	size_t call_off;	/* start of the line of the experiment{} call */
	struct keylist keys[KEY_DEPTH];
	int depth;
};

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

/* ---------------------------------------------------------------------------------------------------
 * Positions: offsets into the spec's text, turned into line:col.
 */

static struct src_pos pos_at(const struct lua_ctx *c, size_t off)
{
	struct src_pos pos = { c->file, 0, 0 };
	size_t lo = 0, hi = c->nr_lines;

	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (c->lines[mid] <= off)
			lo = mid;
		else
			hi = mid;
	}
	pos.line = (int)lo + 1;
	pos.col = (int)(off - c->lines[lo]) + 1;
	return pos;
}

static struct src_pos pos_line(const struct lua_ctx *c, int line)
{
	struct src_pos pos = { c->file, line, 0 };
	return pos;
}

static size_t line_off(const struct lua_ctx *c, int line)
{
	if (line < 1 || (size_t)line > c->nr_lines)
		return 0;
	return c->lines[line - 1];
}

static int ident_char(int ch)
{
	return isalnum(ch) || ch == '_';
}

static int keyword_at(const struct lua_ctx *c, size_t i, const char *kw)
{
	size_t n = strlen(kw);
	return i + n <= c->len && !memcmp(c->text + i, kw, n) &&
	       (i == 0 || !ident_char((unsigned char)c->text[i - 1])) &&
	       (i + n == c->len || !ident_char((unsigned char)c->text[i + n]));
}

/* The level of a long bracket [[, [=[, [==[... that opens at b, or -1 if none does. */
static int long_bracket(const struct lua_ctx *c, size_t b)
{
	size_t i = b + 1;

	if (b >= c->len || c->text[b] != '[')
		return -1;
	while (i < c->len && c->text[i] == '=')
		i++;
	return i < c->len && c->text[i] == '[' ? (int)(i - b - 1) : -1;
}

/*
 * Past the string or comment that starts at b (short strings, -- comments, and long strings and comments
 * of any level: [[ ]], --[==[ ]==]), or b itself where none starts: braces, keys and names inside them are
 * not the spec's own.
 */
static size_t skip_literal(const struct lua_ctx *c, size_t b)
{
	const char *t = c->text;
	size_t n = c->len;
	int comment = t[b] == '-' && b + 1 < n && t[b + 1] == '-', level;

	if (comment)
		b += 2;
	if ((level = long_bracket(c, b)) >= 0) {
		for (b += (size_t)level + 2; b < n; b++) {
			size_t k = b + 1;
			if (t[b] != ']')
				continue;
			while (k < n && t[k] == '=' && k - b - 1 < (size_t)level)
				k++;
			if (k - b - 1 == (size_t)level && k < n && t[k] == ']')
				return k + 1;
		}
		return n;
	}
	if (comment) {
		while (b < n && t[b] != '\n')
			b++;
		return b;
	}
	if (t[b] == '"' || t[b] == '\'') {
		char q = t[b];
		for (b++; b < n && t[b] != q && t[b] != '\n'; b++)
			if (t[b] == '\\')
				b++;
		return b < n ? b + 1 : n;
	}
	return b;
}

/* Is t[j...] (after blanks) an assignment's '=' (not '==')? */
static int assigns(const struct lua_ctx *c, size_t j)
{
	const char *t = c->text;

	while (j < c->len && (t[j] == ' ' || t[j] == '\t'))
		j++;
	return j < c->len && t[j] == '=' && (j + 1 >= c->len || t[j + 1] != '=');
}

/*
 * The first `key =` or `["key"] =` at or after from (not `key ==`), outside strings and comments;
 * (size_t)-1 if none.
 */
static size_t scan_key(const struct lua_ctx *c, const char *key, size_t from)
{
	size_t n = strlen(key), i, after;
	const char *t = c->text;

	for (i = from; n && i + n <= c->len;) {
		if (t[i] == '[' && i + n + 3 < c->len && (t[i + 1] == '"' || t[i + 1] == '\'') &&
		    !memcmp(t + i + 2, key, n) && t[i + n + 2] == t[i + 1] && t[i + n + 3] == ']' &&
		    assigns(c, i + n + 4))
			return i;
		if ((after = skip_literal(c, i)) != i) {
			i = after;
			continue;
		}
		if (!memcmp(t + i, key, n) && (i == 0 || !ident_char((unsigned char)t[i - 1])) &&
		    (i + n == c->len || !ident_char((unsigned char)t[i + n])) && assigns(c, i + n))
			return i;
		/* the rest of an identifier is no key's start */
		if (ident_char((unsigned char)t[i]))
			while (i < c->len && ident_char((unsigned char)t[i]))
				i++;
		else
			i++;
	}
	return (size_t)-1;
}

/*
 * Where a key was written: searched after its owner's key (from), then after the experiment{} call, then
 * from the top (the table may have been built before the call); the call's line if never found.
 */
static struct src_pos key_pos(const struct lua_ctx *c, const char *key, size_t from, size_t *found)
{
	size_t off = scan_key(c, key, from);

	if (off == (size_t)-1 && from > c->call_off)
		off = scan_key(c, key, c->call_off);
	if (off == (size_t)-1)
		off = scan_key(c, key, 0);
	if (off == (size_t)-1) {
		if (found)
			*found = from;
		return pos_line(c, c->call_line);
	}
	if (found)
		*found = off;
	return pos_at(c, off);
}

/* Where a list item (a string literal or a number) was written, searched from *cursor, which advances. */
static struct src_pos item_pos(const struct lua_ctx *c, const char *s, size_t *cursor, struct src_pos dflt)
{
	size_t n = strlen(s), i;
	const char *t = c->text;

	for (i = *cursor; n && i + n + 2 <= c->len;) {
		size_t after;
		if ((t[i] == '"' || t[i] == '\'') && !memcmp(t + i + 1, s, n) && t[i + n + 1] == t[i]) {
			*cursor = i + n + 2;
			return pos_at(c, i);
		}
		if (isdigit((unsigned char)*s) && !memcmp(t + i, s, n) && !ident_char((unsigned char)t[i + n]) &&
		    (i == 0 || !ident_char((unsigned char)t[i - 1]))) {
			*cursor = i + n;
			return pos_at(c, i);
		}
		/* not inside another string, nor a comment */
		after = skip_literal(c, i);
		i = after != i ? after : i + 1;
	}
	return dflt;
}

/* ---------------------------------------------------------------------------------------------------
 * Reading Lua values, with the YAML front end's rules and messages (dsl/yaml.c), so that a spec and its
 * twin read alike. Only raw access: a spec's metamethods never run while the IR is built.
 */

/* The keys valid in one table; aliases share an id, as in dsl/yaml.c. */

struct where {
	const char *key;	/* the key as written, for messages */
	struct src_pos pos;
	size_t off;		/* where to search for keys nested under it */
};

static const char *type_name(lua_State *L, int v)
{
	switch (lua_type(L, v)) {
	case LUA_TNIL:
		return "nothing";
	case LUA_TBOOLEAN:
		return lua_toboolean(L, v) ? "true" : "false";
	case LUA_TNUMBER:
		return "a number";
	case LUA_TSTRING:
		return "a string";
	case LUA_TTABLE:
		return "a table";
	case LUA_TFUNCTION:
		return "a function";
	default:
		return luaL_typename(L, v);
	}
}

static void type_error(struct lua_ctx *c, lua_State *L, int v, const struct where *w, const char *expected)
{
	diag_error(c->d, w->pos, "expected %s for '%s', not %s", expected, w->key, type_name(L, v));
}

/* A table with exactly the keys 1..n (an empty table is a list too). */
static int is_list(lua_State *L, int t)
{
	lua_Unsigned n = lua_rawlen(L, t), count = 0;

	t = lua_absindex(L, t);

	lua_pushnil(L);
	while (lua_next(L, t)) {
		lua_Integer k;
		lua_pop(L, 1);
		if (!lua_isinteger(L, -1) || (k = lua_tointeger(L, -1)) < 1 || (lua_Unsigned)k > n) {
			lua_pop(L, 1);
			return 0;
		}
		count++;
	}
	return count == n;
}

static int is_mapping(lua_State *L, int t)
{
	return lua_type(L, t) == LUA_TTABLE && (!is_list(L, t) || !lua_rawlen(L, t));
}

/*
 * Report every key of table t not in keys[] (with the nearest valid one) and every key that is no name
 * (a list item where key = value entries belong). where is NULL for the experiment table itself.
 */
static void check_keys(struct lua_ctx *c, lua_State *L, int t, const char *where, const struct exp_key *keys,
		       size_t nkeys, const struct where *w)
{
	const char *cands[32], *near[1];
	size_t i;
	int listed = 0;

	t = lua_absindex(L, t);

	for (i = 0; i < nkeys && i < ARRAY_SIZE(cands); i++)
		cands[i] = keys[i].name;
	lua_pushnil(L);
	while (lua_next(L, t)) {
		const char *k;
		lua_pop(L, 1);
		if (lua_type(L, -1) != LUA_TSTRING) {
			if (!listed++)
				diag_error(c->d, w->pos, "expected a key name%s%s%s, not a list item", where ? " in '" : "",
					   where ? where : "", where ? "'" : "");
			continue;
		}
		k = lua_tostring(L, -1);
		for (i = 0; i < nkeys; i++)
			if (!strcmp(keys[i].name, k))
				break;
		if (i == nkeys) {
			struct strbuf in = STRBUF_INIT;
			struct src_pos pos = key_pos(c, k, w->off, NULL);
			const char *home = exp_key_home(where, k);
			if (where)
				strbuf_addf(&in, " in '%s'", where);
			if (home)
				diag_error(c->d, pos, "unknown key '%s'%s: it is a key of %s", k, in.buf,
					   home);
			else if (suggest_nearest(k, cands, nkeys, near, 1))
				diag_error(c->d, pos, "unknown key '%s'%s; did you mean '%s'?", k, in.buf, near[0]);
			else
				diag_error(c->d, pos, "unknown key '%s'%s", k, in.buf);
			strbuf_release(&in);
		}
	}
}

/*
 * Push the value of the key with this id, under whichever of its spellings (utility, utilities) it was
 * written, and fill w with where; LUA_TNIL (nil pushed) if absent. Two spellings: the one written second
 * is reported and ignored, as the YAML front end does.
 */
static int field(struct lua_ctx *c, lua_State *L, int t, const struct exp_key *keys, size_t nkeys, int id,
		 const struct where *owner, struct where *w)
{
	int type = LUA_TNIL;
	size_t i;

	t = lua_absindex(L, t);

	lua_pushnil(L);
	for (i = 0; i < nkeys; i++) {
		struct where x;
		int ty;
		if (keys[i].id != id)
			continue;
		lua_pushstring(L, keys[i].name);
		ty = lua_rawget(L, t);
		if (ty == LUA_TNIL) {
			lua_pop(L, 1);
			continue;
		}
		x.key = keys[i].name;
		x.pos = key_pos(c, keys[i].name, owner->off, &x.off);
		if (type == LUA_TNIL) {
			type = ty;
			*w = x;
			lua_replace(L, -2);
			continue;
		}
		if (x.off < w->off) { /* this spelling came first */
			diag_error(c->d, w->pos, "duplicate key '%s' (first given at line %d)", w->key, x.pos.line);
			type = ty;
			*w = x;
			lua_replace(L, -2);
		} else {
			diag_error(c->d, x.pos, "duplicate key '%s' (first given at line %d)", x.key, w->pos.line);
			lua_pop(L, 1);
		}
	}
	return type;
}

/* The string keys of t, sorted, in the next free key list; NULL (and an error) if t has another key. */
static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static struct keylist *sorted_keys(struct lua_ctx *c, lua_State *L, int t, const struct where *w, const char *what)
{
	struct keylist *kl;

	t = lua_absindex(L, t);

	if (c->depth >= KEY_DEPTH)
		return NULL;
	kl = &c->keys[c->depth++];
	kl->nr = 0;
	lua_pushnil(L);
	while (lua_next(L, t)) {
		lua_pop(L, 1);
		if (lua_type(L, -1) != LUA_TSTRING) {
			lua_pop(L, 1);
			c->depth--;
			diag_error(c->d, w->pos, "expected %s in '%s', not %s", what, w->key, type_name(L, -1));
			return NULL;
		}
		ALLOC_GROW(kl->v, kl->nr + 1, kl->alloc);
		kl->v[kl->nr++] = lua_tostring(L, -1);
	}
	if (kl->nr > 1) /* qsort with a NULL base is undefined even for no elements */
		qsort(kl->v, kl->nr, sizeof(*kl->v), cmp_str);
	return kl;
}

/*
 * A scalar as text, as YAML has it: strings as they are, numbers as Lua writes them (targets = { 243 };
 * 3.0 stays "3.0", as YAML's 3.0 does), NaN and infinities spelt alike on every platform.
 */
static char *scalar_text(lua_State *L, int v)
{
	struct strbuf sb = STRBUF_INIT;

	if (lua_type(L, v) == LUA_TSTRING)
		return xstrdup(lua_tostring(L, v));
	if (lua_isinteger(L, v)) {
		strbuf_addf(&sb, "%lld", (long long)lua_tointeger(L, v));
	} else if (lua_type(L, v) == LUA_TNUMBER) {
		double x = (double)lua_tonumber(L, v);
		if (isnan(x) || isinf(x)) {
			strbuf_addstr(&sb, isnan(x) ? "nan" : x < 0 ? "-inf" : "inf");
		} else {
			lua_pushvalue(L, v);
			strbuf_addstr(&sb, lua_tostring(L, -1)); /* on the copy: v stays a number */
			lua_pop(L, 1);
		}
	} else {
		return NULL;
	}
	return strbuf_detach(&sb, NULL);
}

/* A scalar that is not what w's key wants, as YAML's front end reports it ("not '8.5'", "not 'yes'"). */
static void value_error(struct lua_ctx *c, lua_State *L, int v, const struct where *w, const char *expected,
			int boolean)
{
	char *s = scalar_text(L, v);

	if (s)
		diag_error(c->d, w->pos, "expected %s for '%s', not '%s'%s", expected, w->key, s,
			   lua_type(L, v) == LUA_TSTRING ? exp_string_hint(s, boolean) : "");
	else
		type_error(c, L, v, w, expected);
	free(s);
}

/* An integer in [min, max]; a float with an integral value counts (1e3). */
static int get_int(struct lua_ctx *c, lua_State *L, int v, const struct where *w, long long min, long long max,
		   long long *out)
{
	int isint = 0;
	lua_Integer i = 0;

	if (lua_type(L, v) == LUA_TNUMBER)
		i = lua_tointegerx(L, v, &isint);
	if (!isint) {
		value_error(c, L, v, w, "an integer", 0);
		return -1;
	}
	if (exp_check_range(c->d, w->pos, w->key, i, min, max) < 0)
		return -1;
	*out = i;
	return 0;
}

static int get_u64(struct lua_ctx *c, lua_State *L, int v, const struct where *w, uint64_t *out)
{
	int isint = 0;
	lua_Integer i = 0;

	if (lua_type(L, v) == LUA_TNUMBER)
		i = lua_tointegerx(L, v, &isint);
	if (!isint || i < 0) {
		value_error(c, L, v, w, "a non-negative integer", 0);
		return -1;
	}
	*out = (uint64_t)i;
	return 0;
}

static int get_bool(struct lua_ctx *c, lua_State *L, int v, const struct where *w, int *out)
{
	if (lua_type(L, v) != LUA_TBOOLEAN) {
		value_error(c, L, v, w, "true or false", 1);
		return -1;
	}
	*out = lua_toboolean(L, v);
	return 0;
}

/* Three numbers (one per channel), or one number for all three; each finite. */
static void get_floats3(struct lua_ctx *c, lua_State *L, int v, const struct where *w, float out[3], int *have)
{
	const char *hint = "";
	double x[3];
	int i;

	v = lua_absindex(L, v);

	if (lua_type(L, v) == LUA_TNUMBER) {
		x[0] = (double)lua_tonumber(L, v);
		if (exp_check_float(c->d, w->pos, w->key, x[0]) < 0)
			return;
		out[0] = out[1] = out[2] = (float)x[0];
		*have = 1;
		return;
	}
	if (lua_type(L, v) == LUA_TSTRING)
		hint = exp_string_hint(lua_tostring(L, v), 0);
	if (lua_type(L, v) == LUA_TTABLE && is_list(L, v) && lua_rawlen(L, v) == 3) {
		for (i = 0; i < 3; i++) {
			int t = lua_rawgeti(L, v, i + 1);
			x[i] = (double)lua_tonumber(L, -1);
			if (t == LUA_TSTRING && !*hint)
				hint = exp_string_hint(lua_tostring(L, -1), 0);
			lua_pop(L, 1);
			if (t != LUA_TNUMBER)
				break;
		}
		if (i == 3) {
			for (i = 0; i < 3; i++)
				if (exp_check_float(c->d, w->pos, w->key, x[i]) < 0)
					return;
			for (i = 0; i < 3; i++)
				out[i] = (float)x[i];
			*have = 1;
			return;
		}
	}
	diag_error(c->d, w->pos, "expected 3 numbers (or one) for '%s'%s", w->key, hint);
}

/* The next '{' from b that opens a table (not one in a string or comment); the text's end if none. */
static size_t next_brace(const struct lua_ctx *c, size_t b)
{
	while (b < c->len) {
		size_t after = skip_literal(c, b);
		if (after != b)
			b = after;
		else if (c->text[b] == '{')
			return b;
		else
			b++;
	}
	return c->len;
}

/* Just past the '}' that closes the table whose '{' is at b; the text's end if it is not closed. */
static size_t table_end(const struct lua_ctx *c, size_t b)
{
	size_t depth = 0;

	while (b < c->len) {
		size_t after = skip_literal(c, b);
		if (after != b) {
			b = after;
			continue;
		}
		if (c->text[b] == '{')
			depth++;
		else if (c->text[b] == '}' && --depth == 0)
			return b + 1;
		b++;
	}
	return c->len;
}

/*
 * Where the i-th table of a list starts: the next '{' after the previous item (the list's own brace
 * skipped for the first). A guess, like every position here, good for specs written as tables; the
 * cursor moves past the item's closing brace, so that tables nested in it are not taken for the next.
 */
static struct where next_item(const struct lua_ctx *c, const struct where *list, size_t *cursor, size_t i)
{
	struct where item = *list;
	size_t b = next_brace(c, *cursor);

	if (i == 1 && b < c->len)
		b = next_brace(c, b + 1);
	if (b < c->len) {
		item.pos = pos_at(c, b);
		item.off = b;
		*cursor = table_end(c, b);
	}
	return item;
}

/* Past the blanks, line breaks and comments at b. */
static size_t skip_space(const struct lua_ctx *c, size_t b)
{
	size_t after;

	while (b < c->len) {
		if (isspace((unsigned char)c->text[b]))
			b++;
		else if (c->text[b] == '-' && (after = skip_literal(c, b)) != b)
			b = after;
		else
			break;
	}
	return b;
}

/*
 * Where the value of w's key starts: past `key =` or `["key"] =` and the blanks and comments after it;
 * (size_t)-1 where the key is not written at w->off (it was not found in the text).
 */
static size_t value_off(const struct lua_ctx *c, const struct where *w)
{
	const char *t = c->text;
	size_t n = strlen(w->key), b = w->off;

	if (keyword_at(c, b, w->key))
		b += n;
	else if (b + n + 4 <= c->len && t[b] == '[' && (t[b + 1] == '"' || t[b + 1] == '\'') &&
		 !memcmp(t + b + 2, w->key, n) && t[b + n + 2] == t[b + 1] && t[b + n + 3] == ']')
		b += n + 4;
	else
		return (size_t)-1;
	if (!assigns(c, b))
		return (size_t)-1;
	while (t[b] != '=')
		b++;
	return skip_space(c, b + 1);
}

/* Where the item of a table constructor that starts at b ends: its ',', ';' or the closing '}'. */
static size_t item_end(const struct lua_ctx *c, size_t b)
{
	size_t depth = 0, after;

	while (b < c->len) {
		char ch = c->text[b];
		if ((after = skip_literal(c, b)) != b) {
			b = after;
			continue;
		}
		if (ch == '{' || ch == '(' || ch == '[')
			depth++;
		else if ((ch == '}' || ch == ')' || ch == ']') && depth)
			depth--;
		else if (ch == ',' || ch == ';' || ch == '}')
			return b;
		else if (ch == ')' || ch == ']')
			break;
		b++;
	}
	return c->len;
}

/*
 * Where each item of the list at stack index v starts in the text, if w's value is written there as a
 * table constructor of exactly its items: then an item of any kind (a table, true, -3, a long string,
 * "a" .. "b") is placed where it is written, as YAML places it. NULL (the caller searches for each item
 * instead) where the value is an expression (a variable, a call), the constructor has keyed fields or
 * another number of items ({ table.unpack(t) }), or a plain string literal differs from its item: the
 * key found was not this list's. Free the array.
 */
static size_t *list_offsets(const struct lua_ctx *c, lua_State *L, int v, const struct where *w)
{
	const char *t = c->text;
	size_t n = lua_rawlen(L, v), nr = 0, b = value_off(c, w), *off;

	if (b >= c->len || t[b] != '{')
		return NULL;
	off = xcalloc(n + 1, sizeof(*off));
	for (b = skip_space(c, b + 1); b < c->len && t[b] != '}'; b = skip_space(c, b + 1)) {
		size_t id = b;
		if (nr == n)
			goto mismatch;
		/* a keyed field, name = value or [k] = value, is no item of a list */
		while (id < c->len && ident_char((unsigned char)t[id]))
			id++;
		if ((id > b && !isdigit((unsigned char)t[b]) && assigns(c, id)) ||
		    (t[b] == '[' && long_bracket(c, b) < 0))
			goto mismatch;
		off[nr++] = b;
		if ((b = item_end(c, b)) >= c->len)
			goto mismatch;
		if (t[b] == '}')
			break;
	}
	if (nr != n || b >= c->len)
		goto mismatch;
	for (nr = 0; nr < n; nr++) {
		size_t q = off[nr] + 1, end = skip_literal(c, off[nr]);
		int same = 1;
		/* an item that is one short string without escapes, "name" */
		if (lua_rawgeti(L, v, (lua_Integer)nr + 1) == LUA_TSTRING &&
		    (t[q - 1] == '"' || t[q - 1] == '\'') && !memchr(t + q, '\\', end - q) &&
		    skip_space(c, end) == item_end(c, q - 1)) {
			const char *s = lua_tostring(L, -1);
			size_t len = strlen(s);
			same = q + len < c->len && !memcmp(t + q, s, len) && t[q + len] == t[q - 1];
		}
		lua_pop(L, 1);
		if (!same)
			goto mismatch;
	}
	return off;
mismatch:
	free(off);
	return NULL;
}

/*
 * Where item i (from 1) of the list written at w was written, the item at the top of the stack: where
 * list_offsets found it (off), else searched from *cursor (a table past the item before, a string or a
 * number by its text), else at the list's key.
 */
static struct where list_item(const struct lua_ctx *c, lua_State *L, const struct where *w, const size_t *off,
			      size_t i, size_t *cursor)
{
	struct where item = *w;
	char *s;

	if (off) {
		item.pos = pos_at(c, off[i - 1]);
		item.off = off[i - 1];
	} else if (lua_type(L, -1) == LUA_TTABLE) {
		item = next_item(c, w, cursor, i);
	} else if ((s = scalar_text(L, -1))) {
		item.pos = item_pos(c, s, cursor, w->pos);
		free(s);
	}
	return item;
}

/* ---- lists of names ---- */

/* A string "a, b, c" is a list too, as in YAML; each name is placed where it starts in the literal. */
static void split_names(struct lua_ctx *c, const char *s, size_t *cursor, struct src_pos dflt,
			struct exp_names *l)
{
	struct src_pos base = item_pos(c, s, cursor, dflt);
	int found = base.line != dflt.line || base.col != dflt.col;

	exp_names_split(l, s, base, found ? 1 : -1);
}

/*
 * A list of names, or one string (comma-separated). On any error the list keeps its default, so that
 * validation does not report the same key again.
 */
static void get_names(struct lua_ctx *c, lua_State *L, int v, const struct where *w, const char *key,
		      struct exp_name **list, size_t *nr)
{
	struct exp_names l = EXP_NAMES_INIT;
	size_t i, cursor = w->off;

	v = lua_absindex(L, v);

	if (lua_type(L, v) == LUA_TSTRING || lua_type(L, v) == LUA_TNUMBER) {
		char *s = scalar_text(L, v);
		split_names(c, s, &cursor, w->pos, &l);
		free(s);
	} else if (lua_type(L, v) == LUA_TTABLE && is_list(L, v)) {
		size_t len = lua_rawlen(L, v), *off = list_offsets(c, L, v, w);
		for (i = 1; i <= len; i++) {
			struct where item;
			char *s;
			lua_rawgeti(L, v, (lua_Integer)i);
			item = list_item(c, L, w, off, i, &cursor);
			s = scalar_text(L, -1);
			if (!s) {
				diag_error(c->d, item.pos, "expected a name in '%s', not %s", key,
					   type_name(L, -1));
				exp_names_skip(&l, item.pos);
			} else {
				exp_names_push(&l, s, strlen(s), item.pos);
				free(s);
			}
			lua_pop(L, 1);
		}
		free(off);
		if (!l.n) {
			diag_error(c->d, w->pos, "empty list for '%s'", key);
			l.bad = 1;
		}
	} else {
		diag_error(c->d, w->pos, "expected a list of names for '%s', not %s", key, type_name(L, v));
		l.bad = 1;
	}
	exp_names_end(&l, key, c->d, list, nr);
}

/* A string key checked by experiment_set_choice (device, precision, layout...), copied into *field. */
static void get_choice_str(struct lua_ctx *c, lua_State *L, int v, const struct where *w,
			   const struct exp_choice *ch, char **field)
{
	char expected[96], *s = scalar_text(L, v); /* a number too, as YAML's scalars */

	if (!s) {
		snprintf(expected, sizeof(expected), "a %s (%s)", ch->what, ch->use);
		type_error(c, L, v, w, expected);
		return;
	}
	experiment_set_choice(ch, s, field, c->d, w->pos);
	free(s);
}

/* Read the value at v (written at w) into the field f of ud (its section's struct), as keys.h describes it. */
static void read_field(struct lua_ctx *c, lua_State *L, int v, const struct where *w,
		       const struct exp_field *f, void *ud)
{
	char *at = (char *)ud + f->off, *aux = (char *)ud + f->aux, *str;
	long long x;

	switch (f->type) {
	case EXP_FIELD_STR:
		if ((str = scalar_text(L, v))) {
			free(*(char **)at);
			*(char **)at = str;
		} else {
			type_error(c, L, v, w, f->required ? f->required : "a string");
		}
		break;
	case EXP_FIELD_INT:
		if (!get_int(c, L, v, w, f->min, f->max, &x))
			*(int *)at = (int)x;
		break;
	case EXP_FIELD_SIZE:
		if (!get_int(c, L, v, w, f->min, f->max, &x))
			*(size_t *)at = (size_t)x;
		break;
	case EXP_FIELD_U64:
		get_u64(c, L, v, w, (uint64_t *)at);
		break;
	case EXP_FIELD_BOOL:
		get_bool(c, L, v, w, (int *)at);
		break;
	case EXP_FIELD_FLOATS3:
		get_floats3(c, L, v, w, (float *)at, (int *)aux);
		break;
	case EXP_FIELD_CHOICE:
		get_choice_str(c, L, v, w, f->choice, (char **)at);
		break;
	case EXP_FIELD_NAMES:
		get_names(c, L, v, w, w->key, (struct exp_name **)at, (size_t *)aux);
		break;
	}
	if (f->sets_pos) /* where the value was written, valid or not: the later errors point there */
		*(struct src_pos *)((char *)ud + f->pos) = w->pos;
}

#define FIELDS(a) a, ARRAY_SIZE(a)

/* Every key of table t (written at owner) that has a field, read into ud. */
static void read_fields(struct lua_ctx *c, lua_State *L, int t, const struct exp_key *keys, size_t nkeys,
			const struct exp_field *fields, size_t nfields, const struct where *owner, void *ud)
{
	struct where w;
	size_t i;

	for (i = 0; i < nfields; i++) {
		if (field(c, L, t, keys, nkeys, fields[i].id, owner, &w) != LUA_TNIL)
			read_field(c, L, lua_gettop(L), &w, &fields[i], ud);
		lua_pop(L, 1);
	}
}

/* ---------------------------------------------------------------------------------------------------
 * The sections of the experiment table, as docs/language.md describes them.
 */

/* {path, layout} (a mapping's value, nkeys 2) or {name, path, layout} (a list's item, nkeys 3). */
static void layer_table(struct lua_ctx *c, lua_State *L, int v, struct exp_layer *l, size_t nkeys,
			const struct where *w)
{
	v = lua_absindex(L, v);

	check_keys(c, L, v, "layers", exp_layer_keys, nkeys, w);
	read_fields(c, L, v, exp_layer_keys, nkeys, FIELDS(exp_layer_fields), w, l);
}

static struct exp_layer *new_layer(struct exp_model *m, struct src_pos pos)
{
	struct exp_layer *l;
	m->layers = xrealloc(m->layers, (m->nr_layers + 1) * sizeof(*m->layers));
	l = &m->layers[m->nr_layers++];
	memset(l, 0, sizeof(*l));
	l->pos = pos;
	return l;
}

/* layers: name -> path | {path, layout} (sorted by name), or a list of paths | {name, path, layout}. */
static void get_layers(struct lua_ctx *c, lua_State *L, int v, struct exp_model *m, const struct where *w)
{
	size_t i, n, cursor = w->off;

	v = lua_absindex(L, v);

	if (lua_type(L, v) == LUA_TSTRING || (lua_type(L, v) == LUA_TTABLE && is_list(L, v) && lua_rawlen(L, v))) {
		int one = lua_type(L, v) == LUA_TSTRING;
		size_t *off = one ? NULL : list_offsets(c, L, v, w);
		n = one ? 1 : lua_rawlen(L, v);
		for (i = 1; i <= n; i++) {
			struct exp_layer *l;
			struct where item;
			int lv;
			if (one)
				lua_pushvalue(L, v);
			else
				lua_rawgeti(L, v, (lua_Integer)i);
			item = list_item(c, L, w, off, i, &cursor);
			lv = lua_gettop(L);
			l = new_layer(m, item.pos);
			if (is_mapping(L, lv))
				layer_table(c, L, lv, l, ARRAY_SIZE(exp_layer_keys), &item);
			else if (lua_type(L, lv) == LUA_TSTRING)
				l->path = xstrdup(lua_tostring(L, lv));
			else
				diag_error(c->d, item.pos, "expected a module path or {name, path, layout} in 'layers', not %s",
					   type_name(L, lv));
			if (!l->name && l->path)
				l->name = xstrdup(l->path);
			lua_pop(L, 1);
		}
		free(off);
		return;
	}
	if (!is_mapping(L, v)) {
		type_error(c, L, v, w, "a mapping of layer names to module paths");
		return;
	}
	{
		struct keylist *kl = sorted_keys(c, L, v, w, "a layer name");
		if (!kl)
			return;
		for (i = 0; i < kl->nr; i++) {
			struct where item;
			struct exp_layer *l;
			const char *name = kl->v[i];
			lua_pushstring(L, name);
			lua_rawget(L, v);
			item.key = name;
			item.pos = key_pos(c, name, w->off, &item.off);
			l = new_layer(m, item.pos);
			l->name = xstrdup(name);
			if (is_mapping(L, -1))
				layer_table(c, L, lua_gettop(L), l, ARRAY_SIZE(exp_layer_keys) - 1, &item);
			else if (lua_type(L, -1) == LUA_TSTRING)
				l->path = xstrdup(lua_tostring(L, -1));
			else
				diag_error(c->d, item.pos, "expected a module path or {path, layout} for layer '%s', not %s",
					   name, type_name(L, -1));
			lua_pop(L, 1);
		}
		c->depth--;
	}
}

static void get_model(struct lua_ctx *c, lua_State *L, int v, const char *name, const struct where *w)
{
	struct experiment *e = c->e;
	struct exp_model *m;
	struct where f;

	v = lua_absindex(L, v);

	e->models = xrealloc(e->models, (e->nr_models + 1) * sizeof(*e->models));
	m = &e->models[e->nr_models++];
	memset(m, 0, sizeof(*m));
	m->input_size = m->resize = -1; /* from the model's sidecar, else the images as they are */
	m->pos = w->pos;
	if (name)
		m->name = xstrdup(name);
	if (!is_mapping(L, v)) {
		type_error(c, L, v, w, "a mapping with 'file' and 'layers'");
		return;
	}
	check_keys(c, L, v, "model", exp_model_keys, ARRAY_SIZE(exp_model_keys), w);
	read_fields(c, L, v, FIELDS(exp_model_keys), FIELDS(exp_model_fields), w, m);
	if (name)
		exp_model_keep_key(m, name, c->d);
	if (field(c, L, v, exp_model_keys, ARRAY_SIZE(exp_model_keys), M_LAYERS, w, &f) != LUA_TNIL)
		get_layers(c, L, lua_gettop(L), m, &f);
	lua_pop(L, 1);
}

/* models: a list of settings, or a mapping name -> settings (sorted by name). */
static void get_models(struct lua_ctx *c, lua_State *L, int v, const struct where *w)
{
	size_t i, n;

	v = lua_absindex(L, v);

	if (lua_type(L, v) != LUA_TTABLE) {
		type_error(c, L, v, w, "a list of models");
		return;
	}
	if (is_list(L, v)) {
		size_t cursor = w->off, *off = list_offsets(c, L, v, w);
		n = lua_rawlen(L, v);
		for (i = 1; i <= n; i++) {
			struct where item;
			lua_rawgeti(L, v, (lua_Integer)i);
			item = list_item(c, L, w, off, i, &cursor);
			item.key = "models";
			get_model(c, L, lua_gettop(L), NULL, &item);
			lua_pop(L, 1);
		}
		free(off);
		return;
	}
	{
		struct keylist *kl = sorted_keys(c, L, v, w, "a model name");
		if (!kl)
			return;
		for (i = 0; i < kl->nr; i++) {
			struct where item;
			const char *name = kl->v[i];
			lua_pushstring(L, name);
			lua_rawget(L, v);
			item.key = name;
			item.pos = key_pos(c, name, w->off, &item.off);
			get_model(c, L, lua_gettop(L), name, &item);
			lua_pop(L, 1);
		}
		c->depth--;
	}
}

/* data: {path, labels, limit, shuffle, seed}, or just the path. */
static void get_data(struct lua_ctx *c, lua_State *L, int v, const struct where *w)
{
	struct exp_data *dt = &c->e->data;

	v = lua_absindex(L, v);

	dt->pos = w->pos;
	if (lua_type(L, v) == LUA_TSTRING) {
		free(dt->path);
		dt->path = xstrdup(lua_tostring(L, v));
		return;
	}
	if (!is_mapping(L, v)) {
		type_error(c, L, v, w, "a mapping with 'path'");
		return;
	}
	check_keys(c, L, v, "data", exp_data_keys, ARRAY_SIZE(exp_data_keys), w);
	read_fields(c, L, v, FIELDS(exp_data_keys), FIELDS(exp_data_fields), w, dt);
}

/* statistics: {bootstrap, alpha, seed, test}; an empty table asks for the defaults. */
static void get_statistics(struct lua_ctx *c, lua_State *L, int v, const struct where *w)
{
	struct exp_statistics *st = &c->e->statistics;

	v = lua_absindex(L, v);
	st->pos = w->pos;
	if (!is_mapping(L, v)) {
		type_error(c, L, v, w, "a mapping with 'bootstrap', 'alpha', 'seed' or 'test'");
		return;
	}
	st->on = 1;
	check_keys(c, L, v, "statistics", exp_statistics_keys, ARRAY_SIZE(exp_statistics_keys), w);
	read_fields(c, L, v, FIELDS(exp_statistics_keys), FIELDS(exp_statistics_fields), w, st);
}

static void get_exclude(struct lua_ctx *c, lua_State *L, int v, const struct where *w)
{
	struct experiment *e = c->e;
	struct exp_exclude *x;

	v = lua_absindex(L, v);

	if (!is_mapping(L, v)) {
		type_error(c, L, v, w, "a mapping such as {method = \"randomcam\", utility = \"logit\"}");
		return;
	}
	e->excludes = xrealloc(e->excludes, (e->nr_excludes + 1) * sizeof(*e->excludes));
	x = &e->excludes[e->nr_excludes++];
	memset(x, 0, sizeof(*x));
	x->pos = w->pos;
	check_keys(c, L, v, "exclude", exp_exclude_keys, ARRAY_SIZE(exp_exclude_keys), w);
	read_fields(c, L, v, FIELDS(exp_exclude_keys), FIELDS(exp_exclude_fields), w, x);
}

/* exclude: a list of mappings, or one mapping. */
static void get_excludes(struct lua_ctx *c, lua_State *L, int v, const struct where *w)
{
	size_t i, n, cursor = w->off, *off;

	v = lua_absindex(L, v);

	if (is_mapping(L, v) && lua_rawlen(L, v) == 0 && !is_list(L, v)) {
		get_exclude(c, L, v, w);
		return;
	}
	if (lua_type(L, v) != LUA_TTABLE || !is_list(L, v)) {
		type_error(c, L, v, w, "a list of {model, layer, method, utility, target}");
		return;
	}
	n = lua_rawlen(L, v);
	off = list_offsets(c, L, v, w);
	for (i = 1; i <= n; i++) {
		struct where item;
		lua_rawgeti(L, v, (lua_Integer)i);
		item = list_item(c, L, w, off, i, &cursor);
		get_exclude(c, L, lua_gettop(L), &item);
		lua_pop(L, 1);
	}
	free(off);
}

static void get_zip(struct lua_ctx *c, lua_State *L, int v, const struct where *w)
{
	struct exp_names l = EXP_NAMES_INIT;
	size_t i, cursor = w->off;

	v = lua_absindex(L, v);

	if (lua_type(L, v) == LUA_TSTRING) {
		split_names(c, lua_tostring(L, v), &cursor, w->pos, &l);
	} else if (lua_type(L, v) == LUA_TTABLE && is_list(L, v)) {
		size_t len = lua_rawlen(L, v), *off = list_offsets(c, L, v, w);
		for (i = 1; i <= len; i++) {
			struct where item;
			lua_rawgeti(L, v, (lua_Integer)i);
			item = list_item(c, L, w, off, i, &cursor);
			if (lua_type(L, -1) == LUA_TSTRING) {
				const char *s = lua_tostring(L, -1);
				exp_names_push(&l, s, strlen(s), item.pos);
			} else {
				diag_error(c->d, item.pos, "expected a dimension name in 'zip', not %s",
					   type_name(L, -1));
				l.bad = 1;
			}
			lua_pop(L, 1);
		}
		free(off);
	} else {
		type_error(c, L, v, w, "a list of dimensions (model, layer, method, utility, target)");
		return;
	}
	exp_names_zip(&l, c->e, c->d);
}

static void get_grid(struct lua_ctx *c, lua_State *L, int v, const struct where *w)
{
	struct where f;

	v = lua_absindex(L, v);

	if (!is_mapping(L, v)) {
		type_error(c, L, v, w, "a mapping with 'exclude' or 'zip'");
		return;
	}
	check_keys(c, L, v, "grid", exp_grid_keys, ARRAY_SIZE(exp_grid_keys), w);
	if (field(c, L, v, exp_grid_keys, ARRAY_SIZE(exp_grid_keys), G_EXCLUDE, w, &f) != LUA_TNIL)
		get_excludes(c, L, lua_gettop(L), &f);
	lua_pop(L, 1);
	if (field(c, L, v, exp_grid_keys, ARRAY_SIZE(exp_grid_keys), G_ZIP, w, &f) != LUA_TNIL)
		get_zip(c, L, lua_gettop(L), &f);
	lua_pop(L, 1);
}

/* ---------------------------------------------------------------------------------------------------
 * User definitions: method(name, fn) and friends, and define = { methods = { name = code } }.
 */

static const char *const def_kinds[] = { "method", "utility", "metric" };

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
	a = line_off(c, ar.linedefined);
	a_end = (size_t)ar.linedefined < c->nr_lines ? line_off(c, ar.linedefined + 1) : c->len;
	b = line_off(c, ar.lastlinedefined);
	b_end = (size_t)ar.lastlinedefined < c->nr_lines ? line_off(c, ar.lastlinedefined + 1) : c->len;
	push_dump(L, f);
	for (p = a; p < a_end && !out; p++) {
		size_t body;
		if (!keyword_at(c, p, "function"))
			continue;
		/* skip a name: function t.f(...) */
		for (body = p + 8; body < a_end && (isspace((unsigned char)c->text[body]) ||
						    ident_char((unsigned char)c->text[body]) || c->text[body] == '.');
		     body++)
			;
		if (body >= c->len || c->text[body] != '(')
			continue;
		for (q = b_end; q-- > b && !out;) {
			luaL_Buffer buf;
			int i;
			if (q + 3 <= body || !keyword_at(c, q, "end"))
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
static void define_function(struct lua_ctx *c, lua_State *L, enum exp_def_kind kind, const char *name, int f,
			    struct src_pos pos)
{
	const char *up;
	char *src;
	int i, line = pos.line, col = 0;

	if (lua_type(L, f) != LUA_TFUNCTION || lua_iscfunction(L, f)) {
		diag_error(c->d, pos, "%s '%s': expected a Lua function, not %s", def_kinds[kind], name,
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
				   def_kinds[kind], name, up, up);
			return;
		}
	}
	src = function_source(c, L, f, &line, &col);
	if (!src) {
		diag_error(c->d, pos, "cannot find the source of %s '%s': write it as %s(\"%s\", function(...) ... end)",
			   def_kinds[kind], name, def_kinds[kind], name);
		return;
	}
	pos.line = line;
	pos.col = col;
	add_def(c, kind, name, src, pos);
}

static int l_define(lua_State *L)
{
	struct lua_ctx *c = ctx_of(L);
	enum exp_def_kind kind = (enum exp_def_kind)lua_tointeger(L, lua_upvalueindex(1));
	struct src_pos pos = pos_line(c, spec_line(L, 1));

	if (lua_type(L, 1) != LUA_TSTRING || lua_type(L, 2) != LUA_TFUNCTION) {
		diag_error(c->d, pos, "%s expects a name and a function: %s(\"name\", function(...) ... end)",
			   def_kinds[kind], def_kinds[kind]);
		return 0;
	}
	define_function(c, L, kind, lua_tostring(L, 1), 2, pos);
	return 0;
}

/* define = { methods = { name = "return function(A, G, HA) ... end" or function(A, G, HA) ... end } } */
static void get_define(struct lua_ctx *c, lua_State *L, int v, const struct where *w)
{
	struct where f;
	int kind;
	size_t i;

	v = lua_absindex(L, v);

	if (!is_mapping(L, v)) {
		type_error(c, L, v, w, "a mapping with 'methods', 'utilities' or 'metrics'");
		return;
	}
	check_keys(c, L, v, "define", exp_define_keys, ARRAY_SIZE(exp_define_keys), w);
	for (kind = 0; kind < 3; kind++) {
		struct keylist *kl;
		if (field(c, L, v, exp_define_keys, ARRAY_SIZE(exp_define_keys), kind, w, &f) == LUA_TNIL) {
			lua_pop(L, 1);
			continue;
		}
		if (!is_mapping(L, -1)) {
			type_error(c, L, -1, &f, "a mapping of names to Lua code");
			lua_pop(L, 1);
			continue;
		}
		if (!(kl = sorted_keys(c, L, lua_gettop(L), &f, "a name"))) {
			lua_pop(L, 1);
			continue;
		}
		for (i = 0; i < kl->nr; i++) {
			struct where item;
			const char *name = kl->v[i];
			lua_pushstring(L, name);
			lua_rawget(L, -2);
			item.key = name;
			item.pos = key_pos(c, name, f.off, &item.off);
			if (lua_type(L, -1) == LUA_TSTRING)
				add_def(c, (enum exp_def_kind)kind, name, xstrdup(lua_tostring(L, -1)), item.pos);
			else if (lua_type(L, -1) == LUA_TFUNCTION)
				define_function(c, L, (enum exp_def_kind)kind, name, lua_gettop(L), item.pos);
			else
				type_error(c, L, -1, &item, "Lua code (a string) or a function");
			lua_pop(L, 1);
		}
		c->depth--;
		lua_pop(L, 1);
	}
}

/* ---------------------------------------------------------------------------------------------------
 * outputs and the top level.
 */

/* figures: a list of {image, by} or of images. */
static void get_figures(struct lua_ctx *c, lua_State *L, int v, const struct where *w)
{
	struct experiment *e = c->e;
	size_t i, n, cursor = w->off, *off;

	v = lua_absindex(L, v);

	if (lua_type(L, v) != LUA_TTABLE || !is_list(L, v)) {
		type_error(c, L, v, w, "a list of {image, by}");
		return;
	}
	n = lua_rawlen(L, v);
	off = list_offsets(c, L, v, w);
	for (i = 1; i <= n; i++) {
		struct exp_figure *fig;
		struct where item;
		int fv;
		lua_rawgeti(L, v, (lua_Integer)i);
		fv = lua_gettop(L);
		item = list_item(c, L, w, off, i, &cursor);
		e->figures = xrealloc(e->figures, (e->nr_figures + 1) * sizeof(*e->figures));
		fig = &e->figures[e->nr_figures++];
		memset(fig, 0, sizeof(*fig));
		fig->pos = item.pos;
		if (is_mapping(L, fv)) {
			check_keys(c, L, fv, "figures", exp_figure_keys, ARRAY_SIZE(exp_figure_keys), &item);
			read_fields(c, L, fv, FIELDS(exp_figure_keys), FIELDS(exp_figure_fields), &item, fig);
		} else if (!(fig->image = scalar_text(L, fv))) {
			type_error(c, L, fv, &item, "{image, by}");
		}
		lua_pop(L, 1);
	}
	free(off);
}

static void get_formats(struct lua_ctx *c, lua_State *L, int v, const struct where *w)
{
	struct exp_name *names = NULL;
	size_t n = 0;

	get_names(c, L, v, w, "formats", &names, &n);
	if (names)
		experiment_set_formats(c->e, names, n, c->d);
}

static void get_outputs(struct lua_ctx *c, lua_State *L, int v, const struct where *w)
{
	struct experiment *e = c->e;
	struct where f;

	v = lua_absindex(L, v);

	if (!is_mapping(L, v)) {
		type_error(c, L, v, w, "a mapping with 'tables', 'plots', 'formats', 'paper' or 'figures'");
		return;
	}
	check_keys(c, L, v, "outputs", exp_output_keys, ARRAY_SIZE(exp_output_keys), w);
	read_fields(c, L, v, FIELDS(exp_output_keys), FIELDS(exp_output_fields), w, e);
	if (field(c, L, v, exp_output_keys, ARRAY_SIZE(exp_output_keys), O_FORMATS, w, &f) != LUA_TNIL)
		get_formats(c, L, lua_gettop(L), &f);
	lua_pop(L, 1);
	if (field(c, L, v, exp_output_keys, ARRAY_SIZE(exp_output_keys), O_FIGURES, w, &f) != LUA_TNIL)
		get_figures(c, L, lua_gettop(L), &f);
	lua_pop(L, 1);
}

static void convert_experiment(struct lua_ctx *c, lua_State *L, int t)
{
	struct experiment *e = c->e;
	struct where top = { "experiment", { NULL, 0, 0 }, 0 }, f;
	long long x;
	int id;

	top.pos = pos_line(c, c->call_line);
	top.off = c->call_off;
	luaL_checkstack(L, 32, "experiment");
	check_keys(c, L, t, NULL, exp_top_keys, ARRAY_SIZE(exp_top_keys), &top);
	read_fields(c, L, t, FIELDS(exp_top_keys), FIELDS(exp_top_fields), &top, e);
	/* the keys that are sections of their own, and batch (a number or "auto") */
	for (id = T_NAME; id <= T_OUTPUTS; id++) {
		int v;
		if (exp_field_of(FIELDS(exp_top_fields), id))
			continue;
		if (field(c, L, t, exp_top_keys, ARRAY_SIZE(exp_top_keys), id, &top, &f) == LUA_TNIL) {
			lua_pop(L, 1);
			continue;
		}
		v = lua_gettop(L);
		switch (id) {
		case T_BATCH:
			if (lua_type(L, v) == LUA_TSTRING && !strcmp(lua_tostring(L, v), "auto"))
				e->batch = EXP_BATCH_AUTO;
			else if (!get_int(c, L, v, &f, 1, 0x7fffffff, &x))
				e->batch = (int)x;
			break;
		case T_MODELS:
			get_models(c, L, v, &f);
			break;
		case T_DATA:
			get_data(c, L, v, &f);
			break;
		case T_STATISTICS:
			get_statistics(c, L, v, &f);
			break;
		case T_GRID:
			get_grid(c, L, v, &f);
			break;
		case T_DEFINE:
			get_define(c, L, v, &f);
			break;
		case T_OUTPUTS:
			get_outputs(c, L, v, &f);
			break;
		}
		lua_settop(L, v - 1);
	}
}

static int l_experiment(lua_State *L)
{
	struct lua_ctx *c = ctx_of(L);
	int line = spec_line(L, 1);

	if (c->called) {
		diag_error(c->d, pos_line(c, line), "experiment{} is called a second time (first at line %d)",
			   c->call_line);
		return 0;
	}
	c->called = 1;
	c->call_line = line;
	c->call_off = line_off(c, line);
	if (lua_gettop(L) != 1 || lua_type(L, 1) != LUA_TTABLE) {
		diag_error(c->d, pos_line(c, line), "experiment expects one table: experiment { name = ..., ... }");
		return 0;
	}
	convert_experiment(c, L, 1);
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
		lua_setglobal(L, def_kinds[kind]);
	}
	lua_pushcfunction(L, l_range);
	lua_setglobal(L, "range");
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
		size_t j = skip_literal(c, i);
		char ch;
		if (j != i) {
			i = j;
			continue;
		}
		ch = c->text[i];
		if (ch == '{' || ch == '(' || ch == '[') {
			if (++depth > SPEC_MAX_DEPTH) {
				diag_error(c->d, pos_at(c, i),
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
		diag_error(c->d, pos_line(c, c->budget_line), "%s", sandbox_call_message(&c->call));
		return;
	}
	if (status == LUA_ERRMEM || (c->mem.hit && status == LUA_ERRERR)) {
		int at = c->mem_line ? c->mem_line : c->last_line;
		if (!c->mem.hit)
			diag_error(c->d, pos_line(c, at), "out of memory running the spec");
		else if (c->mem.cap % ((size_t)1 << 20) == 0)
			diag_error(c->d, pos_line(c, at), "memory cap of %zu MiB exceeded", c->mem.cap >> 20);
		else
			diag_error(c->d, pos_line(c, at), "memory cap of %zu bytes exceeded", c->mem.cap);
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
		diag_error(c->d, pos_line(c, line), "%s%s", msg, hint);
	} else {
		diag_error(c->d, pos_line(c, line), "error object is %s, not a message", luaL_typename(L, -1));
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
		if ((j = skip_literal(&t, i)) != i) {
			i = j;
			continue;
		}
		if (!ident_char((unsigned char)src[i]) || isdigit((unsigned char)src[i])) {
			i++;
			continue;
		}
		for (j = i; j < t.len && ident_char((unsigned char)src[j]); j++)
			;
		for (k = i; k > 0 && isspace((unsigned char)src[k - 1]); k--)
			;
		if (k > 0 && (src[k - 1] == ':' || (src[k - 1] == '.' && (k < 2 || src[k - 2] != '.')))) {
			i = j;
			continue; /* a field */
		}
		if ((k >= 5 && keyword_at(&t, k - 5, "local")) || (k >= 3 && keyword_at(&t, k - 3, "for")) ||
		    (k >= 8 && keyword_at(&t, k - 8, "function")))
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
	static const char *const kinds[] = { "method", "utility", "metric" };
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
				     kinds[df->kind], df->name ? df->name : "", name, name);
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
			diag_error(c->d, pos_at(c, deepest),
				   "nested too deeply for Lua's parser (C stack overflow; it allows about 200 "
				   "levels of brackets and blocks)");
		} else if (status == LUA_ERRSYNTAX) {
			msg = strip_where(c, msg, &line);
			diag_error(c->d, pos_line(c, line), "%s", msg);
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
		diag_error(c->d, pos_line(c, 0), "no experiment{} in the spec: write experiment { name = ..., ... }");
	else
		warn_spec_globals(c, L);
	/* nothing useful was read unless the spec ran and called experiment{} */
	lua_pushboolean(L, status == LUA_OK && !c->over_budget && c->called);
	return 1;
}

static int read_spec(struct lua_ctx *c)
{
	struct src_pos nowhere = { c->file, 0, 0 };
	struct strbuf sb = STRBUF_INIT;
	char buf[8192];
	size_t n, i, alloc = 0;
	FILE *fp = fopen(c->file, "rb");
	struct stat st;

	if (!fp) {
		diag_error(c->d, nowhere, "cannot open the spec: %s", strerror(errno));
		return -1;
	}
	if (!fstat(fileno(fp), &st) && S_ISDIR(st.st_mode)) {
		fclose(fp);
		diag_error(c->d, nowhere, "cannot read the spec: it is a folder");
		return -1;
	}
	while ((n = fread(buf, 1, sizeof(buf), fp)) > 0) {
		if (sb.len + n > SPEC_MAX_BYTES) {
			fclose(fp);
			strbuf_release(&sb);
			diag_error(c->d, nowhere, "the spec is larger than %zu bytes", SPEC_MAX_BYTES);
			return -1;
		}
		strbuf_add(&sb, buf, n);
	}
	if (ferror(fp)) {
		fclose(fp);
		strbuf_release(&sb);
		diag_error(c->d, nowhere, "cannot read the spec: %s", strerror(errno));
		return -1;
	}
	fclose(fp);
	c->len = sb.len;
	c->text = strbuf_detach(&sb, NULL);
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
	return 0;
}

int exp_lua_load(struct experiment *e, const char *file, struct diag *d, int allow_unsafe)
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
	if (read_spec(&c) < 0)
		return -1;
	strbuf_init(&c.what, 0);
	strbuf_addf(&c.what, "the spec '%s'", file);
	c.call.what = c.what.buf;
	strbuf_addf(&source, "@%s", file);
	c.source = source.buf;

	L = lua_newstate(xalloc_lua_capped, &c.mem);
	c.L = L;
	if (!L) {
		diag_error(d, pos_line(&c, 0), "cannot create a Lua state: out of memory");
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
	strbuf_release(&source);
	return ran ? 0 : -1;
}
