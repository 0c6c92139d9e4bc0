/*
 * gallery.c - heatmap figures from the heatmaps and inputs tables of the results database (see
 * gallery.h), drawn with figure_grid.
 */
#include "reports/gallery.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cam/overlay.h"
#include "lib/error.h"
#include "lib/xalloc.h"
#include "reports/figure.h"
#include "reports/table.h"
#include "store/store.h"

enum by { BY_METHOD, BY_UTILITY, BY_TARGET };

/* A run with a heatmap of the figure's image. */
struct cand {
	const struct result *x;
	struct image over;	/* the overlay */
	long cls;		/* the class it explains, -1 if unknown */
	size_t row, col;
};

static const char *dim(const struct result *x, enum by b)
{
	return b == BY_METHOD ? x->method : b == BY_UTILITY ? x->utility : x->target;
}

static int cmp_target(const char *a, const char *b)
{
	(void)a;
	(void)b;
	return 0; /* first appearance: the results' order */
}

static int (*const order[])(const char *, const char *) = {
	results_cmp_method,
	results_cmp_utility,
	cmp_target,
};

/* The prepared input of image idx, and the name of its file (its path's last part) appended to name. */
static int load_input(struct store *s, const char *model, long idx, struct image *img, struct strbuf *name)
{
	struct store_input in;
	int ret = -1;

	store_input_init(&in);
	if (store_input_load(&in, s, model, idx) > 0 && image_alloc(img, in.w, in.h) == 0) {
		const char *slash = in.path ? strrchr(in.path, '/') : NULL;
		memcpy(img->rgb, in.rgb, (size_t)in.h * (size_t)in.w * 3);
		if (in.path)
			strbuf_addstr(name, slash ? slash + 1 : in.path);
		ret = 0;
	}
	store_input_release(&in);
	return ret;
}

/* The overlay of run x's heatmap of image idx on in; 1 drawn, 0 no (usable) heatmap stored. */
static int load_overlay(struct store *s, const struct result *x, long idx, const struct image *in,
			struct image *out, long *cls)
{
	struct store_heatmap hm;
	int found = 0, rc;

	store_heatmap_init(&hm);
	rc = store_heatmap_load(&hm, s, x->key, idx);
	*cls = hm.cls;
	if (rc > 0) {
		if (hm.h != in->h || hm.w != in->w || !hm.data)
			warning("heatmap of run %s, image %ld is %dx%d, its input %dx%d; left out of the "
				"figure",
				x->key, idx, hm.w, hm.h, in->w, in->h);
		else
			found = overlay_jet(in, hm.data, 0.5f, out) == 0;
	}
	store_heatmap_release(&hm);
	return rc < 0 ? -1 : found;
}

static size_t add_name(const char ***v, size_t *nr, size_t *alloc, const char *s,
		       int (*cmp)(const char *, const char *))
{
	size_t i, j;
	for (i = 0; i < *nr; i++)
		if (!strcmp((*v)[i], s))
			return i;
	ALLOC_GROW(*v, *nr + 1, *alloc);
	for (i = *nr; i > 0 && cmp((*v)[i - 1], s) > 0; i--)
		;
	for (j = *nr; j > i; j--)
		(*v)[j] = (*v)[j - 1];
	(*v)[i] = s;
	(*nr)++;
	return i;
}

static size_t find_name(const char **v, size_t nr, const char *s)
{
	size_t i;
	for (i = 0; i < nr && strcmp(v[i], s); i++)
		;
	return i;
}

/* Whether the runs of cands differ in dimension b. */
static int varies(const struct cand *c, size_t n, enum by b)
{
	size_t i;
	for (i = 1; i < n; i++)
		if (strcmp(dim(c[i].x, b), dim(c[0].x, b)))
			return 1;
	return 0;
}

static void add_target(struct strbuf *sb, struct store *s, const char *model, const char *target, long cls)
{
	char *name = NULL;

	strbuf_addstr(sb, target);
	if (cls < 0)
		return;
	/* the class's name where the run recorded the model's class names */
	if ((name = store_class_name(s, model, cls)))
		strbuf_addf(sb, ": %s (%ld)", name, cls);
	if (!name && strcmp(target, "class") && strspn(target, "0123456789") != strlen(target))
		strbuf_addf(sb, " (class %ld)", cls);
	free(name);
}

/* The overlays of runs x[0..n) on image in, into c[]: those with a usable heatmap, in x's order. */
static size_t load_cands(struct store *s, const struct result *x, size_t n, long idx, const struct image *in,
			 struct cand *c)
{
	size_t i, k;
	for (i = 0, k = 0; i < n; i++) {
		c[k].x = &x[i];
		image_init(&c[k].over);
		if (load_overlay(s, &x[i], idx, in, &c[k].over, &c[k].cls) > 0)
			k++;
		else
			image_release(&c[k].over);
	}
	return k;
}

/*
 * Where a figure's pictures go: a column per value of the dimension b, a row per pair of values of the
 * two others (other[]); ov[] says which of these vary among the runs, and so label the rows.
 */
struct grid {
	int other[2], ov[2];
	const char **cols;
	size_t nc, ac;
	char **rowkeys; /* "value of other[0]\nvalue of other[1]" of each row */
	size_t nr, ar;
	size_t *top; /* each column's first row with a picture, where its label goes */
};
#define GRID_INIT { { 0, 0 }, { 0, 0 }, NULL, 0, 0, NULL, 0, 0, NULL }

static void grid_release(struct grid *g)
{
	size_t i;
	for (i = 0; i < g->nr; i++)
		free(g->rowkeys[i]);
	free(g->rowkeys);
	free(g->cols);
	free(g->top);
}

/* Lays out the runs of c[0..n) varying b: fills g, and each candidate's row and column. */
static void grid_place(struct grid *g, struct cand *c, size_t n, enum by b)
{
	size_t i, k;

	g->other[0] = b == BY_METHOD ? BY_UTILITY : BY_METHOD;
	g->other[1] = b == BY_TARGET ? BY_UTILITY : BY_TARGET;
	g->ov[0] = varies(c, n, g->other[0]);
	g->ov[1] = varies(c, n, g->other[1]);
	for (i = 0; i < n; i++)
		add_name(&g->cols, &g->nc, &g->ac, dim(c[i].x, b), order[b]);
	/* Rows in the results' order (target, utility, method), which is the order of appearance. */
	for (i = 0; i < n; i++) {
		struct strbuf key = STRBUF_INIT;
		strbuf_addf(&key, "%s\n%s", dim(c[i].x, g->other[0]), dim(c[i].x, g->other[1]));
		for (k = 0; k < g->nr && strcmp(g->rowkeys[k], key.buf); k++)
			;
		if (k == g->nr) {
			ALLOC_GROW(g->rowkeys, g->nr + 1, g->ar);
			g->rowkeys[g->nr++] = strbuf_detach(&key, NULL);
		}
		strbuf_release(&key);
		c[i].row = k;
	}
	g->top = xcalloc(g->nc, sizeof(*g->top));
	for (k = 0; k < g->nc; k++)
		g->top[k] = g->nr;
	for (i = 0; i < n; i++) {
		c[i].col = find_name(g->cols, g->nc, dim(c[i].x, b));
		if (c[i].row < g->top[c[i].col]) /* a column is labelled at its first picture */
			g->top[c[i].col] = c[i].row;
	}
}

/* The cells of a figure, row-major with the input first in each row, and the texts of their labels. */
struct cells {
	size_t nrows, ncols;
	struct figure_cell *cells;
	struct strbuf *labels;	 /* a label per cell; cells[i].label points into labels[i] */
	const char **row_labels; /* owned */
};
#define CELLS_INIT { 0, 0, NULL, NULL, NULL }

static void cells_release(struct cells *t)
{
	size_t i;
	for (i = 0; i < t->nrows * t->ncols; i++)
		strbuf_release(&t->labels[i]);
	for (i = 0; i < t->nrows; i++)
		free((char *)t->row_labels[i]);
	free(t->cells);
	free(t->labels);
	free(t->row_labels);
}

/* Fills t with the input in and the overlays of c[0..n), placed by g, varying b. */
static void cells_fill(struct cells *t, const struct grid *g, const struct cand *c, size_t n, enum by b,
		       struct store *s, const struct image *in)
{
	struct strbuf scratch = STRBUF_INIT;
	size_t i, k;

	t->nrows = g->nr;
	t->ncols = g->nc + 1;
	t->cells = xcalloc(t->nrows * t->ncols, sizeof(*t->cells));
	t->labels = xcalloc(t->nrows * t->ncols, sizeof(*t->labels));
	t->row_labels = xcalloc(t->nrows, sizeof(*t->row_labels));
	for (i = 0; i < t->nrows * t->ncols; i++)
		strbuf_init(&t->labels[i], 0);
	for (k = 0; k < t->nrows; k++) {
		t->cells[k * t->ncols].img = in;
		if (k == 0) {
			strbuf_addstr(&t->labels[0], "input");
			t->cells[0].label = t->labels[0].buf;
		}
	}
	for (i = 0; i < n; i++) {
		size_t cell = c[i].row * t->ncols + 1 + c[i].col;
		struct strbuf *lab = &t->labels[cell];
		t->cells[cell].img = &c[i].over;
		if (c[i].row == g->top[c[i].col] || b == BY_TARGET) {
			if (b == BY_TARGET)
				add_target(lab, s, c[i].x->model, c[i].x->target, c[i].cls);
			else
				strbuf_addstr(lab, figure_label(dim(c[i].x, b), &scratch));
			t->cells[cell].label = lab->buf;
		}
		if (!t->row_labels[c[i].row] && t->nrows > 1) {
			struct strbuf rl = STRBUF_INIT;
			int d;
			for (d = 0; d < 2; d++)
				if (g->ov[d]) {
					if (rl.len)
						strbuf_addch(&rl, '\n');
					strbuf_addstr(&rl, figure_label(dim(c[i].x, (enum by)g->other[d]),
									&scratch));
				}
			t->row_labels[c[i].row] = strbuf_detach(&rl, NULL);
		}
	}
	strbuf_release(&scratch);
}

/* The title of the figure of image idx (its file's name in file): what its pictures all share. */
static void figure_title(struct strbuf *title, struct store *s, long idx, const struct strbuf *file,
			 const struct result *x, const struct grid *g, const struct cand *c)
{
	struct strbuf scratch = STRBUF_INIT;
	size_t k;

	strbuf_addf(title, "Image %ld", idx);
	if (file->len) /* which file it is: the index alone says little once images were drawn at random */
		strbuf_addf(title, " (%s)", file->buf);
	strbuf_addf(title, ": %s, layer %s", x->model, x->layer);
	for (k = 0; k < 2; k++) { /* what the whole figure shares */
		if (g->ov[k])
			continue;
		if (g->other[k] == BY_METHOD)
			strbuf_addf(title, ", %s", figure_label(c[0].x->method, &scratch));
		else if (g->other[k] == BY_UTILITY)
			strbuf_addf(title, ", %s utility", figure_label(c[0].x->utility, &scratch));
		else {
			strbuf_addstr(title, ", target ");
			add_target(title, s, c[0].x->model, c[0].x->target, c[0].cls);
		}
	}
	strbuf_release(&scratch);
}

/* One figure: image idx, runs x[0..n) of one model and layer, varying b. 1 drawn, 0 nothing, -1 failed. */
static int figure_one(const char *dir, struct store *s, long idx, enum by b, const char *by_name,
		      const struct result *x, size_t n, struct plot_list *l)
{
	struct image in = IMAGE_INIT;
	struct cand *c = xcalloc(n + 1, sizeof(*c));
	struct grid g = GRID_INIT;
	struct cells t = CELLS_INIT;
	struct strbuf stem = STRBUF_INIT, path = STRBUF_INIT, title = STRBUF_INIT, err = STRBUF_INIT,
		      file = STRBUF_INIT;
	size_t i;
	int ret = 0;

	if (load_input(s, x->model, idx, &in, &file) < 0)
		goto out; /* the image was not prepared for this model: nothing to show */
	n = load_cands(s, x, n, idx, &in, c);
	if (!n)
		goto out;
	grid_place(&g, c, n, b);
	cells_fill(&t, &g, c, n, b, s, &in);
	figure_title(&title, s, idx, &file, x, &g, c);

	strbuf_addf(&stem, "image%ld.by-", idx);
	table_slug(&stem, by_name);
	strbuf_addch(&stem, '.');
	table_slug(&stem, x->model);
	strbuf_addch(&stem, '.');
	table_slug(&stem, x->layer);
	strbuf_addf(&path, "%s/%s.png", dir, stem.buf);
	if (figure_grid(path.buf, t.cells, (int)t.nrows, (int)t.ncols, t.row_labels, title.buf, &err) < 0) {
		error("%s; no figures are drawn", err.buf);
		ret = -1;
	} else {
		ALLOC_GROW(l->items, l->nr + 1, l->alloc);
		l->items[l->nr].stem = strbuf_detach(&stem, NULL);
		l->items[l->nr].title = strbuf_detach(&title, NULL);
		l->nr++;
		ret = 1;
	}
out:
	for (i = 0; i < n; i++)
		image_release(&c[i].over);
	free(c);
	grid_release(&g);
	cells_release(&t);
	image_release(&in);
	strbuf_release(&stem);
	strbuf_release(&path);
	strbuf_release(&title);
	strbuf_release(&file);
	strbuf_release(&err);
	return ret;
}

struct gallery {
	const char *dir;
	const struct results *r;
	struct store *s;
	struct plot_list *l;
};

static int gallery_one(long idx, const char *by, void *data)
{
	struct gallery *g = data;
	const struct results *r = g->r;
	size_t i, j;
	enum by b;
	int ret = 0, rc, drawn = 0;

	if (!by)
		by = "method";
	if (!strcmp(by, "method")) {
		b = BY_METHOD;
	} else if (!strcmp(by, "utility")) {
		b = BY_UTILITY;
	} else if (!strcmp(by, "target")) {
		b = BY_TARGET;
	} else {
		warning("figure of image %ld varies '%s', not method, utility or target; skipped", idx, by);
		return 0;
	}
	/* One figure per model and layer: the results are sorted by those first. */
	for (i = 0; i < r->nr && !ret; i = j) {
		for (j = i + 1; j < r->nr && r->rows[j].layer_ord == r->rows[i].layer_ord &&
				r->rows[j].model_ord == r->rows[i].model_ord;
		     j++)
			;
		rc = figure_one(g->dir, g->s, idx, b, by, &r->rows[i], j - i, g->l);
		if (rc < 0)
			ret = -1; /* gnuplot is missing or failing: the next figure would too */
		drawn |= rc > 0;
	}
	if (!drawn && !ret)
		warning("no heatmaps of image %ld are stored; no figure for it", idx);
	return ret;
}

int gallery_build(const char *dir, const struct results *r, struct store *s, struct plot_list *l)
{
	struct gallery g = { dir, r, s, l };
	return store_each_figure(s, gallery_one, &g);
}
