/*
 * override.h - a spec's values given on the command line (`camlab run spec.yaml data.limit=100`), and the
 * files a spec is made of. An override names a value by its dotted path into the spec (a list item by
 * its name or its index) and gives it as YAML reads one flow value, for a Lua spec too; the front ends
 * put it into the spec before reading it (dsl/compose.c for YAML, dsl/lua_override.c for Lua), so that
 * it is checked exactly as if it were written in the file, and the canonical text and the run keys are
 * those of the spec as overridden.
 */
#ifndef DSL_OVERRIDE_H
#define DSL_OVERRIDE_H

#include <stddef.h>
#include <stdint.h>

#include "dsl/diag.h"

struct exp_override {
	char *arg;	/* "argument 3": where its errors point (owned) */
	char *text;	/* as given: "data.limit=100" (owned) */
	char **path;	/* "data", "limit" (owned) */
	size_t nr_path;
	char *value;	/* "100" (owned) */
};

/*
 * Parse "PATH=VALUE", the argn-th argument of the command line. 0, or -1 after an error (no '=', an
 * empty path or path segment) naming the argument; o is then released.
 */
int exp_override_parse(struct exp_override *o, const char *text, int argn);
void exp_override_release(struct exp_override *o);

/*
 * Check o's path against the language's keys (dsl/keys.c): an unknown key is reported at the argument
 * with the nearest valid one, as a front end reports it in a file. 0, or -1 after an error in d.
 */
int exp_override_check(const struct exp_override *o, struct diag *d);

/*
 * "--sweep KEY=V1,V2,...": the overrides KEY=V1, KEY=V2, ... (a value may be a flow list or mapping, whose
 * commas do not split it). Returns the number of values (*out, owned, each to be released), or -1 after
 * an error.
 */
int exp_sweep_parse(const char *text, int argn, struct exp_override **out);

/*
 * A file a spec was made of (the spec itself, an included file) or an override: what a reader of the
 * results database needs to see what ran, and what diagnostics' positions point at.
 */
struct exp_source {
	char *name;		/* the file as opened, or "argument 3" (owned; positions borrow it) */
	char *text;		/* an override as given, or NULL for a file (owned) */
	uint64_t hash;		/* a file's content (XXH64) */
	int parent;		/* the including source's index, or -1 */
	int line, col;		/* where the parent includes it */
};

#endif
