#!/bin/sh
# t89-fused-layers.t - a layer of several module paths (cam/multilayer.h): the fused GradCAM over two
# layers against an independent computation in Debian's python3-torch that follows pytorch-grad-cam's
# base_cam.py (BaseCAM.forward: one forward and backward with both layers' activations and gradients,
# then compute_cam_per_layer and aggregate_multi_layers); the YAML and Lua front ends giving the same IR;
# check's errors for the new syntax and for refinecam at one layer; explain and run over a fused layer.
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
TOOL=$BUILD/tests/cam_tool
need_built "$TOOL"
MODEL=$SHARED/models/resnet20_cifar10.pt
IMGS=$SHARED/data/foolbox_samples

# ---- the spec language: no model needed beyond a file that exists ----
touch "$TMP/m.pt"
cat >"$TMP/f.yaml" <<EOS
name: fused
models:
  - file: $TMP/m.pt
    layers: {pre_gap: layer4.1, fused: [layer3, layer4], joined: "layer2,layer3"}
  - file: $TMP/m.pt
    name: listed
    layers: [layer4, [layer2, layer4]]
data: $TMP
methods: [gradcam, refinecam]
grid: {exclude: [{layer: pre_gap, method: refinecam}, {model: listed, layer: layer4, method: refinecam}]}
EOS
cat >"$TMP/f.lua" <<EOS
experiment {
  name = "fused",
  models = {
    { file = "$TMP/m.pt", layers = { pre_gap = "layer4.1", fused = { "layer3", "layer4" }, joined = "layer2,layer3" } },
    { file = "$TMP/m.pt", name = "listed", layers = { "layer4", { "layer2", "layer4" } } },
  },
  data = "$TMP",
  methods = { "gradcam", "refinecam" },
  grid = { exclude = { { layer = "pre_gap", method = "refinecam" },
                       { model = "listed", layer = "layer4", method = "refinecam" } } },
}
EOS

test_expect_success 'YAML and Lua give a fused layer the same canonical text' "
	$CAMLAB check --canonical $TMP/f.yaml >$TMP/yaml &&
	$CAMLAB check --canonical $TMP/f.lua >$TMP/lua &&
	diff -u $TMP/yaml $TMP/lua &&
	test_grep '^  layer fused layer3,layer4 auto' $TMP/yaml &&
	test_grep '^  layer layer2,layer4 layer2,layer4 auto' $TMP/yaml
"

test_expect_success 'a plan has a run per fused layer and refinecam only there' "
	$CAMLAB plan $TMP/f.yaml >$TMP/plan &&
	test_grep 'fused +refinecam' $TMP/plan && test_grep 'layer2,layer4 +refinecam' $TMP/plan &&
	! grep -E 'pre_gap +refinecam' $TMP/plan
"

bad() { # NAME FILE PATTERN: camlab check FILE fails saying PATTERN (a basic regular expression)
	test_fails_with "$1" "$3" "$CAMLAB" check "$2"
}
sed 's/^grid:.*//' "$TMP/f.yaml" >"$TMP/noex.yaml"
bad 'check: refinecam at a single layer, at the method, naming the layer' "$TMP/noex.yaml" \
	"noex.yaml:9:20: error: method 'refinecam' needs a fused layer .*layer 'pre_gap' of model 'm' is one module ('layer4.1')"
sed 's/^  grid = .*//; s/^ *{ model = "listed".*//' "$TMP/f.lua" >"$TMP/noex.lua"
bad 'check: the same in Lua' "$TMP/noex.lua" "noex.lua:[0-9]*:[0-9]*: error: method 'refinecam' needs a fused layer .*layer 'pre_gap'"
sed 's/fused: \[layer3, layer4\]/fused: [layer3, layer3]/' "$TMP/f.yaml" >"$TMP/twice.yaml"
bad 'check: a path named twice' "$TMP/twice.yaml" "twice.yaml:4:[0-9]*: error: fused layer 'fused' names 'layer3' twice"
sed 's/fused: \[layer3, layer4\]/fused: []/' "$TMP/f.yaml" >"$TMP/empty.yaml"
bad 'check: an empty list' "$TMP/empty.yaml" "empty.yaml:4:40: error: a fused layer's list of module paths is empty"
sed 's/fused: \[layer3, layer4\]/fused: [layer3, {a: 1}]/' "$TMP/f.yaml" >"$TMP/map.yaml"
bad 'check: a mapping in the list' "$TMP/map.yaml" "map.yaml:4:49: error: expected a module path in a fused layer's list, not a mapping"
sed 's/fused = { "layer3", "layer4" }/fused = { "layer3", 4 }/' "$TMP/f.lua" >"$TMP/num.lua"
bad 'check: a number in the list (Lua)' "$TMP/num.lua" "num.lua:4:[0-9]*: error: expected a module path in a fused layer's list, not a number"
sed 's/"layer2,layer3"/"layer2,,layer3"/' "$TMP/f.yaml" >"$TMP/hole.yaml"
bad 'check: an empty path between commas' "$TMP/hole.yaml" "error: fused layer 'joined' has an empty module path (path 2 of 'layer2,,layer3')"
sed 's/fused: \[layer3, layer4\]/fused: [a, b, c, d, e, f, g, h, i]/' "$TMP/f.yaml" >"$TMP/nine.yaml"
bad 'check: more than 8 layers' "$TMP/nine.yaml" "error: fused layer 'fused' names 9 module paths; at most 8"
sed 's/fused: \[layer3, layer4\]/fused: {path: "layer3,layer4", grid: [7, 7]}/' "$TMP/f.yaml" >"$TMP/grid.yaml"
bad 'check: token keys on a fused layer' "$TMP/grid.yaml" "error: fused layer 'fused': 'prefix_tokens' and 'grid' describe one layer's tokens"

# ---- numbers: the fused GradCAM against base_cam.py's recipe ----
if ! [ -f "$MODEL" ]; then
	test_skip 'fused gradcam against base_cam.py' "no shared models at $SHARED"
elif ! "$PY" -c 'import torch, numpy' 2>/dev/null; then
	test_skip 'fused gradcam against base_cam.py' "$PY lacks torch or numpy (set CAMLAB_PYTHON)"
else
PYTHONPATH=tests $PY - "$TOOL" "$MODEL" "$IMGS" "$TMP" <<'PYEOF' >"$TMP/py"
import glob, os, subprocess, sys
import numpy as np
import torch
from tap import ok, diag, done

tool, model_file, imgs, tmp = sys.argv[1:5]
files = sorted(glob.glob(os.path.join(imgs, "cifar10_0*.png")))[:6]
torch._C._set_graph_executor_optimize(False)
model = torch.jit.load(model_file).eval()
out = os.path.join(tmp, "fused")
os.makedirs(out)
r = subprocess.run([tool, "passes", "--model", model_file, "--layer", "f.layer2,f.layer3", "--utility", "logit",
                    "--target", "predicted", "--methods", "gradcam", "--size", "0",
                    "--mean", "0.485,0.456,0.406", "--std", "0.229,0.224,0.225", "-o", out] + files,
                   capture_output=True, text=True)
if ok(r.returncode == 0, "cam_tool runs gradcam over f.layer2 + f.layer3"):
    L = lambda name: np.load(os.path.join(out, name + ".npy"))
    x = torch.from_numpy(L("x"))
    # one forward, as BaseCAM.forward with ActivationsAndGradients hooks on both layers
    f = model.f
    a2 = f.layer2(f.layer1(torch.relu(f.bn1(f.conv1(x)))))
    a2.retain_grad()
    a3 = f.layer3(a2)
    a3.retain_grad()
    logits = model.h(a3)
    target = logits.argmax(1)  # ClassifierOutputTarget(pred): the logit
    logits.gather(1, target[:, None]).sum().backward()

    def resize(v, H, W):  # cv2.resize INTER_LINEAR on float32: half-pixel centres, clamped edges
        def axis(n_in, n_out):
            src = np.maximum((np.arange(n_out) + 0.5) * n_in / n_out - 0.5, 0)
            i0 = np.minimum(np.floor(src).astype(int), n_in - 1)
            return i0, np.minimum(i0 + 1, n_in - 1), src - i0
        y0, y1, fy = axis(v.shape[1], H)
        x0, x1, fx = axis(v.shape[2], W)
        rows = v[:, y0, :] * (1 - fy)[None, :, None] + v[:, y1, :] * fy[None, :, None]
        return rows[:, :, x0] * (1 - fx) + rows[:, :, x1] * fx

    def scale_cam_image(cam, size=None):  # utils/image.py
        cam = cam - cam.min(axis=(1, 2), keepdims=True)
        cam = cam / (1e-7 + cam.max(axis=(1, 2), keepdims=True))
        return resize(cam, *size) if size else cam

    H, W = x.shape[2:]
    per_layer = []
    for name, a in [("f.layer2", a2), ("f.layer3", a3)]:  # compute_cam_per_layer
        A, G = a.detach().double().numpy(), a.grad.double().numpy()
        raw = (G.mean(axis=(2, 3))[:, :, None, None] * A).sum(1)  # GradCAM's get_cam_image
        s = L("S_gradcam." + name)
        e = np.abs(s - raw).reshape(len(raw), -1).max(1) / np.abs(raw).reshape(len(raw), -1).max(1)
        ok(e.max() < 1e-4, "%s: the layer's GradCAM map from the same pass (max rel err %.2g)" % (name, e.max()))
        per_layer.append(scale_cam_image(np.maximum(raw, 0), (H, W)))
    fused = scale_cam_image(np.maximum(np.stack(per_layer, 1), 0).mean(1))  # aggregate_multi_layers
    e = np.abs(L("H_gradcam") - fused).max()
    ok(e <= 1e-3, "fused map equals base_cam.py's aggregate_multi_layers to 1e-3 (max abs err %.2g)" % e)
    m = L("M_gradcam")
    ok(np.isfinite(m).all() and (m[:, 1] > 0).all(), "AD, Coherency (the fused map of x * H again) and Complexity are computed")
done()
PYEOF
	test_relay "$TMP/py"
fi

# ---- the commands over a fused layer ----
if [ -f "$MODEL" ]; then
	M="--model $MODEL --size 0 --mean 0.485,0.456,0.406 --std 0.229,0.224,0.225"
	test_expect_success 'explain --layer a,b writes fused maps, refinecam among them' "
		$CAMLAB explain $M --layer f.layer2,f.layer3 --method gradcam,refinecam -o $TMP/ex \
			$IMGS/cifar10_00_3.png >$TMP/log &&
		test -f $TMP/ex/cifar10_00_3_refinecam.npy && test -f $TMP/ex/cifar10_00_3_gradcam.png
	"
	test_fails_with 'explain: refinecam at one layer' "method 'refinecam' needs several layers" \
		"$CAMLAB" explain $M --layer f.layer3 --method refinecam -o "$TMP/ex1" "$IMGS/cifar10_00_3.png"
	cat >"$TMP/run.yaml" <<-EOS
	name: fusedrun
	output: $TMP/out
	models: [{file: $MODEL, input_size: 0, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225],
	          layers: {both: [f.layer2, f.layer3]}}]
	data: {path: $IMGS, limit: 2}
	methods: [gradcam, refinecam]
	metrics: [ad, coh, com]
	EOS
	test_expect_success 'run over a fused layer: every run done, with its metrics' "
		$CAMLAB check --models $TMP/run.yaml >$TMP/chk &&
		test_grep \"layer 'both' \\(f.layer2\\): A 32x16x16\" $TMP/chk &&
		$CAMLAB run $TMP/run.yaml >$TMP/runlog 2>&1 &&
		$CAMLAB results $TMP/out >$TMP/res &&
		test_grep '\\| both \\| refinecam \\| rest \\| predicted \\| done \\| 2 \\| 2 \\| [0-9.]+ \\| [0-9.]+ \\| [0-9.]+ ' $TMP/res
	"
else
	test_skip 'explain and run over a fused layer' "no shared models at $SHARED"
fi

test_done
