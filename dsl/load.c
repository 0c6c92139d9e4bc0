/*
 * load.c - reading a spec: the front end its extension names, then validation (see experiment.h). The one
 * file of dsl/ that knows both front ends; nothing in dsl/ calls back up into it.
 */
#include "dsl/experiment.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dsl/front.h"
#include "dsl/override.h"
#include "lib/error.h"
#include "lib/fs.h"
#include "lib/strbuf.h"
#include "lib/xalloc.h"

static int has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && !strcasecmp(s + n - m, suffix);
}

/*
 * An error in an included file names the files that include it, innermost first: "(included from
 * b.yaml:2:12, from spec.yaml:1:11)", so that a shared file's problem is found from the spec that ran.
 */
static void add_include_chains(const struct experiment *e, struct diag *d, size_t from)
{
	size_t i, j;

	for (i = from; i < d->nr; i++) {
		struct strbuf sb = STRBUF_INIT;
		const struct exp_source *s = NULL;
		for (j = 1; d->items[i].pos.file && j < e->nr_sources; j++)
			if (e->sources[j].parent >= 0 && d->items[i].pos.file == e->sources[j].name)
				s = &e->sources[j];
		if (!s)
			continue;
		strbuf_addstr(&sb, d->items[i].msg);
		for (j = 0; s->parent >= 0; s = &e->sources[s->parent], j++)
			strbuf_addf(&sb, "%s%s:%d:%d", j ? ", from " : " (included from ", e->sources[s->parent].name,
				    s->line, s->col);
		strbuf_addch(&sb, ')');
		free(d->items[i].msg);
		d->items[i].msg = strbuf_detach(&sb, NULL);
	}
}

/*
 * The spec's bytes into sb, refused past SPEC_MAX_BYTES: the one reader of spec files. 0, or -1 after an
 * error in d.
 */
static int read_spec(const char *file, struct strbuf *sb, struct diag *d, struct src_pos nowhere)
{
	int err;

	error_set_quiet(1); /* the message is worded here, in the spec's diagnostics */
	err = read_file(file, SPEC_MAX_BYTES, sb) < 0 ? errno : 0;
	error_set_quiet(0);
	if (err == EFBIG)
		diag_error(d, nowhere, "the spec is larger than %zu bytes", SPEC_MAX_BYTES);
	else if (err == EISDIR)
		diag_error(d, nowhere, "cannot read the spec: it is a folder");
	else if (err)
		diag_error(d, nowhere, "cannot open the spec: %s", strerror(err));
	return err ? -1 : 0;
}

/*
 * The front ends return -1 when nothing useful could be read (the file is unreadable, not YAML, a Lua
 * error), and 0 otherwise even if they recorded errors: validation then still runs, so that one pass
 * reports every problem of a spec, not only its syntax errors.
 */
int experiment_load(struct experiment *e, const char *file, struct diag *d, int allow_unsafe)
{
	struct src_pos nowhere = { NULL, 0, 0 };
	struct strbuf text = STRBUF_INIT;
	int yaml = has_suffix(file, ".yaml") || has_suffix(file, ".yml");
	size_t i;
	int ret, bad = 0;

	free(e->file);
	e->file = xstrdup(file);
	nowhere.file = e->file;
	if (!yaml && !has_suffix(file, ".lua")) {
		diag_error(d, nowhere, "unknown spec type: the file name should end in .yaml, .yml or .lua");
		return -1;
	}
	/* an override's path is checked first: a wrong key is the argument's error, not the spec's */
	for (i = 0; i < e->nr_overrides; i++)
		bad |= exp_override_check(&e->overrides[i], d) < 0;
	if (bad || read_spec(file, &text, d, nowhere) < 0) {
		strbuf_release(&text); /* read_file may have grown it before it refused the file */
		return -1;
	}
	if (yaml)
		ret = exp_yaml_load(e, e->file, text.buf, text.len, d);
	else
		ret = exp_lua_load(e, e->file, text.buf, text.len, d, allow_unsafe);
	add_include_chains(e, d, 0);
	/* the bytes that were read are what the database records as the spec that ran */
	free(e->text);
	e->text_len = text.len;
	e->text = strbuf_detach(&text, NULL);
	if (ret < 0) {
		if (!d->errors)
			diag_error(d, nowhere, "cannot read the spec");
		return -1;
	}
	i = d->nr;
	ret = experiment_validate(e, d) < 0 || d->errors ? -1 : 0;
	if (d->nr > i)
		add_include_chains(e, d, i);
	return ret;
}
