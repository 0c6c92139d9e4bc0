/*
 * cmd_slurm.c - big studies on a Slurm cluster: `camlab submit` runs an experiment as an array job of
 * shards (`camlab run --shard I/N`, each into its own database under OUTPUT/shards) followed by a job that
 * `camlab merge`s them into OUTPUT and builds the report, whatever became of the shards (afterany): it
 * says which shards are missing, and resubmitting them (they resume) and merging again completes the run.
 */
#include "interp/commands.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dsl/experiment.h"
#include "interp/modelopts.h"
#include "interp/preflight.h"
#include "interp/run.h"
#include "lib/error.h"
#include "lib/fs.h"
#include "lib/quote.h"
#include "lib/strbuf.h"
#include "lib/xalloc.h"

static const char merge_usage[] =
	"usage: camlab merge [--allow-unsafe] FILE\n"
	"\n"
	"Gathers the results of the experiment's shards (OUTPUT/shards/shard-I-of-N, written by\n"
	"`camlab run --shard I/N`, as `camlab submit` runs them) into OUTPUT's database, sets the runs'\n"
	"states and builds the report. Says which shards are missing or incomplete; run those again (they\n"
	"resume) and merge again. Exit status 0 when every run is done.\n";

static const char submit_usage[] =
	"usage: camlab submit [options] FILE\n"
	"\n"
	"Runs the experiment in FILE on a Slurm cluster: an array job of N shards (each `camlab run\n"
	"--shard I/N`, every N-th chunk of 64 images of every run, into OUTPUT/shards/), then a job that\n"
	"merges them into OUTPUT and builds the report once the array has ended, whatever became of its\n"
	"tasks. The job scripts are written to OUTPUT/slurm/ (logs: shard-I.log, merge.log). Submitting\n"
	"again submits all the shards again: finished work is not redone.\n"
	"\n"
	"  --tasks N           shards, one array task each (default 4)\n"
	"  --only LIST         submit only these shards (e.g. 2,5), then the merge\n"
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

int cmd_merge(int argc, char **argv)
{
	struct run_opts o = { 0 };
	struct experiment e;
	const char *file;
	int unsafe, ret;

	if ((ret = cmd_spec_args(argc, argv, merge_usage, &file, &unsafe)) >= 0)
		return ret;
	if (cmd_load_spec(file, &e, unsafe) < 0) {
		experiment_release(&e);
		return 1;
	}
	o.merge = 1;
	o.progress = 0;
	ret = run_experiment(&e, &o);
	experiment_release(&e);
	return ret;
}

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
	int tasks, throttle, gpus, cpus, dry_run, unsafe, no_check;
	const char *only, *partition, *time, *mem, *account;
	const char **extra;
	size_t nr_extra;
};

/*
 * The lines both job scripts start with: the job's name (camlab-NAME and a suffix), its log, the user's
 * sbatch options and the working folder the spec's relative paths are read from.
 */
static void header(struct strbuf *sb, const struct submit_opts *so, const char *name, const char *suffix,
		   const char *log, const char *cwd)
{
	size_t i;
	strbuf_addf(sb, "#!/bin/sh\n#SBATCH --job-name=camlab-%s%s\n#SBATCH --output=%s\n", name, suffix,
		    log);
	if (so->partition)
		strbuf_addf(sb, "#SBATCH --partition=%s\n", so->partition);
	if (so->account)
		strbuf_addf(sb, "#SBATCH --account=%s\n", so->account);
	if (so->time)
		strbuf_addf(sb, "#SBATCH --time=%s\n", so->time);
	for (i = 0; i < so->nr_extra; i++)
		strbuf_addf(sb, "#SBATCH %s\n", so->extra[i]);
	strbuf_addf(sb, "#SBATCH --chdir=%s\n", cwd);
}

/* The command line that submits script with the option given (--array=..., --dependency=...). */
static void sbatch_cmd(struct strbuf *cmd, const char *opt, const char *script)
{
	strbuf_reset(cmd);
	strbuf_addf(cmd, "sbatch --parsable %s ", opt);
	quote_shell(cmd, script);
}

/* The shards to submit: "0-N" (with %K), or the --only list checked against N. */
static int array_spec(const struct submit_opts *so, struct strbuf *sb)
{
	if (so->only) {
		const char *p = so->only;
		while (*p) {
			char *end;
			long v = strtol(p, &end, 10);
			if (end == p || v < 0 || v >= so->tasks || (*end && *end != ','))
				return error("--only needs shard numbers from 0 to %d, separated by commas, "
					     "not '%s'",
					     so->tasks - 1, so->only);
			p = *end ? end + 1 : end;
		}
		strbuf_addstr(sb, so->only);
	} else {
		strbuf_addf(sb, "0-%d", so->tasks - 1);
	}
	if (so->throttle > 0)
		strbuf_addf(sb, "%%%d", so->throttle);
	return 0;
}

static int submit(const struct experiment *e, const struct submit_opts *so)
{
	struct strbuf dir = STRBUF_INIT, shard = STRBUF_INIT, merge = STRBUF_INIT, cmd = STRBUF_INIT;
	struct strbuf arr = STRBUF_INIT, opt = STRBUF_INIT, log = STRBUF_INIT;
	struct strbuf shard_path = STRBUF_INIT, merge_path = STRBUF_INIT;
	char *exe = self_path(), *spec = realpath(e->file, NULL), *out = NULL, *cwd = getcwd(NULL, 0);
	char *job = NULL, *merge_job = NULL;
	int gpus = so->gpus, ret = 1;
	const char *name = e->name ? e->name : "experiment";

	if (!exe || !spec || !cwd) {
		error("cannot find camlab's own path or the spec's");
		goto out;
	}
	if (gpus < 0)
		gpus = e->device && !strncmp(e->device, "cuda", 4) ? 1 : 0;
	if (array_spec(so, &arr) < 0)
		goto out;
	out = realpath(e->output, NULL);
	if (!out) {
		if (mkdir_p(e->output) < 0 || !(out = realpath(e->output, NULL))) {
			error("cannot create the output folder %s", e->output);
			goto out;
		}
	}
	strbuf_addf(&dir, "%s/slurm", out);
	if (mkdir_p(dir.buf) < 0)
		goto out;

	strbuf_addf(&shard_path, "%s/shard.sbatch", dir.buf);
	strbuf_addf(&merge_path, "%s/merge.sbatch", dir.buf);

	/* the array task: one shard */
	strbuf_addf(&log, "%s/shard-%%a.log", dir.buf);
	header(&shard, so, name, "", log.buf, cwd);
	if (gpus > 0)
		strbuf_addf(&shard, "#SBATCH --gres=gpu:%d\n", gpus);
	if (so->cpus > 0)
		strbuf_addf(&shard, "#SBATCH --cpus-per-task=%d\n", so->cpus);
	if (so->mem)
		strbuf_addf(&shard, "#SBATCH --mem=%s\n", so->mem);
	strbuf_addf(&shard, "# camlab submit: shard $SLURM_ARRAY_TASK_ID of %d of %s\n", so->tasks, spec);
	/* where the shard ran, for its log */
	strbuf_addstr(&shard, "echo \"shard $SLURM_ARRAY_TASK_ID (job $SLURM_JOB_ID) on $(hostname)"
			      "${CUDA_VISIBLE_DEVICES:+, GPUs $CUDA_VISIBLE_DEVICES}\"\nexec ");
	quote_shell(&shard, exe);
	strbuf_addf(&shard, " run --no-progress --shard \"$SLURM_ARRAY_TASK_ID/%d\"%s%s ", so->tasks,
		    gpus > 1 ? " --devices all" : "", so->unsafe ? " --allow-unsafe" : "");
	quote_shell(&shard, spec);
	strbuf_addch(&shard, '\n');

	/* the merge, after the array whatever became of it */
	strbuf_reset(&log);
	strbuf_addf(&log, "%s/merge.log", dir.buf);
	header(&merge, so, name, "-merge", log.buf, cwd);
	strbuf_addstr(&merge, "exec ");
	quote_shell(&merge, exe);
	strbuf_addf(&merge, " merge%s ", so->unsafe ? " --allow-unsafe" : "");
	quote_shell(&merge, spec);
	strbuf_addch(&merge, '\n');

	if (write_file(shard_path.buf, shard.buf, shard.len) < 0 ||
	    write_file(merge_path.buf, merge.buf, merge.len) < 0)
		goto out;
	strbuf_addf(&opt, "--array=%s", arr.buf);
	sbatch_cmd(&cmd, opt.buf, shard_path.buf);
	if (so->dry_run) {
		printf("%s\n", cmd.buf);
		sbatch_cmd(&cmd, "--dependency=afterany:JOBID", merge_path.buf);
		printf("%s\n# scripts written to %s (nothing submitted: --dry-run)\n", cmd.buf, dir.buf);
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
	printf("submitted %s: shards %s of %d as job %s, the merge as job %s\n", name, arr.buf, so->tasks,
	       job, merge_job);
	printf("logs in %s; results and report in %s once job %s ends (squeue -j %s,%s)\n", dir.buf, out,
	       merge_job, job, merge_job);
	ret = 0;
out:
	free(exe);
	free(job);
	free(merge_job);
	free(spec);
	free(out);
	free(cwd);
	strbuf_release(&dir);
	strbuf_release(&shard);
	strbuf_release(&merge);
	strbuf_release(&cmd);
	strbuf_release(&arr);
	strbuf_release(&opt);
	strbuf_release(&log);
	strbuf_release(&shard_path);
	strbuf_release(&merge_path);
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
	OPT_UNSAFE_SUBMIT
};

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
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct submit_opts so;
	struct experiment e;
	int opt, ret;
	long v;

	memset(&so, 0, sizeof(so));
	so.tasks = 4;
	so.gpus = -1;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (opt) {
		case OPT_TASKS:
		case OPT_THROTTLE:
		case OPT_GPUS:
		case OPT_CPUS: {
			const struct option *lo = longopts;
			int *field = opt == OPT_TASKS	   ? &so.tasks
				     : opt == OPT_THROTTLE ? &so.throttle
				     : opt == OPT_GPUS	   ? &so.gpus
							   : &so.cpus;
			while (lo->val != opt)
				lo++;
			if (parse_count(lo->name, optarg, &v) < 0)
				return 2;
			if (v > 100000 || (opt == OPT_TASKS && v < 1)) {
				error("--%s: %ld is out of range", lo->name, v);
				return 2;
			}
			*field = (int)v;
			break;
		}
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
		case 'h':
			fputs(submit_usage, stdout);
			free(so.extra);
			return 0;
		default:
			fputs(submit_usage, stderr);
			free(so.extra);
			return 2;
		}
	}
	if (optind != argc - 1) {
		error("camlab submit takes one experiment file");
		fputs(submit_usage, stderr);
		free(so.extra);
		return 2;
	}
	if (cmd_load_spec(argv[optind], &e, so.unsafe) < 0) {
		experiment_release(&e);
		free(so.extra);
		return 1;
	}
	ret = so.no_check || check_models(&e) == 0 ? submit(&e, &so) : 1;
	experiment_release(&e);
	free(so.extra);
	return ret;
}
