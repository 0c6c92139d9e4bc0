/*
 * yaml_front.h - the YAML front end's own parts, shared by its files: yaml.c (the document into the IR)
 * and yaml_text.c (the file read, and the errors libyaml leaves to us). Only they include it.
 */
#ifndef DSL_YAML_FRONT_H
#define DSL_YAML_FRONT_H

#include <yaml.h>

#include "dsl/diag.h"
#include "dsl/experiment.h"
#include "lib/strbuf.h"

struct yctx {
	struct experiment *e;
	struct diag *d;
	yaml_document_t doc;
	size_t def_alloc; /* e->defs' allocation */
	/* where each node of doc (by id - 1) was written: its file, an included one, or an argument */
	struct src_pos *node_pos;
	size_t nr_node_pos, alloc_node_pos;
};

/* yaml_text.c */
/* Where node n was written: its file, an included one, or an argument (compose.c's node_pos). */
struct src_pos yspec_pos(struct yctx *c, const yaml_node_t *n);
/* An error at each scalar with a NUL in it (a double-quoted "\0"), which C strings would cut. */
void yspec_check_nul(struct yctx *c);
void yspec_syntax_error(struct yctx *c, yaml_parser_t *parser, const struct strbuf *sb);
int yspec_check_depth(struct yctx *c, const struct strbuf *sb);
void yspec_check_one_document(struct yctx *c, yaml_parser_t *parser, const struct strbuf *sb);

/*
 * compose.c: read file into c->doc with the files it includes merged in and e->overrides applied
 * (node_pos saying where each node comes from). -1 when nothing could be read, after errors in d.
 */
int yspec_compose(struct yctx *c, const char *file, const char *text, size_t len);

#endif
