/*
 * keys.c - the experiment language's key tables (see keys.h).
 */
#include "dsl/keys.h"

#include <stddef.h>
#include <string.h>

#include "lib/xalloc.h"

/* "name" last: a layer given as a mapping's value takes every key but the last (yaml.c, lua.c) */
const struct exp_key exp_layer_keys[5] = {
	{ "path", L_PATH }, { "layout", L_LAYOUT }, { "prefix_tokens", L_PREFIX_TOKENS }, { "grid", L_GRID },
	{ "name", L_NAME },
};

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

const struct exp_key exp_statistics_keys[4] = {
	{ "bootstrap", S_BOOTSTRAP }, { "alpha", S_ALPHA }, { "seed", S_SEED }, { "test", S_TEST },
};

const struct exp_key exp_ablation_keys[2] = { { "over", A_OVER }, { "baseline", A_BASELINE } };

const struct exp_key exp_top_keys[25] = {
	{ "name", T_NAME },	  { "output", T_OUTPUT },	{ "device", T_DEVICE },
	{ "batch", T_BATCH },	  { "seed", T_SEED },		{ "models", T_MODELS },
	{ "data", T_DATA },	  { "methods", T_METHODS },	{ "utilities", T_UTILITIES },
	{ "targets", T_TARGETS }, { "metrics", T_METRICS },	{ "grid", T_GRID },
	{ "define", T_DEFINE },	  { "outputs", T_OUTPUTS },	{ "model", T_MODELS },
	{ "method", T_METHODS },  { "utility", T_UTILITIES },	{ "target", T_TARGETS },
	{ "metric", T_METRICS },  { "precision", T_PRECISION }, { "channels_last", T_CHANNELS_LAST },
	{ "quirk", T_QUIRK },	  { "statistics", T_STATISTICS },
	{ "ablations", T_ABLATIONS }, { "ablation", T_ABLATIONS },
};

const struct exp_field *exp_field_of(const struct exp_field *fields, size_t n, int id)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (fields[i].id == id)
			return &fields[i];
	return NULL;
}

/* a field: its key's id, its type, where it is in its section's struct */
#define F(id_, type_, off_) .id = (id_), .type = EXP_FIELD_##type_, .off = (off_)

#define LAYER(f) offsetof(struct exp_layer, f)
#define MODEL(f) offsetof(struct exp_model, f)
#define DATA(f) offsetof(struct exp_data, f)
#define EXCLUDE(f) offsetof(struct exp_exclude, f)
#define FIGURE(f) offsetof(struct exp_figure, f)
#define STATISTICS(f) offsetof(struct exp_statistics, f)
#define ABLATION(f) offsetof(struct exp_ablation, f)
#define EXP(f) offsetof(struct experiment, f)

const struct exp_field exp_layer_fields[5] = {
	{ F(L_PATH, STR, LAYER(path)), .sets_pos = 1, .pos = LAYER(pos) },
	{ F(L_LAYOUT, CHOICE, LAYER(layout)), .choice = &experiment_layout_choice },
	{ F(L_PREFIX_TOKENS, INT, LAYER(prefix_tokens)), .min = 0, .max = 4096, .sets_pos = 1,
	  .pos = LAYER(prefix_tokens_pos) },
	{ F(L_GRID, NAMES, LAYER(grid)), .aux = LAYER(nr_grid), .sets_pos = 1, .pos = LAYER(grid_pos) },
	{ F(L_NAME, STR, LAYER(name)) },
};

const struct exp_field exp_model_fields[7] = {
	{ F(M_NAME, STR, MODEL(name)), .sets_pos = 1, .pos = MODEL(name_pos) },
	{ F(M_FILE, STR, MODEL(file)), .required = "a file name", .sets_pos = 1, .pos = MODEL(pos) },
	{ F(M_INPUT_SIZE, INT, MODEL(input_size)), .min = 0, .max = 1 << 16 },
	{ F(M_RESIZE, INT, MODEL(resize)), .min = 0, .max = 1 << 16 },
	{ F(M_MEAN, FLOATS3, MODEL(mean)), .aux = MODEL(have_mean) },
	{ F(M_STD, FLOATS3, MODEL(std)), .aux = MODEL(have_std), .sets_pos = 1, .pos = MODEL(std_pos) },
	{ F(M_CLASSES, STR, MODEL(classes)), .sets_pos = 1, .pos = MODEL(classes_pos) },
};

const struct exp_field exp_data_fields[5] = {
	{ F(D_PATH, STR, DATA(path)), .required = "a path", .sets_pos = 1, .pos = DATA(pos) },
	{ F(D_LABELS, STR, DATA(labels)), .sets_pos = 1, .pos = DATA(labels_pos) },
	{ F(D_LIMIT, SIZE, DATA(limit)), .min = 0, .max = 0x7fffffff },
	{ F(D_SHUFFLE, BOOL, DATA(shuffle)) },
	{ F(D_SEED, U64, DATA(seed)) },
};

const struct exp_field exp_exclude_fields[5] = {
	{ F(EXP_MODEL, STR, EXCLUDE(model)) },	 { F(EXP_LAYER, STR, EXCLUDE(layer)) },
	{ F(EXP_METHOD, STR, EXCLUDE(method)) }, { F(EXP_UTILITY, STR, EXCLUDE(utility)) },
	{ F(EXP_TARGET, STR, EXCLUDE(target)) },
};

const struct exp_field exp_figure_fields[2] = {
	{ F(F_IMAGE, STR, FIGURE(image)), .required = "an image index or path" },
	{ F(F_BY, CHOICE, FIGURE(by)), .choice = &experiment_figure_by_choice },
};

const struct exp_field exp_output_fields[3] = {
	{ F(O_TABLES, BOOL, EXP(tables)) },
	{ F(O_PLOTS, BOOL, EXP(plots)) },
	{ F(O_PAPER, STR, EXP(paper_table)), .sets_pos = 1, .pos = EXP(paper_pos) },
};

const struct exp_field exp_statistics_fields[4] = {
	{ F(S_BOOTSTRAP, SIZE, STATISTICS(bootstrap)), .min = 1, .max = 1000000 },
	{ F(S_ALPHA, STR, STATISTICS(alpha)), .required = "a number between 0 and 1", .sets_pos = 1,
	  .pos = STATISTICS(alpha_pos) },
	{ F(S_SEED, U64, STATISTICS(seed)) },
	{ F(S_TEST, CHOICE, STATISTICS(test)), .choice = &experiment_test_choice },
};

const struct exp_field exp_ablation_fields[2] = {
	{ F(A_OVER, STR, ABLATION(over)), .required = "a grid dimension", .sets_pos = 1,
	  .pos = ABLATION(over_pos) },
	{ F(A_BASELINE, STR, ABLATION(baseline)), .sets_pos = 1, .pos = ABLATION(baseline_pos) },
};

const struct exp_field exp_top_fields[11] = {
	{ F(T_NAME, STR, EXP(name)), .sets_pos = 1, .pos = EXP(name_pos) },
	{ F(T_OUTPUT, STR, EXP(output)), .sets_pos = 1, .pos = EXP(output_pos) },
	{ F(T_DEVICE, CHOICE, EXP(device)), .choice = &experiment_device_choice, .sets_pos = 1,
	  .pos = EXP(device_pos) },
	{ F(T_PRECISION, CHOICE, EXP(precision)), .choice = &experiment_precision_choice, .sets_pos = 1,
	  .pos = EXP(precision_pos) },
	{ F(T_CHANNELS_LAST, BOOL, EXP(channels_last)) },
	{ F(T_SEED, U64, EXP(seed)) },
	{ F(T_METHODS, NAMES, EXP(methods)), .aux = EXP(nr_methods), .params = 1 },
	{ F(T_UTILITIES, NAMES, EXP(utilities)), .aux = EXP(nr_utilities), .params = 1 },
	{ F(T_TARGETS, NAMES, EXP(targets)), .aux = EXP(nr_targets) },
	{ F(T_METRICS, NAMES, EXP(metrics)), .aux = EXP(nr_metrics), .params = 1 },
	{ F(T_QUIRK, CHOICE, EXP(quirk)), .choice = &experiment_quirk_choice },
};

/*
 * The sections a misplaced key is looked for in, by the names the front ends give them (their `where`;
 * the top level has none). 'exclude' at the top level belongs in grid; 'device' in outputs at the top.
 */
static const struct {
	const char *where, *shown; /* the front ends' name of the section; how a message names it */
	const struct exp_key *keys;
	size_t n;
} homes[] = {
	{ NULL, "the top level", exp_top_keys, ARRAY_SIZE(exp_top_keys) },
	{ "grid", "'grid'", exp_grid_keys, ARRAY_SIZE(exp_grid_keys) },
	{ "data", "'data'", exp_data_keys, ARRAY_SIZE(exp_data_keys) },
	{ "outputs", "'outputs'", exp_output_keys, ARRAY_SIZE(exp_output_keys) },
	{ "statistics", "'statistics'", exp_statistics_keys, ARRAY_SIZE(exp_statistics_keys) },
	{ "ablations", "an ablation (in 'ablations')", exp_ablation_keys, ARRAY_SIZE(exp_ablation_keys) },
	{ "model", "a model (in 'models')", exp_model_keys, ARRAY_SIZE(exp_model_keys) },
};

const char *exp_key_home(const char *where, const char *name)
{
	size_t i, j;

	for (i = 0; i < ARRAY_SIZE(homes); i++) {
		if (where ? homes[i].where && !strcmp(where, homes[i].where) : !homes[i].where)
			continue; /* the section it is unknown in */
		for (j = 0; j < homes[i].n; j++)
			if (!strcmp(homes[i].keys[j].name, name))
				return homes[i].shown;
	}
	return NULL;
}
