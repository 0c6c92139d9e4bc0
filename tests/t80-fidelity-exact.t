#!/bin/sh
# t80-fidelity-exact.t - Shapley fidelity's estimate against a brute force: on two tiny models whose
# target layer is a 3 x 3 grid (tests/fidelity_models.py: 9 players, all 512 coalitions enumerated in the
# Debian python's torch, float64, from the models' own modules), camlab's antithetic permutation estimate
# (cam_tool passes --fidelity) equals the exact Shapley values within 5 of its standard errors (plus
# float32 rounding) where the head is nonlinear, and keeps efficiency exactly; where the utility is
# quadratic in A, the brute force equals the theory's closed form sum_k A (G - HA/2), camlab's estimate
# equals it with standard errors of zero, and so does ShapleyCAM-H's map (HiResCAM's does not).
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
TOOL=$BUILD/tests/cam_tool
need_built "$TOOL"
need_python torch numpy PIL
$PY tests/fidelity_models.py "$TMP" || { echo "1..1"; echo "not ok 1 - making the test models"; exit 1; }
PYTHONPATH=tests $PY - "$TOOL" "$TMP" <<'PYEOF'
import itertools, math, os, subprocess, sys
import numpy as np
import torch
import torch.nn.functional as F
from tap import ok, diag, rel, done
from fidelity_models import head, prefix

tool, tmp = sys.argv[1:3]
PAIRS = 32
torch._C._set_graph_executor_optimize(False)
imgs = [os.path.join(tmp, "imgs/%d.png" % i) for i in range(4)]

def utility(u, logits, t):
    y = logits.gather(1, t)
    return y if u == "logit" else y + F.log_softmax(logits, 1).gather(1, t)

def brute_force(name, m, A, t, u):
    """Exact Shapley values (B, 3, 3) of the game, by the definition's sum over all coalitions."""
    B, C, h, w = A.shape
    d = h * w
    masks = torch.tensor(list(itertools.product([0.0, 1.0], repeat=d)), dtype=A.dtype)  # (2^d, d)
    v = torch.stack([utility(u, head(name, m, A[b:b + 1] * masks.view(-1, 1, h, w)),
                             t[b:b + 1].expand(len(masks), 1))[:, 0] for b in range(B)])  # (B, 2^d)
    index = {tuple(int(x) for x in r): i for i, r in enumerate(masks.tolist())}
    phi = torch.zeros(B, d, dtype=A.dtype)
    for i, r in enumerate(masks.tolist()):
        s = int(sum(r))
        for j in range(d):
            if r[j]:
                continue
            with_j = list(int(x) for x in r); with_j[j] = 1
            wgt = math.factorial(s) * math.factorial(d - s - 1) / math.factorial(d)
            phi[:, j] += wgt * (v[:, index[tuple(with_j)]] - v[:, i])
    return phi.view(B, h, w), v[:, -1] - v[:, 0]

def camlab(name, u):
    out = os.path.join(tmp, "%s_%s" % (name, u)); os.makedirs(out)
    r = subprocess.run([tool, "passes", "--model", os.path.join(tmp, name + ".pt"), "--layer", "feat",
                        "--size", "0", "--mean", "0.5,0.5,0.5", "--std", "0.5,0.5,0.5", "--utility", u,
                        "--methods", "hirescam,shapleycam-h", "--fidelity", str(PAIRS), "-o", out] + imgs,
                       capture_output=True, text=True)
    if r.returncode:
        diag(r.stderr)
    return out if r.returncode == 0 else None

for name, u in [("game", "rest"), ("quad", "logit")]:
    out = camlab(name, u)
    if not ok(out is not None, "%s: cam_tool passes --fidelity %d runs" % (name, PAIRS)):
        continue
    L = lambda f: np.load(os.path.join(out, f + ".npy")).astype(np.float64)
    m = torch.jit.load(os.path.join(tmp, name + ".pt")).eval().double()
    x = torch.from_numpy(L("x"))
    A = prefix(name, m, x).detach()
    assert A.shape[1:] == (4, 3, 3)
    t = torch.from_numpy(L("target")).long()
    with torch.no_grad():
        bf, gain = brute_force(name, m, A, t, u)
    bf = bf.numpy()
    phi, se, cost = L("phi"), L("phi_se"), L("phi_cost")
    ok(int(cost[0]) == 2 + 2 * PAIRS * 8, "%s: 2 + 2 P (d - 1) head forwards per image (%d)" % (name, cost[0]))
    ok(rel(bf.sum((1, 2)), gain.numpy()) < 1e-9, "%s: the brute force is efficient (sum = v(N) - v(0))" % name)
    e = rel(phi.sum((1, 2)), gain.numpy())
    ok(e < 1e-4, "%s: the estimate is efficient (rel. error %.2g)" % (name, e))
    scale = np.abs(bf).max()
    if name == "game":
        dev = np.abs(phi - bf) / (se + 1e-5 * scale)
        diag("game: |phi - exact| / se: max %.2f, mean %.2f; mean se %.3g, max |phi| %.3g"
             % (dev.max(), dev.mean(), se.mean(), scale))
        ok(se.min() > 1e-4 * scale, "game: the head is nonlinear, so the estimate has an error to state")
        ok(dev.max() < 5, "game: the estimate equals the exact values within 5 standard errors")
        ok((dev < 2).mean() > 0.8, "game: most within 2 standard errors (%.0f%%)" % (100 * (dev < 2).mean()))
        ok(rel(L("S_hirescam"), bf) > 1e-2, "game: HiResCAM is not the exact value (the test can tell)")
    else:
        Al = A.clone().requires_grad_(True)
        U = utility(u, head(name, m, Al), t).sum()
        G, = torch.autograd.grad(U, Al, create_graph=True)
        HA, = torch.autograd.grad(G, Al, grad_outputs=Al)
        exact = (A * (G - HA / 2)).sum(1).detach().numpy()
        e = rel(bf, exact)
        ok(e < 1e-9, "quad: the brute force equals sum_k A (G - HA/2) (rel. error %.2g)" % e)
        e = rel(phi, exact)
        ok(e < 1e-4, "quad: the estimate equals the exact values (rel. error %.2g)" % e)
        ok(se.max() < 1e-4 * scale, "quad: antithetic pairs are exact on a quadratic game (max se %.2g)" % se.max())
        e = rel(L("S_shapleycam-h"), exact)
        ok(e < 1e-4, "quad: ShapleyCAM-H before ReLU is the exact Shapley value (rel. error %.2g)" % e)
        e = rel(L("S_hirescam"), exact)
        ok(e > 1e-2, "quad: HiResCAM's is not (rel. error %.2g)" % e)
done()
PYEOF
