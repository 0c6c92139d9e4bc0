#!/bin/sh
# t101-vit-trained.t - the small trained ViT that ships with camlab (experiments/models/fashion_mnist_vit.pt,
# made by tools/train_fashion_mnist_vit.py) on the first Fashion-MNIST test images, at its last block's
# first LayerNorm (blocks.3.norm1: a class token, then a 7x7 grid):
#   - `camlab predict` measures the accuracy its card (fashion_mnist_vit.md) gives;
#   - `camlab layers --shapes` finds the layout (bnc, one prefix token, 7x7) without being told;
#   - `camlab explain --method all` draws every method's map (cam left out with a note: undefined there;
#     refinecam in at a fused layer) and the grid figures, kept in build/t101-vit/
#     to be looked at (a random-weight ViT's maps say nothing; these are a trained one's);
#   - explain's final GradCAM, HiResCAM, LayerCAM, ... maps equal tests/transformer_ref.py's independent
#     reference (pytorch-grad-cam's definitions, vit_reshape_transform on a 7x7 grid) from the IDX bytes,
#     with upstream's ClassifierOutputTarget (the logit utility);
#   - ShapleyCAM's Hessian-vector product against float64 central differences of the gradient (no
#     double backward, so LayerNorm's and attention's second derivatives are checked, not assumed), and
#     how far camlab's HVP (the class token held fixed) is from upstream's (the class token moved too);
#   - with quirk shapley-prefix-tokens (cam_tool, explain and a spec), upstream's direction: HA, the
#     signed maps and explain's final maps as pytorch-grad-cam's shapley_cam.py gives them.
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
TOOL=$BUILD/tests/cam_tool
need_built "$TOOL"
MODEL=experiments/models/fashion_mnist_vit.pt
FM=/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz
N=4
# the model is committed with its training script; a checkout without it is a repository being assembled
[ -f "$MODEL" ] || skip_all "no $MODEL (made by tools/train_fashion_mnist_vit.py)"
[ -f "$FM" ] || skip_all "dataset-fashion-mnist is not installed ($FM)"
need_python torch numpy
OUT=$BUILD/t101-vit
rm -rf "$OUT"

PYTHONPATH=tests:tools exec $PY - "$CAMLAB" "$TOOL" "$MODEL" "$FM" "$N" "$OUT" "$TMP" <<'PYEOF'
import glob, os, re, subprocess, sys
import numpy as np
import torch
from tap import ok, diag, rel, done
import transformer_ref as R
from train_fashion_mnist import load_split, to_input
from train_fashion_mnist_vit import ViT

camlab, tool, model_pt, fm, n, out, tmp = sys.argv[1:8]
n = int(n)
torch.set_num_threads(2)
LAYER = "blocks.3.norm1"


def run(what, argv):
    r = subprocess.run(argv, capture_output=True, text=True)
    if not ok(r.returncode == 0, what):
        diag(r.stderr.strip())
    return r


r = run("layers --shapes runs", [camlab, "layers", "--model", model_pt, "--shapes"])
line = [l for l in r.stdout.splitlines() if l.split()[:1] == [LAYER]]
ok(len(line) == 1 and line[0].split()[1:] == ["LayerNorm", "(1,", "64,", "7,", "7)", "bnc", "1+7x7", "*"],
   "layers --shapes: %s is bnc, one prefix token, a 7x7 grid (%s)" % (LAYER, line))
# the model card's accuracy is camlab's: the same input convention as the training script's
r = run("predict runs on the 10,000 test images",
        [camlab, "predict", "--model", model_pt, "--dataset", fm, "--batch", "500", "-q", "--threads", "2"])
acc = re.search(r"^accuracy: top-1 ([0-9.]+) ", r.stdout, re.M)
card = re.search(r"test accuracy \*\*([0-9.]+)%\*\*", open(model_pt[:-3] + ".md").read())
ok(acc and card and abs(100 * float(acc.group(1)) - float(card.group(1))) <= 0.1,
   "camlab's test accuracy is the model card's to 0.1 points (%s, card %s)"
   % (acc and acc.group(1), card and card.group(1)))
# every method but refinecam (it needs a fused layer) and cam (undefined here: more than pooling and a
# linear map follows the layer), which "all" leaves out with a note; ScoreCAM and AblationCAM take 64
# forwards each
r = run("explain --method all runs on %d test images" % n,
        [camlab, "explain", "--model", model_pt, "--layer", "last_norm1", "--method", "all", "--utility", "logit",
         "--dataset", fm, "--limit", str(n), "--threads", "2", "-o", out])
ok(r.stdout.count("predicted") == n, "explain prints %d predictions" % n)
ok(len(glob.glob(os.path.join(out, "*_grid.png"))) == n, "explain draws %d grid figures" % n)
ok("note: all leaves out cam at 'last_norm1'" in r.stderr and "error" not in r.stderr,
   "all leaves out cam, undefined at a ViT block, with a note")
maps = glob.glob(os.path.join(out, "*.npy"))
ok(len(maps) == 19 * n and not any("_cam.npy" in m or "refinecam" in m for m in maps),
   "19 maps per image (%d), no cam or refinecam" % len(maps))
# at a fused layer "all" has refinecam
fused = os.path.join(tmp, "fused")
r = run("explain --method all runs at a fused layer",
        [camlab, "explain", "--model", model_pt, "--layer", "blocks.2.norm1,blocks.3.norm1", "--method", "all",
         "--dataset", fm, "--limit", "1", "--threads", "2", "-o", fused])
maps = glob.glob(os.path.join(fused, "*.npy"))
ok(len(maps) == 20 and len(glob.glob(os.path.join(fused, "*_refinecam.npy"))) == 1,
   "all at a fused layer: 20 maps, refinecam among them (%d)" % len(maps))
diag(r.stdout.strip().replace("\n", "\n# "))

# the input as the training script made it (its sidecar's mean and std), from the IDX bytes
side = dict(l.split(":", 1) for l in open(model_pt[:-3] + ".yaml") if l[:5] in ("mean:", "std: "))
mean, std = (float(side[k].strip(" []\n").split(",")[0]) for k in ("mean", "std"))
x = to_input(load_split("t10k")[0][:n], mean, std).float()

jit = torch.jit.load(model_pt)
model = ViT().eval()  # the same weights in eager mode, so hooks see the layer
model.load_state_dict(jit.state_dict())
t = model(x).argmax(1, keepdim=True)
logits, A, G, HA = R.reference(model, model.blocks[3].norm1, R.vit_reshape, x, t, 1)
ok(float(G.abs().max()) > 0 and float(HA.abs().max()) > 0, "the reference's G and HA are not zero")

# explain's final maps, in the dataset's order (the file names sort by index)
stems = sorted(p[:-len("_grid.png")] for p in glob.glob(os.path.join(out, "*_grid.png")))
for meth in R.METHODS:
    H = R.scale(R.scale(torch.clamp(R.cam(meth, A, G, HA), min=0), x.shape[2:]), x.shape[2:]).numpy()
    mine = np.stack([np.load("%s_%s.npy" % (s, meth)) for s in stems]) if len(stems) == n else None
    e = float(np.abs(mine - H).max()) if mine is not None and mine.shape == H.shape else float("inf")
    ok(e < 1e-3, "explain's %s final maps as upstream's definition (max abs err %.2e)" % (meth, e))

# cam_tool's A, G and HA of the same images, in float32 as camlab computes them
d = os.path.join(tmp, "passes")
os.makedirs(d)
r = subprocess.run([tool, "passes", "--model", model_pt, "--layer", LAYER, "--utility", "logit", "--target",
                    "predicted", "--methods", "shapleycam", "--dataset", fm, "--limit", str(n), "--threads", "2",
                    "-o", d], capture_output=True, text=True)
if ok(r.returncode == 0, "cam_tool passes runs"):
    L = lambda name: np.load(os.path.join(d, name + ".npy"))
    ok(rel(L("x"), x.numpy()) < 1e-6, "camlab's input is the training script's (max rel err %.2e)"
       % rel(L("x"), x.numpy()))
    # float64: the reference's HVP (double backward) against central differences of the gradient
    m64 = ViT().double().eval()
    m64.load_state_dict(jit.state_dict())
    x64 = x.double()
    _, A64, G64, HA64 = R.reference(m64, m64.blocks[3].norm1, R.vit_reshape, x64, t, 1)
    _, _, _, HA64up = R.reference(m64, m64.blocks[3].norm1, R.vit_reshape, x64, t, 0)
    fd, fdup = (R.hvp_differences(m64, m64.blocks[3].norm1, R.vit_reshape, x64, t, f, 1e-5) for f in (1, 0))
    e = rel(HA64.numpy(), fd.numpy())
    ok(e < 1e-6, "float64 HVP (class token fixed) = central differences of dU/dA (max rel err %.2e)" % e)
    e = rel(HA64up.numpy(), fdup.numpy())
    ok(e < 1e-6, "float64 HVP (class token moved too) = central differences of dU/dA (max rel err %.2e)" % e)
    e = rel(L("ha"), HA64.numpy())
    ok(e < 1e-4, "camlab's HA = the float64 HVP with the class token fixed (max rel err %.2e)" % e)
    s_mine = L("S_shapleycam")
    e_fixed = rel(s_mine, R.cam("shapleycam", A64, G64, HA64).numpy())
    e_up = rel(s_mine, R.cam("shapleycam", A64, G64, HA64up).numpy())
    e_f32 = rel(R.cam("shapleycam", A, G, HA).numpy(), R.cam("shapleycam", A64, G64, HA64).numpy())
    ok(e_fixed < 1e-4, "ShapleyCAM = float64 with the class token fixed (max rel err %.2e; float32 torch's "
       "own rounding %.2e)" % (e_fixed, e_f32))
    # the difference from pytorch-grad-cam's shapley_cam.py is its HVP direction (the activation, class
    # token included), H[grid, cls] a_cls: it is no rounding, which is orders of magnitude smaller
    diag("ShapleyCAM against upstream's direction (class token moved too), float64: max rel %.2e" % e_up)
    ok(e_up > 10 * max(e_fixed, e_f32), "the difference from upstream's ShapleyCAM is the class token's term, not "
       "rounding (%.2e against %.2e)" % (e_up, max(e_fixed, e_f32)))
else:
    diag(r.stderr.strip())
    HA64up = None

# quirk shapley-prefix-tokens: upstream's direction, the class token moved with the grid
dq = os.path.join(tmp, "passes-quirk")
os.makedirs(dq)
r = subprocess.run([tool, "passes", "--model", model_pt, "--layer", LAYER, "--utility", "logit", "--target",
                    "predicted", "--methods", "shapleycam", "--dataset", fm, "--limit", str(n), "--threads", "2",
                    "--quirk", "shapley-prefix-tokens", "-o", dq], capture_output=True, text=True)
if ok(r.returncode == 0 and HA64up is not None, "cam_tool passes --quirk shapley-prefix-tokens runs"):
    Lq = lambda name: np.load(os.path.join(dq, name + ".npy"))
    e = rel(Lq("ha"), HA64up.numpy())
    ok(e < 1e-4, "with the quirk, camlab's HA = the float64 HVP with the class token moved too (max rel err %.2e)"
       % e)
    e = rel(Lq("g"), L("g"))
    ok(e == 0, "and G is the same as without it (max rel err %.2e)" % e)
    e = rel(Lq("S_shapleycam"), R.cam("shapleycam", A64, G64, HA64up).numpy())
    ok(e < 1e-4, "with the quirk, ShapleyCAM = upstream's in float64 (max rel err %.2e)" % e)
else:
    diag(r.stderr.strip())
# and explain's final maps with it are upstream's, as pytorch-grad-cam post-processes them
_, _, _, HAup = R.reference(model, model.blocks[3].norm1, R.vit_reshape, x, t, 0)
qout = os.path.join(tmp, "explain-quirk")
r = run("explain --quirk shapley-prefix-tokens runs",
        [camlab, "explain", "--model", model_pt, "--layer", LAYER, "--method", "shapleycam,shapleycam-h,shapleycam-e,gradcam",
         "--utility", "logit", "--quirk", "shapley-prefix-tokens", "--dataset", fm, "--limit", str(n), "--threads", "2",
         "-o", qout])
qstems = sorted(p[:-len("_grid.png")] for p in glob.glob(os.path.join(qout, "*_grid.png")))
for meth in ("shapleycam", "shapleycam-h", "shapleycam-e", "gradcam"):
    H = R.scale(R.scale(torch.clamp(R.cam(meth, A, G, HAup), min=0), x.shape[2:]), x.shape[2:]).numpy()
    mine = np.stack([np.load("%s_%s.npy" % (s, meth)) for s in qstems]) if len(qstems) == n else None
    e = float(np.abs(mine - H).max()) if mine is not None and mine.shape == H.shape else float("inf")
    ok(e < 1e-3, "explain --quirk shapley-prefix-tokens: %s final maps as pytorch-grad-cam's (max abs err %.2e)"
       % (meth, e))
# a quirk that is not camlab's, hostile or not, is refused before anything runs or is written
bad = os.path.join(tmp, "pwned")
r = subprocess.run([camlab, "explain", "--model", model_pt, "--layer", LAYER, "--quirk", "$(touch %s); `id`" % bad,
                    "--dataset", fm, "--limit", "1", "-o", os.path.join(tmp, "badquirk")], capture_output=True, text=True)
ok(r.returncode == 2 and "unknown quirk '$(touch " in r.stderr and "shapley-prefix-tokens" in r.stderr
   and not os.path.exists(bad) and not os.path.exists(os.path.join(tmp, "badquirk")),
   "explain --quirk with a hostile value: refused, naming the quirks camlab knows, nothing run or written")
# in a spec the quirk is a key of its own for the ShapleyCAM runs (GradCAM's runs stay shared), and runs
keys = {}
for quirk in (False, True):
    spec = os.path.join(tmp, "q%d.yaml" % quirk)
    with open(spec, "w") as fp:
        fp.write("models: [{name: vit, file: %s, layers: {last: %s}}]\ndata: {path: %s, limit: 2}\n"
                 "methods: [gradcam, shapleycam]\nutilities: [logit]\nmetrics: [ad]\noutput: %s\n%s"
                 % (os.path.abspath(model_pt), LAYER, fm, os.path.join(tmp, "qout%d" % quirk),
                    "quirk: shapley-prefix-tokens\n" if quirk else ""))
    r = run("plan of a spec %s the quirk" % ("with" if quirk else "without"), [camlab, "plan", spec])
    keys[quirk] = {l.split()[5]: l.split()[0] for l in r.stdout.splitlines()[1:] if len(l.split()) > 6}
ok(keys[0].get("gradcam") == keys[1].get("gradcam") and keys[0].get("shapleycam") != keys[1].get("shapleycam"),
   "the quirk's ShapleyCAM runs have keys of their own, GradCAM's are shared: %s" % keys)
r = run("a spec with quirk: shapley-prefix-tokens runs", [camlab, "run", "--no-progress", os.path.join(tmp, "q1.yaml")])
done()
PYEOF
