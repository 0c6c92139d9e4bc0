/*
 * quote.c - quoting for the interpreters camlab writes text for; see quote.h.
 */
#include "quote.h"

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
