#!/bin/sh
# t93-ablations.t - declared ablations (issue 19): over the layer and over the target of a tiny run, each
# difference to the baseline and its paired bootstrap interval against a computation from images.csv
# alone (tests/report/ablation_check.py), the marks where an interval excludes 0; and the key itself:
# the same canonical lines from YAML and Lua, errors at their positions with the nearest name.
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
MODEL=$PWD/experiments/models/fashion_mnist_cnn.pt
FM=/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz

cat >$TMP/lt.yaml <<EOF
name: lt
models:
  - name: fashion
    file: $MODEL
    layers: {pre_gap: features.block5, last_conv: features.block5.conv}
data: {path: $FM, limit: 6}
batch: 6
methods: [gradcam]
utilities: [rest]
targets: [predicted, least]
statistics: {bootstrap: 200, seed: 5, test: bootstrap}
outputs: {plots: false}
ablations:
  - {over: layer, baseline: pre_gap}
  - {over: target, baseline: pred}
EOF
OUT=$TMP/out/lt
T=$OUT/report/tables
if [ ! -f $FM ]; then
	for i in 1 2 3 4; do test_skip "the ablations of a tiny run ($i)" 'dataset-fashion-mnist is not installed'; done
elif ! "$PY" -c 'import numpy, scipy' 2>/dev/null; then
	for i in 1 2 3 4; do test_skip "the ablations of a tiny run ($i)" "$PY lacks numpy or scipy"; done
else
	test_expect_success 'a tiny run with an ablation over the layer and one over the target' "
		{ $CAMLAB run $TMP/lt.yaml >$TMP/run 2>&1 || { cat $TMP/run; false; }; } &&
		ls $T/ablation-layer.fashion.rest.predicted.vs-pre_gap.csv $T/ablation-layer.fashion.rest.least.vs-pre_gap.md \
			$T/ablation-target.fashion.pre_gap.rest.vs-predicted.tex $T/ablation-target.fashion.last_conv.rest.csv
	"
	test_expect_success 'each difference and interval as computed from images.csv, bold where it excludes 0' "
		{ $PY tests/report/ablation_check.py $OUT 200 0.05 5 layer=pre_gap target=predicted >$TMP/chk ||
			{ grep BAD $TMP/chk; false; }; } &&
		test_grep '^4 rows checked' $TMP/chk
	"
	# so that the comparison above means something: another seed draws other intervals, and some
	# intervals exclude 0 (bold) while others do not
	test_expect_success 'the check fails on intervals drawn with another seed' "
		! $PY tests/report/ablation_check.py $OUT 200 0.05 6 layer=pre_gap target=predicted >$TMP/chk6 &&
		grep -q BAD $TMP/chk6 && grep -q '[*][*][+-][0-9]' $T/*.vs-*.md && grep -q '[|] [+-][0-9.]* [[]' $T/*.vs-*.md
	"
	test_expect_success 'the values tables: a row per method and value, the baseline included' "
		f=$T/ablation-layer.fashion.rest.predicted.md &&
		test_grep '^[*][*]Layer ablation: fashion, ReST utility, target predicted; 6 images' \$f &&
		test_grep '^[|] Method [|] Layer [|]' \$f &&
		test_grep '^[|] GradCAM [|] last[\\\\]_conv [|]' \$f && test_grep '^[|]  [|] pre[\\\\]_gap [|]' \$f &&
		test_grep 'id=\"ablation-target.fashion.pre_gap.rest.vs-predicted\"' $OUT/report/index.html
	"
fi

cat >$TMP/g.yaml <<EOF
name: g
models: {m: {file: $MODEL, layers: {l: features.block5, l2: features.block4}}}
data: images
utilities: [logit, softmax, rest]
targets: [predicted, true]
ablations: [{over: utility, baseline: ReST}, {over: layer, baseline: l}, target]
EOF
cat >$TMP/g.lua <<EOF
experiment {
  name = "g", models = {m = {file = "$MODEL", layers = {l = "features.block5", l2 = "features.block4"}}},
  data = "images", utilities = {"logit", "softmax", "rest"}, targets = {"predicted", "true"},
  ablations = {{over = "utility", baseline = "ReST"}, {over = "layer", baseline = "l"}, "target"},
}
EOF
mkdir $TMP/images
test_expect_success 'YAML and Lua: the same canonical lines, baselines spelt canonically' "
	$CAMLAB check --canonical $TMP/g.yaml >$TMP/cy && $CAMLAB check --canonical $TMP/g.lua >$TMP/cl &&
	diff -u $TMP/cy $TMP/cl && grep '^ablation' $TMP/cy >$TMP/lines &&
	printf 'ablation utility rest\nablation layer l\nablation target -\n' >$TMP/want && diff -u $TMP/want $TMP/lines
"

test_expect_success 'a spec without the key keeps its canonical text; [] is \"ablations none\"' "
	$CAMLAB check --canonical experiments/quickstart.yaml >$TMP/cq && ! grep -q '^ablation' $TMP/cq &&
	sed 's/^ablations: .*/ablations: []/' $TMP/g.yaml >$TMP/none.yaml &&
	$CAMLAB check --canonical $TMP/none.yaml | grep -x 'ablations none'
"

cat >$TMP/bad.yaml <<EOF
name: bad
models: {m: {file: $MODEL, layers: {l: features.block5}}}
data: images
utilities: [logit, softmax, rest]
ablations:
  - {over: utilty, baseline: rest}
  - {over: utility, baseline: rst}
  - {over: layer}
  - {over: method.gradcm.gamma}
  - {over: utility, basline: rest}
  - {over: utility}
EOF
cat >$TMP/bad.expect <<EOF
bad.yaml:6:12: error: unknown ablation dimension 'utilty'; did you mean 'utility'?
bad.yaml:7:31: error: ablation baseline 'rst' is not one of the grid's utilities; did you mean 'rest'?
bad.yaml:8:12: error: ablation over 'layer' needs several layers in the grid; it has one ('l')
bad.yaml:9:12: error: ablation over 'method.gradcm.gamma': method 'gradcm' is not in methods; did you mean 'gradcam'?
bad.yaml:10:21: error: unknown key 'basline' in 'ablations'; did you mean 'baseline'?
bad.yaml:11:5: error: ablation over 'utility' is declared twice
EOF
test_expect_success 'YAML: each wrong ablation an error at its position, with the nearest name' "
	cd $TMP && test_must_fail $CAMLAB check bad.yaml 2>$TMP/err && diff -u $TMP/bad.expect $TMP/err
"

cat >$TMP/bad.lua <<EOF
experiment {
  name = "bad", models = {m = {file = "$MODEL", layers = {l = "features.block5"}}}, data = "images",
  utilities = {"logit", "softmax", "rest"},
  ablations = {{over = "utilty"}, {over = "utility", baseline = "rst"}, {over = "layer"}},
}
EOF
cat >$TMP/badlua.expect <<EOF
bad.lua:4:17: error: unknown ablation dimension 'utilty'; did you mean 'utility'?
bad.lua:4:54: error: ablation baseline 'rst' is not one of the grid's utilities; did you mean 'rest'?
bad.lua:4:74: error: ablation over 'layer' needs several layers in the grid; it has one ('l')
EOF
test_expect_success 'Lua: the same errors, at the Lua keys of the wrong values' "
	cd $TMP && test_must_fail $CAMLAB check bad.lua 2>$TMP/err && diff -u $TMP/badlua.expect $TMP/err
"

test_expect_success 'a method parameter as the dimension: named, and said why it has one value' "
	sed 's/^  - {over: utilty, baseline: rest}/  - {over: method.gradcam.eigen_smooth}/' $TMP/bad.yaml >$TMP/p.yaml &&
	test_must_fail $CAMLAB check $TMP/p.yaml 2>$TMP/err &&
	test_grep \"ablation over 'method.gradcam.eigen_smooth' needs several values of parameter 'eigen_smooth'\" $TMP/err
"

test_expect_success 'the JSON schema and camlab help know the key' "
	$CAMLAB help schema >$TMP/schema.json &&
	$PY -c 'import json, sys; s = json.load(open(sys.argv[1])); d = s[\"definitions\"][\"ablation\"];
assert \"ablations\" in s[\"properties\"] and sorted(d[\"properties\"]) == [\"baseline\", \"over\"], d' $TMP/schema.json &&
	$CAMLAB help language | grep -q 'ablations'
"

test_done
