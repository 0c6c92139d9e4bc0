/*
 * image.h - decoding images into 8-bit RGB and preparing them the way torchvision does.
 *
 * The numbers must match a Python pipeline of PIL's Image.open(p).convert('RGB') followed by
 * transforms.Resize, CenterCrop, ToTensor and Normalize, so that heatmaps agree with reference tools.
 */
#ifndef CAM_IMAGE_H
#define CAM_IMAGE_H

#include <stddef.h>

/*
 * Interleaved 8-bit RGB, row-major, no padding: pixel (x, y) channel c is rgb[(y * w + x) * 3 + c].
 * The image owns rgb (xmalloc'd); an empty image has w == h == 0 and rgb == NULL.
 */
struct image {
	int w, h;
	unsigned char *rgb;
};
#define IMAGE_INIT { 0, 0, NULL }

void image_init(struct image *img);
/* Free the pixels and re-initialise; safe on an initialised or released image. */
void image_release(struct image *img);
/* Allocate w x h pixels (contents undefined), releasing whatever img held; -1 if out of memory. */
int image_alloc(struct image *img, int w, int h);

/*
 * Decode a JPEG, PNG, BMP or binary PNM (P5/P6, maxval 255) file, recognised by its magic bytes.
 * Grey, grey+alpha, palette, RGBA, CMYK and 16-bit inputs become RGB as PIL's convert('RGB') does:
 * alpha and PNG transparency are dropped, 16-bit samples keep their high byte. On success *out
 * (which must be initialised) is replaced; on error it is left empty and error() names the file.
 */
int image_load(const char *path, struct image *out);
/* The same from memory; name is only used in error messages. buf stays the caller's. */
int image_load_mem(const void *buf, size_t len, const char *name, struct image *out);

/*
 * torchvision's Resize(resize) (shorter side to resize, the longer to int(resize * long / short),
 * PIL bilinear with antialiasing) then CenterCrop(crop), padding with black where the image is
 * smaller than crop. resize <= 0 skips the resize, crop <= 0 the crop. out must be initialised and
 * may not be in; it is replaced.
 */
int image_prepare(const struct image *in, int resize, int crop, struct image *out);

/* PIL's Image.resize(w, h, BILINEAR) exactly (ImagingResample, 8-bit fixed point). out != in. */
int image_resize(const struct image *in, int w, int h, struct image *out);

/*
 * torchvision's CenterCrop(ch, cw): offsets int(round((size - crop) / 2.0)) with Python's
 * round-half-even, zero padding where the crop is larger than the image. out != in.
 */
int image_center_crop(const struct image *in, int cw, int ch, struct image *out);

/*
 * ToTensor + Normalize: out[c][y][x] = (rgb / 255 - mean[c]) / std[c] in float32, as CHW planes;
 * out holds 3 * h * w floats and belongs to the caller. Batches are normalised on the device instead
 * (ts_images_normalized, the same float operations); this is the host reference they are tested against.
 */
void image_normalize(const struct image *img, const float mean[3], const float std[3], float *out);

#endif
