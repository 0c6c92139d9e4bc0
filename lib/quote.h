/*
 * quote.h - the one quoting function of each interpreter camlab writes text for (a shell, gnuplot,
 * LaTeX, HTML, Markdown, CSV). Every name that comes from a spec, a definition or a results folder
 * reaches another program only through these: each appends s to sb so that the target reads it back
 * as the literal text s and never as code.
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

/*
 * s as one argument of an #SBATCH line of a Slurm job script, which sbatch splits at blanks, ends at an
 * unquoted # and unquotes: double-quoted, each " and \ escaped by a \. A newline cannot be written into
 * one: returns -1 then (sb unchanged), else 0. Slurm's own patterns in the value (%j in a log's name)
 * are the caller's to escape.
 */
int quote_sbatch(struct strbuf *sb, const char *s);

#endif
