/*
 * road_impute.c - ROAD's noisy linear imputation (see road_impute.h): the sparse SPD systems of the
 * masks, their elimination orders (a nested dissection that follows the unknowns), and one CHOLMOD
 * factorisation per nested family of masks, solved on its leading blocks.
 */
#include "cam/road_impute.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <suitesparse/cholmod.h>

#include "lib/error.h"
#include "lib/xalloc.h"

void road_impute_stats_add(struct road_impute_stats *to, const struct road_impute_stats *from)
{
	to->masks += from->masks;
	to->factorisations += from->factorisations;
	to->nested += from->nested;
	to->fallbacks += from->fallbacks;
	to->flops += from->flops;
	to->lnz += from->lnz;
}

/* splitmix64, and a standard normal from two of its uniforms (Box-Muller). */
static uint64_t splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static double randn(uint64_t *s)
{
	double u1 = ((double)(splitmix64(s) >> 11) + 0.5) / 9007199254740992.0;
	double u2 = (double)(splitmix64(s) >> 11) / 9007199254740992.0;
	return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* The 8 neighbours and their weights; the first four come later in raster order (the lower triangle). */
static const struct {
	int dy, dx;
	double w;
} nbr[8] = {
	{ 0, 1, 1.0 / 6 },  { 1, -1, 1.0 / 12 },  { 1, 0, 1.0 / 6 },  { 1, 1, 1.0 / 12 },
	{ 0, -1, 1.0 / 6 }, { -1, 1, 1.0 / 12 }, { -1, 0, 1.0 / 6 }, { -1, -1, 1.0 / 12 },
};

/*
 * The line of [lo, hi) (rows or columns; cnt[i - lo] unknowns on line i, n in all) with the fewest
 * unknowns among those with 40% to 60% of the unknowns before them; its count in *sep.
 */
static int best_line(const size_t *cnt, int lo, int hi, size_t n, size_t *sep)
{
	size_t before = 0;
	int i, best = -1;

	for (i = lo; i < hi; i++) {
		if (100 * before >= 40 * n && 100 * before <= 60 * n && (best < 0 || cnt[i - lo] < *sep)) {
			best = i;
			*sep = cnt[i - lo];
		}
		before += cnt[i - lo];
	}
	if (best < 0) { /* one line holds over a fifth of them: the median line */
		for (before = 0, i = lo; i < hi && 2 * (before + cnt[i - lo]) < n; i++)
			before += cnt[i - lo];
		best = i < hi ? i : hi - 1;
		*sep = cnt[best - lo];
	}
	return best;
}

/*
 * Nested dissection of the unknowns: those of [y0, y1) x [x0, x1) (var[pixel] >= 0) in elimination order,
 * written as their indices from *k on. A full row or column separates the 8-neighbour stencil, so each
 * side is ordered first and the separating line last. The line is chosen among the rows and columns of
 * the unknowns' bounding box near their median as the one holding the fewest unknowns: it follows the
 * mask's shape (a blob, a ring), where the middle line of the whole grid did not. On the MobileNet-V2
 * masks of bench/RESULTS.md the factorisations' flops fell from 4.16e9 to 3.47e9 (CHOLMOD's count, 4
 * images x 18 masks); CHOLMOD's own orderings (AMD, METIS) were slower still. rc and cc are scratch of
 * H and W counts.
 */
static void dissect(const int *var, int W, int y0, int y1, int x0, int x1, int *order, size_t *k, size_t *rc,
		    size_t *cc)
{
	int y, x, by0 = y1, by1 = y0, bx0 = x1, bx1 = x0, my, mx;
	size_t n = 0, sy, sx;

	for (y = y0; y < y1; y++)
		for (x = x0; x < x1; x++)
			if (var[y * W + x] >= 0) {
				n++;
				by0 = y < by0 ? y : by0;
				by1 = y + 1 > by1 ? y + 1 : by1;
				bx0 = x < bx0 ? x : bx0;
				bx1 = x + 1 > bx1 ? x + 1 : bx1;
			}
	if (!n)
		return;
	if (n <= 16 || by1 - by0 < 3 || bx1 - bx0 < 3) {
		for (y = by0; y < by1; y++)
			for (x = bx0; x < bx1; x++)
				if (var[y * W + x] >= 0)
					order[(*k)++] = var[y * W + x];
		return;
	}
	memset(rc, 0, (size_t)(by1 - by0) * sizeof(*rc));
	memset(cc, 0, (size_t)(bx1 - bx0) * sizeof(*cc));
	for (y = by0; y < by1; y++)
		for (x = bx0; x < bx1; x++)
			if (var[y * W + x] >= 0) {
				rc[y - by0]++;
				cc[x - bx0]++;
			}
	my = best_line(rc, by0, by1, n, &sy);
	mx = best_line(cc, bx0, bx1, n, &sx);
	if (sy <= sx) {
		dissect(var, W, by0, my, bx0, bx1, order, k, rc, cc);
		dissect(var, W, my + 1, by1, bx0, bx1, order, k, rc, cc);
		for (x = bx0; x < bx1; x++)
			if (var[my * W + x] >= 0)
				order[(*k)++] = var[my * W + x];
	} else {
		dissect(var, W, by0, by1, bx0, mx, order, k, rc, cc);
		dissect(var, W, by0, by1, mx + 1, bx1, order, k, rc, cc);
		for (y = by0; y < by1; y++)
			if (var[y * W + mx] >= 0)
				order[(*k)++] = var[y * W + mx];
	}
}

/* A CHOLMOD workspace for these systems: simplicial LDL' in a given order, no messages. */
static void common_start(cholmod_common *cc)
{
	cholmod_start(cc);
	cc->print = 0;
	/*
	 * Simplicial: these 2-D systems have small fronts, and on 224 x 224 MobileNet-V2 masks the supernodal
	 * factorisation (BLAS on tiny blocks) took 1.7x the CPU time (bench/RESULTS.md, ROAD).
	 */
	cc->supernodal = CHOLMOD_SIMPLICIAL;
	cc->nmethods = 1;
	cc->method[0].ordering = CHOLMOD_GIVEN;
}

/*
 * The lower triangle of D - W_UU over the nu unknowns (var[pixel] = their index in raster order, -1 for
 * known pixels): column j holds the diagonal (all in-image neighbour weights, known or not) then the
 * unknown neighbours after pixel j in raster order, already sorted. NULL when CHOLMOD cannot allocate it.
 */
static cholmod_sparse *assemble(int H, int W, const int *var, size_t nu, cholmod_common *cc)
{
	cholmod_sparse *A = cholmod_allocate_sparse(nu, nu, 5 * nu, 1, 1, -1, CHOLMOD_REAL, cc);
	size_t nz = 0;
	int *Ap, *Ai, y, x, k;
	double *Ax;

	if (!A)
		return NULL;
	Ap = A->p;
	Ai = A->i;
	Ax = A->x;
	for (y = 0; y < H; y++)
		for (x = 0; x < W; x++) {
			int j = var[(size_t)y * W + x];
			double s = 0;

			if (j < 0)
				continue;
			Ap[j] = (int)nz;
			Ai[nz++] = j;
			for (k = 0; k < 8; k++) {
				int yy = y + nbr[k].dy, xx = x + nbr[k].dx, q;

				if (yy < 0 || yy >= H || xx < 0 || xx >= W)
					continue;
				s += nbr[k].w;
				q = var[(size_t)yy * W + xx];
				if (q >= 0 && k < 4) {
					Ai[nz] = q;
					Ax[nz++] = -nbr[k].w;
				}
			}
			Ax[Ap[j]] = s;
		}
	Ap[nu] = (int)nz;
	return A;
}

/*
 * W_UK x_K at pixel (y, x) into b[0..C): its weighted in-image neighbours q that are known, which is
 * lev[q] < thr (var and 0 for one mask; depth and the mask's place in a nested family).
 */
static void rhs_pixel(const float *img, int C, int H, int W, int y, int x, const int *lev, int thr, double *b)
{
	size_t hw = (size_t)H * W;
	int k, c;

	for (c = 0; c < C; c++)
		b[c] = 0;
	for (k = 0; k < 8; k++) {
		int yy = y + nbr[k].dy, xx = x + nbr[k].dx;
		size_t q = (size_t)yy * W + xx;

		if (yy < 0 || yy >= H || xx < 0 || xx >= W || lev[q] >= thr)
			continue;
		for (c = 0; c < C; c++)
			b[c] += nbr[k].w * img[c * hw + q];
	}
}

/* Analyse and factor A in the order perm; NULL with an error when CHOLMOD fails. Counts into st. */
static cholmod_factor *factor(cholmod_sparse *A, int *perm, cholmod_common *cc, struct road_impute_stats *st)
{
	cholmod_factor *L = cholmod_analyze_p(A, perm, NULL, 0, cc);

	if (!L || !cholmod_factorize(A, L, cc) || cc->status != CHOLMOD_OK) {
		error("road: sparse factorisation failed (status %d) for %zu unknowns", cc->status, A->nrow);
		cholmod_free_factor(&L, cc);
		return NULL;
	}
	st->factorisations++;
	st->flops += cc->fl;
	st->lnz += cc->lnz;
	return L;
}

/*
 * Solve (D - W_UU) v = W_UK x_K for the nu unknown pixels (var[pixel] = their index in raster order, -1
 * for known ones), ordered by a nested dissection of the unknowns, and write v into out's unknown pixels.
 */
static int solve_unknowns(const float *img, int C, int H, int W, const int *var, size_t nu, double noise,
			  uint64_t *rng, float *out, struct road_impute_stats *st)
{
	cholmod_common cc;
	cholmod_sparse *A = NULL;
	cholmod_dense *B = NULL, *X = NULL;
	cholmod_factor *L = NULL;
	size_t hw = (size_t)H * W, q = 0, p;
	int *perm = NULL, ret = -1;
	size_t *rows = NULL, *cols = NULL;
	double *Bx, *Xx, *b = xmalloc((size_t)C * sizeof(*b));
	int y, x, c;

	common_start(&cc);
	A = assemble(H, W, var, nu, &cc);
	B = cholmod_allocate_dense(nu, C, nu, CHOLMOD_REAL, &cc);
	if (!A || !B) {
		error("road: cannot allocate a sparse system of %zu unknowns", nu);
		goto out;
	}
	Bx = B->x;
	for (y = 0; y < H; y++)
		for (x = 0; x < W; x++) {
			int j = var[(size_t)y * W + x];

			if (j < 0)
				continue;
			rhs_pixel(img, C, H, W, y, x, var, 0, b);
			for (c = 0; c < C; c++)
				Bx[j + (size_t)c * nu] = b[c];
		}

	perm = xmalloc(nu * sizeof(*perm));
	rows = xmalloc((size_t)H * sizeof(*rows));
	cols = xmalloc((size_t)W * sizeof(*cols));
	dissect(var, W, 0, H, 0, W, perm, &q, rows, cols);
	assert(q == nu);
	L = factor(A, perm, &cc, st);
	if (!L)
		goto out;
	X = cholmod_solve(CHOLMOD_A, L, B, &cc);
	if (!X) {
		error("road: sparse solve failed (status %d)", cc.status);
		goto out;
	}
	Xx = X->x;
	for (c = 0; c < C; c++)
		for (p = 0; p < hw; p++)
			if (var[p] >= 0) {
				double v = Xx[var[p] + (size_t)c * nu];
				if (noise > 0)
					v += noise * randn(rng);
				out[c * hw + p] = (float)v;
			}
	ret = 0;
out:
	cholmod_free_dense(&X, &cc);
	cholmod_free_dense(&B, &cc);
	cholmod_free_factor(&L, &cc);
	cholmod_free_sparse(&A, &cc);
	cholmod_finish(&cc);
	free(rows);
	free(cols);
	free(perm);
	free(b);
	return ret;
}

static int impute_one(const float *img, int C, int H, int W, const unsigned char *keep, double noise,
		      uint64_t *rng, float *out, struct road_impute_stats *st)
{
	size_t hw = (size_t)H * W, nu = 0, p;
	int *var;
	int ret = 0;

	memcpy(out, img, (size_t)C * hw * sizeof(*out));
	var = xmalloc(hw * sizeof(*var));
	for (p = 0; p < hw; p++)
		var[p] = keep[p] ? -1 : (int)nu++;
	if (nu == hw) {
		/* Nothing known: the system is singular with a zero right-hand side; upstream gets 0. */
		for (p = 0; p < (size_t)C * hw; p++)
			out[p] = noise > 0 ? (float)(noise * randn(rng)) : 0.0f;
	} else if (nu) {
		ret = solve_unknowns(img, C, H, W, var, nu, noise, rng, out, st);
	}
	free(var);
	return ret;
}

int road_impute(const float *img, int C, int H, int W, const unsigned char *keep, double noise,
		uint64_t *rng, float *out)
{
	struct road_impute_stats st = ROAD_IMPUTE_STATS_INIT;

	return impute_one(img, C, H, W, keep, noise, rng, out, &st);
}

/*
 * depth[p] = the last of the masks ord[0..nc) (unknown sets largest first) in which pixel p is unknown,
 * -1 where it is known in all. Returns 0 when they are not nested: a pixel unknown in a mask and known in
 * a larger one.
 */
static int chain_depths(const unsigned char *keep, size_t hw, const size_t *ord, size_t nc, int *depth)
{
	size_t i, p;

	for (p = 0; p < hw; p++)
		depth[p] = -1;
	for (i = 0; i < nc; i++) {
		const unsigned char *k = keep + ord[i] * hw;

		for (p = 0; p < hw; p++)
			if (!k[p]) {
				if (depth[p] != (int)i - 1)
					return 0;
				depth[p] = (int)i;
			}
	}
	return 1;
}

/*
 * Solve L D L' y = b on the leading n rows of a simplicial LDL' factor (that block is the factor of the
 * leading n x n block of the matrix); y holds the C right-hand sides interleaved (y[j * C + c]).
 */
static void solve_leading(const cholmod_factor *L, size_t n, int C, double *y)
{
	const int *Lp = L->p, *Li = L->i, *Lnz = L->nz;
	const double *Lx = L->x;
	size_t j;
	int p, c;

	for (j = 0; j < n; j++) {
		const double *yj = y + j * C;

		for (p = Lp[j] + 1; p < Lp[j] + Lnz[j]; p++) {
			size_t i = (size_t)Li[p];

			if (i >= n)
				continue;
			for (c = 0; c < C; c++)
				y[i * C + c] -= Lx[p] * yj[c];
		}
	}
	for (j = 0; j < n; j++)
		for (c = 0; c < C; c++)
			y[j * C + c] /= Lx[Lp[j]];
	for (j = n; j-- > 0;) {
		double *yj = y + j * C;

		for (p = Lp[j] + 1; p < Lp[j] + Lnz[j]; p++) {
			size_t i = (size_t)Li[p];

			if (i >= n)
				continue;
			for (c = 0; c < C; c++)
				yj[c] -= Lx[p] * y[i * C + c];
		}
	}
}

/* A nested family being solved: the factor of its largest system, and the pixel of each pivot. */
struct chain {
	const float *img;
	int C, H, W;
	const int *depth;
	cholmod_factor *L;
	int *pix; /* pix[k]: the pixel of pivot k */
	double *y, *sol;
};

/* Mask i of the family (its unknowns: depth >= i, the leading n pivots) into out, noise from *rng. */
static void chain_solve(struct chain *ch, int i, size_t n, double noise, uint64_t *rng, float *out)
{
	size_t hw = (size_t)ch->H * ch->W, k, p;
	int C = ch->C, c;

	for (k = 0; k < n; k++)
		rhs_pixel(ch->img, C, ch->H, ch->W, ch->pix[k] / ch->W, ch->pix[k] % ch->W, ch->depth, i,
			  ch->y + k * C);
	solve_leading(ch->L, n, C, ch->y);
	for (k = 0; k < n; k++)
		for (c = 0; c < C; c++)
			ch->sol[(size_t)ch->pix[k] * C + c] = ch->y[k * C + c];
	memcpy(out, ch->img, (size_t)C * hw * sizeof(*out));
	/* channel by channel in raster order, as impute_one draws the noise */
	for (c = 0; c < C; c++)
		for (p = 0; p < hw; p++)
			if (ch->depth[p] >= i) {
				double v = ch->sol[p * C + c];
				if (noise > 0)
					v += noise * randn(rng);
				out[c * hw + p] = (float)v;
			}
}

/*
 * The masks ord[0..nc) of a nested family (depth from chain_depths; each has a pixel known) with one
 * factorisation, mask ord[i] into out's image ord[i]. Returns 0, -1 with an error, or 1 when the
 * factor's order does not put every mask's unknowns first (the caller then factors mask by mask).
 */
static int impute_chain(const float *img, int C, int H, int W, const size_t *ord, size_t nc, const int *depth,
			double noise, uint64_t *rngs, float *out, struct road_impute_stats *st)
{
	struct chain ch = { img, C, H, W, depth, NULL, NULL, NULL, NULL };
	size_t hw = (size_t)H * W, chw = (size_t)C * hw, nu = 0, p, k, n, i;
	int *var = xmalloc(hw * sizeof(*var)), *vpix = xmalloc(hw * sizeof(*vpix)), *perm = NULL, *cm = NULL;
	int ret = -1;
	cholmod_common cc;
	cholmod_sparse *A;
	const int *Perm;

	for (p = 0; p < hw; p++) {
		var[p] = depth[p] >= 0 ? (int)nu : -1;
		if (depth[p] >= 0)
			vpix[nu++] = (int)p;
	}
	common_start(&cc);
	cc.postorder = 0; /* a postorder of the elimination tree may interleave the rings */
	A = assemble(H, W, var, nu, &cc);
	if (!A) {
		error("road: cannot allocate a sparse system of %zu unknowns", nu);
		goto out;
	}
	perm = xmalloc(nu * sizeof(*perm));
	/*
	 * CAMD: minimum degree within each ring, ring by ring from the deepest (constraint set 0). On the
	 * MobileNet-V2 masks of bench/RESULTS.md a nested dissection of each ring in turn took 2.9x CAMD's
	 * flops: a ring's pixels next to the deeper ones share a dense clique, which a ring's separators do
	 * not cut.
	 */
	cm = xmalloc(nu * sizeof(*cm));
	for (p = 0; p < hw; p++)
		if (var[p] >= 0)
			cm[var[p]] = (int)nc - 1 - depth[p];
	if (!cholmod_camd(A, NULL, 0, cm, perm, &cc)) {
		error("road: constrained ordering failed (status %d) for %zu unknowns", cc.status, nu);
		goto out;
	}
	ch.L = factor(A, perm, &cc, st);
	if (!ch.L)
		goto out;
	if (ch.L->is_ll || ch.L->is_super) {
		error("road: CHOLMOD gave a factor other than simplicial LDL'");
		goto out;
	}
	Perm = ch.L->Perm;
	ch.pix = xmalloc(nu * sizeof(*ch.pix));
	for (k = 0; k < nu; k++) {
		ch.pix[k] = vpix[Perm[k]];
		if (k && depth[ch.pix[k]] > depth[ch.pix[k - 1]]) {
			ret = 1;
			goto out;
		}
	}
	ch.y = xmalloc(nu * C * sizeof(*ch.y));
	ch.sol = xmalloc(chw * sizeof(*ch.sol));
	for (n = nu, i = 0; i < nc; i++) {
		while (n && depth[ch.pix[n - 1]] < (int)i)
			n--; /* the pivots of depth >= i lead */
		chain_solve(&ch, (int)i, n, noise, rngs + ord[i], out + ord[i] * chw);
	}
	ret = 0;
out:
	cholmod_free_factor(&ch.L, &cc);
	cholmod_free_sparse(&A, &cc);
	cholmod_finish(&cc);
	free(ch.pix);
	free(ch.y);
	free(ch.sol);
	free(perm);
	free(cm);
	free(vpix);
	free(var);
	return ret;
}

int road_impute_masks(const float *img, int C, int H, int W, const unsigned char *keep, size_t nm,
		      double noise, uint64_t *rngs, unsigned flags, float *out, struct road_impute_stats *st)
{
	struct road_impute_stats s = ROAD_IMPUTE_STATS_INIT;
	size_t hw = (size_t)H * W, chw = (size_t)C * hw, *nu = xcalloc(nm, sizeof(*nu)), *ord, nc = 0, k, p, j;
	int *depth = NULL, ret = 0, r = 1;

	ord = xmalloc(nm * sizeof(*ord));
	for (k = 0; k < nm && !ret; k++) {
		for (p = 0; p < hw; p++)
			nu[k] += !keep[k * hw + p];
		s.masks++;
		if (!nu[k] || nu[k] == hw) {
			/* nothing to solve: a copy, or 0 */
			ret = impute_one(img, C, H, W, keep + k * hw, noise, rngs + k, out + k * chw, &s);
			continue;
		}
		for (j = nc++; j > 0 && nu[ord[j - 1]] < nu[k]; j--)
			ord[j] = ord[j - 1]; /* largest first; equal sizes in mask order */
		ord[j] = k;
	}
	if (!ret && nc >= 2 && (flags & ROAD_IMPUTE_NESTED)) {
		depth = xmalloc(hw * sizeof(*depth));
		if (chain_depths(keep, hw, ord, nc, depth))
			r = impute_chain(img, C, H, W, ord, nc, depth, noise, rngs, out, &s);
		if (!r)
			s.nested++;
		else if (r > 0)
			s.fallbacks++;
		else
			ret = -1;
	}
	for (k = 0; k < nc && r > 0 && !ret; k++)
		ret = impute_one(img, C, H, W, keep + ord[k] * hw, noise, rngs + ord[k], out + ord[k] * chw, &s);
	if (st)
		road_impute_stats_add(st, &s);
	free(depth);
	free(ord);
	free(nu);
	return ret;
}
