/*
 * lua_pos.c - where a Lua spec wrote each value: Lua keeps no positions for table fields, so the
 * position of a key, and of each item of a list written as a table constructor, is found by scanning the
 * spec's text; and the tables' keys, checked and read with those positions.
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
 * Positions: offsets into the spec's text, turned into line:col.
 */

/* Position of offset off of the text c is, or a view of (view_of): line:col in it. */
static struct src_pos pos_local(const struct lua_ctx *c, size_t off)
{
	struct src_pos pos = { c->file, 0, 0 };
	size_t lo = 0, hi = c->nr_lines;

	if (!c->nr_lines) /* an override's source: no text, the argument is the place */
		return pos;
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

/*
 * The text a (global) offset is in: c itself for the spec's, else a copy of c in buf that shows source
 * k's text instead (the scanning below reads only the text, its lines and the experiment{} call's place,
 * which another file does not have). *base is where that text's offsets start.
 */
static const struct lua_ctx *view_of(const struct lua_ctx *c, size_t off, struct lua_ctx *buf, size_t *base)
{
	size_t k = off / LSPEC_SRC_SPAN;
	const struct lspec_src *s;

	*base = 0;
	if (!k || k > c->nr_srcs)
		return c;
	s = &c->srcs[k - 1];
	*buf = *c;
	buf->file = s->file;
	buf->text = s->text;
	buf->len = s->len;
	buf->lines = s->lines;
	buf->nr_lines = s->nr_lines;
	buf->call_line = 0;
	buf->call_off = 0;
	*base = k * LSPEC_SRC_SPAN;
	return buf;
}

struct src_pos lspec_pos_at(const struct lua_ctx *c, size_t off)
{
	struct lua_ctx buf;
	size_t base;
	const struct lua_ctx *v = view_of(c, off, &buf, &base);

	return pos_local(v, off - base);
}

int lspec_add_src(struct lua_ctx *c, const char *file, int esrc, const char *text, size_t len)
{
	struct lspec_src *s;
	size_t i, alloc = 0;

	ALLOC_GROW(c->srcs, c->nr_srcs + 1, c->alloc_srcs);
	s = &c->srcs[c->nr_srcs++];
	memset(s, 0, sizeof(*s));
	s->file = file;
	s->esrc = esrc;
	if (text) {
		s->text = xmalloc(len + 1);
		memcpy(s->text, text, len);
		s->text[len] = '\0';
		s->len = len;
		ALLOC_GROW(s->lines, 1, alloc);
		s->lines[s->nr_lines++] = 0;
		for (i = 0; i < len; i++)
			if (text[i] == '\n' && i + 1 < len) {
				ALLOC_GROW(s->lines, s->nr_lines + 1, alloc);
				s->lines[s->nr_lines++] = i + 1;
			}
	}
	return (int)c->nr_srcs;
}

void lspec_srcs_release(struct lua_ctx *c)
{
	size_t i;

	for (i = 0; i < c->nr_srcs; i++) {
		free(c->srcs[i].text);
		free(c->srcs[i].lines);
	}
	free(c->srcs);
	c->srcs = NULL;
	c->nr_srcs = c->alloc_srcs = 0;
}

struct src_pos lspec_pos_line(const struct lua_ctx *c, int line)
{
	struct src_pos pos = { c->file, line, 0 };
	return pos;
}

size_t lspec_line_off(const struct lua_ctx *c, int line)
{
	if (line < 1 || (size_t)line > c->nr_lines)
		return 0;
	return c->lines[line - 1];
}

int lspec_ident_char(int ch)
{
	return isalnum(ch) || ch == '_';
}

int lspec_keyword_at(const struct lua_ctx *c, size_t i, const char *kw)
{
	size_t n = strlen(kw);
	return i + n <= c->len && !memcmp(c->text + i, kw, n) &&
	       (i == 0 || !lspec_ident_char((unsigned char)c->text[i - 1])) &&
	       (i + n == c->len || !lspec_ident_char((unsigned char)c->text[i + n]));
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
size_t lspec_skip_literal(const struct lua_ctx *c, size_t b)
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
		if ((after = lspec_skip_literal(c, i)) != i) {
			i = after;
			continue;
		}
		if (!memcmp(t + i, key, n) && (i == 0 || !lspec_ident_char((unsigned char)t[i - 1])) &&
		    (i + n == c->len || !lspec_ident_char((unsigned char)t[i + n])) && assigns(c, i + n))
			return i;
		/* the rest of an identifier is no key's start */
		if (lspec_ident_char((unsigned char)t[i]))
			while (i < c->len && lspec_ident_char((unsigned char)t[i]))
				i++;
		else
			i++;
	}
	return (size_t)-1;
}

/*
 * Where a key was written: searched after its owner's key (from), then after the experiment{} call, then
 * from the top (the table may have been built before the call); the call's line if never found. All in
 * the text from is in.
 */
struct src_pos lspec_key_pos(const struct lua_ctx *c, const char *key, size_t from, size_t *found)
{
	struct lua_ctx buf;
	size_t base, off;

	c = view_of(c, from, &buf, &base);
	from -= base;
	off = scan_key(c, key, from);
	if (off == (size_t)-1 && from > c->call_off)
		off = scan_key(c, key, c->call_off);
	if (off == (size_t)-1)
		off = scan_key(c, key, 0);
	if (off == (size_t)-1) {
		if (found)
			*found = base + from;
		return c->nr_lines && c->call_line ? lspec_pos_line(c, c->call_line) : pos_local(c, 0);
	}
	if (found)
		*found = base + off;
	return pos_local(c, off);
}

struct src_pos lspec_key_in(const struct lua_ctx *c, lua_State *L, int t, const char *key, size_t from,
			     size_t *found)
{
	size_t k = (size_t)lspec_src_of(L, t, key), at;
	struct src_pos pos;

	/* a key another source wrote is searched in its text, from the top */
	if (k == from / LSPEC_SRC_SPAN || k > c->nr_srcs)
		return lspec_key_pos(c, key, from, found);
	pos = lspec_key_pos(c, key, k * LSPEC_SRC_SPAN, &at);
	/* not in an included file's text: the spec changed the table include() returned */
	if (at == k * LSPEC_SRC_SPAN && c->srcs[k - 1].text && scan_key(c, key, 0) != (size_t)-1)
		return lspec_key_pos(c, key, 0, found);
	if (found)
		*found = at;
	return pos;
}

/* ---- provenance ---- */

/* Push the registry's table name (weak keys), created if create, else nil if it does not exist. */
static int push_registry(lua_State *L, const char *name, int create)
{
	if (lua_getfield(L, LUA_REGISTRYINDEX, name) == LUA_TTABLE || !create)
		return lua_istable(L, -1);
	lua_pop(L, 1);
	lua_newtable(L);
	lua_newtable(L);
	lua_pushliteral(L, "k");
	lua_setfield(L, -2, "__mode");
	lua_setmetatable(L, -2);
	lua_pushvalue(L, -1);
	lua_setfield(L, LUA_REGISTRYINDEX, name);
	return 1;
}

void lspec_push_provenance(lua_State *L)
{
	luaL_checkstack(L, 2, "provenance");
	push_registry(L, "camlab.keysrc", 1);
	push_registry(L, "camlab.tablesrc", 1);
}

/* Push registry table name's entry for table t (which must be absolute); its type. */
static int get_entry(lua_State *L, const char *name, int t)
{
	if (!push_registry(L, name, 0))
		return LUA_TNIL;
	lua_pushvalue(L, t);
	return lua_rawget(L, -2);
}

int lspec_src_of(lua_State *L, int t, const char *key)
{
	int k = 0, top = lua_gettop(L);

	t = lua_absindex(L, t);
	if (lua_type(L, t) != LUA_TTABLE || !lua_checkstack(L, 4))
		return 0;
	if (get_entry(L, "camlab.keysrc", t) == LUA_TTABLE && lua_getfield(L, -1, key) == LUA_TNUMBER)
		k = (int)lua_tointeger(L, -1);
	lua_settop(L, top);
	if (!k && get_entry(L, "camlab.tablesrc", t) == LUA_TNUMBER)
		k = (int)lua_tointeger(L, -1);
	lua_settop(L, top);
	return k;
}

void lspec_set_src(lua_State *L, int t, const char *key, int k)
{
	int top = lua_gettop(L);

	t = lua_absindex(L, t);
	luaL_checkstack(L, 6, "provenance");
	push_registry(L, "camlab.keysrc", 1);
	lua_pushvalue(L, t);
	if (lua_rawget(L, -2) != LUA_TTABLE) {
		lua_pop(L, 1);
		lua_newtable(L);
		lua_pushvalue(L, t);
		lua_pushvalue(L, -2);
		lua_rawset(L, -4);
	}
	lua_pushinteger(L, k);
	lua_setfield(L, -2, key);
	lua_settop(L, top);
}

static void mark(lua_State *L, int t, int k, int depth)
{
	if (depth > SPEC_MAX_DEPTH || !lua_checkstack(L, 6))
		return;
	lua_pushvalue(L, t);
	if (lua_rawget(L, -2) != LUA_TNIL) { /* marked: by an inner include, or a table seen twice */
		lua_pop(L, 1);
		return;
	}
	lua_pop(L, 1);
	lua_pushvalue(L, t);
	lua_pushinteger(L, k);
	lua_rawset(L, -3);
	lua_pushnil(L);
	while (lua_next(L, t)) {
		if (lua_type(L, -1) == LUA_TTABLE) {
			lua_pushvalue(L, -3); /* the registry table on top for the walk below */
			mark(L, lua_gettop(L) - 1, k, depth + 1);
			lua_pop(L, 1);
		}
		lua_pop(L, 1);
	}
}

void lspec_mark_table(lua_State *L, int t, int k)
{
	t = lua_absindex(L, t);
	if (lua_type(L, t) != LUA_TTABLE)
		return;
	luaL_checkstack(L, 4, "provenance");
	push_registry(L, "camlab.tablesrc", 1);
	mark(L, t, k, 0);
	lua_pop(L, 1);
}
/* Where a list item (a string literal or a number) was written, searched from *cursor, which advances. */
struct src_pos lspec_item_pos(const struct lua_ctx *c, const char *s, size_t *cursor, struct src_pos dflt)
{
	struct lua_ctx buf;
	size_t n = strlen(s), i, base;
	const char *t;

	c = view_of(c, *cursor, &buf, &base);
	t = c->text;
	for (i = *cursor - base; n && i + n + 2 <= c->len;) {
		size_t after;
		if ((t[i] == '"' || t[i] == '\'') && !memcmp(t + i + 1, s, n) && t[i + n + 1] == t[i]) {
			*cursor = base + i + n + 2;
			return pos_local(c, i);
		}
		if (isdigit((unsigned char)*s) && !memcmp(t + i, s, n) && !lspec_ident_char((unsigned char)t[i + n]) &&
		    (i == 0 || !lspec_ident_char((unsigned char)t[i - 1]))) {
			*cursor = base + i + n;
			return pos_local(c, i);
		}
		/* not inside another string, nor a comment */
		after = lspec_skip_literal(c, i);
		i = after != i ? after : i + 1;
	}
	return dflt;
}

char *lspec_scalar_text(lua_State *L, int v)
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

/* The next '{' from b that opens a table (not one in a string or comment); the text's end if none. */
static size_t next_brace(const struct lua_ctx *c, size_t b)
{
	while (b < c->len) {
		size_t after = lspec_skip_literal(c, b);
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
		size_t after = lspec_skip_literal(c, b);
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
	struct lua_ctx buf;
	size_t base, b;

	c = view_of(c, *cursor, &buf, &base);
	b = next_brace(c, *cursor - base);
	if (i == 1 && b < c->len)
		b = next_brace(c, b + 1);
	if (b < c->len) {
		item.pos = pos_local(c, b);
		item.off = base + b;
		*cursor = base + table_end(c, b);
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
		else if (c->text[b] == '-' && (after = lspec_skip_literal(c, b)) != b)
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

	if (lspec_keyword_at(c, b, w->key))
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
		if ((after = lspec_skip_literal(c, b)) != b) {
			b = after;
			continue;
		}
		if (ch == '{' || ch == '(' || ch == '[')
			depth++;
		else if ((ch == '}' || ch == ')' || ch == ']') && depth)
			depth--;
		else if (!depth && (ch == ',' || ch == ';' || ch == '}'))
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
size_t *lspec_list_offsets(const struct lua_ctx *c, lua_State *L, int v, const struct where *w)
{
	struct lua_ctx buf;
	struct where local = *w;
	size_t n = lua_rawlen(L, v), nr = 0, base, b, *off;
	const char *t;

	c = view_of(c, w->off, &buf, &base);
	local.off -= base;
	t = c->text;
	b = value_off(c, &local);

	if (b >= c->len || t[b] != '{')
		return NULL;
	off = xcalloc(n + 1, sizeof(*off));
	for (b = skip_space(c, b + 1); b < c->len && t[b] != '}'; b = skip_space(c, b + 1)) {
		size_t id = b;
		if (nr == n)
			goto mismatch;
		/* a keyed field, name = value or [k] = value, is no item of a list */
		while (id < c->len && lspec_ident_char((unsigned char)t[id]))
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
		size_t q = off[nr] + 1, end = lspec_skip_literal(c, off[nr]);
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
	for (nr = 0; nr < n; nr++)
		off[nr] += base;
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
struct where lspec_list_item(const struct lua_ctx *c, lua_State *L, const struct where *w, const size_t *off,
			      size_t i, size_t *cursor)
{
	struct where item = *w;
	size_t k = (size_t)lspec_src_of(L, -1, "name");
	char *s;

	if (lua_type(L, -1) == LUA_TTABLE && k != w->off / LSPEC_SRC_SPAN && k <= c->nr_srcs) {
		/* a table another source wrote (an included model): placed at its name there, or its top */
		size_t at = k * LSPEC_SRC_SPAN;
		item.pos = lspec_pos_at(c, at);
		item.off = at;
		lua_pushliteral(L, "name");
		if (lua_rawget(L, -2) == LUA_TSTRING)
			item.pos = lspec_item_pos(c, lua_tostring(L, -1), &at, item.pos);
		lua_pop(L, 1);
		if (at != k * LSPEC_SRC_SPAN)
			item.off = at;
		return item;
	}
	if (off) {
		item.pos = lspec_pos_at(c, off[i - 1]);
		item.off = off[i - 1];
	} else if (lua_type(L, -1) == LUA_TTABLE) {
		item = next_item(c, w, cursor, i);
	} else if ((s = lspec_scalar_text(L, -1))) {
		item.pos = lspec_item_pos(c, s, cursor, w->pos);
		free(s);
	}
	return item;
}

/* ---------------------------------------------------------------------------------------------------
 * Reading Lua values, with the YAML front end's rules and messages (dsl/yaml.c), so that a spec and its
 * twin read alike. Only raw access: a spec's metamethods never run while the IR is built.
 */

/* The keys valid in one table; aliases share an id, as in dsl/yaml.c. */

const char *lspec_type_name(lua_State *L, int v)
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

void lspec_type_error(struct lua_ctx *c, lua_State *L, int v, const struct where *w, const char *expected)
{
	diag_error(c->d, w->pos, "expected %s for '%s', not %s", expected, w->key, lspec_type_name(L, v));
}

/* A table with exactly the keys 1..n (an empty table is a list too). */
int lspec_is_list(lua_State *L, int t)
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

int lspec_is_mapping(lua_State *L, int t)
{
	return lua_type(L, t) == LUA_TTABLE && (!lspec_is_list(L, t) || !lua_rawlen(L, t));
}

/*
 * Report every key of table t not in keys[] (with the nearest valid one) and every key that is no name
 * (a list item where key = value entries belong). where is NULL for the experiment table itself.
 */
void lspec_check_keys(struct lua_ctx *c, lua_State *L, int t, const char *where, const struct exp_key *keys,
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
			struct src_pos pos = lspec_key_in(c, L, t, k, w->off, NULL);
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
int lspec_field(struct lua_ctx *c, lua_State *L, int t, const struct exp_key *keys, size_t nkeys, int id,
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
		x.pos = lspec_key_in(c, L, t, keys[i].name, owner->off, &x.off);
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

struct keylist *lspec_sorted_keys(struct lua_ctx *c, lua_State *L, int t, const struct where *w, const char *what)
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
			diag_error(c->d, w->pos, "expected %s in '%s', not %s", what, w->key, lspec_type_name(L, -1));
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
