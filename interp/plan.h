/*
 * plan.h - expanding an experiment's grid into runs: one run is one model, layer, method, utility and
 * target, identified by a hash of everything that affects its numbers.
 */
#ifndef INTERP_PLAN_H
#define INTERP_PLAN_H

#include <stddef.h>

#include "dsl/diag.h"
#include "dsl/experiment.h"

struct plan_run {
	size_t model, layer; /* indices into the experiment's models and that model's layers */
	size_t method, utility, target; /* indices into the experiment's lists */
	int rank;	     /* for a target "top<k>": this run explains the rank-th class (1..k); else 0 */
	size_t order;	     /* position in grid order, kept stable when runs are grouped */
	char key[17];	     /* 16 hex digits */
	char *config;	     /* the canonical text that was hashed (owned) */
};

struct plan {
	const struct experiment *e; /* borrowed */
	struct plan_run *runs;
	size_t nr, alloc;
};

#define PLAN_INIT { NULL, NULL, 0, 0 }

/*
 * Expand e's grid: the product of models x layers x targets x utilities x methods (methods vary fastest,
 * so runs that share a pass are neighbours), with zipped dimensions advancing together and excluded
 * combinations left out. Returns 0, or -1 with the problem in d.
 */
int plan_build(struct plan *p, const struct experiment *e, struct diag *d);
void plan_release(struct plan *p);

/* The run's target as stored and shown: the experiment's name, or "rank<r>" for a top-k target. */
const char *plan_target_name(const struct plan *p, const struct plan_run *r);

/* "model/layer" style labels for messages (static buffer, overwritten by the next call). */
const char *plan_run_label(const struct plan *p, const struct plan_run *r);

#endif
