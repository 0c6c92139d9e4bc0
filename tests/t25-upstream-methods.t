#!/bin/sh
# t25-upstream-methods.t - the methods camlab takes from pytorch-grad-cam (eigencam, eigengradcam, kpcacam,
# segeigencam, fem, sobelcam, and FinerCAM as gradcam with the utility finer) against upstream's own maps
# in ../shared/reference/pytorch-grad-cam (its README says how they were made and how to compare): the
# raw map of every image to 1e-4 x max|raw| (EigenCAM and EigenGradCAM up to a sign per image, which
# upstream leaves to LAPACK), the final map to 1e-3, SobelCAM's bytes to 1. cam_tool computes the maps
# from upstream's own input arrays, so no image decoding stands between the two.
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
TOOL=$BUILD/tests/cam_tool
REF=$SHARED/reference/pytorch-grad-cam
[ -x "$TOOL" ] || skip_all "$TOOL not built"
[ -f "$REF/refs.json" ] || skip_all "no pytorch-grad-cam reference outputs at $REF"
[ -f "$SHARED/models/resnet20_cifar10.pt" ] || skip_all "no shared models at $SHARED"
need_python numpy
PYTHONPATH=tests $PY - "$TOOL" "$SHARED" "$REF" "$TMP" <<'PYEOF'
import json, os, subprocess, sys
import numpy as np
from tap import ok, diag, done

tool, shared, ref, tmp = sys.argv[1:5]
refs = json.load(open(os.path.join(ref, "refs.json")))
MODELS = {
    "resnet20": ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225), {"pregap": "f.layer3", "lastconv": "f.layer3.2.conv2"}),
    "mobilenet_v2": ((0.5, 0.5, 0.5), (0.5, 0.5, 0.5), {"pregap": "Conv_1", "lastconv": "Conv_1.conv"}),
}
METHODS = ["eigencam", "eigengradcam", "kpcacam", "segeigencam", "fem"]
SIGNED = {"eigencam", "eigengradcam"}  # upstream's sign is LAPACK's


def resize(v, H, W):
    """(N, h, w) to (N, H, W): bilinear, half-pixel centres, clamped edges (cv2.INTER_LINEAR)."""
    def axis(n_in, n_out):
        src = np.maximum((np.arange(n_out) + 0.5) * n_in / n_out - 0.5, 0)
        i0 = np.minimum(np.floor(src).astype(int), n_in - 1)
        return i0, np.minimum(i0 + 1, n_in - 1), src - i0
    y0, y1, fy = axis(v.shape[1], H)
    x0, x1, fx = axis(v.shape[2], W)
    rows = v[:, y0, :] * (1 - fy)[None, :, None] + v[:, y1, :] * fy[None, :, None]
    return rows[:, :, x0] * (1 - fx) + rows[:, :, x1] * fx


def mm(v):
    v = v - v.min(axis=(1, 2), keepdims=True)
    return v / (1e-7 + v.max(axis=(1, 2), keepdims=True))


def recipe(raw, H, W):
    return mm(resize(mm(np.maximum(raw.astype(np.float64), 0)), H, W))


def worst(mine, theirs, scale):
    """The largest per-image max |diff| / scale, and that image."""
    d = np.abs(mine - theirs).reshape(len(mine), -1).max(1) / scale
    return float(d.max()), int(d.argmax())


def cam_tool(model, layer, utility, methods, xfile, shape, mean, std, out):
    os.makedirs(out)
    r = subprocess.run([tool, "passes", "--model", os.path.join(shared, refs["models"][model]["shared_model"]),
                        "--layer", layer, "--utility", utility, "--target", "predicted", "--methods", methods,
                        "--mean", ",".join(map(str, mean)), "--std", ",".join(map(str, std)),
                        "--raw-input", "%s:%d,%d,%d,%d" % ((xfile,) + shape), "--lean", "-o", out],
                       capture_output=True, text=True)
    if r.returncode:
        diag(r.stderr.strip())
    return r.returncode == 0


for model, (mean, std, layers) in MODELS.items():
    u8 = np.load(os.path.join(ref, model, "input_rgb_uint8.npy"))
    N, H, W, _ = u8.shape
    x = ((u8.astype(np.float32) / 255 - np.float32(mean)) / np.float32(std)).transpose(0, 3, 1, 2)
    xfile = os.path.join(tmp, model + ".f32")
    np.ascontiguousarray(x, dtype="<f4").tofile(xfile)
    for key, layer in layers.items():
        for utility, methods, keys in [("logit", ",".join(METHODS + ["sobelcam"]), METHODS),
                                       ("finer", "gradcam", ["finercam"])]:
            out = os.path.join(tmp, "%s_%s_%s" % (model, key, utility))
            if not ok(cam_tool(model, layer, utility, methods, xfile, x.shape, mean, std, out),
                      "%s %s: cam_tool runs %s with utility %s" % (model, key, methods, utility)):
                continue
            for k in keys:
                mine_name = "gradcam" if k == "finercam" else k
                raw = np.load(os.path.join(ref, model, key, k + ".raw.npy")).astype(np.float64)
                s = np.load(os.path.join(out, "S_%s.npy" % mine_name)).astype(np.float64)
                h = np.load(os.path.join(out, "H_%s.npy" % mine_name)).astype(np.float64)
                sign = np.ones(N)
                if k in SIGNED:
                    sign = np.where((s * raw).reshape(N, -1).sum(1) < 0, -1.0, 1.0)
                    diag("%s %s %s: opposite sign to upstream's on images %s" % (
                        model, key, k, np.nonzero(sign < 0)[0].tolist()))
                theirs = raw * sign[:, None, None]
                scale = np.abs(raw).reshape(N, -1).max(1)[:, None, None].clip(1e-30)
                e, i = worst(s / scale, theirs / scale, 1.0)
                ok(s.shape == raw.shape and e <= 1e-4,
                   "%s %s %s: raw map to 1e-4 x max|raw| (worst %.2g, image %d)" % (model, key, k, e, i))
                stored = os.path.join(ref, model, key, k + ".npy")
                final = np.load(stored) if os.path.exists(stored) and k not in SIGNED else recipe(theirs, H, W)
                e, i = worst(h, final, 1.0)
                ok(h.shape == final.shape and e <= 1e-3,
                   "%s %s %s: final map to 1e-3 (worst %.2g, image %d)" % (model, key, k, e, i))
            if utility == "logit" and key == "pregap":
                sobel = np.load(os.path.join(ref, model, "sobelcam.npy")).astype(np.float64)
                s = np.load(os.path.join(out, "S_sobelcam.npy")).astype(np.float64)
                d = np.abs(s - sobel).max()
                ok(s.shape == sobel.shape and d <= 1,
                   "%s sobelcam: upstream's bytes to 1 (max |diff| %g, %d pixels differ)" % (
                       model, d, int((s != sobel).sum())))
done()
PYEOF
