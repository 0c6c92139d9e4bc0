/*
 * batch.c - decoding, preprocessing and batching images for the model (see batch.h). Worker threads
 * claim the walk's items in turn and fill a ring of prepared images; batch_next takes them in the order
 * they were claimed, so the grouping is the serial code's.
 */
#include "cam/batch.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lib/error.h"
#include "lib/strbuf.h"
#include "lib/xalloc.h"

/* A bound on what a mistyped --workers can start; beyond the cores, threads only add memory. */
#define MAX_WORKERS 64

enum slot_state { SLOT_FREE, SLOT_BUSY, SLOT_READY };

/* One item of the walk, being or done decoding, with what decoding it said on stderr. */
struct slot {
	size_t seq; /* its place among the items this pipe claimed: 0, 1, 2, ... */
	size_t item;
	enum slot_state state;
	int ok;
	struct image img;
	struct strbuf msg;
};

/*
 * Workers claim the walk's items in turn (claim counts them), at most depth ahead of the consumer
 * (taken), so item number q always lives in slots[q % depth]: its previous tenant q - depth has been
 * taken. When the walk has no more, ended is set and end is the number of items claimed. Everything
 * below the lock is shared, and so is src->walk; ds, the order and pp are only read.
 */
struct batch_pipe {
	struct batch_source *src;
	pthread_t *threads;
	int nr_threads;
	size_t depth;
	struct slot *slots;
	pthread_mutex_t lock;
	pthread_cond_t more; /* a slot was freed, or stop */
	pthread_cond_t done; /* a slot became ready, or the walk ended */
	size_t claim, taken, end;
	int ended, stop;
};

struct batch_share *batch_shares_new(size_t n)
{
	struct batch_share *s;
	size_t i;

	s = mmap(NULL, (n ? n : 1) * sizeof(*s), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (s == MAP_FAILED) {
		error("cannot map memory for %zu work queues: %s", n, strerror(errno));
		return NULL;
	}
	for (i = 0; i < n; i++) {
		atomic_init(&s[i].next_chunk, 0);
		atomic_init(&s[i].handed, 0);
	}
	return s;
}

void batch_shares_free(struct batch_share *s, size_t n)
{
	if (s)
		munmap(s, (n ? n : 1) * sizeof(*s));
}

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

/*
 * The walk's next item into *item: 1, or 0 at its end. One caller at a time: the consumer, or a worker
 * holding the pipe's lock.
 */
static int walk_next(struct batch_source *src, size_t *item)
{
	struct batch_walk *w = &src->walk;

	if (w->requeue_next < w->nr_requeue) {
		*item = w->requeue[w->requeue_next++];
		return 1;
	}
	for (;;) {
		size_t k;
		while (w->pos < w->end) {
			size_t pos = w->pos++;
			if (w->want && !w->want[pos])
				continue;
			if (w->max_items && w->share &&
			    atomic_fetch_add(&w->share->handed, 1) >= w->max_items) {
				w->pos = w->end;
				w->ended = 1;
				return 0;
			}
			*item = src->order ? src->order[pos] : pos;
			return 1;
		}
		if (!w->share || w->ended)
			return 0;
		k = atomic_fetch_add(&w->share->next_chunk, 1);
		if (k >= (src->limit + w->chunk - 1) / w->chunk) {
			w->ended = 1;
			return 0;
		}
		w->pos = k * w->chunk;
		w->end = w->pos + w->chunk < src->limit ? w->pos + w->chunk : src->limit;
	}
}

/* At most this many items are left in the walk (an upper bound where chunks come from a share). */
static size_t walk_left(const struct batch_source *src)
{
	const struct batch_walk *w = &src->walk;
	size_t n = w->nr_requeue - w->requeue_next + (w->end - w->pos);
	return w->share && !w->ended ? n + src->limit : n;
}

static void walk_reset(struct batch_source *src)
{
	struct batch_walk *w = &src->walk;
	free(w->requeue);
	memset(w, 0, sizeof(*w));
	w->end = src->limit;
}

static void *worker(void *arg)
{
	struct batch_pipe *p = arg;

	pthread_mutex_lock(&p->lock);
	for (;;) {
		struct slot *s;
		struct image img = IMAGE_INIT;
		struct strbuf msg = STRBUF_INIT;
		size_t item;
		int ok;

		while (!p->stop && !p->ended && p->claim >= p->taken + p->depth)
			pthread_cond_wait(&p->more, &p->lock);
		if (p->stop || p->ended)
			break;
		if (!walk_next(p->src, &item)) {
			p->ended = 1;
			p->end = p->claim;
			pthread_cond_broadcast(&p->done);
			pthread_cond_broadcast(&p->more);
			break;
		}
		s = &p->slots[p->claim % p->depth];
		s->seq = p->claim++;
		s->item = item;
		s->state = SLOT_BUSY;
		pthread_mutex_unlock(&p->lock);

		error_capture(&msg);
		ok = prepare(p->src, item, &img) == 0;
		error_capture(NULL);

		pthread_mutex_lock(&p->lock);
		s->ok = ok;
		s->img = img;
		s->msg = msg;
		s->state = SLOT_READY;
		pthread_cond_broadcast(&p->done);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

/*
 * Stop the workers. The items they claimed and the consumer has not taken go back to the front of the
 * walk (they are decoded again), so a source stopped mid-stream goes on with the same items.
 */
static void pipe_stop(struct batch_source *src)
{
	struct batch_pipe *p = src->pipe;
	struct batch_walk *w = &src->walk;
	size_t i, q, n, *req;
	int t;

	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = 1;
	pthread_cond_broadcast(&p->more);
	pthread_mutex_unlock(&p->lock);
	for (t = 0; t < p->nr_threads; t++)
		pthread_join(p->threads[t], NULL);
	n = p->claim - p->taken + (w->nr_requeue - w->requeue_next);
	req = xmalloc((n ? n : 1) * sizeof(*req));
	for (i = 0, q = p->taken; q < p->claim; q++)
		req[i++] = p->slots[q % p->depth].item;
	while (w->requeue_next < w->nr_requeue)
		req[i++] = w->requeue[w->requeue_next++];
	free(w->requeue);
	w->requeue = req;
	w->nr_requeue = n;
	w->requeue_next = 0;
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
 * Start the workers where the walk is, holding up to two batches of max (or src->ahead images) and one
 * image per thread besides. If no thread starts (or memory runs out), the source decodes in the caller's
 * thread.
 */
static void pipe_start(struct batch_source *src, size_t max)
{
	struct batch_pipe *p = xcalloc(1, sizeof(*p));
	size_t left = walk_left(src), i;
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
 * The next prepared item of the walk (waiting for it) into *out and *item: 0, -1 if it could not be
 * read, 1 at the walk's end. Its messages are printed now, where the serial code would have printed them.
 */
static int pipe_take(struct batch_source *src, struct image *out, size_t *item)
{
	struct batch_pipe *p = src->pipe;
	struct slot *s = &p->slots[p->taken % p->depth];
	struct strbuf msg;
	int ok;

	pthread_mutex_lock(&p->lock);
	while (s->state != SLOT_READY || s->seq != p->taken) {
		if (p->ended && p->taken >= p->end) {
			pthread_mutex_unlock(&p->lock);
			return 1;
		}
		pthread_cond_wait(&p->done, &p->lock);
	}
	*out = s->img;
	*item = s->item;
	image_init(&s->img);
	msg = s->msg;
	strbuf_init(&s->msg, 0);
	ok = s->ok;
	s->state = SLOT_FREE;
	p->taken++;
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
	walk_reset(src);
	image_init(&src->carry);
	src->workers = nr_workers(default_nr_workers);
}

void batch_source_set_order(struct batch_source *src, const size_t *order, size_t n)
{
	pipe_stop(src);
	src->order = order;
	src->limit = n;
	walk_reset(src);
}

void batch_source_share(struct batch_source *src, struct batch_share *share, size_t chunk,
			const unsigned char *want, size_t max_items)
{
	struct batch_walk *w = &src->walk;

	pipe_stop(src);
	walk_reset(src);
	w->want = want;
	w->share = share;
	w->chunk = chunk ? chunk : 1;
	w->max_items = max_items;
	w->end = 0; /* the first chunk is taken at the first item */
}

void batch_source_set_workers(struct batch_source *src, int n)
{
	pipe_stop(src);
	src->workers = nr_workers(n);
}

void batch_source_release(struct batch_source *src)
{
	pipe_stop(src);
	walk_reset(src);
	image_release(&src->carry);
	src->have_carry = 0;
	free(src->skipped); /* nr_skipped stays, for the caller's summary */
	src->skipped = NULL;
	src->alloc_skipped = 0;
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
	if (!src->pipe && src->workers > 1 && walk_left(src))
		pipe_start(src, max);
	while (b->n < max) {
		struct image img = IMAGE_INIT;
		size_t item;
		int r;
		if (src->pipe) {
			if ((r = pipe_take(src, &img, &item)) > 0)
				break;
		} else {
			if (!walk_next(src, &item))
				break;
			r = prepare(src, item, &img);
		}
		if (r < 0) {
			ALLOC_GROW(src->skipped, src->nr_skipped + 1, src->alloc_skipped);
			src->skipped[src->nr_skipped++] = item;
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

static char *item_stem(const struct dataset_item *it)
{
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

/* path after the folder common to every item, without its extension unless keep_ext; '/' and '.' as '_' */
static char *item_relative(const struct dataset_item *it, size_t common, int keep_ext)
{
	const char *rel = it->path + common, *dot = strrchr(rel, '.'), *slash = strrchr(rel, '/');
	struct strbuf sb = STRBUF_INIT;
	size_t len = strlen(rel), k;

	if (!keep_ext && it->index < 0 && dot && dot > rel && (!slash || dot > slash + 1))
		len = (size_t)(dot - rel);
	strbuf_add(&sb, rel, len);
	for (k = 0; k < sb.len; k++)
		if (sb.buf[k] == '/' || sb.buf[k] == '.' || sb.buf[k] == '#')
			sb.buf[k] = '_';
	return strbuf_detach(&sb, NULL);
}

static char *const *sort_names;

static int by_name(const void *a, const void *b)
{
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	int c = strcmp(sort_names[i], sort_names[j]);
	return c ? c : (i > j) - (i < j);
}

/*
 * Mark in dup[] every name that another one shares; returns how many are marked. order is scratch space
 * for n indices.
 */
static size_t mark_shared(char *const *names, size_t n, size_t *order, unsigned char *dup)
{
	size_t i, nr = 0;

	for (i = 0; i < n; i++)
		order[i] = i;
	sort_names = names;
	if (n > 1)
		qsort(order, n, sizeof(*order), by_name);
	memset(dup, 0, n);
	for (i = 0; i + 1 < n; i++)
		if (!strcmp(names[order[i]], names[order[i + 1]]))
			dup[order[i]] = dup[order[i + 1]] = 1;
	for (i = 0; i < n; i++)
		nr += dup[i];
	return nr;
}

char **batch_item_stems(const struct dataset *ds, size_t *nr_renamed)
{
	size_t n = ds->nr, common = 0, i, round;
	char **names = xcalloc(n ? n : 1, sizeof(*names));
	size_t *order = xcalloc(n ? n : 1, sizeof(*order));
	unsigned char *dup = xcalloc(n ? n : 1, 1);

	for (i = 0; i < n; i++)
		names[i] = item_stem(&ds->items[i]);
	*nr_renamed = mark_shared(names, n, order, dup);
	if (*nr_renamed) {
		/* the longest folder prefix of every path */
		const char *first = ds->items[0].path;
		common = strlen(first);
		for (i = 1; i < n; i++) {
			size_t k = 0;
			while (k < common && first[k] == ds->items[i].path[k])
				k++;
			common = k;
		}
		while (common && first[common - 1] != '/')
			common--;
	}
	/* shared stems: the path below that folder, then with its extension, then numbered */
	for (round = 0; round < 3 && mark_shared(names, n, order, dup); round++)
		for (i = 0; i < n; i++) {
			if (!dup[i])
				continue;
			if (round < 2) {
				free(names[i]);
				names[i] = item_relative(&ds->items[i], common, round == 1);
			} else {
				struct strbuf sb = STRBUF_INIT;
				strbuf_addf(&sb, "%s_%zu", names[i], i);
				free(names[i]);
				names[i] = strbuf_detach(&sb, NULL);
			}
		}
	free(order);
	free(dup);
	return names;
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
