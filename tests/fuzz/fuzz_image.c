/*
 * fuzz_image.c - libFuzzer target for the image decoders: each input goes through image_load_mem()
 * (JPEG and PNG through libjpeg and libpng, BMP and PNM by hand) and, where it decodes to a small
 * image, through image_prepare() several ways, so odd sizes reach the resampler and the crop too.
 * Not part of the CMake build; tests/fuzz/build.sh compiles it with clang.
 */
#include <stddef.h>
#include <stdint.h>

#include "cam/image.h"
#include "lib/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct image img = IMAGE_INIT, out = IMAGE_INIT;

	error_set_quiet(1);
	if (!image_load_mem(data, size, "fuzz", &img) && (long)img.w * img.h <= 1 << 16) {
		image_prepare(&img, 9, 7, &out);
		image_prepare(&img, 5, 0, &out);
		image_prepare(&img, 0, 11, &out);
		/* the largest resize a sidecar allows: a long thin image overflows its longer side */
		image_prepare(&img, 1 << 16, 224, &out);
	}
	image_release(&out);
	image_release(&img);
	return 0;
}
