/*
 * test_image.c - unit tests for cam/image and cam/overlay that need no shared data: PIL's
 * resampler on a small pattern (expected bytes from Pillow 9.4), torchvision's crop rules, the
 * OpenCV JET table, the .npy header, and decoders fed broken or truncated input and failing
 * allocations.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jpeglib.h>

#include "cam/image.h"
#include "cam/overlay.h"
#include "lib/error.h"
#include "lib/xalloc.h"
#include "tests/tap.h"

/* The 7x5 pattern the expected bytes below were computed from with PIL. */
static void pattern(struct image *img)
{
	int x, y, c;
	image_alloc(img, 7, 5);
	for (y = 0; y < 5; y++)
		for (x = 0; x < 7; x++)
			for (c = 0; c < 3; c++)
				img->rgb[(y * 7 + x) * 3 + c] =
					(unsigned char)((x * 37 + y * 91 + c * 53 + x * y * 11) % 256);
}

/* np.asarray(Image.fromarray(pattern).resize((w, h), Image.BILINEAR)).flatten(), Pillow 9.4 */
static const unsigned char want_3x2[] = { 108, 136, 143, 135, 132, 140, 131, 130, 131,
					  117, 145, 117, 127, 124, 113, 106, 134, 120 };
static const unsigned char want_5x9[] = {
	12,  65,  118, 58,  111, 164, 111, 164, 217, 164, 217, 157, 210, 92,  60,  44,  97,
	150, 94,  147, 152, 137, 136, 173, 125, 178, 156, 176, 115, 111, 96,  149, 202, 154,
	207, 133, 179, 88,  100, 61,  114, 154, 118, 152, 196, 149, 164, 141, 151, 153, 127,
	150, 113, 119, 110, 113, 102, 99,  114, 167, 202, 169, 52,  132, 71,  124, 103, 156,
	162, 188, 127, 38,  90,  57,  110, 112, 127, 104, 129, 131, 105, 146, 109, 115, 124,
	126, 116, 128, 143, 101, 51,  104, 147, 122, 175, 89,  171, 80,  86,  75,  128, 165,
	147, 200, 101, 103, 156, 153, 103, 156, 86,  123, 122, 128, 89,  142, 101, 89,  142,
	138, 135, 188, 156, 92,  145, 84,  95,  148, 154, 98,  151, 62,  55,  108, 161
};
static const unsigned char want_7x3[] = {
	39,  92,  145, 81,  134, 187, 122, 175, 119, 164, 107, 160, 96,  149, 202, 138,
	191, 98,  180, 86,  139, 125, 178, 89,  184, 95,  148, 101, 154, 93,  160, 99,
	152, 105, 158, 69,  164, 75,  128, 81,  134, 130, 69,  122, 175, 145, 198, 105,
	75,  128, 72,  152, 95,  148, 118, 171, 78,  48,  101, 154, 124, 177, 121
};
static const unsigned char want_2x5[] = { 59,  112, 165, 163, 163, 139, 149, 160, 148, 107,
					  118, 153, 150, 126, 107, 133, 109, 96,  110, 121,
					  109, 130, 141, 123, 111, 164, 122, 79,  132, 119 };

static void test_resize(void)
{
	struct image in = IMAGE_INIT, out = IMAGE_INIT;
	static const struct {
		int w, h;
		const unsigned char *want;
	} cases[] = { { 3, 2, want_3x2 }, { 5, 9, want_5x9 }, { 7, 3, want_7x3 }, { 2, 5, want_2x5 } };
	size_t i;

	pattern(&in);
	for (i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		int r = image_resize(&in, cases[i].w, cases[i].h, &out);
		ok(!r && out.w == cases[i].w && out.h == cases[i].h &&
			   !memcmp(out.rgb, cases[i].want, (size_t)cases[i].w * cases[i].h * 3),
		   "resize 7x5 -> %dx%d equals PIL bilinear", cases[i].w, cases[i].h);
	}
	ok(!image_resize(&in, 7, 5, &out) && !memcmp(out.rgb, in.rgb, 7 * 5 * 3),
	   "resize to the same size is a copy");
	error_set_quiet(1);
	ok(image_resize(&in, 0, 5, &out) < 0, "resize to width 0 is an error");
	error_set_quiet(0);
	image_release(&in);
	image_release(&out);
}

static void test_prepare_sizes(void)
{
	struct image in = IMAGE_INIT, out = IMAGE_INIT;
	static const int cases[][6] = {
		/* in w, h, resize, crop, out w, h */
		{ 500, 375, 256, 0, 341, 256 }, { 333, 500, 256, 0, 256, 384 },
		{ 500, 375, 256, 224, 224, 224 }, { 30, 20, 0, 0, 30, 20 },
		{ 30, 20, 0, 40, 40, 40 }, { 10, 1000, 7, 0, 7, 700 },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		image_alloc(&in, cases[i][0], cases[i][1]);
		memset(in.rgb, 100, (size_t)in.w * in.h * 3);
		int r = image_prepare(&in, cases[i][2], cases[i][3], &out);
		ok(!r && out.w == cases[i][4] && out.h == cases[i][5],
		   "prepare %dx%d resize %d crop %d gives %dx%d (got %dx%d)", cases[i][0],
		   cases[i][1], cases[i][2], cases[i][3], cases[i][4], cases[i][5], out.w, out.h);
	}
	image_release(&in);
	image_release(&out);
}

/*
 * image_prepare resizes only the pixels its crop keeps: byte for byte what resizing the whole image and
 * then cropping gives (image_resize, checked against PIL above, and image_center_crop), on random
 * pixels, for sizes where the crop fits, is the whole resized image, or does not fit (padding).
 */
static void test_prepare_window(void)
{
	static const int cases[][4] = {
		/* in w, h, resize, crop */
		{ 500, 375, 256, 224 }, { 333, 500, 256, 224 }, { 375, 500, 256, 256 },
		{ 640, 427, 232, 224 }, { 97, 61, 40, 33 },	{ 61, 97, 40, 39 },
		{ 50, 50, 50, 49 },	{ 50, 50, 80, 80 },	{ 20, 300, 9, 9 },
		{ 300, 20, 9, 8 },	{ 30, 20, 16, 17 },	{ 7, 5, 3, 3 },
	};
	unsigned seed = 7;
	size_t i, p, bad = 0;

	for (i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct image in = IMAGE_INIT, got = IMAGE_INIT, full = IMAGE_INIT, want = IMAGE_INIT;
		int w = cases[i][0], h = cases[i][1], resize = cases[i][2], crop = cases[i][3];
		int nlong = (int)((double)((long)resize * (w > h ? w : h)) / (w < h ? w : h));
		image_alloc(&in, w, h);
		for (p = 0; p < (size_t)w * h * 3; p++) {
			seed = seed * 1103515245u + 12345u;
			in.rgb[p] = (unsigned char)(seed >> 16);
		}
		if (image_prepare(&in, resize, crop, &got) ||
		    image_resize(&in, w <= h ? resize : nlong, w <= h ? nlong : resize, &full) ||
		    image_center_crop(&full, crop, crop, &want) || got.w != want.w || got.h != want.h ||
		    memcmp(got.rgb, want.rgb, (size_t)got.w * got.h * 3)) {
			diag("prepare %dx%d resize %d crop %d differs from resize, then crop", w, h, resize,
			     crop);
			bad++;
		}
		image_release(&in);
		image_release(&got);
		image_release(&full);
		image_release(&want);
	}
	ok(!bad,
	   "prepare (resize only the crop) equals resize then crop, byte for byte, in %zu cases (%zu differ)",
	   sizeof(cases) / sizeof(*cases), bad);
}

/* Each pixel's value is its x + 10 * y, so a crop shows where it was taken from. */
static int crop_origin(int w, int h, int cw, int ch, int *ox, int *oy, int *zeros)
{
	struct image in = IMAGE_INIT, out = IMAGE_INIT;
	int x, y, i, ret;
	image_alloc(&in, w, h);
	for (y = 0; y < h; y++)
		for (x = 0; x < w; x++)
			memset(in.rgb + (y * w + x) * 3, x + 10 * y + 1, 3);
	ret = image_center_crop(&in, cw, ch, &out);
	*zeros = 0;
	for (i = 0; i < cw * ch; i++)
		*zeros += !out.rgb[3 * i];
	*ox = *oy = -99;
	for (i = 0; i < cw * ch; i++)
		if (out.rgb[3 * i]) {
			int v = out.rgb[3 * i] - 1;
			*ox = v % 10 - i % cw;
			*oy = v / 10 - i / cw;
			break;
		}
	image_release(&in);
	image_release(&out);
	return ret;
}

static void test_crop(void)
{
	int ox, oy, z;
	/* int(round((size - crop) / 2.0)) with Python's round: 1.5 -> 2, 2.5 -> 2, 0.5 -> 0. */
	ok(!crop_origin(5, 5, 2, 2, &ox, &oy, &z) && ox == 2 && oy == 2 && !z, "5 -> 2 crops at 2");
	ok(!crop_origin(7, 6, 2, 5, &ox, &oy, &z) && ox == 2 && oy == 0 && !z,
	   "7 -> 2 crops at 2 (2.5 rounds to even), 6 -> 5 at 0 (0.5 rounds to even)");
	ok(!crop_origin(9, 8, 6, 3, &ox, &oy, &z) && ox == 2 && oy == 2 && !z,
	   "9 -> 6 crops at 2 (1.5 rounds to even), 8 -> 3 at 2");
	/* Padding: floor(shortfall / 2) on the left, the rest on the right, zeros. */
	ok(!crop_origin(3, 4, 6, 4, &ox, &oy, &z) && ox == -1 && oy == 0 && z == 3 * 4,
	   "3 -> 6 pads 1 left and 2 right with zeros");
}

static int jet_formula(int i, int c)
{
	/* 255 * clamp(min(4x - a, b - 4x)) at x = i / 255, in units of 1/2: exact, then half-even. */
	static const int a2[3] = { 3, 1, -1 }, b2[3] = { 9, 7, 5 }; /* 2a, 2b for r, g, b */
	long lo = 4 * 2 * i - a2[c] * 255, hi = b2[c] * 255 - 4 * 2 * i; /* both times 2 */
	long v = lo < hi ? lo : hi;                                      /* 2 * 255 * value */
	if (v < 0)
		v = 0;
	if (v > 2 * 255)
		v = 2 * 255;
	if (v % 2 == 0)
		return (int)(v / 2);
	return (int)((v / 2) % 2 ? v / 2 + 1 : v / 2);
}

static void test_jet(void)
{
	unsigned char c[3];
	int i, k, mismatches = 0, at = -1;

	overlay_jet_color(0, c);
	ok(c[0] == 0 && c[1] == 0 && c[2] == 128, "JET 0 is (0, 0, 128)");
	overlay_jet_color(255, c);
	ok(c[0] == 128 && c[1] == 0 && c[2] == 0, "JET 255 is (128, 0, 0)");
	overlay_jet_color(128, c);
	ok(c[0] == 130 && c[1] == 255 && c[2] == 126, "JET 128 is (130, 255, 126)");
	for (i = 0; i < 256; i++) {
		overlay_jet_color((unsigned char)i, c);
		for (k = 0; k < 3; k++)
			if (c[k] != jet_formula(i, k)) {
				mismatches++;
				at = i;
			}
	}
	ok(mismatches == 1 && at == 159,
	   "JET equals Octave's jet rounded half-even except OpenCV's level 159 (%d mismatches)",
	   mismatches);
}

static void test_overlay(void)
{
	struct image img = IMAGE_INIT, out = IMAGE_INIT;
	float heat[2] = { 0.0f, 1.0f };
	image_alloc(&img, 2, 1);
	memset(img.rgb, 0, 6);
	ok(!overlay_jet(&img, heat, 0.5f, &out), "overlay on black");
	/* cam = 0.5 * jet / 255; max is 0.5 * 128 / 255 -> blue 255 at heat 0, red 255 at 1. */
	ok(out.rgb[0] == 0 && out.rgb[2] == 255 && out.rgb[3] == 255 && out.rgb[5] == 0,
	   "overlay normalises by the maximum");
	error_set_quiet(1);
	ok(overlay_jet(&img, heat, 1.5f, &out) < 0, "image weight above 1 is an error");
	error_set_quiet(0);
	image_release(&img);
	image_release(&out);
}

static char tmpdir[64];

static void test_npy(void)
{
	char path[128], buf[256];
	const char *want = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
	float v[6] = { 0, 1, 2, 3, 4, 5 }, back[6];
	long shape[2] = { 2, 3 };
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/a.npy", tmpdir);
	ok(!npy_write_f32(path, v, 2, shape), "npy written");
	f = fopen(path, "rb");
	n = f ? fread(buf, 1, sizeof(buf), f) : 0;
	if (f)
		fclose(f);
	ok(n == 128 + 24 && !memcmp(buf, "\x93NUMPY\x01\x00", 8) && buf[8] == 118 && buf[9] == 0,
	   "npy magic, version 1.0 and a header length making the data start at 128");
	ok(!memcmp(buf + 10, want, strlen(want)) && buf[127] == '\n' && buf[126] == ' ',
	   "npy header dict, space padding and newline");
	memcpy(back, buf + 128, sizeof(back));
	ok(!memcmp(back, v, sizeof(v)), "npy data follows as little-endian float32");
	unlink(path);
}

/* A JPEG of the pattern scaled up, made with libjpeg itself, to break in memory. */
static unsigned char *make_jpeg(unsigned long *len)
{
	struct jpeg_compress_struct c;
	struct jpeg_error_mgr err;
	unsigned char *out = NULL, row[64 * 3];
	int x, y;

	c.err = jpeg_std_error(&err);
	jpeg_create_compress(&c);
	jpeg_mem_dest(&c, &out, len);
	c.image_width = 64;
	c.image_height = 48;
	c.input_components = 3;
	c.in_color_space = JCS_RGB;
	jpeg_set_defaults(&c);
	jpeg_start_compress(&c, TRUE);
	for (y = 0; y < 48; y++) {
		JSAMPROW r = row;
		for (x = 0; x < 64 * 3; x++)
			row[x] = (unsigned char)(x * 3 + y * 5);
		jpeg_write_scanlines(&c, &r, 1);
	}
	jpeg_finish_compress(&c);
	jpeg_destroy_compress(&c);
	return out;
}

static void test_broken(void)
{
	struct image img = IMAGE_INIT;
	unsigned long jlen;
	unsigned char *jpeg = make_jpeg(&jlen);
	char path[128];
	unsigned char *png = NULL;
	size_t plen = 0, cut;
	int bad_jpeg = 0, bad_png = 0;
	FILE *f;

	ok(!image_load_mem(jpeg, jlen, "mem.jpg", &img) && img.w == 64 && img.h == 48,
	   "a libjpeg-made JPEG decodes");
	error_set_quiet(1);
	/* Every proper prefix must be an error, leave the image empty, and not crash. */
	for (cut = 0; cut < jlen; cut += cut < 700 ? 1 : 13)
		if (!image_load_mem(jpeg, cut, "mem.jpg", &img) || img.rgb)
			bad_jpeg++;
	ok(!bad_jpeg, "every truncation of a JPEG is an error (%d were not)", bad_jpeg);

	snprintf(path, sizeof(path), "%s/p.png", tmpdir);
	pattern(&img);
	image_write_png(path, &img);
	f = fopen(path, "rb");
	if (f) {
		png = malloc(4096);
		plen = fread(png, 1, 4096, f);
		fclose(f);
	}
	ok(png && !image_load_mem(png, plen, "mem.png", &img) && img.w == 7 && img.h == 5,
	   "a PNG written by image_write_png decodes");
	for (cut = 0; png && cut < plen; cut++)
		if (!image_load_mem(png, cut, "mem.png", &img) || img.rgb)
			bad_png++;
	ok(!bad_png, "every truncation of a PNG is an error (%d were not)", bad_png);
	ok(image_load_mem("", 0, "empty", &img) < 0, "empty input is an error");
	ok(image_load_mem("hello, world\n", 13, "text.png", &img) < 0, "text is an error");
	ok(image_load_mem("BM\0\0\0\0\0\0\0\0\x36\0\0\0\x28\0\0\0\x10\0\0\0\x10\0\0\0\x01\0\x18\0", 32,
			  "short.bmp", &img) < 0,
	   "BMP header without pixels is an error");
	snprintf(path, sizeof(path), "%s/none.png", tmpdir);
	ok(image_load(path, &img) < 0, "missing file is an error");

	/* Allocation failures at each step: an error, never a crash. */
	{
		int n, fails = 0, succeeded = 0;
		struct image out = IMAGE_INIT;
		for (n = 0; n < 40; n++) {
			struct image in = IMAGE_INIT;
			xalloc_fail_after(n);
			if (image_load_mem(jpeg, jlen, "mem.jpg", &in) ||
			    image_prepare(&in, 40, 32, &out) || image_load_mem(png, plen, "p.png", &in))
				fails++;
			else
				succeeded++;
			xalloc_fail_after(-1);
			image_release(&in);
		}
		image_release(&out);
		ok(fails > 0 && succeeded > 0, "allocation failures are reported (%d failed, %d ran)",
		   fails, succeeded);
	}
	error_set_quiet(0);
	unlink(path);
	snprintf(path, sizeof(path), "%s/p.png", tmpdir);
	unlink(path);
	free(png);
	free(jpeg);
	image_release(&img);
}

static void test_normalize(void)
{
	struct image img = IMAGE_INIT;
	const float mean[3] = { 0.5f, 0.25f, 0.0f }, std[3] = { 0.5f, 0.25f, 1.0f };
	float out[6];
	image_alloc(&img, 2, 1);
	memcpy(img.rgb, "\xff\x00\x33\x00\xff\x66", 6);
	image_normalize(&img, mean, std, out);
	ok(out[0] == 1.0f && out[1] == -1.0f && out[2] == -1.0f && out[3] == 3.0f &&
		   out[4] == 0.2f && out[5] == 0.4f,
	   "normalize gives CHW planes of (x / 255 - mean) / std");
	image_release(&img);
}

int main(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_image.XXXXXX");
	if (!mkdtemp(tmpdir))
		skip_all("cannot make a temporary folder");
	test_resize();
	test_prepare_sizes();
	test_prepare_window();
	test_crop();
	test_jet();
	test_overlay();
	test_npy();
	test_broken();
	test_normalize();
	rmdir(tmpdir);
	return done_testing();
}
