/*
 * test_readers.c - camlab's readers of the files a dataset or a model brings (cam/image.c's decoders,
 * cam/dataset.c's IDX, CSV and list files, cam/model.c's sidecars and class names) on hostile input.
 * CI has no clang to run the libFuzzer targets of tests/fuzz, so each bug they found has a case here, and
 * the targets' seed corpora (tests/fuzz/corpus) are mutated at random: every mutation must be read or
 * rejected without a crash, which tools/sanitize checks again under ASan and UBSan.
 *
 * usage: test_readers [N [SEED]]   (N mutations of each kind of input, 200 by default)
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jpeglib.h>
#include <zlib.h>

#include "cam/dataset.h"
#include "cam/image.h"
#include "cam/model.h"
#include "lib/error.h"
#include "lib/fs.h"
#include "lib/strbuf.h"
#include "tests/mutate.h"
#include "tests/tap.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

#ifdef UNDER_ASAN
/*
 * ASan reserves terabytes of address space, so no RLIMIT_AS can stand for a small machine (see
 * limit_memory); instead an allocation above 128 MiB returns NULL, as it would there (xmalloc then exits).
 * No case here needs more.
 */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "allocator_may_return_null=1:max_allocation_size_mb=128";
}
#endif

#define CORPUS CAMLAB_SOURCE_DIR "/tests/fuzz/corpus"

static char tmpdir[64];

static char *tmp_path(const char *name)
{
	struct strbuf sb = STRBUF_INIT;
	strbuf_addf(&sb, "%s/%s", tmpdir, name);
	return strbuf_detach(&sb, NULL);
}

/*
 * Run fn in a child process: memory it takes, or a limit it needs, stays there. Returns the child's exit
 * status, or 128 + the signal that killed it.
 */
static int in_child(int (*fn)(void))
{
	int status;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid)
		_exit(fn());
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/*
 * Address space for this (child) process: 128 MiB more than it maps now, so that asking for the size
 * an input merely claims fails, as it would on a small machine, while reading the input does not.
 */
static void limit_memory(void)
{
#ifndef UNDER_ASAN
	FILE *fp = fopen("/proc/self/statm", "r");
	unsigned long pages = 0;
	struct rlimit rl;

	if (!fp)
		return;
	if (fscanf(fp, "%lu", &pages) == 1) {
		rl.rlim_cur = rl.rlim_max =
			(rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE) + ((rlim_t)128 << 20);
		setrlimit(RLIMIT_AS, &rl);
	}
	fclose(fp);
#endif
}

/* The peak resident memory of this process so far, in KiB. */
static long peak_kib(void)
{
	struct rusage ru;
	return getrusage(RUSAGE_SELF, &ru) ? 0 : ru.ru_maxrss;
}

/* ---- JPEG ------------------------------------------------------------------------------------ */

/* A w x h JPEG made by libjpeg (caller frees). */
static unsigned char *make_jpeg(int w, int h, int progressive, unsigned long *len)
{
	struct jpeg_compress_struct c;
	struct jpeg_error_mgr err;
	unsigned char *out = NULL, row[64 * 3];
	int x, y;

	c.err = jpeg_std_error(&err);
	jpeg_create_compress(&c);
	jpeg_mem_dest(&c, &out, len);
	c.image_width = (JDIMENSION)w;
	c.image_height = (JDIMENSION)h;
	c.input_components = 3;
	c.in_color_space = JCS_RGB;
	jpeg_set_defaults(&c);
	if (progressive)
		jpeg_simple_progression(&c);
	jpeg_start_compress(&c, TRUE);
	for (y = 0; y < h; y++) {
		JSAMPROW r = row;
		for (x = 0; x < w * 3; x++)
			row[x] = (unsigned char)(x * 7 + y * 13);
		jpeg_write_scanlines(&c, &r, 1);
	}
	jpeg_finish_compress(&c);
	jpeg_destroy_compress(&c);
	return out;
}

/* Make the frame header (SOF0..SOF2) claim w x h; 0 if there is none. */
static int claim_size(unsigned char *buf, unsigned long len, unsigned w, unsigned h)
{
	unsigned long i = 2;
	while (i + 9 < len && buf[i] == 0xff) {
		unsigned m = buf[i + 1], seg = (unsigned)buf[i + 2] << 8 | buf[i + 3];
		if (m >= 0xc0 && m <= 0xc2) {
			buf[i + 5] = (unsigned char)(h >> 8);
			buf[i + 6] = (unsigned char)h;
			buf[i + 7] = (unsigned char)(w >> 8);
			buf[i + 8] = (unsigned char)w;
			return 1;
		}
		i += 2 + seg;
	}
	return 0;
}

/*
 * fuzz_image: a 565-byte progressive JPEG whose header claimed 65000x65000 was refused as too large only
 * after jpeg_start_decompress had allocated its coefficients: 12 GB resident and 45 s. Just over the
 * limit (13400x13400) that was 0.6 GB; now the size is checked first and nothing is allocated.
 */
static int jpeg_bomb(void)
{
	unsigned long len;
	unsigned char *jpeg = make_jpeg(9, 2, 1, &len);
	struct image img = IMAGE_INIT;
	long before;
	int ret;

	if (!claim_size(jpeg, len, 13400, 13400))
		return 2;
	error_set_quiet(1);
	before = peak_kib();
	ret = image_load_mem(jpeg, len, "bomb.jpg", &img);
	free(jpeg);
	if (!ret || img.rgb || !strstr(error_last(), "image too large (13400x13400)"))
		return 3;
	return peak_kib() - before > 128 * 1024 ? 4 : 0;
}

/* ---- image_prepare ----------------------------------------------------------------------------- */

/*
 * Review, then fuzz_image with a sidecar's largest resize: a long thin image (10000000x1, a 1.2 MB
 * one-bit BMP) resized to 256 on its shorter side has a longer side of 2.56e9, and converting that to
 * int was undefined (UBSan: "outside the range of representable values of type 'int'").
 */
static void test_prepare_thin(void)
{
	struct image in = IMAGE_INIT, out = IMAGE_INIT;
	int ret;

	if (image_alloc(&in, 10000000, 1)) {
		ok(0, "a 10000000x1 image is allocated");
		return;
	}
	memset(in.rgb, 100, (size_t)in.w * 3);
	error_set_quiet(1);
	ret = image_prepare(&in, 256, 224, &out);
	error_set_quiet(0);
	ok(ret < 0 && !out.rgb &&
		   !strcmp(error_last(),
			   "cannot resize 10000000x1 image to 256 on its shorter side: too large"),
	   "a 10000000x1 image resized to 256 is too large, not undefined");
	image_alloc(&in, 1000, 1);
	memset(in.rgb, 100, (size_t)in.w * 3);
	ok(!image_prepare(&in, 256, 224, &out) && out.w == 224 && out.h == 224 && out.rgb[0] == 100,
	   "a 1000x1 image resized to 256 (256000x256) and cropped to 224 is no error");
	image_release(&in);
	image_release(&out);
}

/* ---- IDX ------------------------------------------------------------------------------------- */

/*
 * fuzz_dataset: a 28-byte IDX file whose header claimed 1026 images of 1835011x2 (a mutated seed) made
 * idx_read allocate the whole claim before reading a byte (3.7 GB for that one; up to 16 GiB passes the
 * header checks): where the machine would not give that much, camlab died "out of memory" on a file that
 * is merely truncated. The buffer now grows with the data read.
 */
static int idx_claim(void)
{
	static const unsigned char head[] = {
		0, 0, 8, 3, 0, 0x10, 0, 0, 0, 0, 0, 128, 0, 0, 0, 128, 1, 2, 3
	};
	struct dataset ds = DATASET_INIT;
	char *path = tmp_path("claim-images-idx3-ubyte");
	int ret;

	limit_memory();
	error_set_quiet(1);
	write_file(path, head, sizeof(head));
	ret = dataset_open(&ds, path, NULL);
	unlink(path);
	free(path);
	if (!ret || !strstr(error_last(), "truncated IDX data (3 of 17179869184 bytes)"))
		return 3;
	return 0;
}

/* The same for a label file claiming 2^28 labels, given with a valid one-image file. */
static int idx_label_claim(void)
{
	static const unsigned char images[] = { 0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 42 };
	static const unsigned char labels[] = { 0, 0, 8, 1, 0x10, 0, 0, 0, 7 };
	struct dataset ds = DATASET_INIT;
	char *ipath = tmp_path("one-images-idx3-ubyte"), *lpath = tmp_path("many-labels");
	int ret;

	limit_memory();
	error_set_quiet(1);
	write_file(ipath, images, sizeof(images));
	write_file(lpath, labels, sizeof(labels));
	ret = dataset_open(&ds, ipath, lpath);
	unlink(ipath);
	unlink(lpath);
	free(ipath);
	free(lpath);
	return ret && strstr(error_last(), "truncated IDX data (1 of 268435456 bytes)") ? 0 : 3;
}

/* A gzip'd IDX file larger than the first 64 KiB the reader takes still reads byte for byte. */
static void test_idx_growth(void)
{
	enum { N = 101, H = 28, W = 28 };
	static unsigned char raw[16 + N * H * W];
	static const unsigned char labels[8 + N] = { 0, 0, 8, 1, 0, 0, 0, N };
	struct dataset ds = DATASET_INIT;
	struct image img = IMAGE_INIT;
	char *path = tmp_path("big-images-idx3-ubyte.gz"), *lpath = tmp_path("big-labels-idx1-ubyte");
	gzFile gz;
	size_t i;
	int same = 1;

	raw[2] = 8;
	raw[3] = 3;
	raw[7] = N;
	raw[11] = H;
	raw[15] = W;
	for (i = 16; i < sizeof(raw); i++)
		raw[i] = (unsigned char)(i * 31 % 251);
	gz = gzopen(path, "wb");
	gzwrite(gz, raw, sizeof(raw));
	gzclose(gz);
	write_file(lpath, labels, sizeof(labels));
	ok(!dataset_open(&ds, path, lpath) && ds.nr == N && ds.idx_w == W && ds.idx_h == H,
	   "a gzip'd IDX file of %d records (%d bytes) opens", N, (int)sizeof(raw));
	for (i = 0; i < ds.nr && same; i += 25)
		same = !dataset_load(&ds, i, &img) && img.rgb[0] == raw[16 + i * H * W] &&
		       img.rgb[3 * (H * W - 1) + 2] == raw[16 + (i + 1) * H * W - 1];
	ok(same, "its records hold the file's bytes");
	image_release(&img);
	dataset_release(&ds);
	unlink(path);
	unlink(lpath);
	free(path);
	free(lpath);
}

/* ---- mutations of the seed corpora ----------------------------------------------------------- */

/* What replaced and inserted bytes are drawn from. */
static const char tokens[] = "\x00\x01\x7f\x80\xff,\"#\n\r \t-0123456789:[]{}";

struct seeds {
	struct strbuf *v;
	size_t nr;
};

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The files of CORPUS/name, in name order so that a seed gives the same mutations everywhere. */
static void read_seeds(const char *name, struct seeds *s)
{
	char dir[512], path[1024], *names[64];
	DIR *d;
	struct dirent *e;
	size_t nr = 0, i;

	memset(s, 0, sizeof(*s));
	snprintf(dir, sizeof(dir), "%s/%s", CORPUS, name);
	d = opendir(dir);
	if (!d)
		return;
	while ((e = readdir(d)) && nr < sizeof(names) / sizeof(*names))
		if (e->d_name[0] != '.')
			names[nr++] = strdup(e->d_name);
	closedir(d);
	qsort(names, nr, sizeof(*names), cmp_name);
	s->v = calloc(nr, sizeof(*s->v));
	for (i = 0; i < nr; i++) {
		FILE *fp;
		char buf[4096];
		size_t n;
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		free(names[i]);
		fp = fopen(path, "rb");
		if (!fp)
			continue;
		strbuf_init(&s->v[s->nr], 0);
		while ((n = fread(buf, 1, sizeof(buf), fp)) > 0)
			strbuf_add(&s->v[s->nr], buf, n);
		fclose(fp);
		s->nr++;
	}
}

static void seeds_release(struct seeds *s)
{
	size_t i;
	for (i = 0; i < s->nr; i++)
		strbuf_release(&s->v[i]);
	free(s->v);
}

/* What fuzz_image does with an input. Returns 0 when it decodes. */
static int try_image(const struct strbuf *sb)
{
	struct image img = IMAGE_INIT, out = IMAGE_INIT;
	int ret = image_load_mem(sb->buf, sb->len, "mutant", &img);

	if (!ret && (long)img.w * img.h <= 1 << 16) {
		image_prepare(&img, 9, 7, &out);
		image_prepare(&img, 0, 11, &out);
		image_prepare(&img, 1 << 16, 224, &out);
	}
	image_release(&out);
	image_release(&img);
	return ret;
}

/* What fuzz_dataset does: the input as a dataset, as a folder's CSV labels, as an IDX label file. */
static int try_dataset(const struct strbuf *sb)
{
	static const unsigned char idx[16 + 3 * 2 * 2] = { 0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 2 };
	static const char *const names[] = { "a.png", "b b.jpg", "c,1.bmp" };
	static char *input, *flat, *images;
	struct dataset ds = DATASET_INIT;
	struct image img = IMAGE_INIT;
	size_t i;
	int ret;

	if (!input) {
		input = tmp_path("input");
		flat = tmp_path("flat");
		images = tmp_path("t-images-idx3-ubyte");
		mkdir(flat, 0700);
		for (i = 0; i < sizeof(names) / sizeof(*names); i++) {
			struct strbuf pb = STRBUF_INIT;
			strbuf_addf(&pb, "%s/%s", flat, names[i]);
			write_file(pb.buf, "x", 1);
			strbuf_release(&pb);
		}
		write_file(images, idx, sizeof(idx));
	}
	if (!sb) { /* clean up */
		for (i = 0; i < sizeof(names) / sizeof(*names); i++) {
			struct strbuf pb = STRBUF_INIT;
			strbuf_addf(&pb, "%s/%s", flat, names[i]);
			unlink(pb.buf);
			strbuf_release(&pb);
		}
		rmdir(flat);
		unlink(images);
		unlink(input);
		free(input);
		free(flat);
		free(images);
		input = NULL;
		return 0;
	}
	write_file(input, sb->buf, sb->len);
	ret = dataset_open(&ds, input, NULL);
	if (!ret && ds.idx_data)
		for (i = 0; i < ds.nr && i < 4; i++)
			dataset_load(&ds, i, &img);
	dataset_release(&ds);
	ret &= dataset_open(&ds, flat, input);
	dataset_release(&ds);
	ret &= dataset_open(&ds, images, input);
	dataset_release(&ds);
	image_release(&img);
	return ret;
}

/* What fuzz_meta does: the first byte picks the reader (sidecar, class names, JSON class index). */
static int try_meta(const struct strbuf *sb)
{
	static const char *const names[] = { "model.yaml", "names.txt", "index.json" };
	struct model_meta meta = MODEL_META_INIT;
	char *path;
	int ret, mode;

	if (!sb) { /* set up (the classes_file a sidecar may name), or clean up */
		static const char txt[] = "cat\ndog\r\n\nbird";
		static const char json[] =
			"{\"0\": [\"n01\", \"cat\"], \"1\": [\"n02\", \"dog\"], \"2\": \"bird\"}";
		static int ready;
		char *tp = tmp_path("classes.txt"), *jp = tmp_path("classes.json");
		if (ready) {
			unlink(tp);
			unlink(jp);
		} else {
			write_file(tp, txt, sizeof(txt) - 1);
			write_file(jp, json, sizeof(json) - 1);
		}
		ready = !ready;
		free(tp);
		free(jp);
		return 0;
	}
	if (!sb->len)
		return -1;
	mode = (unsigned char)sb->buf[0] % 3;
	path = tmp_path(names[mode]);
	write_file(path, sb->buf + 1, sb->len - 1);
	ret = mode ? model_meta_read_classes(&meta, path) : model_meta_read(&meta, path);
	model_meta_release(&meta);
	unlink(path);
	free(path);
	return ret;
}

static void test_mutations(const char *kind, int (*try)(const struct strbuf *), int n, int seeds_must_read)
{
	struct seeds s;
	size_t i;
	int done = 0, read = 0, bad_seed = 0;

	read_seeds(kind, &s);
	if (!s.nr) {
		ok(0, "the seed corpus %s/%s is there", CORPUS, kind);
		return;
	}
	error_set_quiet(1);
	for (i = 0; seeds_must_read && i < s.nr; i++)
		if (try(&s.v[i]))
			bad_seed++;
	for (done = 0; done < n; done++) {
		struct strbuf sb = STRBUF_INIT;
		const struct strbuf *seed = &s.v[mutate_next() % s.nr];
		strbuf_add(&sb, seed->buf, seed->len);
		mutate(&sb, tokens, sizeof(tokens) - 1, MUTATE_BINARY);
		read += !try(&sb);
		strbuf_release(&sb);
	}
	error_set_quiet(0);
	if (seeds_must_read)
		ok(!bad_seed, "every one of the %zu seeds in tests/fuzz/corpus/%s reads (%d do not)", s.nr,
		   kind, bad_seed);
	ok(done == n, "%d mutations of the %s seeds read or rejected without a crash (%d read)", n, kind,
	   read);
	seeds_release(&s);
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 200, status;

	mutate_rng = argc > 2 ? strtoull(argv[2], NULL, 10) : 42;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_readers.XXXXXX");
	if (!mkdtemp(tmpdir))
		skip_all("cannot make a temporary folder");

	status = in_child(jpeg_bomb);
	ok(!status, "a JPEG claiming 13400x13400 is refused before libjpeg allocates for it (status %d)",
	   status);
	status = in_child(idx_claim);
	ok(!status, "an IDX file claiming 16 GiB is truncated, not out of memory (status %d)", status);
	status = in_child(idx_label_claim);
	ok(!status, "an IDX label file claiming 2^28 labels is truncated, not out of memory (status %d)",
	   status);
	test_idx_growth();
	test_prepare_thin();

	test_mutations("image", try_image, n, 1);
	test_mutations("dataset", try_dataset, n, 0);
	try_dataset(NULL);
	try_meta(NULL);
	test_mutations("meta", try_meta, n, 1);
	try_meta(NULL);

	rmdir(tmpdir);
	return done_testing();
}
