/*
 * group.h - the runs that share model, layer, utility and target: their state from the database, the
 * shared pass's model, utility, target and cut, their batches from the chunks this worker takes, their
 * log line, and their states settled from what is stored.
 */
#ifndef INTERP_GROUP_H
#define INTERP_GROUP_H

#include <stddef.h>

struct experiment;
struct metric_params;
struct plan;
struct runner;

/* The metrics' parameters of e (validated) over their defaults, for metrics_eval. */
void group_metric_params(const struct experiment *e, struct metric_params *mp);

/*
 * The end of the group of runs that starts at run i: the plan's runs i..end-1 share a pass. Groups are
 * numbered in this order.
 */
size_t group_end(const struct plan *p, size_t i);
/* Runs first..last-1 of the plan, the g-th group: every batch this worker takes, then its log line. */
void group_process(struct runner *r, size_t first, size_t last, size_t g);
/*
 * Every run's state and aggregates from what is stored (failed runs stay failed), after the workers or
 * a merge. Returns how many runs are done.
 */
size_t group_settle_runs(struct runner *r);

#endif
