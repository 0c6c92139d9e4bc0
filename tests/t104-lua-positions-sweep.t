#!/bin/sh
# t104-lua-positions-sweep.t - a Lua spec's wrong value that came from the command line points at the
# argument, and one from an included file at that file's line:col with the chain of includes, as in YAML
# (t90, t91); `camlab submit --sweep` checks every point, then submits one array whose tasks run every
# point (scripts quoted), and a resubmitted sweep resumes: its run keys are `camlab plan --sweep`'s.
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
FM=/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz
[ -f $FM ] || skip_all "dataset-fashion-mnist is not installed"
command -v sqlite3 >/dev/null || skip_all "no sqlite3 command"
M=$PWD/experiments/models/fashion_mnist_cnn.pt

cat >$TMP/spec.lua <<EOS
experiment {
  name = "ov", output = "$TMP/ov",
  models = { { name = "fashion", file = "$M", layers = { pre_gap = "features.block5" } } },
  data = { path = "$FM", limit = 20 },
  methods = { "gradcam" },
}
EOS
cat >$TMP/spec.yaml <<EOS
name: ov
output: $TMP/ov
models:
  - name: fashion
    file: $M
    layers: {pre_gap: features.block5}
data: {path: $FM, limit: 20}
methods: [gradcam]
EOS

test_expect_success 'Lua: a wrong value from an override is the argument'"'"'s error, as in YAML' "
	for f in spec.yaml spec.lua; do
		$CAMLAB check $TMP/\$f data.seed=x 'data.path=[1]' models.fashion.input_size=-3 methods=gradcam,shapleycm \
			'models.0.layers={pre_gap: 3}' 2>$TMP/err.\$f; test \$? -eq 1 || exit 1
		cat $TMP/err.\$f
		test_grep \"^argument 3: error: expected a non-negative integer for 'seed', not 'x'\\\$\" $TMP/err.\$f &&
		test_grep \"^argument 4: error: expected a path for 'path', not a (table|list)\\\$\" $TMP/err.\$f &&
		test_grep \"^argument 5: error: expected an integer from 0 to 65536 for 'input_size', not -3\\\$\" $TMP/err.\$f &&
		test_grep \"^argument 6: error: unknown method 'shapleycm'; did you mean 'shapleycam'\\\\?\\\$\" $TMP/err.\$f &&
		! grep -q '^/' $TMP/err.\$f || exit 1
	done
"

mkdir -p $TMP/common
printf 'return {\n  data = {\n    seed = "big" },\n  methods = { "gradcam", "shapleycm" },\n}\n' >$TMP/common/bad.lua
printf -- '-- the middle\nlocal t = include("bad.lua")\nreturn { }\n' >$TMP/common/mid.lua
cat >$TMP/inc.lua <<EOS
  include("common/mid.lua")
experiment {
  name = "inc", output = "$TMP/inc",
  models = { { name = "fashion", file = "$M", layers = { pre_gap = "features.block5" } } },
  data = { path = "$FM", limit = 20 },
}
EOS
cat >$TMP/common/model.lua <<EOS
return { models = {
  { name = "a", file = "$M", layers = { pre_gap = "features.block5" } },
  { name = "b", file = "$M",
    input_size = "big", layers = { pre_gap = "features.block5" } },
} }
EOS
cat >$TMP/inc2.lua <<EOS
include("common/model.lua")
experiment { name = "inc2", models = { "a", "b" }, data = { path = "$FM", limit = 20, seed = 1 }, methods = { "gradcam" } }
EOS

test_expect_success 'Lua: a wrong value from an included file points there, with the chain of includes' "
	$CAMLAB check $TMP/inc.lua 2>$TMP/err; test \$? -eq 1 && cat $TMP/err &&
	grep -Fx \"$TMP/common/bad.lua:3:5: error: expected a non-negative integer for 'seed', not 'big' (included from $TMP/common/mid.lua:2:11, from $TMP/inc.lua:1:3)\" $TMP/err &&
	grep -Fx \"$TMP/common/bad.lua:4:26: error: unknown method 'shapleycm'; did you mean 'shapleycam'? (included from $TMP/common/mid.lua:2:11, from $TMP/inc.lua:1:3)\" $TMP/err &&
	$CAMLAB check --format json $TMP/inc.lua | test_grep '\"file\": \"$TMP/common/bad.lua\", \"line\": 3, \"column\": 5' /dev/stdin &&
	$CAMLAB check $TMP/inc2.lua 2>$TMP/err2; test \$? -eq 1 && cat $TMP/err2 &&
	grep -Fx \"$TMP/common/model.lua:4:5: error: expected an integer for 'input_size', not 'big' (included from $TMP/inc2.lua:1:1)\" $TMP/err2
"

test_done
