/*
 * values.h - the checks of a value that both front ends (yaml.c, lua.c) make where they read it, written
 * once (values.c). Only dsl/ includes it.
 */
#ifndef DSL_VALUES_H
#define DSL_VALUES_H

#include "dsl/diag.h"
#include "dsl/experiment.h"

/* A key whose value is one of a few names (device, precision, layout), as both front ends check it. */
struct exp_choice {
	const char *what;	  /* "device": for messages */
	const char *use;	  /* "cpu, cuda or cuda:N": what to write instead */
	const char *const *names; /* the names a misspelling is compared with */
	size_t nr_names;
	int (*valid)(const char *s); /* NULL: the names are the valid values */
};
extern const struct exp_choice experiment_device_choice, experiment_precision_choice,
	experiment_layout_choice, experiment_figure_by_choice, experiment_quirk_choice,
	experiment_test_choice;
/*
 * *field (owned by the experiment) becomes a copy of s when it is valid; otherwise an error at pos
 * with the nearest name, or else with what to use.
 */
void experiment_set_choice(const struct exp_choice *ch, const char *s, char **field, struct diag *d,
			   struct src_pos pos);
/*
 * 0 if min <= x <= max; otherwise -1 after an error at pos giving the range (as "an integer >= min" when
 * max is 0x7fffffff, the front ends' "no maximum").
 */
int exp_check_range(struct diag *d, struct src_pos pos, const char *key, long long x, long long min,
		    long long max);
/*
 * 0 if x is a finite number a float holds; otherwise -1 after an error at pos ("expected a finite number
 * for 'mean', not infinity"). Both front ends check every number of a float field (mean, std) with it.
 */
int exp_check_float(struct diag *d, struct src_pos pos, const char *key, double x);
/*
 * What to add to a type error about the string s, where a boolean (boolean != 0) or a number is expected:
 * a hint when s reads as one (a quoted "true" or "8" is a string in both front ends), else "".
 */
const char *exp_string_hint(const char *s, int boolean);
/*
 * The table formats (outputs.tables.formats) from the names given, all of them for "all"; an unknown
 * name is an error at its position with the nearest one, and then the formats stay as they were.
 * Frees names.
 */
void experiment_set_formats(struct experiment *e, struct exp_name *names, size_t n, struct diag *d);
/*
 * Add to *zip the bits (1 << exp_dim) of the dimension names (singular or plural), reporting unknown
 * names (with the nearest one) and duplicates to d. 0, or -1 if a name is unknown.
 */
int experiment_zip_dims(const struct exp_name *names, size_t n, struct diag *d, unsigned *zip);

/* A list of names as a front end reads it (for exp_names_end). */
struct exp_names {
	struct exp_name *v;
	size_t n, alloc;
	int bad; /* the value is no list at all (an error was reported): the key keeps its old value */
};
#define EXP_NAMES_INIT { NULL, 0, 0, 0 }

/* Add s[0..len) at pos, blanks and newlines around it trimmed. */
void exp_names_push(struct exp_names *l, const char *s, size_t len, struct src_pos pos);
/*
 * Add an item that is no name (a list, a mapping, null), after reporting it at pos: a NULL name, so that
 * the list keeps its length and its other names are still checked (experiment.h).
 */
void exp_names_skip(struct exp_names *l, struct src_pos pos);
/*
 * Add the names of "a, b, c" (split at commas, blanks trimmed), each at base; where s is one line and
 * shift >= 0, each name's column is moved to where it starts in s, s itself starting at base.col + shift.
 */
void exp_names_split(struct exp_names *l, const char *s, struct src_pos base, int shift);
/*
 * The list read for key replaces *list (whose names are freed), unless l->bad or l is empty: then l is
 * freed and *list kept, so that validation does not report the key again. An empty name is an error at
 * its position and becomes a NULL name, as exp_names_skip's items.
 */
void exp_names_end(struct exp_names *l, const char *key, struct diag *d, struct exp_name **list, size_t *nr);
/*
 * The dimension names read for zip set e->zip (experiment_zip_dims); an unknown name is reported and the
 * others are still zipped, so that their lengths are checked. Frees l.
 */
void exp_names_zip(struct exp_names *l, struct experiment *e, struct diag *d);

/*
 * A model written as `KEY: {...}` (models as a mapping) is named KEY: an inner 'name' that differs is an
 * error at its position (m->name_pos), and m->name becomes KEY again, as it does where a null inner
 * 'name' (not given) cleared it.
 */
void exp_model_keep_key(struct exp_model *m, const char *key, struct diag *d);

#endif
