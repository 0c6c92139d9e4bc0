/*
 * diag.h - diagnostics of an experiment spec: every problem found, with where it is, collected before
 * the command reports them all and exits.
 */
#ifndef DSL_DIAG_H
#define DSL_DIAG_H

#include <stddef.h>
#include <stdio.h>

struct src_pos {
	const char *file; /* borrowed: the experiment's file name */
	int line, col;	  /* 1-based; 0 when unknown */
};

struct diag_entry {
	struct src_pos pos;
	char *msg; /* owned */
	int warning;
};

struct diag {
	struct diag_entry *items;
	size_t nr, alloc;
	int errors;
};

#define DIAG_INIT { NULL, 0, 0, 0 }

void diag_init(struct diag *d);
void diag_release(struct diag *d);
/*
 * Record "file:line:col: message" (messages are lowercase, without a full stop; control characters such as
 * a newline in a quoted name are kept as C escapes, so that every diagnostic is one line).
 */
void diag_error(struct diag *d, struct src_pos pos, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void diag_warning(struct diag *d, struct src_pos pos, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Order d's entries as diag_print prints them: by line and column, then as they were recorded. */
void diag_sort(struct diag *d);
/*
 * Print every entry as "file:line:col: error: message", sorted by position: column 1 where only the line is
 * known (col 0), "file: error: message" where not even the line is.
 */
void diag_print(struct diag *d, FILE *fp);

#endif
