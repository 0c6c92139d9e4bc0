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

#define LSPEC_MAX_INCLUDE_DEPTH 16 /* as compose.c */

/*
 * A value that is not written in the spec's text (an included file's, an override's) is placed in its
 * own source's text. Offsets into source k's text start at k * LSPEC_SRC_SPAN, those of the spec (source
 * 0) at 0: an offset says which text it is in, so that the positions of the keys and items nested under
 * a value are searched in the same text.
 */
#define LSPEC_SRC_SPAN ((size_t)1 << 26) /* past SPEC_MAX_BYTES */

struct lspec_src {
	const char *file;	/* e->sources[esrc].name: positions point at it, for the include chain */
	int esrc;
	char *text;		/* an included file's text (owned); NULL for an override, which has none */
	size_t len;
	size_t *lines;		/* offset of each line's first byte (owned) */
	size_t nr_lines;
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

	struct lspec_src *srcs;	/* the texts besides the spec that values come from: srcs[k - 1] is source k */
	size_t nr_srcs, alloc_srcs;
	int reading[LSPEC_MAX_INCLUDE_DEPTH + 1]; /* the source k of each file include() is reading */
};

/* The keys valid in one table; aliases share an id, as in dsl/yaml.c. */

struct where {
	const char *key;	/* the key as written, for messages */
	struct src_pos pos;
	size_t off;		/* where to search for keys nested under it */
};

/* lua_pos.c */
/* Add a source (text copied; file borrowed from e->sources[esrc]): its number k, from 1. */
int lspec_add_src(struct lua_ctx *c, const char *file, int esrc, const char *text, size_t len);
void lspec_srcs_release(struct lua_ctx *c);
/*
 * Which source wrote key of table t: the source marked for the key (a merge's, an override's), else the
 * table's (a table an included file built), else 0, the spec. Provenance lives in two registry tables
 * with weak keys, "camlab.keysrc" (table -> {key -> k}) and "camlab.tablesrc" (table -> k).
 */
int lspec_src_of(lua_State *L, int t, const char *key);
void lspec_set_src(lua_State *L, int t, const char *key, int k);
/* Push the two provenance tables, keysrc and tablesrc (for the merge of included tables). */
void lspec_push_provenance(lua_State *L);
/* Mark table t and every table in it not marked yet as built by source k. */
void lspec_mark_table(lua_State *L, int t, int k);
/* Where key of table t was written (as lspec_key_pos, in the text of the source that wrote it). */
struct src_pos lspec_key_in(const struct lua_ctx *c, lua_State *L, int t, const char *key, size_t from,
			     size_t *found);
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
