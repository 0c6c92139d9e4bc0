/*
 * progress.c - what a run shows while it goes (see progress.h): a bar on a terminal, else a line every
 * --log-every seconds, with rates readable at both ends and the time left.
 */
#include "interp/progress.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "interp/runner.h"
#include "store/store.h"

double progress_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/*
 * Whether a progress report is due at time t: after every batch with a bar (on a terminal), else a line
 * every --log-every seconds (never with 0).
 */
static int progress_due(struct runner *r, int bar, double t)
{
	if (!bar && (r->o->log_every <= 0 || t - r->t_line < r->o->log_every))
		return 0;
	r->t_line = t;
	return 1;
}

/*
 * An images/s figure readable at both ends: 1536.4, 4.42, 0.0391 (a network on a slow CPU), never
 * "0.0" for a run that is moving. No exponent: the benchmark scripts read these numbers.
 */
static const char *rate_text(double v, char buf[32])
{
	snprintf(buf, 32, "%.*f", v >= 10 ? 1 : v >= 1 ? 2 : v >= 0.1 ? 3 : 4, v);
	return buf;
}

/* The end of a progress report: the time left at rate, then the end of its line (none for a bar). */
static void progress_end(int bar, double left, double rate)
{
	if (rate > 0 && left > 0) {
		long eta = (long)(left / rate);
		fprintf(stderr, "  ETA %ld:%02ld:%02ld", eta / 3600, eta / 60 % 60, eta % 60);
	}
	fputs(bar ? "" : "\n", stderr);
	fflush(stderr);
}

/* In a sweep, which point of how many is running: a progress line says it before its run. */
static void progress_point(const struct runner *r)
{
	if (r->o && r->o->nr_points > 1)
		fprintf(stderr, "[point %zu/%zu] ", r->o->point, r->o->nr_points);
}

/* Where the run is (quiet in workers: the parent reports for all of them). */
void progress_batch(struct runner *r, size_t run_i, size_t nruns, size_t done, size_t total,
		     const char *label)
{
	double t = progress_now(), dt = t - r->t0, rate = dt > 0 ? (double)r->images_done_now / dt : 0;
	char buf[32];
	if (r->workers > 1 || !progress_due(r, r->bar, t))
		return;
	fprintf(stderr, "%s", r->bar ? "\r\033[K" : "");
	progress_point(r);
	fprintf(stderr, "[run %zu/%zu] %s  %zu/%zu images  %s img/s", run_i, nruns, label, done, total,
		rate_text(rate, buf));
	progress_end(r->bar, (double)total - (double)done, rate);
}

/*
 * The speed of n images in dt seconds, also after the first batch (without model loading and the
 * device's cold start), and where the time went.
 */
void progress_rate(const struct runner *r, size_t n, double dt)
{
	double t_after = progress_now() - r->t_first;
	char buf[32];

	fprintf(stderr, " in %.1f s, %s images/s", dt, rate_text((double)n / dt, buf));
	if (r->n_first && n > r->n_first && t_after > 0)
		fprintf(stderr, ", %s after the first batch",
			rate_text((double)(n - r->n_first) / t_after, buf));
	fprintf(stderr,
		" (waiting for images %.2f s, pass %.2f s, maps and metrics %.2f s, "
		"database %.2f s)",
		r->t_wait, r->t_pass, r->t_maps, r->t_store);
}

/* Image results the database holds for the plan's runs (at most the selection's size per run). */
long progress_stored(struct runner *r)
{
	long n = 0;
	size_t i;
	for (i = 0; i < r->plan.nr; i++) {
		long nd = 0;
		free(store_run_state(r->store, r->plan.runs[i].key, &nd));
		n += nd < (long)r->nr_images ? nd : (long)r->nr_images;
	}
	return n;
}

/* The workers' progress, from the database, as progress_batch() shows a single process's. */
void progress_watch(struct runner *r, int bar, size_t nworkers, long base, double t0)
{
	double t = progress_now(), rate;
	long done, total = (long)(r->plan.nr * r->nr_images);

	if (!progress_due(r, bar, t))
		return;
	done = progress_stored(r);
	rate = t > t0 ? (double)(done - base) / (t - t0) : 0;
	fprintf(stderr, "%s", bar ? "\r\033[K" : "");
	progress_point(r);
	fprintf(stderr, "[%zu workers] %ld/%ld image results stored  %.1f/s", nworkers, done, total, rate);
	progress_end(bar, (double)(total - done), rate);
}
