# mprt_ref.py DB MODEL LAYER SEED METHOD: t82's reference for camlab's sanity values of METHOD (a GradCAM,
# logit utility; a model with f (image to A) and h (A to logits), as the shared CIFAR ResNets): the
# cascade re-initialised in this python's torch as torch.nn's reset_parameters() does (weights and biases
# U(-b, b), b = 1/sqrt(fan_in); norms 1 and 0; module s from torch.Generator().manual_seed(SEED + s)),
# GradCAM on each copy, Spearman (average ranks) and SSIM (skimage's defaults, window by window) in
# numpy, each compared with what camlab stored, within 1e-3; and the trained model's maps within 1e-5.
import sqlite3, sys
import numpy as np
import torch
import torch.nn.functional as F

db, model_path, layer, seed, method = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
torch._C._set_graph_executor_optimize(False)
mean = np.array([0.485, 0.456, 0.406]); std = np.array([0.229, 0.224, 0.225])

def sub(m, path):
    for seg in path.split(".") if path else []:
        m = getattr(m, seg)
    return m

def cascade(m):
    names = [n for n, _ in m.named_modules()]
    at = names.index(layer)
    own = lambda mod: any(t.is_floating_point() for _, t in list(mod.named_parameters(recurse=False)) + list(mod.named_buffers(recurse=False)))
    return [n for n in reversed(names[at:]) if own(sub(m, n))]

def reinit(m, path, s):
    mod = sub(m, path); g = torch.Generator().manual_seed(s)
    norm = "Norm" in mod.original_name
    params = [(n, p) for n, p in mod.named_parameters(recurse=False) if p.is_floating_point()]
    fan = next((p.numel() // p.shape[0] for _, p in params if p.dim() >= 2), 0)
    with torch.no_grad():
        for n, p in params:
            v = torch.empty(p.shape)
            if norm: v.fill_(1.0 if n == "weight" else 0.0)
            else:
                fi = p.numel() // p.shape[0] if p.dim() >= 2 else (fan or p.numel())
                v.uniform_(-1.0 / np.sqrt(fi), 1.0 / np.sqrt(fi), generator=g)
            p.copy_(v)
        if norm:
            for n, b in mod.named_buffers(recurse=False):
                if n == "running_var": b.fill_(1)
                elif n in ("running_mean", "num_batches_tracked"): b.zero_()

def minmax(v):
    mn = v.flatten(1).min(1)[0][:, None, None]; mx = v.flatten(1).max(1)[0][:, None, None]
    return (v - mn) / (mx - mn + 1e-7)

def gradcam(m, x, c):
    A = m.f(x).detach().requires_grad_(True)
    U = m.h(A).gather(1, c).sum()
    G, = torch.autograd.grad(U, A)
    S = (G.mean((2, 3), keepdim=True) * A.detach()).sum(1)
    return minmax(F.interpolate(minmax(S.relu())[:, None], size=x.shape[2:], mode="bilinear", align_corners=False)[:, 0]).numpy()

def rank(v):
    o = np.argsort(v, kind="stable"); r = np.empty(len(v))
    sv = v[o]; i = 0
    while i < len(v):
        j = i
        while j + 1 < len(v) and sv[j + 1] == sv[i]: j += 1
        r[o[i:j + 1]] = (i + j) / 2 + 1; i = j + 1
    return r

def spearman(a, b):
    ra, rb = rank(a.ravel()), rank(b.ravel())
    ra -= ra.mean(); rb -= rb.mean()
    d = np.sqrt((ra * ra).sum() * (rb * rb).sum())
    return (ra * rb).sum() / d if d > 0 else 0.0

def ssim(a, b, win=7):   # skimage.metrics.structural_similarity's defaults, by windows
    a = a.astype(np.float64); b = b.astype(np.float64)
    R = max(a.max(), b.max()) - min(a.min(), b.min())
    if R == 0: return 1.0
    C1, C2 = (0.01 * R) ** 2, (0.03 * R) ** 2
    h, w = a.shape; vals = []
    for y in range(h - win + 1):
        for x in range(w - win + 1):
            p = a[y:y + win, x:x + win].ravel(); q = b[y:y + win, x:x + win].ravel()
            vx, vy = p.var(ddof=1), q.var(ddof=1); vxy = np.cov(p, q)[0, 1]
            vals.append((2 * p.mean() * q.mean() + C1) * (2 * vxy + C2) / ((p.mean() ** 2 + q.mean() ** 2 + C1) * (vx + vy + C2)))
    return float(np.mean(vals))

con = sqlite3.connect(db)
rows = con.execute("SELECT i.run_key, i.idx, i.class, p.rgb, p.h, p.w, h.data FROM images i JOIN runs r ON r.key = i.run_key "
                   "JOIN inputs p ON p.model = r.model AND p.idx = i.idx JOIN heatmaps h ON h.run_key = i.run_key AND h.idx = i.idx "
                   "WHERE r.method = ? ORDER BY i.idx", (method,)).fetchall()
key = rows[0][0]
x = torch.cat([torch.from_numpy(((np.frombuffer(rgb, np.uint8).reshape(h, w, 3) / 255 - mean) / std).transpose(2, 0, 1).astype(np.float32))[None] for _, _, _, rgb, h, w, _ in rows])
c = torch.tensor([[r[2]] for r in rows])
stored = np.stack([np.frombuffer(r[6], "<f4").reshape(x.shape[2:]) for r in rows])
m = torch.jit.load(model_path).eval()
orig = gradcam(m, x, c)
bad = 0
d0 = np.abs(orig - stored).max()
print("# the trained model's maps: largest difference %.2g" % d0)
bad += not d0 < 1e-5
steps = cascade(m)
print("# cascade:", " ".join(steps))
got = lambda idx, name: con.execute("SELECT value FROM image_metrics WHERE run_key = ? AND idx = ? AND name = ?", (key, idx, name)).fetchone()
worst = 0.0
for s, path in enumerate(steps, 1):
    reinit(m, path, seed + s)
    now = gradcam(m, x, c)
    for i, r in enumerate(rows):
        for name, v in (("sanity_spearman_%02d" % s, spearman(orig[i], now[i])), ("sanity_ssim_%02d" % s, ssim(orig[i], now[i]))):
            g = got(r[1], name)
            d = abs(g[0] - v) if g else float("inf")
            worst = max(worst, d)
            if not d <= 1e-3:
                bad += 1; print("# step %d (%s) image %d %s: camlab %r, reference %r" % (s, path, r[1], name, g, v))
print("# %d steps, %d images; largest difference %.2g" % (len(steps), len(rows), worst))
if got(rows[0][1], "sanity_spearman_%02d" % (len(steps) + 1)):
    bad += 1; print("# camlab has more steps than the reference")
sys.exit(1 if bad or not steps else 0)
