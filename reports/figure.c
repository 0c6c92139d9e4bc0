/*
 * figure.c - labelled picture grids through gnuplot (see figure.h). The layout is computed here in
 * pixels, so every cell gets exactly its box; gnuplot only places the pictures and typesets the text.
 */
#include "reports/figure.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cam/overlay.h"
#include "lib/error.h"
#include "lib/quote.h"
#include "lib/xalloc.h"

extern char **environ;

/*
 * Pixels, for pngcairo's "sans,10". Label widths are estimated from their length (gnuplot cannot
 * measure text for us), generously: CHAR_PX is above the average width of DejaVu Sans at that size.
 */
enum { CELL_MIN = 160, CELL_MAX = 320, GAP = 12, MARGIN = 10, LINE_PX = 16, LABEL_PAD = 12 };
#define CHAR_PX 6.6
#define TITLE_CHAR_PX 8.4 /* TITLE_FONT's bold 11 points: 818 px for 100 characters, measured */
#define FONT "sans,10"
#define TITLE_FONT "sans:Bold,11"

static const struct {
	const char *name, *shown;
} display_names[] = {
	{ "cam", "CAM" },
	{ "gradcam", "GradCAM" },
	{ "hirescam", "HiResCAM" },
	{ "gradcam-e", "GradCAM-E" },
	{ "layercam", "LayerCAM" },
	{ "xgradcam", "XGradCAM" },
	{ "gradcam++", "GradCAM++" },
	{ "randomcam", "RandomCAM" },
	{ "shapleycam", "ShapleyCAM" },
	{ "shapleycam-h", "ShapleyCAM-H" },
	{ "shapleycam-e", "ShapleyCAM-E" },
	{ "scorecam", "ScoreCAM" },
	{ "ablationcam", "AblationCAM" },
	{ "eigencam", "EigenCAM" },
	{ "eigengradcam", "EigenGradCAM" },
	{ "kpcacam", "KPCA-CAM" }, /* upstream's class is KPCA_CAM, its README's table says KPCA-CAM */
	{ "segeigencam", "SegEigenCAM" },
	{ "fem", "FEM" },
	{ "sobelcam", "SobelCAM" }, /* upstream: the function sobel_cam, no class */
	{ "refinecam", "RefineCAM" },
	{ "fullgrad", "FullGrad" },
	{ "logit", "pre-softmax" },
	{ "softmax", "post-softmax" },
	{ "logsoftmax", "log-softmax" },
	{ "rest", "ReST" },
	/* FinerCAM is GradCAM with this utility: "GradCAM, Finer utility", not "FinerCAM utility" */
	{ "finer", "Finer" },
};

const char *figure_display_name(const char *name)
{
	size_t i;
	for (i = 0; i < sizeof(display_names) / sizeof(display_names[0]); i++)
		if (!strcmp(name, display_names[i].name))
			return display_names[i].shown;
	return name;
}

const char *figure_label(const char *name, struct strbuf *buf)
{
	const char *paren = strchr(name, '(');
	size_t i, n;

	if (!paren)
		return figure_display_name(name);
	n = (size_t)(paren - name);
	for (i = 0; i < sizeof(display_names) / sizeof(display_names[0]); i++)
		if (!strncmp(name, display_names[i].name, n) && !display_names[i].name[n]) {
			strbuf_reset(buf);
			strbuf_addstr(buf, display_names[i].shown);
			strbuf_addstr(buf, paren);
			return buf->buf;
		}
	return name;
}

char *figure_label_dup(const char *name)
{
	struct strbuf buf = STRBUF_INIT;
	const char *shown = figure_label(name, &buf);

	if (shown == buf.buf)
		return strbuf_detach(&buf, NULL);
	strbuf_release(&buf);
	return xstrdup(shown);
}

/* Where everything goes, in pixels from the top left of the figure. */
struct layout {
	int w, h;	      /* the figure */
	int bw, bh;	      /* the box each picture is fitted into */
	int left, top;	      /* the row-label strip and the title band */
	int rowh;	      /* a row below its labels: the box, or a longer row label */
	int *colx, *colw;     /* each column's left edge and width */
	int *rowy, *band;     /* each row's top and the height of its cell labels */
};

/* Lines of a label and the width of its longest line, estimated. */
static void label_size(const char *s, int *lines, int *px)
{
	int chars = 0, longest = 0;
	*lines = 0;
	*px = 0;
	if (!s || !*s)
		return;
	*lines = 1;
	for (; *s; s++) {
		if (*s == '\n') {
			(*lines)++;
			chars = 0;
		} else if (((unsigned char)*s & 0xc0) != 0x80) { /* UTF-8: count characters */
			chars++;
		}
		if (chars > longest)
			longest = chars;
	}
	*px = (int)(longest * CHAR_PX + 0.999);
}

static void layout_release(struct layout *l)
{
	free(l->colx);
	free(l->colw);
	free(l->rowy);
	free(l->band);
}

static void layout_compute(struct layout *l, const struct figure_cell *cells, int rows, int cols,
			   const char *const *row_labels, const char *title)
{
	int maxw = 0, maxh = 0, m, r, c, x, y, lines, px, strip = 0;

	l->colx = xcalloc((size_t)cols, sizeof(int));
	l->colw = xcalloc((size_t)cols, sizeof(int));
	l->rowy = xcalloc((size_t)rows, sizeof(int));
	l->band = xcalloc((size_t)rows, sizeof(int));
	for (r = 0; r < rows * cols; r++) {
		const struct image *img = cells[r].img;
		if (img && img->w > maxw)
			maxw = img->w;
		if (img && img->h > maxh)
			maxh = img->h;
	}
	if (!maxw || !maxh)
		maxw = maxh = CELL_MIN;
	m = maxw > maxh ? maxw : maxh;
	if (m < CELL_MIN) {
		int s = (CELL_MIN + m - 1) / m;
		l->bw = maxw * s;
		l->bh = maxh * s;
	} else if (m > CELL_MAX) {
		l->bw = maxw * CELL_MAX / m > 0 ? maxw * CELL_MAX / m : 1;
		l->bh = maxh * CELL_MAX / m > 0 ? maxh * CELL_MAX / m : 1;
	} else {
		l->bw = maxw;
		l->bh = maxh;
	}

	/* Row labels are upright, so their length competes with the box height. */
	l->rowh = l->bh;
	for (r = 0; row_labels && r < rows; r++) {
		label_size(row_labels[r], &lines, &px);
		if (lines * LINE_PX + 8 > strip)
			strip = lines * LINE_PX + 8;
		if (px + LABEL_PAD > l->rowh)
			l->rowh = px + LABEL_PAD;
	}
	l->left = MARGIN + strip;
	l->top = MARGIN;
	if (title && *title) {
		label_size(title, &lines, &px);
		l->top += lines * (LINE_PX + 2) + 8;
	}

	x = l->left;
	for (c = 0; c < cols; c++) {
		l->colw[c] = l->bw;
		for (r = 0; r < rows; r++) {
			label_size(cells[r * cols + c].label, &lines, &px);
			if (px + LABEL_PAD > l->colw[c])
				l->colw[c] = px + LABEL_PAD;
		}
		l->colx[c] = x;
		x += l->colw[c] + GAP;
	}
	l->w = x - GAP + MARGIN;
	if (title && *title) {
		label_size(title, &lines, &px);
		px = (int)(px * (TITLE_CHAR_PX / CHAR_PX) + 0.999);
		if (px + 2 * MARGIN > l->w)
			l->w = px + 2 * MARGIN;
	}

	y = l->top;
	for (r = 0; r < rows; r++) {
		l->band[r] = 0;
		for (c = 0; c < cols; c++) {
			label_size(cells[r * cols + c].label, &lines, &px);
			if (lines * LINE_PX + 6 > l->band[r])
				l->band[r] = lines * LINE_PX + 6;
		}
		l->rowy[r] = y;
		y += l->band[r] + l->rowh + GAP;
	}
	l->h = y - GAP + MARGIN;
}

/* gnuplot's screen coordinates (0..1, y upwards) of a pixel position. */
static double sx(const struct layout *l, double px)
{
	return px / l->w;
}

static double sy(const struct layout *l, double py)
{
	return 1.0 - py / l->h;
}

/* Nearest-neighbour enlargement by a whole factor, so small pictures keep crisp pixels. */
static int enlarge(const struct image *in, int f, struct image *out)
{
	int x, y;
	if (image_alloc(out, in->w * f, in->h * f) < 0)
		return -1;
	for (y = 0; y < out->h; y++)
		for (x = 0; x < out->w; x++)
			memcpy(out->rgb + ((size_t)y * (size_t)out->w + (size_t)x) * 3,
			       in->rgb + ((size_t)(y / f) * (size_t)in->w + (size_t)(x / f)) * 3, 3);
	return 0;
}

/*
 * Labels centred on pixel (x, y), one gnuplot label a line: gnuplot hangs the lines of a multi-line
 * label below its anchor, and below is sideways once rotated. Upright labels read bottom to top, so
 * their next line is to the right.
 */
static void label_at(struct strbuf *gp, const struct layout *l, const char *text, double x, double y,
		     int upright, const char *font)
{
	int lines, px, k = 0;
	const char *p = text;

	label_size(text, &lines, &px);
	while (1) {
		size_t len = strcspn(p, "\n");
		double off = (k - (lines - 1) / 2.0) * LINE_PX;
		char *line = xstrndup(p, len);
		strbuf_addstr(gp, "set label ");
		quote_gnuplot(gp, line, 0);
		strbuf_addf(gp, " at screen %.6f, screen %.6f center%s%s%s%s\n",
			    sx(l, upright ? x + off : x), sy(l, upright ? y : y + off),
			    upright ? " rotate by 90" : "", font ? " font \"" : "", font ? font : "",
			    font ? "\"" : "");
		free(line);
		if (!p[len])
			break;
		p += len + 1;
		k++;
	}
}

/* Write cell i's picture as dir/cI.png and the commands that place it. */
static int add_picture(struct strbuf *gp, const struct layout *l, const char *dir, int i,
		       const struct image *img, int r, int c, struct strbuf *why)
{
	struct strbuf path = STRBUF_INIT;
	struct image big = IMAGE_INIT;
	const struct image *shown = img;
	int f = l->bw / img->w < l->bh / img->h ? l->bw / img->w : l->bh / img->h;
	double k, xr, yr, x0, y0;
	int ret = 0;

	if (f > 1) {
		if (enlarge(img, f, &big) < 0) {
			strbuf_addstr(why, "out of memory");
			return -1;
		}
		shown = &big;
	}
	strbuf_addf(&path, "%s/c%d.png", dir, i);
	if (image_write_png(path.buf, shown) < 0) {
		strbuf_addf(why, "cannot write '%s'", path.buf);
		ret = -1;
		goto out;
	}
	/* Fit the picture into the box with square pixels, centred: widen whichever range is short. */
	k = (double)l->bw / shown->w < (double)l->bh / shown->h ? (double)l->bw / shown->w
								 : (double)l->bh / shown->h;
	xr = l->bw / k;
	yr = l->bh / k;
	x0 = l->colx[c] + (l->colw[c] - l->bw) / 2;
	y0 = l->rowy[r] + l->band[r] + (l->rowh - l->bh) / 2;
	strbuf_addf(gp, "set lmargin at screen %.6f; set rmargin at screen %.6f\n", sx(l, x0),
		    sx(l, x0 + l->bw));
	strbuf_addf(gp, "set tmargin at screen %.6f; set bmargin at screen %.6f\n", sy(l, y0),
		    sy(l, y0 + l->bh));
	strbuf_addf(gp, "set xrange [%.6f:%.6f]; set yrange [%.6f:%.6f]\n", (shown->w - xr) / 2 - 0.5,
		    (shown->w + xr) / 2 - 0.5, (shown->h - yr) / 2 - 0.5, (shown->h + yr) / 2 - 0.5);
	strbuf_addf(gp, "plot 'c%d.png' binary filetype=png with rgbimage\n", i);
out:
	image_release(&big);
	strbuf_release(&path);
	return ret;
}

/* The script: pictures first, then every label in one last, empty plot so each is drawn once. */
static int write_script(const char *dir, const struct layout *l, const struct figure_cell *cells,
			int rows, int cols, const char *const *row_labels, const char *title,
			struct strbuf *why)
{
	struct strbuf gp = STRBUF_INIT, path = STRBUF_INIT;
	int r, c, ret = 0, lines, px;
	FILE *f;

	strbuf_addf(&gp, "set terminal pngcairo noenhanced size %d,%d font \"" FONT "\"\n", l->w, l->h);
	strbuf_addstr(&gp, "cd ");
	quote_gnuplot(&gp, dir, 0);
	strbuf_addstr(&gp, "\nset output 'grid.png'\nset multiplot\n"
			   "unset border; unset tics; unset key; unset title\n");
	for (r = 0; r < rows && !ret; r++)
		for (c = 0; c < cols && !ret; c++)
			if (cells[r * cols + c].img && cells[r * cols + c].img->w > 0)
				ret = add_picture(&gp, l, dir, r * cols + c, cells[r * cols + c].img, r, c,
						  why);
	if (ret)
		goto out;

	strbuf_addstr(&gp, "set lmargin at screen 0; set rmargin at screen 1\n"
			   "set tmargin at screen 1; set bmargin at screen 0\n"
			   "set xrange [0:1]; set yrange [0:1]\n");
	for (r = 0; r < rows; r++) {
		for (c = 0; c < cols; c++) {
			const char *s = cells[r * cols + c].label;
			if (!s || !*s)
				continue;
			label_size(s, &lines, &px);
			label_at(&gp, l, s, l->colx[c] + l->colw[c] / 2.0,
				 l->rowy[r] + l->band[r] - 3 - lines * LINE_PX / 2.0, 0, NULL);
		}
		if (row_labels && row_labels[r] && *row_labels[r])
			label_at(&gp, l, row_labels[r], (MARGIN + l->left - 4) / 2.0,
				 l->rowy[r] + l->band[r] + l->rowh / 2.0, 1, NULL);
	}
	if (title && *title) {
		label_size(title, &lines, &px);
		label_at(&gp, l, title, l->w / 2.0, MARGIN + lines * (LINE_PX + 2) / 2.0, 0, TITLE_FONT);
	}
	strbuf_addstr(&gp, "plot 2 notitle\nunset multiplot\nset output\n");

	strbuf_addf(&path, "%s/grid.gp", dir);
	f = fopen(path.buf, "w");
	if (!f || fwrite(gp.buf, 1, gp.len, f) != gp.len) {
		strbuf_addf(why, "cannot write '%s': %s", path.buf, strerror(errno));
		ret = -1;
	}
	if (f && fclose(f) && !ret) {
		strbuf_addf(why, "cannot write '%s': %s", path.buf, strerror(errno));
		ret = -1;
	}
out:
	strbuf_release(&gp);
	strbuf_release(&path);
	return ret;
}

/* The first line gnuplot printed, for the message when it fails. */
static void first_log_line(const char *dir, struct strbuf *why)
{
	struct strbuf path = STRBUF_INIT;
	char line[256];
	FILE *f;

	strbuf_addf(&path, "%s/gnuplot.log", dir);
	f = fopen(path.buf, "r");
	while (f && fgets(line, sizeof(line), f)) {
		size_t n = strcspn(line, "\n");
		if (strspn(line, " \t^") >= n)
			continue; /* gnuplot echoes the command and a caret line first */
		line[n] = '\0';
		strbuf_addf(why, ": %s", line + strspn(line, " \t"));
		break;
	}
	if (f)
		fclose(f);
	strbuf_release(&path);
}

static int run_gnuplot(const char *dir, struct strbuf *why)
{
	const char *prog = getenv("CAMLAB_GNUPLOT");
	struct strbuf script = STRBUF_INIT, log = STRBUF_INIT;
	posix_spawn_file_actions_t fa;
	char *argv[3];
	pid_t pid;
	int rc, status = 0;

	if (!prog || !*prog)
		prog = "gnuplot";
	strbuf_addf(&script, "%s/grid.gp", dir);
	strbuf_addf(&log, "%s/gnuplot.log", dir);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, log.buf, O_WRONLY | O_CREAT | O_TRUNC, 0666);
	posix_spawn_file_actions_adddup2(&fa, 1, 2);
	argv[0] = (char *)prog;
	argv[1] = script.buf;
	argv[2] = NULL;
	rc = posix_spawnp(&pid, prog, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc) {
		strbuf_addf(why, "cannot run gnuplot '%s': %s", prog, strerror(rc));
	} else {
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		if (!WIFEXITED(status) || WEXITSTATUS(status)) {
			if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
				strbuf_addf(why, "cannot run gnuplot '%s'", prog);
			else
				strbuf_addf(why, "gnuplot '%s' failed", prog);
			first_log_line(dir, why);
			rc = -1;
		}
	}
	strbuf_release(&script);
	strbuf_release(&log);
	return rc ? -1 : 0;
}

static int copy_file(const char *from, const char *to, struct strbuf *why)
{
	char buf[65536];
	FILE *in = fopen(from, "rb"), *out;
	size_t n;
	int ret = 0;

	if (!in) {
		strbuf_addf(why, "gnuplot wrote no picture ('%s': %s)", from, strerror(errno));
		return -1;
	}
	out = fopen(to, "wb");
	if (!out) {
		strbuf_addf(why, "cannot open '%s' for writing: %s", to, strerror(errno));
		fclose(in);
		return -1;
	}
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		if (fwrite(buf, 1, n, out) != n)
			break;
	if (ferror(in) || ferror(out))
		ret = -1;
	if (fclose(out))
		ret = -1;
	fclose(in);
	if (ret) {
		strbuf_addf(why, "cannot write '%s'", to);
		unlink(to);
	}
	return ret;
}

static void remove_temp(const char *dir, int ncells)
{
	static const char *const names[] = { "grid.gp", "gnuplot.log", "grid.png" };
	struct strbuf path = STRBUF_INIT;
	size_t i;
	int c;

	for (c = 0; c < ncells; c++) {
		strbuf_reset(&path);
		strbuf_addf(&path, "%s/c%d.png", dir, c);
		unlink(path.buf);
	}
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		strbuf_reset(&path);
		strbuf_addf(&path, "%s/%s", dir, names[i]);
		unlink(path.buf);
	}
	if (rmdir(dir) < 0)
		warning("cannot remove '%s': %s", dir, strerror(errno));
	strbuf_release(&path);
}

int figure_grid(const char *out_png, const struct figure_cell *cells, int rows, int cols,
		const char *const *row_labels, const char *title, struct strbuf *err)
{
	struct strbuf dir = STRBUF_INIT, why = STRBUF_INIT, grid = STRBUF_INIT;
	const char *tmp = getenv("TMPDIR");
	struct layout l;
	int ret = -1;

	memset(&l, 0, sizeof(l));
	if (rows <= 0 || cols <= 0) {
		strbuf_addstr(&why, "no cells");
		goto report;
	}
	strbuf_addf(&dir, "%s/camlab-figure-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir.buf)) {
		strbuf_addf(&why, "cannot create '%s': %s", dir.buf, strerror(errno));
		goto report;
	}
	layout_compute(&l, cells, rows, cols, row_labels, title);
	strbuf_addf(&grid, "%s/grid.png", dir.buf);
	if (!write_script(dir.buf, &l, cells, rows, cols, row_labels, title, &why) &&
	    !run_gnuplot(dir.buf, &why) && !copy_file(grid.buf, out_png, &why))
		ret = 0;
	remove_temp(dir.buf, rows * cols);
report:
	if (ret && err)
		strbuf_addf(err, "cannot draw '%s': %s", out_png, why.buf);
	else if (ret)
		error("cannot draw '%s': %s", out_png, why.buf);
	layout_release(&l);
	strbuf_release(&dir);
	strbuf_release(&why);
	strbuf_release(&grid);
	return ret;
}
