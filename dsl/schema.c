/*
 * schema.c - the JSON Schema of the YAML experiment language, generated from dsl/keys.c (see schema.h).
 * The shapes of the sections (a model list or mapping, layers as a mapping or a list...) are those
 * dsl/yaml.c reads; the keys, their aliases and the types of plain keys come from the tables.
 */
#include "dsl/schema.h"

#include <math.h>
#include <string.h>

#include "cam/methods.h"
#include "cam/metrics.h"
#include "cam/params.h"
#include "cam/utility.h"
#include "dsl/keys.h"
#include "lib/quote.h"
#include "lib/strbuf.h"
#include "lib/xalloc.h"

/* A mapping's keys, the fields of its plain keys, and what writes the others' value schemas. */
struct object {
	const struct exp_key *keys;
	size_t nkeys;
	const struct exp_field *fields;
	size_t nfields;
	void (*section)(struct strbuf *sb, int id); /* NULL: every key has a field */
	const char *const *required;		    /* keys that must be given (or an alias of theirs) */
};

static void object(struct strbuf *sb, const struct object *o);
static const char *const top_required[] = { "models", "data", NULL };

static void str_array(struct strbuf *sb, const char *const *names, size_t n)
{
	size_t i;

	strbuf_addch(sb, '[');
	for (i = 0; i < n; i++) {
		if (i)
			strbuf_addch(sb, ',');
		quote_json(sb, names[i]);
	}
	strbuf_addch(sb, ']');
}

/* A YAML scalar camlab reads as a string: `name: 2024` is the string "2024". */
#define SCALAR "{\"type\":[\"string\",\"number\",\"boolean\"]}"
#define NOTHING "{\"type\":\"null\"}"
/* a mapping written once, in the schema's definitions */
#define REF(name) "{\"$ref\":\"#/definitions/" name "\"}"

/* A list of names or one "a, b" string; names offers completions without limiting them */
static void names(struct strbuf *sb, const char *const *offer, size_t n)
{
	strbuf_addstr(sb, "{\"anyOf\":[");
	if (n) {
		strbuf_addstr(sb, "{\"enum\":");
		str_array(sb, offer, n);
		strbuf_addstr(sb, "},");
	}
	strbuf_addstr(sb, SCALAR ",{\"type\":\"array\",\"minItems\":1,\"items\":{\"anyOf\":[");
	if (n) {
		strbuf_addstr(sb, "{\"enum\":");
		str_array(sb, offer, n);
		strbuf_addstr(sb, "},");
	}
	strbuf_addstr(sb, SCALAR "]}}]}");
}

/* One parameter's value (cam/params.h): its type, range or choices; a list also as one item. */
static void param_value(struct strbuf *sb, const struct param_info *p)
{
	const char *item = p->type == PARAM_INTS || p->type == PARAM_INT ? "integer" : "number";

	switch (p->type) {
	case PARAM_BOOL:
		strbuf_addstr(sb, "{\"type\":\"boolean\"}");
		return;
	case PARAM_CHOICE:
		strbuf_addstr(sb, "{\"enum\":");
		str_array(sb, p->choices, p->nr_choices);
		strbuf_addch(sb, '}');
		return;
	case PARAM_INT:
	case PARAM_FLOAT:
		strbuf_addf(sb, "{\"type\":\"%s\",\"%s\":%.17g", item, p->open_min ? "exclusiveMinimum" : "minimum",
			    p->min);
		if (isfinite(p->max))
			strbuf_addf(sb, ",\"maximum\":%.17g", p->max);
		strbuf_addch(sb, '}');
		return;
	case PARAM_INTS:
	case PARAM_FLOATS:
		strbuf_addf(sb, "{\"anyOf\":[{\"type\":\"%s\",\"minimum\":%.17g,\"maximum\":%.17g},", item, p->min, p->max);
		strbuf_addf(sb, "{\"type\":\"array\",\"minItems\":1,\"maxItems\":%zu,\"items\":{\"type\":\"%s\","
			    "\"minimum\":%.17g,\"maximum\":%.17g}}]}",
			    p->max_items, item, p->min, p->max);
		return;
	}
}

/*
 * An item {NAME: {PARAMETER: VALUE}} of methods, utilities or metrics: each built-in's own parameters
 * (and those of every built-in), nothing else; another name (an alias, a definition) any mapping, which
 * camlab check judges.
 */
static void entry_object(struct strbuf *sb, enum param_kind kind, const char *const *names, size_t n)
{
	size_t i, j;
	int first;

	strbuf_addstr(sb, "{\"type\":\"object\",\"minProperties\":1,\"maxProperties\":1,\"properties\":{");
	for (i = 0; i < n; i++) {
		if (i)
			strbuf_addch(sb, ',');
		quote_json(sb, names[i]);
		strbuf_addstr(sb, ":{\"anyOf\":[" NOTHING ",{\"type\":\"object\",\"additionalProperties\":false,"
				  "\"properties\":{");
		for (j = 0, first = 1; j < param_table_size; j++) {
			const struct param_info *p = &param_table[j];
			if (p->kind != kind || (p->owner != (int)i && p->owner != PARAM_EVERY))
				continue;
			if (!first)
				strbuf_addch(sb, ',');
			first = 0;
			quote_json(sb, p->name);
			strbuf_addch(sb, ':');
			param_value(sb, p);
		}
		strbuf_addstr(sb, "}}]}");
	}
	strbuf_addstr(sb, "},\"additionalProperties\":{\"anyOf\":[" NOTHING ",{\"type\":\"object\"}]}}");
}

/* names() whose items may also be entry_object()s */
static void entries(struct strbuf *sb, const char *const *offer, size_t n, enum param_kind kind,
		    const char *const *builtins, size_t nb)
{
	strbuf_addstr(sb, "{\"anyOf\":[{\"enum\":");
	str_array(sb, offer, n);
	strbuf_addstr(sb, "}," SCALAR ",{\"type\":\"array\",\"minItems\":1,\"items\":{\"anyOf\":[{\"enum\":");
	str_array(sb, offer, n);
	strbuf_addstr(sb, "}," SCALAR ",");
	entry_object(sb, kind, builtins, nb);
	strbuf_addstr(sb, "]}}]}");
}

static void choice(struct strbuf *sb, const struct exp_choice *ch)
{
	/* device's validity is a function of its own: cuda:N is any device number */
	if (ch == &experiment_device_choice) {
		strbuf_addstr(sb, "{\"type\":\"string\",\"pattern\":\"^(cpu|cuda(:[0-9]+)?)$\"}");
		return;
	}
	strbuf_addstr(sb, "{\"enum\":");
	str_array(sb, ch->names, ch->nr_names);
	strbuf_addch(sb, '}');
}

static void field(struct strbuf *sb, const struct exp_field *f)
{
	static const char *metrics_offer[METRIC_NR_ALL + 1] = { "all" };
	const char *const *offer = NULL;
	size_t n = 0, i;

	switch (f->type) {
	case EXP_FIELD_STR:
		strbuf_addstr(sb, f->required ? SCALAR : "{\"anyOf\":[" SCALAR "," NOTHING "]}");
		break;
	case EXP_FIELD_INT:
	case EXP_FIELD_SIZE:
		strbuf_addf(sb, "{\"type\":\"integer\",\"minimum\":%lld", f->min);
		if (f->max != 0x7fffffff) /* the front ends' "no maximum" */
			strbuf_addf(sb, ",\"maximum\":%lld", f->max);
		strbuf_addch(sb, '}');
		break;
	case EXP_FIELD_U64:
		strbuf_addstr(sb, "{\"type\":\"integer\",\"minimum\":0}");
		break;
	case EXP_FIELD_BOOL:
		strbuf_addstr(sb, "{\"type\":\"boolean\"}");
		break;
	case EXP_FIELD_FLOATS3:
		strbuf_addstr(sb, "{\"anyOf\":[{\"type\":\"number\"},{\"type\":\"array\",\"items\":{\"type\":"
				  "\"number\"},"
				  "\"minItems\":3,\"maxItems\":3}]}");
		break;
	case EXP_FIELD_CHOICE:
		choice(sb, f->choice);
		break;
	case EXP_FIELD_NAMES:
		if (f == exp_field_of(exp_top_fields, ARRAY_SIZE(exp_top_fields), T_METHODS)) {
			entries(sb, cam_method_names, CAM_NR_METHODS, PARAM_METHOD, cam_method_names, CAM_NR_METHODS);
			break;
		} else if (f == exp_field_of(exp_top_fields, ARRAY_SIZE(exp_top_fields), T_UTILITIES)) {
			entries(sb, utility_names, UTILITY_NR, PARAM_UTILITY, utility_names, UTILITY_NR);
			break;
		} else if (f == exp_field_of(exp_top_fields, ARRAY_SIZE(exp_top_fields), T_METRICS)) {
			for (i = 0; i < METRIC_NR_ALL; i++)
				metrics_offer[i + 1] = metric_names[i];
			entries(sb, metrics_offer, METRIC_NR_ALL + 1, PARAM_METRIC, metric_names, METRIC_NR_ALL);
			break;
		}
		names(sb, offer, n);
		break;
	}
}

/* ---- the sections dsl/yaml.c reads itself ---- */

static const struct object layer_value = {
	exp_layer_keys, ARRAY_SIZE(exp_layer_keys) - 1, exp_layer_fields, ARRAY_SIZE(exp_layer_fields), NULL, NULL
};
static const struct object layer_item = {
	exp_layer_keys, ARRAY_SIZE(exp_layer_keys), exp_layer_fields, ARRAY_SIZE(exp_layer_fields), NULL, NULL
};

/* a fused layer's module paths (cam/multilayer.h) */
#define FUSED "{\"type\":\"array\",\"items\":" SCALAR ",\"minItems\":1}"

/*
 * layers: name -> path | [path, ...] | {path, layout}, or a list of paths | [path, ...] |
 * {name, path, layout}, or one path
 */
static void layers(struct strbuf *sb)
{
	strbuf_addstr(sb, "{\"anyOf\":[" SCALAR
			  ",{\"type\":\"object\",\"additionalProperties\":{\"anyOf\":[" SCALAR "," FUSED
			  "," REF("layer") "]}},{\"type\":\"array\",\"items\":{\"anyOf\":[" SCALAR "," FUSED
					   "," REF("layer_item") "]}}]}");
}

static void model_section(struct strbuf *sb, int id)
{
	layers(sb); /* M_LAYERS, the one key of a model without a field */
}

/* no key is required of a model: one that refines an included model by name may give only its layers */
static const struct object model = { exp_model_keys,   ARRAY_SIZE(exp_model_keys),
				     exp_model_fields, ARRAY_SIZE(exp_model_fields),
				     model_section,    NULL };

static const struct object data = {
	exp_data_keys, ARRAY_SIZE(exp_data_keys), exp_data_fields, ARRAY_SIZE(exp_data_fields), NULL, NULL
};
static const struct object exclude = { exp_exclude_keys,
				       ARRAY_SIZE(exp_exclude_keys),
				       exp_exclude_fields,
				       ARRAY_SIZE(exp_exclude_fields),
				       NULL,
				       NULL };
static const struct object figure = { exp_figure_keys,
				      ARRAY_SIZE(exp_figure_keys),
				      exp_figure_fields,
				      ARRAY_SIZE(exp_figure_fields),
				      NULL,
				      NULL };

static void grid_section(struct strbuf *sb, int id)
{
	if (id == G_EXCLUDE) {
		strbuf_addstr(sb, "{\"anyOf\":[" REF("exclude") ",{\"type\":\"array\",\"items\":" REF(
					  "exclude") "}]}");
	} else { /* zip: dimension names */
		strbuf_addstr(sb, "{\"anyOf\":[" SCALAR "," NOTHING ",{\"type\":\"array\",\"items\":" SCALAR
				  "}]}");
	}
}

static const struct object grid = { exp_grid_keys, ARRAY_SIZE(exp_grid_keys), NULL, 0, grid_section, NULL };

/* each kind of definition: null, or names -> Lua code */
static void define_section(struct strbuf *sb, int id)
{
	strbuf_addstr(sb,
		      "{\"anyOf\":[" NOTHING ",{\"type\":\"object\",\"additionalProperties\":" SCALAR "}]}");
}

static const struct object define = {
	exp_define_keys, ARRAY_SIZE(exp_define_keys), NULL, 0, define_section, NULL
};

static void outputs_section(struct strbuf *sb, int id)
{
	if (id == O_FORMATS) {
		names(sb, NULL, 0);
		return;
	}
	strbuf_addstr(sb, "{\"type\":\"array\",\"items\":{\"anyOf\":[" SCALAR "," REF("figure") "]}}");
}

static const struct object outputs = { exp_output_keys,	  ARRAY_SIZE(exp_output_keys),
				       exp_output_fields, ARRAY_SIZE(exp_output_fields),
				       outputs_section,	  NULL };

static const struct object statistics = { exp_statistics_keys,	ARRAY_SIZE(exp_statistics_keys),
					   exp_statistics_fields, ARRAY_SIZE(exp_statistics_fields),
					   NULL,		  NULL };

static const char *const ablation_required[] = { "over", NULL };
static const struct object ablation = { exp_ablation_keys,   ARRAY_SIZE(exp_ablation_keys),
					 exp_ablation_fields, ARRAY_SIZE(exp_ablation_fields),
					 NULL,		      ablation_required };

/* null is allowed where yaml.c lets a section be empty */
static void maybe(struct strbuf *sb, const struct object *o)
{
	strbuf_addstr(sb, "{\"anyOf\":[" NOTHING ",");
	object(sb, o);
	strbuf_addstr(sb, "]}");
}

static void top_section(struct strbuf *sb, int id)
{
	switch (id) {
	case T_BATCH:
		strbuf_addstr(sb, "{\"anyOf\":[{\"type\":\"integer\",\"minimum\":1},{\"const\":\"auto\"}]}");
		break;
	case T_MODELS: /* a list of models, or a mapping name -> model */
		/* an item may name an included model (dsl/compose.c) */
		strbuf_addstr(sb, "{\"anyOf\":[{\"type\":\"array\",\"items\":{\"anyOf\":[" REF(
					  "model") ",{\"type\":\"string\"}]}},{\"type\":\"object\","
						   "\"additionalProperties\":" REF("model") "}]}");
		break;
	case T_DATA:
		strbuf_addstr(sb, "{\"anyOf\":[" SCALAR ",");
		object(sb, &data);
		strbuf_addstr(sb, "]}");
		break;
	case T_GRID:
		maybe(sb, &grid);
		break;
	case T_DEFINE:
		maybe(sb, &define);
		break;
	case T_OUTPUTS:
		maybe(sb, &outputs);
		break;
	case T_STATISTICS:
		maybe(sb, &statistics);
		break;
	case T_ABLATIONS: /* a list of {over, baseline} or of dimensions; null for none */
		strbuf_addstr(sb, "{\"anyOf\":[" NOTHING ",{\"type\":\"array\",\"items\":{\"anyOf\":[" SCALAR
				  "," REF("ablation") "]}}]}");
		break;
	}
}

static const struct object top = { exp_top_keys,   ARRAY_SIZE(exp_top_keys),
				   exp_top_fields, ARRAY_SIZE(exp_top_fields),
				   top_section,	   top_required };

/* The keys with the id of keys[i] (its spellings), as a JSON array of "required" alternatives. */
static void spellings(struct strbuf *sb, const struct object *o, size_t i)
{
	size_t j, n = 0;

	strbuf_addch(sb, '[');
	for (j = 0; j < o->nkeys; j++) {
		if (o->keys[j].id != o->keys[i].id)
			continue;
		strbuf_addstr(sb, n++ ? ",{\"required\":[" : "{\"required\":[");
		quote_json(sb, o->keys[j].name);
		strbuf_addstr(sb, "]}");
	}
	strbuf_addch(sb, ']');
}

/*
 * A mapping of o's keys: no other key; a required key given in one of its spellings; never two
 * spellings of one key (models and model), which yaml.c reports as a duplicate.
 */
static void object(struct strbuf *sb, const struct object *o)
{
	const struct exp_field *f;
	size_t i, j, nr_all = 0, nr_not = 0;

	strbuf_addstr(sb, "{\"type\":\"object\",\"additionalProperties\":false,\"properties\":{");
	/* the top level's include (dsl/compose.c), which is no key of the IR: the included files may give the required keys */
	if (o->required == top_required)
		strbuf_addstr(sb, "\"include\":{\"anyOf\":[" SCALAR ",{\"type\":\"array\",\"items\":" SCALAR "}]},");
	for (i = 0; i < o->nkeys; i++) {
		if (i)
			strbuf_addch(sb, ',');
		quote_json(sb, o->keys[i].name);
		strbuf_addch(sb, ':');
		if ((f = exp_field_of(o->fields, o->nfields, o->keys[i].id)))
			field(sb, f);
		else
			o->section(sb, o->keys[i].id);
	}
	strbuf_addch(sb, '}');
	if (o->required == top_required)
		strbuf_addstr(sb, ",\"anyOf\":[{\"required\":[\"include\"]},{\"type\":\"object\"");
	for (i = 0; o->required && o->required[i]; i++) {
		for (j = 0; j < o->nkeys && strcmp(o->keys[j].name, o->required[i]); j++)
			;
		strbuf_addstr(sb, nr_all++ ? ",{\"anyOf\":" : ",\"allOf\":[{\"anyOf\":");
		spellings(sb, o, j);
		strbuf_addch(sb, '}');
	}
	if (nr_all)
		strbuf_addch(sb, ']');
	if (o->required == top_required)
		strbuf_addstr(sb, "}]");
	for (i = 0; i < o->nkeys; i++)
		for (j = i + 1; j < o->nkeys; j++) {
			if (o->keys[j].id != o->keys[i].id)
				continue;
			strbuf_addstr(sb, nr_not++ ? "," : ",\"not\":{\"anyOf\":[");
			strbuf_addstr(sb, "{\"required\":[");
			quote_json(sb, o->keys[i].name);
			strbuf_addch(sb, ',');
			quote_json(sb, o->keys[j].name);
			strbuf_addstr(sb, "]}");
		}
	if (nr_not)
		strbuf_addstr(sb, "]}");
	strbuf_addch(sb, '}');
}

/*
 * An array at *s of strings and numbers only, on one line ("[\"a\", \"b\"]"), *s left at its ']': 1,
 * or 0 when it holds objects or arrays (nothing written).
 */
static int flat_array(struct strbuf *out, const char **s)
{
	const char *p;
	int in_str = 0;

	for (p = *s + 1; *p && (in_str || *p != ']'); p++) {
		if (in_str && *p == '\\' && p[1])
			p++;
		else if (*p == '"')
			in_str = !in_str;
		else if (!in_str && (*p == '{' || *p == '['))
			return 0;
	}
	if (!*p)
		return 0;
	for (in_str = 0; *s <= p; (*s)++) {
		if (in_str && **s == '\\') {
			strbuf_addch(out, *(*s)++);
			strbuf_addch(out, **s);
			continue;
		}
		if (**s == '"')
			in_str = !in_str;
		strbuf_addch(out, **s);
		if (!in_str && **s == ',')
			strbuf_addch(out, ' ');
	}
	(*s)--;
	return 1;
}

/* Indent compact JSON (no whitespace outside strings): a value per line, empty [] and {} kept whole. */
static void indent(struct strbuf *out, const char *s)
{
	int depth = 0, in_str = 0, i;

	for (; *s; s++) {
		char c = *s;
		if (in_str) {
			strbuf_addch(out, c);
			if (c == '\\' && s[1])
				strbuf_addch(out, *++s);
			else if (c == '"')
				in_str = 0;
			continue;
		}
		switch (c) {
		case '"':
			in_str = 1;
			strbuf_addch(out, c);
			break;
		case '[':
			if (flat_array(out, &s))
				break;
			/* fall through */
		case '{':
			strbuf_addch(out, c);
			if (s[1] == (c == '{' ? '}' : ']')) {
				strbuf_addch(out, *++s);
				break;
			}
			depth++;
			strbuf_addch(out, '\n');
			for (i = 0; i < depth; i++)
				strbuf_addstr(out, "  ");
			break;
		case '}':
		case ']':
			depth--;
			strbuf_addch(out, '\n');
			for (i = 0; i < depth; i++)
				strbuf_addstr(out, "  ");
			strbuf_addch(out, c);
			break;
		case ',':
			strbuf_addstr(out, ",\n");
			for (i = 0; i < depth; i++)
				strbuf_addstr(out, "  ");
			break;
		case ':':
			strbuf_addstr(out, ": ");
			break;
		default:
			strbuf_addch(out, c);
		}
	}
	strbuf_addch(out, '\n');
}

void schema_json(struct strbuf *sb)
{
	struct strbuf raw = STRBUF_INIT, body = STRBUF_INIT;

	static const struct {
		const char *name;
		const struct object *o;
	} defs[] = { { "model", &model },
		     { "layer", &layer_value },
		     { "layer_item", &layer_item },
		     { "exclude", &exclude },
		     { "figure", &figure },
		     { "ablation", &ablation } };
	size_t i;

	object(&body, &top);
	body.buf[body.len - 1] = ','; /* the definitions join the top-level object */
	strbuf_addstr(&body, "\"definitions\":{");
	for (i = 0; i < ARRAY_SIZE(defs); i++) {
		strbuf_addstr(&body, i ? ",\"" : "\"");
		strbuf_addstr(&body, defs[i].name);
		strbuf_addstr(&body, "\":");
		object(&body, defs[i].o);
	}
	strbuf_addstr(&body, "}}");
	/* the top-level object's members follow the schema's own, in one object */
	strbuf_addstr(&raw, "{\"$schema\":\"http://json-schema.org/draft-07/schema#\","
			    "\"title\":\"camlab experiment\","
			    "\"description\":\"A camlab experiment spec (YAML), from the key tables of "
			    "camlab " CAMLAB_VERSION
			    " (camlab help schema). camlab check validates the rest: names, files, the "
			    "grid.\",");
	strbuf_addstr(&raw, body.buf + 1);
	indent(sb, raw.buf);
	strbuf_release(&body);
	strbuf_release(&raw);
}
