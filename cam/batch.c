/*
 * batch.c - decoding, preprocessing and batching images for the model (see batch.h). Worker threads
 * fill a ring of prepared images in the order's positions; batch_next takes them in order, so the
 * grouping is the serial code's.
 */
#include "cam/batch.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/error.h"
#include "lib/strbuf.h"
#include "lib/xalloc.h"

/* A bound on what a mistyped --workers can start; beyond the cores, threads only add memory. */
#define MAX_WORKERS 64

enum slot_state { SLOT_FREE, SLOT_BUSY, SLOT_READY };

/* One position of the order, being or done decoding, with what decoding it said on stderr. */
struct slot {
	size_t pos;
	enum slot_state state;
	int ok;
	struct image img;
	struct strbuf msg;
};

/*
 * Workers claim positions in order (claim), at most depth ahead of the consumer (taken), so position
 * p always lives in slots[p % depth]: its previous tenant p - depth has been taken. Everything below
 * the lock is shared; ds, the order and pp are only read.
 */
struct batch_pipe {
	struct batch_source *src;
	pthread_t *threads;
	int nr_threads;
	size_t depth;
	struct slot *slots;
	pthread_mutex_t lock;
	pthread_cond_t more; /* a slot was freed, or stop */
	pthread_cond_t done; /* a slot became ready */
	size_t claim, taken, limit;
	int stop;
};

/* Load and prepare item i; 0 or -1 (already reported). Called from workers: touches no src field. */
static int prepare(const struct batch_source *src, size_t i, struct image *out)
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

static size_t item_at(const struct batch_source *src, size_t pos)
{
	return src->order ? src->order[pos] : pos;
}

static void *worker(void *arg)
{
	struct batch_pipe *p = arg;

	pthread_mutex_lock(&p->lock);
	for (;;) {
		struct slot *s;
		struct image img = IMAGE_INIT;
		struct strbuf msg = STRBUF_INIT;
		size_t pos;
		int ok;

		while (!p->stop && p->claim < p->limit && p->claim >= p->taken + p->depth)
			pthread_cond_wait(&p->more, &p->lock);
		if (p->stop || p->claim >= p->limit)
			break;
		pos = p->claim++;
		s = &p->slots[pos % p->depth];
		s->pos = pos;
		s->state = SLOT_BUSY;
		pthread_mutex_unlock(&p->lock);

		error_capture(&msg);
		ok = prepare(p->src, item_at(p->src, pos), &img) == 0;
		error_capture(NULL);

		pthread_mutex_lock(&p->lock);
		s->ok = ok;
		s->img = img;
		s->msg = msg;
		s->state = SLOT_READY;
		pthread_cond_signal(&p->done);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

static void pipe_stop(struct batch_source *src)
{
	struct batch_pipe *p = src->pipe;
	size_t i;
	int t;

	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = 1;
	pthread_cond_broadcast(&p->more);
	pthread_mutex_unlock(&p->lock);
	for (t = 0; t < p->nr_threads; t++)
		pthread_join(p->threads[t], NULL);
	for (i = 0; i < p->depth; i++) {
		image_release(&p->slots[i].img);
		strbuf_release(&p->slots[i].msg);
	}
	pthread_cond_destroy(&p->done);
	pthread_cond_destroy(&p->more);
	pthread_mutex_destroy(&p->lock);
	free(p->slots);
	free(p->threads);
	free(p);
	src->pipe = NULL;
}

/*
 * Start the workers at position src->next, holding up to two batches of max (or src->ahead images) and
 * one image per thread besides. If no thread starts (or memory runs out), the source decodes in the caller's thread.
 */
static void pipe_start(struct batch_source *src, size_t max)
{
	struct batch_pipe *p = xcalloc(1, sizeof(*p));
	size_t left = src->limit - src->next, i;
	int n = src->workers, t;

	if (!p)
		return;
	p->depth = (src->ahead ? src->ahead : 2 * max) + (size_t)n;
	if (p->depth > left)
		p->depth = left;
	if ((size_t)n > p->depth)
		n = (int)p->depth;
	p->slots = xcalloc(p->depth, sizeof(*p->slots));
	p->threads = xcalloc((size_t)n, sizeof(*p->threads));
	if (!p->slots || !p->threads) {
		free(p->slots);
		free(p->threads);
		free(p);
		return;
	}
	for (i = 0; i < p->depth; i++)
		strbuf_init(&p->slots[i].msg, 0);
	p->src = src;
	p->claim = p->taken = src->next;
	p->limit = src->limit;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->more, NULL);
	pthread_cond_init(&p->done, NULL);
	src->pipe = p;
	for (t = 0; t < n; t++) {
		if (pthread_create(&p->threads[t], NULL, worker, p))
			break;
		p->nr_threads++;
	}
	if (!p->nr_threads) {
		pipe_stop(src);
		src->workers = 1;
	}
}

/*
 * The prepared image at position src->next (waiting for it); 0, or -1 if it could not be read. Its
 * messages are printed now, where the serial code would have printed them.
 */
static int pipe_take(struct batch_source *src, struct image *out)
{
	struct batch_pipe *p = src->pipe;
	struct slot *s = &p->slots[src->next % p->depth];
	struct strbuf msg;
	int ok;

	pthread_mutex_lock(&p->lock);
	while (s->state != SLOT_READY || s->pos != src->next)
		pthread_cond_wait(&p->done, &p->lock);
	*out = s->img;
	image_init(&s->img);
	msg = s->msg;
	strbuf_init(&s->msg, 0);
	ok = s->ok;
	s->state = SLOT_FREE;
	p->taken = src->next + 1;
	pthread_cond_signal(&p->more);
	pthread_mutex_unlock(&p->lock);
	if (msg.len)
		fputs(msg.buf, stderr);
	strbuf_release(&msg);
	return ok ? 0 : -1;
}

static int default_nr_workers = -1;

/* n as batch_source_set_workers takes it: < 0 the number of cores; at least 1, at most MAX_WORKERS. */
static int nr_workers(int n)
{
	if (n < 0)
		n = (int)sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : n > MAX_WORKERS ? MAX_WORKERS : n;
}

void batch_set_default_workers(int n)
{
	default_nr_workers = n;
}

void batch_source_init(struct batch_source *src, struct dataset *ds, const struct preprocess *pp,
		       const char *device, size_t limit)
{
	memset(src, 0, sizeof(*src));
	src->ds = ds;
	src->pp = *pp;
	src->device = device;
	src->limit = limit && limit < ds->nr ? limit : ds->nr;
	image_init(&src->carry);
	src->workers = nr_workers(default_nr_workers);
}

void batch_source_set_order(struct batch_source *src, const size_t *order, size_t n)
{
	pipe_stop(src);
	src->order = order;
	src->limit = n;
	src->next = 0;
}

void batch_source_set_workers(struct batch_source *src, int n)
{
	pipe_stop(src);
	src->workers = nr_workers(n);
}

void batch_source_release(struct batch_source *src)
{
	pipe_stop(src);
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
	const unsigned char **rgb;
	size_t i;

	batch_release(b);
	if (src->have_carry) {
		add(b, max, src->carry_item, src->ds->items[src->carry_item].label, &src->carry);
		src->have_carry = 0;
	}
	if (!src->pipe && src->workers > 1 && src->next < src->limit)
		pipe_start(src, max);
	while (b->n < max && src->next < src->limit) {
		struct image img = IMAGE_INIT;
		size_t item = item_at(src, src->next);
		int r = src->pipe ? pipe_take(src, &img) : prepare(src, item, &img);
		src->next++;
		if (r < 0) {
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
	/* The bytes go to the device, which normalises them (a quarter of the data to copy). */
	rgb = xmalloc(b->n * sizeof(*rgb));
	for (i = 0; i < b->n; i++)
		rgb[i] = b->shown[i].rgb;
	b->x = ts_images_normalized(rgb, (int64_t)b->n, b->h, b->w, src->pp.mean, src->pp.std, src->device);
	free(rgb);
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
