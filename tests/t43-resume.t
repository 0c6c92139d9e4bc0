#!/bin/sh
# t43-resume.t - the results database keeps every finished batch: a run killed with kill -9 midway
# resumes where it stopped, recomputes nothing it had, and ends with exactly the numbers of an
# uninterrupted run; a changed spec makes new runs beside the old ones instead of mixing results.
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
FM=/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz
[ -f $FM ] || skip_all "dataset-fashion-mnist is not installed"
command -v sqlite3 >/dev/null || skip_all "no sqlite3 command"

spec() { # spec NAME OUTPUT UTILITY
	cat >"$TMP/$1.yaml" <<EOS
name: $1
output: $2
batch: 25
models:
  - name: fashion
    file: $PWD/experiments/models/fashion_mnist_cnn.pt
    layers: {pre_gap: features.block5}
data: {path: $FM, limit: 400}
methods: [gradcam, shapleycam, gradcam++]
utilities: [$3]
metrics: all
EOS
}
rows() { sqlite3 "$1/results.sqlite" 'SELECT count(*) FROM images' 2>/dev/null || echo 0; }

spec clean "$TMP/clean" rest
spec killed "$TMP/killed" rest

test_expect_success 'an uninterrupted run' "
	$CAMLAB run --no-progress $TMP/clean.yaml 2>$TMP/clean.log &&
	test \$(rows $TMP/clean) -eq 1200
"

test_expect_success 'kill -9 midway keeps whole batches only' "
	$CAMLAB run --no-progress $TMP/killed.yaml 2>$TMP/killed.log &
	pid=\$!
	i=0; while [ \$(rows $TMP/killed) -lt 150 ] && [ \$i -lt 600 ]; do sleep 0.1; i=\$((i + 1)); done
	kill -9 \$pid; wait \$pid 2>/dev/null
	n=\$(rows $TMP/killed); echo \"rows after the kill: \$n\" &&
	test \$n -ge 150 && test \$n -lt 1200 &&
	test \$((n % 75)) -eq 0 &&
	echo \$n >$TMP/after_kill &&
	sqlite3 $TMP/killed/results.sqlite \"SELECT count(*) FROM runs WHERE state = 'pending' AND key IN (SELECT run_key FROM images)\" >$TMP/pend &&
	test \$(cat $TMP/pend) -eq 0 &&
	sqlite3 $TMP/killed/results.sqlite \"SELECT count(*) FROM runs WHERE state = 'partial'\" | test_grep '^[1-9]' /dev/stdin
"

test_expect_success 'the resumed run does only what was missing' "
	$CAMLAB plan $TMP/killed.yaml >$TMP/plan &&
	test_grep 'partial' $TMP/plan &&
	$CAMLAB run --no-progress $TMP/killed.yaml 2>$TMP/resume.log && cat $TMP/resume.log &&
	n=\$(cat $TMP/after_kill) &&
	test_grep \": \$((400 - n / 3)) image\\(s\\) in\" $TMP/resume.log &&
	test \$(rows $TMP/killed) -eq 1200 &&
	$CAMLAB plan $TMP/killed.yaml | test_grep '^3 runs: 3 done' /dev/stdin
"

test_expect_success 'and ends with the numbers of the uninterrupted run' "
	q='SELECT r.method, a.n, a.ad, a.coh, a.com, a.adcc, a.ic, a.add_ FROM aggregates a JOIN runs r ON r.key = a.run_key ORDER BY r.method' &&
	sqlite3 $TMP/clean/results.sqlite \"\$q\" >$TMP/a && sqlite3 $TMP/killed/results.sqlite \"\$q\" >$TMP/b &&
	cat $TMP/a && test \$(wc -l <$TMP/a) -eq 3 && cmp $TMP/a $TMP/b &&
	q='SELECT r.method, i.idx, i.class, i.ad, i.coh, i.add_ FROM images i JOIN runs r ON r.key = i.run_key ORDER BY 1, 2' &&
	sqlite3 $TMP/clean/results.sqlite \"\$q\" >$TMP/ia && sqlite3 $TMP/killed/results.sqlite \"\$q\" >$TMP/ib && cmp $TMP/ia $TMP/ib
"

test_expect_success 'running a finished experiment again recomputes nothing' "
	$CAMLAB run --no-progress $TMP/clean.yaml 2>$TMP/again.log &&
	test_grep 'already done' $TMP/again.log && test \$(rows $TMP/clean) -eq 1200
"

test_expect_success 'a changed spec makes new runs and leaves the old ones alone' "
	spec clean \"$TMP/clean\" logit &&
	$CAMLAB plan $TMP/clean.yaml | test_grep '^3 runs: 0 done, 0 partial, 3 pending' /dev/stdin &&
	$CAMLAB run --no-progress --limit 25 $TMP/clean.yaml 2>/dev/null &&
	sqlite3 $TMP/clean/results.sqlite 'SELECT utility, state, count(*) FROM runs GROUP BY 1, 2 ORDER BY 1' >$TMP/st && cat $TMP/st &&
	test_grep '^logit\\|partial\\|3\$' $TMP/st && test_grep '^rest\\|done\\|3\$' $TMP/st &&
	test \$(sqlite3 $TMP/clean/results.sqlite 'SELECT count(*) FROM specs') -eq 2 &&
	$CAMLAB status $TMP/clean | test_grep '^done +3 run' /dev/stdin
"

test_expect_success "the report shows the latest spec's runs, also after reverting to an older spec" "
	ls $TMP/clean/report/tables >$TMP/t1 && cat $TMP/t1 &&
	test_grep '^methods\\.fashion\\.pre_gap\\.logit\\.predicted\\.md\$' $TMP/t1 &&
	! grep -q 'rest' $TMP/t1 &&
	spec clean \"$TMP/clean\" rest &&
	$CAMLAB run --no-progress $TMP/clean.yaml 2>$TMP/revert.log && test_grep 'already done' $TMP/revert.log &&
	ls $TMP/clean/report/tables >$TMP/t2 && cat $TMP/t2 &&
	test_grep '^methods\\.fashion\\.pre_gap\\.rest\\.predicted\\.md\$' $TMP/t2 && ! grep -q 'logit' $TMP/t2
"

test_expect_success 'a run that fails keeps its cause in the database, the status and the report' "
	cat >$TMP/flat.yaml <<-EOS &&
	name: flat
	output: $TMP/flat
	models:
	  - name: fashion
	    file: $PWD/experiments/models/fashion_mnist_cnn.pt
	    layers: {flat: flatten}
	data: {path: $FM, limit: 4}
	methods: [gradcam]
	EOS
	test_must_fail $CAMLAB run --no-progress $TMP/flat.yaml 2>$TMP/flat.log &&
	why='the shared pass failed: forward to the target layer failed: the layer(.s|&#39;s) output has 2 dimensions' &&
	test_grep \"failed: \$why\" $TMP/flat.log &&
	sqlite3 $TMP/flat/results.sqlite 'SELECT error FROM runs' | test_grep \"^\$why\" /dev/stdin &&
	$CAMLAB status $TMP/flat | test_grep \"^failed: .* fashion/flat gradcam rest predicted: \$why\" /dev/stdin &&
	test_grep \"\$why\" $TMP/flat/report/index.html
"

test_expect_success 'files added to the dataset between runs: the run refuses to mix results, then resumes' "
	mkdir -p $TMP/imgs/a $TMP/imgs/b &&
	for f in a/1 a/2 b/1 b/2 b/3; do
		{ printf 'P6\\n8 8\\n255\\n' && head -c 192 /dev/urandom; } >$TMP/imgs/\$f.ppm || exit 1
	done &&
	cat >$TMP/imgs.yaml <<-EOS &&
	name: imgs
	output: $TMP/imgsout
	batch: 2
	models:
	  - name: fashion
	    file: $PWD/experiments/models/fashion_mnist_cnn.pt
	    layers: {pre_gap: features.block5}
	data: {path: $TMP/imgs}
	methods: [gradcam]
	metrics: [ad]
	EOS
	$CAMLAB run --no-progress --limit 2 $TMP/imgs.yaml 2>/dev/null &&
	cp $TMP/imgs/b/3.ppm $TMP/imgs/a/0.ppm &&
	test_must_fail $CAMLAB run --no-progress $TMP/imgs.yaml 2>$TMP/chg.err &&
	test_grep \"the dataset changed since this run stored results: its image 0 is now '$TMP/imgs/a/0.ppm'\" $TMP/chg.err &&
	test \$(rows $TMP/imgsout) -eq 2 &&
	rm $TMP/imgs/a/0.ppm && $CAMLAB run --no-progress $TMP/imgs.yaml 2>/dev/null &&
	sqlite3 $TMP/imgsout/results.sqlite 'SELECT idx, path FROM images ORDER BY idx' >$TMP/stored &&
	printf '%s\\n' 0\\|$TMP/imgs/a/1.ppm 1\\|$TMP/imgs/a/2.ppm 2\\|$TMP/imgs/b/1.ppm 3\\|$TMP/imgs/b/2.ppm \\
		4\\|$TMP/imgs/b/3.ppm >$TMP/expect && diff -u $TMP/expect $TMP/stored
"

test_expect_success 'an unreadable image is skipped and recorded: the run is done, and so is a merge of shards' "
	echo 'not an image' >$TMP/imgs/b/0bad.ppm &&
	sed 's#imgsout#imgsbad#' $TMP/imgs.yaml >$TMP/imgsbad.yaml &&
	$CAMLAB run --no-progress $TMP/imgsbad.yaml 2>$TMP/bad.err &&
	test_grep \"skipping '$TMP/imgs/b/0bad.ppm'\" $TMP/bad.err &&
	$CAMLAB status $TMP/imgsbad | test_grep '^done +1 run\\(s\\), 5 of 6 image results stored, 1 unreadable skipped' /dev/stdin &&
	test_grep '1 image result is missing for unreadable image files' $TMP/imgsbad/report/index.html &&
	$CAMLAB run --no-progress $TMP/imgsbad.yaml 2>$TMP/bad2.err && ! grep -q skipping $TMP/bad2.err &&
	test_grep 'already done' $TMP/bad2.err &&
	sed 's#imgsout#imgsshard#' $TMP/imgs.yaml >$TMP/imgsshard.yaml &&
	$CAMLAB run --no-progress --shard 0/1 $TMP/imgsshard.yaml 2>/dev/null &&
	$CAMLAB merge $TMP/imgsshard.yaml 2>$TMP/merge.err &&
	test_grep '1 of 1 run\\(s\\) done' $TMP/merge.err &&
	$CAMLAB status $TMP/imgsshard | test_grep '^done +1 run\\(s\\), 5 of 6 image results stored, 1 unreadable skipped' /dev/stdin
"

test_expect_success 'input_size equal to the sidecar'\''s changes nothing: the sidecar'\''s resize holds' "
	spec side \"$TMP/side\" rest && sed -i 's/limit: 400/limit: 25/' $TMP/side.yaml &&
	sed 's#output: .*#output: $TMP/side28#; s#layers: {pre_gap: features.block5}#layers: {pre_gap: features.block5}\\n    input_size: 28#' \
		$TMP/side.yaml >$TMP/side28.yaml && grep -q 'input_size: 28' $TMP/side28.yaml &&
	$CAMLAB run --no-progress $TMP/side.yaml 2>/dev/null && $CAMLAB run --no-progress $TMP/side28.yaml 2>/dev/null &&
	q='SELECT r.method, a.n, round(a.ad, 6), round(a.add_, 6) FROM aggregates a JOIN runs r ON r.key = a.run_key ORDER BY 1' &&
	sqlite3 $TMP/side/results.sqlite \"\$q\" >$TMP/side.agg && sqlite3 $TMP/side28/results.sqlite \"\$q\" >$TMP/side28.agg &&
	test -s $TMP/side.agg && cmp $TMP/side.agg $TMP/side28.agg
"

test_expect_success 'metrics: [ad, com] stores and shows only those (IC is not filled from the same forward)' "
	spec few \"$TMP/few\" rest && sed -i 's/limit: 400/limit: 25/; s/^metrics: all/metrics: [ad, com]/' $TMP/few.yaml &&
	$CAMLAB run --no-progress $TMP/few.yaml 2>/dev/null &&
	test \$(sqlite3 $TMP/few/results.sqlite 'SELECT count(*) FROM images WHERE ic IS NOT NULL OR coh IS NOT NULL OR add_ IS NOT NULL') -eq 0 &&
	test \$(sqlite3 $TMP/few/results.sqlite 'SELECT count(*) FROM images WHERE ad IS NULL OR com IS NULL') -eq 0 &&
	test_grep '^\\| GradCAM \\| [^|–]+ \\| – \\| [^|–]+ \\| – \\| – \\| – \\|' $TMP/few/report/tables/methods.fashion.pre_gap.rest.predicted.md
"

test_expect_success 'an edited sidecar (normalisation, classes) makes new runs; a new layer alias does not' "
	mkdir -p $TMP/side && cp experiments/models/fashion_mnist_cnn.pt experiments/models/fashion_mnist_cnn.yaml $TMP/side/ &&
	cat >$TMP/sidecar.yaml <<-EOS &&
	models: [{name: fashion, file: $TMP/side/fashion_mnist_cnn.pt, layers: {pre_gap: features.block5}}]
	data: {path: $FM, limit: 4}
	methods: [gradcam]
	EOS
	keys() { $CAMLAB plan $TMP/sidecar.yaml | awk 'NR > 1 && NF > 3 { print \$1 }'; } &&
	keys >$TMP/k0 && test -s $TMP/k0 &&
	printf '  also: features.block5.conv\\n' >>$TMP/side/fashion_mnist_cnn.yaml &&
	tail -n 2 $TMP/side/fashion_mnist_cnn.yaml | test_grep '^  also: ' /dev/stdin &&
	keys >$TMP/k1 && cmp $TMP/k0 $TMP/k1 &&
	sed -i 's/^mean: .*/mean: [0.3, 0.3, 0.3]/' $TMP/side/fashion_mnist_cnn.yaml &&
	keys >$TMP/k2 && ! cmp -s $TMP/k0 $TMP/k2 &&
	cp experiments/models/fashion_mnist_cnn.yaml $TMP/side/ && sed -i 's/Trouser/Trousers/' $TMP/side/fashion_mnist_cnn.yaml &&
	keys >$TMP/k3 && ! cmp -s $TMP/k0 $TMP/k3 && ! cmp -s $TMP/k2 $TMP/k3
"

test_expect_success 'results export to CSV' "
	head -n 1 $TMP/clean/aggregates.csv | test_grep '^model,layer,method,utility,target,run_key,n,ad,coh,com,adcc,ic,add_\$' /dev/stdin &&
	test \$(wc -l <$TMP/clean/images.csv) -ge 1201
"

test_done
