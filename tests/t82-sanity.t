#!/bin/sh
# t82-sanity.t - the sanity check (model-parameter randomisation, Adebayo et al. 2018) on the shared
# ResNet-20 at f.layer3, 4 CIFAR-10 images: GradCAM's Spearman and SSIM at every step of the cascade
# against an independent computation (tests/sanity/mprt_ref.py: the same modules re-initialised with
# the same seeds in the Debian python's torch, GradCAM, Spearman and SSIM in numpy); a Lua-defined
# GradCAM gives the same values; SobelCAM and RandomCAM keep their maps and fail, GradCAM passes; the
# trained model is untouched (a run without sanity has the same maps); resume; CSV files and tables.
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
MODEL=$SHARED/models/resnet20_cifar10.pt
[ -f "$MODEL" ] || skip_all "no shared models at $SHARED"
command -v sqlite3 >/dev/null || skip_all "no sqlite3 command"
need_python torch numpy
# libgomp spins while it waits, which on a busy machine costs more CPU than the work
export OMP_WAIT_POLICY=passive

mkdir $TMP/img && ln -s $SHARED/data/foolbox_samples/cifar10_0[0-3]_*.png $TMP/img/ || exit 1
spec() { # spec NAME METRICS
	cat <<EOS
name: $1
output: $TMP/$1
batch: 2
models: [{name: r20, file: $MODEL, layers: {pre_gap: f.layer3},
          mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225]}]
data: $TMP/img
utilities: [logit]
methods: [gradcam, sobelcam, randomcam, luagrad]
metrics: [$2]
define:
  methods:
    luagrad: 'return function(A, G, HA) return (G:mean({3, 4}, true) * A):sum(2) end'
outputs: {plots: false, figures: [{image: 0}, {image: 1}, {image: 2}, {image: 3}]}
EOS
}
q() { sqlite3 "$TMP/$1/results.sqlite" "$2"; }
per_method='SELECT r.method, m.name, printf("%.6f", avg(m.value)), printf("%.6f", min(m.value)), printf("%.6f", max(m.value))
	FROM image_metrics m JOIN runs r ON r.key = m.run_key WHERE m.name IN ("sanity_spearman", "sanity_pass") GROUP BY 1, 2 ORDER BY 1, 2'
vals='SELECT r.method, m.idx, m.name, printf("%.9g", m.value) FROM image_metrics m JOIN runs r ON r.key = m.run_key ORDER BY 1, 2, 3'

spec san 'ad, sanity' >$TMP/san.yaml
spec plain 'ad' >$TMP/plain.yaml

test_expect_success 'sanity is a metric camlab knows, with its source in help metrics' "
	$CAMLAB help metrics >$TMP/help && test_grep '^  sanity .*Adebayo' $TMP/help &&
	test_grep 'Quantus' $TMP/help &&
	$CAMLAB check $TMP/san.yaml >/dev/null &&
	sed 's/sanity/sanitty/' $TMP/san.yaml >$TMP/typo.yaml &&
	test_must_fail $CAMLAB check $TMP/typo.yaml 2>$TMP/err && test_grep \"did you mean 'sanity'\" $TMP/err &&
	sed 's/sanity/mprt/' $TMP/san.yaml >$TMP/alias.yaml && $CAMLAB check $TMP/alias.yaml >/dev/null
"

test_expect_success 'a run stores the curve (13 steps) and the summary per image and method' "
	$CAMLAB run --no-progress $TMP/san.yaml 2>$TMP/san.log || { cat $TMP/san.log; false; } &&
	q san 'SELECT r.method, count(*) FROM image_metrics m JOIN runs r ON r.key = m.run_key
		WHERE m.name LIKE \"sanity%\" GROUP BY 1 ORDER BY 1' >$TMP/counts && cat $TMP/counts &&
	for m in gradcam luagrad randomcam sobelcam; do test_grep \"^\$m\\|116\\\$\" $TMP/counts || return 1; done &&
	test \$(q san 'SELECT count(*) FROM image_metrics WHERE name = \"sanity_ssim_13\"') -eq 16 &&
	test \$(q san 'SELECT count(*) FROM image_metrics WHERE name = \"sanity_ssim_14\"') -eq 0
"

test_expect_success 'SobelCAM and RandomCAM keep their maps and fail; GradCAM passes' "
	q san '$per_method' >$TMP/pm && cat $TMP/pm &&
	test_grep '^sobelcam\\|sanity_pass\\|0.000000\\|0.000000\\|0.000000\$' $TMP/pm &&
	test_grep '^sobelcam\\|sanity_spearman\\|1.000000\\|1.000000\\|1.000000\$' $TMP/pm &&
	test_grep '^randomcam\\|sanity_pass\\|0.000000\\|' $TMP/pm &&
	test_grep '^randomcam\\|sanity_spearman\\|1.000000\\|1.000000\\|' $TMP/pm &&
	awk -F'|' '\$1 == \"gradcam\" && \$2 == \"sanity_spearman\" && \$3 < 0.5 { ok = 1 } END { exit !ok }' $TMP/pm &&
	awk -F'|' '\$1 == \"gradcam\" && \$2 == \"sanity_pass\" && \$3 >= 0.5 { ok = 1 } END { exit !ok }' $TMP/pm &&
	test \$(q san 'SELECT count(*) FROM image_metrics m JOIN runs r ON r.key = m.run_key
		WHERE r.method = \"sobelcam\" AND m.name LIKE \"sanity_s%\" AND m.value != 1') -eq 0
"

test_expect_success 'GradCAM per step equals an independent Python computation' "
	$PY tests/sanity/mprt_ref.py $TMP/san/results.sqlite $MODEL f.layer3 42 gradcam &&
	$PY tests/sanity/mprt_ref.py $TMP/san/results.sqlite $MODEL f.layer3 42 luagrad
"

test_expect_success 'the reference can fail: another seed does not match' "
	! $PY tests/sanity/mprt_ref.py $TMP/san/results.sqlite $MODEL f.layer3 43 gradcam >$TMP/bad.out &&
	test_grep 'step 1 ' $TMP/bad.out
"

test_expect_success 'the trained model is untouched: a run without sanity has the same maps' "
	$CAMLAB run --no-progress $TMP/plain.yaml 2>$TMP/plain.log || { cat $TMP/plain.log; false; } &&
	h='SELECT r.method, h.idx, hex(h.data) FROM heatmaps h JOIN runs r ON r.key = h.run_key ORDER BY 1, 2' &&
	q san \"\$h\" >$TMP/h1 && q plain \"\$h\" >$TMP/h2 && test \$(wc -l <$TMP/h1) -eq 16 && cmp $TMP/h1 $TMP/h2
"

test_expect_success 'images lost from the database are made again to the same values (resume)' "
	q san '$vals' >$TMP/before &&
	cp -r $TMP/san $TMP/again && sed 's|$TMP/san\$|$TMP/again|' $TMP/san.yaml >$TMP/again.yaml &&
	q again 'DELETE FROM images WHERE idx >= 2; DELETE FROM image_metrics WHERE idx >= 2' &&
	$CAMLAB run --no-progress $TMP/again.yaml 2>$TMP/again.log && cat $TMP/again.log &&
	test_grep '2 image' $TMP/again.log &&
	q again '$vals' >$TMP/after && test \$(wc -l <$TMP/after) -eq $((4 * 4 * 29)) && cmp $TMP/before $TMP/after
"

test_expect_success 'images.csv, aggregates.csv and the table carry it' "
	head -1 $TMP/san/images.csv | test_grep ',sanity_pass,sanity_spearman,sanity_spearman_01,' /dev/stdin &&
	head -1 $TMP/san/aggregates.csv | test_grep 'sanity_ssim_13' /dev/stdin &&
	f=$TMP/san/report/tables/sanity.r20.pre_gap.logit.predicted.md && cat \$f &&
	test_grep 'San.rho.*San.pass' \$f && test_grep '^\\| SobelCAM \\| [^|]*100.00[^|]* \\| [^|]*0.00[^|]* \\|' \$f
"

if command -v gnuplot >/dev/null; then
test_expect_success 'the report plots the curve per method' "
	q san 'UPDATE outputs SET value = 1 WHERE key = \"plots\"' && $CAMLAB report $TMP/san 2>$TMP/rep.log &&
	p=$TMP/san/report/plots/sanity.r20.pre_gap.logit.predicted &&
	test -s \$p.png && test -s \$p.svg && test \$(grep -c '^13 ' \$p.gp) -eq 4 &&
	test_grep 'sanity.r20.pre_gap.logit.predicted.png' $TMP/san/report/index.html
"
else
test_skip 'the report plots the curve per method' 'no gnuplot'
fi

test_done
