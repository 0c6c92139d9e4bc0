#!/bin/sh
# t96-results-metrics.t - camlab results and camlab compare show every metric a run has, not just the
# paper's six: the faithfulness metrics (here gain and deletion) as columns whose values are the means
# of the images' values in images.csv (per run) or those values themselves (--images), and in compare
# as _a, _b and _diff columns.
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
FM=/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz
[ -f $FM ] || skip_all "dataset-fashion-mnist is not installed"
need_python

spec() { # output limit
	cat <<EOS
name: metrics
output: $1
batch: 3
models: [{name: cnn, file: $PWD/experiments/models/fashion_mnist_cnn.pt, layers: {b5: features.block5}}]
data: {path: $FM, limit: $2}
methods: [gradcam, randomcam]
utilities: [logit]
metrics: [ad, gain, deletion]
EOS
}
spec $TMP/a 3 >$TMP/a.yaml
spec $TMP/b 4 >$TMP/b.yaml

test_expect_success 'two tiny runs with gain and deletion' "
	$CAMLAB run --no-progress $TMP/a.yaml >$TMP/a.out 2>&1 &&
	$CAMLAB run --no-progress $TMP/b.yaml >$TMP/b.out 2>&1
"

test_expect_success 'results: the columns are the metrics the runs have, the means of images.csv' "
	$CAMLAB results --format csv $TMP/a >$TMP/r.csv && cat $TMP/r.csv &&
	$PY - <<EOP
import csv
rows = list(csv.DictReader(open('$TMP/r.csv', newline='')))
assert list(rows[0].keys())[8:] == ['ad', 'deletion', 'gain'], list(rows[0].keys())
imgs = list(csv.DictReader(open('$TMP/a/images.csv', newline='')))
for r in rows:
    mine = [i for i in imgs if i['method'] == r['method']]
    assert len(mine) == 3, len(mine)
    for k in ('ad', 'deletion', 'gain'):
        want = sum(float(i[k]) for i in mine) / len(mine)
        assert abs(float(r[k]) - want) < 1e-6, (k, r[k], want)
EOP
"

test_expect_success 'results --images: each image its own values' "
	$CAMLAB results --images --format json $TMP/a >$TMP/i.json &&
	$PY - <<EOP
import csv, json
rows = json.load(open('$TMP/i.json'))
imgs = {(i['method'], i['idx']): i for i in csv.DictReader(open('$TMP/a/images.csv', newline=''))}
assert len(rows) == 6, len(rows)
for r in rows:
    i = imgs[(r['method'], str(r['idx']))]
    for k in ('deletion', 'gain'):
        assert abs(r[k] - float(i[k])) < 1e-6, (k, r[k], i[k])
    assert 'adcc' not in r
EOP
"

test_expect_success 'compare: each metric beside the other side, with the difference' "
	$CAMLAB compare --format csv $TMP/a $TMP/b >$TMP/c.csv 2>$TMP/c.err && cat $TMP/c.csv &&
	$PY - <<EOP
import csv
a = {r['method']: r for r in csv.DictReader(open('$TMP/r.csv', newline=''))}
rows = list(csv.DictReader(open('$TMP/c.csv', newline='')))
assert len(rows) == 2
for r in rows:
    for k in ('ad', 'deletion', 'gain'):
        assert abs(float(r[k + '_a']) - float(a[r['method']][k])) < 1e-9
        assert abs(float(r[k + '_diff']) - (float(r[k + '_b']) - float(r[k + '_a']))) < 1e-9
EOP
"

test_expect_success '--metrics names a faithfulness metric; an unknown one gets a suggestion' "
	$CAMLAB results --format csv --metrics gain $TMP/a | head -n 1 | test_grep ',n,gain\$' /dev/stdin &&
	$CAMLAB compare --format csv --metrics road $TMP/a $TMP/b 2>/dev/null | head -n 1 |
		test_grep ',road_a,road_b,road_diff\$' /dev/stdin &&
	{ $CAMLAB results --metrics gian $TMP/a 2>$TMP/e.err; test \$? = 2; } &&
	test_grep \"unknown metric 'gian'; did you mean 'gain'\" $TMP/e.err
"

test_done
