/*
 * test_road_impute.c - ROAD's imputation (cam/road_impute.c): the one-factorisation path for nested
 * masks (ROAD_IMPUTE_NESTED, solved on leading blocks of one factor) against one factorisation per mask,
 * and both against the equations themselves (each imputed pixel the weighted mean of its in-image
 * neighbours), on synthetic images: smooth maps, maps with ties (repeated, empty and full masks), masks
 * that are not nested (the fallback), and noise.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cam/road.h"
#include "cam/road_impute.h"
#include "lib/xalloc.h"
#include "tests/tap.h"

enum { C = 3, H = 37, W = 45, HW = H * W };

static float img[C * HW];

/* The largest |imputed - weighted mean of its in-image neighbours| over the unknown pixels of keep. */
static double residual(const float *out, const unsigned char *keep)
{
	static const int dy[8] = { 0, 1, 1, 1, 0, -1, -1, -1 }, dx[8] = { 1, -1, 0, 1, -1, 1, 0, -1 };
	double worst = 0;
	int c, y, x, k;

	for (c = 0; c < C; c++)
		for (y = 0; y < H; y++)
			for (x = 0; x < W; x++) {
				double s = 0, sw = 0;

				if (keep[y * W + x])
					continue;
				for (k = 0; k < 8; k++) {
					int yy = y + dy[k], xx = x + dx[k];
					double w = dy[k] && dx[k] ? 1.0 / 12 : 1.0 / 6;

					if (yy < 0 || yy >= H || xx < 0 || xx >= W)
						continue;
					s += w * out[c * HW + yy * W + xx];
					sw += w;
				}
				s = fabs(s / sw - out[c * HW + y * W + x]);
				worst = s > worst ? s : worst;
			}
	return worst;
}

/*
 * The masks of map at percentiles p[0..np) in one direction, imputed both ways: the values must agree
 * and (noise 0, some pixel known) satisfy the equations. Returns the nested call's counts.
 */
static struct road_impute_stats both_ways(const char *name, const float *map, const double *p, size_t np,
					  int lerf, double noise)
{
	struct road_impute_stats a = ROAD_IMPUTE_STATS_INIT, b = ROAD_IMPUTE_STATS_INIT;
	unsigned char *keep = xmalloc(np * HW);
	float *o1 = xmalloc(np * C * HW * sizeof(*o1)), *o2 = xmalloc(np * C * HW * sizeof(*o2));
	uint64_t *r1 = xmalloc(np * sizeof(*r1)), *r2 = xmalloc(np * sizeof(*r2));
	double d = 0, res = 0;
	size_t k, i;

	for (k = 0; k < np; k++) {
		road_keep_mask(map, HW, p[k], lerf, keep + k * HW);
		r1[k] = r2[k] = 1000 + k;
	}
	ok(!road_impute_masks(img, C, H, W, keep, np, noise, r1, 0, o1, &a), "%s: one factorisation per mask", name);
	ok(!road_impute_masks(img, C, H, W, keep, np, noise, r2, ROAD_IMPUTE_NESTED, o2, &b), "%s: nested", name);
	for (i = 0; i < np * C * HW; i++)
		d = fabs(o1[i] - o2[i]) > d ? fabs(o1[i] - o2[i]) : d;
	ok(d <= 1e-6, "%s: the two paths agree (max |diff| %.2g)", name, d);
	for (k = 0; noise == 0 && k < np; k++) {
		double r = residual(o2 + k * C * HW, keep + k * HW);
		size_t kept = 0;

		for (i = 0; i < HW; i++)
			kept += keep[k * HW + i];
		if (kept) /* with nothing known the image is 0, not a solution */
			res = r > res ? r : res;
	}
	if (noise == 0)
		ok(res <= 1e-5, "%s: every imputed pixel is the mean of its neighbours (max |residual| %.2g)", name, res);
	ok(a.masks == np && b.masks == np, "%s: %zu masks counted", name, np);
	free(keep);
	free(o1);
	free(o2);
	free(r1);
	free(r2);
	return b;
}

int main(void)
{
	static const double dec[9] = { 10, 20, 30, 40, 50, 60, 70, 80, 90 };
	static const double odd[7] = { 55, 10, 90, 10, 0, 100, 30 }; /* unsorted, repeated, empty, full */
	float *map = xmalloc(HW * sizeof(*map)), *tie = xmalloc(HW * sizeof(*tie));
	unsigned char *keep = xmalloc(3 * HW);
	float *o1 = xmalloc(3 * C * HW * sizeof(*o1)), *o2 = xmalloc(3 * C * HW * sizeof(*o2));
	uint64_t r1[3] = { 1, 2, 3 }, r2[3] = { 1, 2, 3 };
	struct road_impute_stats s;
	int c, y, x, same = 1;
	size_t i;

	for (c = 0; c < C; c++)
		for (i = 0; i < HW; i++)
			img[c * HW + i] = (float)sin(0.37 * (double)i + c) * 0.8f + (float)c * 0.1f;
	for (y = 0; y < H; y++)
		for (x = 0; x < W; x++) {
			/* two blobs, as a class-activation map has */
			double a = exp(-((y - 10) * (y - 10) + (x - 12) * (x - 12)) / 60.0);
			double b = 0.7 * exp(-((y - 25) * (y - 25) + (x - 33) * (x - 33)) / 90.0);
			map[y * W + x] = (float)(a + b);
			tie[y * W + x] = floorf((float)(a + b) * 4) / 4; /* four levels: ties at most percentiles */
		}

	s = both_ways("smooth map, MoRF", map, dec, 9, 0, 0);
	ok(s.nested == 1 && s.factorisations == 1 && !s.fallbacks, "smooth map, MoRF: one factorisation for 9 masks (%zu)",
	   s.factorisations);
	s = both_ways("smooth map, LeRF", map, dec, 9, 1, 0);
	ok(s.nested == 1 && s.factorisations == 1, "smooth map, LeRF: one factorisation for 9 masks (%zu)",
	   s.factorisations);
	s = both_ways("tied map, MoRF", tie, odd, 7, 0, 0);
	ok(s.nested == 1 && !s.fallbacks, "tied map, MoRF: repeated, empty and full masks, still one family");
	s = both_ways("tied map, LeRF", tie, odd, 7, 1, 0);
	ok(s.nested == 1 && !s.fallbacks, "tied map, LeRF: one family");
	s = both_ways("smooth map, noise 0.01", map, dec, 9, 0, 0.01);
	ok(s.nested == 1, "smooth map, noise 0.01: nested");

	/* Three masks that are not nested (two halves, and a band across both): each factored alone. */
	for (i = 0; i < HW; i++) {
		keep[i] = i % W < W / 2;
		keep[HW + i] = i % W >= W / 2;
		keep[2 * HW + i] = i / W < H / 3;
	}
	ok(!road_impute_masks(img, C, H, W, keep, 3, 0, r1, 0, o1, NULL), "not nested: per mask");
	memset(&s, 0, sizeof(s));
	ok(!road_impute_masks(img, C, H, W, keep, 3, 0, r2, ROAD_IMPUTE_NESTED, o2, &s), "not nested: asked nested");
	ok(s.fallbacks == 1 && !s.nested && s.factorisations == 3, "not nested: falls back to 3 factorisations (%zu)",
	   s.factorisations);
	for (i = 0; i < 3 * C * HW; i++)
		same &= o1[i] == o2[i];
	ok(same, "not nested: the fallback gives the per-mask values");
	free(map);
	free(tie);
	free(keep);
	free(o1);
	free(o2);
	return done_testing();
}
