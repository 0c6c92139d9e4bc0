/*
 * keys.h - the keys of the experiment language, one list for both front ends (yaml.c, lua.c): each
 * section's key names, singular aliases included, with the ids the front ends switch on. A key added
 * here is known to both; each front end then reads its value. Only the front ends include it.
 */
#ifndef DSL_KEYS_H
#define DSL_KEYS_H

#include "dsl/experiment.h"

struct exp_key {
	const char *name;
	int id;
};

/* a layer: models[].layers.NAME */
enum { L_PATH, L_LAYOUT, L_NAME };
/* a model */
enum { M_NAME, M_FILE, M_INPUT_SIZE, M_RESIZE, M_MEAN, M_STD, M_CLASSES, M_LAYERS };
/* data */
enum { D_PATH, D_LABELS, D_LIMIT, D_SHUFFLE, D_SEED };
/* grid (grid.exclude[] takes the dimension names, exp_dim) */
enum { G_EXCLUDE, G_ZIP };
/* outputs.figures[] */
enum { F_IMAGE, F_BY };
/* outputs */
enum { O_TABLES, O_PLOTS, O_FORMATS, O_PAPER, O_FIGURES };
/* the top level (define takes exp_def_kind) */
enum {
	T_NAME,
	T_OUTPUT,
	T_DEVICE,
	T_BATCH,
	T_PRECISION,
	T_CHANNELS_LAST,
	T_SEED,
	T_MODELS,
	T_DATA,
	T_METHODS,
	T_UTILITIES,
	T_TARGETS,
	T_METRICS,
	T_GRID,
	T_DEFINE,
	T_OUTPUTS
};

extern const struct exp_key exp_layer_keys[3];
extern const struct exp_key exp_model_keys[9];
extern const struct exp_key exp_data_keys[5];
extern const struct exp_key exp_exclude_keys[5];
extern const struct exp_key exp_grid_keys[2];
extern const struct exp_key exp_define_keys[6];
extern const struct exp_key exp_figure_keys[2];
extern const struct exp_key exp_output_keys[6];
extern const struct exp_key exp_top_keys[21];

#endif
