/*
 * names.h - validation of the grid's names (names.c), for experiment_validate() (validate.c).
 */
#ifndef DSL_NAMES_H
#define DSL_NAMES_H

#include "dsl/diag.h"
#include "dsl/experiment.h"

/* The kind of list being checked: how to recognise its built-in names and what to call them. */
struct dim_kind {
	const char *what;	/* "method" */
	const char *plural;	/* "methods" */
	const char *const *builtins;
	size_t nr_builtins;
	int has_all;
	int has_defs;
	enum exp_def_kind def_kind;
	int (*lookup)(const char *name); /* index into builtins, or -1 */
};
extern const struct dim_kind exp_kind_method, exp_kind_utility, exp_kind_metric;

/*
 * Replace a list by its canonical form: "all" expanded, names canonical, unknown names reported, and
 * duplicates dropped with a warning (they would only repeat runs).
 */
void exp_check_names(const struct experiment *e, struct diag *d, const struct dim_kind *k,
		     struct exp_name **list, size_t *nr);
/* The targets written canonically ("pred" -> "predicted"); bad ones reported, duplicates dropped. */
void exp_check_targets(struct experiment *e, struct diag *d);
/* A target's canonical text (free it), or NULL with *why saying why s can be no target. */
char *exp_canonical_target(const char *s, const char **why);
/* Is name in list (its NULL names skipped)? */
int exp_in_names(const struct exp_name *list, size_t n, const char *name);
/* An exclude field must name a value the grid has: canonicalise it, then look it up. */
void exp_check_exclude_name(const struct experiment *e, struct diag *d, struct src_pos pos,
			    const struct dim_kind *k, char **field, const struct exp_name *list, size_t n);
/*
 * Leave method out at layer `layer` of model `model` (names as the grid has them) with an exclude such
 * as the spec could have written, said at pos: the grid, the plan and the canonical text show it. The
 * strings are copied.
 */
void exp_leave_out(struct experiment *e, const char *model, const char *layer, const char *method,
		   struct src_pos pos);
/* The definitions: named, not built in, not twice, with code that compiles. */
void exp_check_defs(struct experiment *e, struct diag *d);

#endif
