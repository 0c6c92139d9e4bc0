/*
 * cmd_submit.c - big studies on a Slurm cluster: `camlab submit` runs an experiment as an array job of
 * shards (`camlab run --shard I/N`, each into its own database under OUTPUT/shards) followed by a job that
 * `camlab merge`s them into OUTPUT and builds the report, whatever became of the shards (afterany): it
 * says which shards are missing, and resubmitting them (they resume) and merging again completes the run.
 */
#include "interp/commands.h"

#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cam/dataset.h"
#include "dsl/experiment.h"
#include "interp/modelopts.h"
#include "interp/preflight.h"
#include "interp/run.h"
#include "lib/error.h"
#include "lib/fs.h"
#include "lib/quote.h"
#include "lib/strbuf.h"
#include "lib/xalloc.h"

static const char submit_usage[] =
	"usage: camlab submit [options] [--sweep KEY=V1,V2...] FILE [KEY=VALUE...]\n"
	"\n"
	"Runs the experiment in FILE on a Slurm cluster: an array job of N shards (each `camlab run\n"
	"--shard I/N`, every N-th chunk of 64 images of every run, into OUTPUT/shards/), then a job that\n"
	"merges them into OUTPUT and builds the report once the array has ended, whatever became of its\n"
	"tasks. KEY=VALUE overrides (as in camlab run) are passed on to the shards and the merge.\n"
	"The job scripts are written to OUTPUT/slurm/, with one log per attempt\n"
	"(shard-I.JOB.log, merge.JOB.log). Submitting again submits the shards again: finished work is\n"
	"not redone. `camlab merge` and `camlab status OUTPUT` name the shards that are missing or\n"
	"incomplete, with the command that runs them again.\n"
	"\n"
	"  --sweep KEY=V1,V2   every value in turn, into the same output folder (several --sweep: every\n"
	"                      combination): every point is checked here first, then one array whose\n"
	"                      shards run every point (`camlab run --sweep`) and one merge of them all\n"
	"  --tasks N           shards, one array task each (default 4, at most 10000); once OUTPUT has\n"
	"                      shards, their count (another count is refused)\n"
	"  --only LIST         submit only these shards (e.g. 2,5 or 4-7), then the merge\n"
	"  --throttle K        at most K shards at a time\n"
	"  --gpus-per-task G   GPUs per task (--gres=gpu:G; default 1 if the experiment's device is cuda,\n"
	"                      else 0); with more than one, the task runs a worker on each\n"
	"  --cpus-per-task C   cores per task (image decoding threads)\n"
	"  --partition P       --time T       --mem M       --account A\n"
	"                      passed to sbatch as they are\n"
	"  --sbatch ARG        any other sbatch option (repeatable), e.g. --sbatch=--qos=long\n"
	"  --dry-run           write the scripts and print the sbatch commands, submit nothing\n"
	"  --no-check          submit without first checking the models here on one image (by default,\n"
	"                      as `camlab check --models`: a wrong layer fails now, not in the queue)\n"
	"  --allow-unsafe      let a Lua spec use io, os and require (also --unsafe)\n";

/* Run the command line cmd, its first line of output into *out (the job id with --parsable). */
static int sbatch(const char *cmd, char **out)
{
	char line[256];
	FILE *p = popen(cmd, "r");
	int status;

	*out = NULL;
	if (!p)
		return error("cannot run sbatch");
	if (fgets(line, sizeof(line), p)) {
		line[strcspn(line, ";\r\n")] = '\0'; /* --parsable: "id" or "id;cluster" */
		*out = xstrdup(line);
	}
	while (fgets(line, sizeof(line), p))
		;
	status = pclose(p);
	if (status != 0 || !*out || !**out) {
		free(*out);
		*out = NULL;
		if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
			return error(
				"no sbatch here: submit from a Slurm login node (--dry-run writes the job "
				"scripts without submitting)");
		return error("sbatch failed (exit status %d): %s",
			     WIFEXITED(status) ? WEXITSTATUS(status) : -1, cmd);
	}
	return 0;
}

struct submit_opts {
	int tasks, tasks_set, throttle, gpus, cpus, dry_run, unsafe, no_check;
	const char *only, *partition, *time, *mem, *account;
	const char **extra;
	size_t nr_extra;
	const char **sweeps; /* each --sweep's KEY=V1,V2, passed on to the shards and the merge */
	size_t nr_sweeps;
	struct strbuf record; /* the options to submit again with (SHARD_SUBMIT_ARGS), each ended by a NUL */
};

/* One #SBATCH line: option opt (with its =) and the value v. -1 (said) if v cannot be written there. */
static int directive(struct strbuf *sb, const char *opt, const char *v)
{
	strbuf_addf(sb, "#SBATCH %s", opt);
	if (quote_sbatch(sb, v) < 0)
		return error("cannot give sbatch %s'%s': an #SBATCH line cannot hold its line break", opt, v);
	strbuf_addch(sb, '\n');
	return 0;
}

/*
 * The lines both job scripts start with: the job's name (camlab-NAME and a suffix), its log (a Slurm
 * filename pattern), the user's sbatch options and the working folder the spec's relative paths are read
 * from. Every value is quoted for sbatch (a space or a # in a folder's name). -1 (said) if one cannot be.
 */
static int header(struct strbuf *sb, const struct submit_opts *so, const char *name, const char *suffix,
		  const char *log, const char *cwd)
{
	struct strbuf job = STRBUF_INIT;
	size_t i;
	int ret = 0;
	char *p;

	strbuf_addstr(sb, "#!/bin/sh\n");
	/* the job's name is only a label for squeue: a line break in the experiment's name is not refused */
	strbuf_addf(&job, "camlab-%s%s", name, suffix);
	for (p = job.buf; *p; p++)
		if ((unsigned char)*p < ' ')
			*p = ' ';
	ret |= directive(sb, "--job-name=", job.buf);
	ret |= directive(sb, "--output=", log);
	if (so->partition)
		ret |= directive(sb, "--partition=", so->partition);
	if (so->account)
		ret |= directive(sb, "--account=", so->account);
	if (so->time)
		ret |= directive(sb, "--time=", so->time);
	for (i = 0; i < so->nr_extra; i++)
		ret |= directive(sb, "", so->extra[i]);
	ret |= directive(sb, "--chdir=", cwd);
	strbuf_release(&job);
	return ret ? -1 : 0;
}

/*
 * A log's name in folder dir, for --output: Slurm expands %a, %A, %j... in it, so each % of dir is
 * written %%. A backslash anywhere turns the expansion off (every shard would write one file): -1 then.
 */
static int log_pattern(struct strbuf *sb, const char *dir, const char *name)
{
	const char *p;
	if (strchr(dir, '\\'))
		return error("Slurm takes a log's name with a backslash literally (no %%a in it): the shards' "
			     "logs cannot be told apart in '%s'; choose an output folder without '\\'",
			     dir);
	for (p = dir; *p; p++) {
		if (*p == '%')
			strbuf_addch(sb, '%');
		strbuf_addch(sb, *p);
	}
	strbuf_addf(sb, "/%s", name);
	return 0;
}

/* The command line that submits script with the option given (--array=..., --dependency=...). */
static void sbatch_cmd(struct strbuf *cmd, const char *opt, const char *script)
{
	strbuf_reset(cmd);
	strbuf_addf(cmd, "sbatch --parsable %s ", opt);
	quote_shell(cmd, script);
}

/*
 * The shards to submit: "0-N" (with %K), or the --only list (2,5 or 4-7) checked against N; each one's
 * flag set in want (so->tasks of them).
 */
static int array_spec(const struct submit_opts *so, struct strbuf *sb, unsigned char *want)
{
	if (so->only) {
		const char *p = so->only;
		while (*p) {
			char *end;
			long a, b;
			if (!isdigit((unsigned char)*p))
				goto bad;
			a = b = strtol(p, &end, 10);
			if (*end == '-') {
				p = end + 1;
				if (!isdigit((unsigned char)*p))
					goto bad;
				b = strtol(p, &end, 10);
			}
			if (b < a || b >= so->tasks || (*end && (*end != ',' || !end[1])))
				goto bad;
			while (a <= b)
				want[a++] = 1;
			p = *end ? end + 1 : end;
		}
		strbuf_addstr(sb, so->only);
	} else {
		memset(want, 1, (size_t)so->tasks);
		strbuf_addf(sb, "0-%d", so->tasks - 1);
	}
	if (so->throttle > 0)
		strbuf_addf(sb, "%%%d", so->throttle);
	return 0;
bad:
	return error("--only needs shard numbers from 0 to %d (2,5 or 4-7), separated by commas, not '%s'",
		     so->tasks - 1, so->only);
}

/*
 * The shards' count: that of the shards already in out (a resubmission: --only 2 means shard 2 of
 * those), else --tasks. -1 (said) if out has shards of several counts, or --tasks names another.
 */
static int shard_count(struct submit_opts *so, const char *out)
{
	struct run_shard *sh;
	long nr = run_shards(out, &sh);
	int have = nr > 0 ? run_shards_count(sh, (size_t)nr, out) : 0;

	if (nr >= 0)
		run_shards_free(sh, (size_t)nr);
	if (have < 0)
		return -1;
	if (have && so->tasks_set && so->tasks != have)
		return error("%s/shards holds shards of %d: submit them with --tasks %d (or without --tasks); "
			     "to start again with %d shards, remove %s/shards first",
			     out, have, have, so->tasks, out);
	if (have)
		so->tasks = have;
	return 0;
}

/*
 * Shards beyond the selection's chunks have no image: they would run, find nothing and look, to a
 * reader of the logs, like shards killed before they stored anything. Say so before queueing them.
 */
static void warn_idle(const struct experiment *e, const struct submit_opts *so)
{
	struct dataset ds;
	size_t n, chunks;
	int opened;

	dataset_init(&ds);
	error_set_quiet(1); /* a dataset that does not open fails the shards, with its message, later */
	opened = dataset_open(&ds, e->data.path, e->data.labels) == 0;
	error_set_quiet(0);
	n = e->data.limit && e->data.limit < ds.nr ? e->data.limit : ds.nr;
	chunks = (n + SHARD_CHUNK - 1) / SHARD_CHUNK;
	if (opened && (size_t)so->tasks == chunks + 1)
		warning("%d shards for %zu image(s), %zu chunk(s) of %d: shard %zu will have nothing to do "
			"(--tasks %zu is enough)",
			so->tasks, n, chunks, SHARD_CHUNK, chunks, chunks ? chunks : 1);
	else if (opened && (size_t)so->tasks > chunks)
		warning("%d shards for %zu image(s), %zu chunk(s) of %d: shards %zu-%d will have nothing to "
			"do (--tasks %zu is enough)",
			so->tasks, n, chunks, SHARD_CHUNK, chunks, so->tasks - 1, chunks ? chunks : 1);
	dataset_release(&ds);
}

/*
 * The spec's overrides (KEY=VALUE), after the spec: shell words, or (record) words each ended by a NUL.
 * A sweep's values are the last overrides of each point: they are not written, its --sweep is.
 */
static void add_overrides(struct strbuf *sb, const struct experiment *e, const struct submit_opts *so,
			  int record)
{
	size_t i, n = e->nr_overrides - so->nr_sweeps;

	for (i = 0; i < n; i++) {
		if (record) {
			strbuf_add(sb, e->overrides[i].text, strlen(e->overrides[i].text) + 1);
		} else {
			strbuf_addch(sb, ' ');
			quote_shell(sb, e->overrides[i].text);
		}
	}
}

/* Each --sweep KEY=V1,V2, quoted, before the spec (its values may hold anything). */
static void add_sweeps(struct strbuf *sb, const struct submit_opts *so)
{
	size_t i;

	for (i = 0; i < so->nr_sweeps; i++) {
		strbuf_addstr(sb, " --sweep ");
		quote_shell(sb, so->sweeps[i]);
	}
}

/* A script's #SBATCH header, its log named pattern in dir and its job name + suffix. */
static int script_header(struct strbuf *sb, const struct submit_opts *so, const char *name, const char *suffix,
			 const char *dir, const char *pattern, const char *cwd)
{
	struct strbuf log = STRBUF_INIT;
	int ret = log_pattern(&log, dir, pattern) < 0 || header(sb, so, name, suffix, log.buf, cwd) < 0 ? -1 : 0;

	strbuf_release(&log);
	return ret;
}

/* The array task's script: one shard, its log one per attempt (%A: the array's job id). */
static int shard_script(struct strbuf *sb, const struct experiment *e, const struct submit_opts *so,
			const char *name, const char *dir, const char *cwd, const char *exe, const char *spec, int gpus)
{
	if (script_header(sb, so, name, "", dir, "shard-%a.%A.log", cwd) < 0)
		return -1;
	if (gpus > 0)
		strbuf_addf(sb, "#SBATCH --gres=gpu:%d\n", gpus);
	if (so->cpus > 0)
		strbuf_addf(sb, "#SBATCH --cpus-per-task=%d\n", so->cpus);
	if (so->mem && directive(sb, "--mem=", so->mem) < 0)
		return -1;
	/* no value in a comment: a line break in it would end the comment (the spec is in the command) */
	strbuf_addf(sb, "# camlab submit: shard $SLURM_ARRAY_TASK_ID of %d, run by the command below", so->tasks);
	if (so->nr_sweeps)
		strbuf_addf(sb, " for each of the sweep's %zu points in turn", cmd_sweep_points());
	strbuf_addch(sb, '\n');
	/* where the shard ran, for its log */
	strbuf_addstr(sb, "echo \"shard $SLURM_ARRAY_TASK_ID (job $SLURM_JOB_ID) on $(hostname)"
			  "${CUDA_VISIBLE_DEVICES:+, GPUs $CUDA_VISIBLE_DEVICES}\"\nexec ");
	quote_shell(sb, exe);
	strbuf_addf(sb, " run --no-progress --shard \"$SLURM_ARRAY_TASK_ID/%d\"%s%s", so->tasks,
		    gpus > 1 ? " --devices all" : "", so->unsafe ? " --allow-unsafe" : "");
	add_sweeps(sb, so);
	strbuf_addch(sb, ' ');
	quote_shell(sb, spec);
	add_overrides(sb, e, so, 0);
	strbuf_addch(sb, '\n');
	return 0;
}

/* The merge's script, run after the array whatever became of it. */
static int merge_script(struct strbuf *sb, const struct experiment *e, const struct submit_opts *so,
			const char *name, const char *dir, const char *cwd, const char *exe, const char *spec)
{
	if (script_header(sb, so, name, "-merge", dir, "merge.%j.log", cwd) < 0)
		return -1;
	strbuf_addstr(sb, "exec ");
	quote_shell(sb, exe);
	strbuf_addf(sb, " merge%s", so->unsafe ? " --allow-unsafe" : "");
	add_sweeps(sb, so);
	strbuf_addch(sb, ' ');
	quote_shell(sb, spec);
	add_overrides(sb, e, so, 0);
	strbuf_addch(sb, '\n');
	return 0;
}

/*
 * What merge and status need to name the shards that do not finish: the shards' folders (a shard
 * cancelled while pending leaves none of its own; the count is then the folder's), and the options
 * and spec of this submission for the command that runs them again.
 */
static int record_submission(const struct experiment *e, const char *out, const struct submit_opts *so,
			     const unsigned char *want, const char *cwd, const char *spec)
{
	struct strbuf path = STRBUF_INIT, args = STRBUF_INIT;
	int k, ret = -1;

	for (k = 0; k < so->tasks; k++) {
		char *sd = want[k] ? run_shard_dir(out, k, so->tasks) : NULL;
		int bad = sd && mkdir_p(sd) < 0;
		free(sd);
		if (bad)
			goto out;
	}
	strbuf_addf(&path, "%s/" SHARD_SUBMIT_ARGS, out);
	strbuf_add(&args, cwd, strlen(cwd) + 1);
	strbuf_add(&args, so->record.buf, so->record.len);
	strbuf_add(&args, spec, strlen(spec) + 1);
	add_overrides(&args, e, so, 1);
	ret = write_file(path.buf, args.buf, args.len);
out:
	strbuf_release(&path);
	strbuf_release(&args);
	return ret;
}

/* The output folder's absolute path, created if missing (caller frees), or NULL after an error. */
static char *output_dir(const struct experiment *e)
{
	char *out = realpath(e->output, NULL);

	if (!out && (mkdir_p(e->output) < 0 || !(out = realpath(e->output, NULL))))
		error("cannot create the output folder %s", e->output);
	return out;
}

/* Submit the scripts in dir: the array, then the merge depending on it; or print them (--dry-run). */
static int queue(const struct submit_opts *so, const char *name, const char *dir, const char *arr,
		 const char *out, const char *spec)
{
	struct strbuf cmd = STRBUF_INIT, opt = STRBUF_INIT, shard_path = STRBUF_INIT, merge_path = STRBUF_INIT;
	char *job = NULL, *merge_job = NULL;
	int ret = -1;

	strbuf_addf(&shard_path, "%s/shard.sbatch", dir);
	strbuf_addf(&merge_path, "%s/merge.sbatch", dir);
	strbuf_addf(&opt, "--array=%s", arr);
	sbatch_cmd(&cmd, opt.buf, shard_path.buf);
	if (so->dry_run) {
		printf("%s\n", cmd.buf);
		sbatch_cmd(&cmd, "--dependency=afterany:JOBID", merge_path.buf);
		printf("%s\n# scripts written to %s (nothing submitted: --dry-run)\n", cmd.buf, dir);
		ret = 0;
		goto out;
	}
	if (sbatch(cmd.buf, &job) < 0)
		goto out;
	strbuf_reset(&opt);
	strbuf_addf(&opt, "--dependency=afterany:%s", job);
	sbatch_cmd(&cmd, opt.buf, merge_path.buf);
	if (sbatch(cmd.buf, &merge_job) < 0) {
		error("the shards are submitted as job %s, but not the merge: run `camlab merge %s` when "
		      "they end",
		      job, spec);
		goto out;
	}
	printf("submitted %s: shards %s of %d as job %s, the merge as job %s\n", name, arr, so->tasks, job,
	       merge_job);
	printf("logs in %s (shard-I.%s.log, merge.%s.log); results and report in %s once job %s ends "
	       "(squeue -j %s,%s)\n",
	       dir, job, merge_job, out, merge_job, job, merge_job);
	ret = 0;
out:
	free(job);
	free(merge_job);
	strbuf_release(&cmd);
	strbuf_release(&opt);
	strbuf_release(&shard_path);
	strbuf_release(&merge_path);
	return ret;
}

/*
 * The experiment at each of the n points of a sweep (one without a sweep), every one checked: the scripts
 * and the output folder are the first's, the shards' GPUs any point's, the warning of idle shards that of
 * the point with the most images.
 */
static int submit(const struct experiment *points, size_t n, struct submit_opts *so)
{
	const struct experiment *e = points, *most = points;
	struct strbuf dir = STRBUF_INIT, shard = STRBUF_INIT, merge = STRBUF_INIT, arr = STRBUF_INIT;
	struct strbuf path = STRBUF_INIT;
	char *exe = self_path(), *spec = realpath(e->file, NULL), *out = NULL, *cwd = getcwd(NULL, 0);
	unsigned char *want = NULL;
	int gpus = so->gpus, ret = 1;
	const char *name = e->name ? e->name : "experiment";
	size_t pt;

	if (!exe || !spec || !cwd) {
		error("cannot find camlab's own path or the spec's");
		goto out;
	}
	for (pt = 0; pt < n; pt++) {
		const struct experiment *p = &points[pt];
		if (gpus < 0 && p->device && !strncmp(p->device, "cuda", 4))
			gpus = 1;
		if (most->data.limit && (!p->data.limit || p->data.limit > most->data.limit))
			most = p;
	}
	if (gpus < 0)
		gpus = 0;
	if (!(out = output_dir(e)) || shard_count(so, out) < 0)
		goto out;
	want = xcalloc((size_t)so->tasks, 1);
	if (array_spec(so, &arr, want) < 0)
		goto out;
	if (!so->only)
		warn_idle(most, so);
	strbuf_addf(&dir, "%s/slurm", out);
	if (mkdir_p(dir.buf) < 0 || shard_script(&shard, e, so, name, dir.buf, cwd, exe, spec, gpus) < 0 ||
	    merge_script(&merge, e, so, name, dir.buf, cwd, exe, spec) < 0)
		goto out;
	strbuf_addf(&path, "%s/shard.sbatch", dir.buf);
	if (write_file(path.buf, shard.buf, shard.len) < 0)
		goto out;
	strbuf_reset(&path);
	strbuf_addf(&path, "%s/merge.sbatch", dir.buf);
	if (write_file(path.buf, merge.buf, merge.len) < 0)
		goto out;
	if (!so->dry_run && record_submission(e, out, so, want, cwd, spec) < 0)
		goto out;
	ret = queue(so, name, dir.buf, arr.buf, out, spec) < 0;
out:
	free(exe);
	free(want);
	free(spec);
	free(out);
	free(cwd);
	strbuf_release(&dir);
	strbuf_release(&shard);
	strbuf_release(&merge);
	strbuf_release(&arr);
	strbuf_release(&path);
	return ret;
}

/*
 * A shard that cannot load its model or cut it at a layer fails in the queue, maybe hours later, and
 * every other shard with it: find that here first, in seconds (interp/preflight.h).
 */
static int check_models(const struct experiment *e)
{
	struct diag d = DIAG_INIT;
	int ret;

	fprintf(stderr, "checking the models on one image (--no-check skips this)\n");
	ret = preflight_models(e, &d, NULL);
	diag_print(&d, stderr);
	if (ret < 0)
		fprintf(stderr, "nothing submitted\n");
	diag_release(&d);
	return ret;
}

/*
 * Every point of the sweep (the experiment alone without one) read and its models checked before anything
 * is submitted, as `camlab run --sweep` checks before it runs: a typo in the last point stops the first
 * now, not in the queue. The points share one output folder: the array's shards hold them all.
 */
static int submit_points(const char *file, struct submit_opts *so)
{
	size_t pt, n = cmd_sweep_points();
	struct experiment *e = xcalloc(n, sizeof(*e));
	int bad = 0, ret = 1;

	for (pt = 0; pt < n; pt++) {
		cmd_sweep_select(pt);
		if (cmd_load_spec(file, &e[pt], so->unsafe) < 0 && ++bad && n > 1)
			fprintf(stderr, "camlab submit: with %s\n", cmd_sweep_name());
	}
	for (pt = 1; !bad && pt < n; pt++) {
		if (!strcmp(e[pt].output, e[0].output))
			continue;
		cmd_sweep_select(pt);
		bad = error("the sweep's points write into different folders ('%s' with %s, '%s' with the first): "
			    "a submission has one output folder; submit each on its own",
			    e[pt].output, cmd_sweep_name(), e[0].output);
	}
	if (bad && n > 1)
		fprintf(stderr, "nothing submitted: every point of the sweep is checked first\n");
	for (pt = 0; !bad && !so->no_check && pt < n; pt++) {
		cmd_sweep_select(pt);
		if (n > 1)
			fprintf(stderr, "sweep point %zu of %zu: %s\n", pt + 1, n, cmd_sweep_name());
		bad = check_models(&e[pt]) < 0; /* says "nothing submitted" */
	}
	if (!bad)
		ret = submit(e, n, so);
	for (pt = 0; pt < n; pt++)
		experiment_release(&e[pt]);
	free(e);
	return ret;
}

enum {
	OPT_TASKS = 3000,
	OPT_ONLY,
	OPT_THROTTLE,
	OPT_GPUS,
	OPT_CPUS,
	OPT_PARTITION,
	OPT_TIME,
	OPT_MEM,
	OPT_ACCOUNT,
	OPT_SBATCH,
	OPT_DRY_RUN,
	OPT_NO_CHECK,
	OPT_UNSAFE_SUBMIT,
	OPT_SWEEP_SUBMIT
};

/* --tasks, --throttle, --gpus-per-task or --cpus-per-task (named name) into so: 0, or -1 after an error. */
static int count_option(struct submit_opts *so, int opt, const char *name, const char *arg)
{
	int *field = opt == OPT_TASKS	   ? &so->tasks
		     : opt == OPT_THROTTLE ? &so->throttle
		     : opt == OPT_GPUS	   ? &so->gpus
					   : &so->cpus;
	long v;

	if (parse_count(name, arg, &v) < 0)
		return -1;
	if (opt == OPT_TASKS && (v < 1 || v > SHARD_MAX))
		return error("--tasks: %ld is out of range: 1 to %d shards (Slurm's MaxArraySize limits an "
			     "array's length, 1001 by default)",
			     v, SHARD_MAX);
	if (v > 100000)
		return error("--%s: %ld is out of range", name, v);
	so->tasks_set |= opt == OPT_TASKS;
	*field = (int)v;
	return 0;
}

int cmd_submit(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "tasks", required_argument, NULL, OPT_TASKS },
		{ "only", required_argument, NULL, OPT_ONLY },
		{ "throttle", required_argument, NULL, OPT_THROTTLE },
		{ "gpus-per-task", required_argument, NULL, OPT_GPUS },
		{ "cpus-per-task", required_argument, NULL, OPT_CPUS },
		{ "partition", required_argument, NULL, OPT_PARTITION },
		{ "time", required_argument, NULL, OPT_TIME },
		{ "mem", required_argument, NULL, OPT_MEM },
		{ "account", required_argument, NULL, OPT_ACCOUNT },
		{ "sbatch", required_argument, NULL, OPT_SBATCH },
		{ "dry-run", no_argument, NULL, OPT_DRY_RUN },
		{ "no-check", no_argument, NULL, OPT_NO_CHECK },
		{ "allow-unsafe", no_argument, NULL, OPT_UNSAFE_SUBMIT },
		{ "unsafe", no_argument, NULL, OPT_UNSAFE_SUBMIT },
		{ "sweep", required_argument, NULL, OPT_SWEEP_SUBMIT },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct submit_opts so;
	char **orig = xcalloc((size_t)argc + 1, sizeof(*orig));
	const char *file;
	int opt, ret, li;

	memcpy(orig, argv, (size_t)argc * sizeof(*argv));
	memset(&so, 0, sizeof(so));
	so.tasks = 4;
	so.gpus = -1;
	strbuf_init(&so.record, 0);
	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", longopts, &li)) != -1) {
		/* a resubmission repeats the options but those that choose the shards */
		if (opt != OPT_TASKS && opt != OPT_ONLY && opt != OPT_DRY_RUN && opt != 'h' && opt != '?') {
			strbuf_addf(&so.record, "--%s", longopts[li].name);
			if (optarg)
				strbuf_addf(&so.record, "=%s", optarg);
			strbuf_add(&so.record, "", 1);
		}
		switch (opt) {
		case OPT_TASKS:
		case OPT_THROTTLE:
		case OPT_GPUS:
		case OPT_CPUS:
			if (count_option(&so, opt, longopts[li].name, optarg) < 0)
				goto usage_error;
			break;
		case OPT_ONLY:
			so.only = optarg;
			break;
		case OPT_PARTITION:
			so.partition = optarg;
			break;
		case OPT_TIME:
			so.time = optarg;
			break;
		case OPT_MEM:
			so.mem = optarg;
			break;
		case OPT_ACCOUNT:
			so.account = optarg;
			break;
		case OPT_SBATCH:
			so.extra = xrealloc(so.extra, (so.nr_extra + 1) * sizeof(*so.extra));
			so.extra[so.nr_extra++] = optarg;
			break;
		case OPT_DRY_RUN:
			so.dry_run = 1;
			break;
		case OPT_NO_CHECK:
			so.no_check = 1;
			break;
		case OPT_UNSAFE_SUBMIT:
			so.unsafe = 1;
			break;
		case OPT_SWEEP_SUBMIT:
			if (cmd_sweep_add(optarg, cmd_arg_number(orig, argc, optarg)) < 0)
				goto usage_error;
			so.sweeps = xrealloc(so.sweeps, (so.nr_sweeps + 1) * sizeof(*so.sweeps));
			so.sweeps[so.nr_sweeps++] = optarg;
			break;
		case 'h':
			fputs(submit_usage, stdout);
			ret = 0;
			goto out;
		default:
			fputs(submit_usage, stderr);
			goto usage_error;
		}
	}
	if (cmd_spec_operands(argc, argv, orig, optind, &file) < 0) {
		fputs(submit_usage, stderr);
		goto usage_error;
	}
	ret = submit_points(file, &so);
	goto out;
usage_error:
	ret = 2;
out:
	free(orig);
	free(so.extra);
	free(so.sweeps);
	strbuf_release(&so.record);
	return ret;
}
