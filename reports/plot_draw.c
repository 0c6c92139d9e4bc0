/*
 * plot_draw.c - what every plot of the report is drawn with: gnuplot run on a script, the colours of the
 * methods and utilities, the settings every plot starts with, and the drawing of one plot into its PNG,
 * SVG and script. plot.c and plot_distribution.c call it; it calls neither.
 */
#include "reports/plot_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/error.h"
#include "lib/quote.h"
#include "lib/xalloc.h"

#define FONT "sans,10"

/*
 * The width a plot needs for its title to show whole: gnuplot centres the title and cuts what does not
 * fit on both sides. pngcairo sets points at 96 dpi, so the titles' "sans:Bold,11" is about 8.2 px a
 * character of DejaVu Sans (818 px for 100 characters, measured). gnuplot centres a title over the
 * graph, which a key outside on the right pushes left by about its width.
 */
#define TITLE_CHAR_PX 8.4
enum { TITLE_MARGIN_PX = 40, KEY_OUTSIDE_PX = 170 };

static int title_width(const char *title, const struct strbuf *body)
{
	size_t chars = 0;
	const char *p;

	for (p = title ? title : ""; *p; p++)
		if (((unsigned char)*p & 0xc0) != 0x80) /* UTF-8: count characters */
			chars++;
	return (int)(chars * TITLE_CHAR_PX + 0.999) + TITLE_MARGIN_PX +
	       (strstr(body->buf, "set key outside") ? KEY_OUTSIDE_PX : 0);
}

int plot_gnuplot(const char *dir, const char *script, struct strbuf *out)
{
	const char *prog = getenv("CAMLAB_GNUPLOT"), *tmp = getenv("TMPDIR");
	struct strbuf log = STRBUF_INIT;
	int fd, status = 0;
	char buf[4096];
	ssize_t n;
	pid_t pid;

	if (!prog || !*prog)
		prog = "gnuplot";
	/* gnuplot's output goes to an unlinked temporary file: it may be long, and a pipe could fill. */
	strbuf_addf(&log, "%s/camlab-gnuplot-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	fd = mkstemp(log.buf);
	if (fd < 0) {
		strbuf_addf(out, "cannot create '%s': %s", log.buf, strerror(errno));
		strbuf_release(&log);
		return -1;
	}
	unlink(log.buf);
	strbuf_release(&log);
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		strbuf_addf(out, "cannot run '%s': %s", prog, strerror(errno));
		close(fd);
		return -1;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);
		if (null >= 0)
			dup2(null, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (chdir(dir) < 0)
			_exit(126);
		execlp(prog, prog, script, (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	lseek(fd, 0, SEEK_SET);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		strbuf_add(out, buf, (size_t)n);
	close(fd);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127 && !out->len) {
		strbuf_addf(out, "cannot run '%s'", prog);
		return -2;
	}
	return WIFEXITED(status) && !WEXITSTATUS(status) ? 0 : -1;
}

/* Paired colours: each ShapleyCAM variant a shade of the method it extends. */
static const struct {
	const char *name, *rgb;
} colours[] = {
	{ "randomcam", "#9a9a9a" },    { "gradcam++", "#17becf" },    { "xgradcam", "#bcbd22" },
	{ "layercam", "#9467bd" },     { "gradcam-e", "#8c564b" },    { "shapleycam-e", "#e377c2" },
	{ "hirescam", "#2ca02c" },     { "shapleycam-h", "#98df8a" }, { "gradcam", "#1f77b4" },
	{ "shapleycam", "#d62728" },   { "logit", "#1f77b4" },	      { "softmax", "#ff7f0e" },
	{ "rest", "#d62728" },	       { "logsoftmax", "#2ca02c" },
};
static const char *const spare[] = { "#ff7f0e", "#7f7f7f", "#aec7e8", "#ffbb78", "#c5b0d5", "#c49c94" };

const char *colour(const char *name, size_t i)
{
	size_t k;
	for (k = 0; k < sizeof(colours) / sizeof(*colours); k++)
		if (!strcmp(colours[k].name, name))
			return colours[k].rgb;
	return spare[i % (sizeof(spare) / sizeof(*spare))];
}

unsigned long colour_int(const char *rgb)
{
	return strtoul(rgb + 1, NULL, 16);
}

/*
 * What gnuplot said about a script that drew, a warning a line: a script draws its plot twice (PNG, SVG),
 * so each thing it says comes twice, differing only in the script's line number; it is said once.
 */
static void warn_lines(const char *dir, const char *stem, const char *log)
{
	struct strbuf seen = STRBUF_INIT;
	const char *p = log;

	while (*p) {
		size_t len = strcspn(p, "\n");
		const char *msg = p, *colon;
		struct strbuf key = STRBUF_INIT;
		/* '"x.gp" line 40: warning: ...': the part after the position is the message */
		if (*p == '"' && (colon = memchr(p, ':', len)) && colon < p + len)
			msg = colon + 1 + (colon[1] == ' ');
		strbuf_addch(&key, '\n'); /* "\nmessage\n": whole lines of seen only */
		strbuf_add(&key, msg, len - (size_t)(msg - p));
		strbuf_addch(&key, '\n');
		if (len && !strstr(seen.buf, key.buf)) {
			warning("gnuplot on '%s/%s.gp' said: %.*s", dir, stem, (int)len, p);
			strbuf_add(&seen, key.buf + (seen.len ? 1 : 0), key.len - (seen.len ? 1 : 0));
		}
		strbuf_release(&key);
		p += len + (p[len] == '\n');
	}
	strbuf_release(&seen);
}

/* Write dir/stem.gp (data, then body for PNG and for SVG) and run it; the result lands in l. */
int draw(const char *dir, const char *stem, const char *title, const struct strbuf *data,
	 const struct strbuf *body, int w, int h, struct plot_list *l)
{
	struct strbuf gp = STRBUF_INIT, path = STRBUF_INIT, log = STRBUF_INIT;
	FILE *f;
	int ret;

	if (w < title_width(title, body))
		w = title_width(title, body);
	/* The title holds names: not in the comment, which a newline or a final backslash would end or extend. */
	strbuf_addf(&gp, "# %s.gp - written by camlab report\n# Run in this folder: gnuplot %s.gp\n", stem, stem);
	strbuf_addstr(&gp, "set encoding utf8\n");
	strbuf_add(&gp, data->buf, data->len);
	strbuf_addf(&gp, "set terminal pngcairo noenhanced size %d,%d font \"" FONT "\"\nset output '%s.png'\n",
		    w, h, stem);
	strbuf_add(&gp, body->buf, body->len);
	strbuf_addf(&gp, "set terminal svg noenhanced size %d,%d font \"" FONT "\" background \"white\"\n"
			 "set output '%s.svg'\n",
		    w, h, stem);
	strbuf_add(&gp, body->buf, body->len);
	strbuf_addstr(&gp, "set output\n");

	strbuf_addf(&path, "%s/%s.gp", dir, stem);
	if (!(f = fopen(path.buf, "w"))) {
		ret = error("cannot write '%s': %s", path.buf, strerror(errno));
		goto out;
	}
	if ((fwrite(gp.buf, 1, gp.len, f) != gp.len) | fclose(f)) {
		ret = error("cannot write '%s': %s", path.buf, strerror(errno));
		goto out;
	}
	strbuf_reset(&path);
	strbuf_addf(&path, "%s.gp", stem);
	ret = plot_gnuplot(dir, path.buf, &log);
	while (log.len && (log.buf[log.len - 1] == '\n' || log.buf[log.len - 1] == ' '))
		log.buf[--log.len] = '\0';
	if (ret == -2) {
		error("%s; no plots are drawn", log.buf);
	} else if (ret < 0) {
		/* what it drew before the error is half a plot: no picture rather than a wrong one */
		error("gnuplot failed on '%s/%s.gp': %s", dir, stem, log.buf);
		strbuf_reset(&path);
		strbuf_addf(&path, "%s/%s.png", dir, stem);
		unlink(path.buf);
		strbuf_reset(&path);
		strbuf_addf(&path, "%s/%s.svg", dir, stem);
		unlink(path.buf);
	} else {
		struct plot_item *it;
		if (log.len)
			warn_lines(dir, stem, log.buf);
		ALLOC_GROW(l->items, l->nr + 1, l->alloc);
		it = &l->items[l->nr++];
		it->stem = xstrdup(stem);
		it->title = xstrdup(title);
	}
out:
	strbuf_release(&gp);
	strbuf_release(&path);
	strbuf_release(&log);
	return ret;
}

const char common[] = "unset label\nset border 3\nset xtics nomirror\nset ytics nomirror\n"
			     "set grid ytics lc rgb \"#d8d8d8\"\nset style fill solid 0.85 border rgb \"#505050\"\n";

int same_block(const struct result *a, const struct result *b, int with_utility)
{
	return !strcmp(a->model, b->model) && !strcmp(a->layer, b->layer) && !strcmp(a->target, b->target) &&
	       (!with_utility || !strcmp(a->utility, b->utility));
}
