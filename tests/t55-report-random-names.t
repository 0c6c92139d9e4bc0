#!/bin/sh
# t55-report-random-names.t - a seeded random test of camlab report on hostile names (the report's fuzz
# test: a libFuzzer target cannot see which processes gnuplot or pdflatex start). The fixture database of
# t50 gets random model, layer, method, utility, target and error texts built from payloads that would
# each touch their own marker file if any shell, gnuplot or pdflatex -shell-escape ran them: gnuplot
# backquotes and system, breaking out of either quote or onto a new line, $(...), \write18, \input,
# <script>; some method and utility names begin as a built-in's with parameters ("kpcacam(", shown as
# "KPCA-CAM(" and the rest). After camlab report and pdflatex no marker exists, and no file appeared outside the report.
# CAMLAB_SEEDS="1 2 3 ..." runs other or more seeds (default two, about 20 s).
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
command -v sqlite3 >/dev/null || skip_all "no sqlite3 command to build the fixture database"
command -v gnuplot >/dev/null && gnuplot -e 'set terminal' 2>&1 | grep -q pngcairo ||
	skip_all "no gnuplot with pngcairo: the names never reach gnuplot"
need_python

cat >$TMP/names.py <<'EOF'
import random, sys
seed, mark = int(sys.argv[1]), sys.argv[2]
rnd = random.Random(seed)
payloads = [
    "`touch {m}`", "$(touch {m})", "'.system('touch {m}').'", '".system("touch {m}")."',
    "\nsystem 'touch {m}'\n", "\\\nsystem 'touch {m}'", "@{{system('touch {m}')}}",
    "\\immediate\\write18{{touch {m}}}", "\\input{{|touch {m}}}", "<script>touch('{m}')</script>",
    "'; system 'touch {m}'; #", "](javascript:touch('{m}'))", "| `touch {m}` |",
]
junk = "`$()'\"\\\n\r\t%@<>&|*_[]~^#{};,.! -+=/aZ09\u00e9"
count = 0
def name():
    global count
    parts = []
    for _ in range(rnd.randint(1, 3)):
        if rnd.random() < 0.7:
            count += 1
            parts.append(rnd.choice(payloads).format(m="%s/m%d" % (mark, count)))
        else:
            parts.append("".join(rnd.choice(junk) for _ in range(rnd.randint(1, 12))))
    return "".join(parts)
def q(s):
    return "'" + s.replace("'", "''") + "'"
# a built-in's name and "(" first: the report shows such a label as its display name and the rest
# (figure_label: "KPCA-CAM(" + the payload), which must be quoted as any other name
builtin = {"method": ["kpcacam(", "gradcam(", "eigencam("], "utility": ["finer(", "rest("]}
for col in ("model", "layer", "method", "utility", "target"):
    olds = [l.strip() for l in open(sys.argv[3] + "." + col)]
    for i, old in enumerate(olds):
        new = name()
        if col in builtin and i % 2 == 0:
            new = builtin[col][i // 2 % len(builtin[col])] + new
        print("UPDATE runs SET %s = %s WHERE %s = %s;" % (col, q(new), col, q(old)))
print("UPDATE runs SET error = %s WHERE error IS NOT NULL AND error != '';" % q(name()))
EOF

for seed in ${CAMLAB_SEEDS:-1 2}; do
	d=$TMP/s$seed
	mkdir -p $d/mark && sqlite3 $d/results.sqlite <tests/report/fixture.sql || exit 1
	for col in model layer method utility target; do
		sqlite3 $d/results.sqlite "SELECT DISTINCT $col FROM runs" >$d/old.$col
	done
	$PY $TMP/names.py $seed $d/mark $d/old >$d/names.sql && sqlite3 $d/results.sqlite <$d/names.sql || exit 1
	touch $d/stamp
	sleep 1
	test_expect_success "seed $seed: camlab report runs none of the names" "
		$CAMLAB report $d >$d/out 2>$d/err; echo \"exit \$?\" && head -n 5 $d/err &&
		test -f $d/report/index.html && ls $d/report/plots/*.svg >/dev/null &&
		grep -rqF 'KPCA-CAM(' $d/report/tables $d/report/plots &&
		test -z \"\$(ls $d/mark)\" || { echo \"ran: \$(ls $d/mark)\"; exit 1; }
	"
	if command -v pdflatex >/dev/null; then
		test_expect_success "seed $seed: pdflatex -shell-escape on the tables runs none of them" "
			cd $d/report/tables &&
			pdflatex -shell-escape -interaction=nonstopmode -halt-on-error tables.tex >$d/tex.log 2>&1;
			tail -n 3 $d/tex.log; test -s tables.pdf && test -z \"\$(ls $d/mark)\"
		"
	else
		test_skip "seed $seed: pdflatex -shell-escape on the tables runs none of them" "no pdflatex"
	fi
	test_expect_success "seed $seed: no file appeared outside the report" "
		find $TMP -newer $d/stamp ! -path '$d/report*' ! -path '$TMP' ! -path '$d' ! -path '$d/mark' \
			! -name '.out' ! -name 'new.*' ! -path '$d/out' ! -path '$d/err' ! -path '$d/tex.log' >$TMP/new.$seed &&
		test ! -s $TMP/new.$seed || { cat $TMP/new.$seed; exit 1; }
	"
done

test_done
