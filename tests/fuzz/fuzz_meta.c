/*
 * fuzz_meta.c - libFuzzer target for a model's metadata: the first byte of an input picks the reader,
 * the rest is the file: a sidecar YAML (model_meta_read, whose classes_file may name the fixed
 * classes.txt and classes.json beside it), a text class-names file or a JSON class index
 * (model_meta_read_classes). Not part of the CMake build; tests/fuzz/build.sh compiles it with clang.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cam/model.h"
#include "lib/error.h"
#include "lib/fs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64];

static int setup(void)
{
	static const char txt[] = "cat\ndog\r\n\nbird";
	static const char json[] = "{\"0\": [\"n01\", \"cat\"], \"1\": [\"n02\", \"dog\"], \"2\": \"bird\"}";
	char path[128];

	snprintf(dir, sizeof(dir), "/tmp/camlab-fuzz-meta-%ld", (long)getpid());
	mkdir(dir, 0700);
	snprintf(path, sizeof(path), "%s/classes.txt", dir);
	if (write_file(path, txt, sizeof(txt) - 1))
		return -1;
	snprintf(path, sizeof(path), "%s/classes.json", dir);
	return write_file(path, json, sizeof(json) - 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = { "model.yaml", "names.txt", "index.json" };
	static int ready;
	struct model_meta meta = MODEL_META_INIT;
	char path[128];
	int mode;

	if (!ready) {
		error_set_quiet(1);
		if (setup())
			abort();
		ready = 1;
	}
	if (!size)
		return 0;
	mode = data[0] % 3;
	snprintf(path, sizeof(path), "%s/%s", dir, names[mode]);
	if (write_file(path, data + 1, size - 1))
		return 0;
	if (mode == 0)
		model_meta_read(&meta, path);
	else
		model_meta_read_classes(&meta, path);
	model_meta_release(&meta);
	return 0;
}
