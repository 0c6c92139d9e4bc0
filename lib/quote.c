/*
 * quote.c - quoting for the interpreters camlab writes text for; see quote.h.
 */
#include "quote.h"

#include <string.h>

#include "strbuf.h"

void quote_shell(struct strbuf *sb, const char *s)
{
	strbuf_addch(sb, '\'');
	for (; *s; s++) {
		if (*s == '\'')
			strbuf_addstr(sb, "'\\''");
		else
			strbuf_addch(sb, *s);
	}
	strbuf_addch(sb, '\'');
}

int quote_sbatch(struct strbuf *sb, const char *s)
{
	if (strchr(s, '\n'))
		return -1; /* a directive ends at the line's end, quoted or not */
	strbuf_addch(sb, '"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			strbuf_addch(sb, '\\');
		strbuf_addch(sb, *s);
	}
	strbuf_addch(sb, '"');
	return 0;
}
