/*
 * workers.h - the processes that compute: the devices to run on, one worker running the groups in
 * order, and one forked worker per device when there are several.
 */
#ifndef INTERP_WORKERS_H
#define INTERP_WORKERS_H

#include <stddef.h>

struct experiment;
struct run_opts;
struct runner;
struct store;

/* The devices' names (owned: workers_devices_release frees them). */
struct devices {
	char **names;
	size_t nr;
};

/*
 * The devices to run on, into d: --devices LIST or "all" (o), else the experiment's. Returns 0, or -1
 * after an error.
 */
int workers_devices(const struct experiment *e, const struct run_opts *o, struct devices *d);
void workers_devices_release(struct devices *d);
/* The test knob CAMLAB_TEST_DB_PAGES on the results database s just opened (NULL: none). */
void workers_fake_full_disk(struct store *s);
/*
 * This process's worker: every group on r->device. Returns 0, 1 if a run failed, or RUN_STORE_FAILED
 * (workers.c) when the results database could not take a write.
 */
int workers_run(struct runner *r);
/*
 * One child process per device of devs, r->store closed before; waits for all of them, showing their
 * progress. Returns 0, or 1 if any failed (r->store_failed set if one stopped on the database).
 */
int workers_fork(struct runner *r, const struct devices *devs);

#endif
