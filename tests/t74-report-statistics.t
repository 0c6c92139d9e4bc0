#!/bin/sh
# t74-report-statistics.t - the uncertainty in camlab report's tables (issue 17): on a database with
# known per-image values (tests/report/stats_fixture.py), the CSV tables' bootstrap intervals, and with
# the spec's statistics key the "mean ± half-width" cells and the bold marks of the paired tests, all
# against numpy and scipy; and the statistics key itself in both front ends.
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
need_python numpy scipy
FX="$PY tests/report/stats_fixture.py"
WILCOXON='statistics bootstrap 1000 alpha 0.05 seed 0 test wilcoxon'
BOOT='statistics bootstrap 1000 alpha 0.05 seed 0 test bootstrap'
TEX=report/tables/methods.net.l.rest.predicted.tex

test_expect_success 'without statistics: intervals in the CSV, the plain marks elsewhere' "
	$FX make $TMP/plain && $CAMLAB report $TMP/plain >/dev/null &&
	$FX check $TMP/plain &&
	! grep -q 'pm' $TMP/plain/$TEX
"

test_expect_success 'statistics with the Wilcoxon test: mean ± half-width, bold by the test' "
	$FX make $TMP/wil '$WILCOXON' && $CAMLAB report $TMP/wil >/dev/null &&
	{ $FX check $TMP/wil '$WILCOXON' >$TMP/wil.out; s=\$?; cat $TMP/wil.out; test \$s = 0; } &&
	test_grep '[0-9] [$][\\]pm[$] [0-9]' $TMP/wil/$TEX &&
	test_grep 'Wilcoxon signed-rank test' $TMP/wil/report/index.html
"

# so that the comparison above means something: some columns mark one method, some several
test_expect_success 'the marks tell methods apart and keep the close ones together' "
	test_grep 'gradcam[+][+] [.]{6}' $TMP/wil.out &&
	test_grep 'hirescam B' $TMP/wil.out && test_grep 'shapleycam BBBBBB' $TMP/wil.out
"

test_expect_success 'statistics with the paired bootstrap test' "
	$FX make $TMP/boot '$BOOT' && $CAMLAB report $TMP/boot >/dev/null &&
	$FX check $TMP/boot '$BOOT'
"

test_expect_success 'two layers: a critical-difference diagram per metric, ranks and Friedman as scipy' "
	$FX make $TMP/cd && $FX layer $TMP/cd &&
	$CAMLAB report $TMP/cd >/dev/null 2>$TMP/err && test ! -s $TMP/err &&
	$FX cd $TMP/cd && test_grep 'id=\"plots-cd-AD\"' $TMP/cd/report/index.html
"

test_expect_success 'one model and layer: no critical-difference diagram' "
	! ls $TMP/wil/report/plots/cd-* 2>/dev/null
"

MODEL=$PWD/experiments/models/fashion_mnist_cnn.pt
mkdir $TMP/images
cat >$TMP/s.yaml <<EOF
name: s
models: {m: {file: $MODEL, layers: {l: features.block5}}}
data: images
statistics: {bootstrap: 200, alpha: 5e-2, seed: 7, test: bootstrap}
EOF
cat >$TMP/s.lua <<EOF
experiment {
  name = "s", models = {m = {file = "$MODEL", layers = {l = "features.block5"}}}, data = "images",
  statistics = {bootstrap = 200, alpha = 0.05, seed = 7, test = "bootstrap"},
}
EOF
test_expect_success 'the statistics key: the same canonical line from YAML and Lua' "
	$CAMLAB check --canonical $TMP/s.yaml >$TMP/cy &&
	$CAMLAB check --canonical $TMP/s.lua >$TMP/cl &&
	test_grep '^statistics bootstrap 200 alpha 0.05 seed 7 test bootstrap\$' $TMP/cy &&
	diff -u $TMP/cy $TMP/cl
"

test_expect_success 'a spec without statistics keeps its canonical text' "
	$CAMLAB check --canonical experiments/quickstart.yaml >$TMP/cq &&
	! grep -q statistics $TMP/cq
"

cat >$TMP/bad.yaml <<EOF
name: bad
models: {m: {file: $MODEL, layers: {l: features.block5}}}
data: images
statistics: {bootstrap: 0, alpha: 1.5, test: wilcox, tset: 1}
EOF
test_expect_success 'bad statistics settings are errors with their positions' "
	test_must_fail $CAMLAB check $TMP/bad.yaml 2>$TMP/err &&
	test_grep 'bad.yaml:4:[0-9]+: error: .*bootstrap' $TMP/err &&
	test_grep \"bad.yaml:4:[0-9]+: error: bad 'alpha' '1.5'\" $TMP/err &&
	test_grep \"unknown test 'wilcox'; did you mean 'wilcoxon'\" $TMP/err &&
	test_grep \"unknown key 'tset' in 'statistics'; did you mean 'test'\" $TMP/err
"

test_done
