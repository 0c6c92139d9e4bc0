#!/bin/sh
# t57-results.t - camlab results: an output folder's runs and aggregates (or every image's values) as
# Markdown, CSV or JSON, filtered with --where, from the database opened read-only; names from the spec
# (a model and a layer with quotes, commas, pipes, backquotes and markup) come back literally in CSV and
# JSON and escaped in Markdown.
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
FM=/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz
[ -f $FM ] || skip_all "dataset-fashion-mnist is not installed"
need_python

MODEL="m,\"x|y\`*<b>'n\\"
LAYER='l|a\y,"r=1&amp;'
yq() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/''/g")"; }
cat >$TMP/spec.yaml <<EOS
name: results
output: $TMP/out
batch: 2
models: [{name: $(yq "$MODEL"), file: $PWD/experiments/models/fashion_mnist_cnn.pt, layers: {$(yq "$LAYER"): features.block5}}]
data: {path: $FM, limit: 2}
methods: [gradcam, randomcam]
utilities: [logit]
metrics: [ad, coh]
EOS
export MODEL LAYER

test_expect_success 'a tiny run' "
	$CAMLAB run --no-progress $TMP/spec.yaml >$TMP/run.out 2>$TMP/run.err
"

test_expect_success 'CSV: one row per run, the names given back, the metrics the spec asked for' "
	$CAMLAB results --format csv $TMP/out >$TMP/r.csv && cat $TMP/r.csv &&
	$PY -c '
import csv, os
rows = list(csv.reader(open(\"$TMP/r.csv\", newline=\"\")))
assert rows[0] == \"model layer method utility target state images n ad coh\".split(), rows[0]
assert len(rows) == 3, rows
for r in rows[1:]:
    assert r[0] == os.environ[\"MODEL\"] and r[1] == os.environ[\"LAYER\"], r
    assert r[5] == \"done\" and r[6] == \"2\" and r[7] == \"2\", r
    assert 0 <= float(r[8]) <= 1 and 0 <= float(r[9]) <= 1, r
assert [r[2] for r in rows[1:]] == [\"gradcam\", \"randomcam\"]
'
"

test_expect_success 'JSON: the same rows as objects, the same numbers' "
	$CAMLAB results --format json $TMP/out >$TMP/r.json && cat $TMP/r.json &&
	$PY -c '
import csv, json, os
j = json.load(open(\"$TMP/r.json\"))
c = list(csv.DictReader(open(\"$TMP/r.csv\", newline=\"\")))
assert len(j) == len(c) == 2
for a, b in zip(j, c):
    assert a[\"model\"] == os.environ[\"MODEL\"] and a[\"layer\"] == os.environ[\"LAYER\"]
    assert a[\"images\"] == 2 and isinstance(a[\"n\"], int)
    for k in (\"ad\", \"coh\"):
        assert abs(a[k] - float(b[k])) < 1e-9, (k, a[k], b[k])
'
"

# Every row of a Markdown table has the same number of unescaped pipes.
cat >$TMP/columns.py <<'PYEOF'
import re, sys
rows = [l for l in open(sys.argv[1]) if l.startswith("|")]
cols = {len(re.findall(r"\|", re.sub(r"\\.", "", l))) for l in rows}
assert len(rows) == int(sys.argv[2]) and len(cols) == 1, (len(rows), cols)
PYEOF
md() { printf '%s' "$1" | sed 's/&/\&amp;/g; s/</\&lt;/g; s/>/\&gt;/g; s/[][\\`*_|~$]/\\&/g'; }

test_expect_success 'Markdown (the default): the names escaped, one column each' "
	$CAMLAB results $TMP/out >$TMP/r.md && cat $TMP/r.md &&
	$PY $TMP/columns.py $TMP/r.md 4 &&
	grep -qF \"\$(md \"\$MODEL\")\" $TMP/r.md && grep -qF \"\$(md \"\$LAYER\")\" $TMP/r.md &&
	! grep -q '<b>' $TMP/r.md
"

test_expect_success '--where: fields ANDed, repeated values ORed, a value may hold commas' "
	$CAMLAB results --format csv --where method=gradcam $TMP/out >$TMP/w1 &&
	test \$(wc -l <$TMP/w1) -eq 2 && grep -q gradcam $TMP/w1 &&
	$CAMLAB results --format csv --where method=gradcam --where method=randomcam $TMP/out >$TMP/w2 &&
	test \$(wc -l <$TMP/w2) -eq 3 &&
	$CAMLAB results --format csv --where \"model=\$MODEL,method=randomcam\" $TMP/out >$TMP/w3 && cat $TMP/w3 &&
	test \$(wc -l <$TMP/w3) -eq 2 && grep -q randomcam $TMP/w3 &&
	$CAMLAB results --format csv --where method=gradcam,utility=rest $TMP/out >$TMP/w4 &&
	test \$(wc -l <$TMP/w4) -eq 1
"

test_expect_success 'options may follow the folder, as in docs/studies.md' "
	$CAMLAB results $TMP/out --where method=gradcam --format csv >$TMP/after &&
	cmp $TMP/w1 $TMP/after
"

test_fails_with '--where names an unknown field with the nearest one' "did you mean 'method'" \
	$CAMLAB results --where methd=gradcam $TMP/out

test_expect_success '--images: a row per image and run, with the utilities' "
	$CAMLAB results --images --format csv --where method=randomcam $TMP/out >$TMP/i.csv && cat $TMP/i.csv &&
	$PY -c '
import csv, os
rows = list(csv.DictReader(open(\"$TMP/i.csv\", newline=\"\")))
assert [r[\"idx\"] for r in rows] == [\"0\", \"1\"], rows
for r in rows:
    assert r[\"model\"] == os.environ[\"MODEL\"] and r[\"method\"] == \"randomcam\"
    assert r[\"path\"].endswith(\"#\" + r[\"idx\"]) and 0 <= float(r[\"ad\"]) <= 1 and float(r[\"y\"]) > 0
' &&
	$CAMLAB results --images --format json $TMP/out | $PY -c 'import json, sys; assert len(json.load(sys.stdin)) == 4'
"

test_expect_success '--metrics picks the columns' "
	$CAMLAB results --format csv --metrics coh $TMP/out | head -n 1 | test_grep ',n,coh\$' /dev/stdin &&
	$CAMLAB results --format csv --metrics all $TMP/out | head -n 1 | test_grep ',ad,coh,com,adcc,ic,add,road,' /dev/stdin
"

test_expect_success 'a write-protected folder: read-only, nothing written' "
	chmod a-w $TMP/out $TMP/out/results.sqlite &&
	ls -la $TMP/out >$TMP/before &&
	$CAMLAB results --format csv $TMP/out >$TMP/ro.csv && cmp $TMP/ro.csv $TMP/r.csv &&
	ls -la $TMP/out >$TMP/after && cmp $TMP/before $TMP/after;
	s=\$?; chmod u+w $TMP/out $TMP/out/results.sqlite; exit \$s
"

test_fails_with 'a folder without results' "no results database" $CAMLAB results $TMP
test_fails_with 'an unknown spec version' "no spec version 9" $CAMLAB results --spec 9 $TMP/out
test_fails_with 'an unknown format' "unknown format 'xml'" $CAMLAB results --format xml $TMP/out

test_done
