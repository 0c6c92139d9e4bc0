#!/bin/sh
# t23-layers.t - cutting plain TorchScript files at a layer, on small random models made by
# tools/make_test_models.py: traced and scripted ResNet-18 (a block output and a conv inside a residual
# block), a conv followed by ReLU(inplace=True) (captured before the ReLU), a channels-last LayerNorm
# (--layout bhwc), and the exact-Shapley game of SCIENCE.md on a 3x3 map. Python recomputes A, dU/dA and
# HA by calling the models' submodules directly, without camlab's graph surgery.
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
TOOL=$BUILD/tests/cam_tool
need_built "$TOOL"
need_python torch torchvision numpy
$PY tools/make_test_models.py "$TMP/models" >/dev/null || { echo "1..1"; echo "not ok 1 - make_test_models.py"; exit 1; }
PYTHONPATH=tests $PY - "$TOOL" "$TMP" "$BUILD/camlab" <<'PYEOF'
import itertools, math, os, subprocess, sys
import numpy as np
import torch
import torch.nn.functional as F
from tap import ok, diag, rel, done

tool, tmp, camlab = sys.argv[1:4]
M = os.path.join(tmp, "models")
torch._C._set_graph_executor_optimize(False)

def shape_of(name):
    for line in open(os.path.join(M, name + ".txt")):
        if line.startswith("input"):
            return ",".join(line.split()[1:])

def passes(name, layer, utility="rest", extra=()):
    out = os.path.join(tmp, "%s-%s-%s" % (name, layer, utility))
    os.makedirs(out, exist_ok=True)
    r = subprocess.run([tool, "passes", "--model", os.path.join(M, name + ".pt"), "--layer", layer,
                        "--utility", utility, "--raw-input", os.path.join(M, name + ".input.f32") + ":" + shape_of(name),
                        "-o", out] + list(extra), capture_output=True, text=True)
    if r.returncode:
        diag(r.stderr.strip())
        return None
    return lambda k: np.load(os.path.join(out, k + ".npy"))

def x_of(name):
    return torch.from_numpy(np.fromfile(os.path.join(M, name + ".input.f32"), dtype="<f4").reshape(
        [int(v) for v in shape_of(name).split(",")]))

def rest(logits):
    t = logits.argmax(1, keepdim=True)
    return (logits.gather(1, t) + F.log_softmax(logits, 1).gather(1, t)).sum()

def reference(prefix, suffix, x, utility=rest):
    with torch.no_grad():
        A = prefix(x)
    A = A.detach().requires_grad_(True)
    logits = suffix(A)
    G, = torch.autograd.grad(utility(logits), A, create_graph=True)
    HA, = torch.autograd.grad(G, A, grad_outputs=A, allow_unused=True) if G.requires_grad else (None,)
    return A.detach(), logits.detach(), G.detach(), (torch.zeros_like(A) if HA is None else HA.detach())

def compare(label, L, A, logits, G, HA, perm=None):
    if L is None:
        ok(False, label + ": camlab cut the model"); return
    ok(True, label + ": camlab cut the model")
    if perm is not None:
        A, G, HA = (t.permute(*perm) for t in (A, G, HA))
    for what, mine, ref in [("A", L("a"), A), ("logits", L("logits"), logits), ("dU/dA", L("g"), G), ("HA", L("ha"), HA)]:
        e = rel(mine, ref.numpy())
        ok(mine.shape == tuple(ref.shape) and e < 1e-4, "%s: %s matches (shape %s, rel err %.1e)" % (label, what, mine.shape, e))

# ResNet-18, traced and scripted: the files' own logits, then A/G/HA at a block output and inside a block.
for kind in ("traced", "scripted"):
    name = "resnet18_" + kind
    ref_logits = np.fromfile(os.path.join(M, name + ".logits.f32"), dtype="<f4").reshape(1, -1)
    m = torch.jit.load(os.path.join(M, "resnet18_scripted.pt")).eval()  # same weights, callable submodules
    x = x_of(name)
    stem = lambda x: m.maxpool(m.relu(m.bn1(m.conv1(x))))
    b40, b41 = getattr(m.layer4, "0"), getattr(m.layer4, "1")
    to_l4 = lambda x: b40(m.layer3(m.layer2(m.layer1(stem(x)))))
    head = lambda A: m.fc(torch.flatten(m.avgpool(A), 1))
    L = passes(name, "layer4.1")
    if L is not None:
        ok(rel(L("logits"), ref_logits) < 1e-5, "%s: logits through prefix+suffix equal the file's forward" % name)
    compare("%s layer4.1" % name, L, *reference(lambda x: b41(to_l4(x)), head, x))
    def inner_suffix(A, inp=None):
        inp = to_l4(x)
        return head(F.relu(b41.bn2(A) + inp))
    compare("%s layer4.1.conv2 (inside a residual block)" % name, passes(name, "layer4.1.conv2"),
            *reference(lambda x: b41.conv2(F.relu(b41.bn1(b41.conv1(to_l4(x))))), inner_suffix, x))

# A module called twice (torchvision's BasicBlock calls its relu twice) cannot be cut: a clear error.
r = subprocess.run([camlab, "explain", "--model", os.path.join(M, "resnet18_scripted.pt"), "--size", "0",
                    "--layer", "layer4.1.relu", "-o", os.path.join(tmp, "x"), "/dev/null"], capture_output=True, text=True)
ok(r.returncode == 1 and "called 2 times" in r.stderr, "a module called twice is refused with a reason: " + r.stderr.strip().split("\n")[-1])

# VGG-style conv followed by ReLU(inplace=True): A is the conv output, negatives included.
m = torch.jit.load(os.path.join(M, "vgg_inplace.pt")).eval()
f = lambda i: getattr(m.features, str(i))
x = x_of("vgg_inplace")
ref = reference(lambda x: f(2)(f(1)(f(0)(x))),
                lambda A: m.classifier(torch.flatten(m.pool(f(4)(F.relu(A))), 1)), x)
L = passes("vgg_inplace", "features.2")
compare("vgg features.2 before an in-place ReLU", L, *ref)
if L is not None:
    ok(L("a").min() < 0, "vgg features.2: the captured A keeps its negative values (min %.3f)" % L("a").min())

# The paper code's quirk (SCIENCE.md), on request only: its ShapleyCAM held a live reference to A, which
# the in-place ReLU then changed, so it used relu(A) for A and as the Hessian-vector product's vector.
from PIL import Image
png = os.path.join(tmp, "vgg_in.png")
Image.fromarray(np.random.RandomState(7).randint(0, 256, (32, 32, 3), dtype=np.uint8)).save(png)
xq = torch.from_numpy(np.asarray(Image.open(png), dtype=np.float32) / 255).permute(2, 0, 1)[None]
A, _, G, HA = reference(lambda x: f(2)(f(1)(f(0)(x))), lambda A: m.classifier(torch.flatten(m.pool(f(4)(F.relu(A))), 1)), xq)
Aq = A.relu()
Ar = A.detach().requires_grad_(True)
Gr, = torch.autograd.grad(rest(m.classifier(torch.flatten(m.pool(f(4)(F.relu(Ar))), 1))), Ar, create_graph=True)
HAq, = torch.autograd.grad(Gr, Ar, grad_outputs=Aq)
def shapleycam(A, G, HA):
    return ((G - 0.5 * HA).mean((2, 3), keepdim=True) * A).sum(1)[0].numpy()
for quirk, ref in ((False, shapleycam(A, G, HA)), (True, shapleycam(Aq, G, HAq.detach()))):
    out = os.path.join(tmp, "quirk-%d" % quirk)
    r = subprocess.run([camlab, "explain", "--model", os.path.join(M, "vgg_inplace.pt"), "--size", "0", "--mean", "0,0,0",
                        "--std", "1,1,1", "--layer", "features.2", "--method", "shapleycam,gradcam", "--raw", "-o", out, png]
                       + (["--quirk", "shapley-live-activation"] if quirk else []), capture_output=True, text=True)
    raw = np.load(os.path.join(out, "vgg_in_shapleycam_raw.npy")) if r.returncode == 0 else None
    e = rel(raw, ref) if raw is not None else float("inf")
    ok(e < 1e-4, "vgg features.2, ShapleyCAM %s: raw map matches (rel err %.1e)"
       % ("with --quirk shapley-live-activation (relu(A) for A and in HA)" if quirk else "faithful (pre-ReLU A)", e))
ok(rel(np.load(os.path.join(tmp, "quirk-1", "vgg_in_shapleycam_raw.npy")), shapleycam(A, G, HA)) > 1e-2,
   "the quirk changes ShapleyCAM at this layer")
ok(np.array_equal(np.load(os.path.join(tmp, "quirk-1", "vgg_in_gradcam_raw.npy")),
                  np.load(os.path.join(tmp, "quirk-0", "vgg_in_gradcam_raw.npy"))), "and leaves GradCAM as it was")
# CAM is defined where the layer feeds global average pooling and the linear head: refused elsewhere.
for name, layer, want in (("resnet18_scripted", "layer4.1", True), ("resnet18_scripted", "layer4.1.conv2", False),
                          ("resnet18_traced", "layer4.1", True), ("vgg_inplace", "features.2", False)):
    r = subprocess.run([camlab, "explain", "--model", os.path.join(M, name + ".pt"), "--size", "0", "--mean", "0,0,0",
                        "--std", "1,1,1", "--layer", layer, "--method", "cam", "-o", os.path.join(tmp, "cam-" + name), png],
                       capture_output=True, text=True)
    refused = "needs the layer to feed global average pooling" in r.stderr
    ok((r.returncode == 0) == want and refused != want,
       "CAM at %s %s is %s" % (name, layer, "computed" if want else "refused with a reason"))

# In an experiment: `quirk: shapley-live-activation` gives the ShapleyCAM runs keys of their own, not GradCAM's.
os.makedirs(os.path.join(tmp, "qdata"), exist_ok=True)
Image.open(png).save(os.path.join(tmp, "qdata", "a.png"))
keys = {}
for quirk in (False, True):
    spec = os.path.join(tmp, "q%d.yaml" % quirk)
    with open(spec, "w") as fp:
        fp.write("models: [{name: v, file: %s, input_size: 0, mean: 0, std: 1, layers: {l: features.2}}]\n"
                 "data: {path: %s}\nmethods: [gradcam, shapleycam]\nmetrics: [ad]\noutput: %s\n%s"
                 % (os.path.join(M, "vgg_inplace.pt"), os.path.join(tmp, "qdata"), os.path.join(tmp, "qout%d" % quirk),
                    "quirk: shapley-live-activation\n" if quirk else ""))
    r = subprocess.run([camlab, "plan", spec], capture_output=True, text=True)
    keys[quirk] = {l.split()[5]: l.split()[0] for l in r.stdout.splitlines()[1:] if len(l.split()) > 6}
ok(keys[0].get("gradcam") == keys[1].get("gradcam") and keys[0].get("shapleycam") != keys[1].get("shapleycam"),
   "the quirk's ShapleyCAM runs have keys of their own, GradCAM's are shared: %s" % keys)
r = subprocess.run([camlab, "run", "--no-progress", os.path.join(tmp, "q1.yaml")], capture_output=True, text=True)
ok(r.returncode == 0, "an experiment with the quirk runs" + ("" if r.returncode == 0 else ": " + r.stderr[-300:]))

# Channels-last LayerNorm: --layout bhwc hands camlab (B, C, h, w).
m = torch.jit.load(os.path.join(M, "swin_like_bhwc.pt")).eval()
x = x_of("swin_like_bhwc")
ref = reference(lambda x: m.norm(m.patch_embed(x).permute(0, 2, 3, 1)), lambda A: m.head(A.mean(dim=(1, 2))), x)
compare("swin-like norm with --layout bhwc", passes("swin_like_bhwc", "norm", extra=["--layout", "bhwc"]), *ref, perm=(0, 3, 1, 2))
compare("swin-like norm, layout left to auto (a LayerNorm is channels-last)", passes("swin_like_bhwc", "norm"), *ref, perm=(0, 3, 1, 2))
L = passes("swin_like_bhwc", "norm", extra=["--layout", "bchw"])
ok(L is not None and L("a").shape == (1, 4, 4, 16), "--layout bchw overrides the guess (A taken as C=4, 4x16)")

# The exact Shapley test: y_c is quadratic in A, so ShapleyCAM-H before the ReLU is the exact Shapley
# value of the game U(X_S) = y_c(A with the positions outside S zeroed), by brute force over 2^9 coalitions.
m = torch.jit.load(os.path.join(M, "quadratic_game.pt")).eval().double()
L = passes("quadratic_game", "body", utility="logit", extra=["--methods", "shapleycam-h,hirescam"])
ok(L is not None, "quadratic game: camlab runs")
if L is not None:
    A = torch.from_numpy(L("a")).double()[0]           # (3, 3, 3)
    c = int(L("target")[0, 0])
    G = torch.from_numpy(L("g")).double()[0]
    def U(mask):                                       # mask over the 9 positions
        a = (A * mask.view(1, 3, 3)).flatten()[None]
        with torch.no_grad():
            q = m.quad(a)
            return float((m.lin(a) + 0.5 * q * q)[0, c])
    d = 9
    value = {}
    for S in range(1 << d):
        value[S] = U(torch.tensor([(S >> j) & 1 for j in range(d)], dtype=torch.float64))
    phi = np.zeros(d)
    for j in range(d):
        for S in range(1 << d):
            if S >> j & 1: continue
            k = bin(S).count("1")
            phi[j] += math.factorial(k) * math.factorial(d - k - 1) / math.factorial(d) * (value[S | 1 << j] - value[S])
    mine = L("S_shapleycam-h")[0].flatten().astype(np.float64)
    err = np.abs(mine - phi).max()
    ok(err < 1e-5, "ShapleyCAM-H = brute-force Shapley values over all 512 coalitions (max abs err %.1e)" % err)
    total = value[(1 << d) - 1] - value[0]
    ok(abs(mine.sum() - total) < 1e-5, "sum of ShapleyCAM-H = U(A) - U(0) (%.6f vs %.6f)" % (mine.sum(), total))
    # The game's linearisation at A, v(S) = U(A) + <G, A_S - A>, has HiResCAM as its Shapley values.
    GA = (G * A).sum(0).flatten().numpy()
    lin = {S: value[(1 << d) - 1] + sum(GA[j] for j in range(d) if S >> j & 1) - GA.sum() for S in range(1 << d)}
    phil = np.zeros(d)
    for j in range(d):
        for S in range(1 << d):
            if S >> j & 1: continue
            k = bin(S).count("1")
            phil[j] += math.factorial(k) * math.factorial(d - k - 1) / math.factorial(d) * (lin[S | 1 << j] - lin[S])
    err = np.abs(L("S_hirescam")[0].flatten() - phil).max()
    ok(err < 1e-5, "HiResCAM = Shapley values of the linearised game (max abs err %.1e)" % err)
    ok(np.abs(mine - L("S_hirescam")[0].flatten()).max() > 1e-3, "and the quadratic term matters: ShapleyCAM-H != HiResCAM here")
done()
PYEOF
