#!/bin/sh
# t97-spec-text.t - the spec text a run records in its database is the very bytes camlab parsed: the
# spec is read once (dsl/load.c), not again by the runner. A spec that can be read only once (a FIFO)
# used to hang the run at the second read; a Lua spec's '#!' line, which the Lua front end blanks in its
# own copy, is recorded as written.
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
FM=/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz
[ -f $FM ] || skip_all "dataset-fashion-mnist is not installed"
command -v sqlite3 >/dev/null || skip_all "no sqlite3 (apt-get install sqlite3)"

cat >$TMP/spec.yaml <<EOS
name: text
output: $TMP/out
models: [{name: cnn, file: $PWD/experiments/models/fashion_mnist_cnn.pt, layers: {b5: features.block5}}]
data: {path: $FM, limit: 1}
methods: [randomcam]
utilities: [logit]
metrics: [ad]
EOS

test_expect_success 'a spec read from a FIFO runs, and its text is recorded' "
	mkfifo $TMP/fifo.yaml &&
	{ cat $TMP/spec.yaml >$TMP/fifo.yaml & } &&
	timeout 120 $CAMLAB run --no-progress $TMP/fifo.yaml >$TMP/run.out 2>&1 &&
	sqlite3 $TMP/out/results.sqlite 'SELECT text FROM specs' >$TMP/got &&
	printf '\n' >>$TMP/spec.yaml && cmp $TMP/got $TMP/spec.yaml
"

cat >$TMP/spec.lua <<EOS
#!/usr/bin/env camlab
return experiment {
  name = "text", output = "$TMP/lout",
  models = {{name = "cnn", file = "$PWD/experiments/models/fashion_mnist_cnn.pt", layers = {b5 = "features.block5"}}},
  data = {path = "$FM", limit = 1},
  methods = {"randomcam"}, utilities = {"logit"}, metrics = {"ad"},
}
EOS

test_expect_success "a Lua spec's first line is recorded as written" "
	$CAMLAB run --no-progress $TMP/spec.lua >$TMP/lrun.out 2>&1 &&
	sqlite3 $TMP/lout/results.sqlite 'SELECT text FROM specs' >$TMP/lgot &&
	printf '\n' >>$TMP/spec.lua && cmp $TMP/lgot $TMP/spec.lua
"

test_done
