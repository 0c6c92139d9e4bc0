/*
 * fuzz_spec.c - libFuzzer target for a spec front end and validation, built twice by tests/fuzz/build.sh:
 * fuzz_yaml (SPEC_EXT ".yaml") and fuzz_lua (SPEC_EXT ".lua"). Each input is written to a temporary file
 * of that extension and loaded with experiment_load(), a Lua one in the sandbox (never allow_unsafe: a
 * spec could run os.execute), whose instruction budget, memory cap and pattern guard end `while true do
 * end` and its kin, so an input that runs past libFuzzer's -timeout is a bug too, as is any crash, leak
 * or sanitizer report, in the parsers or in the Lua front end's scanner of key positions.
 * Not part of the CMake build; tests/fuzz/build.sh compiles it with clang (see docs/language.md).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "dsl/diag.h"
#include "dsl/experiment.h"
#include "lib/error.h"
#include "lib/fs.h"

#ifndef SPEC_EXT
#error "build with -DSPEC_EXT='\".yaml\"' or '\".lua\"' (tests/fuzz/build.sh)"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[64];
	struct experiment e;
	struct diag d = DIAG_INIT;

	if (!path[0]) {
		snprintf(path, sizeof(path), "/tmp/camlab-fuzz-%ld" SPEC_EXT, (long)getpid());
		error_set_quiet(1);
	}
	if (write_file(path, data, size) < 0)
		return 0;
	experiment_init(&e);
	experiment_load(&e, path, &d, 0);
	free(experiment_canonical(&e));
	diag_release(&d);
	experiment_release(&e);
	return 0;
}
