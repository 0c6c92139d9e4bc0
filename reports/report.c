/*
 * report.c - rebuilding an output folder's report from its results database (see report.h): reads
 * the report settings, then hands the results to the tables, plots and figures, and ties them
 * together in index.html.
 */
#include "reports/report.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/error.h"
#include "lib/fs.h"
#include "lib/quote.h"
#include "lib/strbuf.h"
#include "lib/xalloc.h"
#include "reports/ablation.h"
#include "reports/gallery.h"
#include "reports/paper.h"
#include "reports/plot.h"
#include "reports/results.h"
#include "reports/table.h"
#include "store/store.h"

char *report_index_path(const char *dir)
{
	struct strbuf sb = STRBUF_INIT;
	strbuf_addf(&sb, "%s/report/index.html", dir);
	return strbuf_detach(&sb, NULL);
}

static unsigned parse_formats(const char *s)
{
	unsigned f = 0;
	while (s && *s) {
		size_t len = strcspn(s, ", ");
		if ((len == 8 && !strncmp(s, "markdown", 8)) || (len == 2 && !strncmp(s, "md", 2)))
			f |= TABLE_MARKDOWN;
		else if ((len == 5 && !strncmp(s, "latex", 5)) || (len == 3 && !strncmp(s, "tex", 3)))
			f |= TABLE_LATEX;
		else if (len == 3 && !strncmp(s, "csv", 3))
			f |= TABLE_CSV;
		else if (len)
			warning("unknown table format '%.*s' (markdown, latex, csv); ignored", (int)len, s);
		s += len;
		s += strspn(s, ", ");
	}
	return f ? f : TABLE_MARKDOWN | TABLE_LATEX | TABLE_CSV;
}

/* Create path if needed and remove the files in it: a rebuilt report keeps nothing stale. */
static int fresh_dir(const char *path)
{
	struct strbuf file = STRBUF_INIT;
	struct dirent *de;
	DIR *d;

	if (mkdir(path, 0777) < 0 && errno != EEXIST)
		return error("cannot create '%s': %s", path, strerror(errno));
	if (!(d = opendir(path)))
		return error("cannot read '%s': %s", path, strerror(errno));
	while ((de = readdir(d))) {
		struct stat sb;
		if (de->d_name[0] == '.')
			continue;
		strbuf_reset(&file);
		strbuf_addf(&file, "%s/%s", path, de->d_name);
		if (!lstat(file.buf, &sb) && S_ISREG(sb.st_mode))
			unlink(file.buf);
	}
	closedir(d);
	strbuf_release(&file);
	return 0;
}

static const char style[] =
	"body{font-family:sans-serif;margin:1.5em auto;max-width:1200px;padding:0 1em;color:#222}"
	"h1{margin-bottom:.2em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:1.6em}"
	"nav a{margin-right:1em}.meta{color:#555}"
	"table{border-collapse:collapse;margin:.4em 0 .2em;font-variant-numeric:tabular-nums}"
	"caption{text-align:left;padding:.3em 0;color:#333}"
	"th,td{padding:.2em .6em;text-align:right}th.key,td.key{text-align:left}"
	"thead tr:last-child th{border-bottom:1px solid #222}thead{border-top:2px solid #222}"
	"tbody{border-bottom:2px solid #222}tr.rule td{border-top:1px solid #999}"
	"th.grp{text-align:center;border-bottom:1px solid #999}.paper{color:#666}"
	"section{margin-bottom:1.2em}.links{font-size:90%}.links a{margin-right:.6em}"
	"figure{margin:1em 0}figure img{max-width:100%;border:1px solid #eee}"
	"figcaption{color:#444;font-size:95%}"
	".warn{background:#fff4e0;border-left:4px solid #e69500;padding:.4em .8em}";

static void add_runs_summary(struct strbuf *h, const struct store_summary *sum, const struct results *r)
{
	long skipped = 0;
	size_t i;

	strbuf_addstr(h, "<p class=\"meta\">From results.sqlite alone, nothing recomputed. Runs:");
	for (i = 0; i < sum->nr_states; i++) {
		strbuf_addf(h, "%s %ld ", i ? "," : "", sum->states[i].runs);
		quote_html(h, sum->states[i].state);
	}
	strbuf_addf(h, "%s; %zu with results in the tables.", sum->nr_states ? "" : " none", r->nr);
	for (i = 0; i < sum->nr_states; i++)
		skipped += sum->states[i].nr_skipped;
	if (skipped)
		strbuf_addf(h,
			    " %ld image result%s missing for unreadable image files, which the runs skipped"
			    " (camlab run names them).",
			    skipped, skipped == 1 ? " is" : "s are");
	if (r->nr_superseded)
		strbuf_addf(h, " %zu other run%s with results left out: the tables show the latest spec's runs"
			       " (in a database that does not record them, the newest run of each model, layer,"
			       " method, utility and target).",
			    r->nr_superseded, r->nr_superseded == 1 ? "" : "s");
	strbuf_addstr(h, "</p>\n");
	for (i = 0; i < sum->nr_failed; i++) {
		const struct store_failed_run *f = &sum->failed[i];
		const char *what[] = { f->model, f->layer, f->method, f->utility, f->target };
		size_t k;
		strbuf_addstr(h, i ? "<li>" : "<div class=\"warn\"><p>Failed runs:</p><ul>\n<li>");
		for (k = 0; k < 5; k++) {
			quote_html(h, what[k]);
			strbuf_addstr(h, k < 4 ? " " : ": ");
		}
		quote_html(h, *f->error ? f->error : "?");
		strbuf_addstr(h, "</li>\n");
	}
	if (sum->nr_failed)
		strbuf_addstr(h, "</ul></div>\n");
}

static void add_pictures(struct strbuf *h, const char *folder, const struct plot_list *l, int svg)
{
	size_t i;
	for (i = 0; i < l->nr; i++) {
		const char *stem = l->items[i].stem;
		strbuf_addf(h, "<figure id=\"%s-%s\"><a href=\"%s/%s.%s\"><img src=\"%s/%s.png\" alt=\"", folder,
			    stem, folder, stem, svg ? "svg" : "png", folder, stem);
		quote_html(h, l->items[i].title);
		strbuf_addstr(h, "\"></a><figcaption>");
		quote_html(h, l->items[i].title);
		strbuf_addf(h, " <span class=\"links\"><a href=\"%s/%s.png\">PNG</a>", folder, stem);
		if (svg)
			strbuf_addf(h, "<a href=\"%s/%s.svg\">SVG</a><a href=\"%s/%s.gp\">gnuplot</a>", folder, stem,
				    folder, stem);
		strbuf_addstr(h, "</span></figcaption></figure>\n");
	}
}

static int write_index(const char *path, const char *name, const struct store_summary *sum,
		       const struct results *r, const struct table *t, size_t nt, unsigned formats,
		       int tables_on, int stats, const struct plot_list *plots, const struct plot_list *figs,
		       const char *note)
{
	struct strbuf h = STRBUF_INIT;
	size_t i;
	int ret = 0;

	strbuf_addstr(&h, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>");
	quote_html(&h, name);
	strbuf_addf(&h, ": camlab report</title>\n<style>%s</style>\n</head>\n<body>\n<h1>", style);
	quote_html(&h, name);
	strbuf_addstr(&h, "</h1>\n");
	strbuf_addstr(&h, "<p class=\"meta\">Report written by camlab " CAMLAB_VERSION ".</p>\n");
	add_runs_summary(&h, sum, r);
	if (note && *note) {
		strbuf_addstr(&h, "<p class=\"warn\">");
		quote_html(&h, note);
		strbuf_addstr(&h, "</p>\n");
	}
	strbuf_addstr(&h, "<nav><a href=\"#tables\">Tables</a><a href=\"#plots\">Plots</a>"
			  "<a href=\"#figures\">Figures</a></nav>\n");

	strbuf_addstr(&h, "<h2 id=\"tables\">Tables</h2>\n");
	if (!tables_on) {
		strbuf_addstr(&h, "<p>The experiment asks for no tables.</p>\n");
	} else if (!nt) {
		strbuf_addstr(&h, "<p>No run has results yet.</p>\n");
	} else {
		strbuf_addstr(&h,
			      "<p>Dataset averages \u00d7100 with two decimals; AD\u2193 Coh\u2191 Com\u2193 "
			      "ADCC\u2191 IC\u2191 ADD\u2191.");
		if (stats)
			strbuf_addstr(
				&h,
				" Each mean with the half-width of its bootstrap interval; in each column "
				"the best value is in bold, and so is every value a paired test cannot tell "
				"from it (the captions say which); RandomCAM, the random baseline, is left "
				"out of the ranking.");
		else
			strbuf_addstr(&h,
				      " In each column the best value is in bold and the second underlined; "
				      "RandomCAM, the random baseline, is left out of the ranking.");
		if (formats & TABLE_CSV)
			strbuf_addstr(
				&h, " The CSV tables give each mean's bootstrap interval (<i>metric</i>_lo, "
				    "<i>metric</i>_hi).");
		if (formats & TABLE_LATEX)
			strbuf_addstr(&h, " <a href=\"tables/tables.tex\">tables.tex</a> inputs every LaTeX "
					  "table (booktabs).");
		strbuf_addstr(&h, "</p>\n");
		for (i = 0; i < nt; i++) {
			strbuf_addf(&h, "<section id=\"%s\">\n", t[i].name);
			table_write_html(&h, &t[i]);
			strbuf_addstr(&h, "<div class=\"links\">");
			if (formats & TABLE_MARKDOWN)
				strbuf_addf(&h, "<a href=\"tables/%s.md\">Markdown</a>", t[i].name);
			if (formats & TABLE_LATEX)
				strbuf_addf(&h, "<a href=\"tables/%s.tex\">LaTeX</a>", t[i].name);
			if (formats & TABLE_CSV)
				strbuf_addf(&h, "<a href=\"tables/%s.csv\">CSV</a>", t[i].name);
			strbuf_addstr(&h, "</div>\n</section>\n");
		}
	}
	strbuf_addstr(&h, "<h2 id=\"plots\">Plots</h2>\n");
	if (!plots->nr)
		strbuf_addstr(&h, "<p>No plots.</p>\n");
	add_pictures(&h, "plots", plots, 1);
	strbuf_addstr(&h, "<h2 id=\"figures\">Figures</h2>\n");
	if (!figs->nr)
		strbuf_addstr(&h, "<p>No figures: the experiment's outputs ask for them with "
				  "<code>figures: [{image: 0, by: method}]</code>.</p>\n");
	else
		strbuf_addstr(&h, "<p>Heatmap overlays (JET colours over the input, image weight 0.5).</p>\n");
	add_pictures(&h, "figures", figs, 0);
	strbuf_addstr(&h, "</body>\n</html>\n");

	ret = write_file(path, h.buf, h.len);
	strbuf_release(&h);
	return ret;
}

/* What the spec's outputs asked of the report, as the run recorded them in the outputs table. */
struct report_outputs {
	char *name; /* the experiment's name; NULL: none recorded */
	int tables_on, plots_on;
	unsigned formats;
	struct paper_table paper, *pp; /* pp: &paper when the spec names a paper table it can resolve */
};

/* Reads o from s; a paper table that cannot be resolved is a warning, and a sentence in note. */
static void report_outputs_load(struct report_outputs *o, struct store *s, struct strbuf *note)
{
	char *v;

	o->name = store_output_value(s, "name");
	v = store_output_value(s, "tables");
	o->tables_on = !v || strcmp(v, "0");
	free(v);
	v = store_output_value(s, "plots");
	o->plots_on = !v || strcmp(v, "0");
	free(v);
	v = store_output_value(s, "formats");
	o->formats = parse_formats(v);
	free(v);
	o->pp = NULL;
	if ((v = store_output_value(s, "paper"))) {
		struct strbuf why = STRBUF_INIT;
		if (paper_resolve(v, &o->paper, &why) == 0) {
			o->pp = &o->paper;
		} else {
			warning("%s (the tables have no paper columns)", why.buf);
			strbuf_addf(note, "%s (the tables have no paper columns).", why.buf);
		}
		strbuf_release(&why);
		free(v);
	}
}

/* Creates the report's folder root, and its tables, plots and figures folders emptied. */
static int report_dirs(const char *root)
{
	struct strbuf sub = STRBUF_INIT;
	int ret = 0;

	if (mkdir(root, 0777) < 0 && errno != EEXIST)
		return error("cannot create '%s': %s", root, strerror(errno));
	strbuf_addf(&sub, "%s/tables", root);
	ret |= fresh_dir(sub.buf);
	strbuf_reset(&sub);
	strbuf_addf(&sub, "%s/plots", root);
	ret |= fresh_dir(sub.buf);
	strbuf_reset(&sub);
	strbuf_addf(&sub, "%s/figures", root);
	ret |= fresh_dir(sub.buf);
	strbuf_release(&sub);
	return ret;
}

/*
 * The plots (when plots_on) and figures of r into root's folders, listed in plots and figs; where gnuplot
 * cannot be run, none, a warning and a sentence in note.
 */
static int report_pictures(const char *root, const struct results *r, struct store *s,
			   const struct stats_boot_opts *boot, const struct table *t, size_t nt, int plots_on,
			   struct plot_list *plots, struct plot_list *figs, struct strbuf *note)
{
	struct strbuf sub = STRBUF_INIT, out = STRBUF_INIT;
	int ret = 0, gnuplot;

	/* One probe, so that a machine without gnuplot gets one warning, not one per picture. */
	gnuplot = plot_gnuplot(root, "/dev/null", &out) != -2;
	if (!gnuplot) {
		warning("%s; the report has no plots or figures", out.buf);
		strbuf_addf(note, "%sgnuplot could not be run, so there are no plots or figures.",
			    note->len ? " " : "");
	}
	strbuf_addf(&sub, "%s/plots", root);
	if (gnuplot && plots_on && plots_build(sub.buf, r, s, boot, plots) < 0)
		ret = -1;
	if (gnuplot && plots_on && ablation_plots_build(sub.buf, t, nt, plots) < 0)
		ret = -1;
	strbuf_reset(&sub);
	strbuf_addf(&sub, "%s/figures", root);
	if (gnuplot && gallery_build(sub.buf, r, s, figs) < 0)
		ret = -1;
	strbuf_release(&sub);
	strbuf_release(&out);
	return ret;
}

int report_build(const char *dir, char **written)
{
	struct results r = RESULTS_INIT;
	struct store_summary sum = STORE_SUMMARY_INIT;
	struct plot_list plots = PLOT_LIST_INIT, figs = PLOT_LIST_INIT;
	struct strbuf root = STRBUF_INIT, sub = STRBUF_INIT, note = STRBUF_INIT;
	struct report_outputs o = { NULL, 0, 0, 0, { 0 }, NULL };
	struct table_stats stats;
	struct ablation_list abl = ABLATION_LIST_INIT;
	struct table *t = NULL;
	size_t nt = 0;
	char *path = store_path(dir), *v, *index = NULL;
	struct store *s = NULL;
	struct stat st;
	int ret = 0;

	*written = NULL;
	if (stat(path, &st) < 0) {
		ret = error("no results database '%s'", path);
		goto out;
	}
	if (!(s = store_open_readonly(dir))) {
		ret = -1;
		goto out;
	}
	v = store_spec_canonical(s);
	table_stats_from_canonical(&stats, v);
	ablation_list_from_canonical(&abl, v);
	free(v);
	if (results_load(&r, s) < 0 || results_load_images(&r, s, &stats.mark.boot) < 0 ||
	    store_summary_load(&sum, s) < 0) {
		ret = -1;
		goto out;
	}
	report_outputs_load(&o, s, &note);

	strbuf_addf(&root, "%s/report", dir);
	if ((ret = report_dirs(root.buf)))
		goto out;

	tables_build(&r, o.pp, &stats, &t, &nt);
	ablation_tables_build(&r, &abl, &stats, &t, &nt);
	strbuf_addf(&sub, "%s/tables", root.buf);
	if (o.tables_on && tables_write(sub.buf, t, nt, o.formats) < 0)
		ret = -1;
	if (report_pictures(root.buf, &r, s, &stats.mark.boot, t, nt, o.plots_on, &plots, &figs, &note) < 0)
		ret = -1;

	index = report_index_path(dir);
	if (!o.name) {
		const char *slash = strrchr(dir, '/');
		o.name = xstrdup(slash && slash[1] ? slash + 1 : dir);
	}
	if (write_index(index, o.name, &sum, &r, t, nt, o.formats, o.tables_on, stats.on, &plots, &figs,
			note.buf) < 0) {
		ret = -1;
	} else {
		*written = index;
		index = NULL;
	}
out:
	tables_free(t, nt);
	ablation_list_release(&abl);
	results_release(&r);
	store_summary_release(&sum);
	plot_list_release(&plots);
	plot_list_release(&figs);
	store_close(s);
	strbuf_release(&root);
	strbuf_release(&sub);
	strbuf_release(&note);
	free(index);
	free(o.name);
	free(path);
	return ret ? -1 : 0;
}
