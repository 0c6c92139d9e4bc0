/*
 * fuzz_dataset.c - libFuzzer target for the dataset readers: each input is written to a temporary file
 * and opened three ways with dataset_open(): as the dataset itself (an IDX file, plain or gzip'd, an
 * image or a list file, by its first bytes), as the CSV labels of a flat folder of images, and as the
 * IDX label file of a valid IDX image file. Records of an IDX dataset are loaded too; the paths a list
 * names are not, since a list may name any file (a FIFO, /dev/zero).
 * Not part of the CMake build; tests/fuzz/build.sh compiles it with clang.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cam/dataset.h"
#include "lib/error.h"
#include "lib/fs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64], input[96], flat[96], images[96];

/* A folder with three image files (their contents never read) and a 3-record IDX image file. */
static int setup(void)
{
	static const unsigned char idx[16 + 3 * 2 * 2] = { 0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 2 };
	static const char *const names[] = { "a.png", "b b.jpg", "c,1.bmp" };
	char path[160];
	size_t i;

	snprintf(dir, sizeof(dir), "/tmp/camlab-fuzz-dataset-%ld", (long)getpid());
	snprintf(input, sizeof(input), "%s/input", dir);
	snprintf(flat, sizeof(flat), "%s/flat", dir);
	snprintf(images, sizeof(images), "%s/t-images-idx3-ubyte", dir);
	mkdir(dir, 0700);
	mkdir(flat, 0700);
	for (i = 0; i < sizeof(names) / sizeof(*names); i++) {
		snprintf(path, sizeof(path), "%s/%s", flat, names[i]);
		if (write_file(path, "x", 1))
			return -1;
	}
	return write_file(images, idx, sizeof(idx));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	struct dataset ds = DATASET_INIT;
	struct image img = IMAGE_INIT;
	size_t i;

	if (!ready) {
		error_set_quiet(1);
		if (setup())
			abort();
		ready = 1;
	}
	if (write_file(input, data, size))
		return 0;
	if (!dataset_open(&ds, input, NULL) && ds.idx_data)
		for (i = 0; i < ds.nr && i < 4; i++)
			dataset_load(&ds, i, &img);
	dataset_release(&ds);
	dataset_open(&ds, flat, input);
	dataset_release(&ds);
	dataset_open(&ds, images, input);
	dataset_release(&ds);
	image_release(&img);
	return 0;
}
