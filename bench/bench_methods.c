/*
 * bench_methods.c - images/s of each CAM method, and of all gradient methods sharing one pass, for one
 * model and layer: the baseline that later speed work is measured against (PERF.md).
 *
 * Images are decoded and preprocessed once, before any timing (that stage is reported on its own); every
 * other stage runs over the preloaded tensors, with one untimed warm-up batch, and reports the median
 * of --repeat runs (wall time; the best run and the median CPU time are printed too, for machines
 * shared with other work).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cam/methods.h"
#include "interp/modelopts.h"
#include "lib/error.h"
#include "lib/strbuf.h"
#include "lib/xalloc.h"

static const char bench_usage[] =
	"usage: bench_methods --model FILE --layer L [options] [IMAGE...]\n"
	"\n"
	"Times, on the preloaded images: the forward alone, the shared passes, each method as a\n"
	"user running only that method pays for it (passes + map + post-processing + copy to the\n"
	"host), and all gradient methods sharing one pass.\n"
	"\n" LAYEROPTS_HELP "  --methods LIST      methods to time separately (default all)\n"
	"  --images N          images per timed run (default 32; the images are reused\n"
	"                      cyclically when the dataset has fewer)\n"
	"  --images-slow N     images for scorecam and ablationcam (default 4; one run, no\n"
	"                      warm-up)\n"
	"  --repeat R          timed runs per stage; the median is reported (default 3)\n" MODELOPTS_HELP;

enum { OPT_METHODS = OPT_FIRST_COMMAND, OPT_IMAGES, OPT_IMAGES_SLOW, OPT_REPEAT };

/* The gradient methods of the "together" row: everything but the two that re-run the network. */
#define GRADIENT_METHODS ((1u << CAM_NR_METHODS) - 1 - (1u << CAM_SCORECAM) - (1u << CAM_ABLATIONCAM))

enum stage_kind {
	STAGE_DECODE,	 /* decode and preprocess the images into tensors on the device */
	STAGE_FORWARD,	 /* the whole model, no gradients, logits to the host */
	STAGE_PASS,	 /* cam_pass_run with the given flags */
	STAGE_METHODS,	 /* one cam_pass_run for mask, then every method of mask to host heatmaps */
};

struct stage {
	enum stage_kind kind;
	unsigned flags, mask;
	char name[64];
	long nimg;	/* images per run */
	int slow;	/* one run, no warm-up */
	double *secs;	/* wall seconds, one entry per run */
	double *cpu;	/* CPU seconds of the process (all threads), one entry per run */
	long runs;
	double ms, best_ms, cpu_ms; /* median and best wall, median CPU ms/image; negative: failed */
};

struct bench {
	struct modelopts mo;
	unsigned methods;
	long images, images_slow, repeat;
	struct model model;
	struct dataset ds;
	struct preprocess pp;
	ts_split *split;
	ts_tensor *fc;
	struct cam_extra extra;
	struct target_policy target;
	ts_tensor **xs; /* preloaded batches, owned */
	int *ns;	/* images in each */
	int nr_batches, alloc_batches;
	long nr_loaded;
	int h, w;
	float *host; /* room for one batch of heatmaps or logits */
	size_t host_len;
	struct stage *stages;
	int nr_stages, alloc_stages;
};

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/*
 * CPU time of the whole process. On a machine shared with other work it moves much less than wall time,
 * so with one thread it is the steadier figure; with more, waiting threads that spin inflate it.
 */
static double cpu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Median of v[n]; sorts v. */
static double median(double *v, long n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Bring a device tensor to the host, as a user of the result must; this also waits for the device. */
static int to_host(struct bench *b, const ts_tensor *t)
{
	size_t n = (size_t)ts_numel(t);
	if (n > b->host_len) {
		b->host = xrealloc(b->host, n * sizeof(float));
		b->host_len = n;
	}
	if (ts_copy_f32(t, b->host, n) < 0)
		return error("cannot copy a result to the host: %s", ts_error());
	return 0;
}

static void free_batches(struct bench *b)
{
	int i;
	for (i = 0; i < b->nr_batches; i++)
		ts_free(b->xs[i]);
	b->nr_batches = 0;
	b->nr_loaded = 0;
}

/*
 * Decode and preprocess up to --images images (--limit, if smaller) into b->xs, replacing what was
 * there. Images of another size than the first batch's are left out: every timed batch has one size.
 */
static int preload(struct bench *b)
{
	struct batch_source src;
	struct batch bt = BATCH_INIT;
	size_t limit = (size_t)b->images;
	int r;

	free_batches(b);
	if (b->mo.limit && b->mo.limit < limit)
		limit = b->mo.limit;
	batch_source_init(&src, &b->ds, &b->pp, b->mo.device, limit);
	while ((r = batch_next(&src, &bt, (size_t)b->mo.batch)) > 0) {
		if (b->nr_batches && (bt.h != b->h || bt.w != b->w))
			continue;
		ALLOC_GROW(b->xs, b->nr_batches + 1, b->alloc_batches);
		b->ns = xrealloc(b->ns, (size_t)b->alloc_batches * sizeof(*b->ns));
		b->xs[b->nr_batches] = bt.x;
		b->ns[b->nr_batches] = (int)bt.n;
		bt.x = NULL; /* the bench owns it now */
		b->nr_batches++;
		b->h = bt.h;
		b->w = bt.w;
		b->nr_loaded += (long)bt.n;
	}
	batch_release(&bt);
	batch_source_release(&src);
	if (r < 0)
		return -1;
	if (!b->nr_batches)
		return error("no images could be prepared");
	return 0;
}

static int run_methods(struct bench *b, const ts_tensor *x, unsigned mask)
{
	struct cam_pass pass = CAM_PASS_INIT;
	int m, ret = 0;

	if (cam_pass_run(&pass, b->split, x, UTILITY_REST, &b->target, NULL, cam_methods_passes(mask)) < 0)
		return -1;
	b->extra.x = x;
	for (m = 0; m < CAM_NR_METHODS && !ret; m++) {
		ts_tensor *s, *heat;
		if (!(mask & (1u << m)))
			continue;
		s = cam_map((enum cam_method)m, &pass, &b->extra);
		heat = cam_postprocess(s, b->h, b->w);
		if (!heat)
			ret = error("%s failed: %s", cam_method_names[m], ts_error());
		else
			ret = to_host(b, heat);
		ts_free(s);
		ts_free(heat);
	}
	cam_pass_release(&pass);
	return ret;
}

static int run_batch(struct bench *b, const struct stage *st, const ts_tensor *x)
{
	struct cam_pass pass = CAM_PASS_INIT;
	ts_tensor *logits;
	int ret;

	switch (st->kind) {
	case STAGE_DECODE:
		BUG("decode is not run per batch");
	case STAGE_FORWARD:
		logits = ts_module_forward(b->model.mod, x);
		if (!logits)
			return error("forward failed: %s", ts_error());
		ret = to_host(b, logits);
		ts_free(logits);
		return ret;
	case STAGE_PASS:
		if (cam_pass_run(&pass, b->split, x, UTILITY_REST, &b->target, NULL, st->flags) < 0)
			return -1;
		/* The smallest result every pass has, so that the device has finished. */
		ret = to_host(b, pass.u);
		cam_pass_release(&pass);
		return ret;
	case STAGE_METHODS:
		return run_methods(b, x, st->mask);
	}
	BUG("bad stage kind");
}

/*
 * One run of st over nimg images, taking the preloaded batches in turn (cyclically when there are
 * fewer); a batch that would pass nimg is narrowed. Wall and CPU seconds in *secs and *cpu.
 */
static int time_run(struct bench *b, const struct stage *st, long nimg, double *secs, double *cpu)
{
	long done = 0;
	int i = 0;
	double t0 = now(), c0 = cpu_now();

	if (st->kind == STAGE_DECODE) {
		if (preload(b) < 0)
			return -1;
		*secs = now() - t0;
		*cpu = cpu_now() - c0;
		return 0;
	}
	if (!b->nr_batches)
		return error("no preloaded images to run on");
	while (done < nimg) {
		int n = b->ns[i], ret;
		if (done + n > nimg) {
			ts_tensor *part = ts_narrow(b->xs[i], 0, 0, nimg - done);
			n = (int)(nimg - done);
			ret = part ? run_batch(b, st, part) : error("narrow failed: %s", ts_error());
			ts_free(part);
		} else {
			ret = run_batch(b, st, b->xs[i]);
		}
		if (ret < 0)
			return -1;
		done += n;
		i = (i + 1) % b->nr_batches;
	}
	*secs = now() - t0;
	*cpu = cpu_now() - c0;
	return 0;
}

static struct stage *add_stage(struct bench *b, enum stage_kind kind, const char *name)
{
	struct stage *st;
	ALLOC_GROW(b->stages, b->nr_stages + 1, b->alloc_stages);
	st = &b->stages[b->nr_stages++];
	memset(st, 0, sizeof(*st));
	st->kind = kind;
	st->nimg = b->images;
	snprintf(st->name, sizeof(st->name), "%s", name);
	return st;
}

static void print_row(const char *name, double ms, double best_ms, double cpu_ms, double fwd_ms)
{
	if (ms < 0)
		printf("%-38s %9s %9s %9s %9s %9s\n", name, "failed", "-", "-", "-", "-");
	else
		printf("%-38s %9.2f %9.2f %9.3f %9.2f %9.2f\n", name, 1000.0 / ms, ms, fwd_ms / ms,
		       1000.0 / best_ms, cpu_ms);
}

/*
 * Rounds interleave the stages (round r times every stage once), so that a burst of other work on a
 * shared machine costs one sample of many stages rather than every sample of one stage.
 */
static void measure_all(struct bench *b)
{
	long r;
	int i;

	for (i = 0; i < b->nr_stages; i++) {
		struct stage *st = &b->stages[i];
		double warm, warm_cpu;
		st->secs = xcalloc((size_t)b->repeat, sizeof(double));
		st->cpu = xcalloc((size_t)b->repeat, sizeof(double));
		if (!st->slow && st->kind != STAGE_DECODE && time_run(b, st, b->ns[0], &warm, &warm_cpu) < 0)
			st->ms = -1;
	}
	fprintf(stderr, "timing %d stages in %ld rounds\n", b->nr_stages, b->repeat);
	for (r = 0; r < b->repeat; r++) {
		for (i = 0; i < b->nr_stages; i++) {
			struct stage *st = &b->stages[i];
			if (st->ms < 0 || (st->slow && r > 0))
				continue;
			if (time_run(b, st, st->nimg, &st->secs[st->runs], &st->cpu[st->runs]) < 0)
				st->ms = -1;
			else
				st->runs++;
		}
	}
	for (i = 0; i < b->nr_stages; i++) {
		struct stage *st = &b->stages[i];
		long nimg = st->kind == STAGE_DECODE ? b->nr_loaded : st->nimg;
		if (st->ms < 0 || !st->runs) {
			st->ms = -1;
			continue;
		}
		st->ms = median(st->secs, st->runs) * 1000.0 / (double)nimg;
		st->best_ms = st->secs[0] * 1000.0 / (double)nimg; /* sorted by median() */
		st->cpu_ms = median(st->cpu, st->runs) * 1000.0 / (double)nimg;
	}
}

static int bench_run(struct bench *b, char **files, int nfiles)
{
	struct strbuf name = STRBUF_INIT;
	unsigned grad_methods = GRADIENT_METHODS & b->methods;
	int m, i, count = 0, threads = b->mo.threads ? b->mo.threads : (int)sysconf(_SC_NPROCESSORS_ONLN);
	double fwd_ms, sum_ms = 0, sum_best = 0, sum_cpu = 0;
	struct stage *st, *together = NULL;

	if (modelopts_load(&b->mo, &b->model, &b->ds, files, nfiles, &b->pp) < 0)
		return -1;
	if (model_split(&b->model, b->mo.layer, b->mo.layout, &b->split) < 0)
		return -1;
	if (b->methods & (1u << CAM_CAM)) {
		b->fc = model_head_weight(&b->model);
		if (!b->fc) {
			fprintf(stderr, "note: cam left out: the model has no Linear head\n");
			b->methods &= ~(1u << CAM_CAM);
			grad_methods &= ~(1u << CAM_CAM);
		}
	}
	b->extra.model = b->model.mod;
	b->extra.fc = b->fc;
	b->extra.seed = 0;
	b->extra.chunk = b->mo.batch * 4; /* as camlab explain */
	b->target.kind = TARGET_PREDICTED;

	/* The first decode also warms the file cache; the timed ones replace its tensors. */
	if (preload(b) < 0)
		return -1;
	fprintf(stderr, "preloaded %ld image(s) of %dx%d in %d batch(es)%s\n", b->nr_loaded, b->w, b->h,
		b->nr_batches, b->nr_loaded < b->images ? "; they are reused cyclically" : "");

	add_stage(b, STAGE_DECODE, "decode+preprocess");
	add_stage(b, STAGE_FORWARD, "forward only");
	add_stage(b, STAGE_PASS, "pass: prefix+suffix, no backward")->flags = 0;
	add_stage(b, STAGE_PASS, "pass: grad")->flags = CAM_PASS_GRAD;
	add_stage(b, STAGE_PASS, "pass: grad+hvp")->flags = CAM_PASS_GRAD | CAM_PASS_HVP;
	for (m = 0; m < CAM_NR_METHODS; m++) {
		if (!(b->methods & (1u << m)))
			continue;
		st = add_stage(b, STAGE_METHODS, cam_method_names[m]);
		st->mask = 1u << m;
		if (m == CAM_SCORECAM || m == CAM_ABLATIONCAM) {
			st->slow = 1;
			st->nimg = b->images_slow;
			snprintf(st->name, sizeof(st->name), "%s (%ld image(s), 1 run)", cam_method_names[m],
				 b->images_slow);
		}
	}
	for (m = 0; m < CAM_NR_METHODS; m++)
		count += (grad_methods >> m) & 1;
	if (count > 1) {
		strbuf_reset(&name);
		strbuf_addf(&name, "%d gradient methods, one shared pass", count);
		st = add_stage(b, STAGE_METHODS, name.buf);
		st->mask = grad_methods;
	}

	measure_all(b);

	printf("model %s, layer %s, %dx%d input, device %s, %d thread(s), batch %d\n", b->mo.model,
	       b->mo.layer, b->w, b->h, b->mo.device, threads, b->mo.batch);
	printf("%ld images per run (%ld distinct), median of %ld runs after one warm-up batch;\n"
	       "scorecam and ablationcam: %ld image(s), one run, no warm-up\n\n",
	       b->images, b->nr_loaded, b->repeat, b->images_slow);
	printf("%-38s %9s %9s %9s %9s %9s\n", "stage / method", "images/s", "ms/image", "speed/fwd",
	       "best im/s", "cpu ms/im");
	fwd_ms = b->stages[1].ms;
	for (i = 0; i < b->nr_stages; i++) {
		st = &b->stages[i];
		print_row(st->name, st->ms, st->best_ms, st->cpu_ms, fwd_ms);
		if (st->kind == STAGE_METHODS && st->mask != grad_methods && (st->mask & grad_methods)) {
			if (st->ms < 0 || sum_ms < 0) {
				sum_ms = -1;
			} else {
				sum_ms += st->ms;
				sum_best += st->best_ms;
				sum_cpu += st->cpu_ms;
			}
		}
		if (st->kind == STAGE_METHODS && st->mask == grad_methods && count > 1)
			together = st;
	}
	if (together && sum_ms > 0 && together->ms > 0) {
		strbuf_reset(&name);
		strbuf_addf(&name, "%d gradient methods, separately (sum)", count);
		print_row(name.buf, sum_ms, sum_best, sum_cpu, fwd_ms);
		printf("\nsharing one pass: %.2fx faster than the %d methods run separately (best runs: "
		       "%.2fx; CPU time: %.2fx)\n", sum_ms / together->ms, count, sum_best / together->best_ms,
		       sum_cpu / together->cpu_ms);
	}
	fflush(stdout);
	strbuf_release(&name);
	for (i = 0; i < b->nr_stages; i++) {
		free(b->stages[i].secs);
		free(b->stages[i].cpu);
	}
	free(b->stages);
	return fwd_ms < 0 ? -1 : 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		MODELOPTS_LONG,
		LAYEROPTS_LONG,
		{ "methods", required_argument, NULL, OPT_METHODS },
		{ "method", required_argument, NULL, OPT_METHODS },
		{ "images", required_argument, NULL, OPT_IMAGES },
		{ "images-slow", required_argument, NULL, OPT_IMAGES_SLOW },
		{ "repeat", required_argument, NULL, OPT_REPEAT },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct bench b;
	const char *methods = "all";
	int opt, bad = 0, ret;
	long v;

	memset(&b, 0, sizeof(b));
	modelopts_init(&b.mo);
	b.images = 32;
	b.images_slow = 4;
	b.repeat = 3;
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		int r = modelopts_parse(&b.mo, opt, optarg);
		if (r < 0) {
			bad = 1;
			continue;
		}
		if (r)
			continue;
		switch (opt) {
		case OPT_METHODS:
			methods = optarg;
			break;
		case OPT_IMAGES:
		case OPT_IMAGES_SLOW:
		case OPT_REPEAT:
			if (parse_count(opt == OPT_IMAGES ? "images" : opt == OPT_REPEAT ? "repeat" : "images-slow",
					optarg, &v) < 0 || v == 0) {
				bad = error("--%s needs a positive integer",
					    opt == OPT_IMAGES ? "images" : opt == OPT_REPEAT ? "repeat" : "images-slow");
				break;
			}
			*(opt == OPT_IMAGES ? &b.images : opt == OPT_REPEAT ? &b.repeat : &b.images_slow) = v;
			break;
		case 'h':
			fputs(bench_usage, stdout);
			return 0;
		default:
			fputs(bench_usage, stderr);
			return 2;
		}
	}
	if (!b.mo.layer)
		bad = error("no target layer given (--layer L)");
	if (cam_methods_parse(methods, &b.methods) < 0)
		bad = 1;
	if (bad) {
		fputs(bench_usage, stderr);
		return 2;
	}
	ret = bench_run(&b, argv + optind, argc - optind);
	free_batches(&b);
	free(b.xs);
	free(b.ns);
	free(b.host);
	ts_split_free(b.split);
	ts_free(b.fc);
	model_release(&b.model);
	dataset_release(&b.ds);
	return ret < 0 ? 1 : 0;
}
