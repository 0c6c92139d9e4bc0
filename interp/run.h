/*
 * run.h - executing an experiment's plan: batches through the shared passes, every method's heatmaps
 * and metrics, written to the results database one batch per transaction, resuming where a previous
 * run stopped.
 */
#ifndef INTERP_RUN_H
#define INTERP_RUN_H

#include <stddef.h>

#include "dsl/experiment.h"
#include "interp/plan.h"

struct run_opts {
	size_t limit;	/* process at most this many pending images per run now (0: all); runs stay partial */
	int fail_fast;	/* stop at the first failing run */
	int progress;	/* -1: a bar when stderr is a terminal; 0: log lines; 1: bar */
	const char *devices; /* "cuda:0,cuda:1", "all", or NULL for the experiment's device */
	int workers;	/* image decoding threads (batch_source_set_workers): -1 all cores, 0 or 1 none */
	double log_every; /* without a progress bar, a progress line every this many seconds (0: none) */
	/*
	 * A shard of the work (nr_shards > 0, a Slurm array task): only the chunks k of SHARD_CHUNK images
	 * of the selection with k % nr_shards == shard, into OUTPUT/shards/shard-I-of-N, without a report.
	 */
	int shard, nr_shards;
	int merge; /* gather the shards' results into OUTPUT and build its report instead of running */
};

/* Images per chunk of a shard: which shard an image belongs to does not depend on anything else. */
enum { SHARD_CHUNK = 64 };

/* A shard's results folder: shard i of n, OUTPUT/shards/shard-III-of-NNN. */
struct run_shard {
	int i, n;
	char *dir;
};
/*
 * The shard folders under output/shards, ordered by n, then i, into *out (free it with run_shards_free).
 * Returns how many, or -1 if there is no such folder.
 */
long run_shards(const char *output, struct run_shard **out);
void run_shards_free(struct run_shard *s, size_t n);

/*
 * Run the experiment e (loaded from spec_file), or its shard, or gather its shards (o->merge). Returns
 * 0 if every run finished, 1 otherwise.
 */
int run_experiment(const struct experiment *e, const struct run_opts *o);

struct model;
struct preprocess;

/*
 * The preprocessing of the loaded model m for the spec's entry em, what the spec gives over what m's
 * sidecar does, with a note on stderr where ImageNet's mean and std had to be assumed.
 */
void run_model_preprocess(const struct exp_model *em, const struct model *m, struct preprocess *pp);

/* State of each planned run from the results database in e's output folder, or "pending". */
struct run_state {
	char state[16];
	long done, total;
};
int run_states(const struct experiment *e, const struct plan *p, struct run_state *out);

#endif
