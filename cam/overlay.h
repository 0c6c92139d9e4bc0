/*
 * overlay.h - turning heatmaps into pictures and arrays: the JET colour overlay that
 * pytorch-grad-cam's show_cam_on_image draws, PNG output, and NumPy .npy output.
 */
#ifndef CAM_OVERLAY_H
#define CAM_OVERLAY_H

#include "cam/image.h"

/* OpenCV's COLORMAP_JET entry for level v, in RGB order. */
void overlay_jet_color(unsigned char v, unsigned char rgb[3]);

/*
 * Blend a heatmap over img as show_cam_on_image(img / 255, heat, use_rgb=True,
 * image_weight=image_weight) does: JET of uint8(255 * heat), cam = (1 - w) * jet / 255 +
 * w * img / 255, divided by its maximum, then uint8(255 * cam). heat holds img->h * img->w values
 * in [0, 1] (others are clamped, NaN counts as 0); it stays the caller's. out must be initialised
 * and is replaced.
 */
int overlay_jet(const struct image *img, const float *heat, float image_weight, struct image *out);

/* Write img as an 8-bit RGB PNG; error() names the file on failure. */
int image_write_png(const char *path, const struct image *img);

/*
 * Write a NumPy .npy file (format 1.0, '<f4', C order, header padded to a multiple of 64 bytes)
 * holding data, whose shape is shape[0..ndim-1] (ndim 0 is a scalar).
 */
int npy_write_f32(const char *path, const float *data, int ndim, const long *shape);

#endif
