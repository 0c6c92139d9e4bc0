/*
 * shard.h - a run split into shards (Slurm array tasks) and gathered again; the shard folders' listing,
 * counts, locks and resubmission are run.h's public API, used by camlab status and submit too.
 */
#ifndef INTERP_SHARD_H
#define INTERP_SHARD_H

#include "interp/run.h"

struct runner;

/*
 * camlab merge: every shard's results into r's database, the runs settled, and each shard's account on
 * stderr with the command that runs the missing or incomplete ones again. Returns 0 if every run is
 * done, else 1.
 */
int shard_merge(struct runner *r);

#endif
