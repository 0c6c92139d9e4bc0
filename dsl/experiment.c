/*
 * experiment.c - the experiment IR: its vocabulary, its defaults and its release (see experiment.h).
 * Everything else in dsl/ sits above this file: the value checks the front ends share (values.c), the
 * front ends (yaml.c, lua.c), validation (validate.c, names.c), the canonical text (canonical.c) and
 * loading by extension (load.c).
 */
#include "dsl/experiment.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "cam/metrics.h"
#include "cam/model.h"
#include "lib/xalloc.h"

/* The methods of the paper's Table 1: every built-in but CAM (needs a GAP head), ScoreCAM, AblationCAM. */
static const char *const default_methods[] = {
	"gradcam",    "hirescam",   "gradcam-e",    "layercam",	    "xgradcam",
	"gradcam++", "randomcam", "shapleycam", "shapleycam-h", "shapleycam-e",
};
const char *const exp_table_formats[3] = { "markdown", "latex", "csv" };
const char *const exp_layouts[4] = { "auto", "bchw", "bhwc", "bnc" };
const char *const exp_figure_by[3] = { "method", "utility", "target" };
const char *const exp_def_kind_names[3] = { "method", "utility", "metric" };
const char *const exp_dim_names[EXP_NR_DIMS] = { "model", "layer", "method", "utility", "target" };
const char *const exp_dim_plurals[EXP_NR_DIMS] = { "models", "layers", "methods", "utilities", "targets" };

int exp_one_of(const char *s, const char *const *names, size_t n)
{
	size_t i;
	for (i = 0; i < n; i++)
		if (!strcmp(s, names[i]))
			return 1;
	return 0;
}

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

int experiment_valid_precision(const char *s)
{
	return s && exp_one_of(s, model_precision_names, TS_PRECISION_NR);
}

static void set_names(struct exp_name **list, size_t *nr, const char *const *names, size_t n)
{
	size_t i;
	*list = xcalloc(n ? n : 1, sizeof(**list));
	for (i = 0; i < n; i++) {
		(*list)[i].name = xstrdup(names[i]);
		(*list)[i].id = EXP_ID_NONE;
	}
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
	e->table_formats = xcalloc(ARRAY_SIZE(exp_table_formats), sizeof(char *));
	for (i = 0; i < ARRAY_SIZE(exp_table_formats); i++)
		e->table_formats[i] = xstrdup(exp_table_formats[i]);
	e->nr_table_formats = ARRAY_SIZE(exp_table_formats);
	e->statistics.bootstrap = 1000;
	e->statistics.alpha = xstrdup("0.05");
	e->statistics.alpha_value = 0.05;
	e->statistics.test = xstrdup("wilcoxon");
}

void exp_name_release(struct exp_name *n)
{
	size_t i;

	for (i = 0; i < n->nr_params; i++) {
		free(n->params[i].key);
		free(n->params[i].value);
	}
	free(n->params);
	free(n->name);
	n->name = NULL;
	n->params = NULL;
	n->nr_params = 0;
}

void exp_names_free(struct exp_name *list, size_t nr)
{
	size_t i;
	for (i = 0; i < nr; i++)
		exp_name_release(&list[i]);
	free(list);
}

void experiment_release(struct experiment *e)
{
	size_t i, j;

	free(e->file);
	free(e->text);
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
			exp_names_free(m->layers[j].grid, m->layers[j].nr_grid);
		}
		free(m->layers);
	}
	free(e->models);
	free(e->data.path);
	free(e->data.labels);
	exp_names_free(e->methods, e->nr_methods);
	exp_names_free(e->utilities, e->nr_utilities);
	exp_names_free(e->targets, e->nr_targets);
	exp_names_free(e->metrics, e->nr_metrics);
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
	for (i = 0; i < e->nr_ablations; i++) {
		struct exp_ablation *a = &e->ablations[i];
		free(a->over);
		free(a->baseline);
		for (j = 0; j < a->nr_variants; j++) {
			free(a->variants[j].label);
			free(a->variants[j].variant);
			free(a->variants[j].value);
		}
		free(a->variants);
	}
	free(e->ablations);
	for (i = 0; i < e->nr_sources; i++) {
		free(e->sources[i].name);
		free(e->sources[i].text);
	}
	free(e->sources);
	memset(e, 0, sizeof(*e));
}
