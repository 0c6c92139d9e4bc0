/*
 * load.c - reading a spec: the front end its extension names, then validation (see experiment.h). The one
 * file of dsl/ that knows both front ends; nothing in dsl/ calls back up into it.
 */
#include "dsl/experiment.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dsl/front.h"
#include "lib/xalloc.h"

static int has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && !strcasecmp(s + n - m, suffix);
}

/*
 * The front ends return -1 when nothing useful could be read (the file is unreadable, not YAML, a Lua
 * error), and 0 otherwise even if they recorded errors: validation then still runs, so that one pass
 * reports every problem of a spec, not only its syntax errors.
 */
int experiment_load(struct experiment *e, const char *file, struct diag *d, int allow_unsafe)
{
	struct src_pos nowhere = { NULL, 0, 0 };
	int ret;

	free(e->file);
	e->file = xstrdup(file);
	nowhere.file = e->file;
	if (has_suffix(file, ".yaml") || has_suffix(file, ".yml"))
		ret = exp_yaml_load(e, e->file, d);
	else if (has_suffix(file, ".lua"))
		ret = exp_lua_load(e, e->file, d, allow_unsafe);
	else {
		diag_error(d, nowhere, "unknown spec type: the file name should end in .yaml, .yml or .lua");
		return -1;
	}
	if (ret < 0) {
		if (!d->errors)
			diag_error(d, nowhere, "cannot read the spec");
		return -1;
	}
	if (experiment_validate(e, d) < 0 || d->errors)
		return -1;
	return 0;
}
