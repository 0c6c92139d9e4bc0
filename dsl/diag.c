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

/*
 * A diagnostic is one line: a name read from a spec may hold a newline or a tab (a YAML block scalar, a
 * Lua string), which would break the file:line:col format, so control characters are written as C escapes.
 */
static char *one_line(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));
static char *one_line(const char *fmt, va_list ap)
{
	struct strbuf sb = STRBUF_INIT, out = STRBUF_INIT;
	const char *p;

	strbuf_vaddf(&sb, fmt, ap);
	for (p = sb.buf; *p && !((unsigned char)*p < 0x20 || *p == 0x7f); p++)
		;
	if (!*p)
		return strbuf_detach(&sb, NULL);
	for (p = sb.buf; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (c == '\n')
			strbuf_addstr(&out, "\\n");
		else if (c == '\t')
			strbuf_addstr(&out, "\\t");
		else if (c == '\r')
			strbuf_addstr(&out, "\\r");
		else if (c < 0x20 || c == 0x7f)
			strbuf_addf(&out, "\\x%02x", c);
		else
			strbuf_addch(&out, (char)c);
	}
	strbuf_release(&sb);
	return strbuf_detach(&out, NULL);
}

/* a printf format and its va_list, as for one_line: diag_error and diag_warning check it at their callers */
static void add(struct diag *d, struct src_pos pos, int warning, const char *fmt, va_list ap)
	__attribute__((format(printf, 4, 0)));
static void add(struct diag *d, struct src_pos pos, int warning, const char *fmt, va_list ap)
{
	ALLOC_GROW(d->items, d->nr + 1, d->alloc);
	d->items[d->nr].pos = pos;
	d->items[d->nr].msg = one_line(fmt, ap);
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

void diag_sort(struct diag *d)
{
	if (d->nr > 1) /* qsort with a NULL base is undefined even for no elements */
		qsort(d->items, d->nr, sizeof(*d->items), cmp_entry);
}

void diag_print(struct diag *d, FILE *fp)
{
	size_t i;
	diag_sort(d);
	for (i = 0; i < d->nr; i++) {
		const struct diag_entry *e = &d->items[i];
		/* columns are 1-based: where only the line is known (a Lua error), the line's first column */
		if (e->pos.line)
			fprintf(fp, "%s:%d:%d: %s: %s\n", e->pos.file ? e->pos.file : "?", e->pos.line,
				e->pos.col > 0 ? e->pos.col : 1, e->warning ? "warning" : "error", e->msg);
		else
			fprintf(fp, "%s: %s: %s\n", e->pos.file ? e->pos.file : "?",
				e->warning ? "warning" : "error", e->msg);
	}
}
