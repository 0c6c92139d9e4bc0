/*
 * reader.h - one value reader for both front ends: each key's value is parsed, defaulted and reported
 * here (reader.c), from the key table (keys.h), and each front end only says what a value of its
 * language is through a struct exp_reader (yaml.c: a libyaml node; lua.c: a value on the Lua stack and
 * where it was written). So a key reads, and fails, the same way in YAML and in Lua.
 */
#ifndef DSL_READER_H
#define DSL_READER_H

#include <stdint.h>

#include "dsl/keys.h"
#include "dsl/values.h"

/* What a value is, as the reader tells the getters' cases apart. */
enum exp_vkind {
	EXP_V_NULL,   /* YAML's null (~, null, nothing): a string key cleared; Lua has none (nil: no key) */
	EXP_V_SCALAR, /* a string or a number (YAML: any other scalar; Lua: a string or a number) */
	EXP_V_LIST,   /* a sequence (YAML), a table with the keys 1..n (Lua) */
	EXP_V_OTHER,  /* a mapping, a table with other keys, a boolean, a function... */
};

/*
 * A language, for the reader. ctx is the front end's context, v a value of its language; every
 * function but each and split only looks at v.
 */
struct exp_reader {
	void *ctx;
	struct diag *d;
	enum exp_vkind (*kind)(void *ctx, void *v);
	/* "a list", "a table", "nothing", "true": how a type error names what was written */
	const char *(*type_name)(void *ctx, void *v);
	/* where an error about v points */
	struct src_pos (*pos)(void *ctx, void *v);
	/* a scalar's text (free it), as YAML has it (a Lua number as Lua writes it); NULL for another kind */
	char *(*text)(void *ctx, void *v);
	/* a string that reads as a number or a boolean is still a string (YAML: quoted; Lua: a string) */
	int (*is_string)(void *ctx, void *v);
	/* v as an integer (a float with an integral value counts), a non-negative one, a boolean: 0, or -1 */
	int (*integer)(void *ctx, void *v, long long *out);
	int (*u64)(void *ctx, void *v, uint64_t *out);
	int (*boolean)(void *ctx, void *v, int *out);
	/* v as a number (infinities and NaN included, for exp_check_float to refuse): 0, or -1 */
	int (*number)(void *ctx, void *v, double *out);
	/* a list's length */
	size_t (*length)(void *ctx, void *v);
	/* call fn with each item of the list v, in order, until it returns nonzero */
	void (*each)(void *ctx, void *v, int (*fn)(const struct exp_reader *r, void *item, void *arg),
		     const struct exp_reader *r, void *arg);
	/* the names of a scalar "a, b, c" (exp_names_split), each placed where it is written */
	void (*split)(void *ctx, void *v, struct exp_names *l);
	/*
	 * The pairs of a mapping (YAML) or a table with keys that are not 1..n (Lua): fn with each key's
	 * text (NULL for a key that is no scalar) and position and its value, in the order written (Lua:
	 * sorted by key), until it returns nonzero; fn NULL only counts them. Returns the number of pairs,
	 * or -1 when v is no mapping.
	 */
	int (*pairs)(void *ctx, void *v,
		     int (*fn)(const struct exp_reader *r, const char *key, struct src_pos key_pos, void *val,
			       void *arg),
		     const struct exp_reader *r, void *arg);
};

/* "expected EXPECTED for 'KEY', not TYPE" at v */
void exp_type_error(const struct exp_reader *r, void *v, const char *expected, const char *key);

/* The getters: 0, or -1 after an error at v (the field then keeps its value). */
int exp_get_int(const struct exp_reader *r, void *v, const char *key, long long min, long long max,
		long long *out);
/* A list of names, or one "a, b" scalar; on any error the list keeps its value (exp_names_end). */
void exp_get_names(const struct exp_reader *r, void *v, const char *key, struct exp_name **list, size_t *nr);
/*
 * The same for methods, utilities and metrics, whose items may also be {name: {key: value...}}: a name
 * with its parameters (experiment.h's struct exp_param), which experiment_validate() checks.
 */
void exp_get_entries(const struct exp_reader *r, void *v, const char *key, struct exp_name **list, size_t *nr);

/* Read v into the field f of ud (its section's struct), as keys.h describes it. */
void exp_read_field(const struct exp_reader *r, void *v, const char *key, const struct exp_field *f, void *ud);

#endif
