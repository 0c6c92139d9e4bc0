#!/bin/sh
# t70-model-outputs.t - models whose outputs are not logits of shape (images, classes), made by the
# Debian python's torch: a scalar or a vector output is a clear error in explain, predict, check
# --models and run (it was an out-of-memory crash from a size read as -1); NaN outputs are said in the
# run's log and by status (they ended "done" with empty metric columns and no word).
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
need_python torch PIL numpy

# torch.jit.script reads the module's source: the script is a file
cat >"$TMP/make.py" <<'PYEOF'

import os, sys
import numpy as np, torch, torch.nn as nn
from PIL import Image
tmp = sys.argv[1]
class Net(nn.Module):
    def __init__(self, kind):
        super().__init__()
        self.kind = kind
        self.features = nn.Conv2d(3, 4, 3, padding=1)
        self.fc = nn.Linear(4, 10)
    def forward(self, x):
        y = self.fc(self.features(x).mean((2, 3)))
        if self.kind == 1:
            return y.sum()
        if self.kind == 2:
            return y.sum(1)
        if self.kind == 3:
            return y * float("nan")
        return y
for kind, name in enumerate(["good", "scalar", "vector", "nan"]):
    torch.manual_seed(0)
    torch.jit.script(Net(kind).eval()).save(os.path.join(tmp, name + ".pt"))
os.makedirs(os.path.join(tmp, "imgs"))
rng = np.random.RandomState(0)
for i in range(6):
    Image.fromarray((rng.rand(16, 16, 3) * 255).astype("uint8")).save(os.path.join(tmp, "imgs/%d.png" % i))
PYEOF
$PY "$TMP/make.py" "$TMP" || { echo "1..1"; echo "not ok 1 - making the test models"; exit 1; }

spec() { # spec MODEL
	cat >"$TMP/spec-$1.yaml" <<EOS
name: $1
output: $TMP/out-$1
batch: 4
models:
  - {name: m, file: $TMP/$1.pt, layers: {f: features}, input_size: 0, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5]}
data: {path: $TMP/imgs}
methods: [gradcam]
utilities: [logit]
metrics: [ad, coh, com]
EOS
}

for m in scalar vector; do
	case $m in
	scalar) what='is a scalar' ;;
	vector) what='has shape ([14])' ;;
	esac
	test_fails_with "explain: a $m output is a clear error" \
		"the model's output $what; expected logits of shape (1, classes) for a batch of 1 image(s)" \
		$CAMLAB explain --model $TMP/$m.pt --layer features --size 0 -o $TMP/ex-$m $TMP/imgs/0.png
	test_fails_with "predict: a $m output is a clear error" "the model's output $what; expected logits" \
		$CAMLAB predict --model $TMP/$m.pt --size 0 $TMP/imgs/0.png
	spec $m
	test_fails_with "check --models: a $m output is a clear error at the model" \
		":[0-9]*:[0-9]*: error: model 'm': the model's output $what; expected logits" \
		$CAMLAB check --models $TMP/spec-$m.yaml
	test_fails_with "run: a $m output fails the run with a clear error" \
		"failed: the shared pass failed: forward from the target layer failed: the model's output $what; expected logits of shape (4, classes) for a batch of 4 image(s)" \
		$CAMLAB run --no-progress $TMP/spec-$m.yaml
done

spec nan
test_expect_success 'NaN outputs: the run says how many images per run, and status notes them' "
	$CAMLAB run --no-progress $TMP/spec-nan.yaml 2>$TMP/nan.log && cat $TMP/nan.log &&
	test_grep '^warning: run [0-9a-f]{16} \(m/f gradcam logit predicted\): 6 of 6 image\(s\) had a NaN or infinite class probability' $TMP/nan.log &&
	$CAMLAB status $TMP/out-nan >$TMP/st && cat $TMP/st &&
	test_grep '^note: 6 image result\(s\) had a NaN or infinite class probability' $TMP/st
"

spec good
test_expect_success 'finite outputs: no such warning or note' "
	$CAMLAB run --no-progress $TMP/spec-good.yaml 2>$TMP/good.log &&
	! grep -q 'NaN' $TMP/good.log &&
	$CAMLAB status $TMP/out-good >$TMP/st && ! grep -q 'NaN' $TMP/st
"

test_done
