/*
 * test_quote.c - each quoting function of lib/quote.h fed hostile names (backquotes, both quotes,
 * backslashes, newlines, $(...), \input, \write18, <script>, an embedded NUL, 5000 characters, random
 * bytes): a decoder written from the target's rules must read the literal text back and find no
 * markup, and where the real interpreter is installed (gnuplot, pdflatex) it reads the quoted strings
 * too, in a folder where any command they ran would leave a marker file.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/quote.h"
#include "lib/strbuf.h"
#include "tests/tap.h"
#include "tests/unit/quote_decode.h"

#define NR_FIXED 16
static char dir[64];
static const char *hostile[NR_FIXED + 1];
static struct strbuf longest = STRBUF_INIT;

static void make_hostile(void)
{
	static const char *const fixed[NR_FIXED] = {
		"plain_name-1.5",
		"m`touch MARK.bq`",
		"it's \"quoted\"",
		"back\\slash\\",
		"two\nlines\r\n",
		"$(touch MARK.sh) ${HOME} $HOME",
		"\\input{/etc/passwd}",
		"\\write18{touch MARK.tex}",
		"<script>alert(1)</script>&amp;",
		"| a | b |",
		"`code` *em* _u_ [l](x) ~s~ $m$",
		"50% %s %d %%",
		"@macro @s",
		"^^5cinput{x} #1 {}",
		"\t\x01\x7f tabs",
		"",
	};
	const char *pat = "`touch MARK.long` $(touch MARK.long) \\' \" \n%s@x<b>|";
	int i;
	for (i = 0; i < NR_FIXED; i++)
		hostile[i] = fixed[i];
	while (longest.len < 5000)
		strbuf_addch(&longest, pat[longest.len % strlen(pat)]);
	hostile[NR_FIXED] = longest.buf;
}

#define NR_HOSTILE (NR_FIXED + 1)

/* Decode t's output of s; 0 when it reads back as the text the target should show. */
static int round_trip(enum target t, const char *s)
{
	struct strbuf q = STRBUF_INIT;
	int rc = quote_check(t, s, &q);
	if (rc)
		diag("%s: %s on %.60s -> %.80s", target_name[t], rc == -1 ? "markup left" : "text changed", s,
		     q.buf);
	strbuf_release(&q);
	return rc;
}

/* The marker files in dir: a command from a name ran. */
static int markers(void)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;
	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (!strncmp(de->d_name, "MARK", 4))
			n++, diag("marker %s appeared", de->d_name);
	closedir(d);
	return n;
}

/* The hostile strings with MARK as a path in dir. */
static char *marked(const char *s)
{
	struct strbuf sb = STRBUF_INIT;
	const char *p;
	while ((p = strstr(s, "MARK"))) {
		strbuf_add(&sb, s, (size_t)(p - s));
		strbuf_addf(&sb, "%s/MARK", dir);
		s = p + 4;
	}
	strbuf_addstr(&sb, s);
	return strbuf_detach(&sb, NULL);
}

static char *slurp(const char *path)
{
	struct strbuf sb = STRBUF_INIT;
	char buf[4096];
	size_t n;
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		strbuf_add(&sb, buf, n);
	fclose(f);
	return strbuf_detach(&sb, NULL);
}

/* gnuplot prints each quoted string between numbered brackets; it must give back every byte. */
static void gnuplot_reads_back(void)
{
	struct strbuf gp = STRBUF_INIT, cmd = STRBUF_INIT, path = STRBUF_INIT, want = STRBUF_INIT;
	char *out, *m[NR_HOSTILE];
	int i, f, bad = 0;
	FILE *fp;

	if (system("gnuplot --version >/dev/null 2>&1")) {
		printf("ok %d # SKIP gnuplot reads the quoted strings back: no gnuplot\n", ++tap_n);
		return;
	}
	strbuf_addf(&path, "%s/q.gp", dir);
	for (i = 0; i < NR_HOSTILE; i++) {
		m[i] = marked(hostile[i]);
		for (f = 0; f < 2; f++) {
			strbuf_addf(&gp, "print '<%d.%d>'.", i, f);
			if (f) {
				strbuf_addstr(&gp, "sprintf(");
				quote_gnuplot(&gp, m[i], QUOTE_GNUPLOT_FORMAT);
				strbuf_addch(&gp, ')');
			} else {
				quote_gnuplot(&gp, m[i], 0);
			}
			strbuf_addf(&gp, ".'</%d.%d>'\n", i, f);
		}
	}
	fp = fopen(path.buf, "w");
	if (!fp || fwrite(gp.buf, 1, gp.len, fp) != gp.len || fclose(fp)) {
		ok(0, "write %s", path.buf);
		return;
	}
	strbuf_addf(&cmd, "cd %s && gnuplot q.gp >q.out 2>&1", dir);
	ok(!system(cmd.buf), "gnuplot runs a script of every quoted string");
	strbuf_reset(&path);
	strbuf_addf(&path, "%s/q.out", dir);
	out = slurp(path.buf);
	for (i = 0; i < NR_HOSTILE && out; i++)
		for (f = 0; f < 2; f++) {
			strbuf_reset(&want);
			strbuf_addf(&want, "<%d.%d>%s</%d.%d>", i, f, m[i], i, f);
			if (!strstr(out, want.buf)) {
				diag("gnuplot did not print back %.60s", m[i]);
				bad++;
			}
		}
	ok(out && !bad, "gnuplot prints back every string, plain and as a format, byte for byte");
	ok(markers() == 0, "gnuplot ran nothing of them");
	for (i = 0; i < NR_HOSTILE; i++)
		free(m[i]);
	free(out);
	strbuf_release(&gp);
	strbuf_release(&cmd);
	strbuf_release(&path);
	strbuf_release(&want);
}

/* pdflatex, even with -shell-escape, typesets every string as text and runs nothing. */
static void pdflatex_reads(void)
{
	struct strbuf tex = STRBUF_INIT, cmd = STRBUF_INIT, path = STRBUF_INIT;
	FILE *fp;
	int i;

	if (system("pdflatex --version >/dev/null 2>&1")) {
		printf("ok %d # SKIP pdflatex typesets the quoted strings: no pdflatex\n", ++tap_n);
		return;
	}
	strbuf_addstr(&tex, "\\documentclass{article}\n\\begin{document}\n");
	for (i = 0; i < NR_HOSTILE; i++) {
		char *m = marked(hostile[i]);
		strbuf_addf(&tex, "%d: ", i);
		quote_latex(&tex, m);
		strbuf_addstr(&tex, "\\par\n\\begin{tabular}{l}");
		quote_latex(&tex, m);
		strbuf_addstr(&tex, "\\end{tabular}\\par\n");
		free(m);
	}
	strbuf_addstr(&tex, "\\end{document}\n");
	strbuf_addf(&path, "%s/q.tex", dir);
	fp = fopen(path.buf, "w");
	if (!fp || fwrite(tex.buf, 1, tex.len, fp) != tex.len || fclose(fp)) {
		ok(0, "write %s", path.buf);
		return;
	}
	strbuf_addf(
		&cmd,
		"cd %s && pdflatex -shell-escape -interaction=nonstopmode -halt-on-error q.tex >q.log 2>&1",
		dir);
	ok(!system(cmd.buf), "pdflatex -shell-escape typesets every quoted string (see %s/q.log)", dir);
	ok(markers() == 0, "pdflatex ran nothing of them");
	strbuf_release(&tex);
	strbuf_release(&cmd);
	strbuf_release(&path);
}

int main(void)
{
	struct strbuf a = STRBUF_INIT, b = STRBUF_INIT;
	enum target t;
	uint32_t seed = 12345;
	int i, n, bad;
	char *tmp = getenv("TMPDIR");

	snprintf(dir, sizeof(dir), "%s/camlab-quote-XXXXXX", tmp && *tmp && strlen(tmp) < 30 ? tmp : "/tmp");
	if (!mkdtemp(dir))
		skip_all("cannot make a temporary folder");
	make_hostile();

	for (t = 0; t < NR_TARGETS; t++) {
		for (i = 0, bad = 0; i < NR_HOSTILE; i++)
			bad += round_trip(t, hostile[i]) != 0;
		ok(!bad, "%s: every hostile string reads back as its text, with no markup", target_name[t]);
	}

	/* 2000 random strings of any bytes but NUL, weighted towards the characters that matter. */
	for (t = 0; t < NR_TARGETS; t++) {
		static const char special[] = "`$()'\"\\\n\r\t%@<>&|*_[]~^#{}-;,.!";
		char s[64];
		for (n = 0, bad = 0; n < 2000; n++) {
			int len = (int)((seed = seed * 1103515245u + 12345u) >> 16) % 63;
			for (i = 0; i < len; i++) {
				seed = seed * 1103515245u + 12345u;
				s[i] = (seed >> 24) & 1 ? special[(seed >> 8) % (sizeof(special) - 1)]
							: (char)(1 + (seed >> 8) % 255);
			}
			s[len] = '\0';
			bad += round_trip(t, s) != 0;
		}
		ok(!bad, "%s: 2000 random strings read back", target_name[t]);
	}

	/* An embedded NUL ends the string: the API takes C strings, and quotes the text before it. */
	for (t = 0, bad = 0; t < NR_TARGETS; t++) {
		strbuf_reset(&a);
		strbuf_reset(&b);
		quote(t, &a, "ab\0`touch x`");
		quote(t, &b, "ab");
		bad += strcmp(a.buf, b.buf) != 0;
	}
	ok(!bad, "an embedded NUL ends the name: \"ab\\0...\" is quoted as \"ab\"");

	/* The exact forms the report's files and docs rely on. */
	strbuf_reset(&a);
	quote_gnuplot(&a, "it's `x`\n50%", QUOTE_GNUPLOT_FORMAT);
	ok(!strcmp(a.buf, "'it''s `x`'.\"\\012\".'50%%'"), "quote_gnuplot: %s", a.buf);
	strbuf_reset(&a);
	quote_latex(&a, "\\write18{a_b}--");
	ok(!strcmp(a.buf, "\\textbackslash{}write18\\{a\\_b\\}-{}-"), "quote_latex: %s", a.buf);
	strbuf_reset(&a);
	quote_markdown(&a, "<b>|`x`");
	ok(!strcmp(a.buf, "&lt;b&gt;\\|\\`x\\`"), "quote_markdown: %s", a.buf);
	strbuf_reset(&a);
	quote_csv(&a, "a,\"b\"");
	ok(!strcmp(a.buf, "\"a,\"\"b\"\"\""), "quote_csv: %s", a.buf);
	strbuf_reset(&a);
	quote_html(&a, "<a href='x'>&</a>");
	ok(!strcmp(a.buf, "&lt;a href=&#39;x&#39;&gt;&amp;&lt;/a&gt;"), "quote_html: %s", a.buf);

	gnuplot_reads_back();
	pdflatex_reads();

	strbuf_reset(&a);
	strbuf_addf(&a, "rm -rf '%s'", dir);
	if (!tap_failed && system(a.buf))
		diag("could not remove %s", dir);
	strbuf_release(&a);
	strbuf_release(&b);
	strbuf_release(&longest);
	return done_testing();
}
