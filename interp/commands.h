/*
 * commands.h - camlab's subcommands. Each takes the arguments after its name (argv[0] is the command
 * name) and returns the process exit status: 0 success, 1 bad input or failed work, 2 usage error.
 */
#ifndef INTERP_COMMANDS_H
#define INTERP_COMMANDS_H

int cmd_explain(int argc, char **argv);
int cmd_predict(int argc, char **argv);
int cmd_layers(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_help(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_plan(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_merge(int argc, char **argv);
int cmd_submit(int argc, char **argv);
int cmd_version(int argc, char **argv);
int cmd_results(int argc, char **argv);
int cmd_compare(int argc, char **argv);
int cmd_init(int argc, char **argv);

#include <stdio.h>

/* One command: its name, its function and the one line `camlab --help` says of it. */
struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
	int gap_before; /* a blank line before it in the usage text */
};

/* Every command, in the order the usage text lists them; the last entry's name is NULL. */
extern const struct command commands[];

/* camlab's usage text, made from commands[], to fp. */
void commands_usage(FILE *fp);

/* After getopt_long (opterr 0) returned '?': the option it did not know, as written ("--bogus", "-x"). */
const char *commands_bad_option(char **argv);

struct experiment;
struct diag;
/* Warn (into d) about an outputs.paper the report could not use. */
void cmd_check_paper(const struct experiment *e, struct diag *d);
/* Load the spec in file into e (initialised here; release it either way), printing its problems: 0 or -1. */
int cmd_load_spec(const char *file, struct experiment *e, int unsafe);
/*
 * The arguments of a command that takes [--allow-unsafe] FILE, into *file and *unsafe: -1 to go on, or
 * the exit status to return (0 after --help, 2 after a usage error, usage printed).
 */
int cmd_spec_args(int argc, char **argv, const char *usage, const char **file, int *unsafe);

#endif
