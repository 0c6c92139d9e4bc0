/*
 * progress.h - what a run shows while it goes: the progress bar or lines, the images/s rates and the
 * workers' progress read from the database. The bottom of the runner's files: it calls none of them.
 */
#ifndef INTERP_PROGRESS_H
#define INTERP_PROGRESS_H

#include <stddef.h>

struct runner;

/* A monotonic clock, in seconds. */
double progress_now(void);
/*
 * Where the run is: run run_i of nruns (label), done of total images. A bar on a terminal after every
 * batch, else a line every --log-every seconds; nothing in a worker of several (the parent shows all).
 */
void progress_batch(struct runner *r, size_t run_i, size_t nruns, size_t done, size_t total,
		    const char *label);
/* The end of a group's log line: n images in dt seconds, the rate after the first batch, the timings. */
void progress_rate(const struct runner *r, size_t n, double dt);
/* Image results the database holds for the plan's runs (at most the selection's size per run). */
long progress_stored(struct runner *r);
/*
 * The parent's view of nworkers worker processes, from the image results stored since base (at t0),
 * as progress_batch() shows a single process's.
 */
void progress_watch(struct runner *r, int bar, size_t nworkers, long base, double t0);

#endif
