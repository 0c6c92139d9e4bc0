#!/bin/sh
# t88-refinecam.t - refinecam over a fused layer against pytorch-grad-cam's own RefineCAM maps in
# ../shared/reference/pytorch-grad-cam (its README: RefineCAM(model, [L1, L2]) with GradCAM++ as the base
# method, resnet20 at f.layer2 + f.layer3, mobilenet_v2 at Conv_1 + expanded_conv_16_project, target the
# predicted class's logit): each layer's GradCAM++ map to 1e-4 x max|raw| per image (refinecam.raw.<path>),
# the final map to 1e-3 per image (refinecam.npy). cam_tool computes them from upstream's own input arrays
# (input_rgb_uint8.npy), so no image decoding stands between the two.
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
TOOL=$BUILD/tests/cam_tool
REF=$SHARED/reference/pytorch-grad-cam
need_built "$TOOL"
[ -f "$REF/resnet20/refinecam.npy" ] || skip_all "no pytorch-grad-cam reference outputs at $REF"
[ -f "$SHARED/models/resnet20_cifar10.pt" ] || skip_all "no shared models at $SHARED"
need_python numpy
PYTHONPATH=tests $PY - "$TOOL" "$SHARED" "$REF" "$TMP" <<'PYEOF'
import os, subprocess, sys
import numpy as np
from tap import ok, diag, done

tool, shared, ref, tmp = sys.argv[1:5]
MODELS = [
    ("resnet20", "resnet20_cifar10.pt", (0.485, 0.456, 0.406), (0.229, 0.224, 0.225), ["f.layer2", "f.layer3"]),
    ("mobilenet_v2", "mobilenet_v2_imagenet.pt", (0.5,) * 3, (0.5,) * 3, ["Conv_1", "expanded_conv_16_project"]),
]

for model, file, mean, std, layers in MODELS:
    u8 = np.load(os.path.join(ref, model, "input_rgb_uint8.npy"))
    N = len(u8)
    x = ((u8.astype(np.float32) / 255 - np.float32(mean)) / np.float32(std)).transpose(0, 3, 1, 2)
    xfile = os.path.join(tmp, model + ".f32")
    np.ascontiguousarray(x, dtype="<f4").tofile(xfile)
    out = os.path.join(tmp, model)
    os.makedirs(out)
    r = subprocess.run([tool, "passes", "--model", os.path.join(shared, "models", file), "--layer", ",".join(layers),
                        "--utility", "logit", "--target", "predicted", "--methods", "refinecam",
                        "--mean", ",".join(map(str, mean)), "--std", ",".join(map(str, std)),
                        "--raw-input", "%s:%d,%d,%d,%d" % ((xfile,) + x.shape), "--lean", "-o", out],
                       capture_output=True, text=True)
    if not ok(r.returncode == 0, "%s: cam_tool runs refinecam over %s" % (model, " + ".join(layers))):
        diag(r.stderr.strip())
        continue
    for layer in layers:
        raw = np.load(os.path.join(ref, model, "refinecam.raw.%s.npy" % layer)).astype(np.float64)
        s = np.load(os.path.join(out, "S_refinecam.%s.npy" % layer)).astype(np.float64)
        scale = np.abs(raw).reshape(N, -1).max(1).clip(1e-30)
        d = (np.abs(s - raw).reshape(N, -1).max(1) / scale) if s.shape == raw.shape else np.array([np.inf])
        ok(d.max() <= 1e-4, "%s %s: GradCAM++ map to 1e-4 x max|raw| (worst %.2g, image %d)" % (
            model, layer, d.max(), d.argmax()))
    final = np.load(os.path.join(ref, model, "refinecam.npy")).astype(np.float64)
    h = np.load(os.path.join(out, "H_refinecam.npy")).astype(np.float64)
    d = np.abs(h - final).reshape(N, -1).max(1) if h.shape == final.shape else np.array([np.inf])
    ok(d.max() <= 1e-3, "%s: refinecam's final map to 1e-3 (worst %.2g, image %d)" % (model, d.max(), d.argmax()))
done()
PYEOF
