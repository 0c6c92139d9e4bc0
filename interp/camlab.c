/*
 * camlab.c - the camlab command: finds the subcommand and hands it its arguments.
 */
#include <stdio.h>
#include <string.h>

#include "interp/commands.h"
#include "lib/suggest.h"
#include "lib/xalloc.h"

int main(int argc, char **argv)
{
	size_t i;

	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    (!strcmp(argv[1], "help") && argc == 2)) {
		commands_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (!strcmp(argv[1], "--version"))
		return cmd_version(1, argv + 1);
	for (i = 0; commands[i].name; i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	{
		const char *names[64], *near[1];
		size_t n = 0;
		for (i = 0; commands[i].name && n < ARRAY_SIZE(names); i++)
			names[n++] = commands[i].name;
		if (suggest_nearest(argv[1], names, n, near, 1))
			fprintf(stderr, "camlab: '%s' is not a camlab command; did you mean '%s'?\n\n", argv[1],
				near[0]);
		else
			fprintf(stderr, "camlab: '%s' is not a camlab command\n\n", argv[1]);
		commands_usage(stderr);
	}
	return 2;
}
