/*
 * front.h - the two front ends of the experiment language. Each reads one spec file into a struct
 * experiment (already initialised with the defaults), recording positions for every value it sets and
 * reporting syntax and type errors to d; names are checked afterwards by experiment_validate().
 */
#ifndef DSL_FRONT_H
#define DSL_FRONT_H

#include "dsl/diag.h"
#include "dsl/experiment.h"

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
	int bad; /* an error was reported: the key keeps its old value */
};
#define EXP_NAMES_INIT { NULL, 0, 0, 0 }

/* Add s[0..len) at pos. */
void exp_names_push(struct exp_names *l, const char *s, size_t len, struct src_pos pos);
/*
 * Add the names of "a, b, c" (split at commas, blanks trimmed), each at base; where s is one line and
 * shift >= 0, each name's column is moved to where it starts in s, s itself starting at base.col + shift.
 */
void exp_names_split(struct exp_names *l, const char *s, struct src_pos base, int shift);
/*
 * The list read for key replaces *list (whose names are freed), unless an error was reported or a name
 * is empty (an error at its position): then l is freed and *list kept, so that validation does not
 * report the key again.
 */
void exp_names_end(struct exp_names *l, const char *key, struct diag *d, struct exp_name **list, size_t *nr);
/* The dimension names read for zip set e->zip unless an error was reported (experiment_zip_dims); frees l. */
void exp_names_zip(struct exp_names *l, struct experiment *e, struct diag *d);

#endif
