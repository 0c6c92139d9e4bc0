/*
 * plan.c - grid expansion and run keys (see plan.h).
 *
 * A run's key hashes its canonical configuration: the model file's content (not its path, so moving a
 * file keeps results), preprocessing (the spec's, and its sidecar's where the spec leaves it), layer, a precision other than fp32, method, utility, target,
 * metrics, data selection and, for user definitions and RandomCAM, their code and seed. camlab's version
 * is deliberately left out: it is recorded beside the results instead, so an upgrade does not orphan
 * finished work.
 */
#include "interp/plan.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "cam/methods.h"
#include "cam/model.h"
#include "lib/error.h"
#include "lib/strbuf.h"
#include "lib/xalloc.h"

/* The content hash of a file, memoised per path for the life of the process. */
static const char *file_hash(const char *path)
{
	static struct {
		char *path;
		char hex[17];
	} *memo;
	static size_t nr, alloc;
	XXH64_state_t *st;
	unsigned char buf[1 << 16];
	size_t i, got;
	FILE *fp;

	for (i = 0; i < nr; i++)
		if (!strcmp(memo[i].path, path))
			return memo[i].hex;
	ALLOC_GROW(memo, nr + 1, alloc);
	memo[nr].path = xstrdup(path);
	fp = fopen(path, "rb");
	if (!fp) {
		snprintf(memo[nr].hex, sizeof(memo[nr].hex), "missing");
		return memo[nr++].hex;
	}
	st = XXH64_createState();
	XXH64_reset(st, 0);
	while ((got = fread(buf, 1, sizeof(buf), fp)) > 0)
		XXH64_update(st, buf, got);
	fclose(fp);
	snprintf(memo[nr].hex, sizeof(memo[nr].hex), "%016llx", (unsigned long long)XXH64_digest(st));
	XXH64_freeState(st);
	return memo[nr++].hex;
}

/*
 * What a model's sidecar (M.yaml beside M.pt) says of its preprocessing and classes, as key lines, for
 * the fields the spec leaves to it; "" without a sidecar. Memoised per model file.
 */
static const char *sidecar_config(const struct exp_model *m)
{
	static struct {
		char *file, *config;
	} * memo;
	static size_t nr, alloc;
	struct model_meta meta = MODEL_META_INIT;
	struct strbuf sb = STRBUF_INIT;
	char *side;
	size_t i;
	FILE *fp;

	for (i = 0; i < nr; i++)
		if (!strcmp(memo[i].file, m->file))
			return memo[i].config;
	side = model_sidecar_path(m->file);
	if ((fp = fopen(side, "r"))) {
		fclose(fp);
		error_set_quiet(1); /* a bad sidecar is the run's error, said when the model loads */
		if (model_meta_read(&meta, side) == 0) {
			if (m->input_size < 0)
				strbuf_addf(&sb, "sidecar.input_size=%d\n", meta.input_size);
			if (m->resize < 0)
				strbuf_addf(&sb, "sidecar.resize=%d\n", meta.resize);
			if (meta.have_norm && !m->have_mean)
				strbuf_addf(&sb, "sidecar.mean=%.9g,%.9g,%.9g\n", meta.mean[0], meta.mean[1],
					    meta.mean[2]);
			if (meta.have_norm && !m->have_std)
				strbuf_addf(&sb, "sidecar.std=%.9g,%.9g,%.9g\n", meta.std[0], meta.std[1],
					    meta.std[2]);
			if (meta.nr_classes && !m->classes) {
				XXH64_state_t *st = XXH64_createState();
				XXH64_reset(st, 0);
				for (i = 0; i < meta.nr_classes; i++)
					XXH64_update(st, meta.classes[i], strlen(meta.classes[i]) + 1);
				strbuf_addf(&sb, "sidecar.classes_hash=%016llx\n",
					    (unsigned long long)XXH64_digest(st));
				XXH64_freeState(st);
			}
		}
		error_set_quiet(0);
		model_meta_release(&meta);
	}
	free(side);
	ALLOC_GROW(memo, nr + 1, alloc);
	memo[nr].file = xstrdup(m->file);
	memo[nr].config = strbuf_detach(&sb, NULL);
	return memo[nr++].config;
}

static const struct exp_def *find_def(const struct experiment *e, enum exp_def_kind kind, const char *name)
{
	size_t i;
	for (i = 0; i < e->nr_defs; i++)
		if (e->defs[i].kind == kind && !strcmp(e->defs[i].name, name))
			return &e->defs[i];
	return NULL;
}

static char *run_config(const struct experiment *e, const struct plan_run *r)
{
	const struct exp_model *m = &e->models[r->model];
	const struct exp_layer *l = &m->layers[r->layer];
	const char *method = e->methods[r->method].name, *utility = e->utilities[r->utility].name;
	const struct exp_def *def;
	struct strbuf sb = STRBUF_INIT;
	size_t i;
	int uses_def = 0;

	strbuf_addf(&sb, "model.file_hash=%s\n", file_hash(m->file));
	strbuf_addf(&sb, "model.input_size=%d\nmodel.resize=%d\n", m->input_size, m->resize);
	if (m->have_mean)
		strbuf_addf(&sb, "model.mean=%.9g,%.9g,%.9g\n", m->mean[0], m->mean[1], m->mean[2]);
	if (m->have_std)
		strbuf_addf(&sb, "model.std=%.9g,%.9g,%.9g\n", m->std[0], m->std[1], m->std[2]);
	if (m->classes)
		strbuf_addf(&sb, "model.classes_hash=%s\n", file_hash(m->classes));
	/* an edited sidecar is another preprocessing: its results must not mix with the old ones */
	strbuf_addstr(&sb, sidecar_config(m));
	strbuf_addf(&sb, "layer.path=%s\nlayer.layout=%s\n", l->path, l->layout ? l->layout : "auto");
	/* low-precision results are other results; fp32 adds nothing, so older keys stay valid */
	if (e->precision && strcmp(e->precision, "fp32"))
		strbuf_addf(&sb, "precision=%s\n", e->precision);
	strbuf_addf(&sb, "method=%s\nutility=%s\ntarget=%s", method, utility, e->targets[r->target].name);
	if (r->rank)
		strbuf_addf(&sb, "#rank%d", r->rank);
	strbuf_addch(&sb, '\n');
	if (e->methods[r->method].id == CAM_RANDOMCAM) /* also with parameters: randomcam(aug_smooth=true) */
		/* per-image weights (cam_image_seed): results of the earlier per-batch draw are other results */
		strbuf_addf(&sb, "seed=%llu\nrandomcam.weights=per-image\n", (unsigned long long)e->seed);
	if ((def = find_def(e, EXP_DEF_METHOD, method))) {
		strbuf_addf(&sb, "method.lua=%s\n", def->lua);
		uses_def = 1;
	}
	/* the quirk changes the ShapleyCAM variants, and HA, which user methods get */
	if (e->quirk && (!strncmp(method, "shapleycam", 10) || def))
		strbuf_addf(&sb, "quirk=%s\n", e->quirk);
	if ((def = find_def(e, EXP_DEF_UTILITY, utility))) {
		strbuf_addf(&sb, "utility.lua=%s\n", def->lua);
		uses_def = 1;
	}
	strbuf_addstr(&sb, "metrics=");
	for (i = 0; i < e->nr_metrics; i++) {
		strbuf_addf(&sb, "%s%s", i ? "," : "", e->metrics[i].name);
		if ((def = find_def(e, EXP_DEF_METRIC, e->metrics[i].name))) {
			strbuf_addf(&sb, "{%s}", def->lua);
			uses_def = 1;
		}
	}
	/*
	 * A definition's numbers depend on its source (above) and on how it is run: each call in a fresh
	 * state with math.random seeded with 0 (interp/luacam.h). Results from before, when definitions shared
	 * one state (one could redefine another's relu) and Lua seeded from the clock, are other results.
	 */
	if (uses_def)
		strbuf_addstr(&sb, "\nlua.state=fresh-per-call,seed=0");
	strbuf_addf(&sb, "\ndata.path=%s\n", e->data.path ? e->data.path : "");
	if (e->data.labels)
		strbuf_addf(&sb, "data.labels=%s\n", e->data.labels);
	strbuf_addf(&sb, "data.limit=%zu\ndata.shuffle=%d\ndata.seed=%llu\n", e->data.limit, e->data.shuffle,
		    (unsigned long long)e->data.seed);
	return strbuf_detach(&sb, NULL);
}

static int matches(const char *rule, const char *value)
{
	return !rule || !strcmp(rule, value);
}

static int excluded(const struct experiment *e, const struct plan_run *r)
{
	const struct exp_model *m = &e->models[r->model];
	size_t i;
	for (i = 0; i < e->nr_excludes; i++) {
		const struct exp_exclude *x = &e->excludes[i];
		if (matches(x->model, m->name) && matches(x->layer, m->layers[r->layer].name) &&
		    matches(x->method, e->methods[r->method].name) &&
		    matches(x->utility, e->utilities[r->utility].name) &&
		    matches(x->target, e->targets[r->target].name))
			return 1;
	}
	return 0;
}

/* k of a "top<k>" target, else 0 */
static int topk_of(const char *t)
{
	char *end;
	long k;
	if (strncmp(t, "top", 3) || !t[3])
		return 0;
	k = strtol(t + 3, &end, 10);
	return *end || k < 1 || k > 1000 ? 0 : (int)k;
}

static void add_one(struct plan *p, struct plan_run *r)
{
	r->config = run_config(p->e, r);
	snprintf(r->key, sizeof(r->key), "%016llx",
		 (unsigned long long)XXH64(r->config, strlen(r->config), 0x63616d6c6162ULL));
	ALLOC_GROW(p->runs, p->nr + 1, p->alloc);
	p->runs[p->nr++] = *r;
}

/* A "top<k>" target is k runs, one per rank. */
static void add_run(struct plan *p, struct plan_run *r)
{
	int k = topk_of(p->e->targets[r->target].name), i;
	if (!k) {
		add_one(p, r);
		return;
	}
	for (i = 1; i <= k; i++) {
		struct plan_run copy = *r;
		copy.rank = i;
		add_one(p, &copy);
	}
}

static int cmp_group(const void *a, const void *b)
{
	const struct plan_run *x = a, *y = b;
#define CMP(f)                                                                                             \
	if (x->f != y->f)                                                                                  \
		return x->f < y->f ? -1 : 1;
	CMP(model)
	CMP(layer)
	CMP(target)
	CMP(rank)
	CMP(utility)
	CMP(order)
#undef CMP
	return 0;
}

#ifndef NDEBUG
/*
 * What plan_build promises and its users rely on: runs whose indices are in range (plan_run_label and the
 * runner index with them unchecked), a rank exactly for the ranks of a top-k target, a key and its config,
 * and the order of cmp_group, strictly (order is unique), which makes the runs sharing a pass neighbours:
 * the runner's groups are the stretches of equal model, layer, target, rank and utility.
 */
static void plan_check(const struct plan *p)
{
	const struct experiment *e = p->e;
	size_t i;

	assert(p->nr > 0 && p->nr <= p->alloc);
	for (i = 0; i < p->nr; i++) {
		const struct plan_run *r = &p->runs[i];
		int k;

		assert(r->model < e->nr_models && r->layer < e->models[r->model].nr_layers);
		assert(r->method < e->nr_methods && r->utility < e->nr_utilities && r->target < e->nr_targets);
		k = topk_of(e->targets[r->target].name);
		assert(k ? r->rank >= 1 && r->rank <= k : r->rank == 0);
		assert(r->config && strlen(r->key) == 16 && r->order < p->nr);
		assert(!i || cmp_group(&p->runs[i - 1], r) < 0);
	}
}
#endif

/*
 * The grid: every model, layer, target, utility and method, except that the zipped dimensions advance
 * together on one counter. experiment_validate has checked that they have one length (for layers: the
 * same number in every model).
 */
int plan_build(struct plan *p, const struct experiment *e, struct diag *d)
{
	size_t len[EXP_NR_DIMS] = { e->nr_models, 0, e->nr_methods, e->nr_utilities, e->nr_targets };
	size_t zlen = 0, nz, zi, mi, li, t, u, m, k;
	struct src_pos nowhere = { e->file, 0, 0 };
	int dim;

#define ZIPPED(dim) ((e->zip & (1u << (dim))) != 0)
	p->e = e;
	if (e->nr_models)
		len[EXP_LAYER] = e->models[0].nr_layers;
	for (dim = 0; dim < EXP_NR_DIMS; dim++) {
		if (!ZIPPED(dim))
			continue;
		if (zlen && len[dim] != zlen) {
			diag_error(d, nowhere, "zipped dimensions differ in length (%zu and %zu)", zlen,
				   len[dim]);
			return -1;
		}
		zlen = len[dim];
	}
	nz = zlen ? zlen : 1;
	/* each loop runs over its dimension, or only the counter's value when the dimension is zipped */
	for (zi = 0; zi < nz; zi++)
		for (mi = ZIPPED(EXP_MODEL) ? zi : 0; mi < (ZIPPED(EXP_MODEL) ? zi + 1 : e->nr_models); mi++)
			for (li = ZIPPED(EXP_LAYER) ? zi : 0;
			     li < (ZIPPED(EXP_LAYER) ? zi + 1 : e->models[mi].nr_layers); li++)
				for (t = ZIPPED(EXP_TARGET) ? zi : 0;
				     t < (ZIPPED(EXP_TARGET) ? zi + 1 : e->nr_targets); t++)
					for (u = ZIPPED(EXP_UTILITY) ? zi : 0;
					     u < (ZIPPED(EXP_UTILITY) ? zi + 1 : e->nr_utilities); u++)
						for (m = ZIPPED(EXP_METHOD) ? zi : 0;
						     m < (ZIPPED(EXP_METHOD) ? zi + 1 : e->nr_methods); m++) {
							struct plan_run r = { 0 };
							r.model = mi;
							r.layer = li;
							r.target = t;
							r.utility = u;
							r.method = m;
							if (li < e->models[mi].nr_layers && !excluded(e, &r))
								add_run(p, &r);
						}
#undef ZIPPED
	if (!p->nr) {
		diag_error(d, nowhere, "the grid is empty: every combination is excluded");
		return -1;
	}
	/* Runs sharing a pass must be neighbours, also when ranks of a top-k target were expanded per method. */
	for (k = 0; k < p->nr; k++)
		p->runs[k].order = k;
	if (p->nr > 1) /* qsort with a NULL base is undefined even for no elements */
		qsort(p->runs, p->nr, sizeof(*p->runs), cmp_group);
#ifndef NDEBUG
	plan_check(p);
#endif
	return 0;
}

void plan_release(struct plan *p)
{
	size_t i;
	for (i = 0; i < p->nr; i++)
		free(p->runs[i].config);
	free(p->runs);
	memset(p, 0, sizeof(*p));
}

const char *plan_target_name(const struct plan *p, const struct plan_run *r)
{
	static char buf[32];
	if (!r->rank)
		return p->e->targets[r->target].name;
	snprintf(buf, sizeof(buf), "rank%d", r->rank);
	return buf;
}

const char *plan_run_label(const struct plan *p, const struct plan_run *r)
{
	static char buf[512];
	const struct exp_model *m = &p->e->models[r->model];
	snprintf(buf, sizeof(buf), "%s/%s %s %s %s", m->name, m->layers[r->layer].name,
		 p->e->methods[r->method].name, p->e->utilities[r->utility].name, plan_target_name(p, r));
	return buf;
}
