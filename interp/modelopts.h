/*
 * modelopts.h - the options every model-running command shares (--model, --device, --size, --mean,
 * ...), and turning them, the model's sidecar and the image arguments into a loaded model, a dataset
 * and a preprocessing recipe.
 */
#ifndef INTERP_MODELOPTS_H
#define INTERP_MODELOPTS_H

#include <getopt.h>
#include <stddef.h>

#include "cam/batch.h"
#include "cam/dataset.h"
#include "cam/model.h"

struct modelopts {
	const char *model;
	const char *device;
	const char *classes;
	const char *meta;
	const char *dataset;
	const char *labels;
	int size, resize; /* -1: not given */
	int have_mean, have_std;
	float mean[3], std[3];
	int batch;
	size_t limit;
	int threads;
	int workers; /* image decoding threads (batch_source_set_workers); -1: not given */
	enum ts_precision precision;
	int channels_last;
	const char *layer;     /* --layer (LAYEROPTS_LONG); NULL: not given */
	enum ts_layout layout; /* --layout; default auto */
	int prefix_tokens;     /* --prefix-tokens; -1: detect */
	int grid_h, grid_w;    /* --grid; 0: infer */
};

#define MODELOPTS_HELP                                                                                  \
	"  --model FILE        TorchScript classifier (metadata from FILE.yaml beside it if present)\n" \
	"  --meta FILE         model metadata YAML (input_size, resize, mean, std, classes, layers)\n"  \
	"  --classes FILE      class names: one per line, or imagenet_class_index.json\n"               \
	"  --size N            model input size: resize the shorter side to N*256/224, crop N x N\n"    \
	"                      (0: use images as they are)\n"                                           \
	"  --resize N          shorter side before the crop (overrides the N*256/224 rule)\n"           \
	"  --mean a,b,c        normalisation mean (default: metadata, else ImageNet's)\n"               \
	"  --std a,b,c         normalisation std (default: metadata, else ImageNet's)\n"                \
	"  --device D          cpu, cuda or cuda:N (default cpu)\n"                                     \
	"  --precision P       fp32 (default, strict), tf32, bf16 or fp16: the model's arithmetic\n"    \
	"                      (bf16 and fp16 under autocast; tf32 and fp16 on CUDA only)\n"            \
	"  --channels-last     weights and images channels-last (faster convolutions on GPUs)\n"        \
	"  --batch N           images per batch (default 8)\n"                                          \
	"  --threads N         CPU threads for libtorch (default: all cores)\n"                         \
	"  --workers N         threads decoding images ahead of the model (default: all cores;\n"       \
	"                      0 or 1: decode between batches)\n"                                       \
	"  --dataset PATH      images from a dataset: a folder of class folders, a flat folder\n"       \
	"                      (labels from --labels CSV), a list file or an IDX file\n"                \
	"  --labels FILE       labels for --dataset (CSV filename,label or an IDX label file)\n"        \
	"  --limit N           only the first N images (0: all, the default)\n"

/* The target layer's options, for the commands that cut the model there (explain, the bench and test tools). */
#define LAYEROPTS_HELP                                                                                \
	"  --layer L           target layer: a module path as named_modules() prints it (layer4.1,\n" \
	"                      features.28, Conv_1) or a name from the model's metadata (pre_gap);\n" \
	"                      several joined by ',' (layer3,layer4) fuse their maps (explain)\n"      \
	"  --layout K          how the layer lays out its output: bchw, bhwc (channels last, e.g.\n"  \
	"                      Swin), bnc (a square grid of tokens); the default, auto, takes 3-D\n"  \
	"                      outputs as tokens, LayerNorm outputs as channels-last, others as bchw\n" \
	"  --prefix-tokens N   tokens before the grid in a bnc layer (class, distillation, register\n" \
	"                      tokens), left out of the map (default: detected, e.g. 1 for ViT)\n"   \
	"  --grid HxW          the token grid (default: the input size over the patch size)\n"

enum {
	OPT_MODEL = 1000,
	OPT_DEVICE,
	OPT_CLASSES,
	OPT_META,
	OPT_DATASET,
	OPT_LABELS,
	OPT_SIZE,
	OPT_RESIZE,
	OPT_MEAN,
	OPT_STD,
	OPT_BATCH,
	OPT_LIMIT,
	OPT_THREADS,
	OPT_WORKERS,
	OPT_PRECISION,
	OPT_CHANNELS_LAST,
	OPT_LAYER,
	OPT_LAYOUT,
	OPT_PREFIX_TOKENS,
	OPT_GRID,
	OPT_FIRST_COMMAND /* commands number their own options from here */
};

#define MODELOPTS_LONG                                                                             \
	{ "model", required_argument, NULL, OPT_MODEL }, { "device", required_argument, NULL, OPT_DEVICE }, \
	{ "classes", required_argument, NULL, OPT_CLASSES }, { "meta", required_argument, NULL, OPT_META }, \
	{ "dataset", required_argument, NULL, OPT_DATASET },                                           \
	{ "labels", required_argument, NULL, OPT_LABELS }, { "size", required_argument, NULL, OPT_SIZE }, \
	{ "resize", required_argument, NULL, OPT_RESIZE }, { "mean", required_argument, NULL, OPT_MEAN }, \
	{ "std", required_argument, NULL, OPT_STD }, { "batch", required_argument, NULL, OPT_BATCH },  \
	{ "limit", required_argument, NULL, OPT_LIMIT },                                               \
	{ "threads", required_argument, NULL, OPT_THREADS },                                           \
	{ "workers", required_argument, NULL, OPT_WORKERS },                                           \
	{ "precision", required_argument, NULL, OPT_PRECISION },                                       \
	{ "channels-last", no_argument, NULL, OPT_CHANNELS_LAST }
#define LAYEROPTS_LONG                                                         \
	{ "layer", required_argument, NULL, OPT_LAYER },                       \
	{ "layout", required_argument, NULL, OPT_LAYOUT },                     \
	{ "prefix-tokens", required_argument, NULL, OPT_PREFIX_TOKENS },       \
	{                                                                      \
		"grid", required_argument, NULL, OPT_GRID                      \
	}

void modelopts_init(struct modelopts *o);
/* Handle one shared option; 1 if it was one, 0 if not, -1 if its value is bad (reported). */
int modelopts_parse(struct modelopts *o, int opt, const char *arg);

/*
 * Start libtorch, load the model with its metadata (command line over sidecar over defaults), and collect
 * the images (--dataset and/or the file arguments) into ds. Returns 0 or -1 (reported). --workers
 * becomes the batch sources' default (batch_set_default_workers).
 */
int modelopts_load(struct modelopts *o, struct model *m, struct dataset *ds, char **files, int nfiles,
		   struct preprocess *pp);

/* Parse a positive integer option value; -1 (reported) if malformed. */
int parse_count(const char *opt, const char *arg, long *out);

#endif
