/*
 * tmp.h - a scratch list of tensor temporaries for the formulas of cam/methods.c and cam/pass.c: an
 * expression reads close to its definition (K(ts_mul(K(ts_mean(...)), a))) and every intermediate handle
 * is freed in one place. A NULL kept marks the list failed, so one test after the expression suffices.
 */
#ifndef CAM_TMP_H
#define CAM_TMP_H

#include "cam/torch_shim.h"
#include "lib/error.h"

#define TMP_MAX 48

struct tmp {
	ts_tensor *v[TMP_MAX];
	int n;
	int failed;
};

static inline ts_tensor *keep(struct tmp *t, ts_tensor *x)
{
	if (!x)
		t->failed = 1;
	if (t->n == TMP_MAX)
		BUG("too many temporaries");
	t->v[t->n++] = x;
	return x;
}

/* Free every temporary except keep_out, which is returned to the caller. */
static inline ts_tensor *tmp_done(struct tmp *t, ts_tensor *keep_out)
{
	int i;
	for (i = 0; i < t->n; i++)
		if (t->v[i] != keep_out)
			ts_free(t->v[i]);
	t->n = 0;
	return keep_out;
}

/* keep in the list named T of the function at hand */
#define K(x) keep(&T, (x))

#endif
