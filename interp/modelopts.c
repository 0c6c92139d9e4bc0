/*
 * modelopts.c - shared options of the model-running commands (see modelopts.h).
 */
#include "interp/modelopts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cam/torch_load.h"
#include "lib/error.h"
#include "lib/xalloc.h"

void modelopts_init(struct modelopts *o)
{
	memset(o, 0, sizeof(*o));
	o->device = "cpu";
	o->size = o->resize = -1;
	o->batch = 8;
	o->workers = -1;
	o->prefix_tokens = -1;
}

int parse_count(const char *opt, const char *arg, long *out)
{
	char *end;
	long v = strtol(arg, &end, 10);
	if (end == arg || *end || v < 0 || v > 100000000)
		return error("--%s needs a non-negative integer, not '%s'", opt, arg);
	*out = v;
	return 0;
}

int modelopts_parse(struct modelopts *o, int opt, const char *arg)
{
	long v = 0;
	switch (opt) {
	case OPT_MODEL:
		o->model = arg;
		return 1;
	case OPT_DEVICE:
		o->device = arg;
		return 1;
	case OPT_CLASSES:
		o->classes = arg;
		return 1;
	case OPT_META:
		o->meta = arg;
		return 1;
	case OPT_DATASET:
		o->dataset = arg;
		return 1;
	case OPT_LABELS:
		o->labels = arg;
		return 1;
	case OPT_SIZE:
		if (parse_count("size", arg, &v) < 0)
			return -1;
		o->size = (int)v;
		return 1;
	case OPT_RESIZE:
		if (parse_count("resize", arg, &v) < 0)
			return -1;
		o->resize = (int)v;
		return 1;
	case OPT_BATCH:
		if (parse_count("batch", arg, &v) < 0 || v == 0)
			return error("--batch needs a positive integer, not '%s'", arg);
		o->batch = (int)v;
		return 1;
	case OPT_LIMIT:
		if (parse_count("limit", arg, &v) < 0)
			return -1;
		o->limit = (size_t)v;
		return 1;
	case OPT_THREADS:
		if (parse_count("threads", arg, &v) < 0)
			return -1;
		o->threads = (int)v;
		return 1;
	case OPT_WORKERS:
		if (parse_count("workers", arg, &v) < 0)
			return -1;
		o->workers = (int)v;
		return 1;
	case OPT_PRECISION:
		return model_precision_parse(arg, &o->precision) < 0 ? -1 : 1;
	case OPT_CHANNELS_LAST:
		o->channels_last = 1;
		return 1;
	case OPT_LAYER:
		o->layer = arg;
		return 1;
	case OPT_LAYOUT:
		return model_layout_parse(arg, &o->layout) < 0 ? -1 : 1;
	case OPT_PREFIX_TOKENS:
		if (parse_count("prefix-tokens", arg, &v) < 0)
			return -1;
		o->prefix_tokens = (int)v;
		return 1;
	case OPT_GRID:
		return model_grid_parse(arg, &o->grid_h, &o->grid_w) < 0 ? -1 : 1;
	case OPT_MEAN:
	case OPT_STD:
		if (parse_float3(arg, opt == OPT_MEAN ? o->mean : o->std) < 0)
			return error("--%s needs three comma-separated numbers, not '%s'",
				     opt == OPT_MEAN ? "mean" : "std", arg);
		if (opt == OPT_MEAN)
			o->have_mean = 1;
		else
			o->have_std = 1;
		return 1;
	}
	return 0;
}

static void add_file(struct dataset *ds, const char *path)
{
	ALLOC_GROW(ds->items, ds->nr + 1, ds->alloc);
	ds->items[ds->nr].path = xstrdup(path);
	ds->items[ds->nr].label = -1;
	ds->items[ds->nr].index = -1;
	ds->nr++;
}

int modelopts_load(struct modelopts *o, struct model *m, struct dataset *ds, char **files, int nfiles,
		   struct preprocess *pp)
{
	int i;

	if (!o->model)
		return error("no model given (--model FILE)");
	if (!o->dataset && nfiles == 0)
		return error("no images given (image files, or --dataset PATH)");
	if (o->labels && !o->dataset)
		return error("--labels needs --dataset");
	batch_set_default_workers(o->workers);
	/* libtorch loads while the images are listed */
	ts_load_start();
	dataset_init(ds);
	if (o->dataset && dataset_open(ds, o->dataset, o->labels) < 0)
		return -1;
	for (i = 0; i < nfiles; i++)
		add_file(ds, files[i]);
	if (ds->nr == 0)
		return error("no images found in '%s'", o->dataset ? o->dataset : "the arguments");

	if (ts_init(o->threads) < 0)
		return error("cannot start libtorch: %s", ts_error());
	if (ts_device_check(o->device) < 0)
		return error("%s", ts_error());
	if (model_load(m, o->model, o->device) < 0)
		return -1;
	if (ts_module_set_precision(m->mod, o->precision, o->channels_last) < 0)
		return error("%s: %s", o->model, ts_error());
	if (o->meta && model_meta_read(&m->meta, o->meta) < 0)
		return -1;
	if (o->classes && model_meta_read_classes(&m->meta, o->classes) < 0)
		return -1;
	{
		long *map = model_label_map(m, ds);
		size_t k;
		for (k = 0; map && k < ds->nr; k++)
			if (ds->items[k].label >= 0)
				ds->items[k].label = (int)map[ds->items[k].label];
		free(map);
	}

	if (model_preprocess(m, o->size, o->resize, o->have_mean ? o->mean : NULL, o->have_std ? o->std : NULL,
			     pp))
		fprintf(stderr, "note: no normalisation in the model's metadata; using ImageNet's "
				"mean and std where --mean/--std are not given\n");
	for (i = 0; i < 3; i++)
		if (pp->std[i] <= 0)
			return error("--std values must be positive");
	return 0;
}
