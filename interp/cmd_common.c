/*
 * cmd_common.c - what the commands share: reading a spec with its problems printed, the arguments of
 * the commands that take [--allow-unsafe] FILE, the report's paper warning, the name of an unknown option.
 */
#include "interp/commands.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "dsl/diag.h"
#include "dsl/experiment.h"
#include "lib/strbuf.h"
#include "reports/paper.h"

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

int cmd_load_spec(const char *file, struct experiment *e, int unsafe)
{
	struct diag d = DIAG_INIT;
	int ret;
	experiment_init(e);
	ret = experiment_load(e, file, &d, unsafe);
	if (ret == 0 && !d.errors)
		cmd_check_paper(e, &d);
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
	int opt;

	*file = NULL;
	*unsafe = 0;
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (opt == 'h') {
			fputs(usage, stdout);
			return 0;
		} else if (opt == 'u') {
			*unsafe = 1;
		} else {
			fputs(usage, stderr);
			return 2;
		}
	}
	if (argc - optind != 1) {
		fputs(usage, stderr);
		return 2;
	}
	*file = argv[optind];
	return -1;
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
