/*
 * keys.c - the experiment language's key tables (see keys.h).
 */
#include "dsl/keys.h"

const struct exp_key exp_layer_keys[3] = { { "path", L_PATH }, { "layout", L_LAYOUT }, { "name", L_NAME } };

const struct exp_key exp_model_keys[9] = {
	{ "name", M_NAME },	  { "file", M_FILE },	  { "input_size", M_INPUT_SIZE },
	{ "resize", M_RESIZE },	  { "mean", M_MEAN },	  { "std", M_STD },
	{ "classes", M_CLASSES }, { "layers", M_LAYERS }, { "layer", M_LAYERS },
};

const struct exp_key exp_data_keys[5] = {
	{ "path", D_PATH },	  { "labels", D_LABELS }, { "limit", D_LIMIT },
	{ "shuffle", D_SHUFFLE }, { "seed", D_SEED },
};

const struct exp_key exp_exclude_keys[5] = {
	{ "model", EXP_MODEL },	    { "layer", EXP_LAYER },   { "method", EXP_METHOD },
	{ "utility", EXP_UTILITY }, { "target", EXP_TARGET },
};

const struct exp_key exp_grid_keys[2] = { { "exclude", G_EXCLUDE }, { "zip", G_ZIP } };

const struct exp_key exp_define_keys[6] = {
	{ "methods", EXP_DEF_METHOD }, { "utilities", EXP_DEF_UTILITY }, { "metrics", EXP_DEF_METRIC },
	{ "method", EXP_DEF_METHOD },  { "utility", EXP_DEF_UTILITY },	 { "metric", EXP_DEF_METRIC },
};

const struct exp_key exp_figure_keys[2] = { { "image", F_IMAGE }, { "by", F_BY } };

const struct exp_key exp_output_keys[6] = {
	{ "tables", O_TABLES }, { "plots", O_PLOTS },	  { "formats", O_FORMATS },
	{ "paper", O_PAPER },	{ "figures", O_FIGURES }, { "figure", O_FIGURES },
};

const struct exp_key exp_top_keys[21] = {
	{ "name", T_NAME },	  { "output", T_OUTPUT },	{ "device", T_DEVICE },
	{ "batch", T_BATCH },	  { "seed", T_SEED },		{ "models", T_MODELS },
	{ "data", T_DATA },	  { "methods", T_METHODS },	{ "utilities", T_UTILITIES },
	{ "targets", T_TARGETS }, { "metrics", T_METRICS },	{ "grid", T_GRID },
	{ "define", T_DEFINE },	  { "outputs", T_OUTPUTS },	{ "model", T_MODELS },
	{ "method", T_METHODS },  { "utility", T_UTILITIES },	{ "target", T_TARGETS },
	{ "metric", T_METRICS },  { "precision", T_PRECISION }, { "channels_last", T_CHANNELS_LAST },
};
