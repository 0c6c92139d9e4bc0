/*
 * batch.c - decoding, preprocessing and batching images for the model (see batch.h).
 */
#include "cam/batch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/error.h"
#include "lib/strbuf.h"
#include "lib/xalloc.h"

void batch_source_init(struct batch_source *src, struct dataset *ds, const struct preprocess *pp,
		       const char *device, size_t limit)
{
	memset(src, 0, sizeof(*src));
	src->ds = ds;
	src->pp = *pp;
	src->device = device;
	src->limit = limit && limit < ds->nr ? limit : ds->nr;
	image_init(&src->carry);
}

void batch_source_set_order(struct batch_source *src, const size_t *order, size_t n)
{
	src->order = order;
	src->limit = n;
	src->next = 0;
}

void batch_source_release(struct batch_source *src)
{
	image_release(&src->carry);
	src->have_carry = 0;
}

void batch_release(struct batch *b)
{
	size_t i;
	for (i = 0; b->shown && i < b->n; i++)
		image_release(&b->shown[i]);
	free(b->shown);
	free(b->items);
	free(b->labels);
	ts_free(b->x);
	memset(b, 0, sizeof(*b));
}

/* Load and prepare item i; 0 or -1 (already reported). */
static int prepare(struct batch_source *src, size_t i, struct image *out)
{
	struct image raw = IMAGE_INIT;
	int ret;

	if (dataset_load(src->ds, i, &raw) < 0)
		return -1;
	ret = image_prepare(&raw, src->pp.resize, src->pp.crop, out);
	image_release(&raw);
	if (ret < 0)
		return error("cannot preprocess '%s'", src->ds->items[i].path);
	return 0;
}

static void add(struct batch *b, size_t max, size_t item, long label, struct image *img)
{
	if (!b->items) {
		b->items = xcalloc(max, sizeof(*b->items));
		b->labels = xcalloc(max, sizeof(*b->labels));
		b->shown = xcalloc(max, sizeof(*b->shown));
		b->w = img->w;
		b->h = img->h;
	}
	b->items[b->n] = item;
	b->labels[b->n] = label;
	b->shown[b->n] = *img; /* the batch takes the pixels */
	image_init(img);
	b->n++;
}

int batch_next(struct batch_source *src, struct batch *b, size_t max)
{
	size_t i, plane;
	float *data;
	int64_t shape[4];

	batch_release(b);
	if (src->have_carry) {
		add(b, max, src->carry_item, src->ds->items[src->carry_item].label, &src->carry);
		src->have_carry = 0;
	}
	while (b->n < max && src->next < src->limit) {
		struct image img = IMAGE_INIT;
		size_t item = src->order ? src->order[src->next] : src->next;
		src->next++;
		if (prepare(src, item, &img) < 0) {
			src->nr_skipped++;
			fprintf(stderr, "skipping '%s'\n", src->ds->items[item].path);
			continue;
		}
		if (b->n && (img.w != b->w || img.h != b->h)) {
			/* Another size cannot share the tensor: it starts the next batch. */
			src->carry = img;
			src->carry_item = item;
			src->have_carry = 1;
			break;
		}
		add(b, max, item, src->ds->items[item].label, &img);
	}
	if (!b->n)
		return 0;
	plane = (size_t)b->w * (size_t)b->h;
	data = xmalloc(b->n * 3 * plane * sizeof(float));
	for (i = 0; i < b->n; i++)
		image_normalize(&b->shown[i], src->pp.mean, src->pp.std, data + i * 3 * plane);
	shape[0] = (int64_t)b->n;
	shape[1] = 3;
	shape[2] = b->h;
	shape[3] = b->w;
	b->x = ts_from_f32(data, shape, 4, src->device);
	free(data);
	if (!b->x)
		return error("cannot move a batch to '%s': %s", src->device, ts_error());
	return 1;
}

char *batch_item_stem(const struct dataset *ds, size_t item)
{
	const struct dataset_item *it = &ds->items[item];
	const char *base = strrchr(it->path, '/');
	struct strbuf sb = STRBUF_INIT;
	size_t len;

	base = base ? base + 1 : it->path;
	len = strcspn(base, it->index >= 0 ? ".#" : "");
	if (it->index < 0) {
		const char *dot = strrchr(base, '.');
		len = dot && dot != base ? (size_t)(dot - base) : strlen(base);
	}
	strbuf_add(&sb, base, len);
	if (it->index >= 0)
		strbuf_addf(&sb, "_%05ld", it->index);
	return strbuf_detach(&sb, NULL);
}

int parse_float3(const char *s, float out[3])
{
	char *end;
	int i;
	for (i = 0; i < 3; i++) {
		out[i] = strtof(s, &end);
		if (end == s)
			return -1;
		s = end;
		if (i < 2) {
			if (*s != ',')
				return -1;
			s++;
		}
	}
	return *s ? -1 : 0;
}
