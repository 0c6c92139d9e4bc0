/*
 * xalloc.c - the allocation seam (see xalloc.h). Out of memory is fatal for the command unless a
 * test armed failure injection.
 */
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static long fail_after = -1;

static int should_fail(void)
{
	if (fail_after < 0)
		return 0;
	if (fail_after == 0)
		return 1;
	fail_after--;
	return 0;
}

static void *oom(size_t size)
{
	if (fail_after == 0)
		return NULL;
	fprintf(stderr, "fatal: out of memory allocating %zu bytes\n", size);
	exit(128);
}

void xalloc_fail_after(long n)
{
	fail_after = n;
}

void *xmalloc(size_t size)
{
	void *p = should_fail() ? NULL : malloc(size ? size : 1);
	return p ? p : oom(size);
}

void *xcalloc(size_t n, size_t size)
{
	void *p = should_fail() ? NULL : calloc(n ? n : 1, size ? size : 1);
	return p ? p : oom(n * size);
}

void *xrealloc(void *ptr, size_t size)
{
	void *p = should_fail() ? NULL : realloc(ptr, size ? size : 1);
	return p ? p : oom(size);
}

char *xstrndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *p = xmalloc(len + 1);
	if (!p)
		return NULL;
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

char *xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

void *xalloc_lua(void *ud, void *ptr, size_t osize, size_t nsize)
{
	(void)ud;
	(void)osize;
	if (nsize == 0) {
		free(ptr);
		return NULL;
	}
	/* Lua handles a NULL return itself (memory error), so no exit here. */
	return should_fail() ? NULL : realloc(ptr, nsize);
}

void *xalloc_lua_capped(void *ud, void *ptr, size_t osize, size_t nsize)
{
	struct lua_cap *c = ud;
	size_t old = ptr ? osize : 0; /* without a block, osize says what kind of object is wanted */
	void *p;

	if (!nsize) {
		c->used -= old;
		return xalloc_lua(NULL, ptr, osize, 0);
	}
	if (nsize > old && nsize - old > c->cap - c->used) {
		if (!c->hit && c->on_hit)
			c->on_hit(c->hit_ud);
		c->hit = 1;
		return NULL;
	}
	p = xalloc_lua(NULL, ptr, osize, nsize);
	if (p)
		c->used = c->used - old + nsize;
	return p;
}
