/*
 * test_yaml_mutate.c - the YAML front end and validation on damaged specs: 200 random mutations of a
 * valid spec (bytes flipped, deleted, inserted or lines duplicated) must each load without a crash,
 * and every diagnostic must have a message and a position inside the file.
 *
 * usage: test_yaml_mutate [N [SEED]]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dsl/diag.h"
#include "dsl/experiment.h"
#include "lib/strbuf.h"
#include "tests/mutate.h"
#include "tests/tap.h"

static const char spec[] =
	"name: quickstart\n"
	"output: out/quick\n"
	"device: cuda:0\n"
	"batch: 32\n"
	"seed: &s 7\n"
	"models:\n"
	"  - name: fashion_cnn\n"
	"    file: model.pt\n"
	"    input_size: 28\n"
	"    mean: [0.286, 0.286, 0.286]\n"
	"    std: 0.353\n"
	"    layers:\n"
	"      pre_gap: features.block5\n"
	"      last_conv: {path: features.block5.conv, layout: bchw}\n"
	"data:\n"
	"  path: data.gz\n"
	"  labels: null\n"
	"  limit: 200\n"
	"  shuffle: false\n"
	"  seed: *s\n"
	"methods: [gradcam, shapleycam, relu_grad_cam]\n"
	"utility: rest, logit\n"
	"targets: [predicted, top3, tabby]\n"
	"metrics: all\n"
	"grid:\n"
	"  exclude:\n"
	"    - {method: gradcam, utility: logit}\n"
	"  zip: [method]\n"
	"define:\n"
	"  methods:\n"
	"    relu_grad_cam: \"return function(A, G, HA) return A:sum(2) end\"\n"
	"outputs:\n"
	"  tables: true\n"
	"  formats: [markdown, csv]\n"
	"  paper: table1/resnet50/layer4.2.conv3\n"
	"  figures:\n"
	"    - {image: 0, by: method}\n";

/* What replaced and inserted bytes are drawn from. */
static const char tokens[] = ":[]{}-,#&*!|>'\"%@`?\t\n \x01\xff\xc3";

/* Create an empty file dir/name, or (name NULL) remove the ones created. */
static void touch(const char *dir, const char *name)
{
	static const char *const made[] = { "model.pt", "data.gz" };
	char path[128];
	size_t i;
	FILE *fp;

	if (!name) {
		for (i = 0; i < sizeof(made) / sizeof(*made); i++) {
			snprintf(path, sizeof(path), "%s/%s", dir, made[i]);
			unlink(path);
		}
		return;
	}
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fp = fopen(path, "wb");
	if (fp)
		fclose(fp);
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 200, i, bad_pos = 0, loaded = 0;
	char dir[] = "/tmp/camlab-mutate-XXXXXX", file[64];
	const char *tmp = mkdtemp(dir);

	mutate_rng = argc > 2 ? strtoull(argv[2], NULL, 10) : 42;
	if (!tmp)
		skip_all("cannot make a temporary folder");
	snprintf(file, sizeof(file), "%s/spec.yaml", tmp);
	touch(tmp, "model.pt");
	touch(tmp, "data.gz");
	for (i = -1; i < n; i++) {
		struct strbuf sb = STRBUF_INIT;
		struct experiment e;
		struct diag d = DIAG_INIT;
		size_t j, lines = 1;
		FILE *fp;
		char *canon;

		strbuf_addstr(&sb, spec);
		if (i >= 0)
			mutate(&sb, tokens, sizeof(tokens) - 1, MUTATE_TEXT);
		for (j = 0; j < sb.len; j++)
			lines += sb.buf[j] == '\n';
		fp = fopen(file, "wb");
		if (!fp)
			break;
		fwrite(sb.buf, 1, sb.len, fp);
		fclose(fp);
		experiment_init(&e);
		if (i < 0) {
			if (!ok(!experiment_load(&e, file, &d, 0), "the spec before mutation is valid"))
				diag_print(&d, stdout);
		} else if (!experiment_load(&e, file, &d, 0))
			loaded++;
		canon = experiment_canonical(&e);
		free(canon);
		for (j = 0; j < d.nr; j++)
			if (!d.items[j].msg || !*d.items[j].msg || d.items[j].pos.line < 0 ||
			    (size_t)d.items[j].pos.line > lines + 1 || d.items[j].pos.col < 0) {
				if (!bad_pos++)
					diag("mutation %d: bad diagnostic at %d:%d: %s", i, d.items[j].pos.line,
					     d.items[j].pos.col, d.items[j].msg ? d.items[j].msg : "(null)");
			}
		diag_release(&d);
		experiment_release(&e);
		strbuf_release(&sb);
	}
	unlink(file);
	touch(tmp, NULL);
	rmdir(tmp);
	ok(i == n, "%d mutated specs loaded without a crash (%d of them valid)", i, loaded);
	ok(!bad_pos, "every diagnostic has a message and a position inside its file");
	return done_testing();
}
