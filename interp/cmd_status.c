/*
 * cmd_status.c - `camlab status`: what a results folder holds, its runs' states and its shards.
 */
#include "interp/commands.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cam/torch_load.h"
#include "dsl/experiment.h"
#include "interp/modelopts.h"
#include "interp/plan.h"
#include "interp/run.h"
#include "lib/error.h"
#include "lib/strbuf.h"
#include "lib/xalloc.h"
#include "reports/paper.h"
#include "store/store.h"

static const char status_usage[] =
	"usage: camlab status DIR\n"
	"\n"
	"Summarises the results database in DIR (an experiment's output folder): runs by state, images\n"
	"stored, and the specs that produced them. With shards (camlab submit, run --shard), each shard's\n"
	"results, whether it runs now, had nothing to do, or is missing or incomplete, and the\n"
	"`camlab submit --only ...` command that runs those again.\n";

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

/*
 * The shards under DIR/shards (camlab submit, run --shard) and the image results each holds; whether it
 * runs now, had nothing to do, or is missing or incomplete, and the command that runs those again. With
 * complete (the merged results have every run done) none need to. Returns how many shard folders there
 * are, or -1 if there is no DIR/shards.
 */
static long print_shards(const char *dir, const char *intro, int complete)
{
	struct run_shard *sh;
	long n = run_shards(dir, &sh), i, nr_images = -1;
	int count, k, *redo;
	size_t nr_redo = 0;
	char *spec = NULL;
	unsigned char *seen;

	if (n <= 0) {
		if (n == 0)
			run_shards_free(sh, 0);
		return n;
	}
	if (intro)
		fputs(intro, stdout);
	count = run_shards_count(sh, (size_t)n, dir); /* several counts: listed, but no shard is missing */
	/* what the shards were given: the selection's size (which shards have images) and the spec */
	for (i = 0; i < n; i++) {
		struct store_summary sum = STORE_SUMMARY_INIT;
		struct store *s = store_open_readonly(sh[i].dir);
		if (s && nr_images < 0)
			nr_images = store_selection_size(s);
		if (s && !spec && store_summary_load(&sum, s) == 0 && sum.nr_specs)
			spec = xstrdup(sum.specs[sum.nr_specs - 1].path);
		store_summary_release(&sum);
		store_close(s);
	}
	seen = xcalloc(count > 0 ? (size_t)count : 1, 1);
	redo = xmalloc((count > 0 ? (size_t)count : 1) * sizeof(*redo));
	for (i = 0; i < n; i++) {
		const char *name = strrchr(sh[i].dir, '/') + 1;
		struct store_summary sum = STORE_SUMMARY_INIT;
		struct store *s = store_open_readonly(sh[i].dir);
		int running = run_shard_running(sh[i].dir), idle = 0, incomplete = 1;
		size_t j;

		if (count > 0) {
			seen[sh[i].i] = 1;
			idle = nr_images >= 0 && run_shard_idle((size_t)nr_images, sh[i].i, count);
		}
		if (!s || store_summary_load(&sum, s) < 0) {
			printf("%s: %s\n", name,
			       running ? "running, no results yet"
			       : idle	? "nothing to do (never started)"
					: "no results (not started yet, cancelled, or stopped before storing any)");
		} else {
			printf("%s: %ld image results stored; runs:", name, sum.nr_stored);
			incomplete = !sum.nr_states;
			for (j = 0; j < sum.nr_states; j++) {
				printf("%s %s %ld", j ? "," : "", sum.states[j].state, sum.states[j].runs);
				if (strcmp(sum.states[j].state, "done") && strcmp(sum.states[j].state, "failed"))
					incomplete = 1;
			}
			printf("%s%s\n", sum.nr_states ? "" : " none",
			       running	    ? "; running now"
			       : idle	    ? "; nothing to do"
			       : incomplete ? "; incomplete (stopped partway: killed, cancelled, out of time or "
					      "failed; its log says)"
					    : "");
		}
		if (count > 0 && incomplete && !running && !idle)
			redo[nr_redo++] = sh[i].i;
		store_summary_release(&sum);
		store_close(s);
	}
	for (k = 0; k < count; k++) {
		if (seen[k])
			continue;
		if (nr_images >= 0 && run_shard_idle((size_t)nr_images, k, count)) {
			printf("shard-%03d-of-%03d: nothing to do (never started)\n", k, count);
			continue;
		}
		printf("shard-%03d-of-%03d: missing (never started)\n", k, count);
		redo[nr_redo++] = k;
	}
	if (nr_redo && !complete) {
		struct strbuf cmd = STRBUF_INIT;
		qsort(redo, nr_redo, sizeof(*redo), cmp_int);
		run_shards_resubmit(&cmd, dir, count, redo, nr_redo, spec);
		printf("%zu shard(s) of %d missing or incomplete; once their jobs have ended (squeue), this runs "
		       "them again and merges after them:\n  %s\n",
		       nr_redo, count, cmd.buf);
		strbuf_release(&cmd);
	}
	free(seen);
	free(redo);
	free(spec);
	run_shards_free(sh, (size_t)n);
	return n;
}

int cmd_status(int argc, char **argv)
{
	struct store_summary sum = STORE_SUMMARY_INIT;
	struct store *s;
	size_t i;
	int complete = 1;

	if (argc != 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fputs(status_usage, argc == 2 ? stdout : stderr);
		return argc == 2 ? 0 : 2;
	}
	if (!(s = store_open_readonly(argv[1]))) {
		char *path = store_path(argv[1]);
		struct strbuf intro = STRBUF_INIT;
		long n = 0;
		if (access(path, F_OK) < 0) { /* perhaps shards run, none merged yet */
			strbuf_addf(&intro,
				    "no merged results yet (camlab merge gathers the shards into %s)\n",
				    path);
			if ((n = print_shards(argv[1], intro.buf, 0)) <= 0)
				error("no results in '%s' (no %s)", argv[1], path);
		}
		strbuf_release(&intro);
		free(path);
		return n > 0 ? 0 : 1;
	}
	if (store_summary_load(&sum, s) < 0) {
		store_close(s);
		return 1;
	}
	store_close(s);
	for (i = 0; i < sum.nr_states; i++) {
		const struct store_state_count *c = &sum.states[i];
		complete &= !strcmp(c->state, "done");
		printf("%-8s %5ld run(s), %ld of %ld image results stored", c->state, c->runs, c->nr_stored,
		       c->nr_images);
		if (c->nr_skipped)
			printf(", %ld unreadable skipped", c->nr_skipped);
		putchar('\n');
	}
	if (sum.nr_nonfinite)
		printf("note: %ld image result(s) had a NaN or infinite class probability (the model's outputs): "
		       "their metrics are empty, and the averages leave them out\n",
		       sum.nr_nonfinite);
	for (i = 0; i < sum.nr_failed; i++) {
		const struct store_failed_run *f = &sum.failed[i];
		printf("failed: %s %s/%s %s %s %s: %s\n", f->key, f->model, f->layer, f->method, f->utility,
		       f->target, f->error);
	}
	for (i = 0; i < sum.nr_specs; i++)
		printf("spec %ld: %s (camlab %s, %s)\n", sum.specs[i].id, sum.specs[i].path,
		       sum.specs[i].camlab_version, sum.specs[i].created);
	store_summary_release(&sum);
	print_shards(argv[1], NULL, complete && sum.nr_states);
	return 0;
}
