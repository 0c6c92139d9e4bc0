#!/bin/sh
# t46-devices-oom.t - scheduling and memory: `camlab run --devices A,B` runs one worker process per
# device, each taking chunks of every group's images while any are left, into the one database, with the
# numbers of a single-process run (--limit counts for all workers together); a device out
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
# running SPEC: a camlab process whose arguments name SPEC is alive (from /proc: procps may be missing)
running() {
	for f in /proc/[0-9]*/cmdline; do
		case "$(tr '\0' ' ' <"$f" 2>/dev/null)" in */camlab\ *"$1"*) return 0 ;; esac
	done
	return 1
}
agg() { sqlite3 "$1/results.sqlite" 'SELECT r.method, r.utility, a.n, round(a.ad, 6), round(a.coh, 6), round(a.add_, 6) FROM aggregates a JOIN runs r ON r.key = a.run_key ORDER BY 1, 2'; }
for n in one two lim oom log0 log1 log2 kill one480 pk; do spec $n; done
# 480 images where both workers must have work whatever their start-up: the one that starts later still
# finds most of a group's chunks untaken
for n in two kill one480 pk; do sed -i 's/limit: 96/limit: 480/' $TMP/$n.yaml; done

test_expect_success 'a single process (96 and 480 images)' "
	$CAMLAB run --no-progress $TMP/one.yaml 2>$TMP/one.log && agg $TMP/one >$TMP/one.agg && test \$(wc -l <$TMP/one.agg) -eq 9 &&
	$CAMLAB run --no-progress $TMP/one480.yaml 2>$TMP/one480.log && agg $TMP/one480 >$TMP/one480.agg
"

# images IMAGES-PER-GROUP LOG: every group's images, summed over the workers' log lines, and that
# each worker did some
images() {
	sed -n 's/^runs \([0-9-]*\)\/.*, worker \([0-9]\) on cpu: \([0-9]*\) image.*/\1 \2 \3/p' "$2" >$TMP/lines &&
	cat $TMP/lines &&
	test "$(awk '{ n[$1] += $3 } END { for (g in n) print g, n[g] }' $TMP/lines | sort)" = \
		"$(printf '1-3 %s\n4-6 %s\n7-9 %s' $1 $1 $1)" &&
	test "$(awk '$3 > 0 { print $2 }' $TMP/lines | sort -u | tr -d '\n')" = 01
}

test_expect_success 'two workers share the runs and write one database' "
	$CAMLAB run --no-progress --devices cpu,cpu $TMP/two.yaml 2>$TMP/two.log && cat $TMP/two.log &&
	test_grep '^worker 0 on cpu' $TMP/two.log && test_grep '^worker 1 on cpu' $TMP/two.log &&
	images 480 $TMP/two.log &&
	agg $TMP/two >$TMP/two.agg && cmp $TMP/one480.agg $TMP/two.agg &&
	$CAMLAB plan $TMP/two.yaml | test_grep '^9 runs: 9 done' /dev/stdin
"

test_expect_success 'two workers with --limit store that many images per run together, then resume' "
	$CAMLAB run --no-progress --devices cpu,cpu --limit 30 $TMP/lim.yaml 2>$TMP/lim.log &&
	sqlite3 $TMP/lim/results.sqlite 'SELECT count(*) FROM images GROUP BY run_key' | sort -u >$TMP/lim.n &&
	test_grep '^30\$' $TMP/lim.n && test \$(wc -l <$TMP/lim.n) -eq 1 &&
	$CAMLAB plan $TMP/lim.yaml | test_grep '^9 runs: 0 done, 9 partial' /dev/stdin &&
	$CAMLAB run --no-progress --devices cpu,cpu $TMP/lim.yaml 2>>$TMP/lim.log &&
	agg $TMP/lim >$TMP/lim.agg && cmp $TMP/one.agg $TMP/lim.agg &&
	$CAMLAB plan $TMP/lim.yaml | test_grep '^9 runs: 9 done' /dev/stdin
"

test_expect_success 'without a bar, --log-every S prints the progress every S seconds; 0 prints none' "
	$CAMLAB run --no-progress --log-every 0.05 $TMP/log1.yaml 2>$TMP/log1.log &&
	test_grep '^\[run [1-9]/9\] fashion/pre_gap .* [0-9]*/96 images .* img/s' $TMP/log1.log &&
	$CAMLAB run --no-progress --log-every 0.05 --devices cpu,cpu $TMP/log2.yaml 2>$TMP/log2.log &&
	test_grep '^\[2 workers\] [0-9]*/864 image results stored' $TMP/log2.log &&
	$CAMLAB run --no-progress --log-every 0 --devices cpu,cpu $TMP/log0.yaml 2>$TMP/log0.log &&
	! grep -q '^\[' $TMP/log0.log &&
	test_must_fail $CAMLAB run --log-every soon $TMP/log0.yaml 2>$TMP/err &&
	test_grep \"log-every needs a number of seconds, not 'soon'\" $TMP/err
"

# the killed worker has taken chunks of 30 images beyond its first batch of 24: some are lost with it
test_expect_success 'a worker killed mid-run: the other finishes, the run says so, a rerun completes it' "
	CAMLAB_TEST_KILL_WORKER=1:1 $CAMLAB run --no-progress --devices cpu,cpu $TMP/kill.yaml 2>$TMP/kill.log;
	test \$? -eq 1 && cat $TMP/kill.log &&
	test_grep \"the worker on 'cpu' died \\(signal 9\\)\" $TMP/kill.log &&
	$CAMLAB plan $TMP/kill.yaml | test_grep '^9 runs: [0-9] done, [1-9] partial' /dev/stdin &&
	$CAMLAB run --no-progress --devices cpu,cpu $TMP/kill.yaml 2>>$TMP/kill.log &&
	agg $TMP/kill >$TMP/kill.agg && cmp $TMP/one480.agg $TMP/kill.agg &&
	$CAMLAB plan $TMP/kill.yaml | test_grep '^9 runs: 9 done' /dev/stdin
"

test_expect_success 'a second run on a folder in use is refused; the parent killed, its workers end with it' "
	$CAMLAB run --no-progress --devices cpu,cpu $TMP/pk.yaml 2>$TMP/pk.log &
	pid=\$! && i=0 &&
	while ! grep -q '^worker 1 on cpu' $TMP/pk.log && [ \$i -lt 300 ]; do sleep 0.1; i=\$((i + 1)); done &&
	test_must_fail $CAMLAB run --no-progress $TMP/pk.yaml 2>$TMP/pk2.err &&
	test_grep 'another process is running on this output folder \\(.*/pk/lock is locked\\): not starting a second one' $TMP/pk2.err &&
	kill -9 \$pid && { wait \$pid; true; } && i=0 &&
	while running $TMP/pk.yaml && [ \$i -lt 50 ]; do sleep 0.1; i=\$((i + 1)); done &&
	! running $TMP/pk.yaml &&
	$CAMLAB run --no-progress --devices cpu,cpu $TMP/pk.yaml 2>>$TMP/pk.log &&
	agg $TMP/pk >$TMP/pk.agg && cmp $TMP/one480.agg $TMP/pk.agg
"

test_expect_success 'out of memory halves the batch and the run goes on to the same numbers' "
	CAMLAB_TEST_OOM_ABOVE=7 $CAMLAB run --no-progress $TMP/oom.yaml 2>$TMP/oom.log && cat $TMP/oom.log &&
	test_grep 'out of memory with 24 images: continuing with batches of 12' $TMP/oom.log &&
	test_grep 'continuing with batches of 6' $TMP/oom.log &&
	agg $TMP/oom >$TMP/oom.agg && test \$(wc -l <$TMP/oom.agg) -eq 9 &&
	sqlite3 $TMP/oom/results.sqlite 'SELECT count(*) FROM images' | test_grep '^864\$' /dev/stdin
"

# rc B: RandomCAM alone in batches of B, its per-image rows to $TMP/rcB.rows
rc() {
	sed -e "s/^batch: 24/batch: $1/" -e 's/^methods: .*/methods: [randomcam]/' -e "s|$TMP/one|$TMP/rc$1|" \
		-e "s/^name: one/name: rc$1/" $TMP/one.yaml >$TMP/rc$1.yaml &&
	$CAMLAB run --no-progress $TMP/rc$1.yaml 2>$TMP/rc$1.log &&
	sqlite3 $TMP/rc$1/results.sqlite 'SELECT idx, round(ad, 6), round(coh, 6), round(com, 6) FROM images ORDER BY run_key, idx' >$TMP/rc$1.rows
}
test_expect_success 'RandomCAM draws every image its own weights: batches of 24 and 5 give the same maps' "
	rc 24 && rc 5 && test \$(wc -l <$TMP/rc24.rows) -eq 288 && cmp $TMP/rc24.rows $TMP/rc5.rows
"

test_expect_success 'a bad device list is an error' "
	test_must_fail $CAMLAB run --no-progress --devices cpu,tpu $TMP/one.yaml 2>$TMP/err &&
	test_grep \"unsupported device 'tpu'\" $TMP/err
"

test_done
