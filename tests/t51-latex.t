#!/bin/sh
# t51-latex.t - the LaTeX tables of camlab report compile with pdflatex: tables.tex inputs every table
# of the fixture database (a wide table with the paper's columns, the ablation with its rules, names
# with underscores, an en dash), without errors or overfull boxes. Needs pdflatex and booktabs
# (Debian: texlive-latex-base texlive-latex-recommended); skipped without them.
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
command -v sqlite3 >/dev/null || skip_all "no sqlite3 command to build the fixture database"
command -v pdflatex >/dev/null || skip_all "no pdflatex (apt-get install texlive-latex-base texlive-latex-recommended)"
kpsewhich booktabs.sty >/dev/null 2>&1 || skip_all "no booktabs.sty (apt-get install texlive-latex-recommended)"

test_expect_success 'the report writes the LaTeX tables and tables.tex' "
	mkdir $TMP/fx && sqlite3 $TMP/fx/results.sqlite <tests/report/fixture.sql &&
	CAMLAB_GNUPLOT=/nonexistent $CAMLAB report $TMP/fx >/dev/null 2>&1 &&
	test -f $TMP/fx/report/tables/tables.tex &&
	test \$(grep -c '^.input{' $TMP/fx/report/tables/tables.tex) -eq 5
"

test_expect_success 'pdflatex compiles tables.tex without errors or overfull boxes' "
	cd $TMP/fx/report/tables &&
	pdflatex -interaction=nonstopmode -halt-on-error tables.tex >$TMP/latex.out 2>&1 ||
		{ tail -n 20 tables.log; exit 1; }
	test -s tables.pdf && ! grep -E '^!|Overfull|Undefined control' tables.log
"

test_expect_success 'each table is a float with booktabs rules and a label' "
	cd $TMP/fx/report/tables && for f in methods.*.tex ablation.*.tex; do
		grep -q 'begin{table}' \$f && grep -q toprule \$f && grep -q bottomrule \$f &&
		grep -q 'label{tab:' \$f || { echo \$f; exit 1; }
	done
"
test_done
