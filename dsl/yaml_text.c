/*
 * yaml_text.c - what libyaml leaves to the application in a YAML spec's text: a syntax error's position
 * and message, nesting too deep for its scanner, a second document, NULs in scalars, and where a node
 * was written (compose.c may have brought it from an included file or an argument).
 */
#include "dsl/yaml_front.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dsl/front.h"
#include "lib/xalloc.h"

/* libyaml's reader errors carry a byte offset, not a mark: count lines and columns ourselves. */
static struct src_pos offset_pos(const char *file, const struct strbuf *sb, size_t offset)
{
	struct src_pos p = { file, 1, 1 };
	size_t i;
	for (i = 0; i < offset && i < sb->len; i++) {
		if (sb->buf[i] == '\n') {
			p.line++;
			p.col = 1;
		} else if (((unsigned char)sb->buf[i] & 0xc0) != 0x80) {
			p.col++;
		}
	}
	return p;
}

void yspec_syntax_error(struct yctx *c, yaml_parser_t *parser, const struct strbuf *sb)
{
	struct src_pos p = { c->e->file, (int)parser->problem_mark.line + 1, (int)parser->problem_mark.column + 1 };
	const char *problem = parser->problem ? parser->problem : "invalid YAML";

	switch (parser->error) {
	case YAML_MEMORY_ERROR:
		diag_error(c->d, p, "out of memory reading the spec");
		break;
	case YAML_READER_ERROR:
		p = offset_pos(c->e->file, sb, parser->problem_offset);
		if (parser->problem_value != -1)
			diag_error(c->d, p, "%s (byte 0x%02x)", problem, (unsigned)parser->problem_value & 0xff);
		else
			diag_error(c->d, p, "%s", problem);
		break;
	default:
		if (parser->context)
			diag_error(c->d, p, "%s: %s", parser->context, problem);
		else
			diag_error(c->d, p, "%s", problem);
		break;
	}
}

/*
 * A first pass over the parser's events that stops at the first list or mapping nested deeper than
 * SPEC_MAX_DEPTH, before libyaml builds the document (quadratic in the depth) and the walk recurses
 * into it: a hostile spec fails at once. A syntax error stops the pass quietly; the load reports it.
 */
int yspec_check_depth(struct yctx *c, const struct strbuf *sb)
{
	yaml_parser_t parser;
	yaml_event_t ev;
	int depth = 0, ret = 0;

	if (!yaml_parser_initialize(&parser))
		return 0; /* the load says it is out of memory */
	yaml_parser_set_input_string(&parser, (const unsigned char *)sb->buf, sb->len);
	while (!ret && yaml_parser_parse(&parser, &ev)) {
		yaml_event_type_t type = ev.type;
		if (type == YAML_SEQUENCE_START_EVENT || type == YAML_MAPPING_START_EVENT) {
			if (++depth > SPEC_MAX_DEPTH) {
				struct src_pos p = { c->e->file, (int)ev.start_mark.line + 1,
						     (int)ev.start_mark.column + 1 };
				diag_error(c->d, p, "lists and mappings nested more than %d levels deep",
					   SPEC_MAX_DEPTH);
				ret = -1;
			}
		} else if (type == YAML_SEQUENCE_END_EVENT || type == YAML_MAPPING_END_EVENT) {
			depth--;
		}
		yaml_event_delete(&ev);
		if (type == YAML_STREAM_END_EVENT)
			break;
	}
	yaml_parser_delete(&parser);
	return ret;
}

/*
 * libyaml reads one document at a time: a second one (after "---") would be ignored silently, so it is an
 * error at its start, as is a syntax error in it.
 */
void yspec_check_one_document(struct yctx *c, yaml_parser_t *parser, const struct strbuf *sb)
{
	yaml_document_t next;

	if (!yaml_parser_load(parser, &next)) {
		yspec_syntax_error(c, parser, sb);
		return;
	}
	if (yaml_document_get_root_node(&next)) {
		struct src_pos p = { c->e->file, (int)next.start_mark.line + 1,
				     (int)next.start_mark.column + 1 };
		diag_error(c->d, p, "a spec is one YAML document; this is a second one");
	}
	yaml_document_delete(&next);
}

struct src_pos yspec_pos(struct yctx *c, const yaml_node_t *n)
{
	struct src_pos p = { c->e->file, (int)n->start_mark.line + 1, (int)n->start_mark.column + 1 };
	size_t i = (size_t)(n - c->doc.nodes.start);

	if (i < c->nr_node_pos) /* compose.c: the file or the argument it came from */
		return c->node_pos[i];
	return p;
}

/*
 * A double-quoted "\0" makes a scalar with a NUL in it, which every C string would cut there (a name
 * silently shortened): an error at each such scalar.
 */
void yspec_check_nul(struct yctx *c)
{
	yaml_node_t *n;

	for (n = c->doc.nodes.start; n < c->doc.nodes.top; n++)
		if (n->type == YAML_SCALAR_NODE && strlen((const char *)n->data.scalar.value) != n->data.scalar.length)
			diag_error(c->d, yspec_pos(c, n), "a NUL character (\\0) in '%s...': strings cannot hold one",
				   (const char *)n->data.scalar.value);
}
