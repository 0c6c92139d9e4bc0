/*
 * error.h - error reporting, after git's usage.c.
 *
 * error() prints "error: <message>" to stderr and returns -1, so library code can write
 * `return error("cannot open '%s'", path);`. Messages are lowercase, say what went wrong first, quote
 * the subject and end without a full stop. die() is for command code only; BUG() for programmer errors.
 */
#ifndef LIB_ERROR_H
#define LIB_ERROR_H

int error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/*
 * error() always returns -1; the macro tells the compiler, as git's usage.h does. Without it, after
 * `if (read_it(&x)) return -1;` the compiler must assume that read_it's `return error(...)` may have
 * returned 0 with x unset, and gcc 12's optimised builds warn that x may be used uninitialized.
 */
static inline int error_is_minus_one(void)
{
	return -1;
}
#define error(...) (error(__VA_ARGS__), error_is_minus_one())
void warning(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void bug_fl(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
#define BUG(...) bug_fl(__FILE__, __LINE__, __VA_ARGS__)

/*
 * The message of this thread's latest error() since error_last_reset() ("" if none), so that a caller
 * can record why a step failed (a run's error in the results database), not only print it.
 */
void error_last_reset(void);
const char *error_last(void);

/* Silence error()/warning() output (tests of error paths that check return values only). */
void error_set_quiet(int quiet);

/*
 * Append this thread's error()/warning() lines to sb instead of printing them (NULL: print again), so
 * that a worker thread's messages can be printed in the order of the work, not of its completion.
 */
struct strbuf;
void error_capture(struct strbuf *sb);

#endif
