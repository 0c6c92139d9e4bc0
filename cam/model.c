/*
 * model.c - loading a classifier with its sidecar metadata, and cutting it at a named layer with a
 * useful error when the name is wrong (see model.h).
 */
#include "cam/model.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "lib/error.h"
#include "lib/strbuf.h"
#include "lib/suggest.h"
#include "lib/xalloc.h"

static void free_strings(char **v, size_t n)
{
	size_t i;
	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void free_classes(struct model_meta *meta)
{
	if (meta->class_ids)
		free_strings(meta->class_ids, meta->nr_classes);
	free_strings(meta->classes, meta->nr_classes);
	meta->classes = meta->class_ids = NULL;
	meta->nr_classes = 0;
}

void model_meta_release(struct model_meta *meta)
{
	size_t i;
	free_classes(meta);
	for (i = 0; i < meta->nr_layers; i++) {
		free(meta->layers[i].name);
		free(meta->layers[i].path);
	}
	free(meta->layers);
	*meta = (struct model_meta)MODEL_META_INIT;
}

/* ---- reading YAML (and JSON, which libyaml reads as YAML) documents ---- */

static int load_document(const char *file, yaml_document_t *doc)
{
	FILE *fp = fopen(file, "rb");
	yaml_parser_t parser;
	int ok;

	if (!fp)
		return error("cannot open '%s'", file);
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_file(&parser, fp);
	ok = yaml_parser_load(&parser, doc);
	if (!ok) {
		error("%s:%lu:%lu: %s", file, (unsigned long)parser.problem_mark.line + 1,
		      (unsigned long)parser.problem_mark.column + 1,
		      parser.problem ? parser.problem : "invalid YAML");
	}
	yaml_parser_delete(&parser);
	fclose(fp);
	if (!ok)
		return -1;
	if (!yaml_document_get_root_node(doc)) {
		yaml_document_delete(doc);
		return error("'%s' is empty", file);
	}
	return 0;
}

static const char *scalar(yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static int node_error(const char *file, yaml_node_t *n, const char *msg, const char *key)
{
	return error("%s:%lu:%lu: %s '%s'", file, (unsigned long)n->start_mark.line + 1,
		     (unsigned long)n->start_mark.column + 1, msg, key);
}

static int parse_int(const char *file, yaml_node_t *n, const char *key, int *out)
{
	const char *s = scalar(n);
	char *end;
	long v;
	if (!s)
		return node_error(file, n, "expected an integer for", key);
	v = strtol(s, &end, 10);
	if (*end || end == s || v < 0 || v > 1 << 16)
		return node_error(file, n, "expected a non-negative integer for", key);
	*out = (int)v;
	return 0;
}

static int parse_triple(const char *file, yaml_document_t *doc, yaml_node_t *n, const char *key,
			float out[3])
{
	yaml_node_item_t *it;
	int i = 0;
	if (n->type != YAML_SEQUENCE_NODE)
		return node_error(file, n, "expected a list of three numbers for", key);
	for (it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++, i++) {
		const char *s = scalar(yaml_document_get_node(doc, *it));
		char *end;
		if (i >= 3 || !s)
			return node_error(file, n, "expected a list of three numbers for", key);
		out[i] = strtof(s, &end);
		if (*end || end == s)
			return node_error(file, n, "expected a number in", key);
	}
	if (i != 3)
		return node_error(file, n, "expected a list of three numbers for", key);
	return 0;
}

static char *dirname_join(const char *base_file, const char *rel)
{
	struct strbuf sb = STRBUF_INIT;
	const char *slash = strrchr(base_file, '/');
	if (rel[0] != '/' && slash)
		strbuf_add(&sb, base_file, (size_t)(slash - base_file + 1));
	strbuf_addstr(&sb, rel);
	return strbuf_detach(&sb, NULL);
}

static const char *const meta_keys[] = { "input_size", "resize", "mean", "std", "classes",
					 "classes_file", "layers" };

int model_meta_read(struct model_meta *meta, const char *file)
{
	yaml_document_t doc;
	yaml_node_t *root;
	yaml_node_pair_t *p;
	int ret = 0;

	if (load_document(file, &doc) < 0)
		return -1;
	root = yaml_document_get_root_node(&doc);
	if (root->type != YAML_MAPPING_NODE) {
		yaml_document_delete(&doc);
		return error("%s: expected a mapping of metadata keys", file);
	}
	for (p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top; p++) {
		yaml_node_t *kn = yaml_document_get_node(&doc, p->key);
		yaml_node_t *vn = yaml_document_get_node(&doc, p->value);
		const char *key = scalar(kn);
		if (!key) {
			ret = node_error(file, kn, "expected a key name", "");
		} else if (!strcmp(key, "input_size")) {
			ret |= parse_int(file, vn, key, &meta->input_size);
		} else if (!strcmp(key, "resize")) {
			ret |= parse_int(file, vn, key, &meta->resize);
		} else if (!strcmp(key, "mean") || !strcmp(key, "std")) {
			ret |= parse_triple(file, &doc, vn, key, key[0] == 'm' ? meta->mean : meta->std);
			meta->have_norm = 1;
		} else if (!strcmp(key, "classes")) {
			yaml_node_item_t *it;
			if (vn->type != YAML_SEQUENCE_NODE) {
				ret = node_error(file, vn, "expected a list of class names for", key);
				continue;
			}
			free_classes(meta);
			for (it = vn->data.sequence.items.start; it < vn->data.sequence.items.top; it++) {
				const char *s = scalar(yaml_document_get_node(&doc, *it));
				meta->classes = xrealloc(meta->classes,
							 (meta->nr_classes + 1) * sizeof(char *));
				meta->classes[meta->nr_classes++] = xstrdup(s ? s : "?");
			}
		} else if (!strcmp(key, "classes_file")) {
			char *path;
			if (!scalar(vn)) {
				ret = node_error(file, vn, "expected a file name for", key);
				continue;
			}
			path = dirname_join(file, scalar(vn));
			ret |= model_meta_read_classes(meta, path);
			free(path);
		} else if (!strcmp(key, "layers")) {
			if (vn->type != YAML_MAPPING_NODE) {
				ret = node_error(file, vn, "expected a mapping of layer names for", key);
				continue;
			}
			yaml_node_pair_t *lp;
			for (lp = vn->data.mapping.pairs.start; lp < vn->data.mapping.pairs.top; lp++) {
				const char *name = scalar(yaml_document_get_node(&doc, lp->key));
				const char *path = scalar(yaml_document_get_node(&doc, lp->value));
				if (!name || !path) {
					ret = node_error(file, vn, "expected name: module.path pairs in",
							 key);
					break;
				}
				meta->layers = xrealloc(meta->layers,
							(meta->nr_layers + 1) * sizeof(*meta->layers));
				meta->layers[meta->nr_layers].name = xstrdup(name);
				meta->layers[meta->nr_layers].path = xstrdup(path);
				meta->nr_layers++;
			}
		} else {
			const char *near[1];
			size_t n = suggest_nearest(key, meta_keys, sizeof(meta_keys) / sizeof(*meta_keys),
						   near, 1);
			if (n)
				error("%s:%lu:%lu: unknown key '%s'; did you mean '%s'?", file,
				      (unsigned long)kn->start_mark.line + 1,
				      (unsigned long)kn->start_mark.column + 1, key, near[0]);
			else
				node_error(file, kn, "unknown key", key);
			ret = -1;
		}
	}
	yaml_document_delete(&doc);
	return ret ? -1 : 0;
}

static int read_classes_json(struct model_meta *meta, const char *file)
{
	yaml_document_t doc;
	yaml_node_t *root;
	yaml_node_pair_t *p;
	size_t n;

	if (load_document(file, &doc) < 0)
		return -1;
	root = yaml_document_get_root_node(&doc);
	if (root->type != YAML_MAPPING_NODE) {
		yaml_document_delete(&doc);
		return error("'%s': expected {\"index\": [id, name], ...}", file);
	}
	n = (size_t)(root->data.mapping.pairs.top - root->data.mapping.pairs.start);
	meta->classes = xcalloc(n, sizeof(char *));
	meta->class_ids = xcalloc(n, sizeof(char *));
	meta->nr_classes = n;
	for (p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top; p++) {
		const char *k = scalar(yaml_document_get_node(&doc, p->key));
		yaml_node_t *v = yaml_document_get_node(&doc, p->value);
		const char *name = NULL;
		char *end;
		long idx = k ? strtol(k, &end, 10) : -1;
		if (!k || *end || idx < 0 || (size_t)idx >= n)
			continue;
		if (v->type == YAML_SEQUENCE_NODE &&
		    v->data.sequence.items.top > v->data.sequence.items.start) {
			const char *id = scalar(yaml_document_get_node(&doc, *v->data.sequence.items.start));
			name = scalar(yaml_document_get_node(&doc, v->data.sequence.items.top[-1]));
			if (v->data.sequence.items.top - v->data.sequence.items.start > 1 && id) {
				free(meta->class_ids[idx]);
				meta->class_ids[idx] = xstrdup(id);
			}
		} else {
			name = scalar(v);
		}
		free(meta->classes[idx]);
		meta->classes[idx] = xstrdup(name ? name : "?");
	}
	for (n = 0; n < meta->nr_classes; n++) {
		if (!meta->classes[n])
			meta->classes[n] = xstrdup("?");
		if (!meta->class_ids[n])
			meta->class_ids[n] = xstrdup("");
	}
	yaml_document_delete(&doc);
	return 0;
}

int model_meta_read_classes(struct model_meta *meta, const char *file)
{
	FILE *fp;
	char line[1024];
	size_t len = strlen(file);

	free_classes(meta);
	if (len > 5 && !strcmp(file + len - 5, ".json"))
		return read_classes_json(meta, file);
	fp = fopen(file, "r");
	if (!fp)
		return error("cannot open class names '%s'", file);
	while (fgets(line, sizeof(line), fp)) {
		size_t l = strcspn(line, "\r\n");
		line[l] = '\0';
		meta->classes = xrealloc(meta->classes, (meta->nr_classes + 1) * sizeof(char *));
		meta->classes[meta->nr_classes++] = xstrdup(line);
	}
	fclose(fp);
	return 0;
}

/* ---- models ---- */

static void collect_path(const char *path, const char *type, void *ud)
{
	struct model *m = ud;
	m->paths = xrealloc(m->paths, (m->nr_paths + 1) * sizeof(char *));
	m->types = xrealloc(m->types, (m->nr_paths + 1) * sizeof(char *));
	m->paths[m->nr_paths] = xstrdup(path);
	m->types[m->nr_paths] = xstrdup(type);
	m->nr_paths++;
}

char *model_sidecar_path(const char *model_path)
{
	struct strbuf sb = STRBUF_INIT;
	const char *slash = strrchr(model_path, '/');
	const char *dot = strrchr(model_path, '.');
	if (dot && (!slash || dot > slash))
		strbuf_add(&sb, model_path, (size_t)(dot - model_path));
	else
		strbuf_addstr(&sb, model_path);
	strbuf_addstr(&sb, ".yaml");
	return strbuf_detach(&sb, NULL);
}

int model_load(struct model *m, const char *path, const char *device)
{
	char *side;
	FILE *probe;

	memset(m, 0, sizeof(*m));
	m->meta = (struct model_meta)MODEL_META_INIT;
	probe = fopen(path, "rb");
	if (!probe)
		return error("cannot open model '%s'", path);
	fclose(probe);
	m->mod = ts_module_load(path, device);
	if (!m->mod)
		return error("cannot load model '%s': %s", path, ts_error());
	m->path = xstrdup(path);
	m->device = xstrdup(device);
	if (ts_module_paths(m->mod, collect_path, m) < 0) {
		error("cannot list the modules of '%s': %s", path, ts_error());
		model_release(m);
		return -1;
	}
	side = model_sidecar_path(path);
	probe = fopen(side, "r");
	if (probe) {
		fclose(probe);
		if (model_meta_read(&m->meta, side) < 0) {
			free(side);
			model_release(m);
			return -1;
		}
	}
	free(side);
	return 0;
}

void model_release(struct model *m)
{
	if (m->mod)
		ts_module_free(m->mod);
	free(m->path);
	free(m->device);
	free_strings(m->paths, m->nr_paths);
	free_strings(m->types, m->nr_paths);
	model_meta_release(&m->meta);
	memset(m, 0, sizeof(*m));
}

const char *model_layer_path(const struct model *m, const char *name)
{
	size_t i;
	for (i = 0; i < m->meta.nr_layers; i++)
		if (!strcmp(m->meta.layers[i].name, name))
			return m->meta.layers[i].path;
	return name;
}

static int unknown_layer(const struct model *m, const char *layer)
{
	struct strbuf sb = STRBUF_INIT;
	const char **cands = xmalloc((m->nr_paths + m->meta.nr_layers + 1) * sizeof(char *));
	const char *near[5];
	size_t n = 0, i, k;

	for (i = 1; i < m->nr_paths; i++) /* [0] is the root, "" */
		cands[n++] = m->paths[i];
	for (i = 0; i < m->meta.nr_layers; i++)
		cands[n++] = m->meta.layers[i].name;
	k = suggest_nearest(layer, cands, n, near, 5);
	strbuf_addf(&sb, "unknown layer '%s' in '%s'", layer, m->path);
	if (k) {
		strbuf_addf(&sb, "; did you mean '%s'", near[0]);
		for (i = 1; i < k; i++)
			strbuf_addf(&sb, "%s'%s'", i + 1 == k ? " or " : ", ", near[i]);
		strbuf_addstr(&sb, "?");
	} else {
		/* Nothing close: show where the names start, so the user sees how the model names them. */
		strbuf_addstr(&sb, "; its modules include");
		for (i = 1; i < m->nr_paths && i <= 8; i++)
			strbuf_addf(&sb, "%s'%s'", i == 1 ? " " : ", ", m->paths[i]);
		if (m->nr_paths > 9)
			strbuf_addstr(&sb, ", ... (camlab layers --model M lists them all)");
	}
	error("%s", sb.buf);
	strbuf_release(&sb);
	free(cands);
	return -1;
}

int model_split(struct model *m, const char *layer, enum ts_layout layout, ts_split **out)
{
	const char *path = model_layer_path(m, layer);
	size_t i;

	for (i = 1; i < m->nr_paths; i++)
		if (!strcmp(m->paths[i], path))
			break;
	if (i == m->nr_paths)
		return unknown_layer(m, layer);
	/* Transformers' LayerNorm outputs are channels-last (Swin) or tokens (ViT), never BCHW. */
	if (layout == TS_LAYOUT_AUTO && !strcmp(m->types[i], "LayerNorm"))
		layout = TS_LAYOUT_AUTO_LAST;
	*out = ts_split_new(m->mod, path, layout);
	if (!*out)
		return error("cannot cut '%s' at layer '%s': %s", m->path, path, ts_error());
	return 0;
}

const char *model_class_name(const struct model *m, long index)
{
	if (index < 0 || (size_t)index >= m->meta.nr_classes)
		return NULL;
	return m->meta.classes[index];
}

/* Names match ignoring case and with ' ' and '_' alike ("bull mastiff" is ImageNet's "bull_mastiff"). */
static int same_class_name(const char *a, const char *b)
{
	for (; *a && *b; a++, b++) {
		int ca = *a == '_' ? ' ' : tolower((unsigned char)*a);
		int cb = *b == '_' ? ' ' : tolower((unsigned char)*b);
		if (ca != cb)
			return 0;
	}
	return !*a && !*b;
}

/*
 * Exact matches first, then loose ones. Returns the index, -1 when no class has the name, -2 when
 * several have (ImageNet has two "crane"s and two "maillot"s), filling found[0..1] with the first two.
 */
static long class_lookup(const struct model *m, const char *name, long found[2], size_t *nr_found)
{
	size_t nr = 0, i;
	int loose;

	for (loose = 0; loose < 2 && !nr; loose++)
		for (i = 0; i < m->meta.nr_classes; i++)
			if (loose ? same_class_name(m->meta.classes[i], name) : !strcmp(m->meta.classes[i], name)) {
				if (nr < 2)
					found[nr] = (long)i;
				nr++;
			}
	*nr_found = nr;
	return nr == 1 ? found[0] : nr ? -2 : -1;
}

long model_class_index(const struct model *m, const char *name)
{
	long found[2];
	size_t nr;
	long idx = class_lookup(m, name, found, &nr);

	if (idx == -2)
		error("class name '%s' is ambiguous: %zu classes are called that (%ld, %ld%s); give the index", name,
		      nr, found[0], found[1], nr > 2 ? ", ..." : "");
	return idx;
}

long *model_label_map(const struct model *m, const struct dataset *ds)
{
	size_t n = ds->nr_classes, i, matched = 0;
	long *map;
	int identity = 1;
	const char *unmatched = NULL;

	if (!ds->classes || !m->meta.nr_classes)
		return NULL;
	map = xcalloc(n, sizeof(*map));
	for (i = 0; i < n; i++) {
		long found[2];
		size_t nr, k;
		map[i] = -1;
		for (k = 0; m->meta.class_ids && k < m->meta.nr_classes && map[i] < 0; k++)
			if (*m->meta.class_ids[k] && !strcmp(m->meta.class_ids[k], ds->classes[i]))
				map[i] = (long)k;
		if (map[i] < 0)
			map[i] = class_lookup(m, ds->classes[i], found, &nr);
		if (map[i] >= 0)
			matched++;
		else if (!unmatched)
			unmatched = ds->classes[i];
		identity &= map[i] == (long)i;
	}
	if (matched == n && !identity) {
		for (i = 0; map[i] == (long)i; i++)
			;
		fprintf(stderr,
			"note: the dataset's class folders are named after the model's classes, so their "
			"labels are "
			"those classes (folder '%s' is class %ld, not %zu as its sorted position)\n",
			ds->classes[i], map[i], i);
		return map;
	}
	if (matched && matched < n)
		warning("%zu of the dataset's %zu class folders are named after the model's classes but '%s' "
			"is "
			"not: labels are the folders' sorted positions, as torchvision's ImageFolder numbers "
			"them",
			matched, n, unmatched);
	else if (!matched && n != m->meta.nr_classes)
		warning("the dataset has %zu class folders and the model %zu classes, none named after a "
			"folder: "
			"labels are the folders' sorted positions, which 'true' targets and accuracy take as "
			"the "
			"model's classes",
			n, m->meta.nr_classes);
	free(map);
	return NULL;
}

const char *model_last_linear(const struct model *m)
{
	size_t i = m->nr_paths;
	while (i-- > 1)
		if (!strcmp(m->types[i], "Linear"))
			return m->paths[i];
	return NULL;
}

ts_tensor *model_head_weight(const struct model *m)
{
	const char *fc = model_last_linear(m);
	struct strbuf sb = STRBUF_INIT;
	ts_tensor *w;

	if (!fc)
		return NULL;
	strbuf_addf(&sb, "%s.weight", fc);
	w = ts_module_attr(m->mod, sb.buf);
	strbuf_release(&sb);
	return w;
}

const char *const model_precision_names[TS_PRECISION_NR] = {
	[TS_PRECISION_FP32] = "fp32",
	[TS_PRECISION_BF16] = "bf16",
	[TS_PRECISION_FP16] = "fp16",
	[TS_PRECISION_TF32] = "tf32",
};

int model_precision_parse(const char *name, enum ts_precision *out)
{
	const char *near[1];
	int i;
	for (i = 0; i < TS_PRECISION_NR; i++) {
		if (!strcmp(name, model_precision_names[i])) {
			*out = (enum ts_precision)i;
			return 0;
		}
	}
	if (suggest_nearest(name, model_precision_names, TS_PRECISION_NR, near, 1))
		return error("unknown precision '%s'; did you mean '%s'?", name, near[0]);
	return error("unknown precision '%s': use fp32, tf32, bf16 or fp16", name);
}

int model_layout_parse(const char *name, enum ts_layout *out)
{
	static const struct {
		const char *name;
		enum ts_layout layout;
	} layouts[] = {
		{ "auto", TS_LAYOUT_AUTO },
		{ "bchw", TS_LAYOUT_BCHW },
		{ "bhwc", TS_LAYOUT_BHWC },
		{ "bnc", TS_LAYOUT_BNC },
	};
	size_t i;
	for (i = 0; i < sizeof(layouts) / sizeof(*layouts); i++) {
		if (!strcmp(name, layouts[i].name)) {
			*out = layouts[i].layout;
			return 0;
		}
	}
	return error("unknown layout '%s': use auto, bchw, bhwc or bnc", name);
}

int model_grid_parse(const char *text, int *h, int *w)
{
	char *end;
	long a, b;

	a = strtol(text, &end, 10);
	if (end != text && *end == '\0') {
		b = a;
	} else if (end != text && (*end == 'x' || *end == ',')) {
		const char *rest = end + 1;
		b = strtol(rest, &end, 10);
		if (end == rest || *end)
			a = 0;
	} else {
		a = 0;
	}
	if (a < 1 || b < 1 || a > 65536 || b > 65536)
		return error("bad grid '%s': use HxW (e.g. 14x14), H,W or N", text);
	*h = (int)a;
	*w = (int)b;
	return 0;
}

int model_split_tokens(ts_split *split, const char *layer, int prefix_tokens, int grid_h, int grid_w)
{
	if (prefix_tokens < 0 && !grid_h && !grid_w)
		return 0;
	if (ts_split_set_tokens(split, prefix_tokens, grid_h, grid_w) < 0)
		return error("layer '%s': %s", layer, ts_error());
	return 0;
}

void model_describe_layout(const ts_split *split, struct strbuf *sb)
{
	int p, h, w;

	switch (ts_split_layout(split)) {
	case TS_LAYOUT_BHWC:
		strbuf_addstr(sb, "bhwc");
		return;
	case TS_LAYOUT_BNC:
		ts_split_tokens(split, &p, &h, &w);
		if (p < 0)
			strbuf_addstr(sb, "bnc");
		else
			strbuf_addf(sb, "bnc %d+%dx%d", p, h, w);
		return;
	default:
		strbuf_addstr(sb, "bchw");
		return;
	}
}

int model_preprocess(const struct model *m, int size, int resize, const float *mean, const float *std,
		     struct preprocess *pp)
{
	static const float imagenet_mean[3] = { 0.485f, 0.456f, 0.406f };
	static const float imagenet_std[3] = { 0.229f, 0.224f, 0.225f };

	memset(pp, 0, sizeof(*pp));
	pp->crop = size >= 0 ? size : m->meta.input_size;
	if (resize >= 0)
		pp->resize = resize;
	else if (size < 0 || size == m->meta.input_size)
		pp->resize = m->meta.resize;
	else if (m->meta.input_size > 0) /* another crop, in the metadata's proportion */
		pp->resize = (int)(size * (double)m->meta.resize / m->meta.input_size + 0.5);
	else
		pp->resize = size ? (int)(size * 256.0 / 224.0 + 0.5) : 0;
	memcpy(pp->mean, mean ? mean : m->meta.have_norm ? m->meta.mean : imagenet_mean, sizeof(pp->mean));
	memcpy(pp->std, std ? std : m->meta.have_norm ? m->meta.std : imagenet_std, sizeof(pp->std));
	return !m->meta.have_norm && (!mean || !std);
}
