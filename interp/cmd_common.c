/*
 * cmd_common.c - what the commands share: reading a spec with its problems printed, the arguments of
 * the commands that take [--allow-unsafe] FILE, the report's paper warning, the name of an unknown option.
 */
#include "interp/commands.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dsl/diag.h"
#include "dsl/experiment.h"
#include "dsl/override.h"
#include "interp/preflight.h"
#include "lib/error.h"
#include "lib/quote.h"
#include "lib/strbuf.h"
#include "lib/xalloc.h"
#include "reports/paper.h"

/*
 * The command line's overrides and sweeps: one command runs per process, so they live as long as it
 * (released at exit by the system, as the command's other state is).
 */
static struct {
	struct exp_override *list; /* KEY=VALUE, in the order given */
	size_t nr, alloc;
	struct exp_override **sweeps; /* each --sweep's values */
	size_t *nr_values;
	size_t nr_sweeps, alloc_sweeps, alloc_values;
	struct exp_override *point; /* list and the selected value of each sweep, for experiment_load */
	size_t nr_point, alloc_point;
	struct strbuf name;
} ov = { .name = STRBUF_INIT };

int cmd_is_override(const char *arg)
{
	const char *eq = strchr(arg, '='), *p;

	if (!eq || eq == arg || !access(arg, F_OK))
		return 0;
	for (p = arg; p < eq; p++)
		if (*p == '/')
			return 0;
	return 1;
}

int cmd_override_add(const char *arg, int argn)
{
	ALLOC_GROW(ov.list, ov.nr + 1, ov.alloc);
	if (exp_override_parse(&ov.list[ov.nr], arg, argn) < 0)
		return -1;
	ov.nr++;
	return 0;
}

int cmd_sweep_add(const char *arg, int argn)
{
	struct exp_override *values;
	int n = exp_sweep_parse(arg, argn, &values);

	if (n < 0)
		return -1;
	ALLOC_GROW(ov.sweeps, ov.nr_sweeps + 1, ov.alloc_sweeps);
	ALLOC_GROW(ov.nr_values, ov.nr_sweeps + 1, ov.alloc_values);
	ov.sweeps[ov.nr_sweeps] = values;
	ov.nr_values[ov.nr_sweeps++] = (size_t)n;
	cmd_sweep_select(0);
	return 0;
}

size_t cmd_sweep_points(void)
{
	size_t i, n = 1;

	for (i = 0; i < ov.nr_sweeps; i++)
		n *= ov.nr_values[i];
	return n;
}

/* Point i counts in mixed radix, the last sweep fastest: --sweep a=1,2 --sweep b=x,y is a=1 b=x, a=1 b=y... */
void cmd_sweep_select(size_t i)
{
	size_t k;

	ov.nr_point = 0;
	strbuf_reset(&ov.name);
	ALLOC_GROW(ov.point, ov.nr + ov.nr_sweeps + 1, ov.alloc_point);
	for (k = 0; k < ov.nr; k++)
		ov.point[ov.nr_point++] = ov.list[k];
	for (k = ov.nr_sweeps; k-- > 0;) {
		ov.point[ov.nr + k] = ov.sweeps[k][i % ov.nr_values[k]];
		i /= ov.nr_values[k];
	}
	for (k = 0; k < ov.nr_sweeps; k++)
		strbuf_addf(&ov.name, "%s%s", k ? " " : "", ov.point[ov.nr + k].text);
	ov.nr_point += ov.nr_sweeps;
}

const char *cmd_sweep_name(void)
{
	return ov.name.buf;
}

void cmd_overrides_text(struct strbuf *sb)
{
	size_t i;

	for (i = 0; i < ov.nr_point; i++) {
		strbuf_addch(sb, ' ');
		quote_shell(sb, ov.point[i].text);
	}
}

int cmd_arg_number(char **orig, int argc, const char *arg)
{
	int i;

	/* an option's value may follow its name in the same argument: --sweep=seed=1,2 */
	for (i = 0; i < argc; i++)
		if (arg >= orig[i] && arg <= orig[i] + strlen(orig[i]))
			return i + 1; /* argv[0] is the command's name, the user's argument 1 */
	return 0;
}

int cmd_spec_operands(int argc, char **argv, char **orig, int first, const char **file)
{
	int i;

	*file = NULL;
	for (i = first; i < argc; i++) {
		if (!*file && !cmd_is_override(argv[i])) {
			*file = argv[i];
		} else if (cmd_is_override(argv[i])) {
			if (cmd_override_add(argv[i], cmd_arg_number(orig, argc, argv[i])) < 0)
				return -1;
		} else {
			error("one experiment file, then KEY=VALUE overrides: '%s' is neither", argv[i]);
			return -1;
		}
	}
	if (!*file)
		return error("no experiment file");
	cmd_sweep_select(0);
	return 0;
}

void cmd_check_paper(const struct experiment *e, struct diag *d)
{
	struct src_pos pos = e->paper_pos.line ? e->paper_pos : (struct src_pos){ e->file, 0, 0 };
	struct paper_table t;
	struct strbuf why = STRBUF_INIT;
	size_t i, j;

	if (!e->paper_table)
		return;
	if (paper_resolve(e->paper_table, &t, &why) < 0) {
		diag_warning(d, pos, "%s (the tables will have no paper columns)", why.buf);
	} else if (t.automatic) {
		for (i = 0; i < e->nr_models; i++)
			for (j = 0; j < e->models[i].nr_layers; j++)
				if (paper_for(e->models[i].name, e->models[i].layers[j].name,
					      e->models[i].layers[j].path, &t))
					goto out;
		diag_warning(
			d, pos,
			"paper: auto: no model and layer is one of the paper's (a model named like resnet50, "
			"at layer4.2 or its pre_gap or last_conv), so the tables will have no paper columns");
	}
out:
	strbuf_release(&why);
}

int cmd_load_spec_quiet(const char *file, struct experiment *e, struct diag *d, int unsafe)
{
	experiment_init(e);
	e->overrides = ov.point;
	e->nr_overrides = ov.nr_point;
	return experiment_load(e, file, d, unsafe);
}

int cmd_load_spec(const char *file, struct experiment *e, int unsafe)
{
	struct diag d = DIAG_INIT;
	int ret;
	experiment_init(e);
	e->overrides = ov.point;
	e->nr_overrides = ov.nr_point;
	ret = experiment_load(e, file, &d, unsafe);
	if (ret == 0 && !d.errors) {
		cmd_check_paper(e, &d);
		preflight_all_cam(e, &d);
	}
	diag_print(&d, stderr);
	diag_release(&d);
	return ret;
}

int cmd_spec_args(int argc, char **argv, const char *usage, const char **file, int *unsafe)
{
	static const struct option longopts[] = {
		{ "allow-unsafe", no_argument, NULL, 'u' },
		{ "unsafe", no_argument, NULL, 'u' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char **orig = xcalloc((size_t)argc + 1, sizeof(*orig));
	int opt, ret = -1;

	memcpy(orig, argv, (size_t)argc * sizeof(*argv));
	*file = NULL;
	*unsafe = 0;
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (opt == 'h') {
			fputs(usage, stdout);
			ret = 0;
			goto out;
		} else if (opt == 'u') {
			*unsafe = 1;
		} else {
			fputs(usage, stderr);
			ret = 2;
			goto out;
		}
	}
	if (cmd_spec_operands(argc, argv, orig, optind, file) < 0) {
		fputs(usage, stderr);
		ret = 2;
	}
out:
	free(orig);
	return ret;
}

const char *commands_bad_option(char **argv)
{
	static char one[3];

	if (optopt > 0 && optopt < 128) { /* a short option: it may stand in a group ("-qx") */
		one[0] = '-';
		one[1] = (char)optopt;
		return one;
	}
	return argv[optind - 1];
}
