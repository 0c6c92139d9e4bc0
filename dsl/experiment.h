/*
 * experiment.h - the one validated form of an experiment, whichever front end (YAML or Lua) read it.
 *
 * The front ends fill a struct experiment; experiment_validate() checks names against camlab's known
 * methods, utilities, metrics and targets and reports every problem with the position of the key that
 * caused it. interp/ expands the grid into runs and executes them; nothing below dsl/ sees the spec text.
 *
 * Ownership: every string and array here is owned by the experiment and freed by experiment_release().
 * Positions point into the experiment's own copy of the file name.
 */
#ifndef DSL_EXPERIMENT_H
#define DSL_EXPERIMENT_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "dsl/diag.h"
#include "dsl/override.h"

struct strbuf;

struct exp_layer {
	char *name;	/* as the experiment calls it: "pre_gap", "last_conv", or the path itself */
	/*
	 * module path as named_modules() prints it; a fused layer's paths joined by ',' (a list in the
	 * spec, or the joined string: cam/multilayer.h), which no module path contains
	 */
	char *path;
	char *layout;	/* "auto" (default), "bchw", "bhwc", "bnc" */
	struct src_pos pos;
	/* bnc: tokens before the grid (-1 once validated when not given: detect) */
	int prefix_tokens;
	struct src_pos prefix_tokens_pos; /* line 0: not given */
	/* bnc: the token grid as written ([h, w], "h, w" or "hxw"), and once validated as numbers (0: infer) */
	struct exp_name *grid;
	size_t nr_grid;
	struct src_pos grid_pos;
	int grid_h, grid_w;
};

struct exp_model {
	char *name;	/* short name used in tables: "resnet50" */
	char *file;	/* TorchScript file, resolved against the spec's folder */
	int input_size; /* crop; 0: images as they are; -1: from the model's sidecar */
	int resize;	/* shorter side; 0: none; -1: input_size * 256 / 224, or the sidecar's */
	int have_mean, have_std;
	float mean[3], std[3];
	char *classes;	/* class names file, or NULL */
	struct exp_layer *layers;
	size_t nr_layers;
	struct src_pos pos; /* where 'file' was written (or the model's key or item) */
	struct src_pos name_pos, std_pos, classes_pos; /* where each was written; line 0 if not */
};

struct exp_data {
	char *path;	/* dataset: class folders, flat folder, list file or IDX file */
	char *labels;	/* CSV or IDX labels, or NULL */
	size_t limit;	/* first N images (after shuffling with seed, if shuffle); 0: all */
	int shuffle;	/* pick a random subset of limit images with seed */
	uint64_t seed;
	struct src_pos pos;
	struct src_pos labels_pos; /* line 0 if not written */
};

/*
 * One value of a grid dimension, with where it was written. A front end keeps an item it could not read
 * (a list where a name belongs) as a NULL name, already reported: the list keeps its length for zip, and
 * its other names are still checked.
 */
/*
 * A parameter of a method, utility or metric ({kpcacam: {gamma: 0.5}}, cam/params.h): its value as written
 * (a list as its items joined by ','), where the value (pos) and its key (key_pos) were written. Once
 * experiment_validate() returned 0, an entry keeps only its parameters that differ from their defaults,
 * in cam/params.h's table order, each value in its canonical text.
 */
struct exp_param {
	char *key;
	char *value;
	struct src_pos pos, key_pos;
};

struct exp_name {
	/*
	 * As written; once validated, the canonical name, followed for a built-in with parameters that
	 * differ from their defaults by them as "(key=value, key=[a,b])": "kpcacam(gamma=0.5)", the label a
	 * run, its key, tables and the report use, so that two variants of a method are two entries. Code
	 * that asks which built-in an entry is reads id, not the name.
	 */
	char *name;
	struct src_pos pos;
	struct exp_param *params; /* NULL when none */
	size_t nr_params;
	/*
	 * Methods, utilities and metrics, once experiment_validate() returned 0: the built-in's enum value
	 * (enum cam_method, enum utility_kind, the metric's index in metric_names), or EXP_ID_DEF(i) for the
	 * user definition e->defs[i]. EXP_ID_NONE before validation and for targets.
	 */
	int id;
};
#define EXP_ID_NONE INT_MIN
#define EXP_ID_DEF(i) (-1 - (int)(i))
#define EXP_ID_DEF_INDEX(id) ((size_t)(-1 - (id)))

/*
 * A partial assignment of the grid's dimensions (NULL: any); a run that matches every non-NULL field is
 * left out of the grid.
 */
struct exp_exclude {
	char *model, *layer, *method, *utility, *target;
	struct src_pos pos;
};

enum exp_dim { EXP_MODEL, EXP_LAYER, EXP_METHOD, EXP_UTILITY, EXP_TARGET, EXP_NR_DIMS };

/* A user definition in Lua (a method, utility or metric), kept as source for the runner's Lua state. */
enum exp_def_kind { EXP_DEF_METHOD, EXP_DEF_UTILITY, EXP_DEF_METRIC };
struct exp_def {
	enum exp_def_kind kind;
	char *name;
	char *lua;	/* the chunk that defines it (for YAML: inline code; for Lua: the spec itself) */
	struct src_pos pos;
};

/*
 * statistics: the report's uncertainty (reports/stats.h): bootstrap intervals of every mean and the
 * paired test behind the bold marks. Off unless the spec has the key.
 */
struct exp_statistics {
	int on;
	size_t bootstrap; /* resamples (default 1000) */
	char *alpha;	  /* as written (default "0.05"); alpha_value once validated: 0 < alpha < 1 */
	double alpha_value;
	uint64_t seed; /* the bootstrap's seed (default 0) */
	char *test;    /* "wilcoxon" (default) or "bootstrap" */
	struct src_pos pos, alpha_pos;
};

struct exp_figure {
	char *image;	/* an image of the dataset (path as listed, or its index as a decimal string) */
	char *by;	/* "method", "utility" or "target": what goes side by side */
	struct src_pos pos;
};

/*
 * ablations[]: a table of differences to declare (reports/ablation.h). It shapes the report only: runs
 * and their keys do not change. over is a grid dimension (model, layer, utility, target, precision) or
 * a method's parameter, "method.NAME.PARAM"; baseline (NULL: none) one of its values in the grid.
 */
struct exp_ablation {
	char *over, *baseline;
	struct src_pos pos, over_pos, baseline_pos;
	/*
	 * Over a method's parameter, once validated: each entry of methods that is the method, in the order
	 * written, with its variant (the entry's label less that parameter: "kpcacam", "kpcacam(kernel=poly)")
	 * and its value of the parameter (canonical; the default's text, or "default" where the default is
	 * computed, for an entry that leaves it out). The report reads them from the canonical text, since
	 * the results know a run's method by its label alone.
	 */
	struct exp_ablation_variant {
		char *label, *variant, *value;
	} *variants;
	size_t nr_variants;
};

struct experiment {
	char *file;		/* the spec's path; positions point at this string */
	char *text;		/* experiment_load: the spec's bytes as read and parsed (NUL-terminated) */
	size_t text_len;
	char *name;
	char *output;		/* output folder, resolved against the spec's folder */
	struct src_pos name_pos, output_pos; /* where each was written; line 0 if not */
	struct exp_model *models;
	size_t nr_models;
	struct exp_data data;
	struct exp_name *methods;	/* canonical lower-case names, or user definitions' names */
	size_t nr_methods;
	struct exp_name *utilities;
	size_t nr_utilities;
	struct exp_name *targets;	/* "predicted", "true", "least", "top3", "243", a class name */
	size_t nr_targets;
	struct exp_name *metrics;
	size_t nr_metrics;
	unsigned metric_mask;		/* the built-in metrics (1 << id), set by experiment_validate() */
	struct exp_exclude *excludes;
	size_t nr_excludes;
	unsigned zip;			/* dimensions (1 << exp_dim) iterated together, not as a product */
	/*
	 * Whether the methods named "all", and where, once validated: "all" leaves cam out where it is
	 * undefined, as explain's --method all (dsl/validate.c at the layers declared as tokens,
	 * interp/preflight.h's preflight_all_cam at those the model shows).
	 */
	int methods_all;
	struct src_pos methods_all_pos;
	struct exp_def *defs;
	size_t nr_defs;
	char *device;			/* "cpu" (default), "cuda", "cuda:N" */
	int batch;			/* images per batch; EXP_BATCH_AUTO: sized to the device's memory */
	char *precision;		/* "fp32" (default, strict), "tf32", "bf16", "fp16" (autocast) */
	struct src_pos device_pos, precision_pos; /* where each was written; line 0 if not */
	/*
	 * A quirk of the paper's code to reproduce, on request only (SCIENCE.md): NULL (the faithful
	 * default), "shapley-live-activation" or "shapley-prefix-tokens" (cam/methods.h, cam_quirk_passes).
	 */
	char *quirk;
	int channels_last;		/* weights and images channels-last (default 0) */
	uint64_t seed;			/* RandomCAM's seed (default 0) */
	/* outputs */
	int tables, plots;		/* write them (default 1) */
	char **table_formats;		/* "markdown", "latex", "csv" (default all three) */
	size_t nr_table_formats;
	char *paper_table; /* e.g. "table1/resnet50/layer4.2.conv3" or "auto": the paper's numbers beside */
	struct src_pos paper_pos; /* where it was written; line 0 if not */
	struct exp_figure *figures;
	size_t nr_figures;
	struct exp_statistics statistics;
	/* ablations_set 0: the key is absent, and the report makes the utility ablation it always made */
	struct exp_ablation *ablations;
	size_t nr_ablations;
	int ablations_set;
	struct src_pos ablations_pos;
	/*
	 * What the spec was made of (dsl/override.h): sources[0] is its file, then the files it includes and
	 * the overrides, in the order read (owned; the front ends add them). overrides are the command line's
	 * values to put into the spec while it is read (borrowed; set them before experiment_load).
	 */
	struct exp_source *sources;
	size_t nr_sources, alloc_sources;
	const struct exp_override *overrides;
	size_t nr_overrides;
};

/*
 * batch: auto. Unset, the batch is 8 on a CPU and auto on a CUDA device: the runner measures the first
 * batch's memory and sizes the rest to the device's free memory (an out-of-memory error still halves it).
 */
#define EXP_BATCH_AUTO 0
#define EXP_BATCH_UNSET (-1)

/* Is s a precision camlab accepts (model_precision_names: fp32, tf32, bf16, fp16)? */
int experiment_valid_precision(const char *s);

/* Fill with the paper's defaults: predicted class, ReST, the six metrics, cpu, fp32, batch unset. */
void experiment_init(struct experiment *e);
void experiment_release(struct experiment *e);

/*
 * Read a spec, choosing the front end by extension (.yaml/.yml or .lua) (load.c). Errors go to d, each with
 * file:line:col; returns 0 when the spec is valid, -1 otherwise (d then holds at least one error).
 * allow_unsafe lets a Lua spec use io, os and require.
 */
int experiment_load(struct experiment *e, const char *file, struct diag *d, int allow_unsafe);

/*
 * Add a source (override.h) to e, copying name and text; its index. A file's hash is that of its text
 * (len bytes; text NULL for an override, whose own text is given as what).
 */
int experiment_add_source(struct experiment *e, const char *name, const char *what, const void *text,
			  size_t len, int parent, struct src_pos at);

/*
 * What the database keeps as a spec's text: the file as written, and, when it includes files or was
 * overridden, a trailer of comments naming each included file with its hash and each override, so
 * that a reader sees what ran (the canonical text beside it is the merged whole).
 */
void experiment_sources_text(const struct experiment *e, const char *text, struct strbuf *out);

/* Check names and values, adding every problem found to d; 0 if none. */
int experiment_validate(struct experiment *e, struct diag *d);

/* Is s a device name camlab accepts (cpu, cuda, cuda:N)? */
int experiment_valid_device(const char *s);

/* The IR's vocabulary, for validation, the canonical text and the front ends' checks. */
extern const char *const exp_table_formats[3]; /* outputs.tables.formats, the default's order */
extern const char *const exp_layouts[4];       /* a layer's layout: auto, bchw, bhwc, bnc */
extern const char *const exp_figure_by[3];     /* a figure's 'by': method, utility, target */
extern const char *const exp_def_kind_names[3]; /* exp_def_kind: method, utility, metric */
extern const char *const exp_dim_names[EXP_NR_DIMS], *const exp_dim_plurals[EXP_NR_DIMS];

/* Is s one of names[0..n)? */
int exp_one_of(const char *s, const char *const *names, size_t n);

/* Free a list of names and the array. */
void exp_names_free(struct exp_name *list, size_t nr);
/* Free what one entry holds (its name and parameters), leaving it empty. */
void exp_name_release(struct exp_name *n);

/*
 * The canonical text of an experiment (every field, defaults filled, in a fixed order, except precision,
 * quirk and channels_last, printed only when set): two specs that mean the same thing print the same
 * text, whichever front end read them.
 */
char *experiment_canonical(const struct experiment *e);

#endif
