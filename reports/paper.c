/*
 * paper.c - finding a paper table by name and a method's values in it (see paper.h), in the rows of
 * paper_numbers.c's TSV, parsed once on first use.
 */
#include "reports/paper.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/suggest.h"

struct paper_row {
	char setting;
	char network[32], layer[64], method[32];
	double v[METRIC_NR];
};

static struct paper_row rows[512];
static size_t nr_rows;

static void copy_field(char *dst, size_t size, const char *src, size_t len)
{
	if (len >= size)
		len = size - 1;
	memcpy(dst, src, len);
	dst[len] = '\0';
}

/* One TSV line into a row; the header and malformed lines are skipped. */
static void parse_line(const char *s, size_t len)
{
	struct paper_row *r = &rows[nr_rows];
	const char *f[4 + METRIC_NR], *end = s + len;
	size_t k = 0, flen[4 + METRIC_NR];
	int m;

	while (k < 4 + METRIC_NR) {
		const char *tab = memchr(s, '\t', (size_t)(end - s));
		f[k] = s;
		flen[k] = tab ? (size_t)(tab - s) : (size_t)(end - s);
		k++;
		if (!tab)
			break;
		s = tab + 1;
	}
	if (k != 4 + METRIC_NR || flen[0] != 1 || (f[0][0] != 'A' && f[0][0] != 'B') ||
	    nr_rows == sizeof(rows) / sizeof(*rows))
		return;
	r->setting = f[0][0];
	copy_field(r->network, sizeof(r->network), f[1], flen[1]);
	copy_field(r->layer, sizeof(r->layer), f[2], flen[2]);
	copy_field(r->method, sizeof(r->method), f[3], flen[3]);
	for (m = 0; m < METRIC_NR; m++)
		r->v[m] = strtod(f[4 + m], NULL);
	nr_rows++;
}

static void load_rows(void)
{
	const char *p = paper_numbers_tsv;
	if (nr_rows)
		return;
	while (*p) {
		size_t len = strcspn(p, "\n");
		parse_line(p, len);
		p += len + (p[len] ? 1 : 0);
	}
}

static int setting_word(const char *w)
{
	/* camlab's own layer names for the two settings (the paper's specs, the quickstart) count too */
	if (!strcmp(w, "last-conv") || !strcmp(w, "last_conv") || !strcmp(w, "A"))
		return 'A';
	if (!strcmp(w, "pre-pool") || !strcmp(w, "pre_gap") || !strcmp(w, "B"))
		return 'B';
	return 0;
}

static void explain_unknown(const char *key, const char *net, const char *where, struct strbuf *why)
{
	const char *nets[64], *near[3];
	size_t nr = 0, i, j, k;
	int known = 0;

	for (i = 0; i < nr_rows; i++) {
		for (j = 0; j < nr && strcmp(nets[j], rows[i].network); j++)
			;
		if (j == nr && nr < sizeof(nets) / sizeof(*nets))
			nets[nr++] = rows[i].network;
		known |= !strcmp(rows[i].network, net);
	}
	if (!known) {
		strbuf_addf(why, "unknown network '%s' in paper table '%s'", net, key);
		k = suggest_nearest(net, nets, nr, near, 1);
		if (k)
			strbuf_addf(why, "; did you mean '%s'?", near[0]);
		return;
	}
	strbuf_addf(why, "paper table '%s': '%s' is not a setting of %s; use last-conv, pre-pool", key, where,
		    net);
	for (i = 0; i < nr_rows; i++)
		if (!strcmp(rows[i].network, net) && (i == 0 || strcmp(rows[i - 1].network, net) ||
						      strcmp(rows[i - 1].layer, rows[i].layer)))
			strbuf_addf(why, ", %s", rows[i].layer);
}

int paper_resolve(const char *key, struct paper_table *t, struct strbuf *why)
{
	char buf[256], *part[4], *s = buf;
	size_t n = 0, i;
	int setting;

	load_rows();
	memset(t, 0, sizeof(*t));
	if (!strcmp(key, "auto")) {
		t->automatic = 1;
		return 0;
	}
	snprintf(buf, sizeof(buf), "%s", key);
	while (n < 4) {
		part[n++] = s;
		if (!(s = strchr(s, '/')))
			break;
		*s++ = '\0';
	}
	if (n > 2 && !strncmp(part[0], "table", 5) && part[0][5] &&
	    strspn(part[0] + 5, "0123456789") == strlen(part[0] + 5)) {
		for (i = 1; i < n; i++)
			part[i - 1] = part[i];
		n--;
	}
	if (n != 2 || s || !*part[0] || !*part[1]) {
		strbuf_addf(
			why,
			"paper table '%s' is not NETWORK/last-conv, NETWORK/pre-pool, NETWORK/LAYER or auto",
			key);
		return -1;
	}
	setting = setting_word(part[1]);
	for (i = 0; i < nr_rows; i++) {
		const struct paper_row *r = &rows[i];
		if (strcmp(r->network, part[0]) || (setting ? r->setting != setting : strcmp(r->layer, part[1])))
			continue;
		t->setting = r->setting;
		snprintf(t->network, sizeof(t->network), "%s", r->network);
		snprintf(t->layer, sizeof(t->layer), "%s", r->layer);
		return 0;
	}
	explain_unknown(key, part[0], part[1], why);
	return -1;
}

int paper_lookup(const struct paper_table *t, const char *method, double v[METRIC_NR])
{
	size_t i;
	load_rows();
	for (i = 0; i < nr_rows; i++)
		if (rows[i].setting == t->setting && !strcmp(rows[i].network, t->network) &&
		    !strcmp(rows[i].method, method)) {
			memcpy(v, rows[i].v, sizeof(rows[i].v));
			return 1;
		}
	return 0;
}

const char *paper_setting_name(char setting)
{
	return setting == 'A' ? "last conv." : "pre-pool";
}

static void squash(char *dst, size_t size, const char *s)
{
	size_t n = 0;
	for (; *s && n + 1 < size; s++)
		if (!strchr("-_.", *s))
			dst[n++] = (char)tolower((unsigned char)*s);
	dst[n] = '\0';
}

int paper_matches_model(const struct paper_table *t, const char *model)
{
	char a[64], b[64];
	squash(a, sizeof(a), t->network);
	squash(b, sizeof(b), model);
	return !strcmp(a, b);
}

int paper_for(const char *model, const char *layer, const char *layer_path, struct paper_table *t)
{
	static const struct {
		const char *name;
		char setting;
	} names[] = { { "pre_gap", 'B' }, { "pre-pool", 'B' }, { "last_conv", 'A' }, { "last-conv", 'A' } };
	char want[64], have[64];
	size_t i, k;
	int setting = 0;

	load_rows();
	for (k = 0; k < sizeof(names) / sizeof(*names); k++)
		if (layer && !strcmp(layer, names[k].name))
			setting = names[k].setting;
	squash(want, sizeof(want), model);
	for (i = 0; i < nr_rows; i++) {
		squash(have, sizeof(have), rows[i].network);
		if (strcmp(have, want) ||
		    !((layer_path && !strcmp(rows[i].layer, layer_path)) || rows[i].setting == setting))
			continue;
		memset(t, 0, sizeof(*t));
		t->setting = rows[i].setting;
		snprintf(t->network, sizeof(t->network), "%s", rows[i].network);
		snprintf(t->layer, sizeof(t->layer), "%s", rows[i].layer);
		return 1;
	}
	return 0;
}
