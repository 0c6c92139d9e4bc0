/*
 * params.h - the parameters a spec may give a built-in method, utility or metric
 * ({kpcacam: {gamma: 0.5}}): one table of every accepted parameter, with its type, default and help,
 * read by the spec's validation (dsl/names.c), `camlab help`, the JSON schema and the canonical text;
 * and the parsing of a value into the typed options the computing code takes (struct
 * cam_method_params in methods.h, utility_params in utility.h, metric_params in metrics.h), so that
 * no code that computes ever reads a parameter's text.
 *
 * A value is text: a scalar as written, a list as its items joined by ','. Its canonical text (numbers
 * in their shortest exact form, booleans true/false, a choice's name, a list's items joined by ',') is
 * what the spec's canonical text and a run's label show; a value equal to the default is left out of
 * both, so that a spec written before parameters existed keeps its text and run keys.
 *
 * The C defaults live beside each typed struct (CAM_METHOD_PARAMS_INIT...); the table's defaults say
 * the same in text, and t94 checks that they agree.
 */
#ifndef CAM_PARAMS_H
#define CAM_PARAMS_H

#include <stddef.h>
#include <stdio.h>

#include "lib/strbuf.h"

enum param_kind { PARAM_METHOD, PARAM_UTILITY, PARAM_METRIC, PARAM_NR_KINDS };

enum param_type {
	PARAM_BOOL,   /* true or false (YAML's yes/no/on/off too) */
	PARAM_INT,    /* an integer in [min, max] */
	PARAM_FLOAT,  /* a finite number in [min, max] (or (min, max] with open_min) */
	PARAM_CHOICE, /* one of choices; its index is stored */
	PARAM_INTS,   /* 1..max_items integers, each in [min, max] */
	PARAM_FLOATS, /* 1..max_items finite numbers, each in [min, max] */
};

/* A parameter's owner: every built-in of its kind (aug_smooth, eigen_smooth). */
#define PARAM_EVERY (-1)

struct param_info {
	enum param_kind kind;
	int owner; /* the method, utility or metric (enum cam_method, utility, metric), or PARAM_EVERY */
	const char *name;
	enum param_type type;
	const char *def; /* the default's canonical text; NULL: computed (help says how) */
	const char *help;
	double min, max;
	int open_min;			/* min itself is out of range */
	const char *const *choices;	/* PARAM_CHOICE */
	size_t nr_choices, max_items;	/* max_items: lists */
	size_t off, count_off;		/* where the value (a list's count) goes in the kind's typed struct */
};

extern const struct param_info param_table[];
extern const size_t param_table_size;

/* The parameter `name` (exact) of a built-in of kind, or NULL; it prints nothing. */
const struct param_info *params_find(enum param_kind kind, int owner, const char *name);

/* The names of the parameters owner has, in the table's order, into out[max]; returns their number. */
size_t params_names(enum param_kind kind, int owner, const char **out, size_t max);

/*
 * Parse value for p: its canonical text appended to canon (may be NULL) and its typed value stored in
 * typed (the kind's struct; may be NULL). Returns 0, or -1 with why (lowercase, no position: "expected
 * a number in (0, inf), not 'x'"; a misspelt choice gets "; did you mean 'rbf'?") appended to err.
 */
int params_parse(const struct param_info *p, const char *value, void *typed, struct strbuf *canon,
		 struct strbuf *err);

/* Is canon (a canonical text from params_parse) p's default? */
int params_is_default(const struct param_info *p, const char *canon);

/* Store the defaults of owner's parameters in typed (the parameters with a computed default untouched). */
void params_defaults(enum param_kind kind, int owner, void *typed);

/*
 * The lines of `camlab help methods|utilities|metrics` for owner's own parameters (PARAM_EVERY: those
 * every built-in has), each "INDENT name  TYPE, default D: help".
 */
void params_help(FILE *fp, enum param_kind kind, int owner, const char *indent);

/* The parameters' part of `camlab help methods|utilities|metrics`: names[n] are the kind's built-ins. */
void params_help_all(FILE *fp, enum param_kind kind, const char *const *names, size_t n);

/* A parameter's type as the help and the messages say it ("a number", "true or false", "a list of ...") */
const char *params_type_name(const struct param_info *p);

#endif
