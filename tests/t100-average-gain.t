#!/bin/sh
# t100-average-gain.t - Average Gain as the Opti-CAM paper defines it (Zhang et al., "Opti-CAM:
# Optimizing saliency maps for interpretability", CVIU 2024, section 4):
#   AG = 100/N sum_i max(0, o_c(x_i * S_i) - o_c(x_i)) / (1 - o_c(x_i)),
# o_c the softmax probability of the explained class c, S_i the saliency map normalised to [0, 1] and
# upsampled to the input (the authors' code, github.com/hanwei0912/OptiCAM util.py, masks the input
# with its max-min normalised map the same way). camlab's per-image gain and its table's AG column
# against numpy on the shared CIFAR-10 ResNet-20, from the heatmaps and inputs the run stored, for the
# predicted class (which rarely gains) and the least likely one (which does).
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
[ -f "$SHARED/models/resnet20_cifar10.pt" ] || skip_all "no shared models at $SHARED"
[ -d "$SHARED/data/foolbox_samples" ] || skip_all "no shared data at $SHARED"
need_python torch numpy

N=12
for f in $(ls $SHARED/data/foolbox_samples/cifar10_*.png | head -$N); do
	c=${f##*_}; echo "$f ${c%.png}"
done >$TMP/cifar.txt
cat >$TMP/ag.yaml <<EOF
name: ag
output: $TMP/ag
batch: $N
models:
  - {name: resnet20, file: $SHARED/models/resnet20_cifar10.pt, input_size: 0, mean: [0.485, 0.456, 0.406],
     std: [0.229, 0.224, 0.225], layers: {pre_gap: f.layer3}}
data: {path: $TMP/cifar.txt}
methods: [gradcam, layercam, randomcam]
targets: [predicted, least]
metrics: [gain]
outputs:
  plots: false
  figures: [$(i=1; printf '{image: 0}'; while [ $i -lt $N ]; do printf ', {image: %d}' $i; i=$((i + 1)); done)]
EOF

cat >$TMP/ag.py <<'PYEOF'
import sqlite3, sys
import numpy as np
import torch

out, model_path = sys.argv[1:3]
torch._C._set_graph_executor_optimize(False)
model = torch.jit.load(model_path).eval().double()
mean = np.array([0.485, 0.456, 0.406]); std = np.array([0.229, 0.224, 0.225])
con = sqlite3.connect(out + "/results.sqlite")

def softmax(z):
    z = z - z.max(1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(1, keepdims=True)

def prob(x, c):   # o_c: the softmax probability of class c, in numpy from the model's logits
    with torch.no_grad():
        return softmax(model(torch.from_numpy(x)).numpy())[0, c]

bad = gains = 0
per_run = {}
rows = con.execute("SELECT r.key, r.method, r.target, i.idx, i.class, h.h, h.w, h.data, p.rgb, p.h, p.w FROM images i "
                   "JOIN runs r ON r.key = i.run_key JOIN heatmaps h ON h.run_key = i.run_key AND h.idx = i.idx "
                   "JOIN inputs p ON p.model = r.model AND p.idx = i.idx ORDER BY 1, 4").fetchall()
for key, method, target, idx, c, h, w, data, rgb, ih, iw in rows:
    S = np.frombuffer(data, "<f4").reshape(h, w).astype(np.float64)
    u8 = np.frombuffer(rgb, np.uint8).reshape(ih, iw, 3).astype(np.float64)
    x = ((u8 / 255 - mean) / std).transpose(2, 0, 1)[None].copy()
    y = prob(x, c); o = prob(x * S[None, None], c)
    ag = max(0.0, o - y) / (1 - y)
    gains += ag > 1e-3
    got = con.execute("SELECT value FROM image_metrics WHERE run_key = ? AND idx = ? AND name = 'gain'",
                      (key, idx)).fetchone()
    if got is None or not abs(got[0] - ag) <= 1e-5:
        bad += 1
        print("# %s %s image %d: camlab %r, reference %r" % (method, target, idx, got and got[0], ag))
    per_run.setdefault((method, target), []).append(ag)
# the table's AG column: 100/N times the sum, with two decimals
for (method, target), v in sorted(per_run.items()):
    want = "%.2f" % (100 * sum(v) / len(v))
    shown = {"gradcam": "GradCAM", "layercam": "LayerCAM", "randomcam": "RandomCAM"}[method]
    table = open("%s/report/tables/faithfulness.resnet20.pre_gap.rest.%s.csv" % (out, target)).read().splitlines()
    head = table[0].split(",")
    got = [r.split(",")[head.index("AG")] for r in table[1:] if r.startswith(shown + ",")]
    print("# %s %s: AG %s, reference %s over %d images" % (method, target, got, want, len(v)))
    if len(got) != 1 or not abs(float(got[0]) - float(want)) <= 0.01:
        bad += 1
print("# %d image results, %d gaining" % (len(rows), gains))
sys.exit(1 if bad or not per_run or not gains else 0)
PYEOF

test_expect_success 'a run computes the gain of each image' "
	$CAMLAB run --no-progress $TMP/ag.yaml >$TMP/log 2>&1 || { cat $TMP/log; false; }
"

test_expect_success 'each image and each AG of the table as numpy computes the Opti-CAM definition' "
	$PY $TMP/ag.py $TMP/ag $SHARED/models/resnet20_cifar10.pt
"

test_done
