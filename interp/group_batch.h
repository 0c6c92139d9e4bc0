/*
 * group_batch.h - one batch of a group of runs: the shared pass, every method's heatmaps and metrics
 * (those defined in Lua too), the figures' heatmaps, and their rows written in one transaction; the
 * batch halved when the device runs out of memory, and batch: auto's measured size. Also how a run,
 * a group's runs or the results database fail, for group.c too.
 */
#ifndef INTERP_GROUP_BATCH_H
#define INTERP_GROUP_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "cam/batch.h"
#include "cam/methods.h"

struct runner;
struct group_run;
struct cam_multi;

/*
 * The results database could not take a write: what is in flight is rolled back and r->store_failed
 * set, so that the run stops at its next check. Returns -1.
 */
int runner_store_failure(struct runner *r);
/* Run g fails for why (copied): its state in the database, an error on stderr; r->failed is set. */
void group_run_fail(struct runner *r, struct group_run *g, const char *why);
/* The ng runs gr fail because what failed, with error_last()'s message when there is one. */
void group_runs_fail(struct runner *r, struct group_run *gr, size_t ng, const char *what);

/*
 * Batch b for the ng runs gr of a group (split: the model cut at their layer; multi: a fused layer's
 * cuts, split its first, or NULL; u, or hook for a utility defined in Lua; tp their target), halved as
 * often as the device needs, lowering r->batch.
 */
void group_batch_process(struct runner *r, struct group_run *gr, size_t ng, ts_split *split,
			 struct cam_multi *multi, const struct batch *b, enum utility u,
			 const struct utility_hook *hook, const struct target_policy *tp);
/*
 * batch: auto on a CUDA device: before a group's first batch, the probe's size and the device memory
 * free (*free_before); after it, the size measured from the probed images. No-ops elsewhere.
 */
void group_batch_auto_begin(struct runner *r, struct batch_source *src, int64_t *free_before);
void group_batch_auto_size(struct runner *r, int64_t free_before, size_t probed);

#endif
