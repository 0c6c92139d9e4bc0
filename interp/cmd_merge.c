/*
 * cmd_merge.c - `camlab merge`: gather an experiment's shards (`camlab run --shard I/N`, as `camlab
 * submit` runs them, or by hand on any machines) into its output folder, and build the report. Merging
 * needs no Slurm.
 */
#include "interp/commands.h"

#include "dsl/experiment.h"
#include "interp/run.h"

static const char merge_usage[] =
	"usage: camlab merge [--allow-unsafe] FILE\n"
	"\n"
	"Gathers the results of the experiment's shards (OUTPUT/shards/shard-000-of-004 and so on,\n"
	"written by `camlab run --shard I/N`, as `camlab submit` runs them) into OUTPUT's database, sets\n"
	"the runs' states and builds the report. Says of every shard whether it is complete, has nothing\n"
	"to do (fewer chunks of images than shards), or is missing or incomplete, and for those prints the\n"
	"`camlab submit --only ...` command that runs them again (they resume) and merges after them.\n"
	"The shards must all be of one count. Exit status 0 when every run is done.\n";

int cmd_merge(int argc, char **argv)
{
	struct run_opts o = { 0 };
	struct experiment e;
	const char *file;
	int unsafe, ret;

	if ((ret = cmd_spec_args(argc, argv, merge_usage, &file, &unsafe)) >= 0)
		return ret;
	if (cmd_load_spec(file, &e, unsafe) < 0) {
		experiment_release(&e);
		return 1;
	}
	o.merge = 1;
	o.progress = 0;
	ret = run_experiment(&e, &o);
	experiment_release(&e);
	return ret;
}
