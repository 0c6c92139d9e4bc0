/*
 * model.h - a TorchScript classifier with the metadata camlab needs (input size, normalisation, class
 * names, named target layers), and the cut of the model at a target layer.
 *
 * Metadata comes from a sidecar YAML file next to the model (M.yaml for M.pt) or from the caller; the
 * command line overrides it. See experiments/models/fashion_mnist_cnn.yaml for the format.
 */
#ifndef CAM_MODEL_H
#define CAM_MODEL_H

#include <stddef.h>

#include "cam/batch.h"
#include "cam/torch_shim.h"

struct strbuf;

struct model_layer_alias {
	char *name; /* e.g. "pre_gap" */
	char *path; /* e.g. "layer4.1" */
};

struct model_meta {
	int input_size; /* centre-crop size; 0: images are used at their own size */
	int resize;	/* shorter side before the crop; 0: no resize */
	int have_norm;
	float mean[3], std[3];
	char **classes; /* owned; nr_classes entries */
	size_t nr_classes;
	struct model_layer_alias *layers; /* owned */
	size_t nr_layers;
	char **class_ids; /* owned; NULL, or nr_classes ids from a JSON class index (ImageNet's wnids) */
};

#define MODEL_META_INIT                                                   \
	{                                                                 \
		0, 0, 0, { 0, 0, 0 }, { 1, 1, 1 }, NULL, 0, NULL, 0, NULL \
	}

struct model {
	char *path;   /* owned */
	char *device; /* owned */
	ts_module *mod;
	struct model_meta meta;
	char **paths; /* module paths as named_modules() prints them; owned */
	char **types; /* their class names */
	size_t nr_paths;
};

/*
 * Load the TorchScript file at path onto device and read its sidecar (path with the extension replaced
 * by .yaml) if there is one. Returns 0 or -1 after printing the error.
 */
int model_load(struct model *m, const char *path, const char *device);
void model_release(struct model *m);

/* Read a sidecar; fields present in the file replace those in meta. */
int model_meta_read(struct model_meta *meta, const char *yaml_path);
/* The sidecar of a model file: M.yaml beside M.pt (caller frees; it may not exist). */
char *model_sidecar_path(const char *model_path);
void model_meta_release(struct model_meta *meta);
/*
 * Replace the class names with those in file: a text file with one name per line, or a JSON file like
 * ImageNet's imagenet_class_index.json ({"0": ["n01440764", "tench"], ...}).
 */
int model_meta_read_classes(struct model_meta *meta, const char *file);

/* The module path for a layer name: an alias from the metadata, or the name itself. */
const char *model_layer_path(const struct model *m, const char *name);

/*
 * Cut the model at the named layer. An unknown name is an error that lists the nearest valid module
 * paths (and aliases). *out is owned by the caller (ts_split_free) and borrows m.
 */
int model_split(struct model *m, const char *layer, enum ts_layout layout, ts_split **out);

/* Class name for an index, or NULL when the model has no names for it. */
const char *model_class_name(const struct model *m, long index);
/*
 * How the labels of an ImageFolder dataset (ds->classes: its class folders, sorted, as torchvision
 * numbers them) should be read for this model. Where every folder is named after one of the model's
 * classes (its name, or its id such as ImageNet's wnid) and that is not already the folder's position,
 * returns map[label] = the model's class index (caller frees) after a note; else NULL, with a warning
 * where the positions look wrong for the model (a different number of classes, or only some folders
 * named after classes).
 */
long *model_label_map(const struct model *m, const struct dataset *ds);

/*
 * Class index for a name (exact, then ignoring case and "_" vs " "); -1 when no class has it, -2 (after
 * an error naming them) when several have.
 */
long model_class_index(const struct model *m, const char *name);

/*
 * The preprocessing of m's inputs, what the caller gives overriding the metadata: size is the crop (-1:
 * the metadata's input_size), resize the shorter side (-1: the metadata's for the metadata's size; for
 * another size, in the metadata's proportion, or size * 256 / 224, as torchvision's Resize(256) +
 * CenterCrop(224), without metadata), mean and std three values each (NULL: the metadata's, else
 * ImageNet's). Returns 1 when ImageNet's normalisation had to be assumed for a mean
 * or std that neither the caller nor the metadata gave, else 0.
 */
int model_preprocess(const struct model *m, int size, int resize, const float *mean, const float *std,
		     struct preprocess *pp);

/* The names of the precisions, indexed by enum ts_precision: "fp32", "bf16", "fp16", "tf32". */
extern const char *const model_precision_names[TS_PRECISION_NR];
/* A precision by name; -1 with an error (and the nearest name) for anything else. */
int model_precision_parse(const char *name, enum ts_precision *out);

/* A layout named "auto", "bchw", "bhwc" or "bnc"; -1 with an error for anything else. */
int model_layout_parse(const char *name, enum ts_layout *out);
/* A token grid "HxW", "H,W" or "N" (N x N); -1 with an error for anything else. */
int model_grid_parse(const char *text, int *h, int *w);
/*
 * Declare a token layer's prefix tokens (-1: detect) and grid (0x0: infer from the input size) on a split
 * (see ts_split_set_tokens); -1 with an error naming the layer for values out of range.
 */
int model_split_tokens(ts_split *split, const char *layer, int prefix_tokens, int grid_h, int grid_w);
/*
 * What camlab assumes of a split's output after its first prefix run, for messages and `camlab layers`:
 * "bchw", "bhwc", or "bnc 1+14x14" (prefix tokens + grid). Appended to sb.
 */
void model_describe_layout(const ts_split *split, struct strbuf *sb);

/* The path of the last Linear module (the head, for CAM), or NULL. */
const char *model_last_linear(const struct model *m);
/* The weight (K, C) of that head, which CAM weighs channels with; NULL if there is none (owned by caller). */
ts_tensor *model_head_weight(const struct model *m);

#endif
