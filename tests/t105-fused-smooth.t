#!/bin/sh
# t105-fused-smooth.t - aug_smooth and eigen_smooth at a fused layer (cam/multilayer.h) against an
# independent computation in Debian's python3-torch of pytorch-grad-cam's base_cam.py: for aug_smooth,
# forward_augmentation_smoothing (for each ttach transform the whole forward over both target layers,
# i.e. compute_cam_per_layer then aggregate_multi_layers, the transform undone, the mean of the six), for
# eigen_smooth get_cam_image's get_2d_projection at each layer. GradCAM and GradCAM++ over f.layer2 and
# f.layer3 of the shared ResNet-20, through `camlab explain --layer a,b` and through a spec's `fused:`.
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
MODEL=$SHARED/models/resnet20_cifar10.pt
IMGS=$SHARED/data/foolbox_samples

[ -f "$MODEL" ] && [ -f "$SHARED/reference/pytorch-grad-cam/resnet20/input_rgb_uint8.npy" ] ||
	skip_all "no shared models or pytorch-grad-cam reference at $SHARED"
need_python torch numpy sqlite3

# the first four images; a spec's data.limit takes the same ones (the dataset's sorted order)
set -- "$IMGS"/cifar10_00_3.png "$IMGS"/cifar10_01_8.png "$IMGS"/cifar10_02_8.png "$IMGS"/cifar10_03_0.png
M="--model $MODEL --size 0 --mean 0.485,0.456,0.406 --std 0.229,0.224,0.225"
M="$M --layer f.layer2,f.layer3 --utility logit --method gradcam,gradcam++"
test_expect_success 'explain --aug-smooth at a fused layer' "
	$CAMLAB explain $M --aug-smooth -o $TMP/aug $* >$TMP/log 2>&1
"
test_expect_success 'explain --eigen-smooth at a fused layer' "
	$CAMLAB explain $M --eigen-smooth -o $TMP/eig $* >$TMP/log 2>&1
"
test_expect_success 'explain --aug-smooth --eigen-smooth at a fused layer' "
	$CAMLAB explain $M --aug-smooth --eigen-smooth -o $TMP/both $* >$TMP/log 2>&1
"
# one forward through both layers per transform; the per-layer fall-back (two forwards each) the same maps
test_expect_success 'explain --aug-smooth at a fused layer: six forwards for a batch, twelve a pass per layer' "
	CAMLAB_DEBUG=1 $CAMLAB explain $M --aug-smooth -o $TMP/chain $* >$TMP/log 2>&1 &&
	test_grep 'fused layer of 2 layers: 6 forwards for 1 batches' $TMP/log &&
	CAMLAB_DEBUG=1 CAMLAB_TEST_FUSED_PER_LAYER=1 $CAMLAB explain $M --aug-smooth -o $TMP/perlayer $* >$TMP/log 2>&1 &&
	test_grep 'fused layer of 2 layers: 12 forwards for 1 batches' $TMP/log
"

# the spec: the same maps as heatmaps of the results database (figures keep them)
spec() { # NAME PARAMS: a spec, fused layer "fused", gradcam and gradcam++ with smoothing PARAMS
	cat >"$TMP/$1.yaml" <<-EOS
	name: $1
	output: $TMP/$1
	models: [{file: $MODEL, input_size: 0, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225],
	          layers: {fused: [f.layer2, f.layer3]}}]
	data: {path: $IMGS, limit: 4}
	methods: [{gradcam: {$2}}, {gradcam++: {$2}}]
	utilities: [logit]
	metrics: [ad, coh, com]
	outputs: {figures: [{image: 0}, {image: 1}, {image: 2}, {image: 3}], tables: false, plots: false}
	EOS
}
spec specaug 'aug_smooth: true'
spec speceig 'eigen_smooth: true'
for s in specaug speceig; do
	test_expect_success "run: $s (fused layer, gradcam and gradcam++), every run done" "
		$CAMLAB run $TMP/$s.yaml >$TMP/$s.log 2>&1 &&
		$CAMLAB results $TMP/$s >$TMP/$s.res &&
		test_grep '\\| fused \\| gradcam\\(.* \\| done \\| 4 \\| 4 ' $TMP/$s.res &&
		test_grep '\\| fused \\| gradcam\\+\\+\\(.* \\| done \\| 4 \\| 4 ' $TMP/$s.res
	"
done

$PY - "$TMP" "$SHARED" "$MODEL" "$@" <<'PYEOF' >"$TMP/py"
import glob, os, sqlite3, sys
import numpy as np
import torch
import torch.nn.functional as F
sys.path.insert(0, "tests")
from tap import ok, diag, done

tmp, shared, model_file, files = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
torch._C._set_graph_executor_optimize(False)  # LIBTORCH.md: the optimised executor loses A after warm-up
net = torch.jit.load(model_file).eval()
mean, std = torch.tensor([0.485, 0.456, 0.406]), torch.tensor([0.229, 0.224, 0.225])
# the PNGs' pixels as they are, in the sorted order of the files (the reference folder's README)
rgb = np.load(os.path.join(shared, "reference/pytorch-grad-cam/resnet20/input_rgb_uint8.npy"))[:len(files)]
X = ((torch.from_numpy(rgb).float() / 255 - mean) / std).permute(0, 3, 1, 2).contiguous()
target = net(X).argmax(1, keepdim=True)  # targets given: the image's class for every transform
H, W = X.shape[2:]


def scale_cam_image(cam, size=None):
    """utils/image.py: per image min-max (1e-7), then cv2.resize INTER_LINEAR (upsampling: bilinear,
    half-pixel centres: F.interpolate, align_corners=False)."""
    cam = cam - cam.flatten(1).min(1)[0][:, None, None]
    cam = cam / (1e-7 + cam.flatten(1).max(1)[0][:, None, None])
    return F.interpolate(cam[:, None], size=size, mode="bilinear", align_corners=False)[:, 0] if size else cam


def projection(m):
    """svd_on_activations.py get_2d_projection, with camlab's sign (the side of larger magnitude positive,
    cam/methods.c sign_fixed) where upstream leaves it to LAPACK."""
    out = []
    for a in m:
        r = a.reshape(a.shape[0], -1).T
        r = r - r.mean(0)
        _, _, vt = torch.linalg.svd(r, full_matrices=False)
        p = r @ vt[0]
        if -p.min() > p.max():
            p = -p
        out.append(p.reshape(a.shape[1:]))
    return torch.stack(out)


def weights(method, A, G):
    if method == "gradcam":  # grad_cam.py
        return G.mean((2, 3))
    g2 = G ** 2  # grad_cam_plusplus.py, equation 19
    aij = g2 / (2 * g2 + A.sum((2, 3))[:, :, None, None] * g2 * G + 1e-6)
    aij = torch.where(G != 0, aij, torch.zeros_like(aij))
    return (G.clamp(min=0) * aij).sum((2, 3))


def forward(xa, method, eigen):
    """BaseCAM.forward with target_layers [f.layer2, f.layer3]: one forward and backward (the hooks'
    activations and gradients), compute_cam_per_layer, aggregate_multi_layers."""
    f = net.f
    a2 = f.layer2(f.layer1(torch.relu(f.bn1(f.conv1(xa)))))
    a2.retain_grad()
    a3 = f.layer3(a2)
    a3.retain_grad()
    net.h(a3).gather(1, target).sum().backward()
    per_layer = []
    for a in (a2, a3):
        A, G = a.detach().double(), a.grad.double()
        wa = weights(method, A, G)[:, :, None, None] * A  # get_cam_image
        cam = projection(wa) if eigen else wa.sum(1)
        per_layer.append(scale_cam_image(cam.clamp(min=0).float(), (H, W)))
    return scale_cam_image(torch.stack(per_layer, 1).clamp(min=0).mean(1))


def aug_smooth(method, eigen):
    """forward_augmentation_smoothing with tta.Compose([HorizontalFlip(), Multiply([0.9, 1, 1.1])])."""
    cams = []
    for flip in (False, True):
        for factor in (0.9, 1, 1.1):
            xa = X.flip(3) if flip else X
            cam = forward((xa * factor).detach(), method, eigen)
            cams.append(cam.flip(2) if flip else cam)  # deaugment_mask: Multiply leaves the mask alone
    return torch.stack(cams).mean(0)


def explain_maps(d, method):
    got = [os.path.join(tmp, d, os.path.basename(f)[:-4] + "_%s.npy" % method) for f in files]
    return np.stack([np.load(g) for g in got]) if all(map(os.path.exists, got)) else None


def spec_maps(d, method):
    path = os.path.join(tmp, d, "results.sqlite")
    if not os.path.exists(path):
        return None
    db = sqlite3.connect(path)
    rows = db.execute("SELECT h.idx, h.h, h.w, h.data FROM heatmaps h JOIN runs r ON r.key = h.run_key "
                      "WHERE r.method LIKE ? ORDER BY h.idx", (method + "(%",)).fetchall()
    if len(rows) != len(files):
        return None
    return np.stack([np.frombuffer(b, dtype=np.float32).reshape(h, w) for _, h, w, b in rows])


def compare(mine, theirs, what):
    d = np.abs(mine - theirs).max() if mine is not None and mine.shape == theirs.shape else np.inf
    ok(d <= 1e-3, "%s: base_cam.py's recipe to 1e-3 (max |diff| %.2g)" % (what, d))
    return d


for method in ("gradcam", "gradcam++"):
    aug = aug_smooth(method, False).numpy()
    eig = forward(X, method, True).numpy()
    both = aug_smooth(method, True).numpy()
    plain = forward(X, method, False).numpy()
    compare(explain_maps("aug", method), aug, "explain --aug-smooth %s over f.layer2,f.layer3" % method)
    compare(explain_maps("perlayer", method), aug, "the same with a pass per layer (CAMLAB_TEST_FUSED_PER_LAYER)")
    compare(explain_maps("eig", method), eig, "explain --eigen-smooth %s over f.layer2,f.layer3" % method)
    compare(explain_maps("both", method), both, "explain --aug-smooth --eigen-smooth %s" % method)
    compare(spec_maps("specaug", method), aug, "spec fused: [f.layer2, f.layer3], %s aug_smooth" % method)
    compare(spec_maps("speceig", method), eig, "spec fused: [f.layer2, f.layer3], %s eigen_smooth" % method)
    # the smoothing must show: a map equal to the plain fused map would pass a loose recipe
    ok(np.abs(aug - plain).max() > 1e-2 and np.abs(eig - plain).max() > 1e-2,
       "%s: the smoothed maps differ from the plain fused map (aug %.2g, eigen %.2g)"
       % (method, np.abs(aug - plain).max(), np.abs(eig - plain).max()))
done()
PYEOF
test_relay "$TMP/py"

test_done
