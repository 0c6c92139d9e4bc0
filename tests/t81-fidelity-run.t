#!/bin/sh
# t81-fidelity-run.t - the Shapley-fidelity metric end to end, on tests/fidelity_models.py's tiny models
# (a 3 x 3 target layer): with quad.pt and the logit utility U is quadratic in A, so ShapleyCAM-H's map
# is the game's Shapley values (rho 1, L2 error 0) and the closest of the methods; every method, a
# Lua-defined one included, gets rho, L2 and the estimate's standard error per image in the database,
# images.csv, aggregates.csv and the report's fidelity table; a resumed run computes only the images it
# lacks (a stored value is not recomputed) and gets the same values for them in a batch of its own.
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
command -v sqlite3 >/dev/null || skip_all "no sqlite3 command"
need_python torch numpy PIL
$PY tests/fidelity_models.py "$TMP" || { echo "1..1"; echo "not ok 1 - making the test models"; exit 1; }

cat >$TMP/run.yaml <<EOS
name: fid
output: $TMP/out
batch: 3
models:
  - {name: quad, file: $TMP/quad.pt, layers: {feat: feat}, input_size: 0, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5]}
  - {name: game, file: $TMP/game.pt, layers: {feat: feat}, input_size: 0, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5]}
data: {path: $TMP/imgs}
methods: [gradcam, hirescam, xgradcam, layercam, shapleycam, shapleycam-h, luacam]
utilities: [logit]
metrics: [ad, shapley_fidelity]
define:
  methods:
    luacam: 'return function(A, G, HA) return (A * G):sum(2) end'
outputs: {plots: false}
EOS
q() { sqlite3 $TMP/out/results.sqlite "$1"; }
mean_of() { # mean_of MODEL METHOD NAME
	q "SELECT printf('%.6f', avg(m.value)) FROM image_metrics m JOIN runs r ON r.key = m.run_key
	   WHERE r.model = '$1' AND r.method = '$2' AND m.name = '$3'"
}

test_expect_success 'fidelity and its alias are metrics camlab knows' "
	$CAMLAB check $TMP/run.yaml &&
	sed 's/shapley_fidelity/fidelty/' $TMP/run.yaml >$TMP/typo.yaml &&
	test_must_fail $CAMLAB check $TMP/typo.yaml 2>$TMP/err && test_grep \"did you mean 'fidelity'\" $TMP/err &&
	$CAMLAB help metrics | test_grep '^  fidelity +Shapley fidelity' /dev/stdin
"

test_expect_success 'every run has rho, L2 and the standard error of every image' "
	$CAMLAB run --no-progress $TMP/run.yaml 2>$TMP/run.log || { cat $TMP/run.log; false; } &&
	q 'SELECT name, count(*), sum(value IS NULL) FROM image_metrics GROUP BY 1 ORDER BY 1' >$TMP/counts &&
	cat $TMP/counts && test_grep '^fidelity\|56\|0$' $TMP/counts &&
	test_grep '^fidelity_l2\|56\|0$' $TMP/counts && test_grep '^fidelity_se\|56\|0$' $TMP/counts &&
	q \"SELECT count(DISTINCT printf('%.12g', m.value)) FROM image_metrics m JOIN runs r ON r.key = m.run_key
	   WHERE m.name = 'fidelity_se' GROUP BY r.model, m.idx\" | sort -u >$TMP/se &&
	test_grep '^1$' $TMP/se && test \$(wc -l <$TMP/se) -eq 1
"

test_expect_success 'U quadratic in A: ShapleyCAM-H is the Shapley value, and the closest' "
	q \"SELECT r.method, m.idx, m.name, m.value FROM image_metrics m JOIN runs r ON r.key = m.run_key
	   WHERE r.model = 'quad' ORDER BY 1, 2, 3\" >$TMP/quad && cat $TMP/quad &&
	test \$(q \"SELECT count(*) FROM image_metrics m JOIN runs r ON r.key = m.run_key WHERE r.model = 'quad'
	   AND r.method = 'shapleycam-h' AND ((m.name = 'fidelity' AND m.value < 0.9999)
	   OR (m.name = 'fidelity_l2' AND m.value > 1e-4) OR (m.name = 'fidelity_se' AND m.value > 1e-5))\") -eq 0 &&
	best=\$(q \"SELECT r.method FROM image_metrics m JOIN runs r ON r.key = m.run_key WHERE r.model = 'quad'
	   AND m.name = 'fidelity_l2' GROUP BY r.method ORDER BY avg(m.value) LIMIT 1\") &&
	echo \"closest: \$best\" && test \"\$best\" = shapleycam-h &&
	test \$(q \"SELECT count(*) FROM image_metrics m JOIN runs r ON r.key = m.run_key WHERE r.model = 'quad'
	   AND r.method IN ('gradcam', 'hirescam', 'luacam') AND m.name = 'fidelity_l2' AND m.value < 1e-3\") -eq 0 &&
	test \$(q \"SELECT count(*) FROM image_metrics m JOIN runs r ON r.key = m.run_key WHERE r.model = 'game'
	   AND m.name = 'fidelity_se' AND m.value > 0\") -gt 0
"

test_expect_success 'images.csv, aggregates.csv and the report carry them' "
	head -1 $TMP/out/images.csv | test_grep ',fidelity,fidelity_l2,fidelity_se\$' /dev/stdin &&
	head -1 $TMP/out/aggregates.csv | test_grep ',fidelity,fidelity_l2,fidelity_se\$' /dev/stdin &&
	test \$(grep -c '^quad,feat,luacam,' $TMP/out/images.csv) -eq 4 &&
	f=$TMP/out/report/tables/fidelity.quad.feat.logit.predicted.csv && cat \$f &&
	test_grep '^Method,rho,rho_lo,rho_hi,L2,L2_lo,L2_hi\$' \$f &&
	test_grep '^ShapleyCAM-H(,100(\\.00)?){3}(,0(\\.00)?){3}\$' \$f && test_grep '^luacam,' \$f
"

vals="SELECT r.method, m.idx, m.name, printf('%.9g', m.value) FROM image_metrics m JOIN runs r ON r.key = m.run_key ORDER BY 1, 2, 3"
test_expect_success 'a resumed run computes only what it lacks, and the same values' "
	q \"$vals\" >$TMP/before &&
	key=\$(q \"SELECT key FROM runs WHERE model = 'game' AND method = 'hirescam'\") &&
	q \"UPDATE image_metrics SET value = 42 WHERE run_key = '\$key' AND idx = 0 AND name = 'fidelity';
	   DELETE FROM image_metrics WHERE run_key = '\$key' AND idx = 3; DELETE FROM images WHERE run_key = '\$key' AND idx = 3;
	   UPDATE runs SET state = 'partial' WHERE key = '\$key'\" &&
	$CAMLAB run --no-progress $TMP/run.yaml 2>$TMP/resume.log && cat $TMP/resume.log &&
	test_grep '1 image' $TMP/resume.log &&
	q \"SELECT value FROM image_metrics WHERE run_key = '\$key' AND idx = 0 AND name = 'fidelity'\" | test_grep '^42(\\.0)?\$' /dev/stdin &&
	q \"UPDATE image_metrics SET value = 0 WHERE run_key = '\$key' AND idx = 0 AND name = 'fidelity'\" &&
	q \"$vals\" | grep -v '^hirescam|0|fidelity|' >$TMP/after && grep -v '^hirescam|0|fidelity|' $TMP/before >$TMP/b2 &&
	test \$(grep -c '^hirescam|3|fidelity' $TMP/after) -eq 6 && diff $TMP/b2 $TMP/after
"

test_done
