/*
 * lua_front.h - the Lua front end's own parts, shared by its files: lua.c (the state, the sandbox,
 * experiment{} and define()), lua_table.c (the experiment table into the IR), lua_define.c (user
 * definitions) and lua_pos.c (where each value was written). Only they include it.
 */
#ifndef DSL_LUA_FRONT_H
#define DSL_LUA_FRONT_H

#include <lua.h>

#include "dsl/front.h"
#include "dsl/keys.h"
#include "dsl/reader.h"
#include "dsl/sandbox.h"
#include "lib/strbuf.h"
#include "lib/xalloc.h"

#define KEY_DEPTH 4 /* mappings iterated inside one another */

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

/* The keys valid in one table; aliases share an id, as in dsl/yaml.c. */

struct where {
	const char *key;	/* the key as written, for messages */
	struct src_pos pos;
	size_t off;		/* where to search for keys nested under it */
};

/* lua_pos.c */
struct src_pos lspec_pos_at(const struct lua_ctx *c, size_t off);
struct src_pos lspec_pos_line(const struct lua_ctx *c, int line);
size_t lspec_line_off(const struct lua_ctx *c, int line);
int lspec_ident_char(int ch);
int lspec_keyword_at(const struct lua_ctx *c, size_t i, const char *kw);
size_t lspec_skip_literal(const struct lua_ctx *c, size_t b);
struct src_pos lspec_key_pos(const struct lua_ctx *c, const char *key, size_t from, size_t *found);
struct src_pos lspec_item_pos(const struct lua_ctx *c, const char *s, size_t *cursor, struct src_pos dflt);
char *lspec_scalar_text(lua_State *L, int v);
size_t *lspec_list_offsets(const struct lua_ctx *c, lua_State *L, int v, const struct where *w);
struct where lspec_list_item(const struct lua_ctx *c, lua_State *L, const struct where *w, const size_t *off,
			      size_t i, size_t *cursor);
const char *lspec_type_name(lua_State *L, int v);
void lspec_type_error(struct lua_ctx *c, lua_State *L, int v, const struct where *w, const char *expected);
int lspec_is_list(lua_State *L, int t);
int lspec_is_mapping(lua_State *L, int t);
void lspec_check_keys(struct lua_ctx *c, lua_State *L, int t, const char *where, const struct exp_key *keys,
		       size_t nkeys, const struct where *w);
int lspec_field(struct lua_ctx *c, lua_State *L, int t, const struct exp_key *keys, size_t nkeys, int id,
		 const struct where *owner, struct where *w);
struct keylist *lspec_sorted_keys(struct lua_ctx *c, lua_State *L, int t, const struct where *w, const char *what);

/* lua_define.c */
void lspec_define_function(struct lua_ctx *c, lua_State *L, enum exp_def_kind kind, const char *name, int f,
			    struct src_pos pos);
void lspec_get_define(struct lua_ctx *c, lua_State *L, int v, const struct where *w);

/* lua_override.c: include() in the sandbox; the included tables and the overrides into the table at t */
void lspec_open_include(lua_State *L);
void lspec_compose(struct lua_ctx *c, lua_State *L, int t);

/* lua_table.c */
void lspec_convert_experiment(struct lua_ctx *c, lua_State *L, int t);

#endif
