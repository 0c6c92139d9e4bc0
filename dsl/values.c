/*
 * values.c - the checks of a value that both front ends make where they read it (see values.h): a name
 * among a few (device, precision, layout...), a number's range, a list of names, the table formats, the
 * zipped dimensions. Below the front ends, above the IR: it calls neither front end.
 */
#include "dsl/values.h"

#include <ctype.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cam/methods.h"
#include "cam/model.h"
#include "lib/suggest.h"
#include "lib/xalloc.h"

static const char *const device_names[] = { "cpu", "cuda" };
const struct exp_choice experiment_device_choice = { "device", "cpu, cuda or cuda:N", device_names,
						      ARRAY_SIZE(device_names), experiment_valid_device };
const struct exp_choice experiment_precision_choice = { "precision", "fp32, tf32, bf16 or fp16",
							 model_precision_names, TS_PRECISION_NR,
							 experiment_valid_precision };
const struct exp_choice experiment_layout_choice = { "layout", "auto, bchw, bhwc or bnc", exp_layouts,
						     ARRAY_SIZE(exp_layouts), NULL };
static const char *const quirks[] = { CAM_QUIRK_LIVE, CAM_QUIRK_PREFIX_TOKENS };
const struct exp_choice experiment_quirk_choice = { "quirk", CAM_QUIRKS, quirks, ARRAY_SIZE(quirks), NULL };
const struct exp_choice experiment_figure_by_choice = { "'by' value", "method, utility or target", exp_figure_by,
							ARRAY_SIZE(exp_figure_by), NULL };
static const char *const tests[] = { "wilcoxon", "bootstrap" };
const struct exp_choice experiment_test_choice = { "test", "wilcoxon or bootstrap", tests, ARRAY_SIZE(tests),
						   NULL };

void experiment_set_choice(const struct exp_choice *ch, const char *s, char **field, struct diag *d,
			   struct src_pos pos)
{
	const char *near[1];

	if (ch->valid ? ch->valid(s) : exp_one_of(s, ch->names, ch->nr_names)) {
		free(*field);
		*field = xstrdup(s);
	} else if (suggest_nearest(s, ch->names, ch->nr_names, near, 1)) {
		diag_error(d, pos, "unknown %s '%s'; did you mean '%s'?", ch->what, s, near[0]);
	} else {
		diag_error(d, pos, "unknown %s '%s': use %s", ch->what, s, ch->use);
	}
}

int exp_check_range(struct diag *d, struct src_pos pos, const char *key, long long x, long long min,
		    long long max)
{
	if (x >= min && x <= max)
		return 0;
	if (max == 0x7fffffff)
		diag_error(d, pos, "expected an integer >= %lld for '%s', not %lld", min, key, x);
	else
		diag_error(d, pos, "expected an integer from %lld to %lld for '%s', not %lld", min, max, key,
			   x);
	return -1;
}

int exp_check_float(struct diag *d, struct src_pos pos, const char *key, double x)
{
	if (isnan(x))
		diag_error(d, pos, "expected a finite number for '%s', not NaN", key);
	else if (isinf(x))
		diag_error(d, pos, "expected a finite number for '%s', not %sinfinity", key,
			   x < 0 ? "-" : "");
	else if (fabs(x) > FLT_MAX)
		diag_error(d, pos, "expected a number of magnitude < 3.4e38 for '%s', not %g", key, x);
	else
		return 0;
	return -1;
}

const char *exp_string_hint(const char *s, int boolean)
{
	static const char *const bools[] = { "true", "false", "yes", "no", "on", "off" };
	char *end;
	size_t i;

	if (boolean) {
		for (i = 0; i < ARRAY_SIZE(bools); i++)
			if (!strcasecmp(s, bools[i]))
				return " (a quoted value is a string, not a boolean)";
		return "";
	}
	while (isspace((unsigned char)*s))
		s++;
	if (!*s)
		return "";
	(void)strtod(s, &end);
	return !*end ? " (a quoted value is a string, not a number)" : "";
}

void exp_model_keep_key(struct exp_model *m, const char *key, struct diag *d)
{
	if (!m->name) { /* an inner name: ~ cleared the key's name */
		m->name = xstrdup(key);
		return;
	}
	if (!strcmp(m->name, key))
		return;
	diag_error(d, m->name_pos.line ? m->name_pos : m->pos,
		   "name '%s' differs from the model's key '%s'; drop it or make them the same", m->name,
		   key);
	free(m->name);
	m->name = xstrdup(key);
}

void exp_names_push(struct exp_names *l, const char *s, size_t len, struct src_pos pos)
{
	/* a YAML block scalar ends in a newline, and a blank around a name is never part of it */
	while (len && isspace((unsigned char)*s))
		s++, len--;
	while (len && isspace((unsigned char)s[len - 1]))
		len--;
	ALLOC_GROW(l->v, l->n + 1, l->alloc);
	memset(&l->v[l->n], 0, sizeof(*l->v));
	l->v[l->n].name = xstrndup(s, len);
	l->v[l->n].pos = pos;
	l->v[l->n].id = EXP_ID_NONE;
	l->n++;
}

void exp_names_skip(struct exp_names *l, struct src_pos pos)
{
	ALLOC_GROW(l->v, l->n + 1, l->alloc);
	memset(&l->v[l->n], 0, sizeof(*l->v));
	l->v[l->n].name = NULL;
	l->v[l->n].pos = pos;
	l->v[l->n].id = EXP_ID_NONE;
	l->n++;
}

void exp_names_split(struct exp_names *l, const char *s, struct src_pos base, int shift)
{
	const char *p = s;

	while (1) {
		size_t len = strcspn(p, ","), n = len;
		const char *q = p;
		struct src_pos pos = base;
		while (n && isspace((unsigned char)*q))
			q++, n--;
		while (n && isspace((unsigned char)q[n - 1]))
			n--;
		if (shift >= 0 && !strchr(s, '\n'))
			pos.col += (int)(q - s) + shift;
		exp_names_push(l, q, n, pos);
		p += len;
		if (!*p)
			break;
		p++;
	}
}

void exp_names_end(struct exp_names *l, const char *key, struct diag *d, struct exp_name **list, size_t *nr)
{
	size_t i;

	for (i = 0; !l->bad && i < l->n; i++)
		if (l->v[i].name && !*l->v[i].name) {
			diag_error(d, l->v[i].pos, "empty name in '%s'", key);
			free(l->v[i].name);
			l->v[i].name = NULL;
		}
	if (l->bad || !l->n) {
		exp_names_free(l->v, l->n);
	} else {
		exp_names_free(*list, *nr);
		*list = l->v;
		*nr = l->n;
	}
	memset(l, 0, sizeof(*l));
}

void exp_names_zip(struct exp_names *l, struct experiment *e, struct diag *d)
{
	unsigned zip = 0;
	size_t i;

	/* the dimensions that were understood, even beside a bad one: their lengths are still checked */
	experiment_zip_dims(l->v, l->n, d, &zip);
	if (zip)
		e->zip = zip;
	for (i = 0; i < l->n; i++)
		free(l->v[i].name);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

void experiment_set_formats(struct experiment *e, struct exp_name *names, size_t n, struct diag *d)
{
	size_t i;
	int bad = 0, all = n == 1 && names[0].name && !strcmp(names[0].name, "all");

	for (i = 0; i < n && !all; i++) {
		const char *near[1];
		if (!names[i].name) { /* already reported */
			bad = 1;
			continue;
		}
		if (!strcmp(names[i].name, "markdown") || !strcmp(names[i].name, "latex") ||
		    !strcmp(names[i].name, "csv"))
			continue;
		bad = 1;
		if (suggest_nearest(names[i].name, exp_table_formats, ARRAY_SIZE(exp_table_formats), near, 1))
			diag_error(d, names[i].pos, "unknown table format '%s'; did you mean '%s'?",
				   names[i].name, near[0]);
		else
			diag_error(d, names[i].pos, "unknown table format '%s': use markdown, latex or csv",
				   names[i].name);
	}
	if (!bad) {
		for (i = 0; i < e->nr_table_formats; i++)
			free(e->table_formats[i]);
		free(e->table_formats);
		e->nr_table_formats = all ? ARRAY_SIZE(exp_table_formats) : n;
		e->table_formats = xcalloc(e->nr_table_formats, sizeof(char *));
		for (i = 0; i < e->nr_table_formats; i++)
			e->table_formats[i] = xstrdup(all ? exp_table_formats[i] : names[i].name);
	}
	for (i = 0; i < n; i++)
		free(names[i].name);
	free(names);
}

int experiment_zip_dims(const struct exp_name *names, size_t n, struct diag *d, unsigned *zip)
{
	/* singular and plural, in exp_dim order: index % EXP_NR_DIMS is the dimension */
	static const char *const dims[] = { "model", "layer", "method", "utility", "target",
					    "models", "layers", "methods", "utilities", "targets" };
	size_t i, j;
	int ret = 0;

	for (i = 0; i < n; i++) {
		const char *near[1];
		if (!names[i].name)
			continue;
		for (j = 0; j < ARRAY_SIZE(dims); j++)
			if (!strcmp(names[i].name, dims[j]))
				break;
		if (j < ARRAY_SIZE(dims)) {
			unsigned bit = 1u << (j % EXP_NR_DIMS);
			if (*zip & bit)
				diag_warning(d, names[i].pos, "duplicate dimension '%s' in 'zip'", names[i].name);
			*zip |= bit;
		} else if (suggest_nearest(names[i].name, dims, EXP_NR_DIMS, near, 1)) {
			diag_error(d, names[i].pos, "unknown dimension '%s' in 'zip'; did you mean '%s'?",
				   names[i].name, near[0]);
			ret = -1;
		} else {
			diag_error(d, names[i].pos,
				   "unknown dimension '%s' in 'zip': use model, layer, method, utility or target",
				   names[i].name);
			ret = -1;
		}
	}
	return ret;
}
