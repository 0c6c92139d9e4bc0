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

/* The length of the valid UTF-8 sequence at s (1 to 4), or 0: overlong forms and surrogates are invalid. */
static int utf8_len(const unsigned char *s)
{
	unsigned c = s[0];
	int n, i;
	unsigned long cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, cp = c & 0x07;
	else
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80) /* also stops at the NUL */
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

void quote_json(struct strbuf *sb, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	strbuf_addch(sb, '"');
	while (*p) {
		int n = utf8_len(p);

		if (!n) {
			strbuf_addstr(sb, "\\ufffd");
			p++;
			continue;
		}
		if (n > 1) {
			strbuf_add(sb, p, (size_t)n);
			p += n;
			continue;
		}
		switch (*p) {
		case '"':
			strbuf_addstr(sb, "\\\"");
			break;
		case '\\':
			strbuf_addstr(sb, "\\\\");
			break;
		case '\n':
			strbuf_addstr(sb, "\\n");
			break;
		case '\r':
			strbuf_addstr(sb, "\\r");
			break;
		case '\t':
			strbuf_addstr(sb, "\\t");
			break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				strbuf_addf(sb, "\\u%04x", *p);
			else
				strbuf_addch(sb, (char)*p);
		}
		p++;
	}
	strbuf_addch(sb, '"');
}

void quote_yaml(struct strbuf *sb, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	strbuf_addch(sb, '"');
	while (*p) {
		int n = utf8_len(p);

		/* U+0085 and U+2028/9 are line breaks to YAML 1.1 readers (PyYAML) */
		if (n == 2 && p[0] == 0xc2 && p[1] == 0x85) {
			strbuf_addstr(sb, "\\N");
			p += 2;
			continue;
		}
		if (n == 3 && p[0] == 0xe2 && p[1] == 0x80 && (p[2] == 0xa8 || p[2] == 0xa9)) {
			strbuf_addstr(sb, p[2] == 0xa8 ? "\\L" : "\\P");
			p += 3;
			continue;
		}
		/* C1 controls and the byte-order mark are not printable YAML: libyaml refuses them */
		if ((n == 2 && p[0] == 0xc2 && p[1] < 0xa0) || (n == 3 && p[0] == 0xef && p[1] == 0xbb && p[2] == 0xbf)) {
			strbuf_addstr(sb, n == 2 ? "\\u00" : "\\ufeff");
			if (n == 2)
				strbuf_addf(sb, "%02x", p[1]);
			p += n;
			continue;
		}
		if (n > 1) {
			strbuf_add(sb, p, (size_t)n);
			p += n;
			continue;
		}
		if (!n || *p < 0x20 || *p == 0x7f) {
			if (*p == '\n')
				strbuf_addstr(sb, "\\n");
			else if (*p == '\t')
				strbuf_addstr(sb, "\\t");
			else
				strbuf_addf(sb, "\\x%02x", *p);
		} else if (*p == '"' || *p == '\\') {
			strbuf_addch(sb, '\\');
			strbuf_addch(sb, (char)*p);
		} else {
			strbuf_addch(sb, (char)*p);
		}
		p++;
	}
	strbuf_addch(sb, '"');
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
