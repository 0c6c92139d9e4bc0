#!/bin/sh
# t58-compare.t - camlab compare: two spec versions of one output folder (DIR@ID, DIR@-N, or DIR alone:
# the previous version against the latest) and two folders, paired by model, layer, method, utility
# and target, with each metric's values and their difference B - A, and the runs only one side has;
# hostile model and layer names stay one column in Markdown and come back literally in CSV and JSON.
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
FM=/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz
[ -f $FM ] || skip_all "dataset-fashion-mnist is not installed"
need_python

MODEL="m,\"x|y\`*<b>'n\\"
LAYER='l|a\y,"r'
yq() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/''/g")"; }
spec() { # spec FILE OUTPUT METHODS LIMIT
	cat >"$1" <<EOS
name: cmp
output: $2
batch: 3
models: [{name: $(yq "$MODEL"), file: $PWD/experiments/models/fashion_mnist_cnn.pt, layers: {$(yq "$LAYER"): features.block5}}]
data: {path: $FM, limit: $4}
methods: [$3]
utilities: [logit]
metrics: [ad, coh]
EOS
}
spec $TMP/v1.yaml $TMP/out "gradcam, randomcam" 3
spec $TMP/v2.yaml $TMP/out "gradcam, hirescam" 2
spec $TMP/twin.yaml $TMP/twin "gradcam, randomcam" 3
export MODEL LAYER

test_expect_success 'two versions of an experiment in one folder, and a twin folder' "
	$CAMLAB run --no-progress $TMP/v1.yaml >/dev/null 2>$TMP/run1.err &&
	$CAMLAB run --no-progress $TMP/v2.yaml >/dev/null 2>$TMP/run2.err &&
	$CAMLAB run --no-progress $TMP/twin.yaml >/dev/null 2>$TMP/run3.err
"

cat >$TMP/pairs.py <<'PYEOF'
# pairs.py JSON CSV: compare's JSON and CSV agree, and pair the runs as the two versions have them
import csv, json, math, os, sys
j = json.load(open(sys.argv[1]))
c = list(csv.DictReader(open(sys.argv[2], newline="")))
assert len(j) == len(c) == 3, (j, c)
got = {(r["method"], r["in"]) for r in j}
assert got == {("gradcam", "both"), ("randomcam", "a"), ("hirescam", "b")}, got
for r, s in zip(j, c):
    assert r["model"] == s["model"] == os.environ["MODEL"] and r["layer"] == s["layer"] == os.environ["LAYER"]
    for m in ("ad", "coh"):
        a, b, d = r[m + "_a"], r[m + "_b"], r[m + "_diff"]
        if r["in"] == "both":
            assert abs(d - (b - a)) < 1e-9 and abs(float(s[m + "_diff"]) - d) < 1e-8, r
        else:
            assert d is None and s[m + "_diff"] == "", r
            assert (a is None) == (r["in"] == "b") and (b is None) == (r["in"] == "a"), r
both = [r for r in j if r["in"] == "both"][0]
assert both["same_config"] == "no" and both["n_a"] == 3 and both["n_b"] == 2, both
PYEOF

test_expect_success 'DIR@1 DIR@2: pairs, differences and one-sided runs, in JSON and CSV alike' "
	$CAMLAB compare --format json $TMP/out@1 $TMP/out@2 >$TMP/c.json 2>$TMP/c.err && cat $TMP/c.json $TMP/c.err &&
	$CAMLAB compare --format csv $TMP/out@1 $TMP/out@2 >$TMP/c.csv &&
	$PY $TMP/pairs.py $TMP/c.json $TMP/c.csv &&
	test_grep '^1 run in both \\(0 with the same configuration\\), 1 only in A, 1 only in B\$' $TMP/c.err
"

test_expect_success 'DIR alone and DIR@-1 DIR are the previous version against the latest' "
	$CAMLAB compare --format json $TMP/out >$TMP/c2.json 2>/dev/null && cmp $TMP/c.json $TMP/c2.json &&
	$CAMLAB compare --format json $TMP/out@-1 $TMP/out >$TMP/c3.json 2>/dev/null && cmp $TMP/c.json $TMP/c3.json
"

test_expect_success 'two folders of the same spec: the same configuration, no difference' "
	$CAMLAB compare --format json $TMP/out@1 $TMP/twin >$TMP/t.json 2>$TMP/t.err && cat $TMP/t.err &&
	$PY -c '
import json
j = json.load(open(\"$TMP/t.json\"))
assert len(j) == 2 and all(r[\"in\"] == \"both\" and r[\"same_config\"] == \"yes\" for r in j), j
assert all(r[\"ad_diff\"] == 0 and r[\"coh_diff\"] == 0 for r in j), j
'
"

cat >$TMP/columns.py <<'PYEOF'
import re, sys
rows = [l for l in open(sys.argv[1]) if l.startswith("|")]
cols = {len(re.findall(r"\|", re.sub(r"\\.", "", l))) for l in rows}
assert len(rows) == int(sys.argv[2]) and len(cols) == 1, (len(rows), cols)
PYEOF

test_expect_success 'Markdown (the default): one column per field, names escaped' "
	$CAMLAB compare $TMP/out >$TMP/c.md 2>/dev/null && cat $TMP/c.md &&
	$PY $TMP/columns.py $TMP/c.md 5 && ! grep -q '<b>' $TMP/c.md
"

test_expect_success '--where and --metrics' "
	$CAMLAB compare --format csv --where method=hirescam --metrics coh $TMP/out >$TMP/w.csv 2>/dev/null &&
	cat $TMP/w.csv && test \$(wc -l <$TMP/w.csv) -eq 2 &&
	head -n 1 $TMP/w.csv | test_grep ',n_b,coh_a,coh_b,coh_diff\$' /dev/stdin &&
	grep -q ',hirescam,logit,predicted,b,' $TMP/w.csv
"

test_fails_with 'an unknown spec version' "no spec version 7" $CAMLAB compare $TMP/out@7 $TMP/out
test_fails_with 'a folder without results' "no results database" $CAMLAB compare $TMP $TMP/out
test_expect_success 'DIR@ID alone is a usage error; options may follow the folders' "
	$CAMLAB compare $TMP/out@1 2>$TMP/a.err; test \$? -eq 2 && test_grep 'give B beside' $TMP/a.err &&
	$CAMLAB compare $TMP/out@1 $TMP/out@2 --format json >$TMP/c4.json 2>/dev/null && cmp $TMP/c.json $TMP/c4.json
"
test_expect_success 'three folders are a usage error' "
	$CAMLAB compare $TMP/out $TMP/out $TMP/out 2>$TMP/u.err; test \$? -eq 2 && test_grep '^usage: camlab compare' $TMP/u.err
"

test_done
