/*
 * workers.c - the processes that compute (see workers.h). libtorch's threads are started in each
 * worker, never before a fork; the workers share the groups' chunks of images and the results database.
 */
#include "interp/workers.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cam/torch_load.h"
#include "interp/group.h"
#include "interp/luacam.h"
#include "interp/progress.h"
#include "interp/runner.h"
#include "lib/error.h"
#include "lib/xalloc.h"
#include "store/store.h"

void workers_devices_release(struct devices *d)
{
	size_t i;
	for (i = 0; i < d->nr; i++)
		free(d->names[i]);
	free(d->names);
}

/*
 * The devices to run on: --devices LIST (or "all": every visible CUDA device), else the experiment's.
 * Asking libtorch how many GPUs there are would start it before the fork, so "all" counts the
 * CUDA_VISIBLE_DEVICES list or the /dev/nvidiaN files instead.
 */
int workers_devices(const struct experiment *e, const struct run_opts *o, struct devices *d)
{
	const char *list = o->devices && *o->devices ? o->devices : (e->device ? e->device : "cpu");
	char *copy, *p, *comma;

	if (!strcmp(list, "all")) {
		const char *vis = getenv("CUDA_VISIBLE_DEVICES");
		size_t n = 0, i;
		if (vis && *vis) {
			n = 1;
			for (p = (char *)vis; *p; p++)
				n += *p == ',';
		} else {
			char path[32];
			for (n = 0; n < 64; n++) {
				snprintf(path, sizeof(path), "/dev/nvidia%zu", n);
				if (access(path, F_OK) < 0)
					break;
			}
		}
		if (!n)
			return error("--devices all: no CUDA device is visible");
		d->names = xcalloc(n, sizeof(char *));
		for (i = 0; i < n; i++) {
			char name[32];
			snprintf(name, sizeof(name), "cuda:%zu", i);
			d->names[d->nr++] = xstrdup(name);
		}
		return 0;
	}
	copy = xstrdup(list);
	for (p = copy;; p = comma + 1) {
		comma = strchr(p, ',');
		if (comma)
			*comma = '\0';
		if (*p && !experiment_valid_device(p)) {
			/* checked here because asking libtorch would start it before the fork */
			error("unsupported device '%s': use cpu, cuda or cuda:N", p);
			free(copy);
			return -1;
		}
		if (*p) {
			d->names = xrealloc(d->names, (d->nr + 1) * sizeof(char *));
			d->names[d->nr++] = xstrdup(p);
		}
		if (!comma)
			break;
	}
	free(copy);
	return d->nr ? 0 : error("no device given");
}

/*
 * A third test knob: CAMLAB_TEST_DB_PAGES=K lets the results database grow by K pages (of 4 KiB) from
 * its size when opened, after which SQLite's writes fail with SQLITE_FULL as they do on a full disk
 * (PRAGMA max_page_count), to test that a run stops and resumes without a disk to fill.
 */
void workers_fake_full_disk(struct store *s)
{
	const char *v = getenv("CAMLAB_TEST_DB_PAGES");

	if (s && v && *v)
		store_limit_growth(s, strtol(v, NULL, 10));
}

/* A worker's exit status when the results database could not take a write. */
enum { RUN_STORE_FAILED = 3 };

/*
 * Run the groups, taking chunks of their images with the other workers (if any). Returns 0, 1, or
 * RUN_STORE_FAILED when it stopped because the results database could not take a write.
 */
int workers_run(struct runner *r)
{
	struct diag d = DIAG_INIT;
	size_t i, j, g;

	if (r->e->nr_defs) {
		r->lua = luacam_new(r->e, &d);
		/* a method or utility that does not load fails its runs (at their group); a metric, all */
		for (i = 0; i < r->e->nr_defs; i++)
			if (r->e->defs[i].kind == EXP_DEF_METRIC &&
			    luacam_load_error(r->lua, r->e->defs[i].name))
				break;
		if (d.errors)
			diag_print(&d, stderr);
		if (i < r->e->nr_defs) {
			diag_release(&d);
			return 1;
		}
	}
	diag_release(&d);
	for (i = 0; i < r->e->nr_metrics; i++) {
		if (!luacam_has_metric(r->lua, r->e->metrics[i].name))
			continue;
		r->user_metrics = xrealloc(r->user_metrics, (r->nr_user_metrics + 1) * sizeof(char *));
		r->user_metrics[r->nr_user_metrics++] = r->e->metrics[i].name;
		/* a Lua metric is given y, o and d: compute them even if no built-in metric needs them */
		r->metrics |= (1u << METRIC_AD) | (1u << METRIC_ADD);
	}
	if (ts_init(r->workers > 1 ? 1 : 0) < 0 || ts_device_check(r->device) < 0)
		return error("%s", ts_error()) ? 1 : 1;
	if (!r->store) {
		if (!(r->store = store_open(r->out)))
			return 1;
		workers_fake_full_disk(r->store);
	}
	r->t0 = r->t_line = progress_now();
	for (i = 0, g = 0; i < r->plan.nr; i = j, g++) {
		j = group_end(&r->plan, i);
		group_process(r, i, j, g);
		if (r->store_failed)
			return RUN_STORE_FAILED;
		if (r->failed && r->o->fail_fast) {
			error("stopping at the first failure (--fail-fast)");
			break;
		}
	}
	return r->failed ? 1 : 0;
}

/*
 * One child process per device, all working through the groups in order, each taking chunks of a
 * group's images while any are left; waits for all, showing their progress from the database.
 * Returns 0 or 1.
 */
int workers_fork(struct runner *r, const struct devices *devs)
{
	pid_t *pids = xcalloc(devs->nr, sizeof(pid_t));
	size_t i, alive = 0;
	int ret = 0, status, bar = r->bar;
	pid_t parent;
	long base;
	double t0;

	ts_load_wait(); /* never fork while the loader thread may hold the dynamic loader's lock */
	parent = getpid();
	fflush(stdout);
	fflush(stderr);
	for (i = 0; i < devs->nr; i++) {
		pids[i] = fork();
		if (pids[i] < 0) {
			ret = error("cannot start a worker for '%s': %s", devs->names[i], strerror(errno));
			break;
		}
		if (pids[i] == 0) {
			/* a worker ends with the run: killed, its parent leaves no process computing alone */
			if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != parent)
				_exit(1);
			r->device = devs->names[i];
			r->worker = (int)i;
			r->workers = (int)devs->nr;
			if (r->o->workers < 0) {
				/* the cores are shared by the device processes */
				long cores = sysconf(_SC_NPROCESSORS_ONLN);
				r->decode_workers = cores > (long)devs->nr ? (int)(cores / (long)devs->nr) : 1;
			}
			/* the parent shows the progress of all (progress_batch() is quiet in workers) */
			r->bar = 0;
			fprintf(stderr, "worker %zu on %s\n", i, r->device);
			_exit(workers_run(r));
		}
		alive++;
	}
	r->store = store_open(r->out);
	base = r->store ? progress_stored(r) : 0;
	r->t_line = t0 = progress_now();
	while (alive) {
		int any = 0;
		for (i = 0; i < devs->nr; i++) {
			pid_t p;
			if (pids[i] <= 0 || !(p = waitpid(pids[i], &status, WNOHANG)))
				continue;
			any = 1;
			alive--;
			pids[i] = 0;
			if (p > 0 && WIFEXITED(status) && WEXITSTATUS(status) == RUN_STORE_FAILED)
				r->store_failed = 1;
			if (p < 0 || !WIFEXITED(status) || WEXITSTATUS(status)) {
				if (p > 0 && !WIFEXITED(status))
					error("the worker on '%s' died (signal %d)", devs->names[i],
					      WTERMSIG(status));
				ret = 1;
			}
		}
		if (alive && !any) {
			usleep(200 * 1000);
			if (r->store)
				progress_watch(r, bar, devs->nr, base, t0);
		}
	}
	if (bar)
		fputs("\r\033[K", stderr);
	free(pids);
	return ret;
}
