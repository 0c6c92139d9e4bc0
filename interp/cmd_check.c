/*
 * cmd_check.c - `camlab check`: read and validate experiment specs without running anything, printing
 * every problem of every spec as file:line:col, so that a spec can be fixed in one round.
 */
#include "interp/commands.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsl/diag.h"
#include "dsl/experiment.h"
#include "interp/preflight.h"
#include "lib/quote.h"
#include "lib/strbuf.h"
#include "lib/xalloc.h"

static const char check_usage[] =
	"usage: camlab check [--canonical] [--models] [--allow-unsafe] [--format text|json]\n"
	"                    [--sweep KEY=V1,V2...] FILE... [KEY=VALUE...]\n"
	"\n"
	"Reads each experiment spec (.yaml, .yml or .lua) and checks it: keys, types, names of methods,\n"
	"utilities, targets and metrics, model and data files. Prints every problem as\n"
	"file:line:col: error: message, or a one-line summary of a valid spec. Runs nothing.\n"
	"KEY=VALUE sets a value of each spec as if written in it (data.limit=100, models.NAME.file=m.pt;\n"
	"camlab help language); --sweep checks the spec with each of the values.\n"
	"\n"
	"  --canonical     print the canonical text of each valid spec instead of the summary\n"
	"  --models        also load each model and put the data's first readable image through it at\n"
	"                  each layer, as a run would: layer paths and layouts, the number of classes,\n"
	"                  targets, CAM's head (seconds per model; camlab submit does it too)\n"
	"  --allow-unsafe  let Lua specs use io, os and require (also --unsafe)\n"
	"  --format json   print every problem of every file as one JSON array on stdout, for editors and\n"
	"                  scripts: objects with file, line, column (null when unknown), severity (error or\n"
	"                  warning), message (as the text form says it) and suggestion (the name of a\n"
	"                  \"did you mean\", else null); nothing else goes to stdout\n"
	"\n"
	"Exit status: 0 if every spec is valid, 1 if any is not, 2 on a usage error.\n";

static const char *plural(size_t n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

static void summary(const char *file, const struct experiment *e)
{
	size_t i, layers = 0;
	for (i = 0; i < e->nr_models; i++)
		layers += e->models[i].nr_layers;
	printf("%s: ok: %zu %s, %zu %s, %zu %s, %zu %s, %zu %s, %zu %s\n", file, e->nr_models,
	       plural(e->nr_models, "model", "models"), layers, plural(layers, "layer", "layers"),
	       e->nr_methods, plural(e->nr_methods, "method", "methods"), e->nr_utilities,
	       plural(e->nr_utilities, "utility", "utilities"), e->nr_targets,
	       plural(e->nr_targets, "target", "targets"), e->nr_metrics,
	       plural(e->nr_metrics, "metric", "metrics"));
}

/*
 * The name a message suggests ("...; did you mean 'X'?", which a note in parentheses may follow) into
 * sb: 1, or 0 when it suggests none.
 */
static int suggestion(const char *msg, struct strbuf *sb)
{
	static const char lead[] = "; did you mean '";
	const char *p = NULL, *q, *end = NULL;

	for (q = strstr(msg, lead); q; q = strstr(q + 1, lead))
		p = q; /* the last: a quoted name before it may hold the same words */
	if (!p)
		return 0;
	p += sizeof(lead) - 1;
	for (q = strstr(p, "'?"); q; q = strstr(q + 1, "'?"))
		if (!q[2] || q[2] == ' ')
			end = q; /* the last, for a suggested name that holds "'? " itself */
	if (!end)
		return 0;
	strbuf_add(sb, p, (size_t)(end - p));
	return 1;
}

/*
 * d's entries as JSON objects, in the order diag_print prints them, after *nr_printed others (for the
 * commas of one array). file names the spec where an entry knows no file.
 */
static void print_json(struct diag *d, const char *file, long *nr_printed)
{
	struct strbuf sb = STRBUF_INIT, near = STRBUF_INIT;
	size_t i;

	diag_sort(d);
	for (i = 0; i < d->nr; i++) {
		const struct diag_entry *e = &d->items[i];

		strbuf_reset(&sb);
		strbuf_reset(&near);
		strbuf_addstr(&sb, (*nr_printed)++ ? ",\n  {\"file\": " : "\n  {\"file\": ");
		quote_json(&sb, e->pos.file ? e->pos.file : file);
		/* as diag_print: column 1 where only the line is known */
		if (e->pos.line)
			strbuf_addf(&sb, ", \"line\": %d, \"column\": %d", e->pos.line,
				    e->pos.col > 0 ? e->pos.col : 1);
		else
			strbuf_addstr(&sb, ", \"line\": null, \"column\": null");
		strbuf_addf(&sb, ", \"severity\": \"%s\", \"message\": ", e->warning ? "warning" : "error");
		quote_json(&sb, e->msg);
		strbuf_addstr(&sb, ", \"suggestion\": ");
		if (suggestion(e->msg, &near))
			quote_json(&sb, near.buf);
		else
			strbuf_addstr(&sb, "null");
		strbuf_addch(&sb, '}');
		fputs(sb.buf, stdout);
	}
	strbuf_release(&sb);
	strbuf_release(&near);
}

int cmd_check(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "canonical", no_argument, NULL, 'c' },
		{ "models", no_argument, NULL, 'm' },
		{ "allow-unsafe", no_argument, NULL, 'u' },
		{ "unsafe", no_argument, NULL, 'u' },
		{ "format", required_argument, NULL, 'f' },
		{ "sweep", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int i, opt, canonical = 0, unsafe = 0, models = 0, status = 0, nfiles = 0, json = 0;
	long nr_printed = 0;
	char **orig = xcalloc((size_t)argc + 1, sizeof(*orig));
	const char **files = xcalloc((size_t)argc + 1, sizeof(*files));
	size_t point, nr_files = 0;

	memcpy(orig, argv, (size_t)argc * sizeof(*argv));
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (opt == 'h') {
			fputs(check_usage, stdout);
			status = 0;
			goto out;
		} else if (opt == 'c') {
			canonical = 1;
		} else if (opt == 'm') {
			models = 1;
		} else if (opt == 'u') {
			unsafe = 1;
		} else if (opt == 'f' && (!strcmp(optarg, "json") || !strcmp(optarg, "text"))) {
			json = !strcmp(optarg, "json");
		} else if (opt == 's') {
			if (cmd_sweep_add(optarg, cmd_arg_number(orig, argc, optarg)) < 0) {
				status = 2;
				goto out;
			}
		} else if (opt == 'f') {
			fprintf(stderr, "camlab check: unknown format '%s' (text or json)\n\n%s", optarg,
				check_usage);
			status = 2;
			goto out;
		} else {
			fprintf(stderr, "camlab check: unknown option '%s'\n\n%s", commands_bad_option(argv),
				check_usage);
			status = 2;
			goto out;
		}
	}
	i = optind; /* no operand: the usage, below */
	if (json && canonical) {
		fprintf(stderr, "camlab check: --canonical prints text: not with --format json\n\n%s",
			check_usage);
		status = 2;
		goto out;
	}
	for (; i < argc; i++) {
		if (!cmd_is_override(argv[i]))
			files[nr_files++] = argv[i];
		else if (cmd_override_add(argv[i], cmd_arg_number(orig, argc, argv[i])) < 0) {
			status = 2;
			goto out;
		}
	}
	if (!nr_files) {
		fputs(check_usage, stderr);
		status = 2;
		goto out;
	}
	if (json)
		fputc('[', stdout);
	for (point = 0; point < cmd_sweep_points() * nr_files; point++) {
		const char *file = files[point % nr_files];
		struct experiment e;
		struct diag d = DIAG_INIT;
		int ret;

		cmd_sweep_select(point / nr_files);
		if (*cmd_sweep_name() && !json)
			printf("# %s\n", cmd_sweep_name());
		ret = cmd_load_spec_quiet(file, &e, &d, unsafe);
		if (ret == 0 && !d.errors)
			cmd_check_paper(&e, &d);
		if (ret == 0 && !d.errors && models) {
			fflush(stdout); /* the summary of an earlier file comes first */
			preflight_all_cam(&e, &d); /* as run has it: all's cam only where it is defined */
			preflight_models(&e, &d, json ? NULL : stdout);
		}
		/* positions borrow e's file name: print before releasing e */
		fflush(stdout);
		if (json)
			print_json(&d, file, &nr_printed);
		else
			diag_print(&d, stderr);
		fflush(stderr);
		if (ret < 0 || d.errors) {
			status = 1;
		} else if (json) {
			; /* a valid spec adds nothing to the array */
		} else if (canonical) {
			char *text = experiment_canonical(&e);
			fputs(text, stdout);
			free(text);
		} else {
			summary(file, &e);
		}
		fflush(stdout);
		diag_release(&d);
		experiment_release(&e);
		nfiles++;
	}
	if (json)
		fputs(nr_printed ? "\n]\n" : "]\n", stdout);
out:
	free(files);
	free(orig);
	return status;
}
