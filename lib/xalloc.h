/*
 * xalloc.h - camlab's one allocation seam.
 *
 * Every allocation in camlab's C code goes through these functions, so that a test can make the
 * n-th allocation fail (xalloc_fail_after) and check that the failure is reported, not crashed on.
 * They never return NULL for a non-zero size: on failure they print and exit, as git's xmalloc does,
 * unless a test has armed failure injection, in which case they return NULL.
 */
#ifndef LIB_XALLOC_H
#define LIB_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t size);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *ptr, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

/* The Lua allocator signature, so Lua states share the seam. */
void *xalloc_lua(void *ud, void *ptr, size_t osize, size_t nsize);

/*
 * A memory cap on top of xalloc_lua: give lua_newstate xalloc_lua_capped with a struct lua_cap as its
 * ud. An allocation past cap fails (Lua collects garbage, retries, then raises a memory error); the
 * first refusal calls on_hit(hit_ud) if set, while the state is still consistent (to note where it was).
 */
struct lua_cap {
	size_t used, cap;
	int hit; /* an allocation was refused */
	void (*on_hit)(void *hit_ud);
	void *hit_ud;
};
void *xalloc_lua_capped(void *ud, void *ptr, size_t osize, size_t nsize);

/*
 * Make allocation number n (counting from the call) fail and return NULL, and every one after it;
 * n < 0 disarms. For tests only.
 */
void xalloc_fail_after(long n);

/* The number of elements of an array (not a pointer). */
#define ARRAY_SIZE(a) (sizeof(a) / sizeof(*(a)))

#define ALLOC_GROW(x, nr, alloc)                                                         \
	do {                                                                               \
		if ((nr) > (alloc)) {                                                       \
			(alloc) = (alloc) < 16 ? 16 : (alloc);                                  \
			while ((alloc) < (nr))                                                  \
				(alloc) *= 2;                                                   \
			(x) = xrealloc((x), (alloc) * sizeof(*(x)));                            \
		}                                                                          \
	} while (0)

#endif
