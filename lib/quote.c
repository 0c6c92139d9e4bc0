/*
 * quote.c - quoting for the interpreters camlab writes text for; see quote.h. tests/unit/test_quote.c
 * reads each function's output back with the real interpreter where one is installed.
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

static int is_control(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

/*
 * gnuplot expands `...` and @name inside double quotes, and a line ending in a backslash continues
 * into the next one, even in a comment; in single quotes nothing is expanded (checked with 5.4).
 */
void quote_gnuplot(struct strbuf *sb, const char *s, unsigned flags)
{
	strbuf_addch(sb, '\'');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '\'')
			strbuf_addstr(sb, "''");
		else if (c == '%' && (flags & QUOTE_GNUPLOT_FORMAT))
			strbuf_addstr(sb, "%%");
		else if (is_control(c))
			strbuf_addf(sb, "'.\"\\%03o\".'", c);
		else
			strbuf_addch(sb, (char)c);
	}
	strbuf_addch(sb, '\'');
}

void quote_latex(struct strbuf *sb, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '#':
		case '$':
		case '%':
		case '&':
		case '_':
		case '{':
		case '}':
			strbuf_addch(sb, '\\');
			strbuf_addch(sb, *s);
			break;
		case '~':
			strbuf_addstr(sb, "\\textasciitilde{}");
			break;
		case '^':
			strbuf_addstr(sb, "\\textasciicircum{}");
			break;
		case '\\':
			strbuf_addstr(sb, "\\textbackslash{}");
			break;
		case '<':
			strbuf_addstr(sb, "\\textless{}");
			break;
		case '>':
			strbuf_addstr(sb, "\\textgreater{}");
			break;
		case '|':
			strbuf_addstr(sb, "\\textbar{}");
			break;
		case '-': /* "--" and "---" would be dashes */
			strbuf_addstr(sb, s[1] == '-' ? "-{}" : "-");
			break;
		default:
			/* the en dash of "500–1000 images", for pdflatex's fonts */
			if (!strncmp(s, "\u2013", 3)) {
				strbuf_addstr(sb, "\\textendash{}");
				s += 2;
			} else if (is_control((unsigned char)*s)) {
				strbuf_addch(sb, ' ');
			} else {
				strbuf_addch(sb, *s);
			}
		}
	}
}

void quote_html(struct strbuf *sb, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&':
			strbuf_addstr(sb, "&amp;");
			break;
		case '<':
			strbuf_addstr(sb, "&lt;");
			break;
		case '>':
			strbuf_addstr(sb, "&gt;");
			break;
		case '"':
			strbuf_addstr(sb, "&quot;");
			break;
		case '\'':
			strbuf_addstr(sb, "&#39;");
			break;
		default:
			strbuf_addch(sb, *s);
		}
	}
}

void quote_markdown(struct strbuf *sb, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&':
			strbuf_addstr(sb, "&amp;");
			break;
		case '<':
			strbuf_addstr(sb, "&lt;");
			break;
		case '>':
			strbuf_addstr(sb, "&gt;");
			break;
		case '\\':
		case '`':
		case '*':
		case '_':
		case '[':
		case ']':
		case '|':
		case '~':
		case '$':
			strbuf_addch(sb, '\\');
			strbuf_addch(sb, *s);
			break;
		default:
			strbuf_addch(sb, is_control((unsigned char)*s) ? ' ' : *s);
		}
	}
}

void quote_csv(struct strbuf *sb, const char *s)
{
	if (!strpbrk(s, ",\"\r\n")) {
		strbuf_addstr(sb, s);
		return;
	}
	strbuf_addch(sb, '"');
	for (; *s; s++) {
		if (*s == '"')
			strbuf_addch(sb, '"');
		strbuf_addch(sb, *s);
	}
	strbuf_addch(sb, '"');
}
