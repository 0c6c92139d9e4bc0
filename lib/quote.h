/*
 * quote.h - the one quoting function of each interpreter camlab writes text for (a shell, gnuplot,
 * LaTeX, HTML, Markdown, CSV). Every name that comes from a spec, a definition or a results folder
 * reaches another program only through these: each appends s to sb so that the target reads it back
 * as the literal text s and never as code.
 */
#ifndef LIB_QUOTE_H
#define LIB_QUOTE_H

struct strbuf;

/* s as one word for a POSIX shell: single-quoted, each ' written as '\''. */
void quote_shell(struct strbuf *sb, const char *s);

#endif
