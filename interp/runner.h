/*
 * runner.h - the state that the runner's files share while an experiment runs (private to interp/:
 * runner.c, group.c, group_batch.c, workers.c, shard.c, progress.c; the public API is run.h).
 *
 * One struct runner lives on run_experiment()'s stack for the whole command. With several devices each
 * worker process gets a copy of it by fork(): what a worker changes (its device, batch size, timings,
 * failures) stays in that worker, except the shares, which are mapped shared across the fork, and the
 * results database, which every process opens for itself.
 */
#ifndef INTERP_RUNNER_H
#define INTERP_RUNNER_H

#include <stddef.h>

#include "cam/batch.h"
#include "cam/metrics.h"
#include "cam/model.h"
#include "interp/plan.h"
#include "interp/run.h"

struct luacam;
struct store;

/*
 * Invariants: images[0..nr_images-1] are distinct indices into ds, in dataset order; figure and paths
 * have ds.nr entries; model, pp, fc and label_map are those of e->models[model_index] when
 * model_index >= 0; once store_failed is set nothing more is written to store. Everything the struct
 * points to is owned by it (runner_release in runner.c frees it), except e and o (the caller's), paths'
 * strings (ds's), device (the devices list's) and user_metrics' strings (e's).
 */
struct runner {
	const struct experiment *e;
	const struct run_opts *o;
	char *out; /* the results folder: the experiment's output, or its shard's */
	struct plan plan;
	struct store *store;
	struct dataset ds;
	size_t *images, nr_images; /* the selection, as dataset indices */
	unsigned metrics;
	struct metric_params metric_params; /* the spec's, for metrics_eval */
	unsigned char *figure; /* per dataset index: its heatmaps are kept for figures */
	struct luacam *lua;    /* the experiment's Lua definitions, or NULL */
	const char **user_metrics; /* names of the metrics defined in Lua */
	size_t nr_user_metrics;
	/* the loaded model */
	long model_index;
	long *label_map; /* the loaded model's classes of the dataset's labels, NULL: as they are */
	char **paths;	 /* the dataset's image paths (borrowed from ds), to check stored results against */
	struct model model;
	struct preprocess pp;
	ts_tensor *fc;
	/* progress */
	int bar;
	size_t runs_done, images_done_now, batches_done;
	double t0, t_line; /* the start; the last progress line without a bar */
	int failed;
	/*
	 * A write to the results database failed (a full disk, a file made read-only or damaged): every
	 * later batch would fail alike, so the run stops, keeping every batch committed before
	 */
	int store_failed;
	int batch; /* images per batch: the experiment's, halved after an out-of-memory error */
	int batch_auto; /* batch: auto on a CUDA device: 1 until the first batch has been measured */
	/* where a group's time went, in seconds: waiting for decoded images, the shared pass, the methods'
	 * maps and metrics (device work is counted where its results reach the host), the database */
	double t_wait, t_pass, t_maps, t_store;
	/* the end of the group's first batch and its images: the rate after it leaves out the cold start */
	double t_first;
	size_t n_first;
	const char *device;  /* this worker's device */
	int worker, workers; /* this process is worker `worker` of `workers`, one per device */
	int decode_workers;  /* image decoding threads (-1: one per core) */
	/* per group, the chunks of its images that the workers take in turn (shared across fork) */
	struct batch_share *shares;
	size_t nr_groups;
};

/*
 * One run of a group as group.c works through it: what the database said it has (done), and what this
 * process stored since. Owned by its group (done and error are freed with it); pr points into the
 * runner's plan, lua is the runner's. Once failed is set, nothing more is computed or stored for it.
 */
struct group_run {
	struct plan_run *pr;
	struct cam_mapper mapper;
	/*
	 * CAM_SMOOTH_* (cam/methods.h) of the run's built-in method, from its spec parameters eigen_smooth
	 * and aug_smooth; 0 for a method defined in Lua
	 */
	unsigned smooth;
	const char *user;    /* a Lua method's name, or NULL for a built-in one */
	struct luacam *lua;
	unsigned char *done; /* per dataset index */
	int failed;
	char *error;
	size_t stored;
	size_t nonfinite; /* of them, images whose class probability was NaN or infinite */
	int started; /* its state went from pending to partial with its first stored batch */
};

#endif
