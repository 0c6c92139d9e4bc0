#!/bin/sh
# t46-devices-oom.t - scheduling and memory: `camlab run --devices A,B` runs one worker process per
# device, sharing the runs, into the one database, with the numbers of a single-process run; a device out
# of memory (simulated with CAMLAB_TEST_OOM_ABOVE, as a GPU's would be) halves the batch and goes on.
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
FM=/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz
[ -f $FM ] || skip_all "dataset-fashion-mnist is not installed"
command -v sqlite3 >/dev/null || skip_all "no sqlite3 command"

spec() { # spec NAME
	cat >"$TMP/$1.yaml" <<EOS
name: $1
output: $TMP/$1
batch: 24
models: [{name: fashion, file: $PWD/experiments/models/fashion_mnist_cnn.pt, layers: {pre_gap: features.block5}}]
data: {path: $FM, limit: 96}
methods: [gradcam, shapleycam, layercam]
utilities: [logit, softmax, rest]
EOS
}
agg() { sqlite3 "$1/results.sqlite" 'SELECT r.method, r.utility, a.n, round(a.ad, 6), round(a.coh, 6), round(a.add_, 6) FROM aggregates a JOIN runs r ON r.key = a.run_key ORDER BY 1, 2'; }
for n in one two oom; do spec $n; done

test_expect_success 'a single process' "
	$CAMLAB run --no-progress $TMP/one.yaml 2>$TMP/one.log && agg $TMP/one >$TMP/one.agg && test \$(wc -l <$TMP/one.agg) -eq 9
"

test_expect_success 'two workers share the runs and write one database' "
	$CAMLAB run --no-progress --devices cpu,cpu $TMP/two.yaml 2>$TMP/two.log && cat $TMP/two.log &&
	test_grep '^worker 0 on cpu' $TMP/two.log && test_grep '^worker 1 on cpu' $TMP/two.log &&
	test \$(grep -c '^runs ' $TMP/two.log) -eq 3 &&
	agg $TMP/two >$TMP/two.agg && cmp $TMP/one.agg $TMP/two.agg &&
	$CAMLAB plan $TMP/two.yaml | test_grep '^9 runs: 9 done' /dev/stdin
"

test_expect_success 'out of memory halves the batch and the run goes on to the same numbers' "
	CAMLAB_TEST_OOM_ABOVE=7 $CAMLAB run --no-progress $TMP/oom.yaml 2>$TMP/oom.log && cat $TMP/oom.log &&
	test_grep 'out of memory with 24 images: continuing with batches of 12' $TMP/oom.log &&
	test_grep 'continuing with batches of 6' $TMP/oom.log &&
	agg $TMP/oom >$TMP/oom.agg && test \$(wc -l <$TMP/oom.agg) -eq 9 &&
	sqlite3 $TMP/oom/results.sqlite 'SELECT count(*) FROM images' | test_grep '^864\$' /dev/stdin
"

test_expect_success 'a bad device list is an error' "
	test_must_fail $CAMLAB run --no-progress --devices cpu,tpu $TMP/one.yaml 2>$TMP/err &&
	test_grep \"unsupported device 'tpu'\" $TMP/err
"

test_done
