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

struct strbuf;

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
	size_t point, nr_points; /* a sweep's point being run (from 1) of nr_points, for the progress line */
};

/* Images per chunk of a shard: which shard an image belongs to does not depend on anything else. */
enum { SHARD_CHUNK = 64 };
/*
 * At most this many shards (run --shard, submit --tasks): Slurm refuses arrays longer than its
 * MaxArraySize (1001 by default), and a count beyond any cluster's is a typo that would otherwise be
 * reported as that many missing shards.
 */
enum { SHARD_MAX = 10000 };
/*
 * What `camlab submit` records for the shards' resubmission, in OUTPUT/SHARD_SUBMIT_ARGS: its working
 * folder, its options (but --tasks, --only and --dry-run) and, last, the spec's absolute path, each
 * ended by a NUL byte.
 */
#define SHARD_SUBMIT_ARGS "slurm/submit.args"

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

/* Where shard i of n writes its results: OUTPUT/shards/shard-III-of-NNN (the caller frees it). */
char *run_shard_dir(const char *output, int i, int n);
/*
 * The count N of the n shard folders s of output (0 if n is 0); -1 after an error naming the counts when
 * they differ: a merge, a resubmission and the missing shards' list all mean the shards of one count.
 */
int run_shards_count(const struct run_shard *s, size_t n, const char *output);
/* Whether shard i of n has no image of a selection of nr_images: fewer chunks than shards. */
int run_shard_idle(size_t nr_images, int i, int n);
/* Whether a process (a job, here or on another node) holds shard folder dir's lock: it is running. */
int run_shard_running(const char *dir);
/*
 * The command that runs shards list[0..nr-1] (ascending) of n again, into sb: `camlab submit --tasks N
 * --only LIST` (LIST as 1,3-5), then the options and spec that the last submit recorded in output
 * (SHARD_SUBMIT_ARGS), after a `cd` to its working folder when that is not this process's; else spec
 * (NULL: FILE). Every word is shell-quoted: the record is the results
 * folder's, and is not trusted.
 */
void run_shards_resubmit(struct strbuf *sb, const char *output, int n, const int *list, size_t nr,
			 const char *spec);

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
