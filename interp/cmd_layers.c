/*
 * cmd_layers.c - `camlab layers`: the module paths of a model that a target layer can name, with their
 * class names, and the friendly layer names of its metadata.
 */
#include "interp/commands.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cam/model.h"
#include "cam/torch_shim.h"
#include "interp/modelopts.h"
#include "lib/error.h"
#include "lib/strbuf.h"
#include "lib/xalloc.h"

static const char layers_usage[] =
	"usage: camlab layers --model FILE [--shapes [--size N]]\n"
	"\n"
	"Lists the model's module paths (what --layer accepts) with their class names, and the layer\n"
	"names of its metadata. --shapes also runs one dummy image (N x N, default: the metadata's\n"
	"input size, else 224) to each layer and prints its output's shape and the layout camlab will\n"
	"assume there: bchw, bhwc (channels last, marked *) or bnc P+HxW (P prefix tokens, then an\n"
	"H x W grid of tokens, marked *); '-' where the model cannot be cut there.\n"
	"\n"
	"A spec's layer may fuse several of these paths (layers: {f: [layer3, layer4]}; explain's\n"
	"--layer layer3,layer4): every method runs at each and the maps are fused (camlab help methods).\n";

/*
 * The output shape of one layer on x and the layout camlab assumes, as --layout auto resolves it: a cut
 * and a prefix run per layer, which is why it is only done when asked.
 */
static void print_shape(struct model *m, const char *path, const char *type, const ts_tensor *x)
{
	struct strbuf sb = STRBUF_INIT;
	ts_split *split = NULL;
	ts_carry *carry = NULL;
	ts_tensor *a = NULL;
	enum ts_layout layout;
	int d;

	if (model_split(m, path, TS_LAYOUT_AUTO, &split) < 0 || ts_split_prefix(split, x, &carry, &a) < 0) {
		error_last_reset();
		printf("%-40s %-20s -\n", path, type);
		ts_split_free(split);
		return;
	}
	strbuf_addch(&sb, '(');
	for (d = 0; d < ts_dim(a); d++)
		strbuf_addf(&sb, "%s%lld", d ? ", " : "", (long long)ts_size(a, d));
	strbuf_addstr(&sb, ") ");
	layout = ts_split_layout(split);
	model_describe_layout(split, &sb);
	if (layout == TS_LAYOUT_BHWC || layout == TS_LAYOUT_BNC)
		strbuf_addstr(&sb, " *");
	printf("%-40s %-20s %s\n", path, type, sb.buf);
	strbuf_release(&sb);
	ts_free(a);
	ts_carry_free(carry);
	ts_split_free(split);
}

int cmd_layers(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "model", required_argument, NULL, 'm' },
		{ "shapes", no_argument, NULL, 's' },
		{ "size", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = NULL;
	struct model m;
	ts_tensor *x = NULL;
	size_t i;
	int opt, shapes = 0;
	long size = -1;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "m:h", longopts, NULL)) != -1) {
		if (opt == 'm') {
			path = optarg;
		} else if (opt == 's') {
			shapes = 1;
		} else if (opt == 'n') {
			if (parse_count("size", optarg, &size) < 0 || size == 0 || size > 8192)
				return error("--size needs a size from 1 to 8192, not '%s'", optarg), 2;
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
	if (shapes) {
		int64_t shape[4] = { 1, 3, 224, 224 };
		float *zeros;
		if (size > 0)
			shape[2] = shape[3] = size;
		else if (m.meta.input_size > 0)
			shape[2] = shape[3] = m.meta.input_size;
		zeros = xcalloc((size_t)(3 * shape[2] * shape[3]), sizeof(float));
		x = ts_from_f32(zeros, shape, 4, "cpu");
		free(zeros);
		if (!x) {
			error("cannot make a dummy input: %s", ts_error());
			model_release(&m);
			return 1;
		}
	}
	/* a module that cannot be cut (called twice, inside a loop) prints '-', not an error each */
	error_set_quiet(x != NULL);
	for (i = 1; i < m.nr_paths; i++)
		if (x)
			print_shape(&m, m.paths[i], m.types[i], x);
		else
			printf("%-40s %s\n", m.paths[i], m.types[i]);
	error_set_quiet(0);
	ts_free(x);
	for (i = 0; i < m.meta.nr_layers; i++)
		printf("%-40s = %s\n", m.meta.layers[i].name, m.meta.layers[i].path);
	model_release(&m);
	return 0;
}
