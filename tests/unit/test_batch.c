/*
 * test_batch.c - the batch source gives the same batches, skips and messages whatever its number of
 * decoding workers: mixed sizes, unreadable files, orders, limits and batch sizes, on fixtures this
 * test writes itself; releasing it mid-stream neither hangs nor leaks; sources that share an order, in
 * one process or several, visit each of its items once between them.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <png.h>

#include "cam/batch.h"
#include "cam/dataset.h"
#include "cam/torch_shim.h"
#include "lib/strbuf.h"
#include "lib/xalloc.h"
#include "tests/tap.h"

#define SAMPLE "../shared/data/imagenet_sample/n01440764_tench.JPEG"

static char dir[64];
static int nr_bad; /* unreadable fixtures written */

static unsigned lcg(unsigned *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 16;
}

static char *fixture(const char *name)
{
	struct strbuf sb = STRBUF_INIT;
	strbuf_addf(&sb, "%s/%s", dir, name);
	return strbuf_detach(&sb, NULL);
}

static void write_bytes(const char *name, const void *buf, size_t len)
{
	char *path = fixture(name);
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(buf, 1, len, f) != len || fclose(f)) {
		fprintf(stderr, "cannot write '%s'\n", path);
		exit(1);
	}
	free(path);
}

/* A P6 (or P5 when grey) file of w x h, pixels from seed; cut > 0 drops that many bytes at the end. */
static void write_pnm(const char *name, int w, int h, unsigned seed, int grey, size_t cut)
{
	struct strbuf sb = STRBUF_INIT;
	size_t i, n = (size_t)w * h * (grey ? 1 : 3);

	strbuf_addf(&sb, "P%c\n%d %d\n255\n", grey ? '5' : '6', w, h);
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)lcg(&seed);
		strbuf_add(&sb, &c, 1);
	}
	write_bytes(name, sb.buf, sb.len - cut);
	strbuf_release(&sb);
}

static void write_png(const char *name, int w, int h, unsigned seed)
{
	char *path = fixture(name);
	FILE *f = fopen(path, "wb");
	png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
	png_infop info = png_create_info_struct(png);
	size_t stride = (size_t)w * 3, i;
	unsigned char *data = xmalloc(stride * h);
	png_bytep *rows = xmalloc((size_t)h * sizeof(*rows));

	for (i = 0; i < stride * h; i++)
		data[i] = (unsigned char)lcg(&seed);
	for (i = 0; i < (size_t)h; i++)
		rows[i] = data + i * stride;
	if (!f || !png || !info || setjmp(png_jmpbuf(png))) {
		fprintf(stderr, "cannot write '%s'\n", path);
		exit(1);
	}
	png_init_io(png, f);
	png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
		     PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	png_write_info(png, info);
	png_write_rows(png, rows, (png_uint_32)h);
	png_write_end(png, NULL);
	png_destroy_write_struct(&png, &info);
	fclose(f);
	free(rows);
	free(data);
	free(path);
}

/* The sample JPEG whole and cut in half (a truncated JPEG), if the shared data is here. */
static int copy_sample(void)
{
	FILE *f = fopen(SAMPLE, "rb");
	struct strbuf sb = STRBUF_INIT;
	char buf[65536];
	size_t got;

	if (!f)
		return 0;
	while ((got = fread(buf, 1, sizeof(buf), f)) > 0)
		strbuf_add(&sb, buf, got);
	fclose(f);
	write_bytes("m_whole.jpg", sb.buf, sb.len);
	write_bytes("m_zcut.jpg", sb.buf, sb.len / 2);
	nr_bad++;
	strbuf_release(&sb);
	return 1;
}

/*
 * Runs of same-size images broken by other sizes, single images of a size, and unreadable files
 * (garbage, empty, truncated), also at the start and the end of the folder's order.
 */
static void make_fixtures(void)
{
	static const int sizes[][2] = { { 10, 8 }, { 12, 8 }, { 7, 13 }, { 8, 10 } };
	unsigned seed = 7;
	char name[32];
	int i;

	write_bytes("a_00.ppm", "garbage", 7);
	nr_bad++;
	for (i = 1; i < 40; i++) {
		unsigned r = lcg(&seed) % 16;
		const int *sz = sizes[r < 8 ? 0 : r < 11 ? 1 : r < 14 ? 2 : 3];
		snprintf(name, sizeof(name), "a_%02d.%s", i, i % 5 == 2 ? "png" : i % 7 == 3 ? "pgm" : "ppm");
		if (i % 9 == 4) {
			write_bytes(name, "", 0);
			nr_bad++;
		} else if (i % 13 == 6) {
			write_pnm(name, sz[0], sz[1], (unsigned)i, 0, 11);
			nr_bad++;
		} else if (i % 5 == 2) {
			write_png(name, sz[0], sz[1], (unsigned)i);
		} else {
			write_pnm(name, sz[0], sz[1], (unsigned)i, i % 7 == 3, 0);
		}
	}
	write_bytes("z_last.ppm", "P6\n", 3);
	nr_bad++;
}

/* Everything a consumer can see of a batch, as bytes. */
static void trace_batch(struct strbuf *t, const struct batch *b)
{
	size_t i, nf = b->n * 3 * (size_t)b->w * (size_t)b->h;
	float *x = xmalloc(nf * sizeof(float));
	long got = ts_copy_f32(b->x, x, nf);

	strbuf_addf(t, "batch n=%zu %dx%d numel=%lld copied=%ld\n", b->n, b->w, b->h,
		    (long long)ts_numel(b->x), got);
	for (i = 0; i < b->n; i++) {
		strbuf_addf(t, "item %zu label %ld %dx%d\n", b->items[i], b->labels[i], b->shown[i].w,
			    b->shown[i].h);
		strbuf_add(t, b->shown[i].rgb, (size_t)b->shown[i].w * b->shown[i].h * 3);
	}
	strbuf_add(t, x, nf * sizeof(float));
	free(x);
}

/*
 * The device normalises the bytes (ts_images_normalized): bit for bit the formula of image_normalize,
 * which is torchvision's ToTensor + Normalize (t12), on every batch of the fixtures.
 */
static void test_normalized(struct dataset *ds)
{
	struct preprocess pp = { 40, 32, { 0.485f, 0.456f, 0.406f }, { 0.229f, 0.224f, 0.225f } };
	struct batch_source src;
	struct batch b = BATCH_INIT;
	size_t batches = 0, bad = 0, i;
	int fd = open("/dev/null", O_WRONLY), saved = dup(2);

	fflush(stderr);
	dup2(fd, 2); /* the fixtures' unreadable files are reported: not this test's business */
	close(fd);
	batch_source_init(&src, ds, &pp, "cpu", 0);
	batch_source_set_workers(&src, 1);
	while (batch_next(&src, &b, 5) > 0) {
		size_t plane = (size_t)b.w * (size_t)b.h, nf = b.n * 3 * plane;
		float *got = xmalloc(nf * sizeof(float)), *want = xmalloc(nf * sizeof(float));
		if (ts_copy_f32(b.x, got, nf) != (long)nf)
			bad++;
		for (i = 0; i < b.n; i++)
			image_normalize(&b.shown[i], pp.mean, pp.std, want + i * 3 * plane);
		bad += memcmp(got, want, nf * sizeof(float)) != 0;
		batches++;
		free(got);
		free(want);
	}
	batch_release(&b);
	batch_source_release(&src);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	ok(batches > 3 && bad == 0, "normalised on the device: %zu batches, %zu differ from the C formula", batches,
	   bad);
}

struct config {
	struct preprocess pp;
	const size_t *order;
	size_t nr_order, limit, max;
};

/* Read back what the run printed on stderr (redirected to a file). */
static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	struct strbuf sb = STRBUF_INIT;
	char buf[4096];
	size_t got;
	while (f && (got = fread(buf, 1, sizeof(buf), f)) > 0)
		strbuf_add(&sb, buf, got);
	if (f)
		fclose(f);
	return strbuf_detach(&sb, NULL);
}

/* All batches of one configuration with the given workers into *t, what it printed on stderr into *err. */
static void run(struct dataset *ds, const struct config *c, int workers, struct strbuf *t, struct strbuf *err)
{
	struct batch_source src;
	struct batch b = BATCH_INIT;
	char *errfile = fixture("stderr.txt"), *out;
	int fd = open(errfile, O_WRONLY | O_CREAT | O_TRUNC, 0644), saved = dup(2), r;

	fflush(stderr);
	dup2(fd, 2);
	close(fd);
	batch_source_init(&src, ds, &c->pp, "cpu", c->limit);
	if (c->order)
		batch_source_set_order(&src, c->order, c->nr_order);
	batch_source_set_workers(&src, workers);
	while ((r = batch_next(&src, &b, c->max)) > 0)
		trace_batch(t, &b);
	strbuf_addf(t, "end %d skipped %zu\n", r, src.nr_skipped);
	batch_release(&b);
	batch_source_release(&src);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	out = slurp(errfile);
	strbuf_addstr(err, out);
	free(out);
	free(errfile);
}

static size_t count(const char *s, const char *what)
{
	size_t n = 0;
	for (; (s = strstr(s, what)); s++)
		n++;
	return n;
}

static const char *const pp_names[] = { "as they are", "resize 9", "resize 12 crop 8" };
static const char *const order_names[] = { "dataset order", "reversed", "a shuffled subset",
					    "limit 17" };

/* Every configuration: workers 2, 4 and 8 against workers 1 (and 0, also serial). */
static void test_same_batches(struct dataset *ds)
{
	static const size_t maxes[] = { 1, 2, 3, 7, 64 };
	static const int workers[] = { 0, 2, 4, 8 };
	size_t *rev = xmalloc(ds->nr * sizeof(*rev)), *sub = xmalloc(ds->nr * sizeof(*sub)), nsub = 0;
	unsigned seed = 99;
	size_t i, m;
	int p, o, w;

	for (i = 0; i < ds->nr; i++)
		rev[i] = ds->nr - 1 - i;
	for (i = 0; i < ds->nr; i++)
		if (lcg(&seed) % 3)
			sub[nsub++] = i;
	for (i = nsub; i > 1; i--) {
		size_t j = lcg(&seed) % i, tmp = sub[i - 1];
		sub[i - 1] = sub[j];
		sub[j] = tmp;
	}
	for (p = 0; p < 3; p++) {
		struct config c;
		memset(&c, 0, sizeof(c));
		c.pp.resize = p == 0 ? 0 : p == 1 ? 9 : 12;
		c.pp.crop = p == 2 ? 8 : 0;
		c.pp.mean[0] = 0.4f, c.pp.mean[1] = 0.5f, c.pp.mean[2] = 0.6f;
		c.pp.std[0] = 0.2f, c.pp.std[1] = 0.25f, c.pp.std[2] = 0.3f;
		for (o = 0; o < 4; o++) {
			c.order = o == 1 ? rev : o == 2 ? sub : NULL;
			c.nr_order = o == 1 ? ds->nr : o == 2 ? nsub : 0;
			c.limit = o == 3 ? 17 : 0;
			for (m = 0; m < sizeof(maxes) / sizeof(*maxes); m++) {
				struct strbuf t1 = STRBUF_INIT, e1 = STRBUF_INIT;
				int same = 1;
				c.max = maxes[m];
				run(ds, &c, 1, &t1, &e1);
				for (w = 0; w < 4; w++) {
					struct strbuf t = STRBUF_INIT, e = STRBUF_INIT;
					run(ds, &c, workers[w], &t, &e);
					if (t.len != t1.len || memcmp(t.buf, t1.buf, t.len)) {
						diag("workers %d: batches differ", workers[w]);
						same = 0;
					}
					if (strcmp(e.buf, e1.buf)) {
						diag("workers %d: stderr differs:\n%s---\n%s", workers[w], e.buf,
						     e1.buf);
						same = 0;
					}
					strbuf_release(&t);
					strbuf_release(&e);
				}
				if (p == 0 && o == 0 && m == 0)
					ok(count(e1.buf, "skipping '") == (size_t)nr_bad &&
						   count(e1.buf, "error: ") == (size_t)nr_bad,
					   "each of the %d unreadable files gives one error and one skip (%zu, %zu)",
					   nr_bad, count(e1.buf, "error: "), count(e1.buf, "skipping '"));
				ok(same && t1.len > 100,
				   "%s, %s, batches of %zu: workers 0/2/4/8 give the batches and stderr of 1",
				   pp_names[p], order_names[o], c.max);
				strbuf_release(&t1);
				strbuf_release(&e1);
			}
		}
	}
	free(rev);
	free(sub);
}

/* Stop after k batches (workers still decoding ahead), or switch workers there and go on. */
static void test_midstream(struct dataset *ds)
{
	static const int workers[] = { 1, 2, 4, 8 };
	struct config c;
	struct strbuf want = STRBUF_INIT, e = STRBUF_INIT;
	int w, k;

	memset(&c, 0, sizeof(c));
	c.pp.std[0] = c.pp.std[1] = c.pp.std[2] = 1;
	c.max = 3;
	run(ds, &c, 1, &want, &e);
	for (w = 0; w < 4; w++) {
		for (k = 0; k < 4; k++) {
			struct batch_source src;
			struct batch b = BATCH_INIT;
			struct strbuf t = STRBUF_INIT;
			int i, r = 1, saved = dup(2), fd = open("/dev/null", O_WRONLY);

			fflush(stderr);
			dup2(fd, 2);
			close(fd);
			batch_source_init(&src, ds, &c.pp, "cpu", 0);
			batch_source_set_workers(&src, workers[w]);
			for (i = 0; i < k && (r = batch_next(&src, &b, c.max)) > 0; i++)
				trace_batch(&t, &b);
			batch_release(&b);
			batch_source_release(&src);

			/* The same again, but switching to other workers after k batches. */
			strbuf_reset(&t);
			batch_source_init(&src, ds, &c.pp, "cpu", 0);
			batch_source_set_workers(&src, workers[w]);
			for (i = 0; (r = batch_next(&src, &b, c.max)) > 0; i++) {
				trace_batch(&t, &b);
				if (i == k)
					batch_source_set_workers(&src, workers[(w + k + 1) % 4]);
			}
			strbuf_addf(&t, "end %d skipped %zu\n", r, src.nr_skipped);
			batch_release(&b);
			batch_source_release(&src);
			fflush(stderr);
			dup2(saved, 2);
			close(saved);
			ok(t.len == want.len && !memcmp(t.buf, want.buf, t.len),
			   "workers %d: released after %d batches; switched to %d there, the same batches",
			   workers[w], k, workers[(w + k + 1) % 4]);
			strbuf_release(&t);
		}
	}
	strbuf_release(&want);
	strbuf_release(&e);
}

/* Silence stderr (the fixtures' unreadable files are reported) around a test; returns the saved fd. */
static int quiet(void)
{
	int fd = open("/dev/null", O_WRONLY), saved = dup(2);
	fflush(stderr);
	dup2(fd, 2);
	close(fd);
	return saved;
}

static void loud(int saved)
{
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
}

/* One batch of src into seen[] (per dataset item); 1 if it gave one, 0 at the end. */
static int take(struct batch_source *src, struct batch *b, size_t max, unsigned *seen)
{
	size_t i;
	if (batch_next(src, b, max) <= 0)
		return 0;
	for (i = 0; i < b->n; i++)
		seen[b->items[i]]++;
	return 1;
}

/*
 * A CPU source over order (n positions) that takes its chunks from share with the other sources of it
 * (want and max_items as batch_source_share has them), decoding with workers threads (-1: the default).
 */
static void share_source(struct batch_source *src, struct dataset *ds, const struct preprocess *pp,
			 const size_t *order, size_t n, struct batch_share *share, size_t chunk,
			 const unsigned char *want, size_t max_items, int workers)
{
	batch_source_init(src, ds, pp, "cpu", 0);
	batch_source_set_order(src, order, n);
	batch_source_share(src, share, chunk, want, max_items);
	batch_source_set_workers(src, workers);
}

/*
 * Sources sharing one order (batch_source_share) visit every wanted position of it once between them,
 * whichever takes which chunk: two sources in one process, interleaved, with and without decoding
 * threads, and two processes forked after the share was made; max_items bounds what they hand out
 * together. The reference is one unshared source over the wanted positions.
 */
static void test_shared(struct dataset *ds)
{
	static const size_t chunks[] = { 1, 4, 64 };
	struct preprocess pp = { 0, 0, { 0, 0, 0 }, { 1, 1, 1 } };
	size_t n = ds->nr, *order = xmalloc(n * sizeof(*order)), i, c, nwant = 0, *wanted;
	unsigned char *want = xcalloc(n, 1);
	unsigned *ref = xcalloc(n, sizeof(*ref));
	size_t ref_skipped;
	struct batch b = BATCH_INIT;
	int saved;

	for (i = 0; i < n; i++)
		order[i] = n - 1 - i;
	for (i = 0; i < n; i++)
		if (i % 3 != 1)
			want[i] = 1;
	wanted = xmalloc(n * sizeof(*wanted));
	for (i = 0; i < n; i++)
		if (want[i])
			wanted[nwant++] = order[i];
	saved = quiet();
	{
		struct batch_source src;
		batch_source_init(&src, ds, &pp, "cpu", 0);
		batch_source_set_order(&src, wanted, nwant);
		batch_source_set_workers(&src, 1);
		while (take(&src, &b, 4, ref))
			;
		ref_skipped = src.nr_skipped;
		batch_source_release(&src);
	}
	loud(saved);

	for (c = 0; c < sizeof(chunks) / sizeof(*chunks); c++) {
		struct batch_share *share = batch_shares_new(2);
		unsigned *seen = xcalloc(n, sizeof(*seen));
		struct batch_source a, z;
		size_t bad = 0, total = 0, skipped;
		int more_a = 1, more_z = 1;

		saved = quiet();
		share_source(&a, ds, &pp, order, n, &share[0], chunks[c], want, 0, 1);
		share_source(&z, ds, &pp, order, n, &share[0], chunks[c], want, 0, 4);
		while (more_a || more_z) {
			if (more_a)
				more_a = take(&a, &b, 3, seen);
			if (more_z)
				more_z = take(&z, &b, 5, seen);
		}
		skipped = a.nr_skipped + z.nr_skipped;
		batch_source_release(&a);
		batch_source_release(&z);

		/* max_items: two sources, 7 items handed out between them, whatever is readable */
		{
			unsigned *lim = xcalloc(n, sizeof(*lim));
			size_t got = 0;
			share_source(&a, ds, &pp, order, n, &share[1], chunks[c], want, 7, -1);
			share_source(&z, ds, &pp, order, n, &share[1], chunks[c], want, 7, 2);
			while (take(&z, &b, 2, lim) | take(&a, &b, 2, lim))
				;
			for (i = 0; i < n; i++)
				got += lim[i];
			loud(saved);
			ok(got + a.nr_skipped + z.nr_skipped == 7,
			   "chunks of %zu, max_items 7: %zu images and %zu skips between the two sources",
			   chunks[c], got, a.nr_skipped + z.nr_skipped);
			saved = quiet();
			batch_source_release(&a);
			batch_source_release(&z);
			free(lim);
		}
		loud(saved);
		for (i = 0; i < n; i++) {
			total += seen[i];
			bad += seen[i] != ref[i];
		}
		ok(bad == 0 && skipped == ref_skipped && total + skipped == nwant,
		   "chunks of %zu: two sources (serial, 4 threads) visit the %zu wanted items once between "
		   "them "
		   "(%zu images, %zu skips; %zu differ from one source)",
		   chunks[c], nwant, total, skipped, bad);
		batch_shares_free(share, 2);
		free(seen);
	}

	/* Two processes forked after the share was made, each writing what it got to a file. */
	{
		struct batch_share *share = batch_shares_new(1);
		unsigned *seen = xcalloc(n, sizeof(*seen));
		size_t bad = 0, total = 0, skipped = 0;
		pid_t pid[2];
		int k, status, failed = 0;

		fflush(stdout);
		for (k = 0; k < 2; k++) {
			pid[k] = fork();
			if (pid[k] == 0) {
				struct batch_source src;
				unsigned *mine = xcalloc(n, sizeof(*mine));
				char name[32];
				FILE *f;
				char *path;
				quiet();
				if (ts_init(1) < 0)
					_exit(3);
				share_source(&src, ds, &pp, order, n, share, 2, want, 0, k ? 3 : 1);
				while (take(&src, &b, 3, mine))
					;
				snprintf(name, sizeof(name), "share%d.txt", k);
				path = fixture(name);
				f = fopen(path, "w");
				for (i = 0; f && i < n; i++)
					fprintf(f, "%u\n", mine[i]);
				fprintf(f, "%zu\n", src.nr_skipped);
				_exit(f && !fclose(f) ? 0 : 4);
			}
		}
		for (k = 0; k < 2; k++) {
			char name[32], *path;
			FILE *f;
			if (pid[k] < 0 || waitpid(pid[k], &status, 0) < 0 || !WIFEXITED(status) ||
			    WEXITSTATUS(status)) {
				failed = 1;
				continue;
			}
			snprintf(name, sizeof(name), "share%d.txt", k);
			path = fixture(name);
			f = fopen(path, "r");
			for (i = 0; f && i < n; i++) {
				unsigned v = 0;
				if (fscanf(f, "%u", &v) != 1)
					failed = 1;
				seen[i] += v;
			}
			{
				size_t sk = 0;
				if (!f || fscanf(f, "%zu", &sk) != 1)
					failed = 1;
				skipped += sk;
			}
			if (f)
				fclose(f);
			free(path);
		}
		for (i = 0; i < n; i++) {
			total += seen[i];
			bad += seen[i] != ref[i];
		}
		ok(!failed && bad == 0 && skipped == ref_skipped && total + skipped == nwant,
		   "two processes sharing chunks of 2 visit the %zu wanted items once between them (%zu "
		   "images, "
		   "%zu skips; %zu differ)",
		   nwant, total, skipped, bad);
		batch_shares_free(share, 1);
		free(seen);
	}
	batch_release(&b);
	free(order);
	free(want);
	free(wanted);
	free(ref);
}

int main(void)
{
	struct dataset ds = DATASET_INIT;
	int have_jpeg;
	char *cmd;
	struct strbuf sb = STRBUF_INIT;

	snprintf(dir, sizeof(dir), "/tmp/camlab-batch-XXXXXX");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	make_fixtures();
	have_jpeg = copy_sample();
	if (!have_jpeg)
		diag("no %s: no JPEG fixtures", SAMPLE);
	if (ts_init(1) < 0 || dataset_open(&ds, dir, NULL) < 0) {
		printf("not ok 1 - cannot start libtorch or open the fixtures\n");
		return 1;
	}
	ok(ds.nr == 41 + 2 * (size_t)have_jpeg, "%zu fixtures", ds.nr);

	test_shared(&ds);
	test_same_batches(&ds);
	test_midstream(&ds);
	test_normalized(&ds);

	dataset_release(&ds);
	strbuf_addf(&sb, "rm -rf '%s'", dir);
	cmd = strbuf_detach(&sb, NULL);
	if (system(cmd))
		diag("cannot remove %s", dir);
	free(cmd);
	return done_testing();
}
