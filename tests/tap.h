/*
 * tap.h - a tiny Test Anything Protocol helper for camlab's C unit tests, run by prove.
 *
 * ok(cond, fmt, ...) prints "ok N - name" or "not ok N - name"; skip_all(reason) ends a test file that
 * cannot run here (a missing shared model, say) with a reason prove shows; done_testing() prints the plan
 * and returns the exit status (non-zero if anything failed).
 */
#ifndef TESTS_TAP_H
#define TESTS_TAP_H

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static int tap_n, tap_failed;

static inline int ok(int cond, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline int ok(int cond, const char *fmt, ...)
{
	va_list ap;
	tap_n++;
	printf("%sok %d - ", cond ? "" : "not ", tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	if (!cond)
		tap_failed++;
	return cond;
}

static inline void diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline void diag(const char *fmt, ...)
{
	va_list ap;
	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static inline void skip_all(const char *reason)
{
	printf("1..0 # SKIP %s\n", reason);
	exit(0);
}

static inline int done_testing(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}

/* Relative closeness with an absolute floor, for float comparisons. */
static inline int close_rel(double a, double b, double rel, double abs_floor)
{
	double d = fabs(a - b), m = fabs(a) > fabs(b) ? fabs(a) : fabs(b);
	return d <= abs_floor || d <= rel * m;
}

#endif
