/*
 * error.c - error(), warning(), die() and BUG() (see error.h).
 */
#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "strbuf.h"

static int quiet;
static _Thread_local struct strbuf *capture;
static _Thread_local char last[512];

void error_last_reset(void)
{
	last[0] = '\0';
}

const char *error_last(void)
{
	return last;
}

void error_set_quiet(int q)
{
	quiet = q;
}

void error_capture(struct strbuf *sb)
{
	capture = sb;
}

/* a printf format and its va_list: the compilers check the formats of the callers, not a literal here */
static void report(const char *prefix, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
static void report(const char *prefix, const char *fmt, va_list ap)
{
	if (quiet)
		return;
	if (capture) {
		strbuf_addstr(capture, prefix);
		strbuf_vaddf(capture, fmt, ap);
		strbuf_addch(capture, '\n');
		return;
	}
	flockfile(stderr); /* one line, even when threads report at once */
	fputs(prefix, stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	funlockfile(stderr);
}

#undef error /* the function itself, not error.h's macro around it */
int error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(last, sizeof(last), fmt, ap);
	va_end(ap);
	va_start(ap, fmt);
	report("error: ", fmt, ap);
	va_end(ap);
	return -1;
}

void warning(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	report("warning: ", fmt, ap);
	va_end(ap);
}

void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	quiet = 0;
	report("fatal: ", fmt, ap);
	va_end(ap);
	exit(128);
}

void bug_fl(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "BUG: %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}
