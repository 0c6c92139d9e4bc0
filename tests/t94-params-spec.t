#!/bin/sh
# t94-params-spec.t - parameters of methods, utilities and metrics in a spec ({kpcacam: {gamma: 0.5}}):
# YAML and Lua give the same canonical text; the label shows only non-default values, in the table's
# order; errors point at the parameter with a "did you mean"; `camlab help` and the JSON schema know
# them; cam/params.c's table agrees with the C defaults (tests/unit/test_params.c).
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
UNIT=$BUILD/tests/test_params
need_built "$UNIT"
M=$PWD/experiments/models/fashion_mnist_cnn.pt
D=/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz

test_expect_success 'the table agrees with the C defaults; values parse to canonical text (unit test)' "
	$UNIT >$TMP/unit.out; st=\$?; cat $TMP/unit.out; test \$st = 0 && ! grep '^not ok' $TMP/unit.out
"

cat >$TMP/p.yaml <<EOF
name: p
models: [{file: $M, layers: {pre_gap: features.block5}}]
data: $D
methods: [gradcam, {kpcacam: {gamma: 0.50, kernel: rbf}}, {gradcam: {eigen_smooth: yes}}, {fem: {k: 2}}, {fem: {k: 1.0}}]
utilities: [rest, {finer: {ranks: [1, 2], alpha: 2}}, {finer: {alpha: 1}}]
metrics: [ad, {road: {percentiles: [10, 50.0, 90], noise: 0}}, {insertion: {steps: 50}}, {arcc: ~}]
grid:
  exclude: [{method: 'kpcacam(kernel=rbf, gamma=0.5)', utility: 'finer(alpha=2, ranks=[1,2])'}]
EOF
cat >$TMP/p.lua <<EOF
experiment {
  name = "p",
  models = { { file = "$M", layers = { pre_gap = "features.block5" } } },
  data = "$D",
  methods = { "gradcam", { kpcacam = { kernel = "rbf", gamma = 0.5 } }, { gradcam = { eigen_smooth = true } },
              { fem = { k = 2 } }, { fem = { k = 1 } } },
  utilities = { "rest", { finer = { alpha = 2.0, ranks = { 1, 2 } } }, { finer = {} } },
  metrics = { "ad", { road = { percentiles = { 10, 50, 90 }, noise = 0.0 } }, { insertion = { steps = 50 } }, "arcc" },
  grid = { exclude = { { method = "kpcacam(kernel=rbf, gamma=0.5)", utility = "finer(alpha=2, ranks=[1,2])" } } },
}
EOF

test_expect_success 'YAML and Lua: the same canonical text, labels with the non-default values in table order' "
	$CAMLAB check --canonical $TMP/p.yaml >$TMP/yaml 2>$TMP/yaml.err &&
	$CAMLAB check --canonical $TMP/p.lua >$TMP/lua 2>$TMP/lua.err &&
	sed 's/\.lua\$//' $TMP/lua >$TMP/lua2 && sed 's/\.yaml\$//' $TMP/yaml >$TMP/yaml2 &&
	diff -u $TMP/yaml2 $TMP/lua2 &&
	cat >$TMP/want <<-'EOS' &&
	methods gradcam \"kpcacam(kernel=rbf, gamma=0.5)\" \"gradcam(eigen_smooth=true)\" fem \"fem(k=1)\"
	utilities rest \"finer(alpha=2, ranks=[1,2])\" finer
	metrics ad \"road(percentiles=[10,50,90], noise=0)\" \"insertion(steps=50)\" arcc
	exclude model=- layer=- method=\"kpcacam(kernel=rbf, gamma=0.5)\" utility=\"finer(alpha=2, ranks=[1,2])\" target=-
	EOS
	grep -E '^(methods|utilities|metrics|exclude) ' $TMP/yaml >$TMP/got && diff -u $TMP/want $TMP/got
"

test_expect_success 'a default value written is none: {fem: {k: 2.0}} is fem, a duplicate of it' "
	sed -e 's/^methods: .*/methods: [fem, {fem: {k: 2.0}}]/' -e '/^grid:/,\$d' $TMP/p.yaml >$TMP/dup.yaml &&
	$CAMLAB check --canonical $TMP/dup.yaml >$TMP/out 2>$TMP/err &&
	grep 'warning: duplicate method .fem.' $TMP/err && grep -x 'methods fem' $TMP/out
"

test_expect_success 'two variants of a method and of a utility are runs with their own keys' "
	$CAMLAB plan $TMP/p.yaml >$TMP/plan &&
	grep -c 'fem(k=1)' $TMP/plan >$TMP/n && test \$(cat $TMP/n) = 3 &&
	grep 'kpcacam(kernel=rbf, gamma=0.5)' $TMP/plan >$TMP/k && test \$(wc -l <$TMP/k) = 2 &&
	! grep 'finer(alpha=2, ranks=\[1,2\])' $TMP/k &&
	awk '{print \$1}' $TMP/plan | sort | uniq -d >$TMP/dups && test ! -s $TMP/dups
"

cat >$TMP/bad.yaml <<EOF
models: [{file: $M, layers: {pre_gap: features.block5}}]
data: $D
methods: [gradcam, {kpcacam: {kernel: rfb, gama: 0.5}}, {gradcam: {gamma: 1}}, {fem: 3}, {fem: {k: [1, 2]}}]
utilities: [{finer: {alpha: x, ranks: [0, 2]}}, {logit: {alpha: 1}}, {rest: {a: 1}, x: 2}]
metrics: [ad, {road: {percentiles: [10, 150]}}, {insertion: {steps: 5.5}}, {all: {steps: 1}}, road, {road: {noise: 0}}]
EOF
cat >$TMP/bad.lua <<EOF
experiment {
  models = { { file = "$M", layers = { pre_gap = "features.block5" } } },
  data = "$D",
  methods = { "gradcam", { kpcacam = { kernel = "rfb", gama = 0.5 } }, { gradcam = { gamma = 1 } }, { fem = 3 },
              { fem = { k = { 1, 2 } } } },
  metrics = { "ad", { road = { percentiles = { 10, 150 } } }, { insertion = { steps = 5.5 } } },
  utilities = { "rest", { finer = { ranks = { 1, 2 } } }, { a = 1, b = 2 } },
}
EOF

test_expect_success 'YAML: each bad parameter at its position, with the nearest name' "
	cat >$TMP/want <<-EOS &&
	$TMP/bad.yaml:3:39: error: parameter 'kernel' of method 'kpcacam': unknown kernel 'rfb'; did you mean 'rbf'?
	$TMP/bad.yaml:3:44: error: unknown parameter 'gama' of method 'kpcacam'; did you mean 'gamma'?
	$TMP/bad.yaml:3:68: error: unknown parameter 'gamma' of method 'gradcam' (it has aug_smooth, eigen_smooth)
	$TMP/bad.yaml:3:86: error: expected the parameters of 'fem' as a mapping, not a scalar
	$TMP/bad.yaml:3:100: error: parameter 'k' of method 'fem': expected a number in [-1000000, 1000000], not '1,2'
	$TMP/bad.yaml:4:29: error: parameter 'alpha' of utility 'finer': expected a number in [-1000000, 1000000], not 'x'
	$TMP/bad.yaml:4:39: error: parameter 'ranks' of utility 'finer': expected an integer in [1, 100000], not '0'
	$TMP/bad.yaml:4:58: error: unknown parameter 'alpha': utility 'logit' has no parameters
	$TMP/bad.yaml:4:70: error: expected a name or {name: {parameters}} in 'utilities', not a mapping of 2 keys
	$TMP/bad.yaml:5:36: error: parameter 'percentiles' of metric 'road': expected a number in [0, 100], not '150'
	$TMP/bad.yaml:5:69: error: parameter 'steps' of metric 'insertion': expected an integer in [1, 10000], not '5.5'
	$TMP/bad.yaml:5:83: error: 'all' takes no parameters; give them to each metric
	$TMP/bad.yaml:5:102: error: metric 'road' is given twice with other parameters ('road' and 'road(noise=0)'); a run keeps one value of it per image
	EOS
	test_must_fail $CAMLAB check $TMP/bad.yaml 2>$TMP/err; cat $TMP/err;
	diff -u $TMP/want $TMP/err
"

# 7:59, not 7:50: an item after one with a nested list is placed past it (lua_pos.c's item_end took the
# nested list's comma for the end of the item)
test_expect_success 'Lua: the same problems, where the Lua spec has them' "
	cat >$TMP/want <<-EOS &&
	$TMP/bad.lua:4:40: error: parameter 'kernel' of method 'kpcacam': unknown kernel 'rfb'; did you mean 'rbf'?
	$TMP/bad.lua:4:56: error: unknown parameter 'gama' of method 'kpcacam'; did you mean 'gamma'?
	$TMP/bad.lua:4:86: error: unknown parameter 'gamma' of method 'gradcam' (it has aug_smooth, eigen_smooth)
	$TMP/bad.lua:4:103: error: expected the parameters of 'fem' as a mapping, not a number
	$TMP/bad.lua:5:25: error: parameter 'k' of method 'fem': expected a number in [-1000000, 1000000], not '1,2'
	$TMP/bad.lua:6:32: error: parameter 'percentiles' of metric 'road': expected a number in [0, 100], not '150'
	$TMP/bad.lua:6:79: error: parameter 'steps' of metric 'insertion': expected an integer in [1, 10000], not '5.5'
	$TMP/bad.lua:7:59: error: expected a name or {name: {parameters}} in 'utilities', not a mapping of 2 keys
	EOS
	test_must_fail $CAMLAB check $TMP/bad.lua 2>$TMP/err; cat $TMP/err;
	diff -u $TMP/want $TMP/err
"

test_expect_success 'a definition takes no table parameters; check --format json keeps the suggestion' "
	cat >$TMP/def.yaml <<-EOF &&
	models: [{file: $M, layers: {pre_gap: features.block5}}]
	data: $D
	methods: [{mine: {k: 1}}, {kpcacam: {kernal: rbf}}]
	define: {methods: {mine: 'return function(A, G, HA) return A:sum(2) end'}}
	EOF
	test_must_fail $CAMLAB check $TMP/def.yaml 2>$TMP/err; cat $TMP/err &&
	grep \"3:19: error: method 'mine' is defined in the spec: parameters are for camlab's built-in methods\" $TMP/err &&
	test_must_fail $CAMLAB check --format json $TMP/def.yaml >$TMP/j.json &&
	grep '\"suggestion\": \"kernel\"' $TMP/j.json
"

test_expect_success 'camlab help lists each parameter with its default' "
	$CAMLAB help methods >$TMP/h && grep -E '^    kernel +sigmoid\|rbf\|poly\|linear\|cosine, default sigmoid' $TMP/h &&
	grep -E '^    k +a number, default 2' $TMP/h && grep -E '^    eigen_smooth +true or false, default false' $TMP/h &&
	$CAMLAB help utilities | grep -E '^    ranks +a list of integers, default 1,2,3' &&
	$CAMLAB help metrics >$TMP/h && grep -E '^    percentiles +a list of numbers, default 10,20,30,40,50,60,70,80,90' $TMP/h &&
	grep -E '^    noise +a number, default 0.01' $TMP/h && grep -E '^    steps +an integer, default 100' $TMP/h
"

if "$PY" -c 'import jsonschema, yaml' 2>/dev/null; then
	test_expect_success 'the JSON schema accepts parameterised entries and rejects bad ones' "
		$CAMLAB help schema >$TMP/schema.json &&
		$PY - $TMP/schema.json $TMP/p.yaml <<-'PYEOF'
		import json, sys, yaml, jsonschema
		v = jsonschema.Draft7Validator(json.load(open(sys.argv[1])))
		good = yaml.safe_load(open(sys.argv[2]))
		assert not list(v.iter_errors(good)), list(v.iter_errors(good))[0].message
		for bad in ['methods: [{kpcacam: {kernel: rfb}}]', 'methods: [{kpcacam: {gama: 1}}]',
		            'methods: [{gradcam: {eigen_smooth: 3}}]', 'utilities: [{finer: {ranks: [0]}}]',
		            'metrics: [{road: {percentiles: [150]}}]', 'metrics: [{insertion: {steps: 0.5}}]',
		            'methods: [{a: 1, b: 2}]']:
		    d = dict(good, **yaml.safe_load(bad))
		    assert list(v.iter_errors(d)), bad
		PYEOF
	"
else
	test_skip 'the JSON schema' "$PY lacks jsonschema or yaml"
fi

test_done
