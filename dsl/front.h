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

/*
 * The largest spec camlab reads: load.c refuses a larger file before the front ends see it, so that a
 * hostile path (a device, a huge file) costs at most this much memory.
 */
#define SPEC_MAX_BYTES ((size_t)16 << 20)

/*
 * Each front end parses the len bytes of text (NUL-terminated; the whole of file, read by load.c) and
 * names file in its positions.
 */

/* YAML, read with libyaml. */
int exp_yaml_load(struct experiment *e, const char *file, const char *text, size_t len, struct diag *d);

/*
 * Lua 5.4, run in a sandbox (no io, os, require, load of binary chunks; an instruction budget and a
 * memory cap) unless allow_unsafe.
 */
int exp_lua_load(struct experiment *e, const char *file, const char *text, size_t len, struct diag *d,
		 int allow_unsafe);

#endif
