#!/bin/sh
# t99-extra-statistics.t - rankings with uncertainty for every metric (issue 17): the faithfulness,
# fidelity, sanity and discrimination tables of a tiny run on the shipped Fashion-MNIST CNN carry each
# mean's bootstrap interval (in the CSV always, "mean ± half-width" with the spec's statistics) and bold
# what the paired test cannot tell from the best, all recomputed from images.csv alone by
# tests/report/extra_stats.py (numpy, scipy); the metrics a model run this small does not compute
# (fidelity, sanity, discrimination) get per-image values of the script's own, so that their tables and
# marks are checked the same way. Their dot-and-whisker plots and, over two layers, their
# critical-difference diagrams are drawn.
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
FM=/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz
[ -f $FM ] || skip_all "dataset-fashion-mnist is not installed"
need_python numpy scipy
X="$PY tests/report/extra_stats.py"
WILCOXON='statistics bootstrap 300 alpha 0.1 seed 3 test wilcoxon'
BOOT='statistics bootstrap 300 alpha 0.1 seed 3 test bootstrap'

# the least likely class is the one that gains from x * H here, so that the gain's column has values
cat >$TMP/s.yaml <<EOF
name: s
output: $TMP/run
batch: 8
models: [{name: fashion, file: $PWD/experiments/models/fashion_mnist_cnn.pt, layers: {pre_gap: features.block5}}]
data: {path: $FM, limit: 10}
methods: [randomcam, gradcam++, xgradcam, layercam, gradcam]
targets: [least]
metrics: [gain, deletion]
statistics: {bootstrap: 300, alpha: 0.1, seed: 3, test: wilcoxon}
EOF
# set_statistics DIR LINE: the statistics the database's spec asks for (empty: none), as another spec would
set_statistics() {
	$PY - "$1/results.sqlite" "$2" <<'EOF'
import re, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
for i, c in db.execute("SELECT id, canonical FROM specs").fetchall():
    c = re.sub(r"statistics [^\n]*\n", "", c) + (sys.argv[2] + "\n" if sys.argv[2] else "")
    db.execute("UPDATE specs SET canonical = ? WHERE id = ?", (c, i))
db.commit()
EOF
}
T=report/tables/faithfulness.fashion.pre_gap.rest.least

test_expect_success 'a run with statistics: the faithfulness table as recomputed from images.csv' "
	$CAMLAB run --no-progress $TMP/s.yaml >$TMP/log 2>&1 || { cat $TMP/log; false; } &&
	{ $X check $TMP/run '$WILCOXON' >$TMP/out 2>/dev/null; s=\$?; cat $TMP/out; test \$s = 0; } &&
	test_grep ',AG,AG_lo,AG_hi\$' $TMP/run/$T.csv &&
	test_grep '[0-9] [$][\\]pm[$] [0-9]' $TMP/run/$T.tex &&
	test_grep 'Wilcoxon signed-rank test' $TMP/run/$T.md
"

cp -r $TMP/run $TMP/inj
test_expect_success 'fidelity, sanity and discrimination values: their tables and marks likewise' "
	$X inject $TMP/inj && $CAMLAB report $TMP/inj >/dev/null &&
	{ $X check $TMP/inj '$WILCOXON' >$TMP/inj.out 2>/dev/null; s=\$?; cat $TMP/inj.out; test \$s = 0; } &&
	test -f $TMP/inj/report/tables/sanity.fashion.pre_gap.rest.least.md &&
	test -f $TMP/inj/report/tables/fidelity.fashion.pre_gap.rest.least.md
"

# so that the comparison above means something: the tests tell some methods apart, keep others together
test_expect_success 'the marks tell methods apart and keep the close ones together' "
	test_grep '^marks sanity: gradcam[+][+] BBBB; xgradcam [.]B[.][.]' $TMP/inj.out &&
	test_grep '^marks fidelity: gradcam[+][+] BB; ' $TMP/inj.out
"

test_expect_success 'with the paired bootstrap test' "
	set_statistics $TMP/inj '$BOOT' && $CAMLAB report $TMP/inj >/dev/null &&
	$X check $TMP/inj '$BOOT' 2>/dev/null &&
	test_grep 'paired bootstrap test' $TMP/inj/report/tables/sanity.fashion.pre_gap.rest.least.md
"

test_expect_success 'without statistics: the intervals in the CSV alone, best and second as before' "
	set_statistics $TMP/inj '' && $CAMLAB report $TMP/inj >/dev/null &&
	$X check $TMP/inj 2>/dev/null &&
	! grep -q 'pm' $TMP/inj/$T.tex
"

test_expect_success 'a dot-and-whisker plot per metric, on an axis fitted to the intervals' "
	for m in AG Del rho L2 San_rho San_pass Disc_r Disc_mass; do
		test -f $TMP/inj/report/plots/metric-\$m.png &&
		test_grep 'set style data yerrorbars' $TMP/inj/report/plots/metric-\$m.gp &&
		test_grep \"id=\\\"plots-metric-\$m\\\"\" $TMP/inj/report/index.html || return 1
	done &&
	! grep -q 'set yrange \\[0:' $TMP/inj/report/plots/metric-San_rho.gp
"

cp -r $TMP/inj $TMP/cd
test_expect_success 'two layers: a critical-difference diagram for each metric, ranks and Friedman as scipy' "
	$X layer $TMP/cd && $CAMLAB report $TMP/cd >/dev/null 2>$TMP/err && test ! -s $TMP/err &&
	$X cd $TMP/cd AG Del rho L2 San.rho San.pass Disc.r Disc.mass
"

test_done
