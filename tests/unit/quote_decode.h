/*
 * quote_decode.h - decoders of the text lib/quote.h writes, one per target, written from the target's
 * rules (not from quote.c): each reads a quoted string back to its text and fails on anything the
 * target would read as markup or code. Shared by tests/unit/test_quote.c and tests/fuzz/fuzz_quote.c.
 */
#ifndef TESTS_QUOTE_DECODE_H
#define TESTS_QUOTE_DECODE_H

#include <string.h>

#include "lib/quote.h"
#include "lib/strbuf.h"

/* The text a target shows for s: control bytes as spaces where the rules say so. */
static void spaced(struct strbuf *sb, const char *s)
{
	for (; *s; s++)
		strbuf_addch(sb, (unsigned char)*s < 0x20 || *s == 0x7f ? ' ' : *s);
}

/* gnuplot: 'text' ('' a quote) and "\ooo" joined by '.'; nothing else. */
static int gp_decode(const char *q, struct strbuf *out, int format)
{
	for (;;) {
		if (*q == '\'') {
			for (q++;; q++) {
				if (!*q || (unsigned char)*q < 0x20 || *q == 0x7f)
					return -1;
				if (*q == '\'' && q[1] != '\'')
					break;
				if (*q == '\'')
					q++;
				if (format && *q == '%') {
					if (q[1] != '%')
						return -1;
					q++;
				}
				strbuf_addch(out, *q);
			}
			q++;
		} else if (*q == '"') {
			if (q[1] != '\\' || q[2] < '0' || q[2] > '3' || q[5] != '"')
				return -1;
			strbuf_addch(out, (q[2] - '0') * 64 + (q[3] - '0') * 8 + (q[4] - '0'));
			q += 6;
		} else {
			return -1;
		}
		if (!*q)
			return 0;
		if (*q++ != '.')
			return -1;
	}
}

static int latex_decode(const char *q, struct strbuf *out)
{
	static const struct {
		const char *cmd, *text;
	} cmds[] = { { "\\textbackslash{}", "\\" },  { "\\textasciitilde{}", "~" },
		     { "\\textasciicircum{}", "^" }, { "\\textless{}", "<" },
		     { "\\textgreater{}", ">" },     { "\\textbar{}", "|" },
		     { "\\textendash{}", "\u2013" } };
	size_t k;
	for (; *q; q++) {
		if (*q == '\\') {
			if (q[1] && strchr("#$%&_{}", q[1])) {
				strbuf_addch(out, *++q);
				continue;
			}
			for (k = 0; k < sizeof(cmds) / sizeof(*cmds); k++)
				if (!strncmp(q, cmds[k].cmd, strlen(cmds[k].cmd)))
					break;
			if (k == sizeof(cmds) / sizeof(*cmds))
				return -1;
			strbuf_addstr(out, cmds[k].text);
			q += strlen(cmds[k].cmd) - 1;
		} else if (!strncmp(q, "-{}", 3)) {
			strbuf_addch(out, '-');
			q += 2;
		} else if (strchr("#$%&_{}~^<>|", *q) || (unsigned char)*q < 0x20 || *q == 0x7f ||
			   (*q == '-' && q[1] == '-')) {
			return -1;
		} else {
			strbuf_addch(out, *q);
		}
	}
	return 0;
}

static int entity(const char **q, struct strbuf *out, int quotes)
{
	static const char *const name[] = { "&amp;", "&lt;", "&gt;", "&quot;", "&#39;" };
	static const char text[] = "&<>\"'";
	int k;
	for (k = 0; k < (quotes ? 5 : 3); k++)
		if (!strncmp(*q, name[k], strlen(name[k]))) {
			strbuf_addch(out, text[k]);
			*q += strlen(name[k]) - 1;
			return 0;
		}
	return -1;
}

static int html_decode(const char *q, struct strbuf *out)
{
	for (; *q; q++) {
		if (*q == '&') {
			if (entity(&q, out, 1) < 0)
				return -1;
		} else if (strchr("<>\"'", *q)) {
			return -1;
		} else {
			strbuf_addch(out, *q);
		}
	}
	return 0;
}

static int markdown_decode(const char *q, struct strbuf *out)
{
	for (; *q; q++) {
		if (*q == '&') {
			if (entity(&q, out, 0) < 0)
				return -1;
		} else if (*q == '\\') {
			if (!q[1] || !strchr("\\`*_[]|~$", q[1]))
				return -1;
			strbuf_addch(out, *++q);
		} else if (strchr("<>`*_[]|~$\n\r", *q) || (unsigned char)*q < 0x20) {
			return -1;
		} else {
			strbuf_addch(out, *q);
		}
	}
	return 0;
}

static int csv_decode(const char *q, struct strbuf *out)
{
	if (*q != '"') {
		if (strpbrk(q, ",\"\r\n"))
			return -1;
		strbuf_addstr(out, q);
		return 0;
	}
	for (q++; *q; q++) {
		if (*q == '"') {
			if (q[1] != '"')
				return q[1] ? -1 : 0;
			q++;
		}
		strbuf_addch(out, *q);
	}
	return -1;
}

enum target { GNUPLOT, GNUPLOT_TIC, LATEX, HTML, MARKDOWN, CSV, NR_TARGETS };
static const char *const target_name[] = { "quote_gnuplot", "quote_gnuplot(FORMAT)", "quote_latex",
					   "quote_html",    "quote_markdown",	     "quote_csv" };

static void quote(enum target t, struct strbuf *sb, const char *s)
{
	switch (t) {
	case GNUPLOT:
		quote_gnuplot(sb, s, 0);
		break;
	case GNUPLOT_TIC:
		quote_gnuplot(sb, s, QUOTE_GNUPLOT_FORMAT);
		break;
	case LATEX:
		quote_latex(sb, s);
		break;
	case HTML:
		quote_html(sb, s);
		break;
	case MARKDOWN:
		quote_markdown(sb, s);
		break;
	default:
		quote_csv(sb, s);
		break;
	}
}

/*
 * Quote s for t into q and decode it back: 0 when it reads back as the text the target should show,
 * -1 when markup is left, -2 when the text changed.
 */
static int quote_check(enum target t, const char *s, struct strbuf *q)
{
	struct strbuf got = STRBUF_INIT, want = STRBUF_INIT;
	int rc;
	quote(t, q, s);
	switch (t) {
	case GNUPLOT:
		rc = gp_decode(q->buf, &got, 0);
		break;
	case GNUPLOT_TIC:
		rc = gp_decode(q->buf, &got, 1);
		break;
	case LATEX:
		rc = latex_decode(q->buf, &got);
		break;
	case HTML:
		rc = html_decode(q->buf, &got);
		break;
	case MARKDOWN:
		rc = markdown_decode(q->buf, &got);
		break;
	default:
		rc = csv_decode(q->buf, &got);
		break;
	}
	if (t == LATEX || t == MARKDOWN)
		spaced(&want, s);
	else
		strbuf_addstr(&want, s);
	if (!rc && (got.len != want.len || memcmp(got.buf, want.buf, got.len)))
		rc = -2;
	strbuf_release(&got);
	strbuf_release(&want);
	return rc;
}

#endif
