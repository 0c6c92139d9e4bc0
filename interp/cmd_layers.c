/*
 * cmd_layers.c - `camlab layers`: the module paths of a model that a target layer can name, with their
 * class names, and the friendly layer names of its metadata.
 */
#include "interp/commands.h"

#include <getopt.h>
#include <stdio.h>

#include "cam/model.h"
#include "cam/torch_shim.h"
#include "lib/error.h"

static const char layers_usage[] =
	"usage: camlab layers --model FILE\n"
	"\n"
	"Lists the model's module paths (what --layer accepts) with their class names, and the layer\n"
	"names of its metadata.\n";

int cmd_layers(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "model", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = NULL;
	struct model m;
	size_t i;
	int opt;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "m:h", longopts, NULL)) != -1) {
		if (opt == 'm') {
			path = optarg;
		} else if (opt == 'h') {
			fputs(layers_usage, stdout);
			return 0;
		} else {
			fputs(layers_usage, stderr);
			return 2;
		}
	}
	if (!path) {
		error("no model given (--model FILE)");
		return 2;
	}
	if (ts_init(0) < 0 || model_load(&m, path, "cpu") < 0)
		return 1;
	for (i = 1; i < m.nr_paths; i++)
		printf("%-40s %s\n", m.paths[i], m.types[i]);
	for (i = 0; i < m.meta.nr_layers; i++)
		printf("%-40s = %s\n", m.meta.layers[i].name, m.meta.layers[i].path);
	model_release(&m);
	return 0;
}
