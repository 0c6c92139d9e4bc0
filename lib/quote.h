/*
 * quote.h - the one quoting function of each interpreter camlab writes text for (a shell, gnuplot,
 * LaTeX, HTML, Markdown, CSV). Every name that comes from a spec, a definition or a results folder
 * reaches another program only through these: each appends s to sb so that the target reads it back
 * as the literal text s and never as code.
 *
 * All of them take a C string: s ends at its first NUL, so a name with an embedded NUL is quoted as
 * the text before it (SQLite and the spec readers hand camlab NUL-terminated text already). They
 * never fail and never shorten s otherwise; s may be any length and any bytes (UTF-8 or not).
 */
#ifndef LIB_QUOTE_H
#define LIB_QUOTE_H

struct strbuf;

/*
 * s as one word for a POSIX shell: single-quoted, each ' written as '\''. A newline in s stays one inside
 * the quotes, where it is inert; the word is therefore not for a comment line (a job script writes none
 * of its values into one).
 */
void quote_shell(struct strbuf *sb, const char *s);

enum quote_gnuplot_flags {
	/* s is a tic label of `set xtics ("label" pos, ...)`, which gnuplot reads as a format: '%' doubled */
	QUOTE_GNUPLOT_FORMAT = 1 << 0,
};

/*
 * s as a gnuplot 5 string expression: single-quoted runs, in which gnuplot expands neither `command`
 * nor @macro nor a backslash ('' is a quote), joined with '.' to a double-quoted octal escape ("\012")
 * for each control byte, which a single-quoted string cannot hold. Usable wherever gnuplot takes a
 * string (titles, labels, key entries, tic labels, file names). The text is shown as written only on a
 * noenhanced terminal: every script camlab writes sets one, so ^ _ @ & { } are not markup.
 */
void quote_gnuplot(struct strbuf *sb, const char *s, unsigned flags);

/*
 * s as LaTeX text (in a paragraph, a caption or a tabular cell): the ten special characters and
 * < > | as text commands of the default OT1 encoding, so no control sequence (\input, \write18),
 * group, math shift, comment, alignment tab or ^^ escape can start; " and ` stay (they print as
 * closing and opening quotes); a control byte or newline becomes a space (a blank line would end the
 * paragraph); "--" stays two hyphens; the en dash U+2013 is written \textendash{} for pdflatex's fonts.
 */
void quote_latex(struct strbuf *sb, const char *s);

/* s as HTML text or a double- or single-quoted attribute value: & < > " ' as character references. */
void quote_html(struct strbuf *sb, const char *s);

/*
 * s as inline Markdown, such as a table cell (CommonMark and GitHub's tables): & < > as character
 * references, so no raw HTML, entity or autolink; \ ` * _ [ ] | ~ $ backslash-escaped, so no code span,
 * emphasis, link, strikethrough, math or column break; a control byte or newline becomes a space,
 * which keeps a table row on its line.
 */
void quote_markdown(struct strbuf *sb, const char *s);

/*
 * s as one CSV field (RFC 4180): as is, or double-quoted with each " doubled when it holds a comma, a
 * quote, CR or LF. Spreadsheets may still evaluate a field that starts with = + - @ as a formula:
 * CSV is written for programs, which read the literal text back.
 */
void quote_csv(struct strbuf *sb, const char *s);

/*
 * s as a JSON string (RFC 8259), the double quotes included: " and \ backslash-escaped, control bytes
 * as \n, \t... or \u00XX (so a string stays on its line), and every byte that is not part of valid UTF-8
 * (a name from a Latin-1 file system) as U+FFFD, since JSON text must be UTF-8.
 */
void quote_json(struct strbuf *sb, const char *s);

/*
 * s as a YAML double-quoted scalar, quotes included: " and \ backslash-escaped, control bytes and
 * newlines as \n, \t, \xXX escapes (so the scalar stays on its line, also inside a comment). YAML is
 * Unicode: a byte that is not part of valid UTF-8 is written \xXX, which a YAML reader takes for the
 * character U+00XX, not the byte.
 */
void quote_yaml(struct strbuf *sb, const char *s);

/*
 * s as one argument of an #SBATCH line of a Slurm job script, which sbatch splits at blanks, ends at an
 * unquoted # and unquotes: double-quoted, each " and \ escaped by a \. A newline cannot be written into
 * one: returns -1 then (sb unchanged), else 0. Slurm's own patterns in the value (%j in a log's name)
 * are the caller's to escape.
 */
int quote_sbatch(struct strbuf *sb, const char *s);

#endif
