#!/bin/sh
# t90-overrides.t - values given on the command line (`camlab run spec.yaml data.limit=100`): the same
# canonical text and run keys as the spec written out with them, in YAML and in Lua; errors at the
# argument, with the nearest key; and a --sweep, killed midway and run again, that recomputes nothing
# and ends with the numbers of an uninterrupted sweep.
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
FM=/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz
[ -f $FM ] || skip_all "dataset-fashion-mnist is not installed"
command -v sqlite3 >/dev/null || skip_all "no sqlite3 command"
M=$PWD/experiments/models/fashion_mnist_cnn.pt

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
# the same spec with the overrides below written in
cat >$TMP/written.yaml <<EOS
name: ov
output: $TMP/ov
models:
  - name: fashion
    file: $M
    layers: {pre_gap: features.conv4}
data: {path: $FM, limit: 10, seed: 3}
methods: [gradcam, shapleycam]
device: cpu
EOS
cat >$TMP/spec.lua <<EOS
experiment {
  name = "ov", output = "$TMP/ov",
  models = { { name = "fashion", file = "$M", layers = { pre_gap = "features.block5" } } },
  data = { path = "$FM", limit = 20 },
  methods = { "gradcam" },
}
EOS
set -- data.limit=10 methods=gradcam,shapleycam device=cpu models.fashion.layers.pre_gap=features.conv4 data.seed=3

test_expect_success 'YAML: the canonical text of the overridden spec is that of the spec written out' "
	$CAMLAB check --canonical $TMP/written.yaml >$TMP/want &&
	$CAMLAB check --canonical $TMP/spec.yaml $* >$TMP/got &&
	cmp $TMP/want $TMP/got &&
	test_grep '^  limit 10\$' $TMP/got && test_grep '^methods gradcam shapleycam\$' $TMP/got
"

test_expect_success 'Lua: the overrides apply to the experiment table, with the same result' "
	$CAMLAB check --canonical $TMP/spec.lua $* >$TMP/got_lua &&
	sed 's/^name .*//' $TMP/want >$TMP/want_n && sed 's/^name .*//' $TMP/got_lua >$TMP/got_n &&
	cmp $TMP/want_n $TMP/got_n
"

test_expect_success 'models by index, flow values, a quoted string stays a string' "
	$CAMLAB check --canonical $TMP/spec.yaml 'models.0.layers.pre_gap=features.conv4' 'methods=[gradcam, shapleycam]' \
		'data={path: $FM, limit: 10, seed: 3}' device=cpu >$TMP/got2 &&
	cmp $TMP/want $TMP/got2 &&
	test_fails_with 'a quoted number' \"expected an integer for 'limit', not '10'\" \
		$CAMLAB check $TMP/spec.yaml 'data.limit=\"10\"'
"

test_expect_success 'the run keys are the same: a run is the same run however it was written' "
	$CAMLAB run --no-progress $TMP/spec.yaml $* 2>$TMP/run.log &&
	$CAMLAB plan $TMP/written.yaml >$TMP/plan_w &&
	test_grep '^2 runs: 2 done' $TMP/plan_w &&
	$CAMLAB plan $TMP/spec.yaml $* >$TMP/plan_o && cmp $TMP/plan_w $TMP/plan_o &&
	$CAMLAB plan $TMP/spec.yaml | test_grep '^1 runs: 0 done' /dev/stdin
"

test_expect_success 'the database keeps the overrides beside the spec text' "
	sqlite3 $TMP/ov/results.sqlite 'SELECT text FROM specs ORDER BY id DESC LIMIT 1' >$TMP/text &&
	test_grep '^#   override argument 4: data.limit=10\$' $TMP/text &&
	test_grep '^#   override argument 7: models.fashion.layers.pre_gap=features.conv4\$' $TMP/text
"

test_expect_success 'an unknown key: its argument, the nearest key (YAML and Lua alike)' "
	for f in spec.yaml spec.lua; do
		$CAMLAB check $TMP/\$f data.limit=3 data.limt=3 2>$TMP/err; test \$? -eq 1 &&
		test_grep \"^argument 4: error: unknown key 'limt' in 'data'; did you mean 'limit'\\?\\\$\" $TMP/err || exit 1
	done &&
	$CAMLAB check $TMP/spec.yaml seeed=1 2>$TMP/err2; test \$? -eq 1 &&
	test_grep \"^argument 3: error: unknown key 'seeed'; did you mean 'seed'\\?\" $TMP/err2 &&
	$CAMLAB check $TMP/spec.yaml limit=1 2>$TMP/err3; test \$? -eq 1 &&
	test_grep \"^argument 3: error: unknown key 'limit': it is a key of 'data'\" $TMP/err3 &&
	$CAMLAB check $TMP/spec.yaml models.fashion.layer.pre_gap.paht=x 2>$TMP/err4; test \$? -eq 1 &&
	test_grep \"^argument 3: error: unknown key 'paht' in 'layers'; did you mean 'path'\\?\" $TMP/err4
"

test_expect_success 'a wrong value or name: the argument, as if written in the file' "
	$CAMLAB check $TMP/spec.yaml data.limit=x 2>$TMP/e1; test \$? -eq 1 &&
	test_grep \"^argument 3: error: expected an integer for 'limit', not 'x'\" $TMP/e1 &&
	$CAMLAB check $TMP/spec.yaml methods=gradcam,shapleycm 2>$TMP/e2; test \$? -eq 1 &&
	test_grep \"^argument 3: error: unknown method 'shapleycm'; did you mean 'shapleycam'\\?\" $TMP/e2 &&
	$CAMLAB check $TMP/spec.yaml models.fashon.file=x 2>$TMP/e3; test \$? -eq 1 &&
	test_grep \"^argument 3: error: no item 'fashon' in 'models'\" $TMP/e3 &&
	$CAMLAB check $TMP/spec.yaml 'data.limit=[1' 2>$TMP/e4; test \$? -eq 1 &&
	test_grep '^argument 3:[0-9:]* error: while parsing a flow sequence' $TMP/e4
"

test_expect_success 'the argument is counted as the user typed it, options included' "
	$CAMLAB run --no-progress --limit 1 $TMP/spec.yaml data.limt=2 2>$TMP/e5; test \$? -eq 1 &&
	test_grep '^argument 6: error: unknown key .limt.' $TMP/e5 &&
	$CAMLAB plan $TMP/spec.yaml --sweep data.limt=1,2 2>$TMP/e6; test \$? -eq 1 &&
	test_grep '^argument 4: error: unknown key .limt.' $TMP/e6
"

# A sweep over the utility: two points, each its own runs, in one database.
cat >$TMP/sweep.yaml <<EOS
name: sweep
batch: 25
models:
  - name: fashion
    file: $M
    layers: {pre_gap: features.block5}
data: {path: $FM, limit: 200}
methods: [gradcam]
utilities: [rest]
metrics: all
EOS
rows() { sqlite3 "$1/results.sqlite" 'SELECT count(*) FROM images' 2>/dev/null || echo 0; }

test_expect_success 'a sweep: one experiment per value, every point checked before any runs' "
	$CAMLAB plan $TMP/sweep.yaml output=$TMP/clean --sweep utilities=rest,logit >$TMP/splan &&
	test_grep '^# sweep point 2 of 2: utilities=logit' $TMP/splan &&
	test \$(grep -c '^1 runs: 0 done' $TMP/splan) -eq 2 &&
	$CAMLAB run --no-progress $TMP/sweep.yaml output=$TMP/bad --sweep utilities=rest,lgit 2>$TMP/sbad; test \$? -eq 1 &&
	test_grep \"unknown utility 'lgit'\" $TMP/sbad && ! test -e $TMP/bad/results.sqlite
"

test_expect_success 'an uninterrupted sweep' "
	$CAMLAB run --no-progress $TMP/sweep.yaml output=$TMP/clean --sweep utilities=rest,logit 2>$TMP/clean.log &&
	test_grep 'sweep point 2 of 2: utilities=logit' $TMP/clean.log &&
	test \$(rows $TMP/clean) -eq 400
"

test_expect_success 'a sweep killed midway, then run again: nothing recomputed, the same numbers' "
	$CAMLAB run --no-progress $TMP/sweep.yaml output=$TMP/killed --sweep utilities=rest,logit 2>$TMP/killed.log &
	pid=\$!
	i=0; while [ \$(rows $TMP/killed) -lt 75 ] && [ \$i -lt 600 ]; do sleep 0.1; i=\$((i + 1)); done
	kill -9 \$pid; wait \$pid 2>/dev/null
	n=\$(rows $TMP/killed); echo \"rows after the kill: \$n\" &&
	test \$n -ge 75 && test \$n -lt 400 &&
	sqlite3 $TMP/killed/results.sqlite 'SELECT rowid, run_key, idx, ad FROM images ORDER BY rowid' >$TMP/before &&
	$CAMLAB run --no-progress $TMP/sweep.yaml output=$TMP/killed --sweep utilities=rest,logit 2>$TMP/resume.log &&
	test \$(rows $TMP/killed) -eq 400 &&
	sqlite3 $TMP/killed/results.sqlite 'SELECT rowid, run_key, idx, ad FROM images ORDER BY rowid' | head -n \$n >$TMP/after &&
	cmp $TMP/before $TMP/after &&
	q='SELECT r.utility, a.n, a.ad, a.coh, a.com, a.adcc, a.ic, a.add_ FROM aggregates a JOIN runs r ON r.key = a.run_key ORDER BY 1' &&
	sqlite3 $TMP/clean/results.sqlite \"\$q\" >$TMP/a && sqlite3 $TMP/killed/results.sqlite \"\$q\" >$TMP/b &&
	cat $TMP/a && test \$(wc -l <$TMP/a) -eq 2 && cmp $TMP/a $TMP/b &&
	q='SELECT r.utility, i.idx, i.class, i.ad, i.coh, i.add_ FROM images i JOIN runs r ON r.key = i.run_key ORDER BY 1, 2' &&
	sqlite3 $TMP/clean/results.sqlite \"\$q\" >$TMP/ia && sqlite3 $TMP/killed/results.sqlite \"\$q\" >$TMP/ib && cmp $TMP/ia $TMP/ib &&
	$CAMLAB run --no-progress $TMP/sweep.yaml output=$TMP/killed --sweep utilities=rest,logit 2>$TMP/again.log &&
	test \$(grep -c 'already done' $TMP/again.log) -eq 2
"

test_done
