/*
 * cmd_init.c - `camlab init`: a commented starter experiment for the user's model (or the shipped
 * Fashion-MNIST classifier), with the model's layers listed and the layer before global pooling chosen,
 * so that a first study is an edit of a file that `camlab check` already accepts.
 */
#include "interp/commands.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cam/model.h"
#include "cam/torch_shim.h"
#include "lib/error.h"
#include "lib/fs.h"
#include "lib/quote.h"
#include "lib/strbuf.h"
#include "lib/xalloc.h"

#define SHIPPED_MODEL CAMLAB_SOURCE_DIR "/experiments/models/fashion_mnist_cnn.pt"
#define FASHION_DATA "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"
#define MAX_LISTED 400 /* module paths listed in the file; camlab layers lists them all */

static const char init_usage[] =
	"usage: camlab init [--model FILE] [--data PATH] [DIR | FILE.yaml]\n"
	"\n"
	"Writes a commented starter experiment, DIR/experiment.yaml (default: ./experiment.yaml) or\n"
	"FILE.yaml, for the TorchScript model FILE (default: the shipped Fashion-MNIST classifier,\n"
	"experiments/models/). It lists the model's module paths as camlab layers does and targets the\n"
	"layer that a global-average-pooling + linear head follows (the layer before global pooling, where\n"
	"CAM is defined); camlab check accepts the file as written. Never overwrites a file.\n"
	"\n"
	"  --model FILE  the model (.pt; its sidecar FILE.yaml, if any, gives input size, normalisation,\n"
	"                class names and layer names)\n"
	"  --data PATH   the images (a folder of class folders, an image list, an IDX file); default: the\n"
	"                Fashion-MNIST test set of Debian's dataset-fashion-mnist\n"
	"\n"
	"Exit status: 0, 1 if the model cannot be read or the file exists, 2 on a usage error.\n";

/* A module path or class name read from the model file, in a comment: as is if it is plain text. */
static void add_comment_text(struct strbuf *sb, const char *s)
{
	const unsigned char *p;

	for (p = (const unsigned char *)s; *p && *p >= 0x20 && *p != 0x7f && *p < 0x80; p++)
		;
	if (*p || !*s)
		quote_yaml(sb, s);
	else
		strbuf_addstr(sb, s);
}

/* Types that are the head, not a layer to explain */
static int is_head(const char *type)
{
	static const char *const head[] = { "Linear", "Pool", "Flatten", "Dropout", "Identity", "Softmax" };
	size_t i;

	for (i = 0; i < ARRAY_SIZE(head); i++)
		if (strstr(type, head[i]))
			return 1;
	return 0;
}

/* 1 if a global-average-pooling + linear head follows the module path (CAM's layer), else 0. */
static int before_head(struct model *m, const char *path)
{
	ts_split *split = NULL;
	int ok;

	error_set_quiet(1); /* a module that cannot be cut at is no candidate, not an error */
	ok = model_split(m, path, TS_LAYOUT_AUTO, &split) == 0 && ts_split_linear_head(split);
	error_set_quiet(0);
	ts_split_free(split);
	return ok;
}

/* 1 if the module at path holds the model's first leaf module (its stem): the whole trunk, or the model. */
static int holds_stem(const struct model *m, const char *path)
{
	size_t i, n = strlen(path);

	for (i = 1; i + 1 < m->nr_paths; i++) /* the first leaf: the first module without children */
		if (strncmp(m->paths[i + 1], m->paths[i], strlen(m->paths[i])) ||
		    m->paths[i + 1][strlen(m->paths[i])] != '.')
			break;
	return i < m->nr_paths && !strncmp(m->paths[i], path, n) && m->paths[i][n] == '.';
}

/*
 * 1 if the module at path gives a map with more than one position for a gray input of the model's size
 * (x): a layer a heatmap can be read from, where a model ends in a 1x1 convolution classifier after
 * its pooling rather than a linear head.
 */
static int spatial(struct model *m, const char *path, const ts_tensor *x)
{
	ts_split *split = NULL;
	ts_carry *carry = NULL;
	ts_tensor *a = NULL;
	int ok;

	error_set_quiet(1);
	ok = model_split(m, path, TS_LAYOUT_AUTO, &split) == 0 &&
	     ts_split_prefix(split, x, &carry, &a) == 0 && ts_dim(a) == 4 &&
	     ts_size(a, 2) * ts_size(a, 3) > 1;
	error_set_quiet(0);
	ts_free(a);
	ts_carry_free(carry);
	ts_split_free(split);
	return ok;
}

/*
 * The module path to explain: the sidecar's pre_gap where a pooling + linear head follows it; else the
 * first module, in the model's order, that gives a map of more than one position (for a gray input of
 * the model's size) and that only pooling and a linear map follow, which is the layer
 * before global pooling (ResNet's layer4 rather than layer4.1, which follows it in the order; a 1x1
 * convolution classifier after the pooling comes later still), leaving out the modules that hold the
 * stem (the trunk: its output is the same tensor, but it is no layer) and the head's own modules; else
 * the last module that gives a map of more than one position (*head is then 0: CAM has no head there;
 * MobileNet's Conv_1, before the pooling and the 1x1 convolution that classifies).
 */
static const char *choose_layer(struct model *m, int *head)
{
	int64_t size = m->meta.input_size > 0 ? m->meta.input_size : 224, shape[4] = { 1, 3, size, size };
	size_t i, n = (size_t)(3 * size * size);
	float *gray = xmalloc(n * sizeof(*gray));
	const char *found = NULL;
	ts_tensor *x;

	*head = 1;
	for (i = 0; i < m->meta.nr_layers; i++)
		if (!strcmp(m->meta.layers[i].name, "pre_gap") && before_head(m, m->meta.layers[i].path)) {
			free(gray);
			return m->meta.layers[i].path;
		}
	for (i = 0; i < n; i++)
		gray[i] = 0.5f;
	x = ts_from_f32(gray, shape, 4, "cpu");
	free(gray);
	for (i = 1; x && !found && i < m->nr_paths; i++)
		if (!is_head(m->types[i]) && !holds_stem(m, m->paths[i]) && before_head(m, m->paths[i]) &&
		    spatial(m, m->paths[i], x))
			found = m->paths[i];
	if (!found) {
		*head = 0;
		for (i = m->nr_paths; x && !found && i-- > 1;)
			if (!is_head(m->types[i]) && !holds_stem(m, m->paths[i]) &&
			    spatial(m, m->paths[i], x))
				found = m->paths[i];
	}
	ts_free(x);
	for (i = m->nr_paths; !found && i-- > 1;)
		if (!is_head(m->types[i]))
			found = m->paths[i];
	return found ? found : m->nr_paths > 1 ? m->paths[m->nr_paths - 1] : NULL;
}

/* The model file's name without folder or extension, as a safe experiment name. */
static char *model_name(const char *path)
{
	const char *base = strrchr(path, '/'), *dot;
	struct strbuf sb = STRBUF_INIT;

	base = base ? base + 1 : path;
	dot = strrchr(base, '.');
	for (; *base && base != dot; base++)
		strbuf_addch(&sb, strchr("-_.", *base) || (*base >= '0' && *base <= '9') ||
						  ((*base | 0x20) >= 'a' && (*base | 0x20) <= 'z')
					  ? *base
					  : '_');
	if (!sb.len || sb.buf[0] == '.')
		strbuf_addstr(&sb, "model");
	return strbuf_detach(&sb, NULL);
}

static void write_spec(struct strbuf *sb, const char *file, const char *model_path, const struct model *m,
		       const char *layer, int head, const char *data, int have_sidecar, const char *sidecar)
{
	char *name = model_name(model_path);
	size_t i;

	const char *base = strrchr(file, '/');
	struct strbuf f = STRBUF_INIT;

	add_comment_text(&f, base ? base + 1 : file);
	strbuf_addstr(sb, "# A starter experiment, written by camlab init for the model\n# ");
	add_comment_text(sb, model_path);
	strbuf_addf(
		sb,
		"\n#\n#   camlab check %s           validate it (--models: put an image through the model)\n"
		"#   camlab plan %s            the runs it makes\n"
		"#   camlab run %s             run them; the report is in out/%s/report/\n"
		"#   camlab help language      every key (and camlab help methods, utilities, metrics)\n",
		f.buf, f.buf, f.buf, name);
	strbuf_release(&f);
	strbuf_addstr(sb, "name: ");
	quote_yaml(sb, name);
	strbuf_addstr(sb, "\noutput: ");
	strbuf_addf(sb, "\"out/%s\"            # relative to this file\n", name);
	strbuf_addstr(sb, "batch: 50\nmodels:\n  - name: ");
	quote_yaml(sb, name);
	strbuf_addstr(sb, "\n    file: ");
	quote_yaml(sb, model_path);
	strbuf_addch(sb, '\n');
	if (have_sidecar) {
		strbuf_addstr(sb, "    # input size, normalisation, class names: from the sidecar ");
		add_comment_text(sb, sidecar);
		strbuf_addch(sb, '\n');
	} else {
		strbuf_addstr(sb,
			      "    # no sidecar (MODEL.yaml beside the model): say how images are prepared, "
			      "such as\n"
			      "    # input_size: 224\n    # resize: 256\n"
			      "    # mean: [0.485, 0.456, 0.406]     # ImageNet's, assumed when not given\n"
			      "    # std: [0.229, 0.224, 0.225]\n"
			      "    # classes: classes.txt            # one class name per line\n");
	}
	strbuf_addstr(sb, "    layers:\n");
	if (head)
		strbuf_addstr(
			sb,
			"      # the layer before global pooling: a global-average-pooling + linear head "
			"follows it\n"
			"      # (CAM is defined there). Add layers by name: module path, from this list\n");
	else
		strbuf_addstr(sb,
			      "      # no module is followed by global-average pooling and a linear head "
			      "only (method 'cam'\n"
			      "      # needs one): this is the last module; choose another from this list\n");
	strbuf_addstr(sb, "      # (camlab layers --model FILE):\n");
	for (i = 1; i < m->nr_paths && i <= MAX_LISTED; i++) {
		size_t start = sb->len;
		strbuf_addstr(sb, "      #   ");
		add_comment_text(sb, m->paths[i]);
		while (sb->len - start < 50)
			strbuf_addch(sb, ' ');
		strbuf_addch(sb, ' ');
		add_comment_text(sb, m->types[i]);
		strbuf_addch(sb, '\n');
	}
	if (m->nr_paths > MAX_LISTED + 1)
		strbuf_addf(sb, "      #   ... and %zu more\n", m->nr_paths - 1 - MAX_LISTED);
	for (i = 0; i < m->meta.nr_layers; i++) { /* the sidecar's names, which a spec may use as paths */
		size_t start = sb->len;
		strbuf_addstr(sb, "      #   ");
		add_comment_text(sb, m->meta.layers[i].name);
		while (sb->len - start < 50)
			strbuf_addch(sb, ' ');
		strbuf_addstr(sb, " = ");
		add_comment_text(sb, m->meta.layers[i].path);
		strbuf_addch(sb, '\n');
	}
	strbuf_addstr(sb, "      pre_gap: ");
	quote_yaml(sb, layer);
	strbuf_addstr(sb, "\ndata:\n  path: ");
	quote_yaml(sb, data);
	strbuf_addstr(
		sb,
		"\n  # a folder of class folders (torchvision's ImageFolder), an image list or an IDX file\n"
		"  limit: 100                   # the first 100 images; remove it for all\n");
	strbuf_addf(
		sb,
		"methods: [%sgradcam, hirescam, gradcam++, layercam, shapleycam, randomcam]   # camlab help "
		"methods\n",
		head ? "cam, " : "");
	strbuf_addstr(sb,
		      "utilities: [logit, rest]     # the pre-softmax score and the paper's ReST\n"
		      "targets: [predicted]         # or true, least, top3, a class index or name\n"
		      "metrics: all                 # ad, coh, com, adcc, ic, add\n"
		      "outputs:\n  tables: true\n  plots: true\n  figures:\n    - {image: 0, by: method}\n");
	free(name);
}

/* Write text to path unless it exists (O_EXCL: no race with another writer). */
static int write_new(const char *path, const char *text, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0666);
	FILE *fp;

	if (fd < 0 && errno == EEXIST)
		return error(
			"'%s' exists: camlab init never overwrites a file (give another DIR or FILE.yaml)",
			path);
	if (fd < 0)
		return error("cannot create '%s': %s", path, strerror(errno));
	if (!(fp = fdopen(fd, "w"))) {
		close(fd);
		return error("cannot write '%s': %s", path, strerror(errno));
	}
	if (fwrite(text, 1, len, fp) != len || fclose(fp)) {
		unlink(path);
		return error("cannot write '%s': %s", path, strerror(errno));
	}
	return 0;
}

static int has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);
	return n >= k && !strcmp(s + n - k, suffix);
}

int cmd_init(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "model", required_argument, NULL, 'm' },
		{ "data", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *model_arg = SHIPPED_MODEL, *data = FASHION_DATA, *dest = ".", *layer;
	struct strbuf file = STRBUF_INIT, text = STRBUF_INIT;
	char *model_path = NULL, *sidecar = NULL;
	int opt, head, status = 1, have_sidecar;
	struct model m;

	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (opt == 'h') {
			fputs(init_usage, stdout);
			return 0;
		} else if (opt == 'm') {
			model_arg = optarg;
		} else if (opt == 'd') {
			data = optarg;
		} else {
			fprintf(stderr, "camlab init: unknown option '%s'\n\n%s", commands_bad_option(argv),
				init_usage);
			return 2;
		}
	}
	if (argc - optind > 1) {
		fputs(init_usage, stderr);
		return 2;
	}
	if (optind < argc)
		dest = argv[optind];
	if (has_suffix(dest, ".yaml") || has_suffix(dest, ".yml")) {
		const char *slash = strrchr(dest, '/');
		strbuf_addstr(&file, dest);
		if (slash && slash != dest) {
			char *dir = xstrndup(dest, (size_t)(slash - dest));
			int ret = mkdir_p(dir);
			free(dir);
			if (ret < 0) {
				strbuf_release(&file);
				return 1;
			}
		}
	} else {
		if (mkdir_p(dest) < 0)
			return 1;
		strbuf_addf(&file, "%s/experiment.yaml", dest);
	}
	if (access(file.buf, F_OK) == 0) { /* before the model's seconds of loading; write_new checks again */
		error("'%s' exists: camlab init never overwrites a file (give another DIR or FILE.yaml)",
		      file.buf);
		strbuf_release(&file);
		return 1;
	}
	/* the spec may be anywhere: name the model by its absolute path */
	if (!(model_path = realpath(model_arg, NULL))) {
		error("cannot read model '%s': %s%s", model_arg, strerror(errno),
		      !strcmp(model_arg, SHIPPED_MODEL) ? " (give one with --model FILE)" : "");
		strbuf_release(&file);
		return 1;
	}
	if (ts_init(0) < 0 || model_load(&m, model_path, "cpu") < 0)
		goto out_path;
	sidecar = model_sidecar_path(model_path);
	have_sidecar = access(sidecar, F_OK) == 0;
	if (!(layer = choose_layer(&m, &head))) {
		error("model '%s' has no modules to target", model_arg);
		goto out;
	}
	write_spec(&text, file.buf, model_path, &m, layer, head, data, have_sidecar, sidecar);
	if (write_new(file.buf, text.buf, text.len) < 0)
		goto out;
	printf("wrote %s: model %s, layer %s%s\nnext: camlab check %s\n", file.buf, model_arg, layer,
	       head ? " (before global pooling)" : " (no pooling + linear head found)", file.buf);
	status = 0;
out:
	model_release(&m);
out_path:
	free(sidecar);
	free(model_path);
	strbuf_release(&file);
	strbuf_release(&text);
	return status;
}
