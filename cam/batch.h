/*
 * batch.h - turning a list of images into batches of model input on a device.
 *
 * A batch source walks a dataset in order, decodes and preprocesses each image (resize, centre crop,
 * normalisation) and groups images of the same prepared size into tensors of at most max images. An
 * image that cannot be read is reported (naming the file) and skipped; the others go on.
 */
#ifndef CAM_BATCH_H
#define CAM_BATCH_H

#include <stdatomic.h>
#include <stddef.h>

#include "cam/dataset.h"
#include "cam/image.h"
#include "cam/torch_shim.h"

struct preprocess {
	int resize; /* shorter side; 0: none */
	int crop;   /* centre crop; 0: none */
	float mean[3], std[3];
};

struct batch_pipe;

/*
 * Work that several batch sources share, in one process or in several (the memory is shared across
 * fork): the order's positions are cut into chunks, and each source takes the next chunk nobody has
 * taken when it needs more, so every device works through the one order at its own speed and no
 * position is visited twice.
 */
struct batch_share {
	atomic_size_t next_chunk; /* the first chunk nobody has taken */
	atomic_size_t handed;	  /* items handed out by all sharers, against max_items */
};

/* n zeroed shares in memory that children forked later share with this process; NULL if none. */
struct batch_share *batch_shares_new(size_t n);
void batch_shares_free(struct batch_share *s, size_t n);

/*
 * Where a source is in its order. The consumer owns it, except while workers run: then it is changed
 * only under the pipe's lock, by the worker claiming the next item.
 */
struct batch_walk {
	size_t pos, end;	   /* positions pos..end-1 of the current chunk are still to visit */
	const unsigned char *want; /* visit position p only if want[p] (NULL: every position) */
	struct batch_share *share; /* chunks come from here (NULL: the whole order is one chunk) */
	size_t chunk, max_items;   /* positions per chunk; stop after this many items handed (0: all) */
	int ended;		   /* no chunk is left */
	size_t *requeue, nr_requeue, requeue_next; /* claimed by stopped workers, to visit first */
};

/*
 * Invariant: batch_next hands out the items of the walk (the order, or 0, 1, 2, ..., with its chunks,
 * wants and max_items) in the walk's order, whether they were decoded in its own thread or by workers.
 */
struct batch_source {
	struct dataset *ds; /* borrowed */
	struct preprocess pp;
	const char *device;
	const size_t *order; /* dataset indices to visit, or NULL for 0, 1, 2, ... (borrowed) */
	size_t limit;	     /* positions in the order (at most the limit given to batch_source_init) */
	struct batch_walk walk;
	size_t nr_skipped; /* unreadable images so far (still set after batch_source_release) */
	size_t *skipped;   /* their dataset indices, in the order they were met (owned; freed by release) */
	size_t alloc_skipped;
	struct image carry; /* a prepared image of another size, held for the next batch */
	size_t carry_item;
	int have_carry;
	int workers;		 /* decoding threads; <= 1: in batch_next's thread */
	size_t ahead;		 /* images the workers may decode ahead; 0: two batches */
	struct batch_pipe *pipe; /* the running workers and their queue, or NULL (owned) */
};

struct batch {
	size_t n;
	size_t *items;	      /* dataset indices */
	long *labels;	      /* -1 unknown */
	struct image *shown;  /* the prepared images (after resize and crop), for overlays */
	ts_tensor *x;	      /* (n, 3, h, w) normalised, on the device */
	int h, w;
};

#define BATCH_INIT { 0, NULL, NULL, NULL, NULL, 0, 0 }

/* Starts with the default number of workers (batch_set_default_workers). */
void batch_source_init(struct batch_source *src, struct dataset *ds, const struct preprocess *pp,
		       const char *device, size_t limit);
/* Visit only the n dataset items listed in order (borrowed; must outlive the source). */
void batch_source_set_order(struct batch_source *src, const size_t *order, size_t n);
/*
 * Take the order's positions in chunks of `chunk` from share, which other sources (in this process or
 * others) may be taking from too; visit only the positions p with want[p] (want may be NULL; borrowed),
 * and stop once max_items items (0: no limit) have been handed out by all the sharers together. Call it
 * after set_order and before the first batch_next.
 */
void batch_source_share(struct batch_source *src, struct batch_share *share, size_t chunk,
			const unsigned char *want, size_t max_items);
/*
 * Decode and preprocess in n threads that work up to two batches ahead of batch_next, which then only
 * groups and normalises: n < 0 is the number of cores, 0 or 1 decodes in the calling thread. Neither
 * the batches nor the skips depend on n; an unreadable image's error is printed by the thread that
 * read it, so it may come before messages about earlier items (its "skipping" line comes in order).
 * The threads start at the first batch_next and read ds and the order until the source is released.
 */
void batch_source_set_workers(struct batch_source *src, int n);
/* The n that sources start with, as for batch_source_set_workers (-1 until set: all cores). */
void batch_set_default_workers(int n);
/* Stops the workers (mid-stream too: each finishes the image in hand) and frees what they made. */
void batch_source_release(struct batch_source *src);

/*
 * Fill b (released first) with the next batch of at most max images. Returns 1 when b holds images, 0 at
 * the end, -1 on a failure that is not one image's (a device error).
 */
int batch_next(struct batch_source *src, struct batch *b, size_t max);
void batch_release(struct batch *b);

/*
 * A name for each item's output files, all different (caller frees each and the array): the file name
 * without folder and extension (IDX records get _NNNNN). Where two share one (CIFAR's test/cat/0000.jpg
 * and test/dog/0000.jpg, photo.png beside photo.jpg), theirs is the path below the folder common to
 * every item (cat_0000, photo_png), numbered if even that is shared; *nr_renamed says how many.
 */
char **batch_item_stems(const struct dataset *ds, size_t *nr_renamed);

/* Parse "a,b,c" into three floats; -1 if malformed. */
int parse_float3(const char *s, float out[3]);

#endif
