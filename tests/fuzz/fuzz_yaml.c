/*
 * fuzz_yaml.c - libFuzzer target for the YAML front end and validation: each input is written to a
 * temporary .yaml file and loaded with experiment_load(); any crash, leak or sanitizer report is a bug.
 * Not part of the CMake build; tests/fuzz/build.sh compiles it with clang (see docs/language.md).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "dsl/diag.h"
#include "dsl/experiment.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[64];
	struct experiment e;
	struct diag d = DIAG_INIT;
	FILE *fp;
	char *canon;

	if (!path[0])
		snprintf(path, sizeof(path), "/tmp/camlab-fuzz-%ld.yaml", (long)getpid());
	fp = fopen(path, "wb");
	if (!fp)
		return 0;
	fwrite(data, 1, size, fp);
	fclose(fp);
	experiment_init(&e);
	experiment_load(&e, path, &d, 0);
	canon = experiment_canonical(&e);
	free(canon);
	diag_release(&d);
	experiment_release(&e);
	return 0;
}
