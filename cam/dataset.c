/*
 * dataset.c - listing the images of a dataset and their labels. Orders and label numbering copy
 * torchvision (ImageFolder's sorted classes and sorted os.walk), because a model's class indices
 * and a results table's item indices are only comparable with Python runs if they agree.
 */
#include "cam/dataset.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <zlib.h>

#include "lib/error.h"
#include "lib/fs.h"
#include "lib/strbuf.h"
#include "lib/xalloc.h"

/* Symlinked folders are followed, as os.walk(followlinks=True) does; this bounds a loop. */
#define MAX_DEPTH 32

void dataset_init(struct dataset *ds)
{
	memset(ds, 0, sizeof(*ds));
}

void dataset_release(struct dataset *ds)
{
	size_t i;
	for (i = 0; i < ds->nr; i++)
		free(ds->items[i].path);
	free(ds->items);
	for (i = 0; i < ds->nr_classes; i++)
		free(ds->classes[i]);
	free(ds->classes);
	free(ds->idx_data);
	dataset_init(ds);
}

static void add_item(struct dataset *ds, char *path, int label, long index)
{
	ALLOC_GROW(ds->items, ds->nr + 1, ds->alloc);
	ds->items[ds->nr].path = path;
	ds->items[ds->nr].label = label;
	ds->items[ds->nr].index = index;
	ds->nr++;
}

static char *path_join(const char *dir, const char *name)
{
	struct strbuf sb = STRBUF_INIT;
	size_t n = strlen(dir);
	strbuf_addstr(&sb, dir);
	if (n && dir[n - 1] != '/')
		strbuf_addch(&sb, '/');
	strbuf_addstr(&sb, name);
	return strbuf_detach(&sb, NULL);
}

static int is_file(const char *path)
{
	struct stat st;
	return !stat(path, &st) && S_ISREG(st.st_mode);
}

static int is_dir(const char *path)
{
	struct stat st;
	return !stat(path, &st) && S_ISDIR(st.st_mode);
}

/* torchvision's IMG_EXTENSIONS, compared case-insensitively as filename.lower().endswith(). */
static int has_image_ext(const char *name)
{
	static const char *const exts[] = { ".jpg", ".jpeg", ".png", ".ppm", ".bmp",
					    ".pgm", ".tif", ".tiff", ".webp" };
	size_t n = strlen(name), i, j;
	for (i = 0; i < sizeof(exts) / sizeof(*exts); i++) {
		size_t m = strlen(exts[i]);
		if (n < m)
			continue;
		for (j = 0; j < m; j++) {
			char c = name[n - m + j];
			if (c >= 'A' && c <= 'Z')
				c = (char)(c - 'A' + 'a');
			if (c != exts[i][j])
				break;
		}
		if (j == m)
			return 1;
	}
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

struct name_list {
	char **v;
	size_t nr, alloc;
};

static void name_list_add(struct name_list *l, char *s)
{
	ALLOC_GROW(l->v, l->nr + 1, l->alloc);
	l->v[l->nr++] = s;
}

static void name_list_release(struct name_list *l)
{
	size_t i;
	for (i = 0; i < l->nr; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/*
 * The entries of dir, split into sub-folders and other entries, each sorted by strcmp, which is
 * Python's code-point order for UTF-8 names.
 */
static int read_dir(const char *dir, struct name_list *dirs, struct name_list *files)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d)
		return error("cannot open folder '%s': %s", dir, strerror(errno));
	while ((e = readdir(d))) {
		char *full;
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		full = path_join(dir, e->d_name);
		if (is_dir(full)) {
			if (dirs)
				name_list_add(dirs, xstrdup(e->d_name));
		} else if (files) {
			name_list_add(files, xstrdup(e->d_name));
		}
		free(full);
	}
	closedir(d);
	/* qsort with a NULL base is undefined even for no elements. */
	if (dirs && dirs->nr)
		qsort(dirs->v, dirs->nr, sizeof(char *), cmp_str);
	if (files && files->nr)
		qsort(files->v, files->nr, sizeof(char *), cmp_str);
	return 0;
}

/* All folders under root (root included), as os.walk would visit them. */
static int collect_dirs(const char *root, int depth, struct name_list *out)
{
	struct name_list dirs = { 0 };
	size_t i;

	name_list_add(out, xstrdup(root));
	if (depth >= MAX_DEPTH)
		return error("folders nested too deep under '%s'", root);
	if (read_dir(root, &dirs, NULL))
		return -1;
	for (i = 0; i < dirs.nr; i++) {
		char *sub = path_join(root, dirs.v[i]);
		int ret = collect_dirs(sub, depth + 1, out);
		free(sub);
		if (ret) {
			name_list_release(&dirs);
			return -1;
		}
	}
	name_list_release(&dirs);
	return 0;
}

static int open_image_folder(struct dataset *ds, const char *path, struct name_list *classes)
{
	size_t c, r, f;

	ds->classes = classes->v;
	ds->nr_classes = classes->nr;
	memset(classes, 0, sizeof(*classes));
	for (c = 0; c < ds->nr_classes; c++) {
		struct name_list roots = { 0 };
		char *cdir = path_join(path, ds->classes[c]);
		size_t before = ds->nr;
		int ret = collect_dirs(cdir, 0, &roots);
		free(cdir);
		/* sorted(os.walk(...)) orders the visited folders by their full path string. */
		if (roots.nr)
			qsort(roots.v, roots.nr, sizeof(char *), cmp_str);
		for (r = 0; !ret && r < roots.nr; r++) {
			struct name_list files = { 0 };
			ret = read_dir(roots.v[r], NULL, &files);
			for (f = 0; !ret && f < files.nr; f++)
				if (has_image_ext(files.v[f]))
					add_item(ds, path_join(roots.v[r], files.v[f]), (int)c, -1);
			name_list_release(&files);
		}
		name_list_release(&roots);
		if (ret)
			return -1;
		if (ds->nr == before)
			return error("no image files for class '%s' in '%s'", ds->classes[c], path);
	}
	return 0;
}

/* ---- label files ----------------------------------------------------------------------------- */

/*
 * A label or list file is named by the spec, which may come from someone else: refuse a device or an
 * absurd file before it fills the memory (60000 IDX labels are 60 kB; a CSV of a million paths ~100 MB).
 */
#define LIST_MAX_BYTES ((size_t)256 << 20)

/* Parse a whole integer label; leading/trailing blanks allowed. */
static int parse_label(const char *s, int *out)
{
	char *end;
	long v;

	while (*s == ' ' || *s == '\t')
		s++;
	if (!*s)
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	while (*end == ' ' || *end == '\t')
		end++;
	if (errno || *end || end == s || v < INT_MIN || v > INT_MAX)
		return -1;
	*out = (int)v;
	return 0;
}

struct label_entry {
	char *key;
	int label;
	int line;
};

struct label_map {
	struct label_entry *v;
	size_t nr, alloc;
};

static void label_map_release(struct label_map *m)
{
	size_t i;
	for (i = 0; i < m->nr; i++)
		free(m->v[i].key);
	free(m->v);
	memset(m, 0, sizeof(*m));
}

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct label_entry *)a)->key, ((const struct label_entry *)b)->key);
}

/* Strip blanks, then one pair of surrounding double quotes. In place; returns the start. */
static char *csv_field(char *s)
{
	size_t n;
	while (*s == ' ' || *s == '\t')
		s++;
	n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
	if (n >= 2 && s[0] == '"' && s[n - 1] == '"') {
		s[n - 1] = '\0';
		s++;
	}
	return s;
}

/*
 * "filename,label" lines; the label is after the last comma so names may hold commas. The first
 * line may be a header (a non-integer label); anywhere else that is an error with its line.
 */
static int read_csv(const char *path, struct label_map *m)
{
	struct strbuf sb = STRBUF_INIT;
	char *line, *next;
	int lineno = 0, seen = 0;
	size_t i;

	if (read_file(path, LIST_MAX_BYTES, &sb))
		goto fail;
	for (line = sb.buf; line && *line; line = next) {
		char *comma, *key, *val;
		int label;
		size_t n;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		lineno++;
		n = strlen(line);
		if (n && line[n - 1] == '\r')
			line[--n] = '\0';
		if (!*csv_field(line))
			continue;
		comma = strrchr(line, ',');
		if (!comma) {
			error("'%s':%d: expected 'filename,label'", path, lineno);
			goto fail;
		}
		*comma = '\0';
		key = csv_field(line);
		val = csv_field(comma + 1);
		if (parse_label(val, &label)) {
			if (!seen++)
				continue; /* a header line */
			error("'%s':%d: bad label '%s'", path, lineno, val);
			goto fail;
		}
		if (label < 0) {
			/* -1 means "no label" everywhere after: an image would silently lose its own */
			error("'%s':%d: negative label '%s': labels are class indices, 0 or more", path, lineno,
			      val);
			goto fail;
		}
		seen++;
		ALLOC_GROW(m->v, m->nr + 1, m->alloc);
		m->v[m->nr].key = xstrdup(key);
		m->v[m->nr].label = label;
		m->v[m->nr].line = lineno;
		m->nr++;
	}
	if (m->nr)
		qsort(m->v, m->nr, sizeof(*m->v), cmp_entry);
	for (i = 1; i < m->nr; i++)
		if (!strcmp(m->v[i].key, m->v[i - 1].key)) {
			int a = m->v[i].line < m->v[i - 1].line ? m->v[i].line : m->v[i - 1].line;
			int b = m->v[i].line < m->v[i - 1].line ? m->v[i - 1].line : m->v[i].line;
			error("'%s':%d: duplicate entry for '%s' (first on line %d)", path, b,
			      m->v[i].key, a);
			goto fail;
		}
	strbuf_release(&sb);
	return 0;
fail:
	strbuf_release(&sb);
	label_map_release(m);
	return -1;
}

static const struct label_entry *label_map_find(const struct label_map *m, const char *key)
{
	struct label_entry k;
	k.key = (char *)key;
	if (!m->nr)
		return NULL;
	return bsearch(&k, m->v, m->nr, sizeof(*m->v), cmp_entry);
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

/* keys[i] is the name item i is known by in the CSV. */
static int apply_csv(struct dataset *ds, const char *labels, char **keys)
{
	struct label_map m = { 0 };
	size_t i;

	if (read_csv(labels, &m))
		return -1;
	for (i = 0; i < ds->nr; i++) {
		const struct label_entry *e = label_map_find(&m, keys[i]);
		if (!e)
			e = label_map_find(&m, base_name(keys[i]));
		if (e)
			ds->items[i].label = e->label;
	}
	label_map_release(&m);
	return 0;
}

static int open_flat_folder(struct dataset *ds, const char *path, const char *labels)
{
	struct name_list files = { 0 }, keys = { 0 };
	size_t i;
	int ret;

	if (read_dir(path, NULL, &files))
		return -1;
	for (i = 0; i < files.nr; i++) {
		if (!has_image_ext(files.v[i]))
			continue;
		add_item(ds, path_join(path, files.v[i]), -1, -1);
		name_list_add(&keys, xstrdup(files.v[i]));
	}
	if (!ds->nr)
		ret = error("no image files in '%s'", path);
	else
		ret = labels ? apply_csv(ds, labels, keys.v) : 0;
	name_list_release(&keys);
	name_list_release(&files);
	return ret;
}

static int cmp_item_path(const void *a, const void *b)
{
	return strcmp((*(const struct dataset_item *const *)a)->path,
		      (*(const struct dataset_item *const *)b)->path);
}

/* An image a list names twice is run twice, and counts twice in every average: say so. */
static void warn_listed_twice(const struct dataset *ds, const char *list)
{
	const struct dataset_item **v = xcalloc(ds->nr, sizeof(*v));
	const char *first = NULL;
	size_t i, nr = 0;

	for (i = 0; i < ds->nr; i++)
		v[i] = &ds->items[i];
	if (ds->nr > 1)
		qsort(v, ds->nr, sizeof(*v), cmp_item_path);
	for (i = 1; i < ds->nr; i++)
		if (!strcmp(v[i]->path, v[i - 1]->path)) {
			first = first ? first : v[i]->path;
			nr++;
		}
	if (nr)
		warning("'%s' names %zu image(s) more than once (such as '%s'): each is run, and averaged, "
			"as often "
			"as it is listed",
			list, nr, first);
	free(v);
}

static int open_list_file(struct dataset *ds, const char *path, const char *labels)
{
	struct strbuf sb = STRBUF_INIT;
	struct name_list keys = { 0 };
	char *line, *next, *dir;
	const char *slash = strrchr(path, '/');
	int lineno = 0, ret = 0;

	if (read_file(path, LIST_MAX_BYTES, &sb))
		return -1;
	if (memchr(sb.buf, '\0', sb.len)) {
		strbuf_release(&sb);
		return error("'%s' is neither an image, an IDX file nor a list of images", path);
	}
	dir = slash ? xstrndup(path, (size_t)(slash - path + 1)) : xstrdup("");
	for (line = sb.buf; line && *line; line = next) {
		char *end, *last;
		int label = -1;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		lineno++;
		while (*line == ' ' || *line == '\t')
			line++;
		end = line + strlen(line);
		while (end > line && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
			*--end = '\0';
		if (!*line || *line == '#')
			continue;
		/* A trailing integer after whitespace is the label; paths may contain spaces. */
		last = end;
		while (last > line && last[-1] != ' ' && last[-1] != '\t')
			last--;
		if (last > line && !parse_label(last, &label)) {
			if (label < 0) {
				/* -1 means "no label" everywhere after */
				ret = error("'%s':%d: negative label '%s': labels are class indices, 0 or more",
					    path, lineno, last);
				break;
			}
			end = last;
			while (end > line && (end[-1] == ' ' || end[-1] == '\t'))
				end--;
			*end = '\0';
		} else {
			label = -1;
		}
		add_item(ds, line[0] == '/' ? xstrdup(line) : path_join(dir, line), label, -1);
		name_list_add(&keys, xstrdup(line));
	}
	if (!ret && !ds->nr)
		ret = error("no images listed in '%s'", path);
	else if (!ret && labels)
		ret = apply_csv(ds, labels, keys.v);
	if (!ret)
		warn_listed_twice(ds, path);
	name_list_release(&keys);
	free(dir);
	strbuf_release(&sb);
	return ret;
}

/* ---- IDX ------------------------------------------------------------------------------------- */

#define IDX_IMAGES 0x00000803u
#define IDX_LABELS 0x00000801u

static int gz_u32(gzFile gz, uint32_t *v)
{
	unsigned char b[4];
	if (gzread(gz, b, 4) != 4)
		return -1;
	*v = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
	return 0;
}

/* gzread reads plain files too, so one reader serves .gz and uncompressed IDX files. */
static int idx_read(const char *path, uint32_t magic, uint32_t *dims, unsigned char **data)
{
	gzFile gz = gzopen(path, "rb");
	uint32_t m, i, nd = (magic & 0xff);
	size_t total = 1, got = 0, alloc = 0;

	*data = NULL;
	if (!gz)
		return error("cannot open '%s': %s", path, strerror(errno));
	if (gz_u32(gz, &m) || m != magic) {
		gzclose(gz);
		return error("'%s' is not an IDX %s file (bad magic)", path,
			     magic == IDX_IMAGES ? "image" : "label");
	}
	for (i = 0; i < nd; i++) {
		if (gz_u32(gz, &dims[i])) {
			gzclose(gz);
			return error("'%s': truncated IDX header", path);
		}
		if (dims[i] > (1u << 28) || (dims[i] && total > ((size_t)1 << 34) / dims[i])) {
			gzclose(gz);
			return error("'%s': IDX dimensions too large", path);
		}
		total *= dims[i];
	}
	/*
	 * The header's sizes are only a claim: the buffer grows with the data actually read, so that a short
	 * file claiming gigabytes is reported as truncated without that memory ever being asked for.
	 */
	*data = xmalloc(1);
	while (*data && got < total) {
		unsigned chunk;
		int n;
		if (got == alloc) {
			unsigned char *grown;
			alloc = alloc ? alloc * 2 : 65536;
			if (alloc > total)
				alloc = total;
			grown = xrealloc(*data, alloc);
			if (!grown) {
				free(*data);
				*data = NULL;
				break;
			}
			*data = grown;
		}
		chunk = alloc - got > (1u << 30) ? (1u << 30) : (unsigned)(alloc - got);
		n = gzread(gz, *data + got, chunk);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	gzclose(gz);
	if (!*data)
		return error("out of memory reading '%s'", path);
	if (got < total) {
		free(*data);
		*data = NULL;
		return error("'%s': truncated IDX data (%zu of %zu bytes)", path, got, total);
	}
	return 0;
}

static int open_idx(struct dataset *ds, const char *path, const char *labels)
{
	uint32_t dims[3], ldims[1];
	unsigned char *lab = NULL;
	char *sibling = NULL;
	const char *lpath = labels;
	struct strbuf sb = STRBUF_INIT;
	size_t i;

	if (idx_read(path, IDX_IMAGES, dims, &ds->idx_data))
		return -1;
	if (dims[1] > 1u << 14 || dims[2] > 1u << 14 || !dims[1] || !dims[2])
		return error("'%s': unsupported IDX image size %ux%u", path, (unsigned)dims[2],
			     (unsigned)dims[1]);
	ds->idx_h = (int)dims[1];
	ds->idx_w = (int)dims[2];
	if (!lpath) {
		const char *base = base_name(path), *hit = strstr(base, "images-idx3");
		if (hit) {
			strbuf_add(&sb, path, (size_t)(hit - path));
			strbuf_addstr(&sb, "labels-idx1");
			strbuf_addstr(&sb, hit + strlen("images-idx3"));
			sibling = strbuf_detach(&sb, NULL);
			if (is_file(sibling))
				lpath = sibling;
		}
	}
	if (lpath) {
		if (idx_read(lpath, IDX_LABELS, ldims, &lab)) {
			free(sibling);
			return -1;
		}
		if (ldims[0] != dims[0]) {
			free(lab);
			error("'%s' has %u labels for %u images in '%s'", lpath, (unsigned)ldims[0],
			      (unsigned)dims[0], path);
			free(sibling);
			return -1;
		}
	}
	free(sibling);
	for (i = 0; i < dims[0]; i++) {
		strbuf_addf(&sb, "%s#%zu", path, i);
		add_item(ds, strbuf_detach(&sb, NULL), lab ? lab[i] : -1, (long)i);
	}
	free(lab);
	return 0;
}

/* ---- entry points ---------------------------------------------------------------------------- */

/* The first bytes of a file, for recognising its type; a short file gives fewer. */
static size_t peek(const char *path, unsigned char *buf, size_t n)
{
	gzFile gz = gzopen(path, "rb");
	int got;
	if (!gz)
		return 0;
	got = gzread(gz, buf, (unsigned)n);
	gzclose(gz);
	return got > 0 ? (size_t)got : 0;
}

static int raw_is_image(const char *path)
{
	unsigned char b[8];
	FILE *f = fopen(path, "rb");
	size_t n;
	if (!f)
		return 0;
	n = fread(b, 1, sizeof(b), f);
	fclose(f);
	return (n >= 3 && b[0] == 0xff && b[1] == 0xd8 && b[2] == 0xff) ||
	       (n >= 8 && !memcmp(b, "\x89PNG\r\n\x1a\n", 8)) || (n >= 2 && b[0] == 'B' && b[1] == 'M') ||
	       (n >= 3 && b[0] == 'P' && (b[1] == '5' || b[1] == '6'));
}

int dataset_open(struct dataset *ds, const char *path, const char *labels)
{
	struct stat st;
	unsigned char magic[4];
	int ret;

	dataset_release(ds);
	if (stat(path, &st))
		return error("cannot open dataset '%s': %s", path, strerror(errno));
	if (S_ISDIR(st.st_mode)) {
		struct name_list dirs = { 0 };
		size_t i, visible = 0;
		if (read_dir(path, &dirs, NULL))
			return -1;
		/* Hidden folders alone (.git, .ipynb_checkpoints) do not make a tree of classes. */
		for (i = 0; i < dirs.nr; i++)
			visible += dirs.v[i][0] != '.';
		if (visible) {
			if (labels) {
				name_list_release(&dirs);
				return error("labels file '%s' given for ImageFolder dataset '%s', "
					     "whose labels are its folder names",
					     labels, path);
			}
			ret = open_image_folder(ds, path, &dirs);
		} else {
			ret = open_flat_folder(ds, path, labels);
		}
		name_list_release(&dirs);
	} else if (peek(path, magic, 4) == 4 && magic[0] == 0 && magic[1] == 0 && magic[2] == 8 &&
		   (magic[3] == 3 || magic[3] == 1)) {
		if (magic[3] == 1)
			return error("'%s' is an IDX label file; give the image file instead", path);
		ret = open_idx(ds, path, labels);
	} else if (raw_is_image(path)) {
		add_item(ds, xstrdup(path), -1, -1);
		ret = 0;
	} else {
		ret = open_list_file(ds, path, labels);
	}
	if (ret)
		dataset_release(ds);
	return ret;
}

int dataset_load(const struct dataset *ds, size_t i, struct image *out)
{
	const struct dataset_item *it;

	if (i >= ds->nr)
		return error("dataset item %zu out of range (%zu items)", i, ds->nr);
	it = &ds->items[i];
	if (ds->idx_data && it->index >= 0) {
		size_t n = (size_t)ds->idx_w * ds->idx_h, p;
		const unsigned char *src = ds->idx_data + (size_t)it->index * n;
		if (image_alloc(out, ds->idx_w, ds->idx_h))
			return -1;
		for (p = 0; p < n; p++)
			out->rgb[3 * p] = out->rgb[3 * p + 1] = out->rgb[3 * p + 2] = src[p];
		return 0;
	}
	return image_load(it->path, out);
}
