/*
 * test_lua_front.c - the Lua front end (dsl/lua.c): the IR it builds, the positions of its errors, the
 * sandbox and its limits, and survival of malformed specs. Fixtures are in tests/lua/.
 */
#include "dsl/front.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cam/methods.h"
#include "cam/metrics.h"
#include "cam/utility.h"
#include "dsl/experiment.h"
#include "lib/fs.h"
#include "lib/strbuf.h"
#include "lib/xalloc.h"
#include "tests/tap.h"

#define FIXTURE(name) CAMLAB_SOURCE_DIR "/tests/lua/" name

/*
 * The process's CPU time: the limits bound the work a spec can make camlab do, which a loaded machine
 * (CI's two cores shared with other tests) does not change, where it stretches the wall clock.
 */
static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* The diagnostics as "line:col: message" lines, in the order recorded, without the file name. */
static char *diags(const struct diag *d)
{
	struct strbuf sb = STRBUF_INIT;
	size_t i;
	for (i = 0; i < d->nr; i++)
		strbuf_addf(&sb, "%d:%d: %s%s\n", d->items[i].pos.line, d->items[i].pos.col,
			    d->items[i].warning ? "warning: " : "", d->items[i].msg);
	return strbuf_detach(&sb, NULL);
}

struct run {
	struct experiment e;
	struct diag d;
	int ret;
	double secs;
	char *text; /* diags() */
};

static void load(struct run *r, const char *file, int unsafe)
{
	struct strbuf text = STRBUF_INIT;
	double t0 = now();
	experiment_init(&r->e);
	diag_init(&r->d);
	if (read_file(file, SPEC_MAX_BYTES, &text) < 0) {
		printf("Bail out! cannot read the fixture %s\n", file);
		exit(1);
	}
	r->ret = exp_lua_load(&r->e, file, text.buf, text.len, &r->d, unsafe);
	strbuf_release(&text);
	r->secs = now() - t0;
	r->text = diags(&r->d);
}

static void done(struct run *r)
{
	experiment_release(&r->e);
	diag_release(&r->d);
	free(r->text);
}

/* ok() that the diagnostics contain want; shows them if not. */
static int has(const struct run *r, const char *want, const char *what)
{
	int found = strstr(r->text, want) != NULL;
	if (!ok(found, "%s", what))
		diag("want '%s' in:\n%s", want, r->text);
	return found;
}

static char *write_tmp(const char *text, size_t len)
{
	char *path = xstrdup("/tmp/camlab-lua-XXXXXX.lua");
	int fd = mkstemps(path, 4);
	if (fd < 0 || write(fd, text, len) != (ssize_t)len) {
		perror("tmp spec");
		exit(1);
	}
	close(fd);
	return path;
}

static void load_text(struct run *r, const char *text, int unsafe)
{
	char *path = write_tmp(text, strlen(text));
	load(r, path, unsafe);
	unlink(path);
	free(path);
}

static char *slurp(const char *file, size_t *len)
{
	struct strbuf sb = STRBUF_INIT;
	char buf[4096];
	size_t n;
	FILE *fp = fopen(file, "rb");
	if (!fp) {
		perror(file);
		exit(1);
	}
	while ((n = fread(buf, 1, sizeof(buf), fp)) > 0)
		strbuf_add(&sb, buf, n);
	fclose(fp);
	return strbuf_detach(&sb, len);
}

static void test_twin(void)
{
	struct run r;
	const struct exp_model *m;

	load(&r, FIXTURE("twin.lua"), 0);
	if (!ok(r.ret == 0 && r.d.errors == 0, "twin.lua loads without errors"))
		diag("%s", r.text);
	ok(r.e.name && !strcmp(r.e.name, "twin") && r.e.batch == 32 && r.e.seed == 7 &&
		   !strcmp(r.e.device, "cpu") && r.e.output && !strcmp(r.e.output, "../../out/twin"),
	   "scalars (name, output as written, device, batch, seed)");
	m = r.e.nr_models == 1 ? &r.e.models[0] : NULL;
	ok(m && !strcmp(m->name, "fashion_cnn") && m->input_size == 28 && m->resize == 0 && m->have_mean &&
		   m->have_std && m->mean[0] > 0.2859f && m->mean[0] < 0.2861f && m->std[2] > 0.3529f,
	   "model fields");
	ok(m && m->nr_layers == 2 && !strcmp(m->layers[0].name, "last_conv") &&
		   !strcmp(m->layers[0].path, "features.block5.conv") && !strcmp(m->layers[0].layout, "bchw") &&
		   !strcmp(m->layers[1].name, "pre_gap") && !strcmp(m->layers[1].path, "features.block5") &&
		   !m->layers[1].layout,
	   "layers: a mapping, taken in sorted key order");
	ok(m && m->layers[1].pos.line == 16 && m->layers[1].pos.col == 18 && m->pos.line == 12 &&
		   m->pos.col == 29,
	   "layer and model positions (16:18; a model is where its file is named, 12:29)");
	ok(r.e.data.path && strstr(r.e.data.path, "t10k-images") && r.e.data.limit == 200 && r.e.data.shuffle &&
		   r.e.data.seed == 3 && r.e.data.pos.line == 19 && r.e.data.pos.col == 12,
	   "data, at its path (19:12)");
	ok(r.e.nr_methods == 3 && !strcmp(r.e.methods[0].name, "gradcam") &&
		   !strcmp(r.e.methods[2].name, "relu_grad_cam") && r.e.methods[1].pos.line == 20 &&
		   r.e.methods[1].pos.col == 26,
	   "methods in written order, each with its position");
	ok(r.e.nr_utilities == 2 && !strcmp(r.e.utilities[1].name, "logit"), "utilities by the alias 'utility'");
	ok(r.e.nr_metrics == 1 && !strcmp(r.e.metrics[0].name, "all"), "a single name where a list is allowed");
	ok(r.e.nr_excludes == 1 && !strcmp(r.e.excludes[0].method, "gradcam") &&
		   !strcmp(r.e.excludes[0].target, "least") && !r.e.excludes[0].model &&
		   r.e.zip == ((1u << EXP_UTILITY) | (1u << EXP_TARGET)),
	   "grid: exclude and zip");
	ok(r.e.tables && !r.e.plots && r.e.nr_table_formats == 2 && !strcmp(r.e.table_formats[1], "csv") &&
		   r.e.nr_figures == 2 && !strcmp(r.e.figures[0].image, "0") && !strcmp(r.e.figures[0].by, "method") &&
		   !strcmp(r.e.figures[1].image, "3") && !r.e.figures[1].by,
	   "outputs");
	if (!ok(r.e.nr_defs == 1 && r.e.defs[0].kind == EXP_DEF_METHOD && !strcmp(r.e.defs[0].name, "relu_grad_cam") &&
			!strcmp(r.e.defs[0].lua, "return function(A, G, HA)\n  return (relu(G) * A):sum(2)\nend") &&
			r.e.defs[0].pos.line == 29 && r.e.defs[0].pos.col == 25,
		"method(): the definition's source as a chunk returning the function, at 29:25"))
		diag("def: '%s' at %d:%d", r.e.nr_defs ? r.e.defs[0].lua : "", r.e.nr_defs ? r.e.defs[0].pos.line : 0,
		     r.e.nr_defs ? r.e.defs[0].pos.col : 0);
	if (access("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz", R_OK) == 0) {
		struct diag d = DIAG_INIT;
		int v = experiment_validate(&r.e, &d);
		char *t = diags(&d);
		if (!ok(v == 0, "twin.lua validates"))
			diag("%s", t);
		free(t);
		diag_release(&d);
	} else {
		ok(1, "# SKIP dataset-fashion-mnist is not installed");
	}
	done(&r);
}

/* The YAML twin means the same: both front ends give the same canonical text. */
static void test_twin_canonical(void)
{
	struct experiment y, l;
	struct diag dy = DIAG_INIT, dl = DIAG_INIT;
	char *cy, *cl;
	int ry, rl;

	experiment_init(&y);
	experiment_init(&l);
	ry = experiment_load(&y, FIXTURE("twin.yaml"), &dy, 0);
	rl = experiment_load(&l, FIXTURE("twin.lua"), &dl, 0);
	cy = experiment_canonical(&y);
	cl = experiment_canonical(&l);
	if (!ok(ry == rl && !strcmp(cy, cl), "twin.yaml and twin.lua give the same canonical text"))
		diag("yaml (%d):\n%s\nlua (%d):\n%s", ry, cy, rl, cl);
	free(cy);
	free(cl);
	experiment_release(&y);
	experiment_release(&l);
	diag_release(&dy);
	diag_release(&dl);
}

static void test_sandbox(void)
{
	struct run r;

	load(&r, FIXTURE("sandbox-io.lua"), 0);
	ok(r.ret < 0, "io: the spec fails");
	has(&r, "3:0: attempt to index a nil value (global 'io')", "io is nil in the sandbox, error at line 3");
	done(&r);
	load(&r, FIXTURE("sandbox-os.lua"), 0);
	has(&r, "2:0: attempt to index a nil value (global 'os')", "os is nil in the sandbox, error at line 2");
	done(&r);
	ok(access("/tmp/camlab-lua-sandbox-escaped", F_OK) != 0, "os.execute did not run");
	load(&r, FIXTURE("sandbox-require.lua"), 0);
	has(&r, "3:0: attempt to call a nil value (global 'require')", "require is nil, error at line 3");
	done(&r);
	load(&r, FIXTURE("sandbox-load.lua"), 0);
	has(&r, "4:0: load: only text chunks are allowed", "load of a binary chunk is refused at line 4");
	done(&r);
	load_text(&r, "assert(dofile == nil and loadfile == nil and debug == nil and package == nil)\n"
		      "assert(env == nil and collectgarbage and string and table and math and utf8)\n"
		      "experiment { name = 'x', targets = range(1, 3) }\n",
		  0);
	ok(r.ret == 0 && r.d.errors == 0, "dofile, loadfile, debug, package and env are not there");
	ok(r.e.nr_targets == 3 && !strcmp(r.e.targets[2].name, "3"), "range(1, 3) makes a list; integers are names");
	done(&r);
	setenv("CAMLAB_LUA_TEST_NAME", "from_env", 1);
	load(&r, FIXTURE("unsafe.lua"), 1);
	ok(r.ret == 0 && r.e.name && !strcmp(r.e.name, "from_env"), "allow_unsafe: os.getenv works");
	done(&r);
	load(&r, FIXTURE("unsafe.lua"), 0);
	has(&r, "2:0: attempt to index a nil value (global 'os')", "without allow_unsafe the same spec fails");
	done(&r);
}

static void test_limits(void)
{
	struct run r;

	load(&r, FIXTURE("loop.lua"), 0);
	ok(r.ret < 0, "endless loop: the spec fails");
	has(&r, "3:0: instruction budget of 10000000 exceeded (an endless loop?)", "budget diagnostic at line 3");
	ok(r.secs < 1.0, "and stops within a second of CPU (%.3f s)", r.secs);
	done(&r);
	load(&r, FIXTURE("loop-pcall.lua"), 0);
	has(&r, "instruction budget of 10000000 exceeded", "pcall cannot catch the budget away");
	ok(r.secs < 1.0, "and stops within a second of CPU (%.3f s)", r.secs);
	done(&r);
	load(&r, FIXTURE("membomb.lua"), 0);
	ok(r.ret < 0, "memory bomb: the spec fails");
	has(&r, "2:0: memory cap of 64 MiB exceeded", "memory cap diagnostic at line 2");
	ok(r.secs < 2.0, "and stops within two seconds of CPU (%.3f s)", r.secs);
	done(&r);
	load(&r, FIXTURE("bigrep.lua"), 0);
	has(&r, "2:0: memory cap of 64 MiB exceeded", "one huge allocation is refused, at its line");
	done(&r);
	{
		size_t n = (16u << 20) + 10;
		char *big = xmalloc(n + 1), *path;
		memset(big, ' ', n);
		big[n] = '\0';
		path = write_tmp(big, n);
		/* the one reader of spec files, dsl/load.c's, refuses it before the front end runs */
		experiment_init(&r.e);
		diag_init(&r.d);
		r.ret = experiment_load(&r.e, path, &r.d, 0);
		r.text = diags(&r.d);
		has(&r, "0:0: the spec is larger than 16777216 bytes", "a spec over 16 MiB is refused");
		ok(r.ret < 0, "and nothing is read");
		done(&r);
		unlink(path);
		free(path);
		free(big);
	}
}

static void test_errors(void)
{
	struct run r;

	load(&r, FIXTURE("syntax.lua"), 0);
	ok(r.ret < 0, "syntax error: the spec fails");
	has(&r, "4:0: unexpected symbol near '='", "syntax error with its line");
	done(&r);
	load(&r, FIXTURE("runtime.lua"), 0);
	has(&r, "4:0: attempt to call a nil value (global 'compute_batch')", "runtime error with its line");
	done(&r);
	load(&r, FIXTURE("unknown-key.lua"), 0);
	ok(r.ret == 0 && r.d.errors == 2, "unknown keys are errors, and the spec still reads");
	has(&r, "4:3: unknown key 'metircs'; did you mean 'metrics'?", "unknown top-level key at 4:3 with a suggestion");
	has(&r, "5:31: unknown key 'layrs' in 'model'; did you mean 'layers'?", "unknown model key at 5:31");
	done(&r);
	load(&r, FIXTURE("twice.lua"), 0);
	has(&r, "4:0: experiment{} is called a second time (first at line 2)", "experiment twice: error at the second");
	ok(r.e.name && !strcmp(r.e.name, "first"), "the first call counts");
	done(&r);
	load(&r, FIXTURE("types.lua"), 0);
	has(&r, "4:5: expected a list of names for 'methods', not true", "a boolean for a list of names, at 4:5");
	has(&r, "5:3: expected an integer for 'batch', not 'eight'", "a string for an integer");
	has(&r, "6:24: expected true or false for 'shuffle', not 'yes'", "a string for a boolean");
	has(&r, "6:41: expected an integer >= 0 for 'limit', not -1", "a negative limit");
	ok(r.e.batch == EXP_BATCH_UNSET, "a bad value leaves the default (unset: 8 on a CPU after validation)");
	done(&r);
	load_text(&r, "experiment { device = 'gpu', outputs = { formats = { 'markdwn' } } }\n", 0);
	has(&r, "1:14: unknown device 'gpu'; did you mean 'cpu'?", "bad device at its key");
	has(&r, "1:54: unknown table format 'markdwn'; did you mean 'markdown'?", "bad format at its item");
	done(&r);
	load_text(&r, "local x = 1\n", 0);
	has(&r, "0:0: no experiment{} in the spec", "a spec without experiment{}");
	ok(r.ret < 0, "is one nothing useful was read from");
	done(&r);
	load_text(&r, "experiment 'name'\n", 0);
	has(&r, "1:0: experiment expects one table", "experiment with a string");
	done(&r);
	load_text(&r, "error({})\n", 0);
	has(&r, "1:0: error object is table, not a message", "an error that is no message");
	done(&r);
	experiment_init(&r.e); /* through the reader of spec files, dsl/load.c's */
	diag_init(&r.d);
	r.ret = experiment_load(&r.e, "/nonexistent/spec.lua", &r.d, 0);
	r.text = diags(&r.d);
	ok(r.ret < 0, "a missing file fails");
	has(&r, "0:0: cannot open the spec: No such file or directory", "and says why");
	done(&r);
	load_text(&r, "#!/usr/bin/env camlab\nexperiment { name = 'shebang' }\n", 0);
	ok(r.ret == 0 && !strcmp(r.e.name, "shebang"), "a first line starting with # is skipped");
	done(&r);
}

static void test_defs(void)
{
	struct run r;
	size_t i;
	const struct exp_def *two = NULL, *nu = NULL, *m1 = NULL, *m2 = NULL;

	load(&r, FIXTURE("defs.lua"), 0);
	for (i = 0; i < r.e.nr_defs; i++) {
		const struct exp_def *df = &r.e.defs[i];
		if (!strcmp(df->name, "twice_grad"))
			two = df;
		else if (!strcmp(df->name, "norm_util"))
			nu = df;
		else if (!strcmp(df->name, "m1"))
			m1 = df;
		else if (!strcmp(df->name, "m2"))
			m2 = df;
	}
	ok(r.e.nr_defs == 4, "four definitions read (%zu)", r.e.nr_defs);
	ok(two && two->kind == EXP_DEF_METHOD && !strcmp(two->lua, "return function(A, G, HA) return (G * A * 2):sum(2) end") &&
		   two->pos.line == 4 && two->pos.col == 22,
	   "method: source and position");
	ok(nu && nu->kind == EXP_DEF_UTILITY && !strcmp(nu->lua, "return function(y, c) return y[c] end") &&
		   nu->pos.line == 5,
	   "a named local function loses its name");
	ok(m1 && m2 && !strcmp(m1->lua, "return function(H) return H:mean() end") &&
		   !strcmp(m2->lua, "return function(H)\n  return H:max()\nend") && m2->pos.line == 7 && m2->pos.col > 40,
	   "two definitions on one line are told apart");
	has(&r, "11:0: method 'scaled' uses 'scale', a local variable of the spec", "a definition using a spec local");
	done(&r);
	load_text(&r, "experiment { define = { methods = { inline = 'return function(A, G) return G end', "
		      "fn = function(A, G) return A end } } }\nmethod('x', print)\n",
		  0);
	if (!ok(r.e.nr_defs == 2 && !strcmp(r.e.defs[0].name, "fn") && !strcmp(r.e.defs[0].lua, "return function(A, G) return A end") &&
		   !strcmp(r.e.defs[1].name, "inline") && !strcmp(r.e.defs[1].lua, "return function(A, G) return G end"),
	   "define = {...}: code strings and functions, sorted by name"))
		for (i = 0; i < r.e.nr_defs; i++)
			diag("def %s: [%s]\n%s", r.e.defs[i].name, r.e.defs[i].lua, r.text);
	has(&r, "2:0: method 'x': expected a Lua function, not a built-in function", "a C function is no definition");
	done(&r);
}

/*
 * Validation resolves each method, utility and metric to an id once (experiment.h): a built-in's enum
 * value, whatever the spelling or alias, or its definition; and the built-in metrics as a mask.
 */
static void test_ids(void)
{
	struct run r;
	size_t i;
	long mine = -1;

	load_text(&r, "method('mine', function(A, G) return G end)\n"
		      "experiment { models = { { file = '" CAMLAB_SOURCE_DIR "/experiments/models/fashion_mnist_cnn.pt', "
		      "layers = 'features.block5' } }, data = '/tmp',\n"
		      "  methods = { 'GradCAM++', 'MINE', 'layercam' }, utilities = 'logit, rest',\n"
		      "  metrics = { 'coh', 'ad' } }\n",
		  0);
	r.ret = r.ret < 0 ? -1 : experiment_validate(&r.e, &r.d);
	if (!ok(r.ret == 0, "a valid spec")) {
		diag("%s", r.text);
		done(&r);
		return;
	}
	for (i = 0; i < r.e.nr_defs; i++)
		if (!strcmp(r.e.defs[i].name, "mine"))
			mine = (long)i;
	ok(r.e.nr_methods == 3 && r.e.methods[0].id >= 0 &&
		   !strcmp(cam_method_names[r.e.methods[0].id], "gradcam++") && !strcmp(r.e.methods[0].name, "gradcam++"),
	   "a built-in method's id, whatever its spelling");
	ok(r.e.nr_methods == 3 && mine >= 0 && r.e.methods[1].id == EXP_ID_DEF(mine) &&
		   EXP_ID_DEF_INDEX(r.e.methods[1].id) == (size_t)mine,
	   "a defined method's id is its definition");
	ok(r.e.nr_utilities == 2 && r.e.utilities[0].id == UTILITY_LOGIT && r.e.utilities[1].id == UTILITY_REST,
	   "utilities' ids");
	ok(r.e.nr_metrics == 2 && !strcmp(metric_names[r.e.metrics[0].id], "coh") &&
		   !strcmp(metric_names[r.e.metrics[1].id], "ad"),
	   "metrics' ids");
	ok(r.e.metric_mask == ((1u << r.e.metrics[0].id) | (1u << r.e.metrics[1].id)), "the metric mask (%#x)",
	   r.e.metric_mask);
	done(&r);
	load_text(&r, "experiment { models = { { file = '" CAMLAB_SOURCE_DIR "/experiments/models/fashion_mnist_cnn.pt', "
		      "layers = 'features.block5' } }, data = '/tmp', metrics = 'all' }\n",
		  0);
	r.ret = r.ret < 0 ? -1 : experiment_validate(&r.e, &r.d);
	ok(r.ret == 0 && r.e.nr_metrics == METRIC_NR && r.e.metric_mask == (1u << METRIC_NR) - 1,
	   "metrics = 'all': every metric in the mask");
	done(&r);
}

/* Random byte mutations of a valid spec: every one is read or rejected, none crashes or leaks state. */
static void test_mutations(void)
{
	size_t len, i, k;
	char *orig = slurp(FIXTURE("twin.lua"), &len);
	unsigned seed = 12345;
	int survived = 0, failed = 0;
	double t0 = now();
	static const char bytes[] = "{}()[]=,\"'\\-.:;0123456789 \nxend function while do for local return";

	for (i = 0; i < 200; i++) {
		struct strbuf sb = STRBUF_INIT;
		struct run r;
		char *path;
		int edits = 1 + (int)(rand_r(&seed) % 8);

		strbuf_add(&sb, orig, len);
		for (k = 0; k < (size_t)edits && sb.len; k++) {
			size_t at = (size_t)rand_r(&seed) % sb.len;
			switch (rand_r(&seed) % 4) {
			case 0: /* replace with a random byte */
				sb.buf[at] = (char)(rand_r(&seed) & 0xff);
				break;
			case 1: /* replace with a byte that matters to Lua */
				sb.buf[at] = bytes[(size_t)rand_r(&seed) % (sizeof(bytes) - 1)];
				break;
			case 2: /* delete a run */
			{
				size_t n = 1 + (size_t)rand_r(&seed) % 16;
				if (at + n > sb.len)
					n = sb.len - at;
				memmove(sb.buf + at, sb.buf + at + n, sb.len - at - n);
				sb.len -= n;
				sb.buf[sb.len] = '\0';
				break;
			}
			default: /* duplicate a run */
			{
				size_t n = 1 + (size_t)rand_r(&seed) % 32;
				char *copy;
				if (at + n > sb.len)
					n = sb.len - at;
				copy = xstrndup(sb.buf + at, n);
				strbuf_add(&sb, copy, n);
				memmove(sb.buf + at + n, sb.buf + at, sb.len - at - n);
				memcpy(sb.buf + at, copy, n);
				free(copy);
			}
			}
		}
		path = write_tmp(sb.buf, sb.len);
		load(&r, path, 0);
		if (r.ret == 0) {
			struct diag d = DIAG_INIT;
			char *canon;
			experiment_validate(&r.e, &d);
			canon = experiment_canonical(&r.e);
			free(canon);
			diag_release(&d);
		}
		failed += r.ret < 0 || r.d.errors;
		survived++;
		done(&r);
		unlink(path);
		free(path);
		strbuf_release(&sb);
	}
	ok(survived == 200, "200 mutated specs read or rejected without a crash (%d with errors, %.2f s)", failed,
	   now() - t0);
	free(orig);
}

int main(void)
{
	test_twin();
	test_twin_canonical();
	test_sandbox();
	test_limits();
	test_errors();
	test_defs();
	test_ids();
	test_mutations();
	return done_testing();
}
