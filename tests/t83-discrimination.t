#!/bin/sh
# t83-discrimination.t - target discrimination (Fig. 1's question) on the shared ResNet-20 at f.layer3,
# 4 CIFAR-10 images, targets top2 and least (so that the maps of the predicted, second and least likely
# class are all stored): each run's per-image Pearson and top-20% mass of the predicted map against the
# second and the least likely one equal numpy's on the stored heatmaps (1e-6); runs whose target is not
# the predicted class compute the same values; SobelCAM's maps, blind to the class, overlap fully; a
# Lua-defined GradCAM gives GradCAM's values; the CSV files and the table carry them.
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
MODEL=$SHARED/models/resnet20_cifar10.pt
[ -f "$MODEL" ] || skip_all "no shared models at $SHARED"
command -v sqlite3 >/dev/null || skip_all "no sqlite3 command"
need_python numpy
# libgomp spins while it waits, which on a busy machine costs more CPU than the work
export OMP_WAIT_POLICY=passive

mkdir $TMP/img && ln -s $SHARED/data/foolbox_samples/cifar10_0[0-3]_*.png $TMP/img/ || exit 1
cat >$TMP/dis.yaml <<EOS
name: dis
output: $TMP/dis
batch: 4
models: [{name: r20, file: $MODEL, layers: {pre_gap: f.layer3},
          mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225]}]
data: $TMP/img
utilities: [logit]
targets: [top2, least]
methods: [gradcam, sobelcam, luagrad]
metrics: [discrimination]
define:
  methods:
    luagrad: 'return function(A, G, HA) return (G:mean({3, 4}, true) * A):sum(2) end'
outputs: {plots: false, figures: [{image: 0}, {image: 1}, {image: 2}, {image: 3}]}
EOS
q() { sqlite3 "$TMP/dis/results.sqlite" "$1"; }

test_expect_success 'discrimination is a metric camlab knows, documented in help metrics' "
	$CAMLAB help metrics | test_grep '^  discrimination .*Fig. 1' /dev/stdin &&
	$CAMLAB check $TMP/dis.yaml >/dev/null &&
	sed 's/discrimination\\]/discrimnation]/' $TMP/dis.yaml >$TMP/typo.yaml &&
	test_must_fail $CAMLAB check $TMP/typo.yaml 2>$TMP/err && test_grep \"did you mean 'discrimination'\" $TMP/err
"

test_expect_success 'a run stores four values per image, method and target' "
	$CAMLAB run --no-progress $TMP/dis.yaml 2>$TMP/dis.log || { cat $TMP/dis.log; false; } &&
	q 'SELECT name, count(*) FROM image_metrics GROUP BY 1 ORDER BY 1' >$TMP/counts && cat $TMP/counts &&
	for m in disc_mass_least disc_mass_second disc_pearson_least disc_pearson_second; do
		test_grep \"^\$m\\|36\\\$\" $TMP/counts || return 1
	done
"

cat >$TMP/ref.py <<'PYEOF'
# the values of each run against numpy on the stored heatmaps of the rank1, rank2 and least runs
import math, sqlite3, sys
import numpy as np
con = sqlite3.connect(sys.argv[1])
swap = len(sys.argv) > 2   # compare second with least: the check must then fail
maps = {}
for method, target, idx, h, w, data in con.execute("SELECT r.method, r.target, h.idx, h.h, h.w, h.data FROM heatmaps h JOIN runs r ON r.key = h.run_key"):
    maps[method, target, idx] = np.frombuffer(data, "<f4").astype(np.float64)

def pair(a, b, top=0.2):
    ca, cb = a - a.mean(), b - b.mean()
    sa, sb = (ca * ca).sum(), (cb * cb).sum()
    r = (ca * cb).sum() / math.sqrt(sa * sb) if sa > 0 and sb > 0 else (1.0 if sa == 0 and sb == 0 else 0.0)
    k = math.ceil(top * a.size - 1e-9)
    inside = b[np.argsort(-a, kind="stable")[:k]].sum()
    return r, inside / b.sum() if b.sum() > 0 else top

bad = n = 0; worst = 0.0; seen = {}
for key, method, target in con.execute("SELECT key, method, target FROM runs").fetchall():
    for idx, name, v in con.execute("SELECT idx, name, value FROM image_metrics WHERE run_key = ?", (key,)):
        other = "rank2" if name.endswith("second") else "least"
        if swap: other = "least" if other == "rank2" else "rank2"
        r, mass = pair(maps[method, "rank1", idx], maps[method, other, idx])
        ref = r if "pearson" in name else mass
        seen.setdefault((method, idx, name), set()).add(round(v, 12))
        d = abs(v - ref); worst = max(worst, d); n += 1
        if not d <= 1e-6:
            bad += 1
            if bad < 10: print("# %s %s image %d %s: camlab %r, numpy %r" % (method, target, idx, name, v, ref))
print("# %d values, largest difference %.2g" % (n, worst))
# SobelCAM: one map whatever the class
sob = [v for (m, i, nm), vs in seen.items() if m == "sobelcam" and "pearson" in nm for v in vs]
print("# sobelcam's pearson values:", sorted(set(sob)))
sys.exit(1 if bad or n != 144 or sob != [1.0] * len(sob) or not sob else 0)
PYEOF

test_expect_success 'the values equal numpy on the stored maps, for every target of the runs' "
	$PY $TMP/ref.py $TMP/dis/results.sqlite
"

test_expect_success 'the check can fail: second and least swapped do not match' "
	! $PY $TMP/ref.py $TMP/dis/results.sqlite swap >$TMP/swap.out && test_grep 'camlab' $TMP/swap.out
"

test_expect_success 'GradCAM discriminates (Pearson below 1), the Lua GradCAM alike' "
	q 'SELECT r.method, m.idx, m.name, printf(\"%.6f\", m.value) FROM image_metrics m JOIN runs r ON r.key = m.run_key
		WHERE r.target = \"rank1\" AND r.method IN (\"gradcam\", \"luagrad\") ORDER BY 2, 3, 1' >$TMP/g && cat $TMP/g &&
	test \$(grep -c '^gradcam' $TMP/g) -eq 16 &&
	test \$(awk -F'|' '\$1 == \"gradcam\" && \$3 ~ /pearson/ && \$4 < 0.99' $TMP/g | wc -l) -ge 6 &&
	cut -d'|' -f2- $TMP/g | uniq -c | awk '\$1 != 2 { exit 1 }'
"

test_expect_success 'images.csv, aggregates.csv and the table carry it' "
	head -1 $TMP/dis/images.csv | test_grep ',disc_mass_least,disc_mass_second,disc_pearson_least,disc_pearson_second' /dev/stdin &&
	head -1 $TMP/dis/aggregates.csv | test_grep 'disc_pearson_second' /dev/stdin &&
	f=$TMP/dis/report/tables/sanity.r20.pre_gap.logit.rank1.md && cat \$f &&
	test_grep 'Disc.r.*Disc.mass' \$f && test_grep '^\\| SobelCAM .*100.00' \$f
"

test_done
