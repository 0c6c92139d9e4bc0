#!/bin/sh
# t87-smooth.t - pytorch-grad-cam's eigen_smooth and aug_smooth. eigen_smooth: GradCAM's map against
# upstream's own (../shared/reference/pytorch-grad-cam, gradcam_eigensmooth.raw.npy) on the shared
# ResNet-20 and MobileNet-V2 at both reference layers, to 1e-4 x max|raw| up to a sign per image (upstream
# leaves the sign to LAPACK). aug_smooth: GradCAM and HiResCAM against an independent computation in
# Debian's torch that follows upstream's pytorch_grad_cam/base_cam.py, BaseCAM.forward_augmentation_with_ttach
# (ttach's HorizontalFlip x Multiply([0.9, 1, 1.1]), each final map flipped back, the six averaged, not
# min-maxed again) with the forward of BaseCAM.forward / compute_cam_per_layer / aggregate_multi_layers,
# on ResNet-20 split as f and h (t21's route, no camlab graph surgery). And `camlab explain` gives
# cam_tool's smoothed maps.
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
TOOL=$BUILD/tests/cam_tool
REF=$SHARED/reference/pytorch-grad-cam
need_built "$TOOL"
need_built "$BUILD/camlab"
[ -f "$REF/resnet20/pregap/gradcam_eigensmooth.raw.npy" ] || skip_all "no pytorch-grad-cam reference outputs at $REF"
[ -f "$SHARED/models/resnet20_cifar10.pt" ] || skip_all "no shared models at $SHARED"
need_python torch numpy
PYTHONPATH=tests $PY - "$TOOL" "$BUILD/camlab" "$SHARED" "$REF" "$TMP" <<'PYEOF'
import glob, json, os, subprocess, sys
import numpy as np
import torch
import torch.nn.functional as F
from tap import ok, diag, done

tool, camlab, shared, ref, tmp = sys.argv[1:6]
refs = json.load(open(os.path.join(ref, "refs.json")))
MODELS = {
    "resnet20": ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225), {"pregap": "f.layer3", "lastconv": "f.layer3.2.conv2"}, 20),
    "mobilenet_v2": ((0.5, 0.5, 0.5), (0.5, 0.5, 0.5), {"pregap": "Conv_1", "lastconv": "Conv_1.conv"}, 4),
}


def cam_tool(model_file, layer, xfile, shape, mean, std, out, methods, *flags):
    os.makedirs(out)
    r = subprocess.run([tool, "passes", "--model", model_file, "--layer", layer, "--utility", "logit",
                        "--target", "predicted", "--methods", methods, "--mean", ",".join(map(str, mean)),
                        "--std", ",".join(map(str, std)), "--raw-input", "%s:%d,%d,%d,%d" % ((xfile,) + shape),
                        "--lean", "-o", out] + list(flags), capture_output=True, text=True)
    if r.returncode:
        diag(r.stderr.strip())
    return r.returncode == 0


def inputs(model, mean, std, n):
    u8 = np.load(os.path.join(ref, model, "input_rgb_uint8.npy"))[:n]
    x = ((u8.astype(np.float32) / 255 - np.float32(mean)) / np.float32(std)).transpose(0, 3, 1, 2)
    xfile = os.path.join(tmp, "%s.f32" % model)
    np.ascontiguousarray(x, dtype="<f4").tofile(xfile)
    return x, xfile


# eigen_smooth against upstream's own maps
for model, (mean, std, layers, n) in MODELS.items():
    x, xfile = inputs(model, mean, std, n)
    mfile = os.path.join(shared, refs["models"][model]["shared_model"])
    for key, layer in layers.items():
        out = os.path.join(tmp, "eigen_%s_%s" % (model, key))
        if not ok(cam_tool(mfile, layer, xfile, x.shape, mean, std, out, "gradcam", "--eigen-smooth"),
                  "%s %s: cam_tool runs gradcam with --eigen-smooth" % (model, key)):
            continue
        raw = np.load(os.path.join(ref, model, key, "gradcam_eigensmooth.raw.npy"))[:n].astype(np.float64)
        s = np.load(os.path.join(out, "S_gradcam.npy")).astype(np.float64)
        sign = np.where((s * raw).reshape(n, -1).sum(1) < 0, -1.0, 1.0)
        scale = np.abs(raw).reshape(n, -1).max(1)[:, None, None]
        d = (np.abs(s - raw * sign[:, None, None]) / scale).reshape(n, -1).max(1)
        ok(s.shape == raw.shape and d.max() <= 1e-4,
           "%s %s gradcam eigen_smooth: upstream's raw map to 1e-4 x max|raw| up to sign (worst %.2g; "
           "opposite sign on images %s)" % (model, key, d.max(), np.nonzero(sign < 0)[0].tolist()))

# aug_smooth against base_cam.py's forward_augmentation_with_ttach, in torch
torch._C._set_graph_executor_optimize(False)  # LIBTORCH.md: the optimised executor loses A after warm-up
mean, std = MODELS["resnet20"][:2]
mfile = os.path.join(shared, "models/resnet20_cifar10.pt")
net = torch.jit.load(mfile).eval()
x, xfile = inputs("resnet20", mean, std, 8)
X = torch.from_numpy(x)
target = net(X).argmax(1, keepdim=True)  # targets given: the same classes for every transform


def scale_cam_image(cam, size):
    """base_cam.py's utils scale_cam_image: min-max per image, then cv2.resize INTER_LINEAR (upsampling:
    F.interpolate bilinear, align_corners=False)."""
    cam = cam - cam.flatten(1).min(1)[0][:, None, None]
    cam = cam / (1e-7 + cam.flatten(1).max(1)[0][:, None, None])
    return F.interpolate(cam[:, None], size=size, mode="bilinear", align_corners=False)[:, 0]


def forward(xa, method):
    """BaseCAM.forward with one target layer (the output of f): get_cam_image, ReLU, scale, aggregate."""
    A = net.f(xa).detach().requires_grad_(True)
    U = net.h(A).gather(1, target).sum()
    G, = torch.autograd.grad(U, A)
    raw = (G.mean((2, 3), keepdim=True) * A).sum(1) if method == "gradcam" else (G * A).sum(1)
    cam = scale_cam_image(raw.detach().clamp(min=0), xa.shape[2:])
    return scale_cam_image(cam.clamp(min=0), xa.shape[2:])


def aug_smooth(method):
    cams = []
    for flip in (False, True):  # ttach.Compose([HorizontalFlip(), Multiply(factors=[0.9, 1, 1.1])])
        for factor in (0.9, 1, 1.1):
            xa = X.flip(3) if flip else X
            cam = forward(xa * factor, method)
            cams.append(cam.flip(2) if flip else cam)  # deaugment_mask: Multiply leaves it
    return torch.stack(cams).mean(0).numpy()


out = os.path.join(tmp, "aug")
if ok(cam_tool(mfile, "f", xfile, x.shape, mean, std, out, "gradcam,hirescam", "--aug-smooth"),
      "resnet20 f: cam_tool runs gradcam and hirescam with --aug-smooth"):
    for method in ("gradcam", "hirescam"):
        theirs = aug_smooth(method)
        h = np.load(os.path.join(out, "H_%s.npy" % method))
        d = np.abs(h - theirs).max() if h.shape == theirs.shape else np.inf
        ok(d <= 1e-4, "resnet20 %s aug_smooth: base_cam.py's forward_augmentation_with_ttach to 1e-4 (max |diff| %.2g)"
           % (method, d))

# explain: the same options give cam_tool's maps
png = sorted(glob.glob(os.path.join(shared, "data/foolbox_samples/cifar10_0*.png")))[:2]
exp = os.path.join(tmp, "explain")
r = subprocess.run([camlab, "explain", "--model", mfile, "--layer", "f", "--method", "gradcam,fullgrad",
                    "--utility", "logit", "--aug-smooth", "--eigen-smooth", "--size", "0", "--mean",
                    ",".join(map(str, mean)), "--std", ",".join(map(str, std)), "-o", exp] + png,
                   capture_output=True, text=True)
ok(r.returncode == 0, "camlab explain --aug-smooth --eigen-smooth runs gradcam and fullgrad")
if r.returncode:
    diag(r.stderr.strip())
xe, xefile = inputs("resnet20", mean, std, 2)
both = os.path.join(tmp, "both")
if ok(cam_tool(mfile, "f", xefile, xe.shape, mean, std, both, "gradcam,fullgrad", "--aug-smooth", "--eigen-smooth"),
      "cam_tool runs gradcam and fullgrad with both options"):
    for method in ("gradcam", "fullgrad"):
        mine = np.load(os.path.join(both, "H_%s.npy" % method))
        got = [np.load(p) for p in sorted(glob.glob(os.path.join(exp, "*_%s.npy" % method)))]
        ok(len(got) == 2 and max(np.abs(g - m).max() for g, m in zip(got, mine)) <= 1e-5,
           "explain's %s maps with both options are cam_tool's" % method)
done()
PYEOF
