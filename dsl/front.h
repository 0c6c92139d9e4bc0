/*
 * front.h - the two front ends of the experiment language. Each reads one spec file into a struct
 * experiment (already initialised with the defaults), recording positions for every value it sets and
 * reporting syntax and type errors to d; names are checked afterwards by experiment_validate().
 */
#ifndef DSL_FRONT_H
#define DSL_FRONT_H

#include "dsl/diag.h"
#include "dsl/experiment.h"

/*
 * How deeply a spec may nest mappings, lists and brackets (tables in Lua), in both front ends: far beyond
 * any honest spec, few enough that reading a hostile one stays fast (libyaml's scanner checks every open
 * level at each token, which made 100 000 levels take a minute), and before a parser's recursion can
 * overflow the C stack. A deeper spec is an error at the position where the limit is passed.
 */
#define SPEC_MAX_DEPTH 256

/* YAML, read with libyaml. */
int exp_yaml_load(struct experiment *e, const char *file, struct diag *d);

/*
 * Lua 5.4, run in a sandbox (no io, os, require, load of binary chunks; an instruction budget and a
 * memory cap) unless allow_unsafe.
 */
int exp_lua_load(struct experiment *e, const char *file, struct diag *d, int allow_unsafe);

/* A list of names as a front end reads it (for exp_names_end). */
struct exp_names {
	struct exp_name *v;
	size_t n, alloc;
	int bad; /* the value is no list at all (an error was reported): the key keeps its old value */
};
#define EXP_NAMES_INIT { NULL, 0, 0, 0 }

/* Add s[0..len) at pos, blanks and newlines around it trimmed. */
void exp_names_push(struct exp_names *l, const char *s, size_t len, struct src_pos pos);
/*
 * Add an item that is no name (a list, a mapping, null), after reporting it at pos: a NULL name, so that
 * the list keeps its length and its other names are still checked (experiment.h).
 */
void exp_names_skip(struct exp_names *l, struct src_pos pos);
/*
 * Add the names of "a, b, c" (split at commas, blanks trimmed), each at base; where s is one line and
 * shift >= 0, each name's column is moved to where it starts in s, s itself starting at base.col + shift.
 */
void exp_names_split(struct exp_names *l, const char *s, struct src_pos base, int shift);
/*
 * The list read for key replaces *list (whose names are freed), unless l->bad or l is empty: then l is
 * freed and *list kept, so that validation does not report the key again. An empty name is an error at
 * its position and becomes a NULL name, as exp_names_skip's items.
 */
void exp_names_end(struct exp_names *l, const char *key, struct diag *d, struct exp_name **list, size_t *nr);
/*
 * The dimension names read for zip set e->zip (experiment_zip_dims); an unknown name is reported and the
 * others are still zipped, so that their lengths are checked. Frees l.
 */
void exp_names_zip(struct exp_names *l, struct experiment *e, struct diag *d);

/*
 * A model written as `KEY: {...}` (models as a mapping) is named KEY: an inner 'name' that differs is an
 * error at its position (m->name_pos), and m->name becomes KEY again, as it does where a null inner
 * 'name' (not given) cleared it.
 */
void exp_model_keep_key(struct exp_model *m, const char *key, struct diag *d);

#endif
