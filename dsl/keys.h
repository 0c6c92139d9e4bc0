/*
 * keys.h - the keys of the experiment language, one list for both front ends (yaml.c, lua.c): each
 * section's key names, singular aliases included, with the ids the front ends switch on, and for the
 * plain keys (a string, a number, a list of names...) the type of the value and where it goes. A key
 * added here is known to both. Only the front ends include it.
 */
#ifndef DSL_KEYS_H
#define DSL_KEYS_H

#include "dsl/values.h"

struct exp_key {
	const char *name;
	int id;
};

/* a layer: models[].layers.NAME */
enum { L_PATH, L_LAYOUT, L_NAME, L_PREFIX_TOKENS, L_GRID };
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
/* statistics */
enum { S_BOOTSTRAP, S_ALPHA, S_SEED, S_TEST };
/* ablations[] */
enum { A_OVER, A_BASELINE };
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
	T_STATISTICS, /* before T_OUTPUTS: lua.c reads the sections from T_NAME to T_OUTPUTS */
	T_ABLATIONS,
	T_OUTPUTS,
	T_QUIRK
};

/*
 * How the value of a plain key is read, and where it is kept in its section's struct. Keys whose value
 * is a section of its own (models, layers, data, grid, define, outputs, figures, formats, batch) have
 * no field: each front end reads those itself. Each front end reads every field of a table the same
 * way (yaml.c read_field, lua.c read_field), so a plain key is one line here.
 */
enum exp_field_type {
	EXP_FIELD_STR,	   /* char *; YAML's null clears it, unless .required says what it must be */
	EXP_FIELD_INT,	   /* int, from .min to .max */
	EXP_FIELD_SIZE,	   /* size_t, from .min to .max */
	EXP_FIELD_U64,	   /* uint64_t, not negative */
	EXP_FIELD_BOOL,	   /* int, 0 or 1 */
	EXP_FIELD_FLOATS3, /* float[3]: three numbers, or one for all three; .aux is its int "have" flag */
	EXP_FIELD_CHOICE,  /* char *: one of .choice's names (experiment_set_choice) */
	EXP_FIELD_NAMES, /* struct exp_name *: a list of names or one "a, b" string; .aux its size_t count */
};

struct exp_field {
	int id; /* the key's id in its section's enum */
	enum exp_field_type type;
	size_t off;	    /* offsetof the value in the section's struct */
	size_t aux;	    /* FLOATS3, NAMES: see above */
	long long min, max; /* INT, SIZE */
	const struct exp_choice *choice;
	const char *required; /* STR: what a value must be ("a path"); NULL: null is allowed */
	int sets_pos;	      /* the struct's src_pos (at .pos) becomes where the value was written */
	size_t pos;
	int params; /* NAMES: an item may be {name: {parameters}} (methods, utilities, metrics) */
};

/*
 * Where a key unknown in the section named where (NULL: the top level) is a key instead ("'grid'",
 * "a model (in 'models')", "the top level"), for a hint; NULL if nowhere.
 */
const char *exp_key_home(const char *where, const char *name);

/* The field of the key with this id, or NULL (a section of its own). */
const struct exp_field *exp_field_of(const struct exp_field *fields, size_t n, int id);

extern const struct exp_field exp_layer_fields[5];
extern const struct exp_field exp_model_fields[7];
extern const struct exp_field exp_data_fields[5];
extern const struct exp_field exp_exclude_fields[5];
extern const struct exp_field exp_figure_fields[2];
extern const struct exp_field exp_output_fields[3];
extern const struct exp_field exp_statistics_fields[4];
extern const struct exp_field exp_ablation_fields[2];
extern const struct exp_field exp_top_fields[11];

extern const struct exp_key exp_layer_keys[5];
extern const struct exp_key exp_model_keys[9];
extern const struct exp_key exp_data_keys[5];
extern const struct exp_key exp_exclude_keys[5];
extern const struct exp_key exp_grid_keys[2];
extern const struct exp_key exp_define_keys[6];
extern const struct exp_key exp_figure_keys[2];
extern const struct exp_key exp_output_keys[6];
extern const struct exp_key exp_statistics_keys[4];
extern const struct exp_key exp_ablation_keys[2];
extern const struct exp_key exp_top_keys[25];

#endif
