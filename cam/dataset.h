/*
 * dataset.h - the image collections an experiment runs over: torchvision ImageFolder trees, flat
 * folders with a CSV of labels, list files, and IDX files (MNIST, Fashion-MNIST). Items are listed
 * in the order torchvision would give them, so indices and labels agree with Python tools.
 */
#ifndef CAM_DATASET_H
#define CAM_DATASET_H

#include <stddef.h>

#include "cam/image.h"

struct dataset_item {
	char *path;  /* owned; for IDX records "FILE#N" */
	int label;   /* -1 when unknown */
	long index;  /* record number in an IDX file, else -1 */
};

/*
 * Everything is owned by the dataset and freed by dataset_release. classes is non-NULL only for
 * ImageFolder (class names in label order). idx_data holds nr * idx_w * idx_h grey bytes for an
 * IDX dataset, NULL otherwise.
 */
struct dataset {
	size_t nr, alloc;
	struct dataset_item *items;
	char **classes;
	size_t nr_classes;
	unsigned char *idx_data;
	int idx_w, idx_h;
};
#define DATASET_INIT { 0, 0, NULL, NULL, 0, NULL, 0, 0 }

void dataset_init(struct dataset *ds);

/*
 * Open path, recognising its layout:
 *  - a folder with sub-folders: ImageFolder. Classes are all sub-folders sorted by name (hidden
 *    ones too, as torchvision does), files are found recursively and sorted as torchvision's
 *    sorted(os.walk()) does; only .jpg .jpeg .png .ppm .bmp .pgm .tif .tiff .webp (any case)
 *    count; a class without files is an error, as in torchvision. labels must be NULL.
 *  - a folder of image files (same extensions), sorted by name; labels, if not NULL, is a CSV
 *    "filename,label" (optional header, optional double quotes); unlisted files get -1.
 *  - an IDX image file (magic 0x803, gzip or plain): items are its records; labels are read from
 *    the IDX label file labels, or else from the sibling named with "images-idx3" replaced by
 *    "labels-idx1" when there is one.
 *  - an image file (JPEG/PNG/BMP/PNM magic): a one-item dataset with label -1.
 *  - any other file: a list file, one image path a line (relative to the list file's folder
 *    unless absolute), optionally followed by whitespace and an integer label; '#' starts a
 *    comment line, blank lines are skipped. labels, if given, is a CSV applied as for a folder,
 *    keyed by the path as written in the list.
 * ds must be initialised; on error it is left empty and error() names the file (and line).
 */
int dataset_open(struct dataset *ds, const char *path, const char *labels);
void dataset_release(struct dataset *ds);

/* Decode item i into out (initialised; replaced). IDX records become grey RGB. */
int dataset_load(const struct dataset *ds, size_t i, struct image *out);

#endif
