/*
 * image_tool.c - a test-tool exposing cam/image, cam/overlay and cam/dataset to the shell tests,
 * which compare its raw outputs with PIL, torchvision and numpy. Not installed; not for users.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cam/dataset.h"
#include "cam/image.h"
#include "cam/overlay.h"
#include "lib/error.h"
#include "lib/xalloc.h"

static int usage(void)
{
	fprintf(stderr,
		"usage: image_tool decode IMG OUT.bin\n"
		"       image_tool preprocess IMG RESIZE CROP OUT.bin\n"
		"       image_tool resize IMG W H OUT.bin\n"
		"       image_tool normalize IMG OUT.f32      (ImageNet mean/std, CHW float32)\n"
		"       image_tool writepng IMG OUT.png\n"
		"       image_tool overlay IMG HEAT.f32 WEIGHT OUT.png\n"
		"       image_tool jet\n"
		"       image_tool npy OUT.npy [DIM...]       (values 0.5 * i - 1)\n"
		"       image_tool list DATASET [CSV]\n"
		"       image_tool load DATASET I OUT.bin\n");
	return 2;
}

static int to_int(const char *s, long *out)
{
	char *end;
	errno = 0;
	*out = strtol(s, &end, 10);
	if (errno || !*s || *end)
		return error("bad number '%s'", s);
	return 0;
}

static int write_raw(const char *path, const void *data, size_t n)
{
	FILE *f = fopen(path, "wb");
	int ret = 0;
	if (!f)
		return error("cannot open '%s' for writing", path);
	if (fwrite(data, 1, n, f) != n)
		ret = -1;
	if (fclose(f))
		ret = -1;
	return ret ? error("cannot write '%s'", path) : 0;
}

/* Prints "W H" so the shell side knows how to reshape the raw bytes. */
static int write_image(const char *path, const struct image *img)
{
	printf("%d %d\n", img->w, img->h);
	return write_raw(path, img->rgb, (size_t)img->w * img->h * 3);
}

static void *read_raw(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t alloc = 0, n;
	*len = 0;
	if (!f) {
		error("cannot open '%s'", path);
		return NULL;
	}
	do {
		ALLOC_GROW(buf, *len + 4096, alloc);
		n = fread(buf + *len, 1, alloc - *len, f);
		*len += n;
	} while (n);
	fclose(f);
	return buf;
}

static int cmd_image(int argc, char **argv)
{
	struct image img = IMAGE_INIT, out = IMAGE_INIT;
	long a = 0, b = 0;
	int ret = -1;

	if (image_load(argv[2], &img))
		return 1;
	if (!strcmp(argv[1], "decode") && argc == 4) {
		ret = write_image(argv[3], &img);
	} else if (!strcmp(argv[1], "preprocess") && argc == 6) {
		if (!to_int(argv[3], &a) && !to_int(argv[4], &b) &&
		    !image_prepare(&img, (int)a, (int)b, &out))
			ret = write_image(argv[5], &out);
	} else if (!strcmp(argv[1], "resize") && argc == 6) {
		if (!to_int(argv[3], &a) && !to_int(argv[4], &b) &&
		    !image_resize(&img, (int)a, (int)b, &out))
			ret = write_image(argv[5], &out);
	} else if (!strcmp(argv[1], "normalize") && argc == 4) {
		static const float mean[3] = { 0.485f, 0.456f, 0.406f };
		static const float std[3] = { 0.229f, 0.224f, 0.225f };
		size_t n = (size_t)img.w * img.h * 3;
		float *v = xmalloc(n * sizeof(*v));
		image_normalize(&img, mean, std, v);
		printf("%d %d\n", img.w, img.h);
		ret = write_raw(argv[3], v, n * sizeof(*v));
		free(v);
	} else if (!strcmp(argv[1], "writepng") && argc == 4) {
		ret = image_write_png(argv[3], &img);
	} else if (!strcmp(argv[1], "overlay") && argc == 6) {
		size_t len;
		float *heat = read_raw(argv[3], &len);
		char *end;
		double w = strtod(argv[4], &end);
		if (!heat || len != (size_t)img.w * img.h * sizeof(float) || *end)
			error("heat file '%s' must hold %dx%d float32", argv[3], img.w, img.h);
		else if (!overlay_jet(&img, heat, (float)w, &out))
			ret = image_write_png(argv[5], &out);
		free(heat);
	} else {
		ret = usage();
	}
	image_release(&img);
	image_release(&out);
	return ret ? 1 : 0;
}

static int cmd_list(int argc, char **argv)
{
	struct dataset ds = DATASET_INIT;
	size_t i;

	if (dataset_open(&ds, argv[2], argc > 3 ? argv[3] : NULL))
		return 1;
	printf("%zu items\n", ds.nr);
	for (i = 0; i < ds.nr_classes; i++)
		printf("class %zu %s\n", i, ds.classes[i]);
	for (i = 0; i < ds.nr; i++)
		printf("%zu\t%d\t%s\n", i, ds.items[i].label, ds.items[i].path);
	dataset_release(&ds);
	return 0;
}

static int cmd_load(int argc, char **argv)
{
	struct dataset ds = DATASET_INIT;
	struct image img = IMAGE_INIT;
	long i;
	int ret = 1;

	if (argc != 5 || to_int(argv[3], &i))
		return usage();
	if (!dataset_open(&ds, argv[2], NULL) && !dataset_load(&ds, (size_t)i, &img))
		ret = write_image(argv[4], &img) ? 1 : 0;
	image_release(&img);
	dataset_release(&ds);
	return ret;
}

static int cmd_npy(int argc, char **argv)
{
	long shape[16], n = 1, i;
	float *v;
	int nd = argc - 3, ret;

	if (nd > 16)
		return usage();
	for (i = 0; i < nd; i++) {
		if (to_int(argv[3 + i], &shape[i]))
			return 1;
		n *= shape[i];
	}
	v = xmalloc((size_t)(n ? n : 1) * sizeof(*v));
	for (i = 0; i < n; i++)
		v[i] = 0.5f * (float)i - 1.0f;
	ret = npy_write_f32(argv[2], v, nd, shape);
	free(v);
	return ret ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage();
	if (!strcmp(argv[1], "jet") && argc == 2) {
		int i;
		for (i = 0; i < 256; i++) {
			unsigned char c[3];
			overlay_jet_color((unsigned char)i, c);
			printf("%d %d %d\n", c[0], c[1], c[2]);
		}
		return 0;
	}
	if (!strcmp(argv[1], "list") && (argc == 3 || argc == 4))
		return cmd_list(argc, argv);
	if (!strcmp(argv[1], "load"))
		return cmd_load(argc, argv);
	if (!strcmp(argv[1], "npy") && argc >= 3)
		return cmd_npy(argc, argv);
	if (argc >= 4)
		return cmd_image(argc, argv);
	return usage();
}
