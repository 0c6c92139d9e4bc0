/*
 * shard.c - shards of a run and their merge (see shard.h and run.h): shard i of n computes the chunks k
 * of SHARD_CHUNK images with k % n == i into its own folder and database, which a merge gathers.
 */
#include "interp/shard.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "interp/group.h"
#include "interp/runner.h"
#include "lib/error.h"
#include "lib/quote.h"
#include "lib/strbuf.h"
#include "lib/xalloc.h"
#include "store/store.h"

char *run_shard_dir(const char *output, int i, int n)
{
	struct strbuf sb = STRBUF_INIT;
	strbuf_addf(&sb, "%s/shards/shard-%03d-of-%03d", output, i, n);
	return strbuf_detach(&sb, NULL);
}

static int cmp_shard(const void *a, const void *b)
{
	const struct run_shard *x = a, *y = b;
	return x->n != y->n ? (x->n > y->n) - (x->n < y->n) : (x->i > y->i) - (x->i < y->i);
}

long run_shards(const char *output, struct run_shard **out)
{
	struct strbuf dir = STRBUF_INIT;
	struct run_shard *sh = NULL;
	struct dirent *de;
	size_t nr = 0;
	DIR *dp;

	*out = NULL;
	strbuf_addf(&dir, "%s/shards", output);
	dp = opendir(dir.buf);
	strbuf_release(&dir);
	if (!dp)
		return -1;
	while ((de = readdir(dp))) {
		int a, b, end = 0;
		/* only the names camlab makes: a count past SHARD_MAX is no shard of it */
		if (sscanf(de->d_name, "shard-%d-of-%d%n", &a, &b, &end) == 2 && !de->d_name[end] && b > 0 &&
		    b <= SHARD_MAX && a >= 0 && a < b) {
			sh = xrealloc(sh, (nr + 1) * sizeof(*sh));
			sh[nr].i = a;
			sh[nr].n = b;
			sh[nr++].dir = run_shard_dir(output, a, b);
		}
	}
	closedir(dp);
	if (nr > 1) /* qsort with a NULL base is undefined even for no elements */
		qsort(sh, nr, sizeof(*sh), cmp_shard);
	*out = sh;
	return (long)nr;
}

void run_shards_free(struct run_shard *s, size_t n)
{
	size_t i;
	for (i = 0; i < n; i++)
		free(s[i].dir);
	free(s);
}

int run_shards_count(const struct run_shard *s, size_t n, const char *output)
{
	if (!n)
		return 0;
	/* sorted by count: the first and the last differ if any do */
	if (s[0].n != s[n - 1].n)
		return error("the shards in %s/shards are of different counts (%d and %d): a merge gathers the "
			     "shards of one count; move the others' folders away (shard-*-of-%03d), or remove "
			     "%s/shards to start again",
			     output, s[0].n, s[n - 1].n, s[0].n, output);
	return s[0].n;
}

int run_shard_idle(size_t nr_images, int i, int n)
{
	(void)n; /* chunk k is shard k % n's: shard i has one if there is a chunk i */
	return (size_t)i >= (nr_images + SHARD_CHUNK - 1) / SHARD_CHUNK;
}

int run_shard_running(const char *dir)
{
	struct strbuf path = STRBUF_INIT;
	struct flock fl;
	int fd, held = 0;

	strbuf_addf(&path, "%s/lock", dir);
	fd = open(path.buf, O_RDONLY | O_CLOEXEC);
	strbuf_release(&path);
	if (fd < 0)
		return 0;
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	if (fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK)
		held = 1;
	close(fd);
	return held;
}

void run_shards_resubmit(struct strbuf *sb, const char *output, int n, const int *list, size_t nr,
			 const char *spec)
{
	struct strbuf path = STRBUF_INIT, rec = STRBUF_INIT;
	char buf[4096];
	size_t i, got;
	FILE *fp;
	int whole;

	strbuf_addf(&path, "%s/" SHARD_SUBMIT_ARGS, output);
	if ((fp = fopen(path.buf, "rb"))) {
		while ((got = fread(buf, 1, sizeof(buf), fp)) > 0)
			strbuf_add(&rec, buf, got);
		fclose(fp);
	}
	strbuf_release(&path);
	whole = rec.len && rec.buf[rec.len - 1] == '\0'; /* each word ends with a NUL */
	if (whole) {
		/* the spec's relative paths are the working folder's: the submission's, if this is another */
		char *cwd = getcwd(NULL, 0);
		if (!cwd || strcmp(cwd, rec.buf)) {
			strbuf_addstr(sb, "cd ");
			quote_shell(sb, rec.buf);
			strbuf_addstr(sb, " && ");
		}
		free(cwd);
	}
	strbuf_addf(sb, "camlab submit --tasks %d --only ", n);
	for (i = 0; i < nr; i++) {
		size_t j = i;
		while (j + 1 < nr && list[j + 1] == list[j] + 1)
			j++;
		strbuf_addf(sb, i ? ",%d" : "%d", list[i]);
		if (j > i)
			strbuf_addf(sb, "-%d", list[j]);
		i = j;
	}
	if (whole) {
		for (i = strlen(rec.buf) + 1; i < rec.len; i += strlen(rec.buf + i) + 1) {
			strbuf_addch(sb, ' ');
			quote_shell(sb, rec.buf + i);
		}
	} else if (spec) {
		strbuf_addch(sb, ' ');
		quote_shell(sb, spec);
	} else {
		strbuf_addstr(sb, " FILE");
	}
	strbuf_release(&rec);
}

/*
 * Per shard k of n, whether a run that has not failed still lacks an image of its chunks in the merged
 * database: the shard is incomplete whatever its own database says (a shard killed before it settled its
 * runs, or one whose folder is gone). A calloc'ed array of n flags.
 */
static unsigned char *shards_lacking(struct runner *r, int n)
{
	unsigned char *lacks = xcalloc((size_t)n, 1), *done = xmalloc(r->ds.nr ? r->ds.nr : 1);
	size_t i, k;

	for (k = 0; k < r->plan.nr; k++) {
		const char *key = r->plan.runs[k].key;
		char *st = store_run_state(r->store, key, NULL);
		int failed = st && !strcmp(st, "failed");
		free(st);
		if (failed || store_done_images(r->store, key, done, r->ds.nr, r->paths, NULL) < 0)
			continue;
		for (i = 0; i < r->nr_images; i++)
			if (!done[r->images[i]])
				lacks[(i / SHARD_CHUNK) % (size_t)n] = 1;
	}
	free(done);
	return lacks;
}

/*
 * camlab merge: every shard's results (OUTPUT/shards/shard-I-of-N, all of one N) into OUTPUT's database,
 * then the runs' states from all of them. Says of every shard whether it is complete, has nothing to do
 * (fewer chunks than shards), or is missing or incomplete, and for those the command that runs them
 * again. Returns 0 if every run is done, else 1.
 */
int shard_merge(struct runner *r)
{
	struct run_shard *sh;
	long nr = run_shards(r->out, &sh), i;
	long *results; /* per shard: image results merged; -1: no folder; -2: a folder without results */
	unsigned char *lacks;
	int *redo, n, k, ret = 0;
	size_t done, nr_redo = 0, chunks = (r->nr_images + SHARD_CHUNK - 1) / SHARD_CHUNK;

	if (nr <= 0) {
		error("no shards in %s/shards: run `camlab submit` (Slurm) or `camlab run --shard I/N` first",
		      r->out);
		if (nr == 0)
			run_shards_free(sh, 0);
		return 1;
	}
	if ((n = run_shards_count(sh, (size_t)nr, r->out)) < 0) {
		run_shards_free(sh, (size_t)nr);
		return 1;
	}
	results = xmalloc((size_t)n * sizeof(*results));
	for (k = 0; k < n; k++)
		results[k] = -1;
	for (i = 0; i < nr; i++) {
		struct strbuf db = STRBUF_INIT;
		strbuf_addf(&db, "%s/results.sqlite", sh[i].dir);
		if (access(db.buf, R_OK) < 0)
			results[sh[i].i] = -2;
		else if ((results[sh[i].i] = store_merge(r->store, db.buf)) < 0)
			ret = 1; /* said; the shard counts as having no results */
		strbuf_release(&db);
	}
	done = group_settle_runs(r);
	lacks = shards_lacking(r, n);
	redo = xmalloc((size_t)n * sizeof(*redo));
	for (k = 0; k < n; k++) {
		fprintf(stderr, "shard %d of %d: ", k, n);
		if (run_shard_idle(r->nr_images, k, n)) {
			fprintf(stderr, "nothing to do (%zu image(s) make %zu chunk(s) of %d)\n", r->nr_images,
				chunks, SHARD_CHUNK);
			continue;
		}
		if (results[k] >= 0)
			fprintf(stderr, "%ld image result(s)", results[k]);
		if (!lacks[k])
			fputs(results[k] >= 0 ? "\n" : "no folder, its results merged before\n", stderr);
		else if (results[k] >= 0)
			fputs(", incomplete (stopped partway: killed, cancelled, out of time or failed; its log "
			      "says)\n",
			      stderr);
		else if (results[k] == -2)
			fputs("no results (not started yet, cancelled, or stopped before storing any)\n", stderr);
		else
			fputs("missing (never started)\n", stderr);
		if (lacks[k])
			redo[nr_redo++] = k;
	}
	fprintf(stderr, "merged %ld shard folder(s) into %s: %zu of %zu run(s) done", nr, r->out, done,
		r->plan.nr);
	if (done < r->plan.nr) {
		ret = 1;
		if (nr_redo)
			fprintf(stderr, "; run the missing or incomplete shards again (they resume), then merge "
					"again");
	}
	fputc('\n', stderr);
	if (nr_redo) {
		struct strbuf cmd = STRBUF_INIT;
		char *spec = realpath(r->e->file, NULL);
		run_shards_resubmit(&cmd, r->e->output, n, redo, nr_redo, spec ? spec : r->e->file);
		fprintf(stderr, "%zu shard(s) of %d missing or incomplete; this runs them again and merges after "
				"them:\n  %s\n",
			nr_redo, n, cmd.buf);
		free(spec);
		strbuf_release(&cmd);
	}
	free(results);
	free(lacks);
	free(redo);
	run_shards_free(sh, (size_t)nr);
	return ret;
}
