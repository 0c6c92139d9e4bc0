/*
 * road_bench.c - ROAD (or ARCC's ROAD) of stored maps, timed: s/image of cam/road.c against
 * bench/road_reference.py (upstream's algorithm), and the per-image values that tests/t53-road.t
 * compares with pytorch-grad-cam's reference outputs.
 *
 * Inputs are .npy files as the reference folder stores them: images (n, H, W, 3) uint8, maps (n, H, W)
 * float32, both C order. Prints one line per image: the MoRF scores per percentile, the LeRF scores per
 * percentile, then MoRF avg, LeRF avg, combined and complexity; timing goes to stderr.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cam/road.h"
#include "lib/error.h"
#include "lib/xalloc.h"

static const char usage[] =
	"usage: road_bench --model FILE --images U8.npy --maps F32.npy --targets C,C,... [options]\n"
	"  --mean M,M,M --std S,S,S   normalisation (default 0.5)\n"
	"  --percentiles P,P,...      (default 10,20,...,90)\n"
	"  --target softmax|logit     (default softmax)\n"
	"  --noise SIGMA              (default 0)\n"
	"  --batch N                  imputed images per forward (default 32)\n"
	"  --threads N                imputation threads (default 1)\n"
	"  --torch-threads N          libtorch threads (default 1)\n"
	"  --repeat R                 timed runs; the best is reported (default 1)\n"
	"  --coherency C,C,...        each image's coherency: adds a column, ARCC from it\n"
	"  --impute-only              time the masks and imputations alone (no forwards)\n"
	"  --nested                   one factorisation per direction (nested masks), not one per mask\n";

/*
 * A C-order .npy of the given dtype ("<f4" or "|u1"): its data (caller frees), its shape in
 * shape[0..*ndim). Only what numpy.save writes for such arrays (format 1.0 or 2.0).
 */
static void *npy_read(const char *path, const char *dtype, size_t elsize, long *shape, int *ndim)
{
	FILE *f = fopen(path, "rb");
	unsigned char pre[12];
	size_t hl, count = 1;
	char *hdr, *p;
	void *data;
	int n = 0;

	if (!f) {
		error("cannot open '%s'", path);
		return NULL;
	}
	if (fread(pre, 1, 10, f) != 10 || memcmp(pre, "\x93NUMPY", 6)) {
		fclose(f);
		error("'%s' is not a .npy file", path);
		return NULL;
	}
	if (pre[6] == 1) {
		hl = pre[8] | (size_t)pre[9] << 8;
	} else {
		if (fread(pre + 10, 1, 2, f) != 2) {
			fclose(f);
			error("'%s': truncated header", path);
			return NULL;
		}
		hl = pre[8] | (size_t)pre[9] << 8 | (size_t)pre[10] << 16 | (size_t)pre[11] << 24;
	}
	if (hl > 65536) {
		fclose(f);
		error("'%s': header too long", path);
		return NULL;
	}
	hdr = xmalloc(hl + 1);
	if (fread(hdr, 1, hl, f) != hl) {
		free(hdr);
		fclose(f);
		error("'%s': truncated header", path);
		return NULL;
	}
	hdr[hl] = 0;
	if (!strstr(hdr, dtype) || !strstr(hdr, "'fortran_order': False") || !(p = strstr(hdr, "'shape': ("))) {
		error("'%s': not a C-order %s array: %s", path, dtype, hdr);
		free(hdr);
		fclose(f);
		return NULL;
	}
	for (p += 10; *p && *p != ')' && n < 8;) {
		char *end;
		long v = strtol(p, &end, 10);
		if (end == p || v < 0)
			break;
		shape[n++] = v;
		count *= (size_t)v;
		p = end;
		while (*p == ',' || *p == ' ')
			p++;
	}
	free(hdr);
	*ndim = n;
	data = xmalloc(count * elsize + 1);
	if (fread(data, elsize, count, f) != count) {
		free(data);
		fclose(f);
		error("'%s': truncated data", path);
		return NULL;
	}
	fclose(f);
	return data;
}

/* Comma-separated numbers into out[max]; returns how many, or -1. */
static int parse_list(const char *s, double *out, int max)
{
	int n = 0;

	while (*s && n < max) {
		char *end;
		out[n++] = strtod(s, &end);
		if (end == s)
			return -1;
		s = *end == ',' ? end + 1 : end;
	}
	return *s ? -1 : n;
}

static double cpu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* The imputations road_eval does, without the forwards: the solver's share of the time (one thread). */
static int impute_all(const ts_tensor *x, const float *maps, const struct road_opts *o)
{
	size_t n = (size_t)ts_size(x, 0), C = (size_t)ts_size(x, 1), H = (size_t)ts_size(x, 2);
	size_t W = (size_t)ts_size(x, 3), hw = H * W, np = o->nr_percentiles, i, j;
	float *xh = xmalloc(n * C * hw * sizeof(*xh)), *out = xmalloc(np * C * hw * sizeof(*out));
	unsigned char *keep = xmalloc(np * hw);
	uint64_t *rngs = xcalloc(np, sizeof(*rngs));
	int ret = 0, lerf;

	ts_copy_f32(x, xh, n * C * hw);
	for (i = 0; i < n && !ret; i++)
		for (lerf = 0; lerf < 2 && !ret; lerf++) {
			for (j = 0; j < np; j++)
				road_keep_mask(maps + i * hw, hw, o->percentiles[j], lerf, keep + j * hw);
			ret = road_impute_masks(xh + i * C * hw, (int)C, (int)H, (int)W, keep, np, o->noise, rngs,
						o->impute_flags, out, o->stats);
		}
	free(xh);
	free(out);
	free(keep);
	free(rngs);
	return ret;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* The command line: what main needs beyond the road options. */
struct args {
	const char *model, *images, *maps, *targets, *coh;
	double mean[3], std[3], perc[64];
	int threads, torch_threads, repeat, impute_only;
};

/* argv into a and o; 0, or -1 on a usage error. */
static int parse_args(int argc, char **argv, struct args *a, struct road_opts *o)
{
	int i, r;

	for (i = 1; i < argc; i++) {
		const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(k, "--impute-only")) {
			a->impute_only = 1;
			continue;
		}
		if (!strcmp(k, "--nested")) {
			o->impute_flags |= ROAD_IMPUTE_NESTED;
			continue;
		}
		if (!v)
			return -1;
		i++;
		if (!strcmp(k, "--model"))
			a->model = v;
		else if (!strcmp(k, "--images"))
			a->images = v;
		else if (!strcmp(k, "--maps"))
			a->maps = v;
		else if (!strcmp(k, "--targets"))
			a->targets = v;
		else if (!strcmp(k, "--coherency"))
			a->coh = v;
		else if (!strcmp(k, "--mean") && parse_list(v, a->mean, 3) == 3)
			;
		else if (!strcmp(k, "--std") && parse_list(v, a->std, 3) == 3)
			;
		else if (!strcmp(k, "--percentiles") && (r = parse_list(v, a->perc, 64)) > 0) {
			o->percentiles = a->perc;
			o->nr_percentiles = (size_t)r;
		} else if (!strcmp(k, "--target") && (!strcmp(v, "softmax") || !strcmp(v, "logit")))
			o->target = !strcmp(v, "logit") ? ROAD_LOGIT : ROAD_SOFTMAX;
		else if (!strcmp(k, "--noise"))
			o->noise = strtod(v, NULL);
		else if (!strcmp(k, "--batch"))
			o->batch = (int)strtol(v, NULL, 10);
		else if (!strcmp(k, "--torch-threads"))
			a->torch_threads = (int)strtol(v, NULL, 10);
		else if (!strcmp(k, "--threads"))
			a->threads = (int)strtol(v, NULL, 10);
		else if (!strcmp(k, "--repeat"))
			a->repeat = (int)strtol(v, NULL, 10);
		else
			return -1;
	}
	return a->model && a->images && a->maps && a->targets ? 0 : -1;
}

/* One line per image: MoRF and LeRF per percentile, their averages, the combination, Com (and ARCC). */
static void print_scores(const struct road_scores *s, const float *maps, size_t hw, const double *coh)
{
	size_t j, k;

	for (j = 0; j < s->n; j++) {
		for (k = 0; k < s->nr_percentiles; k++)
			printf("%.9g ", s->morf[j * s->nr_percentiles + k]);
		for (k = 0; k < s->nr_percentiles; k++)
			printf("%.9g ", s->lerf[j * s->nr_percentiles + k]);
		printf("%.9g %.9g %.9g %.9g", s->morf_avg[j], s->lerf_avg[j], s->combined[j],
		       road_complexity(maps + j * hw, hw));
		if (coh)
			printf(" %.9g", road_arcc(coh[j], road_complexity(maps + j * hw, hw), s->combined[j]));
		putchar('\n');
	}
}

int main(int argc, char **argv)
{
	struct args a = { NULL, NULL, NULL, NULL, NULL, { 0.5, 0.5, 0.5 }, { 0.5, 0.5, 0.5 }, { 0 }, 1, 1, 1, 0 };
	double tg[4096], coh[4096];
	float meanf[3], stdf[3];
	struct road_opts o = ROAD_OPTS_INIT;
	struct road_scores s = ROAD_SCORES_INIT;
	struct road_impute_stats st = ROAD_IMPUTE_STATS_INIT;
	long ishape[8], mshape[8], *targets;
	int ni, nm, nt, i, r;
	unsigned char *u8;
	const unsigned char **rows;
	float *maps;
	ts_module *m;
	ts_tensor *x;
	double best = 1e30, best_cpu = 1e30;
	size_t n, j, rep;

	o.noise = 0;
	o.stats = &st;
	if (parse_args(argc, argv, &a, &o) < 0) {
		fputs(usage, stderr);
		return 2;
	}
	u8 = npy_read(a.images, "|u1", 1, ishape, &ni);
	maps = npy_read(a.maps, "<f4", 4, mshape, &nm);
	if (!u8 || !maps)
		return 1;
	if (ni != 4 || ishape[3] != 3 || nm != 3 || mshape[0] != ishape[0] || mshape[1] != ishape[1] ||
	    mshape[2] != ishape[2]) {
		error("images (n, H, W, 3) and maps (n, H, W) do not match");
		return 1;
	}
	n = (size_t)ishape[0];
	nt = parse_list(a.targets, tg, 4096);
	if (nt != (int)n) {
		error("%d targets for %zu images", nt, n);
		return 1;
	}
	if (a.coh && parse_list(a.coh, coh, 4096) != (int)n) {
		error("--coherency needs one value per image");
		return 1;
	}
	targets = xmalloc(n * sizeof(*targets));
	for (j = 0; j < n; j++)
		targets[j] = (long)tg[j];
	for (i = 0; i < 3; i++) {
		meanf[i] = (float)a.mean[i];
		stdf[i] = (float)a.std[i];
	}
	o.threads = a.threads;
	if (ts_init(a.torch_threads))
		return error("%s", ts_error()) ? 1 : 1;
	m = ts_module_load(a.model, "cpu");
	if (!m)
		return error("cannot load '%s': %s", a.model, ts_error()) ? 1 : 1;
	rows = xmalloc(n * sizeof(*rows));
	for (j = 0; j < n; j++)
		rows[j] = u8 + j * ishape[1] * ishape[2] * 3;
	x = ts_images_normalized(rows, (int64_t)n, ishape[1], ishape[2], meanf, stdf, "cpu");
	if (!x)
		return error("%s", ts_error()) ? 1 : 1;
	a.repeat = a.repeat < 1 ? 1 : a.repeat;
	rep = (size_t)a.repeat;
	for (r = 0; r < a.repeat; r++) {
		double t0 = now(), c0 = cpu_now(), t;
		if (a.impute_only ? impute_all(x, maps, &o) : road_eval(m, x, maps, targets, &o, &s))
			return 1;
		t = now() - t0;
		best = t < best ? t : best;
		t = cpu_now() - c0;
		best_cpu = t < best_cpu ? t : best_cpu;
	}
	print_scores(&s, maps, (size_t)ishape[1] * ishape[2], a.coh ? coh : NULL);
	fprintf(stderr,
		"road_bench: %zu images %ldx%ld, %zu percentiles x 2, %d+%d thread(s)%s: %.4f s/image wall, %.4f s/image "
		"CPU (best of %d)\n",
		n, ishape[1], ishape[2], o.nr_percentiles, a.threads, a.torch_threads,
		a.impute_only ? ", imputation only" : "", best / (double)n, best_cpu / (double)n, a.repeat);
	fprintf(stderr,
		"road_bench: %zu masks, %zu factorisations (%zu families nested, %zu not), %.4g flops and %.4g "
		"nonzeros of L per image\n",
		st.masks / rep, st.factorisations / rep, st.nested / rep, st.fallbacks / rep,
		st.flops / (double)(rep * n), st.lnz / (double)(rep * n));
	road_scores_release(&s);
	ts_free(x);
	ts_module_free(m);
	free(rows);
	free(u8);
	free(maps);
	free(targets);
	return 0;
}
