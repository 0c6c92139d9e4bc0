/*
 * fuzz_lua.c - libFuzzer target for the Lua front end and validation: each input is written to a
 * temporary .lua file and loaded with experiment_load() in the sandbox (never allow_unsafe: a spec
 * could run os.execute). The sandbox's instruction budget and memory cap end `while true do end` and
 * its kin, so an input that runs past libFuzzer's -timeout is a bug too; so is any crash or leak in the
 * text scanner that finds the keys' positions.
 * Not part of the CMake build; tests/fuzz/build.sh compiles it with clang.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "dsl/diag.h"
#include "dsl/experiment.h"
#include "lib/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[64];
	struct experiment e;
	struct diag d = DIAG_INIT;
	FILE *fp;
	char *canon;

	if (!path[0]) {
		snprintf(path, sizeof(path), "/tmp/camlab-fuzz-%ld.lua", (long)getpid());
		error_set_quiet(1);
	}
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
