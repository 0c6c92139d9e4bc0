/*
 * cmd_version.c - `camlab version`: camlab's version, and which libtorch it loaded with how many CUDA
 * devices (what a bug report needs, and what the tests read to decide on their GPU checks).
 */
#include "interp/commands.h"

#include <stdio.h>
#include <string.h>

#include "cam/torch_load.h"
#include "cam/torch_shim.h"

int cmd_version(int argc, char **argv)
{
	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		fputs("usage: camlab version\n\nPrints camlab's version, the libtorch it loaded and where from, "
		      "and the number of CUDA devices that libtorch sees.\n",
		      stdout);
		return 0;
	}
	printf("camlab %s\n", CAMLAB_VERSION);
	/* The tests read this line to know whether to run their GPU checks (tests/lib.sh, have_cuda). */
	printf("cuda devices: %d\n", ts_cuda_device_count());
	printf("%s, loaded from %s\n", ts_version(), ts_load_path());
	return 0;
}
