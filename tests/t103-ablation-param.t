#!/bin/sh
# t103-ablation-param.t - a declared ablation over a method's parameter (issue 19, item 3):
# `ablations: [{over: method.kpcacam.gamma, baseline: default}]` groups the runs of kpcacam's entries
# by their variant (the label less gamma) and their value of gamma (the entry without it at its
# default), each value's difference to the baseline with its paired bootstrap interval, checked against
# a computation from images.csv alone (the python below, which reads the labels itself); the spec's
# side (canonical lines from YAML and Lua alike, errors with the nearest name); and the refusal of an
# ablation over the precision, which names --sweep.
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
MODEL=$PWD/experiments/models/fashion_mnist_cnn.pt
FM=/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz

cat >$TMP/g.yaml <<EOF
name: g
models: {fashion: {file: $MODEL, layers: {last: features.block5}}}
data: {path: $FM, limit: 6}
batch: 6
methods: [gradcam, kpcacam, {kpcacam: {gamma: 0.5}}, {kpcacam: {gamma: 2}}, {kpcacam: {kernel: rbf}},
          {kpcacam: {kernel: rbf, gamma: 0.50}}]
utilities: [rest]
targets: [predicted, least]
statistics: {bootstrap: 200, seed: 5, test: bootstrap}
outputs: {plots: false}
ablations: [{over: method.kpcacam.gamma, baseline: default}]
EOF
cat >$TMP/g.lua <<EOF
experiment {
  name = "g", models = {fashion = {file = "$MODEL", layers = {last = "features.block5"}}},
  data = {path = "$FM", limit = 6}, batch = 6,
  methods = {"gradcam", "kpcacam", {kpcacam = {gamma = 0.5}}, {kpcacam = {gamma = 2}}, {kpcacam = {kernel = "rbf"}},
             {kpcacam = {kernel = "rbf", gamma = 0.5}}},
  utilities = {"rest"}, targets = {"predicted", "least"},
  statistics = {bootstrap = 200, seed = 5, test = "bootstrap"}, outputs = {plots = false},
  ablations = {{over = "method.kpcacam.gamma", baseline = "default"}},
}
EOF
test_expect_success 'YAML and Lua: the ablation and its variants, the same canonical lines' "
	$CAMLAB check --canonical $TMP/g.yaml >$TMP/cy && $CAMLAB check --canonical $TMP/g.lua >$TMP/cl &&
	diff -u $TMP/cy $TMP/cl && sed -n '/^ablation/,\$p' $TMP/cy >$TMP/lines &&
	printf '%s\n' 'ablation method.kpcacam.gamma default' '  variant kpcacam kpcacam default' \
		'  variant \"kpcacam(gamma=0.5)\" kpcacam 0.5' '  variant \"kpcacam(gamma=2)\" kpcacam 2' \
		'  variant \"kpcacam(kernel=rbf)\" \"kpcacam(kernel=rbf)\" default' \
		'  variant \"kpcacam(kernel=rbf, gamma=0.5)\" \"kpcacam(kernel=rbf)\" 0.5' >$TMP/want &&
	diff -u $TMP/want $TMP/lines
"

test_expect_success 'a baseline written as a number is spelt as the variants spell it' "
	sed 's/baseline: default/baseline: 0.50/' $TMP/g.yaml >$TMP/b.yaml &&
	sed 's/baseline = \"default\"/baseline = 0.50/' $TMP/g.lua >$TMP/b.lua &&
	$CAMLAB check --canonical $TMP/b.yaml >$TMP/cby && $CAMLAB check --canonical $TMP/b.lua >$TMP/cbl &&
	diff -u $TMP/cby $TMP/cbl && grep -x 'ablation method.kpcacam.gamma 0.5' $TMP/cby
"

test_expect_success 'the plan: no run key changes with the declaration' "
	sed '/^ablations:/d' $TMP/g.yaml >$TMP/plain.yaml &&
	$CAMLAB plan $TMP/g.yaml >$TMP/p1 && $CAMLAB plan $TMP/plain.yaml >$TMP/p2 && diff -u $TMP/p2 $TMP/p1
"

OUT=$TMP/out/g
T=$OUT/report/tables
STEM=ablation-method_kpcacam_gamma.fashion.last.rest
if [ ! -f $FM ]; then
	for i in 1 2 3; do test_skip "the gamma ablation of a tiny run ($i)" 'dataset-fashion-mnist is not installed'; done
elif ! "$PY" -c 'import numpy' 2>/dev/null; then
	for i in 1 2 3; do test_skip "the gamma ablation of a tiny run ($i)" "$PY lacks numpy"; done
else
	cat >$TMP/check.py <<'EOF'
# The gamma ablation from images.csv alone: each run's means (x100) and each value's difference to the
# baseline's run of the same variant, with the paired bootstrap interval (reports/stats.h's PRNG, as
# tests/report/stats_fixture.py writes it), against the CSV tables camlab report wrote.
import csv, os, re, sys
import numpy as np
sys.path.insert(0, sys.argv[2])
from stats_fixture import Rng, q  # noqa: E402

d, B, alpha, seed, base = sys.argv[1], int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
COLS, HEADS = ["ad", "coh", "com", "adcc", "ic", "add_"], ["AD", "Coh", "Com", "ADCC", "IC", "ADD"]

def adcc(ad, coh, com):
    return 3.0 / (1.0 / coh + 1.0 / (1.0 - com) + 1.0 / (1.0 - ad))

def split(label):  # "kpcacam(kernel=rbf, gamma=0.5)" -> ("kpcacam(kernel=rbf)", "0.5")
    m = re.fullmatch(r"(\w+)(?:\((.*)\))?", label)
    params = [p.split("=", 1) for p in m.group(2).split(", ")] if m.group(2) else []
    rest = ["%s=%s" % (k, v) for k, v in params if k != "gamma"]
    gamma = [v for k, v in params if k == "gamma"]
    return m.group(1) + ("(%s)" % ", ".join(rest) if rest else ""), gamma[0] if gamma else "default"

runs = {}
with open(os.path.join(d, "images.csv"), newline="") as f:
    for r in csv.DictReader(f):
        if not r["method"].startswith("kpcacam"):
            continue
        variant, value = split(r["method"])
        k = (r["model"], r["layer"], r["utility"], r["target"], variant, value)
        runs.setdefault(k, {})[int(r["idx"])] = {c: float(r[c]) for c in COLS if c != "adcc"}

def means(imgs):
    m = {c: np.mean([v[c] for v in imgs.values()]) for c in COLS if c != "adcc"}
    m["adcc"] = adcc(m["ad"], m["coh"], m["com"])
    return m

def paired(a, b, c):
    common = sorted(set(a) & set(b))
    r, n, out = Rng(seed), len(common), []
    for _ in range(B):
        s = [0.0] * 6
        for _ in range(n):
            i = common[r.below(n)]
            if c == "adcc":
                for j, x in enumerate(("ad", "coh", "com")):
                    s[j] += a[i][x]
                    s[3 + j] += b[i][x]
            else:
                s[0] += a[i][c] - b[i][c]
        out.append(adcc(s[0] / n, s[1] / n, s[2] / n) - adcc(s[3] / n, s[4] / n, s[5] / n) if c == "adcc" else s[0] / n)
    return np.percentile(np.array(out), [100 * alpha / 2, 100 * (1 - alpha / 2)])

def shown(variant):  # the tables' method column: the display name, the parameters as they are
    return "KPCA-CAM" + variant[len("kpcacam"):]

def table(name):
    with open(os.path.join(d, "report", "tables", name + ".csv"), newline="") as f:
        return {(row["Method"], row["gamma"]): row for row in csv.DictReader(f)}

bad, nv, nd = [], 0, 0
for k, imgs in sorted(runs.items()):
    stem = "ablation-method_kpcacam_gamma.%s.%s.%s.%s" % k[:4]
    row = table(stem).get((shown(k[4]), k[5]))
    m = means(imgs)
    for c, h in zip(COLS, HEADS):
        if row is None or row[h] != q(m[c]):
            bad.append("%s %s %s: %s, want %s" % (stem, k[4:], h, row and row[h], q(m[c])))
    nv += 1
    if k[5] == base:
        continue
    b = runs[k[:5] + (base,)]
    row = table(stem + ".vs-" + base).get((shown(k[4]), k[5]))
    mb = means(b)
    for c, h in zip(COLS, HEADS):
        lo, hi = paired(imgs, b, c)
        want = (q(m[c] - mb[c]), q(lo), q(hi))
        have = row and (row[h], row[h + "_lo"], row[h + "_hi"])
        print("%s %s %s: %s want %s" % (stem, k[4:], h, have, want))
        if have != want:
            bad.append("%s %s %s: %s, want %s" % (stem, k[4:], h, have, want))
    nd += 1
for b in bad:
    print("BAD " + b)
print("%d values and %d differences checked" % (nv, nd))
sys.exit(1 if bad else 0)
EOF
	test_expect_success 'a tiny run: the values and differences tables of each target' "
		{ $CAMLAB run $TMP/g.yaml >$TMP/run 2>&1 || { cat $TMP/run; false; }; } &&
		ls $T/$STEM.predicted.md $T/$STEM.least.csv $T/$STEM.predicted.vs-default.csv $T/$STEM.least.vs-default.tex
	"
	test_expect_success 'each value, difference and interval as computed from images.csv' "
		{ $PY $TMP/check.py $OUT tests/report 200 0.05 5 default >$TMP/chk || { grep BAD $TMP/chk; false; }; } &&
		test_grep '^10 values and 6 differences checked' $TMP/chk &&
		! $PY $TMP/check.py $OUT tests/report 200 0.05 6 default >$TMP/chk6
	"
	test_expect_success 'the tables: gamma beside each variant, gradcam left out, the caption says what varies' "
		f=$T/$STEM.predicted.md && test_grep '^[|] Method [|] gamma [|]' \$f &&
		test_grep '^[*][*]Ablation of parameter gamma [(]method.kpcacam.gamma[)]: fashion' \$f &&
		! grep -q GradCAM \$f && test \$(grep -c '^[|] KPCA-CAM [|]' \$f) = 1 &&
		test_grep '^[|] KPCA-CAM[(]kernel=rbf[)] [|] default [|]' \$f && test_grep '^[|]  [|] 2 [|]' \$f &&
		test_grep '^[*][*]Differences to gamma default' $T/$STEM.predicted.vs-default.md
	"
	# The database is untrusted input: its canonical text may hold variant lines cut short or with a
	# word too many (tools/sanitize runs this with ASan, which a free of an unset pointer once failed).
	test_expect_success 'variant lines a report cannot read are left out, the others used' "
		cp -R $OUT $TMP/fz && $PY - $TMP/fz/results.sqlite <<-\\EOF &&
		import sqlite3, sys
		c = sqlite3.connect(sys.argv[1])
		(t,) = c.execute('SELECT canonical FROM specs ORDER BY id DESC LIMIT 1').fetchone()
		t = t[:t.index('\nablation ') + 1] + '''ablation method. -
		  variant kpcacam kpcacam
		  variant
		  variant \\\"a
		  variant a b c d
		ablation method.kpcacam.gamma 0.5
		  variant \\\"kpcacam(gamma=2)\\\" - 2
		  variant kpcacam kpcacam default
		  variant \\\"kpcacam(gamma=0.5)\\\" kpcacam 0.5
		'''
		c.execute('UPDATE specs SET canonical = ?', (t,))
		c.commit()
		EOF
		{ $CAMLAB report $TMP/fz >$TMP/rep 2>&1 || { cat $TMP/rep; false; }; } && f=$TMP/fz/report/tables/$STEM.predicted.vs-0_5.csv &&
		test \$(wc -l <\$f) = 2 && test_grep '^KPCA-CAM,default,' \$f
	"
fi

cat >$TMP/bad.yaml <<EOF
name: bad
models: {m: {file: $MODEL, layers: {l: features.block5}}}
data: images
methods: [gradcam, kpcacam, {kpcacam: {gamma: 0.5}}]
ablations:
  - {over: method.kpcacam.gama}
  - {over: method.kpcacam.gamma, baseline: 3}
  - {over: method.kpcacam.gamma, baseline: x}
  - {over: method.gradcam.eigen_smooth}
  - {over: method.kpcacm.gamma}
  - {over: precision, baseline: fp32}
  - {over: method.kpcacam.kernel}
EOF
cat >$TMP/bad.expect <<EOF
bad.yaml:6:12: error: ablation over 'method.kpcacam.gama': method 'kpcacam' has no parameter 'gama'; did you mean 'gamma'?
bad.yaml:7:44: error: ablation baseline '3' is not one of the grid's values of 'gamma' ('default', '0.5')
bad.yaml:8:44: error: ablation baseline 'x' is not a value of parameter 'gamma' (expected a number in (0, inf), not 'x'); the grid has 'default', '0.5'
bad.yaml:9:12: error: ablation over 'method.gradcam.eigen_smooth' needs several values of parameter 'eigen_smooth' of 'gradcam' in methods (such as methods: [gradcam, {gradcam: {eigen_smooth: V}}]); the grid runs each 'gradcam' with one
bad.yaml:10:12: error: ablation over 'method.kpcacm.gamma': method 'kpcacm' is not in methods; did you mean 'kpcacam'?
bad.yaml:11:12: error: ablation over 'precision' needs several precisions, and a spec runs in one ('fp32'): run it once per precision (camlab run FILE --sweep precision=fp32,bf16) and compare the two (camlab compare DIR@-1 DIR)
bad.yaml:12:12: error: ablation over 'method.kpcacam.kernel' needs several values of parameter 'kernel' of 'kpcacam' in methods (such as methods: [kpcacam, {kpcacam: {kernel: V}}]); the grid runs each 'kpcacam' with one
EOF
mkdir $TMP/images
test_expect_success 'each wrong parameter ablation an error at its position, with the nearest name' "
	cd $TMP && test_must_fail $CAMLAB check bad.yaml 2>$TMP/err && diff -u $TMP/bad.expect $TMP/err
"

test_done
