/*
 * reader.c - the value reader both front ends share (see reader.h): a key's parsing, its defaults and
 * its errors, written once over the small interface each language provides.
 */
#include "dsl/reader.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/strbuf.h"
#include "lib/xalloc.h"

void exp_type_error(const struct exp_reader *r, void *v, const char *expected, const char *key)
{
	diag_error(r->d, r->pos(r->ctx, v), "expected %s for '%s', not %s", expected, key, r->type_name(r->ctx, v));
}

/*
 * A scalar that is not what key wants, shown as written ("not '8.5'", "not 'yes'"), with a hint where a
 * string reads as what was wanted; another kind of value (a list, nothing) is a type error.
 */
static void value_error(const struct exp_reader *r, void *v, const char *expected, const char *key, int boolean)
{
	char *s = r->kind(r->ctx, v) == EXP_V_NULL ? NULL : r->text(r->ctx, v);

	if (s)
		diag_error(r->d, r->pos(r->ctx, v), "expected %s for '%s', not '%s'%s", expected, key, s,
			   r->is_string(r->ctx, v) ? exp_string_hint(s, boolean) : "");
	else
		exp_type_error(r, v, expected, key);
	free(s);
}

int exp_get_int(const struct exp_reader *r, void *v, const char *key, long long min, long long max,
		long long *out)
{
	long long x;

	if (r->integer(r->ctx, v, &x) < 0) {
		value_error(r, v, "an integer", key, 0);
		return -1;
	}
	if (exp_check_range(r->d, r->pos(r->ctx, v), key, x, min, max) < 0)
		return -1;
	*out = x;
	return 0;
}

static int get_u64(const struct exp_reader *r, void *v, const char *key, uint64_t *out)
{
	if (r->u64(r->ctx, v, out) < 0) {
		value_error(r, v, "a non-negative integer", key, 0);
		return -1;
	}
	return 0;
}

static int get_bool(const struct exp_reader *r, void *v, const char *key, int *out)
{
	if (r->boolean(r->ctx, v, out) < 0) {
		value_error(r, v, "true or false", key, 1);
		return -1;
	}
	return 0;
}

/* An optional string: null clears it; required, it must be a scalar (what says what it must be). */
static void get_str(const struct exp_reader *r, void *v, const char *key, const char *required, char **out)
{
	char *s;

	if (r->kind(r->ctx, v) == EXP_V_NULL && !required) {
		free(*out);
		*out = NULL;
	} else if (r->kind(r->ctx, v) != EXP_V_NULL && (s = r->text(r->ctx, v))) {
		free(*out);
		*out = s;
	} else {
		exp_type_error(r, v, required ? required : "a string", key);
	}
}

/* v as a number; a string's hint ("a quoted value is a string, not a number") kept in *hint, the first */
static int number(const struct exp_reader *r, void *v, double *x, const char **hint)
{
	char *s;

	if (!r->number(r->ctx, v, x))
		return 0;
	if (!**hint && r->is_string(r->ctx, v) && (s = r->text(r->ctx, v))) {
		*hint = exp_string_hint(s, 0);
		free(s);
	}
	return -1;
}

struct floats3 {
	double x[3];
	struct src_pos pos[3];
	const char *hint;
	size_t n;
};

static int float_item(const struct exp_reader *r, void *item, void *arg)
{
	struct floats3 *f = arg;

	if (number(r, item, &f->x[f->n], &f->hint) < 0)
		return 1;
	f->pos[f->n++] = r->pos(r->ctx, item);
	return 0;
}

/* Three numbers (one per channel), or one number for all three; each finite. */
static void get_floats3(const struct exp_reader *r, void *v, const char *key, float out[3], int *have)
{
	struct floats3 f = { .hint = "" };
	enum exp_vkind k = r->kind(r->ctx, v);
	int i;

	if (k == EXP_V_SCALAR && !number(r, v, &f.x[0], &f.hint)) {
		if (exp_check_float(r->d, r->pos(r->ctx, v), key, f.x[0]) < 0)
			return;
		out[0] = out[1] = out[2] = (float)f.x[0];
		*have = 1;
		return;
	}
	if (k == EXP_V_LIST && r->length(r->ctx, v) == 3) {
		r->each(r->ctx, v, float_item, r, &f);
		if (f.n == 3) {
			for (i = 0; i < 3; i++)
				if (exp_check_float(r->d, f.pos[i], key, f.x[i]) < 0)
					return;
			for (i = 0; i < 3; i++)
				out[i] = (float)f.x[i];
			*have = 1;
			return;
		}
	}
	diag_error(r->d, r->pos(r->ctx, v), "expected 3 numbers (or one) for '%s'%s", key, f.hint);
}

struct names_arg {
	struct exp_names *l;
	const char *key;
	int params; /* items may be {name: {parameters}} */
};

/* A parameter's scalar as text: a string or number as written, a boolean (Lua's) as true or false. */
static char *param_scalar(const struct exp_reader *r, void *v)
{
	int b;

	if (r->kind(r->ctx, v) == EXP_V_SCALAR)
		return r->text(r->ctx, v);
	if (r->kind(r->ctx, v) == EXP_V_OTHER && !r->boolean(r->ctx, v, &b))
		return xstrdup(b ? "true" : "false");
	return NULL;
}

struct list_text {
	struct strbuf sb;
	size_t n;
	int bad;
};

static int param_item(const struct exp_reader *r, void *item, void *arg)
{
	struct list_text *lt = arg;
	char *s = param_scalar(r, item);

	if (!s)
		return lt->bad = 1;
	strbuf_addf(&lt->sb, "%s%s", lt->n++ ? "," : "", s);
	free(s);
	return 0;
}

/* A parameter's value as text: a scalar, or a list of scalars joined by ','; NULL for another value. */
static char *param_text(const struct exp_reader *r, void *v)
{
	struct list_text lt = { STRBUF_INIT, 0, 0 };

	if (r->kind(r->ctx, v) != EXP_V_LIST)
		return param_scalar(r, v);
	r->each(r->ctx, v, param_item, r, &lt);
	if (lt.bad) {
		strbuf_release(&lt.sb);
		return NULL;
	}
	return strbuf_detach(&lt.sb, NULL);
}

struct entry_arg {
	struct names_arg *a;
	struct exp_name *entry;
};

static int param_pair(const struct exp_reader *r, const char *key, struct src_pos key_pos, void *val, void *arg)
{
	struct entry_arg *ea = arg;
	struct exp_name *n = ea->entry;
	struct exp_param *p;
	char *text;
	size_t i;

	if (!key) {
		diag_error(r->d, key_pos, "expected a parameter name of '%s' as a key", n->name);
		return 0;
	}
	for (i = 0; i < n->nr_params; i++)
		if (!strcmp(n->params[i].key, key)) {
			diag_error(r->d, key_pos, "duplicate parameter '%s' of '%s'", key, n->name);
			return 0;
		}
	if (!(text = param_text(r, val))) {
		diag_error(r->d, r->pos(r->ctx, val),
			   "expected a value or a list of values for parameter '%s' of '%s', not %s", key, n->name,
			   r->type_name(r->ctx, val));
		return 0;
	}
	n->params = xrealloc(n->params, (n->nr_params + 1) * sizeof(*n->params));
	p = &n->params[n->nr_params++];
	p->key = xstrdup(key);
	p->value = text;
	p->pos = r->pos(r->ctx, val);
	p->key_pos = key_pos;
	return 0;
}

/* The one pair of {name: {parameters}} (or {name: null}, no parameters). */
static int entry_pair(const struct exp_reader *r, const char *key, struct src_pos key_pos, void *val, void *arg)
{
	struct names_arg *a = arg;
	struct entry_arg ea = { a, NULL };
	enum exp_vkind k = r->kind(r->ctx, val);

	if (!key) { /* null, or a list or mapping as a key */
		diag_error(r->d, key_pos, "expected a name as the key of an item of '%s'", a->key);
		exp_names_skip(a->l, key_pos);
		return 0;
	}
	exp_names_push(a->l, key, strlen(key), key_pos);
	ea.entry = &a->l->v[a->l->n - 1];
	if (k == EXP_V_NULL || (k == EXP_V_LIST && !r->length(r->ctx, val)))
		return 0;
	if (r->pairs(r->ctx, val, param_pair, r, &ea) < 0) {
		diag_error(r->d, r->pos(r->ctx, val), "expected the parameters of '%s' as a mapping, not %s",
			   ea.entry->name, r->type_name(r->ctx, val));
		free(ea.entry->name);
		ea.entry->name = NULL; /* reported: kept, as an item of the wrong type is */
	}
	return 0;
}

static int name_item(const struct exp_reader *r, void *item, void *arg)
{
	struct names_arg *a = arg;
	struct src_pos pos = r->pos(r->ctx, item);
	char *s = r->kind(r->ctx, item) == EXP_V_SCALAR ? r->text(r->ctx, item) : NULL;
	int n;

	if (!s && a->params && r->kind(r->ctx, item) == EXP_V_OTHER && (n = r->pairs(r->ctx, item, NULL, r, NULL)) >= 0) {
		if (n == 1) {
			r->pairs(r->ctx, item, entry_pair, r, a);
			return 0;
		}
		diag_error(r->d, pos, "expected a name or {name: {parameters}} in '%s', not a mapping of %d keys",
			   a->key, n);
		exp_names_skip(a->l, pos);
		return 0;
	}
	if (!s) {
		diag_error(r->d, pos, "expected a name in '%s', not %s", a->key, r->type_name(r->ctx, item));
		exp_names_skip(a->l, pos);
		return 0;
	}
	exp_names_push(a->l, s, strlen(s), pos);
	free(s);
	return 0;
}

static void get_names(const struct exp_reader *r, void *v, const char *key, int params, struct exp_name **list,
		      size_t *nr)
{
	struct exp_names l = EXP_NAMES_INIT;
	struct names_arg a = { &l, key, params };

	switch (r->kind(r->ctx, v)) {
	case EXP_V_SCALAR:
		r->split(r->ctx, v, &l);
		break;
	case EXP_V_LIST:
		r->each(r->ctx, v, name_item, r, &a);
		if (!l.n) {
			diag_error(r->d, r->pos(r->ctx, v), "empty list for '%s'", key);
			l.bad = 1;
		}
		break;
	default:
		diag_error(r->d, r->pos(r->ctx, v), "expected a list of names for '%s', not %s", key,
			   r->type_name(r->ctx, v));
		l.bad = 1;
	}
	exp_names_end(&l, key, r->d, list, nr);
}

void exp_get_names(const struct exp_reader *r, void *v, const char *key, struct exp_name **list, size_t *nr)
{
	get_names(r, v, key, 0, list, nr);
}

void exp_get_entries(const struct exp_reader *r, void *v, const char *key, struct exp_name **list, size_t *nr)
{
	get_names(r, v, key, 1, list, nr);
}

/* A string key checked by experiment_set_choice (device, precision, layout...), copied into *field. */
static void get_choice(const struct exp_reader *r, void *v, const char *key, const struct exp_choice *ch,
		       char **field)
{
	char expected[96], *s = r->kind(r->ctx, v) == EXP_V_SCALAR ? r->text(r->ctx, v) : NULL;

	if (!s) {
		snprintf(expected, sizeof(expected), "a %s (%s)", ch->what, ch->use);
		exp_type_error(r, v, expected, key);
		return;
	}
	experiment_set_choice(ch, s, field, r->d, r->pos(r->ctx, v));
	free(s);
}

void exp_read_field(const struct exp_reader *r, void *v, const char *key, const struct exp_field *f, void *ud)
{
	char *at = (char *)ud + f->off, *aux = (char *)ud + f->aux;
	long long x;

	switch (f->type) {
	case EXP_FIELD_STR:
		get_str(r, v, key, f->required, (char **)at);
		break;
	case EXP_FIELD_INT:
		if (!exp_get_int(r, v, key, f->min, f->max, &x))
			*(int *)at = (int)x;
		break;
	case EXP_FIELD_SIZE:
		if (!exp_get_int(r, v, key, f->min, f->max, &x))
			*(size_t *)at = (size_t)x;
		break;
	case EXP_FIELD_U64:
		get_u64(r, v, key, (uint64_t *)at);
		break;
	case EXP_FIELD_BOOL:
		get_bool(r, v, key, (int *)at);
		break;
	case EXP_FIELD_FLOATS3:
		get_floats3(r, v, key, (float *)at, (int *)aux);
		break;
	case EXP_FIELD_CHOICE:
		get_choice(r, v, key, f->choice, (char **)at);
		break;
	case EXP_FIELD_NAMES:
		/* the grid's methods, utilities and metrics may have parameters; targets and the rest not */
		if (f->params)
			exp_get_entries(r, v, key, (struct exp_name **)at, (size_t *)aux);
		else
			exp_get_names(r, v, key, (struct exp_name **)at, (size_t *)aux);
		break;
	}
	/*
	 * Where the value was written, valid or not: the later errors point there. A null optional string
	 * is a key not given, whose errors point where they would without it.
	 */
	if (f->sets_pos && !(f->type == EXP_FIELD_STR && !f->required && r->kind(r->ctx, v) == EXP_V_NULL))
		*(struct src_pos *)((char *)ud + f->pos) = r->pos(r->ctx, v);
}
