/*
 * cmd_predict.c - `camlab predict`: a model's predictions, and its accuracy where labels are known.
 */
#include "interp/commands.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "interp/modelopts.h"
#include "lib/error.h"
#include "lib/xalloc.h"

static const char predict_usage[] =
	"usage: camlab predict --model FILE [options] [IMAGE...]\n"
	"\n"
	"Prints each image's top classes and, where the images have labels (--dataset), the top-1 and\n"
	"top-k accuracy.\n"
	"\n"
	"  --top K             classes printed per image and the k of top-k accuracy (default 5)\n"
	"  -q, --quiet         print only the accuracy\n" MODELOPTS_HELP;

enum { OPT_TOP = OPT_FIRST_COMMAND };

static void report_batch(const struct model *m, const struct dataset *ds, const struct batch *b,
			 const float *prob, int64_t k, int top, int quiet, size_t *hit1, size_t *hitk,
			 size_t *labelled)
{
	size_t i;
	int j;
	int *best = xmalloc((size_t)top * sizeof(int));

	for (i = 0; i < b->n; i++) {
		const float *row = prob + i * (size_t)k;
		long label = b->labels[i];
		/* top classes by selection: k is small enough that this is not worth a sort */
		for (j = 0; j < top; j++) {
			int64_t c;
			best[j] = -1;
			for (c = 0; c < k; c++) {
				int taken = 0, q;
				for (q = 0; q < j; q++)
					taken |= best[q] == c;
				if (!taken && (best[j] < 0 || row[c] > row[best[j]]))
					best[j] = (int)c;
			}
		}
		if (label >= k)
			warning("%s: label %ld is out of range: the model has %ld classes (0 to %ld)",
				ds->items[b->items[i]].path, label, (long)k, (long)k - 1);
		if (label >= 0) {
			(*labelled)++;
			*hit1 += best[0] == label;
			for (j = 0; j < top; j++)
				if (best[j] == label)
					(*hitk)++;
		}
		if (quiet)
			continue;
		printf("%s:", ds->items[b->items[i]].path);
		for (j = 0; j < top; j++) {
			const char *name = model_class_name(m, best[j]);
			printf(" %d%s%s%s %.4f", best[j], name ? " '" : "", name ? name : "", name ? "'" : "",
			       row[best[j]]);
		}
		if (label >= 0)
			printf(" label %ld%s", label, best[0] == label ? "" : " MISS");
		putchar('\n');
	}
	free(best);
}

int cmd_predict(int argc, char **argv)
{
	static const struct option longopts[] = {
		MODELOPTS_LONG,
		{ "top", required_argument, NULL, OPT_TOP },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct modelopts mo;
	struct model m;
	struct dataset ds;
	struct preprocess pp;
	struct batch_source src;
	struct batch b = BATCH_INIT;
	size_t hit1 = 0, hitk = 0, labelled = 0, seen = 0;
	int opt, bad = 0, quiet = 0, top = 5, r, ret = 0;
	long v = 0;

	modelopts_init(&mo);
	memset(&m, 0, sizeof(m));
	dataset_init(&ds);
	optind = 1;
	while ((opt = getopt_long(argc, argv, "qh", longopts, NULL)) != -1) {
		r = modelopts_parse(&mo, opt, optarg);
		if (r < 0)
			bad = 1;
		if (r)
			continue;
		switch (opt) {
		case OPT_TOP:
			if (parse_count("top", optarg, &v) < 0)
				bad = 1;
			else if (v < 1)
				bad = error("--top needs a positive integer, not '%s'", optarg);
			top = (int)v;
			break;
		case 'q':
			quiet = 1;
			break;
		case 'h':
			fputs(predict_usage, stdout);
			return 0;
		default:
			fputs(predict_usage, stderr);
			return 2;
		}
	}
	if (bad)
		return 2;
	if (modelopts_load(&mo, &m, &ds, argv + optind, argc - optind, &pp) < 0) {
		ret = 1;
		goto out;
	}
	batch_source_init(&src, &ds, &pp, mo.device, mo.limit);
	while ((r = batch_next(&src, &b, (size_t)mo.batch)) > 0) {
		ts_tensor *logits = ts_module_forward(m.mod, b.x);
		ts_tensor *prob = ts_softmax(logits, 1);
		int64_t k = ts_size(prob, 1);
		float *host = prob ? xmalloc(b.n * (size_t)k * sizeof(float)) : NULL;
		if (!prob || ts_copy_f32(prob, host, b.n * (size_t)k) < 0) {
			error("forward failed: %s", ts_error());
			r = -1;
		} else {
			report_batch(&m, &ds, &b, host, k, top < k ? top : (int)k, quiet, &hit1, &hitk,
				     &labelled);
			seen += b.n;
		}
		free(host);
		ts_free(logits);
		ts_free(prob);
		if (r < 0)
			break;
	}
	batch_release(&b);
	if (labelled) {
		printf("accuracy: top-1 %.4f (%zu/%zu)", (double)hit1 / labelled, hit1, labelled);
		if (top > 1)
			printf(", top-%d %.4f (%zu/%zu)", top, (double)hitk / labelled, hitk, labelled);
		putchar('\n');
	}
	printf("images: %zu predicted, %zu skipped\n", seen, src.nr_skipped);
	if (r < 0 || src.nr_skipped)
		ret = 1;
	batch_source_release(&src);
out:
	model_release(&m);
	dataset_release(&ds);
	return ret;
}
