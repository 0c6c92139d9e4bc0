#!/bin/sh
# t86-fullgrad.t - FullGrad against pytorch-grad-cam's own maps (../shared/reference/pytorch-grad-cam,
# fullgrad.npy: FullGrad(model, target_layers=[]) with the predicted class's logit) on the shared
# ResNet-20 (its 19 BatchNorm2d biases, beta - mean gamma / sqrt(var + eps)) and MobileNet-V2 (its 53
# Conv2d biases): the final map of every image to 1e-3, from upstream's own input arrays. FullGrad
# reads the whole network, so the map must not depend on the layer the run names; and
# `camlab explain --method fullgrad` must give cam_tool's map.
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
TOOL=$BUILD/tests/cam_tool
REF=$SHARED/reference/pytorch-grad-cam
need_built "$TOOL"
[ -f "$REF/resnet20/fullgrad.npy" ] || skip_all "no pytorch-grad-cam reference outputs at $REF"
[ -f "$SHARED/models/resnet20_cifar10.pt" ] || skip_all "no shared models at $SHARED"
need_python numpy
PYTHONPATH=tests $PY - "$TOOL" "$SHARED" "$REF" "$TMP" <<'PYEOF'
import json, os, subprocess, sys
import numpy as np
from tap import ok, diag, done

tool, shared, ref, tmp = sys.argv[1:5]
refs = json.load(open(os.path.join(ref, "refs.json")))
MODELS = {
    "resnet20": ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225), ["f.layer3", "f.layer3.2.conv2"], 20),
    "mobilenet_v2": ((0.5, 0.5, 0.5), (0.5, 0.5, 0.5), ["Conv_1"], 6),  # 6 of 16 images: seconds, not a minute
}


def cam_tool(model, layer, xfile, shape, mean, std, out):
    os.makedirs(out)
    r = subprocess.run([tool, "passes", "--model", os.path.join(shared, refs["models"][model]["shared_model"]),
                        "--layer", layer, "--utility", "logit", "--target", "predicted", "--methods", "fullgrad",
                        "--mean", ",".join(map(str, mean)), "--std", ",".join(map(str, std)),
                        "--raw-input", "%s:%d,%d,%d,%d" % ((xfile,) + shape), "--lean", "-o", out],
                       capture_output=True, text=True)
    if r.returncode:
        diag(r.stderr.strip())
    return r.returncode == 0


for model, (mean, std, layers, n) in MODELS.items():
    u8 = np.load(os.path.join(ref, model, "input_rgb_uint8.npy"))[:n]
    theirs = np.load(os.path.join(ref, model, "fullgrad.npy"))[:n].astype(np.float64)
    x = ((u8.astype(np.float32) / 255 - np.float32(mean)) / np.float32(std)).transpose(0, 3, 1, 2)
    xfile = os.path.join(tmp, model + ".f32")
    np.ascontiguousarray(x, dtype="<f4").tofile(xfile)
    first = None
    for layer in layers:
        out = os.path.join(tmp, "%s_%s" % (model, layer))
        if not ok(cam_tool(model, layer, xfile, x.shape, mean, std, out),
                  "%s: cam_tool runs fullgrad (layer %s)" % (model, layer)):
            continue
        h = np.load(os.path.join(out, "H_fullgrad.npy")).astype(np.float64)
        if first is None:
            first = h
            d = np.abs(h - theirs).reshape(len(h), -1).max(1) if h.shape == theirs.shape else np.array([np.inf])
            ok(h.shape == theirs.shape and d.max() <= 1e-3,
               "%s fullgrad: upstream's final map to 1e-3 (worst %.2g, image %d)" % (model, d.max(), d.argmax()))
        else:
            ok(np.array_equal(h, first), "%s fullgrad: the same maps whatever the layer (%s)" % (model, layer))
done()
PYEOF
