/*
 * compose.c - a YAML spec made of several files and the command line's overrides (override.h): the
 * files its `include` key names are read (relative to the including file, recursively, a cycle and
 * nesting past MAX_INCLUDE_DEPTH refused) and merged in order, later files and the including file
 * winning key by key; then each override is put at its path. The result is one libyaml document, which
 * yaml.c reads as if it were one file, with each node's position in the file (or the argument) it came
 * from, so that an error points where the wrong value was written.
 *
 * Merging: two mappings merge key by key (recursively); anything else is replaced by the later value.
 * `models` is merged by name: a later mapping of models refines the models of the same name and adds
 * the others; a later list is the experiment's models in its order, where an item naming an included
 * model (a bare name, or a mapping with that `name`) is that model, refined by the item's keys.
 */
#include "dsl/yaml_front.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dsl/front.h"
#include "dsl/keys.h"
#include "lib/error.h"
#include "lib/fs.h"
#include "lib/suggest.h"
#include "lib/xalloc.h"

/* Far beyond any honest spec's sharing, and a cycle's report stays short. */
#define MAX_INCLUDE_DEPTH 16
/* Nodes once aliases are expanded: an alias bomb stops here, an honest spec is far below. */
#define MAX_NODES (1u << 20)

/* A node of the merged tree: a scalar's text is borrowed from a document or a composer-owned copy. */
struct mnode {
	yaml_node_type_t type;
	const char *text;
	size_t len;
	yaml_scalar_style_t style;
	struct src_pos pos;
	struct mnode **keys, **vals; /* a mapping's pairs; a sequence's items in vals */
	size_t nr, kalloc, valloc;
};

struct composer {
	struct yctx *c;
	struct diag *d;
	yaml_document_t *docs; /* every document read; their scalars are borrowed by the tree */
	size_t nr_docs, alloc_docs;
	struct mnode **pool;
	size_t nr_pool, alloc_pool;
	char *real[MAX_INCLUDE_DEPTH + 1]; /* the chain of files being read, resolved */
	int depth;
	int too_many;
	int failed; /* the spec's own file could not be read or parsed */
	const char *text; /* the spec's own bytes, read by load.c */
	size_t len;
};

static struct mnode *new_node(struct composer *k, yaml_node_type_t type, struct src_pos pos)
{
	struct mnode *n = xcalloc(1, sizeof(*n));

	n->type = type;
	n->pos = pos;
	ALLOC_GROW(k->pool, k->nr_pool + 1, k->alloc_pool);
	k->pool[k->nr_pool++] = n;
	return n;
}

static struct mnode *new_scalar(struct composer *k, const char *text, struct src_pos pos)
{
	struct mnode *n = new_node(k, YAML_SCALAR_NODE, pos);

	n->text = text;
	n->len = strlen(text);
	n->style = YAML_PLAIN_SCALAR_STYLE;
	return n;
}

static void add_pair(struct mnode *m, struct mnode *key, struct mnode *val)
{
	ALLOC_GROW(m->vals, m->nr + 1, m->valloc);
	if (key) {
		ALLOC_GROW(m->keys, m->nr + 1, m->kalloc);
		m->keys[m->nr] = key;
	}
	m->vals[m->nr++] = val;
}

static int is_null(const struct mnode *n)
{
	const char *s = n->text;
	if (n->type != YAML_SCALAR_NODE || n->style != YAML_PLAIN_SCALAR_STYLE)
		return 0;
	return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") || !strcmp(s, "NULL");
}

static const char *scalar(const struct mnode *n)
{
	return n && n->type == YAML_SCALAR_NODE && !is_null(n) ? n->text : NULL;
}

/* ---- documents into trees ---- */

/* Parse text, checked as yaml_text.c checks a spec, with positions in name. 0, or -1 after errors. */
static int parse_doc(struct composer *k, const char *name, const struct strbuf *sb, yaml_document_t **out)
{
	struct experiment where;
	struct yctx sub;
	yaml_parser_t parser;
	struct src_pos nowhere = { name, 0, 0 };

	memset(&where, 0, sizeof(where));
	where.file = (char *)name; /* yaml_text.c places its errors in c->e->file */
	memset(&sub, 0, sizeof(sub));
	sub.e = &where;
	sub.d = k->d;
	if (yspec_check_depth(&sub, sb) < 0)
		return -1;
	if (!yaml_parser_initialize(&parser)) {
		diag_error(k->d, nowhere, "out of memory reading the spec");
		return -1;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)sb->buf, sb->len);
	if (!yaml_parser_load(&parser, &sub.doc)) {
		yspec_syntax_error(&sub, &parser, sb);
		yaml_parser_delete(&parser);
		return -1;
	}
	yspec_check_one_document(&sub, &parser, sb);
	yaml_parser_delete(&parser);
	ALLOC_GROW(k->docs, k->nr_docs + 1, k->alloc_docs);
	k->docs[k->nr_docs] = sub.doc;
	*out = &k->docs[k->nr_docs++];
	return 0;
}

/*
 * The tree of node n of doc, its positions in file (line 0: an argument, placed by its name only).
 * Aliases are copied, counted against MAX_NODES.
 */
static struct mnode *tree(struct composer *k, yaml_document_t *doc, yaml_node_t *n, const char *file, int lines,
			  int depth)
{
	struct src_pos pos = { file, 0, 0 };
	struct mnode *m;

	if (lines) {
		pos.line = (int)n->start_mark.line + 1;
		pos.col = (int)n->start_mark.column + 1;
	}
	if (k->nr_pool >= MAX_NODES || depth > SPEC_MAX_DEPTH) {
		if (!k->too_many++)
			diag_error(k->d, pos, "the spec's aliases expand to more than %u values", MAX_NODES);
		return new_scalar(k, "", pos);
	}
	m = new_node(k, n->type, pos);
	if (n->type == YAML_SCALAR_NODE) {
		m->text = (const char *)n->data.scalar.value;
		m->len = n->data.scalar.length;
		m->style = n->data.scalar.style;
	} else if (n->type == YAML_SEQUENCE_NODE) {
		yaml_node_item_t *it;
		for (it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
			yaml_node_t *v = yaml_document_get_node(doc, *it);
			if (v)
				add_pair(m, NULL, tree(k, doc, v, file, lines, depth + 1));
		}
	} else if (n->type == YAML_MAPPING_NODE) {
		yaml_node_pair_t *p;
		for (p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
			yaml_node_t *kn = yaml_document_get_node(doc, p->key), *vn = yaml_document_get_node(doc, p->value);
			if (kn && vn)
				add_pair(m, tree(k, doc, kn, file, lines, depth + 1), tree(k, doc, vn, file, lines, depth + 1));
		}
	}
	return m;
}

/* ---- merging ---- */

/* A top-level key's id (aliases share one: model and models), or -1. */
static int top_id(const struct mnode *key)
{
	const char *s = scalar(key);
	size_t i;

	for (i = 0; s && i < ARRAY_SIZE(exp_top_keys); i++)
		if (!strcmp(s, exp_top_keys[i].name))
			return exp_top_keys[i].id;
	return -1;
}

static int same_key(const struct mnode *a, const struct mnode *b, int top)
{
	const char *x = scalar(a), *y = scalar(b);

	if (top && top_id(a) >= 0)
		return top_id(a) == top_id(b);
	return x && y && !strcmp(x, y);
}

/* The value of a mapping's key name, or NULL. */
static struct mnode *get(const struct mnode *m, const char *name)
{
	size_t i;

	for (i = 0; m->type == YAML_MAPPING_NODE && i < m->nr; i++)
		if (scalar(m->keys[i]) && !strcmp(scalar(m->keys[i]), name))
			return m->vals[i];
	return NULL;
}

static const char *item_name(const struct mnode *item)
{
	return item->type == YAML_MAPPING_NODE && get(item, "name") ? scalar(get(item, "name")) : NULL;
}

static struct mnode *merge_models(struct composer *k, struct mnode *a, struct mnode *b);

static struct mnode *merge(struct composer *k, struct mnode *a, struct mnode *b, int top)
{
	struct mnode *r;
	size_t na, i, j;
	char *replaced;

	if (a->type != YAML_MAPPING_NODE || b->type != YAML_MAPPING_NODE)
		return b;
	r = new_node(k, YAML_MAPPING_NODE, b->pos);
	for (i = 0; i < a->nr; i++)
		add_pair(r, a->keys[i], a->vals[i]);
	na = r->nr;
	replaced = xcalloc(na + 1, 1);
	for (i = 0; i < b->nr; i++) {
		for (j = 0; j < na; j++)
			if (!replaced[j] && same_key(r->keys[j], b->keys[i], top))
				break;
		if (j == na) {
			add_pair(r, b->keys[i], b->vals[i]);
			continue;
		}
		replaced[j] = 1;
		r->keys[j] = b->keys[i];
		r->vals[j] = top && top_id(b->keys[i]) == T_MODELS ? merge_models(k, r->vals[j], b->vals[i])
								    : merge(k, r->vals[j], b->vals[i], 0);
	}
	free(replaced);
	return r;
}

/* The j-th of the included models a (a list or a mapping of them) as a list item, with its name. */
static struct mnode *model_item(struct composer *k, struct mnode *a, size_t j)
{
	struct mnode *m, *v;
	size_t i;

	if (a->type == YAML_SEQUENCE_NODE)
		return a->vals[j];
	v = a->vals[j];
	if (v->type != YAML_MAPPING_NODE)
		return v;
	m = new_node(k, YAML_MAPPING_NODE, v->pos);
	add_pair(m, new_scalar(k, "name", a->keys[j]->pos), a->keys[j]);
	for (i = 0; i < v->nr; i++)
		add_pair(m, v->keys[i], v->vals[i]);
	return m;
}

/* The index of the included model called name, or a->nr. */
static size_t find_model(struct composer *k, struct mnode *a, const char *name)
{
	size_t j;

	for (j = 0; j < a->nr; j++) {
		const char *s = a->type == YAML_SEQUENCE_NODE ? item_name(a->vals[j]) : scalar(a->keys[j]);
		if (s && !strcmp(s, name))
			return j;
	}
	return a->nr;
}

static void no_model(struct composer *k, struct mnode *a, const struct mnode *item, const char *name)
{
	const char **cands = xcalloc(a->nr + 1, sizeof(*cands)), *near[1];
	size_t j, n = 0;

	for (j = 0; j < a->nr; j++) {
		const char *s = a->type == YAML_SEQUENCE_NODE ? item_name(a->vals[j]) : scalar(a->keys[j]);
		if (s)
			cands[n++] = s;
	}
	if (suggest_nearest(name, cands, n, near, 1))
		diag_error(k->d, item->pos, "no model '%s' in the included files; did you mean '%s'?", name, near[0]);
	else
		diag_error(k->d, item->pos, "no model '%s' in the included files", name);
	free(cands);
}

static struct mnode *merge_models(struct composer *k, struct mnode *a, struct mnode *b)
{
	struct mnode *r;
	size_t i, j;

	if ((a->type != YAML_MAPPING_NODE && a->type != YAML_SEQUENCE_NODE) ||
	    (b->type != YAML_MAPPING_NODE && b->type != YAML_SEQUENCE_NODE))
		return b;
	if (a->type == YAML_MAPPING_NODE && b->type == YAML_MAPPING_NODE)
		return merge(k, a, b, 0);
	r = new_node(k, YAML_SEQUENCE_NODE, b->pos);
	if (b->type == YAML_MAPPING_NODE) { /* refine and extend a list */
		char *used = xcalloc(b->nr + 1, 1);
		for (j = 0; j < a->nr; j++) {
			const char *name = item_name(a->vals[j]);
			struct mnode *v = name ? get(b, name) : NULL;
			for (i = 0; v && i < b->nr; i++)
				if (b->vals[i] == v)
					used[i] = 1;
			add_pair(r, NULL, v ? merge(k, a->vals[j], v, 0) : a->vals[j]);
		}
		for (i = 0; i < b->nr; i++)
			if (!used[i])
				add_pair(r, NULL, model_item(k, b, i));
		free(used);
		return r;
	}
	for (i = 0; i < b->nr; i++) { /* the list says which models, in its order */
		struct mnode *item = b->vals[i];
		const char *name = item->type == YAML_SCALAR_NODE ? scalar(item) : item_name(item);
		j = name ? find_model(k, a, name) : a->nr;
		if (j < a->nr)
			add_pair(r, NULL, item->type == YAML_SCALAR_NODE ? model_item(k, a, j)
									 : merge(k, model_item(k, a, j), item, 0));
		else if (name && item->type == YAML_SCALAR_NODE)
			no_model(k, a, item, name);
		else
			add_pair(r, NULL, item);
	}
	return r;
}

/* ---- files ---- */

static char *resolve(const char *including, const char *name)
{
	const char *slash = strrchr(including, '/');
	struct strbuf sb = STRBUF_INIT;

	if (name[0] != '/' && slash)
		strbuf_add(&sb, including, (size_t)(slash - including + 1));
	strbuf_addstr(&sb, name);
	return strbuf_detach(&sb, NULL);
}

static struct mnode *load_file(struct composer *k, const char *path, int parent, struct src_pos at);

/* Read the files root's include key names, and merge root over them; root without the key. */
static struct mnode *includes(struct composer *k, struct mnode *root, int self)
{
	struct experiment *e = k->c->e;
	struct mnode *v = NULL, *base = NULL, *one[1], **list;
	size_t i, n;

	for (i = 0; i < root->nr; i++)
		if (scalar(root->keys[i]) && !strcmp(scalar(root->keys[i]), "include") &&
		    root->keys[i]->style == YAML_PLAIN_SCALAR_STYLE)
			break;
	if (i == root->nr)
		return root;
	v = root->vals[i];
	memmove(root->keys + i, root->keys + i + 1, (root->nr - i - 1) * sizeof(*root->keys));
	memmove(root->vals + i, root->vals + i + 1, (root->nr - i - 1) * sizeof(*root->vals));
	root->nr--;
	if (v->type == YAML_SEQUENCE_NODE) {
		list = v->vals;
		n = v->nr;
	} else {
		one[0] = v;
		list = one;
		n = is_null(v) ? 0 : 1;
	}
	for (i = 0; i < n; i++) {
		struct mnode *sub;
		char *path;
		if (list[i]->type != YAML_SCALAR_NODE || !*list[i]->text || strlen(list[i]->text) != list[i]->len) {
			diag_error(k->d, list[i]->pos, "expected a file name or a list of them for 'include'");
			continue;
		}
		path = resolve(e->sources[self].name, list[i]->text);
		sub = load_file(k, path, self, list[i]->pos);
		free(path);
		if (sub)
			base = base ? merge(k, base, sub, 1) : sub;
	}
	return base ? merge(k, base, root, 1) : root;
}

/* The file's text: refused unless a regular file of at most SPEC_MAX_BYTES (a device, a FIFO). */
static int read_included(struct composer *k, const char *path, struct strbuf *sb, struct src_pos at)
{
	struct stat st;
	int ret;

	if (stat(path, &st) < 0) {
		diag_error(k->d, at, "cannot include '%s': %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		diag_error(k->d, at, "cannot include '%s': not a regular file", path);
		return -1;
	}
	error_set_quiet(1);
	ret = read_file(path, SPEC_MAX_BYTES, sb);
	error_set_quiet(0);
	if (ret < 0)
		diag_error(k->d, at, "cannot include '%s': %s", path,
			   errno == EFBIG ? "larger than the largest spec" : strerror(errno));
	return ret;
}

static struct mnode *load_file(struct composer *k, const char *path, int parent, struct src_pos at)
{
	struct experiment *e = k->c->e;
	struct strbuf sb = STRBUF_INIT;
	struct src_pos nowhere = { path, 0, 0 };
	yaml_document_t *doc;
	yaml_node_t *root;
	struct mnode *m = NULL;
	char *real;
	int self, i;

	if (parent < 0) { /* the spec itself, as load.c read it */
		nowhere.file = e->file;
		strbuf_add(&sb, k->text, k->len);
	} else {
		if (k->depth >= MAX_INCLUDE_DEPTH) {
			diag_error(k->d, at, "includes nested more than %d deep", MAX_INCLUDE_DEPTH);
			return NULL;
		}
		if (read_included(k, path, &sb, at) < 0)
			return NULL;
	}
	real = realpath(path, NULL);
	for (i = 0; real && i < k->depth; i++)
		if (!strcmp(real, k->real[i])) {
			diag_error(k->d, at, "include cycle: '%s' includes '%s', which is being read", e->sources[parent].name,
				   path);
			free(real);
			strbuf_release(&sb);
			return NULL;
		}
	self = parent < 0 ? experiment_add_source(e, e->file, NULL, sb.buf, sb.len, -1, at)
			  : experiment_add_source(e, path, NULL, sb.buf, sb.len, parent, at);
	if (parent >= 0)
		nowhere.file = e->sources[self].name;
	if (parse_doc(k, nowhere.file, &sb, &doc) < 0) {
		k->failed |= parent < 0;
		goto out;
	}
	root = yaml_document_get_root_node(doc);
	if (root)
		m = tree(k, doc, root, nowhere.file, 1, 0);
	if (parent >= 0 && (!m || is_null(m))) { /* an empty file adds nothing */
		m = new_node(k, YAML_MAPPING_NODE, nowhere);
	} else if (parent >= 0 && m->type != YAML_MAPPING_NODE) {
		diag_error(k->d, m->pos, "an included file must hold a mapping of keys, as a spec does");
		m = NULL;
	}
	if (m && m->type == YAML_MAPPING_NODE) {
		k->real[k->depth++] = real;
		real = NULL;
		m = includes(k, m, self);
		free(k->real[--k->depth]);
	}
out:
	free(real);
	strbuf_release(&sb);
	return m;
}

/* ---- overrides ---- */

static int is_index(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

/* The item of list l that seg names (its index, its name, or a name as the item itself), or l->nr. */
static size_t find_item(const struct mnode *l, const char *seg)
{
	size_t j;

	if (is_index(seg))
		return strlen(seg) < 10 && (size_t)atol(seg) < l->nr ? (size_t)atol(seg) : l->nr;
	for (j = 0; j < l->nr; j++) {
		const char *s = l->vals[j]->type == YAML_SCALAR_NODE ? scalar(l->vals[j]) : item_name(l->vals[j]);
		if (s && !strcmp(s, seg))
			return j;
	}
	return l->nr;
}

static void apply(struct composer *k, struct mnode **rootp, const struct exp_override *o, const char *arg)
{
	struct src_pos pos = { arg, 0, 0 };
	struct mnode *val = NULL, *cur;
	struct strbuf sb = STRBUF_INIT;
	yaml_document_t *doc;
	size_t i, j;

	strbuf_addstr(&sb, o->value);
	if (!*o->value) {
		val = new_scalar(k, "", pos);
	} else if (parse_doc(k, arg, &sb, &doc) == 0) {
		yaml_node_t *n = yaml_document_get_root_node(doc);
		val = n ? tree(k, doc, n, arg, 0, 0) : new_scalar(k, "", pos);
	}
	strbuf_release(&sb);
	if (!val)
		return;
	if (!*rootp || (*rootp)->type != YAML_MAPPING_NODE) {
		if (*rootp) /* the spec is no mapping: yaml.c says so */
			return;
		*rootp = new_node(k, YAML_MAPPING_NODE, pos);
	}
	cur = *rootp;
	for (i = 0; i < o->nr_path; i++) {
		const char *seg = o->path[i];
		int last = i + 1 == o->nr_path;
		if (cur->type == YAML_MAPPING_NODE) {
			struct mnode *key = new_scalar(k, seg, pos);
			for (j = 0; j < cur->nr; j++)
				if (same_key(cur->keys[j], key, cur == *rootp))
					break;
			if (j == cur->nr)
				add_pair(cur, key, last ? val : new_node(k, YAML_MAPPING_NODE, pos));
		} else if (cur->type == YAML_SEQUENCE_NODE) {
			if ((j = find_item(cur, seg)) == cur->nr) {
				diag_error(k->d, pos, "no item '%s' in '%s' (%zu items): name one by its name or its index",
					   seg, o->path[i - 1], cur->nr);
				return;
			}
		} else {
			diag_error(k->d, pos, "'%s' is a value, not a mapping or a list: it has no '%s'",
				   i ? o->path[i - 1] : "the spec", seg);
			return;
		}
		if (last)
			cur->vals[j] = val;
		else
			cur = cur->vals[j];
	}
}

/* ---- the document ---- */

static int emit(struct composer *k, struct mnode *n)
{
	yaml_document_t *doc = &k->c->doc;
	struct yctx *c = k->c;
	size_t i;
	int id, a, b;

	if (n->type == YAML_SCALAR_NODE)
		id = yaml_document_add_scalar(doc, NULL, (const yaml_char_t *)n->text, (int)n->len, n->style);
	else if (n->type == YAML_SEQUENCE_NODE)
		id = yaml_document_add_sequence(doc, NULL, YAML_BLOCK_SEQUENCE_STYLE);
	else
		id = yaml_document_add_mapping(doc, NULL, YAML_BLOCK_MAPPING_STYLE);
	if (!id)
		return 0;
	ALLOC_GROW(c->node_pos, (size_t)id, c->alloc_node_pos);
	c->node_pos[id - 1] = n->pos;
	c->nr_node_pos = (size_t)id > c->nr_node_pos ? (size_t)id : c->nr_node_pos;
	doc->nodes.start[id - 1].start_mark.line = n->pos.line ? (size_t)n->pos.line - 1 : 0;
	doc->nodes.start[id - 1].start_mark.column = n->pos.col ? (size_t)n->pos.col - 1 : 0;
	for (i = 0; i < n->nr; i++) {
		if (n->type == YAML_SEQUENCE_NODE) {
			if (!(a = emit(k, n->vals[i])) || !yaml_document_append_sequence_item(doc, id, a))
				return 0;
		} else if (!(a = emit(k, n->keys[i])) || !(b = emit(k, n->vals[i])) ||
			   !yaml_document_append_mapping_pair(doc, id, a, b)) {
			return 0;
		}
	}
	return id;
}

int yspec_compose(struct yctx *c, const char *file, const char *text, size_t len)
{
	struct experiment *e = c->e;
	struct composer k;
	struct src_pos nowhere = { e->file, 0, 0 };
	struct mnode *root;
	size_t i;
	int ret = 0;

	memset(&k, 0, sizeof(k));
	k.c = c;
	k.d = c->d;
	k.text = text;
	k.len = len;
	root = load_file(&k, file, -1, nowhere);
	if (k.failed) {
		ret = -1;
		goto out;
	}
	for (i = 0; i < e->nr_overrides; i++) {
		int at = experiment_add_source(e, e->overrides[i].arg, e->overrides[i].text, NULL, 0, -1, nowhere);
		apply(&k, &root, &e->overrides[i], e->sources[at].name);
	}
	if (!yaml_document_initialize(&c->doc, NULL, NULL, NULL, 1, 1)) {
		diag_error(c->d, nowhere, "out of memory reading the spec");
		ret = -1;
	} else if (root && !emit(&k, root)) {
		yaml_document_delete(&c->doc);
		diag_error(c->d, nowhere, "out of memory reading the spec");
		ret = -1;
	}
out:
	for (i = 0; i < k.nr_docs; i++)
		yaml_document_delete(&k.docs[i]);
	free(k.docs);
	for (i = 0; i < k.nr_pool; i++) {
		free(k.pool[i]->keys);
		free(k.pool[i]->vals);
		free(k.pool[i]);
	}
	free(k.pool);
	return ret;
}
