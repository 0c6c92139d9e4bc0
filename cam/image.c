/*
 * image.c - decoding (libjpeg-turbo, libpng, a small BMP/PNM reader) and torchvision-style
 * preprocessing. The resampler follows Pillow's Resample.c step for step, because models are
 * evaluated against pipelines that used PIL, and a level of difference moves heatmaps.
 */
#include "cam/image.h"

#include <limits.h>
#include <math.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>
#include <png.h>

#include "lib/error.h"
#include "lib/xalloc.h"

/* PIL refuses images above twice its MAX_IMAGE_PIXELS; so do we, and it keeps w * h * 3 in range. */
#define IMAGE_MAX_PIXELS 178956970L

void image_init(struct image *img)
{
	img->w = img->h = 0;
	img->rgb = NULL;
}

void image_release(struct image *img)
{
	free(img->rgb);
	image_init(img);
}

int image_alloc(struct image *img, int w, int h)
{
	size_t n = (size_t)w * h * 3;

	image_release(img);
	img->rgb = xmalloc(n ? n : 1);
	if (!img->rgb)
		return error("out of memory for a %dx%d image", w, h);
	img->w = w;
	img->h = h;
	return 0;
}

static int check_size(const char *name, long w, long h)
{
	if (w <= 0 || h <= 0)
		return error("cannot decode '%s': bad image size %ldx%ld", name, w, h);
	if (w > INT_MAX / 4 || h > INT_MAX / 4 || w * h > IMAGE_MAX_PIXELS)
		return error("cannot decode '%s': image too large (%ldx%ld)", name, w, h);
	return 0;
}

/* ---- JPEG ------------------------------------------------------------------------------------ */

/*
 * libjpeg reports errors through error_exit, which must not return; we longjmp back to
 * jpeg_decode. The state lives in the caller's frame (not jpeg_decode's), so values written
 * after setjmp stay valid after the longjmp.
 */
struct jpeg_state {
	struct jpeg_error_mgr pub;
	jmp_buf jmp;
	char msg[JMSG_LENGTH_MAX];
	unsigned char *rgb;
	unsigned char *row;
};

static void jpeg_error_exit(j_common_ptr cinfo)
{
	struct jpeg_state *st = (struct jpeg_state *)cinfo->err;
	st->pub.format_message(cinfo, st->msg);
	longjmp(st->jmp, 1);
}

/*
 * Warnings are ignored as PIL ignores them, except running out of data: libjpeg would pad the
 * image with grey, where PIL raises "image file is truncated".
 */
static void jpeg_emit_message(j_common_ptr cinfo, int level)
{
	struct jpeg_state *st = (struct jpeg_state *)cinfo->err;
	if (level < 0 && st->pub.msg_code == JWRN_JPEG_EOF) {
		snprintf(st->msg, sizeof(st->msg), "file is truncated");
		longjmp(st->jmp, 1);
	}
}

/* Pillow's cmyk2rgb, including its MULDIV255 rounding. */
static unsigned char cmyk_channel(int v, int nk)
{
	int tmp = v * nk + 128;
	int r = nk - (((tmp >> 8) + tmp) >> 8);
	return (unsigned char)(r < 0 ? 0 : r > 255 ? 255 : r);
}

static int jpeg_decode(struct jpeg_decompress_struct *cinfo, struct jpeg_state *st,
		       const void *buf, size_t len, const char *name, struct image *out)
{
	int nc;
	size_t x, y;

	cinfo->err = jpeg_std_error(&st->pub);
	st->pub.error_exit = jpeg_error_exit;
	st->pub.emit_message = jpeg_emit_message;
	if (setjmp(st->jmp)) {
		jpeg_destroy_decompress(cinfo);
		free(st->rgb);
		free(st->row);
		st->rgb = st->row = NULL;
		return error("cannot decode JPEG '%s': %s", name, st->msg);
	}
	jpeg_create_decompress(cinfo);
	jpeg_mem_src(cinfo, buf, (unsigned long)len);
	jpeg_read_header(cinfo, TRUE);
	/*
	 * Before jpeg_start_decompress, which allocates for the size the header claims: a progressive
	 * file's coefficients for all of it, gigabytes for a few hundred bytes of input.
	 */
	if (check_size(name, cinfo->image_width, cinfo->image_height)) {
		jpeg_destroy_decompress(cinfo);
		return -1;
	}
	switch (cinfo->jpeg_color_space) {
	case JCS_GRAYSCALE:
		cinfo->out_color_space = JCS_GRAYSCALE;
		break;
	case JCS_CMYK:
	case JCS_YCCK:
		cinfo->out_color_space = JCS_CMYK;
		break;
	default:
		cinfo->out_color_space = JCS_RGB;
		break;
	}
	jpeg_start_decompress(cinfo);
	nc = cinfo->output_components;
	st->rgb = xmalloc((size_t)cinfo->output_width * cinfo->output_height * 3);
	st->row = xmalloc((size_t)cinfo->output_width * nc);
	if (!st->rgb || !st->row) {
		snprintf(st->msg, sizeof(st->msg), "out of memory");
		longjmp(st->jmp, 1);
	}
	for (y = 0; y < cinfo->output_height; y++) {
		unsigned char *dst = st->rgb + y * cinfo->output_width * 3;
		JSAMPROW rows[1] = { st->row };
		jpeg_read_scanlines(cinfo, rows, 1);
		for (x = 0; x < cinfo->output_width; x++) {
			const unsigned char *p = st->row + x * nc;
			if (nc == 1) {
				dst[3 * x] = dst[3 * x + 1] = dst[3 * x + 2] = p[0];
			} else if (nc == 4) {
				/* Adobe writes inverted CMYK; PIL reads it as "CMYK;I". */
				int inv = cinfo->saw_Adobe_marker;
				int k = inv ? 255 - p[3] : p[3], nk = 255 - k, c;
				for (c = 0; c < 3; c++)
					dst[3 * x + c] = cmyk_channel(inv ? 255 - p[c] : p[c], nk);
			} else {
				memcpy(dst + 3 * x, p, 3);
			}
		}
	}
	jpeg_finish_decompress(cinfo);
	jpeg_destroy_decompress(cinfo);
	free(st->row);
	image_release(out);
	out->w = (int)cinfo->output_width;
	out->h = (int)cinfo->output_height;
	out->rgb = st->rgb;
	st->rgb = st->row = NULL;
	return 0;
}

static int load_jpeg(const void *buf, size_t len, const char *name, struct image *out)
{
	struct jpeg_decompress_struct cinfo;
	struct jpeg_state st;

	memset(&st, 0, sizeof(st));
	return jpeg_decode(&cinfo, &st, buf, len, name, out);
}

/* ---- PNG ------------------------------------------------------------------------------------- */

struct png_state {
	const unsigned char *buf;
	size_t len, pos;
	char msg[200];
	unsigned char *rgb;
	png_bytep *rows;
};

static void png_error_fn(png_structp png, png_const_charp msg)
{
	struct png_state *st = png_get_error_ptr(png);
	snprintf(st->msg, sizeof(st->msg), "%s", msg);
	png_longjmp(png, 1);
}

static void png_warning_fn(png_structp png, png_const_charp msg)
{
	/* PIL does not show libpng's warnings (iCCP profiles and the like) either. */
}

static void png_read_fn(png_structp png, png_bytep data, png_size_t n)
{
	struct png_state *st = png_get_io_ptr(png);
	if (st->len - st->pos < n)
		png_error(png, "file is truncated");
	memcpy(data, st->buf + st->pos, n);
	st->pos += n;
}

static int png_decode(png_structp png, png_infop info, struct png_state *st, const char *name,
		      struct image *out)
{
	png_uint_32 w, h, y;
	int depth, type;

	if (setjmp(png_jmpbuf(png))) {
		png_destroy_read_struct(&png, &info, NULL);
		free(st->rgb);
		free(st->rows);
		st->rgb = NULL;
		st->rows = NULL;
		return error("cannot decode PNG '%s': %s", name, st->msg);
	}
	png_set_read_fn(png, st, png_read_fn);
	png_read_info(png, info);
	png_get_IHDR(png, info, &w, &h, &depth, &type, NULL, NULL, NULL);
	if (check_size(name, w, h)) {
		png_destroy_read_struct(&png, &info, NULL);
		return -1;
	}
	/*
	 * No tRNS-to-alpha and no gamma handling: PIL's convert('RGB') keeps the stored colours and
	 * ignores transparency. strip_16 keeps the high byte, as PIL's "RGB;16B" unpacker does.
	 */
	if (type == PNG_COLOR_TYPE_PALETTE)
		png_set_palette_to_rgb(png);
	if (type == PNG_COLOR_TYPE_GRAY && depth < 8)
		png_set_expand_gray_1_2_4_to_8(png);
	if (depth == 16)
		png_set_strip_16(png);
	/* palette_to_rgb also turns tRNS into alpha, which must go again. */
	if ((type & PNG_COLOR_MASK_ALPHA) || png_get_valid(png, info, PNG_INFO_tRNS))
		png_set_strip_alpha(png);
	if (!(type & PNG_COLOR_MASK_COLOR))
		png_set_gray_to_rgb(png);
	png_set_interlace_handling(png);
	png_read_update_info(png, info);
	if (png_get_rowbytes(png, info) != (size_t)w * 3) {
		snprintf(st->msg, sizeof(st->msg), "unexpected row layout");
		png_longjmp(png, 1);
	}
	st->rgb = xmalloc((size_t)w * h * 3);
	st->rows = xmalloc(h * sizeof(*st->rows));
	if (!st->rgb || !st->rows) {
		snprintf(st->msg, sizeof(st->msg), "out of memory");
		png_longjmp(png, 1);
	}
	for (y = 0; y < h; y++)
		st->rows[y] = st->rgb + (size_t)y * w * 3;
	png_read_image(png, st->rows);
	png_read_end(png, NULL);
	png_destroy_read_struct(&png, &info, NULL);
	free(st->rows);
	image_release(out);
	out->w = (int)w;
	out->h = (int)h;
	out->rgb = st->rgb;
	st->rgb = NULL;
	st->rows = NULL;
	return 0;
}

static int load_png(const void *buf, size_t len, const char *name, struct image *out)
{
	struct png_state st;
	png_structp png;
	png_infop info;

	memset(&st, 0, sizeof(st));
	st.buf = buf;
	st.len = len;
	png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &st, png_error_fn, png_warning_fn);
	if (!png)
		return error("cannot decode PNG '%s': out of memory", name);
	info = png_create_info_struct(png);
	if (!info) {
		png_destroy_read_struct(&png, NULL, NULL);
		return error("cannot decode PNG '%s': out of memory", name);
	}
	return png_decode(png, info, &st, name, out);
}

/* ---- BMP ------------------------------------------------------------------------------------- */

static unsigned rd16(const unsigned char *p)
{
	return p[0] | (unsigned)p[1] << 8;
}

static uint32_t rd32(const unsigned char *p)
{
	return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* A BITFIELDS channel: where the mask starts and how wide it is, so samples scale to 0..255. */
struct bmp_field {
	int shift;
	uint32_t max;
};

static void bmp_field_init(struct bmp_field *f, uint32_t mask)
{
	f->shift = 0;
	f->max = 0;
	if (!mask)
		return;
	while (!(mask & 1)) {
		mask >>= 1;
		f->shift++;
	}
	f->max = mask;
}

/* PIL's unpackers for 5- and 6-bit fields scale as v * 255 / max with truncation. */
static unsigned char bmp_field_get(const struct bmp_field *f, uint32_t v)
{
	if (!f->max)
		return 0;
	v = (v >> f->shift) & f->max;
	return (unsigned char)((uint64_t)v * 255 / f->max);
}

static int load_bmp(const unsigned char *buf, size_t len, const char *name, struct image *out)
{
	uint32_t off, hsize, comp = 0, ncolors = 0, masks[3] = { 0, 0, 0 };
	long w, h;
	int bpp, topdown = 0, palsize, i;
	const unsigned char *pal = NULL;
	size_t stride, y, x;
	struct bmp_field f[3];

	if (len < 26)
		return error("cannot decode BMP '%s': file is truncated", name);
	off = rd32(buf + 10);
	hsize = rd32(buf + 14);
	if (hsize == 12) {
		w = rd16(buf + 18);
		h = (int16_t)rd16(buf + 20);
		bpp = rd16(buf + 24);
		palsize = 3;
	} else if (hsize >= 40 && 14 + (size_t)hsize <= len) {
		w = (int32_t)rd32(buf + 18);
		h = (int32_t)rd32(buf + 22);
		bpp = rd16(buf + 28);
		comp = rd32(buf + 30);
		ncolors = rd32(buf + 46);
		palsize = 4;
	} else {
		return error("cannot decode BMP '%s': unsupported header size %u", name, (unsigned)hsize);
	}
	if (h < 0) {
		topdown = 1;
		h = -h;
	}
	if (check_size(name, w, h))
		return -1;
	if (comp == 3 || comp == 6) {
		/* The masks follow a 40-byte header and sit at the same place inside larger ones. */
		if (len < 14 + 40 + 12 || (bpp != 16 && bpp != 32))
			return error("cannot decode BMP '%s': bad bitfields", name);
		for (i = 0; i < 3; i++)
			masks[i] = rd32(buf + 54 + 4 * i);
	} else if (comp != 0) {
		return error("cannot decode BMP '%s': unsupported compression %u", name, (unsigned)comp);
	} else if (bpp == 16) {
		masks[0] = 0x7c00;
		masks[1] = 0x03e0;
		masks[2] = 0x001f;
	} else if (bpp == 32) {
		masks[0] = 0xff0000;
		masks[1] = 0xff00;
		masks[2] = 0xff;
	}
	if (bpp != 1 && bpp != 4 && bpp != 8 && bpp != 16 && bpp != 24 && bpp != 32)
		return error("cannot decode BMP '%s': unsupported bit depth %d", name, bpp);
	if (bpp <= 8) {
		size_t pal_off = 14 + hsize;
		if (!ncolors || ncolors > (1u << bpp))
			ncolors = 1u << bpp;
		if (pal_off + (size_t)ncolors * palsize > len)
			return error("cannot decode BMP '%s': file is truncated", name);
		pal = buf + pal_off;
	}
	for (i = 0; i < 3; i++)
		bmp_field_init(&f[i], masks[i]);
	stride = ((size_t)bpp * w + 31) / 32 * 4;
	if (off > len || (len - off) / stride < (size_t)h)
		return error("cannot decode BMP '%s': file is truncated", name);

	if (image_alloc(out, (int)w, (int)h))
		return -1;
	for (y = 0; y < (size_t)h; y++) {
		const unsigned char *row = buf + off + (topdown ? y : h - 1 - y) * stride;
		unsigned char *dst = out->rgb + y * w * 3;
		for (x = 0; x < (size_t)w; x++, dst += 3) {
			if (bpp <= 8) {
				unsigned bit = (unsigned)(x * bpp), v;
				v = (row[bit / 8] >> (8 - bpp - bit % 8)) & ((1u << bpp) - 1);
				if (v >= ncolors)
					v = 0;
				dst[0] = pal[v * palsize + 2];
				dst[1] = pal[v * palsize + 1];
				dst[2] = pal[v * palsize + 0];
			} else if (bpp == 24) {
				dst[0] = row[3 * x + 2];
				dst[1] = row[3 * x + 1];
				dst[2] = row[3 * x + 0];
			} else {
				uint32_t v = bpp == 16 ? rd16(row + 2 * x) : rd32(row + 4 * x);
				for (i = 0; i < 3; i++)
					dst[i] = bmp_field_get(&f[i], v);
			}
		}
	}
	return 0;
}

/* ---- PNM (binary P5/P6 with maxval 255, enough for torchvision's .pgm/.ppm) ------------------ */

static int pnm_number(const unsigned char *buf, size_t len, size_t *pos, long *out)
{
	long v = 0;
	int digits = 0;
	while (*pos < len) {
		unsigned char c = buf[*pos];
		if (c == '#') {
			while (*pos < len && buf[*pos] != '\n')
				(*pos)++;
		} else if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
			(*pos)++;
		} else {
			break;
		}
	}
	while (*pos < len && buf[*pos] >= '0' && buf[*pos] <= '9' && v < 1000000) {
		v = v * 10 + (buf[*pos] - '0');
		(*pos)++;
		digits++;
	}
	*out = v;
	return digits ? 0 : -1;
}

static int load_pnm(const unsigned char *buf, size_t len, const char *name, struct image *out)
{
	int grey = buf[1] == '5';
	size_t pos = 2, n, i;
	long w, h, maxval;

	if (pnm_number(buf, len, &pos, &w) || pnm_number(buf, len, &pos, &h) ||
	    pnm_number(buf, len, &pos, &maxval) || pos >= len)
		return error("cannot decode PNM '%s': bad header", name);
	if (maxval != 255)
		return error("cannot decode PNM '%s': unsupported maxval %ld", name, maxval);
	if (check_size(name, w, h))
		return -1;
	pos++; /* the single whitespace byte before the raster */
	n = (size_t)w * h;
	if ((len - pos) / (grey ? 1 : 3) < n)
		return error("cannot decode PNM '%s': file is truncated", name);
	if (image_alloc(out, (int)w, (int)h))
		return -1;
	if (grey) {
		for (i = 0; i < n; i++)
			out->rgb[3 * i] = out->rgb[3 * i + 1] = out->rgb[3 * i + 2] = buf[pos + i];
	} else {
		memcpy(out->rgb, buf + pos, n * 3);
	}
	return 0;
}

/* ---- entry points ---------------------------------------------------------------------------- */

int image_load_mem(const void *data, size_t len, const char *name, struct image *out)
{
	const unsigned char *buf = data;

	image_release(out);
	if (len >= 3 && buf[0] == 0xff && buf[1] == 0xd8 && buf[2] == 0xff)
		return load_jpeg(buf, len, name, out);
	if (len >= 8 && !memcmp(buf, "\x89PNG\r\n\x1a\n", 8))
		return load_png(buf, len, name, out);
	if (len >= 2 && buf[0] == 'B' && buf[1] == 'M')
		return load_bmp(buf, len, name, out);
	if (len >= 3 && buf[0] == 'P' && (buf[1] == '5' || buf[1] == '6'))
		return load_pnm(buf, len, name, out);
	if (!len)
		return error("cannot decode '%s': file is empty", name);
	return error("cannot decode '%s': unknown image format", name);
}

int image_load(const char *path, struct image *out)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf = NULL;
	size_t len = 0, alloc = 0, n;
	int ret;

	image_release(out);
	if (!f)
		return error("cannot open '%s'", path);
	for (;;) {
		ALLOC_GROW(buf, len + 65536, alloc);
		if (!buf) {
			fclose(f);
			return error("out of memory reading '%s'", path);
		}
		n = fread(buf + len, 1, alloc - len, f);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(f)) {
		fclose(f);
		free(buf);
		return error("cannot read '%s'", path);
	}
	fclose(f);
	ret = image_load_mem(buf, len, path, out);
	free(buf);
	return ret;
}

/* ---- resampling, after Pillow's Resample.c ------------------------------------------------- */

#define PRECISION_BITS (32 - 8 - 2)

static double bilinear_filter(double x)
{
	if (x < 0.0)
		x = -x;
	if (x < 1.0)
		return 1.0 - x;
	return 0.0;
}

/*
 * For each output pixel, the first input pixel and the count that contribute, and their
 * fixed-point weights (ksize per output pixel). Pillow computes the weights in double, widens
 * the filter by the downscale factor (the antialiasing) and rounds them to 22-bit fixed point.
 */
struct coeffs {
	int ksize;
	int *bounds;
	int32_t *k;
};

static int coeffs_init(struct coeffs *c, int in_size, int out_size)
{
	double scale, filterscale, support, center, ww, ss;
	double *kk;
	int xx, x, xmin, xmax;

	filterscale = scale = (double)in_size / out_size;
	if (filterscale < 1.0)
		filterscale = 1.0;
	support = 1.0 * filterscale;
	c->ksize = (int)ceil(support) * 2 + 1;
	kk = xcalloc((size_t)out_size * c->ksize, sizeof(*kk));
	c->bounds = xmalloc((size_t)out_size * 2 * sizeof(int));
	c->k = xmalloc((size_t)out_size * c->ksize * sizeof(int32_t));
	if (!kk || !c->bounds || !c->k) {
		free(kk);
		free(c->bounds);
		free(c->k);
		return error("out of memory for resampling weights");
	}
	for (xx = 0; xx < out_size; xx++) {
		double *k = kk + (size_t)xx * c->ksize;
		center = (xx + 0.5) * scale;
		ww = 0.0;
		ss = 1.0 / filterscale;
		xmin = (int)(center - support + 0.5);
		if (xmin < 0)
			xmin = 0;
		xmax = (int)(center + support + 0.5);
		if (xmax > in_size)
			xmax = in_size;
		xmax -= xmin;
		for (x = 0; x < xmax; x++) {
			double w = bilinear_filter((x + xmin - center + 0.5) * ss);
			k[x] = w;
			ww += w;
		}
		for (x = 0; x < xmax; x++)
			if (ww != 0.0)
				k[x] /= ww;
		c->bounds[xx * 2] = xmin;
		c->bounds[xx * 2 + 1] = xmax;
	}
	for (x = 0; x < out_size * c->ksize; x++)
		c->k[x] = (int32_t)(kk[x] < 0 ? -0.5 + kk[x] * (1 << PRECISION_BITS)
					       : 0.5 + kk[x] * (1 << PRECISION_BITS));
	free(kk);
	return 0;
}

static void coeffs_release(struct coeffs *c)
{
	free(c->bounds);
	free(c->k);
}

static unsigned char clip8(int32_t v)
{
	if (v >= (1 << PRECISION_BITS << 8))
		return 255;
	if (v <= 0)
		return 0;
	return (unsigned char)(v >> PRECISION_BITS);
}

/*
 * Pillow's two passes, computing only the output pixels of a window: along x, output columns
 * x0..x0+out_w-1 of the input rows y0..y0+rows-1; along y, output rows y0..y0+out_h-1 from those
 * (whose first is input row y_first). Sums are integers, so their order does not change a bit; the
 * vertical pass adds whole rows at a time, which the compiler vectorises.
 */
static void resample_h(const unsigned char *in, int in_w, int y0, int rows, const struct coeffs *c, int x0,
		       unsigned char *out, int out_w)
{
	int y, xx, x, ch;
	for (y = 0; y < rows; y++) {
		const unsigned char *src = in + (size_t)(y + y0) * in_w * 3;
		unsigned char *dst = out + (size_t)y * out_w * 3;
		for (xx = 0; xx < out_w; xx++) {
			int xmin = c->bounds[(x0 + xx) * 2], xmax = c->bounds[(x0 + xx) * 2 + 1];
			const int32_t *k = c->k + (size_t)(x0 + xx) * c->ksize;
			int32_t s0 = 1 << (PRECISION_BITS - 1), s1 = s0, s2 = s0;
			const unsigned char *p = src + xmin * 3;
			for (x = 0; x < xmax; x++, p += 3) {
				s0 += p[0] * k[x];
				s1 += p[1] * k[x];
				s2 += p[2] * k[x];
			}
			ch = xx * 3;
			dst[ch] = clip8(s0);
			dst[ch + 1] = clip8(s1);
			dst[ch + 2] = clip8(s2);
		}
	}
}

static void resample_v(const unsigned char *in, int w, int y_first, const struct coeffs *c, int y0,
		       unsigned char *out, int out_h, int32_t *acc)
{
	size_t row = (size_t)w * 3, x;
	int yy, y;

	for (yy = 0; yy < out_h; yy++) {
		int ymin = c->bounds[(y0 + yy) * 2] - y_first, ymax = c->bounds[(y0 + yy) * 2 + 1];
		const int32_t *k = c->k + (size_t)(y0 + yy) * c->ksize;
		unsigned char *dst = out + yy * row;
		for (x = 0; x < row; x++)
			acc[x] = 1 << (PRECISION_BITS - 1);
		for (y = 0; y < ymax; y++) {
			const unsigned char *src = in + (size_t)(y + ymin) * row;
			int32_t kk = k[y];
			for (x = 0; x < row; x++)
				acc[x] += src[x] * kk;
		}
		for (x = 0; x < row; x++)
			dst[x] = clip8(acc[x]);
	}
}

/*
 * The window [x0, x0 + cw) x [y0, y0 + ch) of in resized to w x h (the window inside it), into out
 * (cw x ch): the pixels image_resize would give there, without computing the others.
 */
static int resize_window(const struct image *in, int w, int h, int x0, int y0, int cw, int ch,
			 struct image *out)
{
	struct coeffs chz, cv;
	int need_h, need_v, y_first, y_last, y;
	unsigned char *tmp = NULL;
	int32_t *acc = NULL; /* one output row's sums */
	const unsigned char *src = in->rgb;
	size_t src_w = (size_t)in->w;

	if (w <= 0 || h <= 0 || !in->w || !in->h)
		return error("cannot resize %dx%d image to %dx%d", in->w, in->h, w, h);
	if (check_size("resize", w, h))
		return -1;
	need_h = w != in->w;
	need_v = h != in->h;
	if (coeffs_init(&chz, in->w, w))
		return -1;
	if (coeffs_init(&cv, in->h, h)) {
		coeffs_release(&chz);
		return -1;
	}
	/* Only the input rows that the vertical pass reads for the window go through the horizontal one. */
	if (need_v) {
		y_first = cv.bounds[y0 * 2];
		y_last = cv.bounds[(y0 + ch - 1) * 2] + cv.bounds[(y0 + ch - 1) * 2 + 1];
	} else {
		y_first = y0;
		y_last = y0 + ch;
	}
	tmp = xmalloc((size_t)cw * (y_last - y_first) * 3);
	acc = xmalloc((size_t)cw * 3 * sizeof(*acc));
	if (!tmp || !acc)
		goto oom;
	if (need_h) {
		resample_h(in->rgb, in->w, y_first, y_last - y_first, &chz, x0, tmp, cw);
	} else {
		for (y = y_first; y < y_last; y++)
			memcpy(tmp + (size_t)(y - y_first) * cw * 3, in->rgb + ((size_t)y * src_w + x0) * 3,
			       (size_t)cw * 3);
	}
	src = tmp;
	if (image_alloc(out, cw, ch))
		goto oom;
	if (need_v)
		resample_v(src, cw, y_first, &cv, y0, out->rgb, ch, acc);
	else
		memcpy(out->rgb, src, (size_t)cw * ch * 3);
	free(tmp);
	free(acc);
	coeffs_release(&chz);
	coeffs_release(&cv);
	return 0;
oom:
	free(tmp);
	free(acc);
	coeffs_release(&chz);
	coeffs_release(&cv);
	return error("out of memory resizing to %dx%d", w, h);
}

int image_resize(const struct image *in, int w, int h, struct image *out)
{
	return resize_window(in, w, h, 0, 0, w, h, out);
}

/* Python's int(round(v / 2.0)) for an integer v: halves go to the even neighbour. */
static int half_round_even(int v)
{
	int q = v >= 0 ? v / 2 : -((-v) / 2);
	if (v % 2 != 0 && q % 2 != 0)
		q += v > 0 ? 1 : -1;
	return q;
}

/*
 * The offset of output pixel 0 in the input along one axis. torchvision pads first (floor of
 * half the shortfall on the left/top) and then crops the padded image at 0.
 */
static int crop_offset(int size, int crop)
{
	if (crop > size)
		return -((crop - size) / 2);
	return half_round_even(size - crop);
}

int image_center_crop(const struct image *in, int cw, int ch, struct image *out)
{
	int ox = crop_offset(in->w, cw), oy = crop_offset(in->h, ch), y, x0, x1;

	if (cw <= 0 || ch <= 0)
		return error("cannot crop to %dx%d", cw, ch);
	if (image_alloc(out, cw, ch))
		return -1;
	memset(out->rgb, 0, (size_t)cw * ch * 3);
	x0 = ox < 0 ? -ox : 0;
	x1 = in->w - ox < cw ? in->w - ox : cw;
	for (y = 0; y < ch; y++) {
		int sy = y + oy;
		if (sy < 0 || sy >= in->h || x1 <= x0)
			continue;
		memcpy(out->rgb + ((size_t)y * cw + x0) * 3,
		       in->rgb + ((size_t)sy * in->w + x0 + ox) * 3, (size_t)(x1 - x0) * 3);
	}
	return 0;
}

int image_prepare(const struct image *in, int resize, int crop, struct image *out)
{
	struct image tmp = IMAGE_INIT;
	const struct image *cur = in;
	int ret = 0;

	if (!in->w || !in->h)
		return error("cannot prepare an empty image");
	if (resize > 0) {
		/* torchvision's _compute_resized_output_size, including its truncation. */
		int w = in->w, h = in->h, nw, nh;
		int shorter = w <= h ? w : h, longer = w <= h ? h : w;
		double exact = (double)((long)resize * longer) / shorter;
		int nlong;
		/* a long thin image (a few MB of BMP) would give a side past INT_MAX, and (int) of that is UB */
		if (exact > INT_MAX / 4)
			return error("cannot resize %dx%d image to %d on its shorter side: too large", w, h,
				     resize);
		nlong = (int)exact;
		nw = w <= h ? resize : nlong;
		nh = w <= h ? nlong : resize;
		if (crop > 0 && crop <= nw && crop <= nh)
			/* resize only the pixels the crop keeps: the same bytes, about half the work */
			return resize_window(in, nw, nh, crop_offset(nw, crop), crop_offset(nh, crop), crop,
					     crop, out);
		if (image_resize(in, nw, nh, &tmp))
			return -1;
		cur = &tmp;
	}
	if (crop > 0) {
		ret = image_center_crop(cur, crop, crop, out);
	} else if (cur == &tmp) {
		image_release(out);
		*out = tmp;
		return 0;
	} else if (!(ret = image_alloc(out, in->w, in->h))) {
		memcpy(out->rgb, in->rgb, (size_t)in->w * in->h * 3);
	}
	image_release(&tmp);
	return ret;
}

void image_normalize(const struct image *img, const float mean[3], const float std[3], float *out)
{
	size_t n = (size_t)img->w * img->h, i;
	int c;
	for (c = 0; c < 3; c++) {
		float *plane = out + c * n;
		for (i = 0; i < n; i++)
			plane[i] = ((float)img->rgb[3 * i + c] / 255.0f - mean[c]) / std[c];
	}
}
