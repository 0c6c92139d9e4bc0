/*
 * overlay.c - heatmap colouring and the two output formats the experiments write: PNG for people
 * and .npy for Python-side checks. The colours must be OpenCV's, pixel for pixel, so figures match
 * the ones pytorch-grad-cam users know.
 */
#include "cam/overlay.h"

#include <math.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <png.h>

#include "lib/error.h"
#include "lib/strbuf.h"
#include "lib/xalloc.h"

/*
 * cv::applyColorMap(COLORMAP_JET) applied to the levels 0..255 by OpenCV 4.6, BGR turned to RGB.
 * It is round-half-even of 255 * jet(i / 255) with Octave's piecewise-linear jet, except at 159,
 * where OpenCV's float interpolation lands under the half; a formula would miss that, so we keep
 * the table OpenCV actually produces.
 */
static const unsigned char jet[256][3] = {
	{0, 0, 128}, {0, 0, 132}, {0, 0, 136}, {0, 0, 140},
	{0, 0, 144}, {0, 0, 148}, {0, 0, 152}, {0, 0, 156},
	{0, 0, 160}, {0, 0, 164}, {0, 0, 168}, {0, 0, 172},
	{0, 0, 176}, {0, 0, 180}, {0, 0, 184}, {0, 0, 188},
	{0, 0, 192}, {0, 0, 196}, {0, 0, 200}, {0, 0, 204},
	{0, 0, 208}, {0, 0, 212}, {0, 0, 216}, {0, 0, 220},
	{0, 0, 224}, {0, 0, 228}, {0, 0, 232}, {0, 0, 236},
	{0, 0, 240}, {0, 0, 244}, {0, 0, 248}, {0, 0, 252},
	{0, 0, 255}, {0, 4, 255}, {0, 8, 255}, {0, 12, 255},
	{0, 16, 255}, {0, 20, 255}, {0, 24, 255}, {0, 28, 255},
	{0, 32, 255}, {0, 36, 255}, {0, 40, 255}, {0, 44, 255},
	{0, 48, 255}, {0, 52, 255}, {0, 56, 255}, {0, 60, 255},
	{0, 64, 255}, {0, 68, 255}, {0, 72, 255}, {0, 76, 255},
	{0, 80, 255}, {0, 84, 255}, {0, 88, 255}, {0, 92, 255},
	{0, 96, 255}, {0, 100, 255}, {0, 104, 255}, {0, 108, 255},
	{0, 112, 255}, {0, 116, 255}, {0, 120, 255}, {0, 124, 255},
	{0, 128, 255}, {0, 132, 255}, {0, 136, 255}, {0, 140, 255},
	{0, 144, 255}, {0, 148, 255}, {0, 152, 255}, {0, 156, 255},
	{0, 160, 255}, {0, 164, 255}, {0, 168, 255}, {0, 172, 255},
	{0, 176, 255}, {0, 180, 255}, {0, 184, 255}, {0, 188, 255},
	{0, 192, 255}, {0, 196, 255}, {0, 200, 255}, {0, 204, 255},
	{0, 208, 255}, {0, 212, 255}, {0, 216, 255}, {0, 220, 255},
	{0, 224, 255}, {0, 228, 255}, {0, 232, 255}, {0, 236, 255},
	{0, 240, 255}, {0, 244, 255}, {0, 248, 255}, {0, 252, 255},
	{2, 255, 254}, {6, 255, 250}, {10, 255, 246}, {14, 255, 242},
	{18, 255, 238}, {22, 255, 234}, {26, 255, 230}, {30, 255, 226},
	{34, 255, 222}, {38, 255, 218}, {42, 255, 214}, {46, 255, 210},
	{50, 255, 206}, {54, 255, 202}, {58, 255, 198}, {62, 255, 194},
	{66, 255, 190}, {70, 255, 186}, {74, 255, 182}, {78, 255, 178},
	{82, 255, 174}, {86, 255, 170}, {90, 255, 166}, {94, 255, 162},
	{98, 255, 158}, {102, 255, 154}, {106, 255, 150}, {110, 255, 146},
	{114, 255, 142}, {118, 255, 138}, {122, 255, 134}, {126, 255, 130},
	{130, 255, 126}, {134, 255, 122}, {138, 255, 118}, {142, 255, 114},
	{146, 255, 110}, {150, 255, 106}, {154, 255, 102}, {158, 255, 98},
	{162, 255, 94}, {166, 255, 90}, {170, 255, 86}, {174, 255, 82},
	{178, 255, 78}, {182, 255, 74}, {186, 255, 70}, {190, 255, 66},
	{194, 255, 62}, {198, 255, 58}, {202, 255, 54}, {206, 255, 50},
	{210, 255, 46}, {214, 255, 42}, {218, 255, 38}, {222, 255, 34},
	{226, 255, 30}, {230, 255, 26}, {234, 255, 22}, {238, 255, 18},
	{242, 255, 14}, {246, 255, 10}, {250, 255, 6}, {254, 255, 1},
	{255, 252, 0}, {255, 248, 0}, {255, 244, 0}, {255, 240, 0},
	{255, 236, 0}, {255, 232, 0}, {255, 228, 0}, {255, 224, 0},
	{255, 220, 0}, {255, 216, 0}, {255, 212, 0}, {255, 208, 0},
	{255, 204, 0}, {255, 200, 0}, {255, 196, 0}, {255, 192, 0},
	{255, 188, 0}, {255, 184, 0}, {255, 180, 0}, {255, 176, 0},
	{255, 172, 0}, {255, 168, 0}, {255, 164, 0}, {255, 160, 0},
	{255, 156, 0}, {255, 152, 0}, {255, 148, 0}, {255, 144, 0},
	{255, 140, 0}, {255, 136, 0}, {255, 132, 0}, {255, 128, 0},
	{255, 124, 0}, {255, 120, 0}, {255, 116, 0}, {255, 112, 0},
	{255, 108, 0}, {255, 104, 0}, {255, 100, 0}, {255, 96, 0},
	{255, 92, 0}, {255, 88, 0}, {255, 84, 0}, {255, 80, 0},
	{255, 76, 0}, {255, 72, 0}, {255, 68, 0}, {255, 64, 0},
	{255, 60, 0}, {255, 56, 0}, {255, 52, 0}, {255, 48, 0},
	{255, 44, 0}, {255, 40, 0}, {255, 36, 0}, {255, 32, 0},
	{255, 28, 0}, {255, 24, 0}, {255, 20, 0}, {255, 16, 0},
	{255, 12, 0}, {255, 8, 0}, {255, 4, 0}, {255, 0, 0},
	{252, 0, 0}, {248, 0, 0}, {244, 0, 0}, {240, 0, 0},
	{236, 0, 0}, {232, 0, 0}, {228, 0, 0}, {224, 0, 0},
	{220, 0, 0}, {216, 0, 0}, {212, 0, 0}, {208, 0, 0},
	{204, 0, 0}, {200, 0, 0}, {196, 0, 0}, {192, 0, 0},
	{188, 0, 0}, {184, 0, 0}, {180, 0, 0}, {176, 0, 0},
	{172, 0, 0}, {168, 0, 0}, {164, 0, 0}, {160, 0, 0},
	{156, 0, 0}, {152, 0, 0}, {148, 0, 0}, {144, 0, 0},
	{140, 0, 0}, {136, 0, 0}, {132, 0, 0}, {128, 0, 0},
};

void overlay_jet_color(unsigned char v, unsigned char rgb[3])
{
	memcpy(rgb, jet[v], 3);
}

/* numpy's uint8(255 * x) for float32 x in [0, 1]: truncation toward zero. */
static unsigned char to_u8(float x)
{
	if (!(x > 0.0f))
		return 0;
	if (x >= 1.0f)
		return 255;
	return (unsigned char)(255.0f * x);
}

int overlay_jet(const struct image *img, const float *heat, float image_weight, struct image *out)
{
	size_t n = (size_t)img->w * img->h, i;
	float *cam, max = 0.0f, wh = 1.0f - image_weight;
	int c;

	if (image_weight < 0.0f || image_weight > 1.0f)
		return error("image weight %g is outside [0, 1]", image_weight);
	cam = xmalloc((n ? n : 1) * 3 * sizeof(*cam));
	if (!cam)
		return error("out of memory for a %dx%d overlay", img->w, img->h);
	/* float32 throughout, as numpy keeps float32 arrays float32 when scaled by Python floats. */
	for (i = 0; i < n; i++) {
		const unsigned char *col = jet[to_u8(heat[i])];
		for (c = 0; c < 3; c++) {
			float v = wh * ((float)col[c] / 255.0f) +
				  image_weight * ((float)img->rgb[3 * i + c] / 255.0f);
			cam[3 * i + c] = v;
			if (v > max)
				max = v;
		}
	}
	if (image_alloc(out, img->w, img->h)) {
		free(cam);
		return -1;
	}
	for (i = 0; i < 3 * n; i++)
		out->rgb[i] = max > 0.0f ? to_u8(cam[i] / max) : 0;
	free(cam);
	return 0;
}

struct png_wstate {
	char msg[200];
	png_bytep *rows;
};

static void png_werror(png_structp png, png_const_charp msg)
{
	struct png_wstate *st = png_get_error_ptr(png);
	snprintf(st->msg, sizeof(st->msg), "%s", msg);
	png_longjmp(png, 1);
}

static void png_wwarning(png_structp png, png_const_charp msg)
{
}

/* The setjmp lives here and the state in the caller's frame, so it survives the longjmp. */
static int png_encode(png_structp png, png_infop info, FILE *f, struct png_wstate *st,
		      const char *path, const struct image *img)
{
	int y;

	if (setjmp(png_jmpbuf(png))) {
		png_destroy_write_struct(&png, &info);
		free(st->rows);
		st->rows = NULL;
		return error("cannot write PNG '%s': %s", path, st->msg);
	}
	png_init_io(png, f);
	png_set_IHDR(png, info, img->w, img->h, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
		     PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	st->rows = xmalloc((size_t)img->h * sizeof(*st->rows));
	if (!st->rows) {
		snprintf(st->msg, sizeof(st->msg), "out of memory");
		png_longjmp(png, 1);
	}
	for (y = 0; y < img->h; y++)
		st->rows[y] = img->rgb + (size_t)y * img->w * 3;
	png_write_info(png, info);
	png_write_image(png, st->rows);
	png_write_end(png, NULL);
	png_destroy_write_struct(&png, &info);
	free(st->rows);
	st->rows = NULL;
	return 0;
}

int image_write_png(const char *path, const struct image *img)
{
	struct png_wstate st;
	png_structp png;
	png_infop info;
	FILE *f;
	int ret;

	if (img->w <= 0 || img->h <= 0)
		return error("cannot write PNG '%s': empty image", path);
	memset(&st, 0, sizeof(st));
	f = fopen(path, "wb");
	if (!f)
		return error("cannot open '%s' for writing", path);
	png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &st, png_werror, png_wwarning);
	info = png ? png_create_info_struct(png) : NULL;
	if (!info) {
		png_destroy_write_struct(&png, NULL);
		fclose(f);
		return error("cannot write PNG '%s': out of memory", path);
	}
	ret = png_encode(png, info, f, &st, path, img);
	if (fclose(f) && !ret)
		ret = error("cannot write PNG '%s'", path);
	return ret;
}

static int little_endian(void)
{
	unsigned int one = 1;
	unsigned char b;
	memcpy(&b, &one, 1);
	return b == 1;
}

int npy_write_f32(const char *path, const float *data, int ndim, const long *shape)
{
	struct strbuf hdr = STRBUF_INIT;
	size_t count = 1, total;
	unsigned char pre[10] = { 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, 0, 0 };
	FILE *f;
	int i, ret = 0;

	if (!little_endian())
		return error("cannot write '%s': .npy writing assumes a little-endian host", path);
	if (ndim < 0 || ndim > 32)
		return error("cannot write '%s': bad number of dimensions %d", path, ndim);
	strbuf_addstr(&hdr, "{'descr': '<f4', 'fortran_order': False, 'shape': (");
	for (i = 0; i < ndim; i++) {
		if (shape[i] < 0) {
			strbuf_release(&hdr);
			return error("cannot write '%s': negative dimension %ld", path, shape[i]);
		}
		strbuf_addf(&hdr, "%s%ld", i ? ", " : "", shape[i]);
		count *= (size_t)shape[i];
	}
	strbuf_addstr(&hdr, ndim == 1 ? ",), }" : "), }");
	/* numpy pads with spaces and a final newline so the data starts 64-byte aligned. */
	total = sizeof(pre) + hdr.len + 1;
	while (total % 64) {
		strbuf_addch(&hdr, ' ');
		total++;
	}
	strbuf_addch(&hdr, '\n');
	pre[8] = hdr.len & 0xff;
	pre[9] = (hdr.len >> 8) & 0xff;

	f = fopen(path, "wb");
	if (!f) {
		strbuf_release(&hdr);
		return error("cannot open '%s' for writing", path);
	}
	if (fwrite(pre, 1, sizeof(pre), f) != sizeof(pre) ||
	    fwrite(hdr.buf, 1, hdr.len, f) != hdr.len ||
	    (count && fwrite(data, sizeof(float), count, f) != count))
		ret = -1;
	if (fclose(f))
		ret = -1;
	strbuf_release(&hdr);
	if (ret)
		return error("cannot write '%s'", path);
	return 0;
}
