/*
 * experiment.c - the experiment IR's defaults, loading by extension, validation and canonical text (see
 * experiment.h). The front ends only read and type-check; every check of a name or a value against what
 * camlab knows is here, so that a YAML spec and its Lua twin fail with the same messages.
 */
#include "dsl/experiment.h"

#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>

#include "cam/methods.h"
#include "cam/model.h"
#include "cam/metrics.h"
#include "cam/utility.h"
#include "dsl/front.h"
#include "lib/error.h"
#include "lib/strbuf.h"
#include "lib/suggest.h"
#include "lib/xalloc.h"

/* The methods of the paper's Table 1: every built-in but CAM (needs a GAP head), ScoreCAM, AblationCAM. */
static const char *const default_methods[] = {
	"gradcam",    "hirescam",   "gradcam-e",    "layercam",	    "xgradcam",
	"gradcam++", "randomcam", "shapleycam", "shapleycam-h", "shapleycam-e",
};
static const char *const default_formats[] = { "markdown", "latex", "csv" };
static const char *const layouts[] = { "auto", "bchw", "bhwc", "bnc" };
static const char *const figure_by[] = { "method", "utility", "target" };
static const char *const dim_names[EXP_NR_DIMS] = { "model", "layer", "method", "utility", "target" };
static const char *const dim_plurals[EXP_NR_DIMS] = { "models", "layers", "methods", "utilities", "targets" };

static void set_names(struct exp_name **list, size_t *nr, const char *const *names, size_t n)
{
	size_t i;
	*list = xcalloc(n ? n : 1, sizeof(**list));
	for (i = 0; i < n; i++)
		(*list)[i].name = xstrdup(names[i]);
	*nr = n;
}

void experiment_init(struct experiment *e)
{
	size_t i;

	memset(e, 0, sizeof(*e));
	set_names(&e->methods, &e->nr_methods, default_methods, ARRAY_SIZE(default_methods));
	set_names(&e->utilities, &e->nr_utilities, (const char *const[]){ "rest" }, 1);
	set_names(&e->targets, &e->nr_targets, (const char *const[]){ "predicted" }, 1);
	set_names(&e->metrics, &e->nr_metrics, metric_names, METRIC_NR);
	e->device = xstrdup("cpu");
	e->batch = EXP_BATCH_UNSET;
	e->precision = xstrdup("fp32");
	e->tables = e->plots = 1;
	e->table_formats = xcalloc(ARRAY_SIZE(default_formats), sizeof(char *));
	for (i = 0; i < ARRAY_SIZE(default_formats); i++)
		e->table_formats[i] = xstrdup(default_formats[i]);
	e->nr_table_formats = ARRAY_SIZE(default_formats);
	e->statistics.bootstrap = 1000;
	e->statistics.alpha = xstrdup("0.05");
	e->statistics.alpha_value = 0.05;
	e->statistics.test = xstrdup("wilcoxon");
}

static void free_names(struct exp_name *list, size_t nr)
{
	size_t i;
	for (i = 0; i < nr; i++)
		free(list[i].name);
	free(list);
}

void experiment_release(struct experiment *e)
{
	size_t i, j;

	free(e->file);
	free(e->name);
	free(e->output);
	for (i = 0; i < e->nr_models; i++) {
		struct exp_model *m = &e->models[i];
		free(m->name);
		free(m->file);
		free(m->classes);
		for (j = 0; j < m->nr_layers; j++) {
			free(m->layers[j].name);
			free(m->layers[j].path);
			free(m->layers[j].layout);
			free_names(m->layers[j].grid, m->layers[j].nr_grid);
		}
		free(m->layers);
	}
	free(e->models);
	free(e->data.path);
	free(e->data.labels);
	free_names(e->methods, e->nr_methods);
	free_names(e->utilities, e->nr_utilities);
	free_names(e->targets, e->nr_targets);
	free_names(e->metrics, e->nr_metrics);
	for (i = 0; i < e->nr_excludes; i++) {
		struct exp_exclude *x = &e->excludes[i];
		free(x->model);
		free(x->layer);
		free(x->method);
		free(x->utility);
		free(x->target);
	}
	free(e->excludes);
	for (i = 0; i < e->nr_defs; i++) {
		free(e->defs[i].name);
		free(e->defs[i].lua);
	}
	free(e->defs);
	free(e->device);
	free(e->precision);
	free(e->quirk);
	for (i = 0; i < e->nr_table_formats; i++)
		free(e->table_formats[i]);
	free(e->table_formats);
	free(e->paper_table);
	free(e->statistics.alpha);
	free(e->statistics.test);
	for (i = 0; i < e->nr_figures; i++) {
		free(e->figures[i].image);
		free(e->figures[i].by);
	}
	free(e->figures);
	memset(e, 0, sizeof(*e));
}

static int has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && !strcasecmp(s + n - m, suffix);
}

/*
 * The front ends return -1 when nothing useful could be read (the file is unreadable, not YAML, a Lua
 * error), and 0 otherwise even if they recorded errors: validation then still runs, so that one pass
 * reports every problem of a spec, not only its syntax errors.
 */
int experiment_load(struct experiment *e, const char *file, struct diag *d, int allow_unsafe)
{
	struct src_pos nowhere = { NULL, 0, 0 };
	int ret;

	free(e->file);
	e->file = xstrdup(file);
	nowhere.file = e->file;
	if (has_suffix(file, ".yaml") || has_suffix(file, ".yml"))
		ret = exp_yaml_load(e, e->file, d);
	else if (has_suffix(file, ".lua"))
		ret = exp_lua_load(e, e->file, d, allow_unsafe);
	else {
		diag_error(d, nowhere, "unknown spec type: the file name should end in .yaml, .yml or .lua");
		return -1;
	}
	if (ret < 0) {
		if (!d->errors)
			diag_error(d, nowhere, "cannot read the spec");
		return -1;
	}
	if (experiment_validate(e, d) < 0 || d->errors)
		return -1;
	return 0;
}

/* ---------------------------------------------------------------------------------------------------
 * Paths: relative to the spec's folder, made absolute and normalised (no ".", "..", "//"), so that the
 * canonical text does not depend on the folder camlab was started in.
 */

static void normalise_into(struct strbuf *out, const char *path)
{
	char *copy = xstrdup(path), *p = copy, *seg;
	size_t *starts = xcalloc(strlen(path) + 1, sizeof(size_t)), depth = 0;

	strbuf_reset(out);
	while (p) {
		seg = p;
		p = strchr(p, '/');
		if (p)
			*p++ = '\0';
		if (!*seg || !strcmp(seg, "."))
			continue;
		if (!strcmp(seg, "..")) {
			if (depth) {
				depth--;
				out->len = starts[depth];
				out->buf[out->len] = '\0';
			}
			continue;
		}
		starts[depth++] = out->len;
		strbuf_addch(out, '/');
		strbuf_addstr(out, seg);
	}
	if (!out->len)
		strbuf_addch(out, '/');
	free(starts);
	free(copy);
}

static char *resolve_path(const char *spec, const char *path)
{
	struct strbuf raw = STRBUF_INIT, out = STRBUF_INIT;
	const char *slash;

	if (path[0] != '/') {
		if (spec[0] != '/') {
			char cwd[4096];
			if (getcwd(cwd, sizeof(cwd)))
				strbuf_addstr(&raw, cwd);
			strbuf_addch(&raw, '/');
		}
		slash = strrchr(spec, '/');
		if (slash)
			strbuf_add(&raw, spec, (size_t)(slash - spec));
		strbuf_addch(&raw, '/');
	}
	strbuf_addstr(&raw, path);
	normalise_into(&out, raw.buf);
	strbuf_release(&raw);
	return strbuf_detach(&out, NULL);
}

static int path_exists(const char *path)
{
	struct stat st;
	return !stat(path, &st);
}

/* Resolve *path in place; 0 if it exists, -1 (with *path resolved anyway) if not. */
static int resolve_existing(const char *spec, char **path)
{
	char *r = resolve_path(spec, *path);
	free(*path);
	*path = r;
	return path_exists(r) ? 0 : -1;
}

/* ---------------------------------------------------------------------------------------------------
 * Names. Built-in names follow cam/'s parsers (case-insensitive, '_' for '-', the aliases they accept);
 * user definitions are matched exactly first, then with the same folding.
 */

static void fold(char *buf, size_t size, const char *s)
{
	size_t i;
	for (i = 0; s[i] && i + 1 < size; i++)
		buf[i] = s[i] == '_' ? '-' : (char)tolower((unsigned char)s[i]);
	buf[i] = '\0';
}

static int folded_equal(const char *a, const char *b)
{
	char fa[128], fb[128];
	fold(fa, sizeof(fa), a);
	fold(fb, sizeof(fb), b);
	return !strcmp(fa, fb);
}

/* cam/'s parsers print their own errors; here we only want their verdict. */
static int quiet_utility(const char *name)
{
	int u;
	if (strchr(name, ','))
		return -1;
	error_set_quiet(1);
	u = utility_parse(name);
	error_set_quiet(0);
	return u;
}

static int quiet_metric(const char *name)
{
	unsigned mask = 0;
	int r, i;
	if (strchr(name, ',') || !*name)
		return -1;
	error_set_quiet(1);
	r = metrics_parse(name, &mask);
	error_set_quiet(0);
	if (r < 0)
		return -1;
	for (i = 0; i < METRIC_NR; i++)
		if (mask == 1u << i)
			return i;
	return -1;
}

static int builtin_method(const char *name)
{
	char buf[64];
	size_t i;
	if (strlen(name) >= sizeof(buf))
		return -1;
	fold(buf, sizeof(buf), name);
	for (i = 0; i < CAM_NR_METHODS; i++)
		if (!strcmp(buf, cam_method_names[i]))
			return (int)i;
	return -1;
}

static const char *find_def(const struct experiment *e, enum exp_def_kind kind, const char *name)
{
	size_t i;
	for (i = 0; i < e->nr_defs; i++)
		if (e->defs[i].kind == kind && !strcmp(e->defs[i].name, name))
			return e->defs[i].name;
	for (i = 0; i < e->nr_defs; i++)
		if (e->defs[i].kind == kind && folded_equal(e->defs[i].name, name))
			return e->defs[i].name;
	return NULL;
}

/* The kind of list being checked: how to recognise its built-in names and what to call them. */
struct dim_kind {
	const char *what;	/* "method" */
	const char *plural;	/* "methods" */
	const char *const *builtins;
	size_t nr_builtins;
	int has_all;
	int has_defs;
	enum exp_def_kind def_kind;
	int (*lookup)(const char *name); /* index into builtins, or -1 */
};

static int lookup_method(const char *name)
{
	return builtin_method(name);
}

static const struct dim_kind kind_method = { "method", "methods", cam_method_names, CAM_NR_METHODS, 1, 1,
					     EXP_DEF_METHOD, lookup_method };
static const struct dim_kind kind_utility = { "utility", "utilities", utility_names, UTILITY_NR, 1, 1,
					      EXP_DEF_UTILITY, quiet_utility };
static const struct dim_kind kind_metric = { "metric", "metrics", metric_names, METRIC_NR, 1, 1,
					     EXP_DEF_METRIC, quiet_metric };

/* Candidates for "did you mean": the built-ins and the user's definitions of that kind. */
static void report_unknown(const struct experiment *e, struct diag *d, const struct dim_kind *k,
			   struct src_pos pos, const char *prefix, const char *name)
{
	const char **cands = xcalloc(k->nr_builtins + e->nr_defs + 1, sizeof(char *));
	const char *near[1], *note = k == &kind_method ? cam_method_absent_note(name) : NULL;
	size_t n = 0, i;

	for (i = 0; i < k->nr_builtins; i++)
		cands[n++] = k->builtins[i];
	for (i = 0; k->has_defs && i < e->nr_defs; i++)
		if (e->defs[i].kind == k->def_kind)
			cands[n++] = e->defs[i].name;
	if (!*name)
		diag_error(d, pos, "%sempty %s name", prefix, k->what);
	/* a method known by another name (EigenCAM) is said so, unless the user has a definition near it */
	else if (note && suggest_nearest(name, cands + k->nr_builtins, n - k->nr_builtins, near, 1))
		diag_error(d, pos, "%sunknown %s '%s'; did you mean '%s'?", prefix, k->what, name, near[0]);
	else if (note)
		diag_error(d, pos, "%sunknown %s '%s'%s", prefix, k->what, name, note);
	else if (suggest_nearest(name, cands, n, near, 1))
		diag_error(d, pos, "%sunknown %s '%s'; did you mean '%s'?", prefix, k->what, name, near[0]);
	else
		diag_error(d, pos, "%sunknown %s '%s'", prefix, k->what, name);
	free(cands);
}

/* The canonical spelling of one name, or NULL if it is unknown ("all" is handled by the caller). */
static const char *canonical_name(const struct experiment *e, const struct dim_kind *k, const char *name)
{
	const char *def;
	int i;

	if (k->has_defs && e->nr_defs) {
		size_t j;
		for (j = 0; j < e->nr_defs; j++)
			if (e->defs[j].kind == k->def_kind && !strcmp(e->defs[j].name, name))
				return e->defs[j].name;
	}
	i = k->lookup(name);
	if (i >= 0)
		return k->builtins[i];
	def = k->has_defs ? find_def(e, k->def_kind, name) : NULL;
	return def;
}

static void push_name(struct exp_name **list, size_t *nr, size_t *alloc, const char *name, struct src_pos pos)
{
	ALLOC_GROW(*list, *nr + 1, *alloc);
	(*list)[*nr].name = xstrdup(name);
	(*list)[*nr].pos = pos;
	(*nr)++;
}

/*
 * Replace a list by its canonical form: "all" expanded, names canonical, unknown names reported, and
 * duplicates dropped with a warning (they would only repeat runs).
 */
static void check_names(const struct experiment *e, struct diag *d, const struct dim_kind *k,
			struct exp_name **list, size_t *nr)
{
	struct exp_name *out = NULL;
	size_t n = 0, alloc = 0, i, j, b;
	struct src_pos nowhere = { e->file, 0, 0 };

	if (!*nr) {
		diag_error(d, nowhere, "no %s: the list is empty", k->plural);
		return;
	}
	for (i = 0; i < *nr; i++) {
		struct exp_name *in = &(*list)[i];
		const char *c;
		size_t first = n;

		if (!in->name) { /* reported by the front end; kept, so that zip sees the list's length */
			ALLOC_GROW(out, n + 1, alloc);
			out[n].name = NULL;
			out[n++].pos = in->pos;
			continue;
		}
		if (k->has_all && !strcasecmp(in->name, "all")) {
			for (b = 0; b < k->nr_builtins; b++)
				push_name(&out, &n, &alloc, k->builtins[b], in->pos);
		} else if ((c = canonical_name(e, k, in->name))) {
			push_name(&out, &n, &alloc, c, in->pos);
		} else {
			/* kept as a NULL name, as the front ends keep an item of the wrong type: zip counts it */
			report_unknown(e, d, k, in->pos, "", in->name);
			ALLOC_GROW(out, n + 1, alloc);
			out[n].name = NULL;
			out[n++].pos = in->pos;
			continue;
		}
		/* drop what this entry added that is already there */
		for (b = first; b < n;) {
			for (j = 0; j < first; j++)
				if (out[j].name && !strcmp(out[j].name, out[b].name))
					break;
			if (j < first) {
				if (strcasecmp(in->name, "all"))
					diag_warning(d, in->pos, "duplicate %s '%s'", k->what, out[b].name);
				free(out[b].name);
				memmove(&out[b], &out[b + 1], (n - b - 1) * sizeof(*out));
				n--;
			} else {
				b++;
			}
		}
	}
	free_names(*list, *nr);
	*list = out ? out : xcalloc(1, sizeof(*out));
	*nr = n;
}

/* "top", "top-1", "top+2", "top0": meant as top<k>, not as a class name */
static int looks_like_topk(const char *s)
{
	if (strncasecmp(s, "top", 3))
		return 0;
	s += 3;
	if (*s == '-' || *s == '+')
		s++;
	while (isdigit((unsigned char)*s))
		s++;
	return !*s;
}

/* "3.0", "-1.5", "1e3": a number, which is no class name and no class index */
static int looks_like_number(const char *s)
{
	char *end;
	if (!isdigit((unsigned char)*s) &&
	    !((*s == '-' || *s == '+' || *s == '.') && isdigit((unsigned char)s[1])))
		return 0;
	(void)strtod(s, &end);
	return !*end;
}

/*
 * Targets: cam/'s policies, written canonically ("pred" -> "predicted", "label" -> "true", "007" -> "7").
 * A word that is no policy is a class name, which only the model can check; what cannot be a class name
 * (a number that is no index, top<k> out of range, "all") is reported here.
 */
static char *canonical_target(const char *s, const char **why)
{
	struct target_policy p;
	struct strbuf sb = STRBUF_INIT;
	int topk, r;
	char *end;

	*why = NULL;
	if (!*s) {
		*why = "an empty target";
		return NULL;
	}
	error_set_quiet(1);
	r = target_parse(s, NULL, NULL, &p, &topk);
	error_set_quiet(0);
	if (r < 0) {
		errno = 0;
		(void)strtol(s, &end, 10);
		if (!*end) {
			*why = "a class index is >= 0";
			return NULL;
		}
		if (looks_like_topk(s)) {
			*why = "top<k> needs 1 <= k <= 1000";
			return NULL;
		}
		if (looks_like_number(s)) {
			*why = "a class index is an integer >= 0";
			return NULL;
		}
		if (!strcasecmp(s, "all")) {
			*why = "targets have no 'all'; list the ones wanted (predicted, true, least, top<k>, "
			       "class indices or names)";
			return NULL;
		}
		return xstrdup(s);
	}
	switch (p.kind) {
	case TARGET_PREDICTED:
		return xstrdup("predicted");
	case TARGET_TRUE:
		return xstrdup("true");
	case TARGET_LEAST:
		return xstrdup("least");
	case TARGET_INDEX:
		strbuf_addf(&sb, "%ld", p.index);
		return strbuf_detach(&sb, NULL);
	case TARGET_TOPK:
		strbuf_addf(&sb, "top%d", topk);
		return strbuf_detach(&sb, NULL);
	}
	return xstrdup(s);
}

static void check_targets(struct experiment *e, struct diag *d)
{
	size_t i, j;
	struct src_pos nowhere = { e->file, 0, 0 };

	if (!e->nr_targets)
		diag_error(d, nowhere, "no targets: the list is empty");
	for (i = 0; i < e->nr_targets; i++) {
		const char *why;
		char *c;
		if (!e->targets[i].name)
			continue;
		c = canonical_target(e->targets[i].name, &why);
		if (!c) {
			diag_error(d, e->targets[i].pos, "bad target '%s': %s", e->targets[i].name, why);
			continue;
		}
		free(e->targets[i].name);
		e->targets[i].name = c;
	}
	for (i = 1; i < e->nr_targets; i++) {
		for (j = 0; j < i && e->targets[i].name; j++)
			if (e->targets[j].name && !strcmp(e->targets[i].name, e->targets[j].name))
				break;
		if (e->targets[i].name && j < i) {
			diag_warning(d, e->targets[i].pos, "duplicate target '%s'", e->targets[i].name);
			free(e->targets[i].name);
			memmove(&e->targets[i], &e->targets[i + 1], (e->nr_targets - i - 1) * sizeof(*e->targets));
			e->nr_targets--;
			i--;
		}
	}
}

/* ---------------------------------------------------------------------------------------------------
 * Values without a position of their own in the IR (device, batch, formats) are checked by the YAML
 * front end where it reads them; these checks catch what another front end let through.
 */

int experiment_valid_device(const char *s)
{
	const char *p;
	if (!strcmp(s, "cpu") || !strcmp(s, "cuda"))
		return 1;
	if (strncmp(s, "cuda:", 5) || !s[5])
		return 0;
	for (p = s + 5; *p; p++)
		if (!isdigit((unsigned char)*p))
			return 0;
	return 1;
}

static int one_of(const char *s, const char *const *names, size_t n)
{
	size_t i;
	for (i = 0; i < n; i++)
		if (!strcmp(s, names[i]))
			return 1;
	return 0;
}

int experiment_valid_precision(const char *s)
{
	return s && one_of(s, model_precision_names, TS_PRECISION_NR);
}

static const char *const device_names[] = { "cpu", "cuda" };
const struct exp_choice experiment_device_choice = { "device", "cpu, cuda or cuda:N", device_names,
						      ARRAY_SIZE(device_names), experiment_valid_device };
const struct exp_choice experiment_precision_choice = { "precision", "fp32, tf32, bf16 or fp16",
							 model_precision_names, TS_PRECISION_NR,
							 experiment_valid_precision };
const struct exp_choice experiment_layout_choice = { "layout", "auto, bchw, bhwc or bnc", layouts,
						     ARRAY_SIZE(layouts), NULL };
static const char *const quirks[] = { "shapley-live-activation" };
const struct exp_choice experiment_quirk_choice = { "quirk", "shapley-live-activation", quirks,
						    ARRAY_SIZE(quirks), NULL };
const struct exp_choice experiment_figure_by_choice = { "'by' value", "method, utility or target", figure_by,
							ARRAY_SIZE(figure_by), NULL };
static const char *const tests[] = { "wilcoxon", "bootstrap" };
const struct exp_choice experiment_test_choice = { "test", "wilcoxon or bootstrap", tests, ARRAY_SIZE(tests),
						   NULL };

void experiment_set_choice(const struct exp_choice *ch, const char *s, char **field, struct diag *d,
			   struct src_pos pos)
{
	const char *near[1];

	if (ch->valid ? ch->valid(s) : one_of(s, ch->names, ch->nr_names)) {
		free(*field);
		*field = xstrdup(s);
	} else if (suggest_nearest(s, ch->names, ch->nr_names, near, 1)) {
		diag_error(d, pos, "unknown %s '%s'; did you mean '%s'?", ch->what, s, near[0]);
	} else {
		diag_error(d, pos, "unknown %s '%s': use %s", ch->what, s, ch->use);
	}
}

int exp_check_range(struct diag *d, struct src_pos pos, const char *key, long long x, long long min,
		    long long max)
{
	if (x >= min && x <= max)
		return 0;
	if (max == 0x7fffffff)
		diag_error(d, pos, "expected an integer >= %lld for '%s', not %lld", min, key, x);
	else
		diag_error(d, pos, "expected an integer from %lld to %lld for '%s', not %lld", min, max, key,
			   x);
	return -1;
}

int exp_check_float(struct diag *d, struct src_pos pos, const char *key, double x)
{
	if (isnan(x))
		diag_error(d, pos, "expected a finite number for '%s', not NaN", key);
	else if (isinf(x))
		diag_error(d, pos, "expected a finite number for '%s', not %sinfinity", key,
			   x < 0 ? "-" : "");
	else if (fabs(x) > FLT_MAX)
		diag_error(d, pos, "expected a number of magnitude < 3.4e38 for '%s', not %g", key, x);
	else
		return 0;
	return -1;
}

const char *exp_string_hint(const char *s, int boolean)
{
	static const char *const bools[] = { "true", "false", "yes", "no", "on", "off" };
	char *end;
	size_t i;

	if (boolean) {
		for (i = 0; i < ARRAY_SIZE(bools); i++)
			if (!strcasecmp(s, bools[i]))
				return " (a quoted value is a string, not a boolean)";
		return "";
	}
	while (isspace((unsigned char)*s))
		s++;
	if (!*s)
		return "";
	(void)strtod(s, &end);
	return !*end ? " (a quoted value is a string, not a number)" : "";
}

void exp_model_keep_key(struct exp_model *m, const char *key, struct diag *d)
{
	if (!m->name) { /* an inner name: ~ cleared the key's name */
		m->name = xstrdup(key);
		return;
	}
	if (!strcmp(m->name, key))
		return;
	diag_error(d, m->name_pos.line ? m->name_pos : m->pos,
		   "name '%s' differs from the model's key '%s'; drop it or make them the same", m->name,
		   key);
	free(m->name);
	m->name = xstrdup(key);
}

void exp_names_push(struct exp_names *l, const char *s, size_t len, struct src_pos pos)
{
	/* a YAML block scalar ends in a newline, and a blank around a name is never part of it */
	while (len && isspace((unsigned char)*s))
		s++, len--;
	while (len && isspace((unsigned char)s[len - 1]))
		len--;
	ALLOC_GROW(l->v, l->n + 1, l->alloc);
	l->v[l->n].name = xstrndup(s, len);
	l->v[l->n].pos = pos;
	l->n++;
}

void exp_names_skip(struct exp_names *l, struct src_pos pos)
{
	ALLOC_GROW(l->v, l->n + 1, l->alloc);
	l->v[l->n].name = NULL;
	l->v[l->n].pos = pos;
	l->n++;
}

void exp_names_split(struct exp_names *l, const char *s, struct src_pos base, int shift)
{
	const char *p = s;

	while (1) {
		size_t len = strcspn(p, ","), n = len;
		const char *q = p;
		struct src_pos pos = base;
		while (n && isspace((unsigned char)*q))
			q++, n--;
		while (n && isspace((unsigned char)q[n - 1]))
			n--;
		if (shift >= 0 && !strchr(s, '\n'))
			pos.col += (int)(q - s) + shift;
		exp_names_push(l, q, n, pos);
		p += len;
		if (!*p)
			break;
		p++;
	}
}

void exp_names_end(struct exp_names *l, const char *key, struct diag *d, struct exp_name **list, size_t *nr)
{
	size_t i;

	for (i = 0; !l->bad && i < l->n; i++)
		if (l->v[i].name && !*l->v[i].name) {
			diag_error(d, l->v[i].pos, "empty name in '%s'", key);
			free(l->v[i].name);
			l->v[i].name = NULL;
		}
	if (l->bad || !l->n) {
		for (i = 0; i < l->n; i++)
			free(l->v[i].name);
		free(l->v);
	} else {
		for (i = 0; i < *nr; i++)
			free((*list)[i].name);
		free(*list);
		*list = l->v;
		*nr = l->n;
	}
	memset(l, 0, sizeof(*l));
}

void exp_names_zip(struct exp_names *l, struct experiment *e, struct diag *d)
{
	unsigned zip = 0;
	size_t i;

	/* the dimensions that were understood, even beside a bad one: their lengths are still checked */
	experiment_zip_dims(l->v, l->n, d, &zip);
	if (zip)
		e->zip = zip;
	for (i = 0; i < l->n; i++)
		free(l->v[i].name);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

void experiment_set_formats(struct experiment *e, struct exp_name *names, size_t n, struct diag *d)
{
	size_t i;
	int bad = 0, all = n == 1 && names[0].name && !strcmp(names[0].name, "all");

	for (i = 0; i < n && !all; i++) {
		const char *near[1];
		if (!names[i].name) { /* already reported */
			bad = 1;
			continue;
		}
		if (!strcmp(names[i].name, "markdown") || !strcmp(names[i].name, "latex") ||
		    !strcmp(names[i].name, "csv"))
			continue;
		bad = 1;
		if (suggest_nearest(names[i].name, default_formats, ARRAY_SIZE(default_formats), near, 1))
			diag_error(d, names[i].pos, "unknown table format '%s'; did you mean '%s'?",
				   names[i].name, near[0]);
		else
			diag_error(d, names[i].pos, "unknown table format '%s': use markdown, latex or csv",
				   names[i].name);
	}
	if (!bad) {
		for (i = 0; i < e->nr_table_formats; i++)
			free(e->table_formats[i]);
		free(e->table_formats);
		e->nr_table_formats = all ? ARRAY_SIZE(default_formats) : n;
		e->table_formats = xcalloc(e->nr_table_formats, sizeof(char *));
		for (i = 0; i < e->nr_table_formats; i++)
			e->table_formats[i] = xstrdup(all ? default_formats[i] : names[i].name);
	}
	for (i = 0; i < n; i++)
		free(names[i].name);
	free(names);
}

static void unknown_value(struct diag *d, struct src_pos pos, const char *what, const char *s,
			  const char *const *names, size_t n)
{
	const char *near[1];
	if (suggest_nearest(s, names, n, near, 1))
		diag_error(d, pos, "unknown %s '%s'; did you mean '%s'?", what, s, near[0]);
	else
		diag_error(d, pos, "unknown %s '%s'", what, s);
}

static const struct exp_model *find_model(const struct experiment *e, const char *name)
{
	size_t i;
	for (i = 0; i < e->nr_models; i++)
		if (e->models[i].name && !strcmp(e->models[i].name, name))
			return &e->models[i];
	return NULL;
}

static const struct exp_layer *find_layer(const struct exp_model *m, const char *name)
{
	size_t i;
	for (i = 0; i < m->nr_layers; i++)
		if (m->layers[i].name && !strcmp(m->layers[i].name, name))
			return &m->layers[i];
	return NULL;
}

/* The file's name without folder and extension: a model's or an experiment's default name. */
static char *stem(const char *path)
{
	const char *base = strrchr(path, '/'), *dot;
	base = base ? base + 1 : path;
	dot = strrchr(base, '.');
	return dot && dot != base ? xstrndup(base, (size_t)(dot - base)) : xstrdup(base);
}

/* where a key was written, or else dflt (the key was not written: its owner's position) */
static struct src_pos pos_or(struct src_pos pos, struct src_pos dflt)
{
	return pos.line ? pos : dflt;
}

/* A whole number from 1 to 65536 spelled by the whole of s, else 0. */
static int grid_side(const char *s, size_t len)
{
	size_t i;
	int v = 0;

	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9' || v > 65536)
			return 0;
		v = v * 10 + (s[i] - '0');
	}
	return v <= 65536 ? v : 0;
}

/*
 * A layer's token keys: prefix_tokens not given becomes -1 (detect), and grid ([h, w], "h, w" or "hxw")
 * becomes grid_h x grid_w; both only mean something for tokens, so another layout is an error.
 */
static void check_layer_tokens(struct diag *d, struct exp_layer *l)
{
	if (!l->prefix_tokens_pos.line)
		l->prefix_tokens = -1;
	if (l->nr_grid == 2 && l->grid[0].name && l->grid[1].name) {
		l->grid_h = grid_side(l->grid[0].name, strlen(l->grid[0].name));
		l->grid_w = grid_side(l->grid[1].name, strlen(l->grid[1].name));
	} else if (l->nr_grid == 1 && l->grid[0].name) {
		const char *s = l->grid[0].name, *x = strchr(s, 'x');
		if (x) {
			l->grid_h = grid_side(s, (size_t)(x - s));
			l->grid_w = grid_side(x + 1, strlen(x + 1));
		}
	}
	if (l->nr_grid && (!l->grid_h || !l->grid_w)) {
		diag_error(d, l->grid_pos, "bad 'grid' for layer '%s': expected [h, w] (two whole numbers from 1)",
			   l->name ? l->name : "?");
		l->grid_h = l->grid_w = 0;
	}
	if ((l->prefix_tokens_pos.line || l->nr_grid) && l->layout && strcmp(l->layout, "auto") &&
	    strcmp(l->layout, "bnc"))
		diag_error(d, l->prefix_tokens_pos.line ? l->prefix_tokens_pos : l->grid_pos,
			   "layer '%s' has layout '%s': 'prefix_tokens' and 'grid' are for tokens (layout bnc)",
			   l->name ? l->name : "?", l->layout);
}

static void check_models(struct experiment *e, struct diag *d)
{
	struct src_pos nowhere = { e->file, 0, 0 };
	size_t i, j, k;

	if (!e->nr_models)
		diag_error(d, nowhere, "no models: the spec needs a 'models' list");
	for (i = 0; i < e->nr_models; i++) {
		struct exp_model *m = &e->models[i];
		if (!m->file) {
			diag_error(d, m->pos, "model %zu has no 'file'", i + 1);
		} else {
			char *written = xstrdup(m->file);
			if (!m->name)
				m->name = stem(m->file);
			if (resolve_existing(e->file, &m->file) < 0)
				diag_error(d, m->pos, "model file '%s' not found", written);
			free(written);
		}
		if (m->name && !*m->name)
			diag_error(d, pos_or(m->name_pos, m->pos), "empty model name");
		if (m->classes) {
			char *written = xstrdup(m->classes);
			if (resolve_existing(e->file, &m->classes) < 0)
				diag_error(d, pos_or(m->classes_pos, m->pos), "classes file '%s' not found",
					   written);
			free(written);
		}
		if (m->input_size < -1)
			diag_error(d, m->pos, "bad input_size %d: a size in pixels, or 0 for none", m->input_size);
		if (m->resize < -1)
			diag_error(d, m->pos, "bad resize %d: a size in pixels, or 0 for none", m->resize);
		/* the front ends refuse infinities and NaNs; an infinite std is refused here too */
		for (k = 0; m->have_std && k < 3; k++)
			if (!(m->std[k] > 0) || !isfinite(m->std[k])) {
				diag_error(d, pos_or(m->std_pos, m->pos), "bad std: every value must be > 0");
				break;
			}
		for (k = 0; m->have_mean && k < 3; k++)
			if (!isfinite(m->mean[k])) {
				diag_error(d, m->pos, "bad mean: every value must be a finite number");
				break;
			}
		for (j = 0; j < i && m->name; j++)
			if (e->models[j].name && !strcmp(e->models[j].name, m->name)) {
				diag_error(d, pos_or(m->name_pos, m->pos), "duplicate model name '%s'",
					   m->name);
				break;
			}
		if (!m->nr_layers)
			diag_error(d, m->pos, "model '%s' has no layers: name at least one under 'layers'",
				   m->name ? m->name : "?");
		for (j = 0; j < m->nr_layers; j++) {
			struct exp_layer *l = &m->layers[j];
			if (!l->path || !*l->path)
				diag_error(d, l->pos, "layer '%s' has no module path", l->name ? l->name : "?");
			if (!l->name)
				l->name = xstrdup(l->path ? l->path : "");
			if (!l->layout)
				l->layout = xstrdup("auto");
			else if (!one_of(l->layout, layouts, ARRAY_SIZE(layouts)))
				unknown_value(d, l->pos, "layout", l->layout, layouts, ARRAY_SIZE(layouts));
			check_layer_tokens(d, l);
			for (k = 0; k < j; k++)
				if (m->layers[k].name && !strcmp(m->layers[k].name, l->name)) {
					diag_error(d, l->pos, "duplicate layer name '%s' in model '%s'", l->name,
						   m->name ? m->name : "?");
					break;
				}
		}
	}
}

/* The module path of a layer that a and b share (with its layout), or NULL. */
static const char *shared_layer(const struct exp_model *a, const struct exp_model *b)
{
	size_t i, j;

	for (i = 0; i < a->nr_layers; i++)
		for (j = 0; j < b->nr_layers; j++)
			if (a->layers[i].path && b->layers[j].path &&
			    !strcmp(a->layers[i].path, b->layers[j].path) &&
			    !strcmp(a->layers[i].layout, b->layers[j].layout))
				return a->layers[i].path;
	return NULL;
}

static int same_string(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

/* Whether a and b give their runs the same keys (interp/plan.c), their layers aside. */
static int same_preprocessing(const struct exp_model *a, const struct exp_model *b)
{
	int k;

	if (a->input_size != b->input_size || a->resize != b->resize || a->have_mean != b->have_mean ||
	    a->have_std != b->have_std || !same_string(a->classes, b->classes))
		return 0;
	for (k = 0; k < 3; k++)
		if ((a->have_mean && a->mean[k] != b->mean[k]) || (a->have_std && a->std[k] != b->std[k]))
			return 0;
	return 1;
}

/*
 * Two entries of one model file with one preprocessing give a layer they share the same run keys, so
 * their runs are one: the database keeps the first entry's, under its name, and the second's name never
 * shows. Comparing files by path, not content, misses copies of a file, which is only a missed warning.
 * Run after check_models, which resolves the paths and fills in the layouts. Not after an error: a value
 * refused (a NaN mean) reads as one not given, so that models would look alike that are not, and a spec
 * with errors runs nothing anyway.
 */
static void check_model_twins(const struct experiment *e, struct diag *d)
{
	size_t i, j;

	if (d->errors)
		return;

	for (i = 1; i < e->nr_models; i++) {
		const struct exp_model *m = &e->models[i];
		if (!m->file || !m->name || !path_exists(m->file))
			continue;
		for (j = 0; j < i; j++) {
			const struct exp_model *first = &e->models[j];
			const char *layer;
			if (!first->file || !first->name || strcmp(first->file, m->file) ||
			    !strcmp(first->name, m->name) || !same_preprocessing(first, m) ||
			    !(layer = shared_layer(first, m)))
				continue;
			diag_warning(d, m->pos,
				     "models '%s' and '%s' are the same network with the same preprocessing: "
				     "their runs at '%s' are the same runs, stored under '%s'",
				     first->name, m->name, layer, first->name);
			break;
		}
	}
}

static void check_data(struct experiment *e, struct diag *d)
{
	struct exp_data *dt = &e->data;
	struct src_pos pos = dt->pos;
	char *written;

	if (!pos.file)
		pos.file = e->file;
	if (!dt->path) {
		diag_error(d, pos, "no data: the spec needs 'data' with a 'path'");
		return;
	}
	written = xstrdup(dt->path);
	if (resolve_existing(e->file, &dt->path) < 0)
		diag_error(d, pos, "data path '%s' not found", written);
	free(written);
	if (dt->labels) {
		written = xstrdup(dt->labels);
		if (resolve_existing(e->file, &dt->labels) < 0)
			diag_error(d, pos_or(dt->labels_pos, pos), "labels file '%s' not found", written);
		free(written);
	}
}

static int in_names(const struct exp_name *list, size_t n, const char *name)
{
	size_t i;
	for (i = 0; i < n; i++)
		if (list[i].name && !strcmp(list[i].name, name))
			return 1;
	return 0;
}

/* An exclude field must name a value the grid has: canonicalise it, then look it up. */
static void check_exclude_name(const struct experiment *e, struct diag *d, struct src_pos pos,
			       const struct dim_kind *k, char **field, const struct exp_name *list, size_t n)
{
	const char *c = canonical_name(e, k, *field);
	const char **cands;
	const char *near[1];
	size_t i, j;

	if (c && in_names(list, n, c)) {
		char *dup = xstrdup(c);
		free(*field);
		*field = dup;
		return;
	}
	cands = xcalloc(n + 1, sizeof(char *));
	for (i = 0, j = 0; i < n; i++)
		if (list[i].name)
			cands[j++] = list[i].name;
	if (suggest_nearest(*field, cands, j, near, 1))
		diag_error(d, pos, "exclude: %s '%s' is not in %s; did you mean '%s'?", k->what, *field,
			   k->plural, near[0]);
	else
		diag_error(d, pos, "exclude: %s '%s' is not in %s", k->what, *field, k->plural);
	free(cands);
}

static void check_excludes(struct experiment *e, struct diag *d)
{
	size_t i, j, k;

	for (i = 0; i < e->nr_excludes; i++) {
		struct exp_exclude *x = &e->excludes[i];
		const struct exp_model *m = NULL;

		if (!x->model && !x->layer && !x->method && !x->utility && !x->target) {
			diag_error(d, x->pos, "exclude names no dimension: it would leave out every run");
			continue;
		}
		if (x->model && !(m = find_model(e, x->model))) {
			const char **cands = xcalloc(e->nr_models + 1, sizeof(char *));
			const char *near[1];
			size_t n = 0;
			for (j = 0; j < e->nr_models; j++)
				if (e->models[j].name)
					cands[n++] = e->models[j].name;
			if (suggest_nearest(x->model, cands, n, near, 1))
				diag_error(d, x->pos, "exclude: unknown model '%s'; did you mean '%s'?", x->model,
					   near[0]);
			else
				diag_error(d, x->pos, "exclude: unknown model '%s'", x->model);
			free(cands);
		}
		if (x->layer) {
			int found = 0;
			size_t n = 0;
			const char **cands;
			const char *near[1];
			for (j = 0; j < e->nr_models; j++)
				if (!m || m == &e->models[j]) {
					found |= find_layer(&e->models[j], x->layer) != NULL;
					n += e->models[j].nr_layers;
				}
			if (!found) {
				cands = xcalloc(n + 1, sizeof(char *));
				n = 0;
				for (j = 0; j < e->nr_models; j++)
					for (k = 0; (!m || m == &e->models[j]) && k < e->models[j].nr_layers; k++)
						if (e->models[j].layers[k].name)
							cands[n++] = e->models[j].layers[k].name;
				if (suggest_nearest(x->layer, cands, n, near, 1))
					diag_error(d, x->pos, "exclude: unknown layer '%s'; did you mean '%s'?",
						   x->layer, near[0]);
				else
					diag_error(d, x->pos, "exclude: unknown layer '%s'", x->layer);
				free(cands);
			}
		}
		if (x->method)
			check_exclude_name(e, d, x->pos, &kind_method, &x->method, e->methods, e->nr_methods);
		if (x->utility)
			check_exclude_name(e, d, x->pos, &kind_utility, &x->utility, e->utilities,
					   e->nr_utilities);
		if (x->target) {
			const char *why;
			char *c = canonical_target(x->target, &why);
			if (!c || !in_names(e->targets, e->nr_targets, c))
				diag_error(d, x->pos, "exclude: target '%s' is not in targets", x->target);
			if (c) {
				free(x->target);
				x->target = c;
			}
		}
	}
}

/* A position for a zip error: the first value of the dimension whose length disagrees. */
static struct src_pos dim_pos(const struct experiment *e, enum exp_dim dim)
{
	struct src_pos nowhere = { e->file, 0, 0 };
	switch (dim) {
	case EXP_MODEL:
		return e->nr_models ? e->models[0].pos : nowhere;
	case EXP_LAYER:
		return e->nr_models && e->models[0].nr_layers ? e->models[0].layers[0].pos : nowhere;
	case EXP_METHOD:
		return e->nr_methods ? e->methods[0].pos : nowhere;
	case EXP_UTILITY:
		return e->nr_utilities ? e->utilities[0].pos : nowhere;
	case EXP_TARGET:
		return e->nr_targets ? e->targets[0].pos : nowhere;
	default:
		return nowhere;
	}
}

static void check_zip(struct experiment *e, struct diag *d)
{
	size_t len[EXP_NR_DIMS] = { 0 };
	int dim, first = -1, nr = 0;
	size_t i;

	if (!e->zip)
		return;
	len[EXP_MODEL] = e->nr_models;
	len[EXP_METHOD] = e->nr_methods;
	len[EXP_UTILITY] = e->nr_utilities;
	len[EXP_TARGET] = e->nr_targets;
	if (e->nr_models)
		len[EXP_LAYER] = e->models[0].nr_layers;
	if (e->zip & (1u << EXP_LAYER))
		for (i = 1; i < e->nr_models; i++)
			if (e->models[i].nr_layers != len[EXP_LAYER]) {
				diag_error(d, e->models[i].pos,
					   "zip: model '%s' has %zu layers, model '%s' %zu; zipped layers need "
					   "the same number in every model",
					   e->models[i].name ? e->models[i].name : "?", e->models[i].nr_layers,
					   e->models[0].name ? e->models[0].name : "?", len[EXP_LAYER]);
				break;
			}
	for (dim = 0; dim < EXP_NR_DIMS; dim++) {
		if (!(e->zip & (1u << dim)))
			continue;
		nr++;
		if (first < 0) {
			first = dim;
			continue;
		}
		if (len[dim] != len[first])
			diag_error(d, dim_pos(e, (enum exp_dim)dim), "zip: %s has %zu value%s, %s %zu",
				   dim_plurals[first], len[first], len[first] == 1 ? "" : "s", dim_plurals[dim],
				   len[dim]);
	}
	if (e->zip >> EXP_NR_DIMS)
		diag_error(d, (struct src_pos){ e->file, 0, 0 }, "zip: unknown dimension bits 0x%x", e->zip);
	else if (nr == 1)
		diag_warning(d, (struct src_pos){ e->file, 0, 0 }, "zip: only '%s' given; zip needs two dimensions",
			     dim_names[first]);
}

/*
 * A definition's chunk is compiled, not run (running it is the runner's, with its limits), so that a
 * syntax error is found by check rather than when the run starts.
 */
static void compile_def(const struct exp_def *df, const char *file, struct diag *d)
{
	static const char *const kinds[] = { "method", "utility", "metric" };
	lua_State *L = lua_newstate(xalloc_lua, NULL);
	struct strbuf name = STRBUF_INIT;

	if (!L)
		return;
	strbuf_addf(&name, "=%s:%d (%s)", file, df->pos.line, df->name);
	if (luaL_loadbufferx(L, df->lua, strlen(df->lua), name.buf, "t") != LUA_OK)
		diag_error(d, df->pos, "%s '%s' does not compile: %s", kinds[df->kind], df->name,
			   lua_tostring(L, -1));
	strbuf_release(&name);
	lua_close(L);
}

static void check_defs(struct experiment *e, struct diag *d)
{
	static const char *const kinds[] = { "method", "utility", "metric" };
	size_t i, j;

	for (i = 0; i < e->nr_defs; i++) {
		struct exp_def *df = &e->defs[i];
		int builtin = -1;
		if (!df->name || !*df->name) {
			diag_error(d, df->pos, "a %s definition without a name", kinds[df->kind]);
			continue;
		}
		if (df->kind == EXP_DEF_METHOD)
			builtin = builtin_method(df->name);
		else if (df->kind == EXP_DEF_UTILITY)
			builtin = quiet_utility(df->name);
		else
			builtin = quiet_metric(df->name);
		if (builtin >= 0 || !strcasecmp(df->name, "all"))
			diag_error(d, df->pos, "%s '%s' is built in; give the definition another name",
				   kinds[df->kind], df->name);
		for (j = 0; j < i; j++)
			if (e->defs[j].kind == df->kind && e->defs[j].name && !strcmp(e->defs[j].name, df->name)) {
				diag_error(d, df->pos, "%s '%s' is defined twice", kinds[df->kind], df->name);
				break;
			}
		if (!df->lua || !*df->lua)
			diag_error(d, df->pos, "%s '%s' has no code", kinds[df->kind], df->name);
		else
			compile_def(df, e->file, d);
	}
}

static void check_outputs(struct experiment *e, struct diag *d)
{
	struct src_pos nowhere = { e->file, 0, 0 };
	size_t i;

	if (!e->device || !experiment_valid_device(e->device))
		diag_error(d, pos_or(e->device_pos, nowhere), "bad device '%s': use cpu, cuda or cuda:N",
			   e->device ? e->device : "");
	if (e->batch == EXP_BATCH_UNSET)
		e->batch = e->device && !strncmp(e->device, "cuda", 4) ? EXP_BATCH_AUTO : 8;
	if (e->batch < 0)
		diag_error(d, nowhere, "bad batch %d: images per batch must be > 0", e->batch);
	if (!experiment_valid_precision(e->precision))
		unknown_value(d, nowhere, "precision", e->precision ? e->precision : "", model_precision_names,
			      TS_PRECISION_NR);
	else if (!strcmp(e->precision, "fp16") && e->device && strncmp(e->device, "cuda", 4))
		diag_error(d, pos_or(e->precision_pos, nowhere),
			   "precision fp16 needs a CUDA device; on '%s' use bf16", e->device);
	else if (!strcmp(e->precision, "tf32") && e->device && strncmp(e->device, "cuda", 4))
		diag_error(d, pos_or(e->precision_pos, nowhere),
			   "precision tf32 needs a CUDA device; on '%s' use fp32 or bf16", e->device);
	for (i = 0; i < e->nr_table_formats; i++)
		if (!one_of(e->table_formats[i], default_formats, ARRAY_SIZE(default_formats)))
			unknown_value(d, nowhere, "table format", e->table_formats[i], default_formats,
				      ARRAY_SIZE(default_formats));
	for (i = 0; i < e->nr_figures; i++) {
		struct exp_figure *f = &e->figures[i];
		if (!f->image || !*f->image)
			diag_error(d, f->pos, "figure %zu has no 'image'", i + 1);
		if (!f->by)
			f->by = xstrdup("method");
		else if (!one_of(f->by, figure_by, ARRAY_SIZE(figure_by)))
			unknown_value(d, f->pos, "figure 'by'", f->by, figure_by, ARRAY_SIZE(figure_by));
	}
}

/*
 * Names go into log lines, file names, the results database and the report: a control character (a
 * newline, an escape sequence) would forge or garble their lines, so no name may hold one. Returns 1 if
 * name has one, after an error at pos that shows the name up to it.
 */
static int control_in_name(struct diag *d, struct src_pos pos, const char *what, const char *name)
{
	const char *p;

	if (!name)
		return 0;
	for (p = name; *p && (unsigned char)*p >= 0x20 && *p != 0x7f; p++)
		;
	if (!*p)
		return 0;
	diag_error(d, pos, "bad %s name '%.*s...': it holds a control character (byte 0x%02x), which names "
			   "cannot",
		   what, (int)(p - name), name, (unsigned)(unsigned char)*p);
	return 1;
}

static void check_control_names(const struct experiment *e, struct diag *d, struct src_pos nowhere)
{
	size_t i, j;

	for (i = 0; i < e->nr_models; i++) {
		const struct exp_model *m = &e->models[i];
		control_in_name(d, pos_or(m->name_pos, m->pos), "model", m->name);
		for (j = 0; j < m->nr_layers; j++)
			control_in_name(d, pos_or(m->layers[j].pos, m->pos), "layer", m->layers[j].name);
	}
	/* methods, utilities and metrics must be built-in or defined names, and their errors escape them */
	for (i = 0; i < e->nr_targets; i++)
		control_in_name(d, pos_or(e->targets[i].pos, nowhere), "target", e->targets[i].name);
	for (i = 0; i < e->nr_defs; i++)
		control_in_name(d, pos_or(e->defs[i].pos, nowhere), "definition", e->defs[i].name);
}

/* statistics.alpha: a number strictly between 0 and 1 (a level of the test and of the intervals). */
static void check_statistics(struct experiment *e, struct diag *d)
{
	struct exp_statistics *st = &e->statistics;
	char *end = NULL;
	double a;

	if (!st->on)
		return;
	a = st->alpha ? strtod(st->alpha, &end) : NAN;
	if (!st->alpha || end == st->alpha || *end || !(a > 0 && a < 1))
		diag_error(
			d, pos_or(st->alpha_pos, st->pos),
			"bad 'alpha' '%s' in 'statistics': expected a number between 0 and 1, such as 0.05",
			st->alpha ? st->alpha : "null");
	else
		st->alpha_value = a;
}

int experiment_validate(struct experiment *e, struct diag *d)
{
	struct src_pos nowhere = { NULL, 0, 0 };
	int before = d->errors;

	if (!e->file)
		e->file = xstrdup("spec");
	nowhere.file = e->file;
	if (!e->name)
		e->name = stem(e->file);
	/* the name becomes the default output folder, and names files: it must stay one path component */
	check_control_names(e, d, nowhere);
	if (control_in_name(d, pos_or(e->name_pos, nowhere), "experiment", e->name))
		; /* said */
	else if (!*e->name)
		diag_error(d, pos_or(e->name_pos, nowhere), "empty experiment name");
	else if (strchr(e->name, '/') || !strcmp(e->name, ".") || !strcmp(e->name, ".."))
		diag_error(d, pos_or(e->name_pos, nowhere),
			   "bad experiment name '%s': it names a folder and files, so it cannot contain '/' "
			   "or be '.' or '..'",
			   e->name);
	if (e->output && !*e->output)
		diag_error(d, pos_or(e->output_pos, nowhere),
			   "empty output folder: give a path, or leave 'output' out for out/<name> beside "
			   "the spec");
	if (!e->output) {
		struct strbuf sb = STRBUF_INIT;
		strbuf_addf(&sb, "out/%s", e->name);
		e->output = strbuf_detach(&sb, NULL);
	}
	{
		char *r = resolve_path(e->file, e->output);
		free(e->output);
		e->output = r;
	}
	check_defs(e, d);
	check_models(e, d);
	check_model_twins(e, d);
	check_data(e, d);
	check_names(e, d, &kind_method, &e->methods, &e->nr_methods);
	check_names(e, d, &kind_utility, &e->utilities, &e->nr_utilities);
	check_names(e, d, &kind_metric, &e->metrics, &e->nr_metrics);
	check_targets(e, d);
	check_excludes(e, d);
	check_zip(e, d);
	check_outputs(e, d);
	check_statistics(e, d);
	return d->errors > before ? -1 : 0;
}

/* ---------------------------------------------------------------------------------------------------
 * The canonical text. One item per line, "key value..." separated by single spaces; nested items are
 * indented by two spaces under their owner. A string is written bare when it is non-empty, does not
 * start with '-' or '"' and has only letters, digits and "_.+/:-@,=%"; otherwise in double quotes with
 * C escapes (\" \\ \n \t \xHH). "-" stands for an absent (NULL) value. Numbers are decimal; floats %.9g
 * (enough to read back the same float). Order:
 *
 *   camlab-experiment 1
 *   name N / output PATH / device D / batch B|auto / precision P / quirk Q / channels_last 1 / seed S
 *                                 precision, quirk and channels_last only when not at their defaults
 *                                 (fp32, none, 0), so that specs without them keep their text
 *   model NAME                    one per model, in the order written
 *     file PATH / input_size I / resize R / mean M M M | mean - / std ... / classes PATH|-
 *     layer NAME PATH LAYOUT      one per layer, in the IR's order (front ends sort mappings by name)
 *   data / path P / labels P|- / limit L / shuffle 0|1 / seed S
 *   methods N... / utilities N... / targets N... / metrics N...      in the order written, "all" expanded
 *   exclude model=V layer=V method=V utility=V target=V             V is "-" for any; in written order
 *   zip DIM...                    in the order model layer method utility target; "zip -" when none
 *   define KIND NAME              sorted by kind (method, utility, metric) then name; without the code,
 *                                 which the two front ends keep in different forms (YAML's inline code,
 *                                 the Lua function's own source)
 *   tables 0|1 / plots 0|1 / formats F... / paper T|-
 *   statistics bootstrap B alpha A seed S test T      only when the spec has 'statistics'; A is the
 *                                 shortest decimal that reads back as the same double
 *   figure IMAGE BY               in the order written
 *
 * Paths are absolute and normalised. Positions are not part of the text.
 */

static void put_str(struct strbuf *sb, const char *s)
{
	const char *p;
	int bare;

	if (!s) {
		strbuf_addch(sb, '-');
		return;
	}
	bare = *s && *s != '-' && *s != '"';
	for (p = s; bare && *p; p++)
		bare = isalnum((unsigned char)*p) || strchr("_.+/:-@,=%", *p);
	if (bare) {
		strbuf_addstr(sb, s);
		return;
	}
	strbuf_addch(sb, '"');
	for (p = s; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (c == '"' || c == '\\')
			strbuf_addf(sb, "\\%c", c);
		else if (c == '\n')
			strbuf_addstr(sb, "\\n");
		else if (c == '\t')
			strbuf_addstr(sb, "\\t");
		else if (c < 0x20 || c >= 0x7f)
			strbuf_addf(sb, "\\x%02x", c);
		else
			strbuf_addch(sb, (char)c);
	}
	strbuf_addch(sb, '"');
}

static void put_kv(struct strbuf *sb, const char *indent, const char *key, const char *value)
{
	strbuf_addf(sb, "%s%s ", indent, key);
	put_str(sb, value);
	strbuf_addch(sb, '\n');
}

static void put_names(struct strbuf *sb, const char *key, const struct exp_name *list, size_t n)
{
	size_t i;
	strbuf_addstr(sb, key);
	for (i = 0; i < n; i++) {
		strbuf_addch(sb, ' ');
		put_str(sb, list[i].name);
	}
	strbuf_addch(sb, '\n');
}

static void put_floats(struct strbuf *sb, const char *key, int have, const float *v)
{
	if (have)
		strbuf_addf(sb, "  %s %.9g %.9g %.9g\n", key, (double)v[0], (double)v[1], (double)v[2]);
	else
		strbuf_addf(sb, "  %s -\n", key);
}

static int cmp_def(const void *a, const void *b)
{
	const struct exp_def *x = *(const struct exp_def *const *)a, *y = *(const struct exp_def *const *)b;
	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	return strcmp(x->name ? x->name : "", y->name ? y->name : "");
}

char *experiment_canonical(const struct experiment *e)
{
	static const char *const def_kinds[] = { "method", "utility", "metric" };
	struct strbuf sb = STRBUF_INIT;
	const struct exp_def **defs;
	size_t i, j;
	int dim;

	strbuf_addstr(&sb, "camlab-experiment 1\n");
	put_kv(&sb, "", "name", e->name);
	put_kv(&sb, "", "output", e->output);
	put_kv(&sb, "", "device", e->device);
	if (e->batch == EXP_BATCH_AUTO)
		strbuf_addstr(&sb, "batch auto\n");
	else
		strbuf_addf(&sb, "batch %d\n", e->batch);
	if (e->precision && strcmp(e->precision, "fp32"))
		put_kv(&sb, "", "precision", e->precision);
	if (e->quirk)
		put_kv(&sb, "", "quirk", e->quirk);
	if (e->channels_last)
		strbuf_addstr(&sb, "channels_last 1\n");
	strbuf_addf(&sb, "seed %llu\n", (unsigned long long)e->seed);
	for (i = 0; i < e->nr_models; i++) {
		const struct exp_model *m = &e->models[i];
		put_kv(&sb, "", "model", m->name);
		put_kv(&sb, "  ", "file", m->file);
		strbuf_addf(&sb, "  input_size %d\n  resize %d\n", m->input_size, m->resize);
		put_floats(&sb, "mean", m->have_mean, m->mean);
		put_floats(&sb, "std", m->have_std, m->std);
		put_kv(&sb, "  ", "classes", m->classes);
		for (j = 0; j < m->nr_layers; j++) {
			strbuf_addstr(&sb, "  layer ");
			put_str(&sb, m->layers[j].name);
			strbuf_addch(&sb, ' ');
			put_str(&sb, m->layers[j].path);
			strbuf_addch(&sb, ' ');
			put_str(&sb, m->layers[j].layout);
			/* only when given, so that the canonical text of every earlier spec stays the same */
			if (m->layers[j].prefix_tokens_pos.line)
				strbuf_addf(&sb, " prefix_tokens %d", m->layers[j].prefix_tokens);
			if (m->layers[j].grid_h > 0)
				strbuf_addf(&sb, " grid %dx%d", m->layers[j].grid_h, m->layers[j].grid_w);
			strbuf_addch(&sb, '\n');
		}
	}
	strbuf_addstr(&sb, "data\n");
	put_kv(&sb, "  ", "path", e->data.path);
	put_kv(&sb, "  ", "labels", e->data.labels);
	strbuf_addf(&sb, "  limit %zu\n  shuffle %d\n  seed %llu\n", e->data.limit, e->data.shuffle ? 1 : 0,
		    (unsigned long long)e->data.seed);
	put_names(&sb, "methods", e->methods, e->nr_methods);
	put_names(&sb, "utilities", e->utilities, e->nr_utilities);
	put_names(&sb, "targets", e->targets, e->nr_targets);
	put_names(&sb, "metrics", e->metrics, e->nr_metrics);
	for (i = 0; i < e->nr_excludes; i++) {
		const struct exp_exclude *x = &e->excludes[i];
		const char *v[] = { x->model, x->layer, x->method, x->utility, x->target };
		strbuf_addstr(&sb, "exclude");
		for (dim = 0; dim < EXP_NR_DIMS; dim++) {
			strbuf_addf(&sb, " %s=", dim_names[dim]);
			put_str(&sb, v[dim]);
		}
		strbuf_addch(&sb, '\n');
	}
	strbuf_addstr(&sb, "zip");
	for (dim = 0; dim < EXP_NR_DIMS; dim++)
		if (e->zip & (1u << dim))
			strbuf_addf(&sb, " %s", dim_names[dim]);
	strbuf_addstr(&sb, e->zip ? "\n" : " -\n");
	defs = xcalloc(e->nr_defs + 1, sizeof(*defs));
	for (i = 0; i < e->nr_defs; i++)
		defs[i] = &e->defs[i];
	if (e->nr_defs > 1) /* qsort with a NULL base is undefined even for no elements */
		qsort(defs, e->nr_defs, sizeof(*defs), cmp_def);
	for (i = 0; i < e->nr_defs; i++) {
		strbuf_addf(&sb, "define %s ", def_kinds[defs[i]->kind]);
		put_str(&sb, defs[i]->name);
		strbuf_addch(&sb, '\n');
	}
	free(defs);
	strbuf_addf(&sb, "tables %d\nplots %d\nformats", e->tables ? 1 : 0, e->plots ? 1 : 0);
	for (i = 0; i < e->nr_table_formats; i++) {
		strbuf_addch(&sb, ' ');
		put_str(&sb, e->table_formats[i]);
	}
	strbuf_addch(&sb, '\n');
	put_kv(&sb, "", "paper", e->paper_table);
	if (e->statistics.on) {
		char alpha[32];
		int prec = 0;
		/* the shortest decimal that reads back as the same double: "0.05", not 0.050000000000000003 */
		do
			snprintf(alpha, sizeof(alpha), "%.*g", ++prec, e->statistics.alpha_value);
		while (prec < 17 && strtod(alpha, NULL) != e->statistics.alpha_value);
		strbuf_addf(&sb, "statistics bootstrap %zu alpha %s seed %llu test ", e->statistics.bootstrap,
			    alpha, (unsigned long long)e->statistics.seed);
		put_str(&sb, e->statistics.test);
		strbuf_addch(&sb, '\n');
	}
	for (i = 0; i < e->nr_figures; i++) {
		strbuf_addstr(&sb, "figure ");
		put_str(&sb, e->figures[i].image);
		strbuf_addch(&sb, ' ');
		put_str(&sb, e->figures[i].by);
		strbuf_addch(&sb, '\n');
	}
	return strbuf_detach(&sb, NULL);
}

int experiment_zip_dims(const struct exp_name *names, size_t n, struct diag *d, unsigned *zip)
{
	/* singular and plural, in exp_dim order: index % EXP_NR_DIMS is the dimension */
	static const char *const dims[] = { "model", "layer", "method", "utility", "target",
					    "models", "layers", "methods", "utilities", "targets" };
	size_t i, j;
	int ret = 0;

	for (i = 0; i < n; i++) {
		const char *near[1];
		if (!names[i].name)
			continue;
		for (j = 0; j < ARRAY_SIZE(dims); j++)
			if (!strcmp(names[i].name, dims[j]))
				break;
		if (j < ARRAY_SIZE(dims)) {
			unsigned bit = 1u << (j % EXP_NR_DIMS);
			if (*zip & bit)
				diag_warning(d, names[i].pos, "duplicate dimension '%s' in 'zip'", names[i].name);
			*zip |= bit;
		} else if (suggest_nearest(names[i].name, dims, EXP_NR_DIMS, near, 1)) {
			diag_error(d, names[i].pos, "unknown dimension '%s' in 'zip'; did you mean '%s'?",
				   names[i].name, near[0]);
			ret = -1;
		} else {
			diag_error(d, names[i].pos,
				   "unknown dimension '%s' in 'zip': use model, layer, method, utility or target",
				   names[i].name);
			ret = -1;
		}
	}
	return ret;
}
