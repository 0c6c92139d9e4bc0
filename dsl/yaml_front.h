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
};

/* yaml_text.c */
void yspec_syntax_error(struct yctx *c, yaml_parser_t *parser, const struct strbuf *sb);
int yspec_check_depth(struct yctx *c, const struct strbuf *sb);
void yspec_check_one_document(struct yctx *c, yaml_parser_t *parser, const struct strbuf *sb);

#endif
