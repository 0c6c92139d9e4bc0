#!/bin/sh
# t48-precision.t - the speed options of an experiment (and the run's account of where its time went): `precision: bf16` runs the model's forwards under
# autocast (results close to fp32 but not equal, under their own run keys), `channels_last: true` changes
# memory order only (fp32 results equal), `batch: auto` is valid (8 on a CPU); bad values are spec errors.
# On a CPU; tests/t47-gpu.t repeats the comparison on a CUDA device.
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
FM=/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz
[ -f $FM ] || skip_all "dataset-fashion-mnist is not installed"
command -v sqlite3 >/dev/null || skip_all "no sqlite3 command"

spec() { # spec NAME EXTRA-LINES
	cat >"$TMP/$1.yaml" <<EOS
name: $1
output: $TMP/$1
models: [{name: fashion, file: $PWD/experiments/models/fashion_mnist_cnn.pt, layers: {pre_gap: features.block5}}]
data: {path: $FM, limit: 64}
methods: [gradcam, shapleycam, hirescam]
utilities: [rest]
$2
EOS
}
agg() { sqlite3 "$1/results.sqlite" 'SELECT r.method, a.n, a.ad, a.coh, a.com, a.ic, a.add_ FROM aggregates a JOIN runs r ON r.key = a.run_key ORDER BY 1'; }
keys() { sqlite3 "$1/results.sqlite" 'SELECT key FROM runs ORDER BY key'; }
# max |a - b| over the numeric columns of two agg outputs (same row order)
maxdiff() { paste -d'|' "$1" "$2" | awk -F'|' '{ for (i = 2; i <= 7; i++) { d = $i - $(i + 7); if (d < 0) d = -d; if (d > m) m = d } } END { printf "%.9f\n", m }'; }

spec fp32 ""
spec bf16 "precision: bf16"
spec cl "channels_last: true
batch: auto"

test_expect_success 'fp32 and bf16 runs' "
	$CAMLAB run --no-progress $TMP/fp32.yaml 2>$TMP/fp32.log && agg $TMP/fp32 >$TMP/fp32.agg &&
	$CAMLAB run --no-progress $TMP/bf16.yaml 2>$TMP/bf16.log && agg $TMP/bf16 >$TMP/bf16.agg &&
	test \$(wc -l <$TMP/bf16.agg) -eq 3 && cat $TMP/fp32.agg $TMP/bf16.agg &&
	test_grep 'images/s, [0-9.]+ after the first batch \(waiting for images [0-9.]+ s, pass [0-9.]+ s, maps and metrics [0-9.]+ s, database [0-9.]+ s\)' $TMP/fp32.log
"

test_expect_success 'the tables say which numbers were computed in bf16, and only those' "
	test_grep 'computed in bf16 \(autocast\)' $TMP/bf16/report/tables/methods.fashion.pre_gap.rest.predicted.md &&
	! grep -q 'computed in' $TMP/fp32/report/tables/methods.fashion.pre_gap.rest.predicted.md
"

test_expect_success 'bf16 results have their own run keys' "
	keys $TMP/fp32 >$TMP/k1 && keys $TMP/bf16 >$TMP/k2 && ! cmp -s $TMP/k1 $TMP/k2 &&
	sqlite3 $TMP/bf16/results.sqlite 'SELECT config FROM runs' | test_grep '^precision=bf16' /dev/stdin
"

test_expect_success 'bf16 is autocast: close to fp32 (< 0.05 on every mean) but not equal' "
	d=\$(maxdiff $TMP/fp32.agg $TMP/bf16.agg) && echo max difference \$d &&
	awk -v d=\$d 'BEGIN { exit !(d > 0 && d < 0.05) }'
"

test_expect_success 'channels_last and batch: auto leave fp32 results unchanged (1e-5)' "
	$CAMLAB run --no-progress $TMP/cl.yaml 2>$TMP/cl.log && agg $TMP/cl >$TMP/cl.agg &&
	keys $TMP/cl >$TMP/k3 && cmp $TMP/k1 $TMP/k3 &&
	d=\$(maxdiff $TMP/fp32.agg $TMP/cl.agg) && echo max difference \$d &&
	awk -v d=\$d 'BEGIN { exit !(d < 1e-5) }'
"

test_expect_success 'the canonical text names precision, channels_last and batch auto' "
	$CAMLAB check --canonical $TMP/cl.yaml >$TMP/canon && test_grep '^batch auto\$' $TMP/canon &&
	test_grep '^channels_last 1\$' $TMP/canon &&
	$CAMLAB check --canonical $TMP/bf16.yaml | test_grep '^precision bf16\$' /dev/stdin &&
	$CAMLAB check --canonical $TMP/fp32.yaml | test_grep '^batch 8\$' /dev/stdin
"

cat >"$TMP/bad.yaml" <<EOS
name: bad
models: [{name: fashion, file: $PWD/experiments/models/fashion_mnist_cnn.pt, layers: {pre_gap: features.block5}}]
data: $FM
precision: bf61
batch: automatic
channels_last: maybe
EOS
test_expect_success 'a misspelt precision, a bad batch and a bad flag are errors with positions' "
	test_must_fail $CAMLAB check $TMP/bad.yaml >$TMP/err 2>&1; cat $TMP/err &&
	test_grep \"bad.yaml:4:12: error: unknown precision 'bf61'; did you mean 'bf16'\" $TMP/err &&
	test_grep \"bad.yaml:5:8: error: expected an integer for 'batch', not 'automatic'\" $TMP/err &&
	test_grep \"bad.yaml:6:16: error: expected true or false for 'channels_last'\" $TMP/err
"

spec fp16 "precision: fp16"
spec tf32 "precision: tf32"
test_expect_success 'fp16 and tf32 on a CPU are errors that say what to use' "
	test_must_fail $CAMLAB check $TMP/fp16.yaml >$TMP/err 2>&1; cat $TMP/err &&
	test_grep \"precision fp16 needs a CUDA device; on 'cpu' use bf16\" $TMP/err &&
	test_must_fail $CAMLAB check $TMP/tf32.yaml >$TMP/err 2>&1; cat $TMP/err &&
	test_grep \"precision tf32 needs a CUDA device; on 'cpu' use fp32 or bf16\" $TMP/err
"

cat >"$TMP/twin.lua" <<EOS
experiment {
  name = "cl",
  output = "$TMP/cl",
  models = { { name = "fashion", file = "$PWD/experiments/models/fashion_mnist_cnn.pt",
               layers = { pre_gap = "features.block5" } } },
  data = { path = "$FM", limit = 64 },
  methods = { "gradcam", "shapleycam", "hirescam" },
  utilities = { "rest" },
  channels_last = true,
  batch = "auto",
}
EOS
test_expect_success 'the Lua front end reads the same keys to the same canonical text' "
	$CAMLAB check --canonical $TMP/twin.lua >$TMP/canon.lua &&
	grep -v '^file ' $TMP/canon >$TMP/a && grep -v '^file ' $TMP/canon.lua >$TMP/b && diff $TMP/a $TMP/b
"

test_done
