#!/bin/sh
# t24-metrics.t - the paper's metrics (AD, IC, ADD, Complexity, Coherency) of camlab's heatmaps against
# an independent computation in the Debian python's torch, on the shared CIFAR ResNet-20 split into its
# f (features) and h (head) parts: probabilities of the masked inputs, Pearson correlation with the CAM
# of x * H computed in Python from the method's formula.
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
TOOL=$BUILD/tests/cam_tool
need_built "$TOOL"
[ -f "$SHARED/models/resnet20_cifar10.pt" ] || skip_all "no shared models at $SHARED"
need_python torch numpy
PYTHONPATH=tests $PY - "$TOOL" "$SHARED" "$TMP" <<'PYEOF'
import glob, os, subprocess, sys
import numpy as np
import torch
import torch.nn.functional as F
from tap import ok, diag, done

tool, shared, tmp = sys.argv[1:4]
torch._C._set_graph_executor_optimize(False)

model = torch.jit.load(os.path.join(shared, "models/resnet20_cifar10.pt")).eval()
imgs = sorted(glob.glob(os.path.join(shared, "data/foolbox_samples/cifar10_1*.png")))[:8]
methods = ["gradcam", "hirescam", "shapleycam", "layercam", "randomcam"]
r = subprocess.run([tool, "passes", "--model", os.path.join(shared, "models/resnet20_cifar10.pt"), "--layer", "f.layer3",
                    "--methods", ",".join(methods), "--size", "0", "--mean", "0.485,0.456,0.406",
                    "--std", "0.229,0.224,0.225", "-o", tmp] + imgs, capture_output=True, text=True)
ok(r.returncode == 0, "cam_tool computes metrics")
if r.returncode:
    diag(r.stderr)
L = lambda k: np.load(os.path.join(tmp, k + ".npy"))
x = torch.from_numpy(L("x")).double()
model = model.double()
c = torch.from_numpy(L("target")).long()

def image_seed(seed, item):
    M = (1 << 64) - 1
    z = (seed + (item + 1) * 0x9e3779b97f4a7c15) & M
    z = ((z ^ (z >> 30)) * 0xbf58476d1ce4e5b9) & M
    z = ((z ^ (z >> 27)) * 0x94d049bb133111eb) & M
    return z ^ (z >> 31)

def minmax(v):
    mn = v.flatten(1).min(1)[0][:, None, None]; mx = v.flatten(1).max(1)[0][:, None, None]
    return (v - mn) / (mx - mn + 1e-7)

def cam(method, xin, wrand=None):
    A = model.f(xin).detach().requires_grad_(True)
    logits = model.h(A)
    U = (logits.gather(1, c) + F.log_softmax(logits, 1).gather(1, c)).sum()
    G, = torch.autograd.grad(U, A, create_graph=True)
    HA, = torch.autograd.grad(G, A, grad_outputs=A)
    A, G, HA = A.detach(), G.detach(), HA.detach()
    if method == "gradcam": S = (G.mean((2, 3), keepdim=True) * A).sum(1)
    elif method == "hirescam": S = (G * A).sum(1)
    elif method == "shapleycam": S = ((G - 0.5 * HA).mean((2, 3), keepdim=True) * A).sum(1)
    elif method == "layercam": S = (G.relu() * A).sum(1)
    elif method == "randomcam": S = (wrand[:, :, None, None] * A).sum(1)
    return minmax(F.interpolate(minmax(S.relu())[:, None], size=xin.shape[2:], mode="bilinear", align_corners=False)[:, 0])

def prob(xin):
    with torch.no_grad():
        return F.softmax(model(xin), 1).gather(1, c)[:, 0]

Y = prob(x)
for m in methods:
    H = torch.from_numpy(L("H_" + m)).double()
    M = L("M_" + m)
    O = prob(x * H[:, None]); D = prob(x * (1 - H[:, None]))
    AD = (Y - O).clamp(min=0) / Y; IC = (O > Y).double(); ADD = (Y - D).clamp(min=0) / Y
    Com = H.abs().mean((1, 2))
    wrand = None
    if m == "randomcam":  # camlab's seeded weights (seed 0): each image's Uniform(-1, 1) row of C = 64 from a
        # CPU generator seeded with splitmix64's finaliser of the seed and the image's index (cam_image_seed)
        wrand = torch.stack([torch.empty(64).uniform_(-1, 1, generator=torch.Generator().manual_seed(image_seed(0, b)))
                             for b in range(x.shape[0])]).double()
    H2 = cam(m, x * H[:, None], wrand)
    coh = []
    for b in range(x.shape[0]):
        a, bb = H[b].flatten().numpy(), H2[b].flatten().numpy()
        rr = np.corrcoef(a, bb)[0, 1] if a.std() > 0 and bb.std() > 0 else np.nan
        coh.append((rr + 1) / 2 if np.isfinite(rr) else 0.0)
    ref = {"AD": AD.numpy(), "Coh": np.array(coh), "Com": Com.numpy(), "IC": IC.numpy(), "ADD": ADD.numpy()}
    # IC is a step function of O - Y: where the two agree to float32 precision either side is right.
    clear = np.abs(M[:, 6] - M[:, 5]) > 1e-5
    for j, k in enumerate(["AD", "Coh", "Com", "IC", "ADD"]):
        e = float(np.abs(M[:, j] - ref[k])[clear if k == "IC" else slice(None)].max())
        ok(e < 2e-4, "%s: %s per image matches (max abs err %.1e, mean %.4f)" % (m, k, e, ref[k].mean()))
done()
PYEOF
