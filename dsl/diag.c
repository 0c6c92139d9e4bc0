/*
 * diag.c - collecting and printing spec diagnostics (see diag.h).
 */
#include "dsl/diag.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "lib/strbuf.h"
#include "lib/xalloc.h"

void diag_init(struct diag *d)
{
	memset(d, 0, sizeof(*d));
}

void diag_release(struct diag *d)
{
	size_t i;
	for (i = 0; i < d->nr; i++)
		free(d->items[i].msg);
	free(d->items);
	diag_init(d);
}

static void add(struct diag *d, struct src_pos pos, int warning, const char *fmt, va_list ap)
{
	struct strbuf sb = STRBUF_INIT;
	strbuf_vaddf(&sb, fmt, ap);
	ALLOC_GROW(d->items, d->nr + 1, d->alloc);
	d->items[d->nr].pos = pos;
	d->items[d->nr].msg = strbuf_detach(&sb, NULL);
	d->items[d->nr].warning = warning;
	d->nr++;
	if (!warning)
		d->errors++;
}

void diag_error(struct diag *d, struct src_pos pos, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	add(d, pos, 0, fmt, ap);
	va_end(ap);
}

void diag_warning(struct diag *d, struct src_pos pos, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	add(d, pos, 1, fmt, ap);
	va_end(ap);
}

static int cmp_entry(const void *a, const void *b)
{
	const struct diag_entry *x = a, *y = b;
	if (x->pos.line != y->pos.line)
		return x->pos.line < y->pos.line ? -1 : 1;
	if (x->pos.col != y->pos.col)
		return x->pos.col < y->pos.col ? -1 : 1;
	return x < y ? -1 : (x > y);
}

void diag_print(struct diag *d, FILE *fp)
{
	size_t i;
	if (d->nr > 1) /* qsort with a NULL base is undefined even for no elements */
		qsort(d->items, d->nr, sizeof(*d->items), cmp_entry);
	for (i = 0; i < d->nr; i++) {
		const struct diag_entry *e = &d->items[i];
		if (e->pos.line)
			fprintf(fp, "%s:%d:%d: %s: %s\n", e->pos.file ? e->pos.file : "?", e->pos.line,
				e->pos.col, e->warning ? "warning" : "error", e->msg);
		else
			fprintf(fp, "%s: %s: %s\n", e->pos.file ? e->pos.file : "?",
				e->warning ? "warning" : "error", e->msg);
	}
}
