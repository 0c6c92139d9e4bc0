#!/bin/sh
# t21-passes-python.t - A, dU/dA, the Hessian-vector product and every gradient method's map, checked
# against an independent computation in the Debian python's torch. The CIFAR ResNets in ../shared are
# wrapped as f (image to the last block) and h (pooling and linear), so Python gets A = f(x) and the
# logits h(A) without any of camlab's graph surgery; camlab cuts the plain file at 'f.layer3' and 'f'.
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
TOOL=$BUILD/tests/cam_tool
need_built "$TOOL"
[ -f "$SHARED/models/resnet20_cifar10.pt" ] || skip_all "no shared models at $SHARED"
need_python torch numpy
PYTHONPATH=tests $PY - "$TOOL" "$SHARED" "$TMP" <<'PYEOF'
import os, subprocess, sys, glob
import numpy as np
import torch
import torch.nn.functional as F
from tap import ok, diag, rel, done

tool, shared, tmp = sys.argv[1:4]

imgs = sorted(glob.glob(os.path.join(shared, "data/foolbox_samples/cifar10_0*.png")))[:6]
torch._C._set_graph_executor_optimize(False)  # LIBTORCH.md: the optimised executor loses A after warm-up
model = torch.jit.load(os.path.join(shared, "models/resnet20_cifar10.pt")).eval()
norm = ["--size", "0", "--mean", "0.485,0.456,0.406", "--std", "0.229,0.224,0.225"]

def utility(u, logits, t):
    lp = F.log_softmax(logits, 1).gather(1, t)
    y = logits.gather(1, t)
    return {"logit": y, "softmax": F.softmax(logits, 1).gather(1, t), "logsoftmax": lp, "rest": y + lp}[u]

def minmax(v):
    mn = v.flatten(1).min(1)[0][:, None, None]; mx = v.flatten(1).max(1)[0][:, None, None]
    return (v - mn) / (mx - mn + 1e-7)

for layer in ["f.layer3", "f"]:
    for u, target in [("rest", "predicted"), ("logit", "least"), ("softmax", "3"), ("logsoftmax", "predicted")]:
        out = os.path.join(tmp, "%s_%s" % (layer, u)); os.makedirs(out)
        r = subprocess.run([tool, "passes", "--model", os.path.join(shared, "models/resnet20_cifar10.pt"),
                            "--layer", layer, "--utility", u, "--target", target, "-o", out] + norm + imgs,
                           capture_output=True, text=True)
        ok(r.returncode == 0, "cam_tool passes %s %s runs" % (layer, u))
        if r.returncode:
            diag(r.stderr); continue
        L = lambda name: np.load(os.path.join(out, name + ".npy"))
        x = torch.from_numpy(L("x"))
        A = model.f(x).detach().requires_grad_(True)
        logits = model.h(A)
        t = torch.from_numpy(L("target")).long()
        if target == "predicted": tt = logits.argmax(1, keepdim=True)
        elif target == "least": tt = logits.argmin(1, keepdim=True)
        else: tt = torch.full_like(t, int(target))
        ok(torch.equal(t, tt), "%s %s: target classes agree (%s)" % (layer, u, target))
        U = utility(u, logits, tt).sum()
        G, = torch.autograd.grad(U, A, create_graph=True)
        HA, = torch.autograd.grad(G, A, grad_outputs=A, allow_unused=True) if G.requires_grad else (None,)
        if HA is None:  # the logit utility on a linear head: G does not depend on A
            HA = torch.zeros_like(A)
        for name, mine, ref in [("A", L("a"), A.detach().numpy()), ("logits", L("logits"), logits.detach().numpy()),
                                ("dU/dA", L("g"), G.detach().numpy()), ("HA", L("ha"), HA.detach().numpy())]:
            e = rel(mine, ref)
            ok(e < 1e-4, "%s %s: %s equals torch autograd (max rel err %.2e)" % (layer, u, name, e))
        # every gradient method from SCIENCE.md's formulas, in torch on the same A, G, HA
        A_, G_, H_ = A.detach().double(), G.detach().double(), HA.detach().double()
        W = G_ - 0.5 * H_
        m = lambda w: (w.mean((2, 3), keepdim=True) * A_).sum(1)
        g2, g3 = G_ ** 2, G_ ** 3
        aij = g2 / (2 * g2 + A_.sum((2, 3), keepdim=True) * g3 + 1e-6)
        aij = torch.where(G_ != 0, aij, torch.zeros_like(aij))
        ref = {
            "gradcam": m(G_), "hirescam": (G_ * A_).sum(1), "gradcam-e": (G_ * A_).relu().sum(1),
            "layercam": (G_.relu() * A_).sum(1),
            "xgradcam": (((G_ * A_).sum((2, 3), keepdim=True) / (A_.sum((2, 3), keepdim=True) + 1e-7)) * A_).sum(1),
            "gradcam++": (((G_.relu() * aij).sum((2, 3), keepdim=True)) * A_).sum(1),
            "shapleycam": m(W), "shapleycam-h": (W * A_).sum(1), "shapleycam-e": (W * A_).relu().sum(1),
        }
        fcw = model.h.linear.weight.detach().double() if hasattr(model.h, "linear") else None
        for meth, S in ref.items():
            mine = L("S_" + meth)
            e = rel(mine, S.numpy())
            ok(e < 1e-4, "%s %s: %s map matches its formula (max rel err %.2e)" % (layer, u, meth, e))
            H = minmax(F.interpolate(minmax(S.relu())[:, None].float(), size=x.shape[2:], mode="bilinear",
                                     align_corners=False)[:, 0])
            e = float(np.abs(L("H_" + meth) - H.numpy()).max())
            ok(e < 1e-4, "%s %s: %s heatmap post-processing (max abs err %.2e)" % (layer, u, meth, e))
# ScoreCAM and AblationCAM against a direct, unbatched computation: one forward per channel and image.
out = os.path.join(tmp, "direct"); os.makedirs(out)
r = subprocess.run([tool, "passes", "--model", os.path.join(shared, "models/resnet20_cifar10.pt"), "--layer", "f.layer3",
                    "--utility", "rest", "--methods", "scorecam,ablationcam", "-o", out] + norm + imgs[:3],
                   capture_output=True, text=True)
ok(r.returncode == 0, "cam_tool passes with scorecam and ablationcam runs")
if r.returncode == 0:
    L = lambda name: np.load(os.path.join(out, name + ".npy"))
    x = torch.from_numpy(L("x")); t = torch.from_numpy(L("target")).long()
    with torch.no_grad():
        A = model.f(x)
        Y = utility("rest", model.h(A), t)[:, 0]
        score_S, abl_S = [], []
        for b in range(x.shape[0]):
            ws, wa = [], []
            for k in range(A.shape[1]):
                up = F.interpolate(A[b:b + 1, k:k + 1], size=x.shape[2:], mode="bilinear", align_corners=True)[0, 0]
                mk = (up - up.min()) / (up.max() - up.min() + 1e-8)
                ws.append(utility("rest", model(x[b:b + 1] * mk), t[b:b + 1])[0, 0])
                Ak = A[b:b + 1].clone(); Ak[0, k] = 0
                wa.append((Y[b] - utility("rest", model.h(Ak), t[b:b + 1])[0, 0]) / Y[b])
            ws = torch.softmax(torch.stack(ws), 0); wa = torch.stack(wa)
            score_S.append((ws[:, None, None] * A[b]).sum(0)); abl_S.append((wa[:, None, None] * A[b]).sum(0))
    for meth, ref in [("scorecam", torch.stack(score_S)), ("ablationcam", torch.stack(abl_S))]:
        e = rel(L("S_" + meth), ref.numpy())
        ok(e < 1e-4, "%s equals the direct per-channel computation (max rel err %.2e)" % (meth, e))
done()
PYEOF
