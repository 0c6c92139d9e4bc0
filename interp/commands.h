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
/*
 * Load the spec in file into e (initialised here; release it either way), printing its problems: 0 or -1.
 * The command line's overrides (cmd_spec_operands) and the selected sweep point are put into it.
 */
int cmd_load_spec(const char *file, struct experiment *e, int unsafe);
/* The same, its problems left in d, unprinted. */
int cmd_load_spec_quiet(const char *file, struct experiment *e, struct diag *d, int unsafe);
/*
 * The arguments of a command that takes [--allow-unsafe] FILE [KEY=VALUE...], into *file and *unsafe:
 * -1 to go on, or the exit status to return (0 after --help, 2 after a usage error, usage printed).
 */
int cmd_spec_args(int argc, char **argv, const char *usage, const char **file, int *unsafe);

/*
 * Overrides (dsl/override.h) of the spec a command reads, kept for the command's life (one command a
 * process). cmd_spec_operands takes argv[first..argc) after getopt: one FILE (*file) and KEY=VALUE
 * overrides, numbered as the user's command line numbers them (orig: argv before getopt permuted it);
 * 0, or -1 after an error (a usage error: exit 2). cmd_is_override says whether an argument is one
 * (KEY=VALUE, and no file of that name). cmd_sweep_add takes a --sweep KEY=V1,V2 (0 or -1);
 * cmd_sweep_points is the number of the sweep's points (1 without one), cmd_sweep_select(i) makes
 * point i the one cmd_load_spec applies, and cmd_sweep_name its values ("seed=1 data.limit=10").
 * cmd_overrides_text appends the overrides, shell-quoted, each after a space (for a command to rerun).
 */
int cmd_spec_operands(int argc, char **argv, char **orig, int first, const char **file);
int cmd_is_override(const char *arg);
int cmd_override_add(const char *arg, int argn);
int cmd_sweep_add(const char *arg, int argn);
size_t cmd_sweep_points(void);
void cmd_sweep_select(size_t i);
const char *cmd_sweep_name(void);
struct strbuf;
void cmd_overrides_text(struct strbuf *sb);
/* the index of arg in orig (argv before getopt), as the user's command line numbers it */
int cmd_arg_number(char **orig, int argc, const char *arg);

#endif
