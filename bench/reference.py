"""reference.py - the paper's reference evaluation procedure, re-implemented for PERF.md's comparisons.

The paper's evaluation code is a fork of pytorch-grad-cam; it cannot be downloaded here, so this file
re-creates its per-batch procedure from PERF.md ("Where the time goes in the reference") and SCIENCE.md,
in the shape pytorch-grad-cam gives it (BaseCAM + ActivationsAndGradients + scale_cam_image):

  - one fresh model and CAM object per method (the paper runs one process per method);
  - per batch: a prediction forward (Y and the predicted class c); the CAM with the ReST utility
    (y_c - cross_entropy = y_c + log p_c) on c, its own forward with the target layer's activations and
    gradients caught by module.register_forward_hook + tensor.register_hook; the gradient methods call
    loss.backward(retain_graph=True) (the parameters require grad, so the weight gradients of the whole
    network are computed too); the Shapley variants differentiate with respect to the INPUT image with
    create_graph=True (a double-backward graph through the whole network), then take the Hessian-vector
    product grad(G, A, grad_outputs=A);
  - the maps are computed in NumPy on the CPU, ReLU, min-max and resized one image at a time (the fork
    uses cv2.resize; OpenCV is not installed, so --resize pil (default) uses PIL's Image.resize(BILINEAR)
    on float 'F' images, --resize torch uses F.interpolate(bilinear, align_corners=False) per image: both
    equal cv2's INTER_LINEAR when upsampling), min-max again (aggregate_multi_layers);
  - the maps go back to a tensor; O = softmax(model(x*H))_c, D = softmax(model(x*(1-H)))_c; Coherency's
    second CAM is the full procedure again on x*H; AD, IC, ADD, Com, Coh per image in Python.

Images: JPEGs decoded with PIL, torchvision Resize(256) + CenterCrop(224) + ToTensor + Normalize (ImageNet),
decoded inside the timed loop of every method (each of the paper's processes decodes its own images,
DataLoader num_workers=0) and copied to the device there; --preload decodes them once before any timing
and keeps them on the device (PERF.md's GPU figures "inputs already on the GPU", e.g. ResNet-50 ShapleyCAM +
six metrics 119 images/s), and then also reports that decode's rate. The network: torchvision's ResNet
(eager; ResNet-18, -50 or any depth, read from the file's weights) with the weights of the TorchScript file
camlab runs (bench/make_resnet18.py), target layer the last block of layer4 (ResNet-18 layer4.1,
ResNet-50 layer4.2).

    /usr/bin/python3 bench/reference.py --model bench/models/resnet18_random.pt --data bench/data/synth \
        -n 32 [--batch 8] [--threads 2] [--methods ...] [--dump ref.csv] [--compare out/.../results.sqlite]
    python3 bench/reference.py --device cuda --preload --model bench/models/resnet50_random.pt \
        --data bench/data/synth50 -n 512 --batch 128 --threads 16 --methods shapleycam

--device cuda runs the models on the GPU (the maps still go through NumPy on the CPU, as in the fork); every
timing waits for the device first and last (torch.cuda.synchronize), and the per-batch results are read
back to the host anyway, so a batch has finished when the next one starts.

Prints the rate of each method with the six metrics, GradCAM and ShapleyCAM alone, and the ten-method table
(images / the sum of the per-method times). --compare prints the per-image agreement with a camlab results
database on the same images.
"""
import argparse
import csv
import json
import os
import sqlite3
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
import torchvision
from PIL import Image
from torchvision import transforms

TABLE1 = ["randomcam", "gradcam++", "xgradcam", "layercam", "gradcam-e", "shapleycam-e", "hirescam",
          "shapleycam-h", "gradcam", "shapleycam"]
SHAPLEY = {"shapleycam", "shapleycam-h", "shapleycam-e"}

RESIZE = "pil"
DEVICE = torch.device("cpu")


def sync():
    """Wait for the device's queued work, so that a clock read after it counts that work."""
    if DEVICE.type == "cuda":
        torch.cuda.synchronize(DEVICE)


# ---------------------------------------------------------------- pytorch-grad-cam, as the fork has it

class ClassifierOutputReST:
    """The ReST utility of the fork: y_c - cross_entropy(y, c) = y_c + log p_c."""

    def __init__(self, category):
        self.category = category

    def __call__(self, model_output):
        if len(model_output.shape) == 1:
            target = torch.tensor([self.category], device=model_output.device)
            model_output = model_output.unsqueeze(0)
            return model_output[0][self.category] - F.cross_entropy(model_output, target)
        target = torch.tensor(self.category, device=model_output.device)
        return model_output[:, self.category] - F.cross_entropy(model_output, target)


class ActivationsAndGradients:
    """Forward hook on the target layer; a tensor hook on its output catches the gradient."""

    def __init__(self, model, target_layers, detach=True):
        self.model = model
        self.gradients = []
        self.activations = []
        self.detach = detach
        self.handles = []
        for layer in target_layers:
            self.handles.append(layer.register_forward_hook(self.save_activation))
            self.handles.append(layer.register_forward_hook(self.save_gradient))

    def save_activation(self, module, input, output):
        if self.detach:
            self.activations.append(output.cpu().detach())
        else:
            self.activations.append(output)

    def save_gradient(self, module, input, output):
        if not hasattr(output, "requires_grad") or not output.requires_grad:
            return

        def _store_grad(grad):
            if self.detach:
                self.gradients = [grad.cpu().detach()] + self.gradients
            else:
                self.gradients = [grad] + self.gradients

        output.register_hook(_store_grad)

    def __call__(self, x):
        self.gradients = []
        self.activations = []
        return self.model(x)

    def release(self):
        for h in self.handles:
            h.remove()


def scale_cam_image(cam, target_size=None):
    """min-max and resize one image at a time (the fork: cv2.resize(img, target_size))."""
    result = []
    for img in cam:
        img = img - np.min(img)
        img = img / (1e-7 + np.max(img))
        if target_size is not None:
            if RESIZE == "pil":
                # a 2-D float32 array is a mode 'F' image (fromarray's mode= is deprecated in Pillow 11.3)
                img = np.asarray(Image.fromarray(img.astype(np.float32)).resize(
                    target_size, Image.BILINEAR), dtype=np.float32)
            else:
                t = torch.from_numpy(np.ascontiguousarray(img, dtype=np.float32))[None, None]
                img = F.interpolate(t, size=(target_size[1], target_size[0]), mode="bilinear",
                                    align_corners=False)[0, 0].numpy()
        result.append(img)
    return np.float32(result)


class BaseCAM:
    def __init__(self, model, target_layers, compute_input_gradient=False, uses_gradients=True,
                 detach=True):
        self.model = model.eval()
        self.target_layers = target_layers
        self.compute_input_gradient = compute_input_gradient
        self.uses_gradients = uses_gradients
        self.detach = detach
        self.activations_and_grads = ActivationsAndGradients(self.model, target_layers, detach)

    def get_cam_weights(self, input_tensor, target_layer, targets, activations, grads):
        raise NotImplementedError

    def get_cam_image(self, input_tensor, target_layer, targets, activations, grads):
        weights = self.get_cam_weights(input_tensor, target_layer, targets, activations, grads)
        if isinstance(activations, torch.Tensor):
            activations = activations.cpu().detach().numpy()
        weighted_activations = weights[:, :, None, None] * activations
        return weighted_activations.sum(axis=1)

    def forward(self, input_tensor, targets):
        if self.compute_input_gradient:
            input_tensor = torch.autograd.Variable(input_tensor, requires_grad=True)
        self.outputs = outputs = self.activations_and_grads(input_tensor)
        if targets is None:
            categories = np.argmax(outputs.cpu().data.numpy(), axis=-1)
            targets = [ClassifierOutputReST(int(c)) for c in categories]
        if self.uses_gradients:
            self.model.zero_grad()
            loss = sum([target(output) for target, output in zip(targets, outputs)])
            if self.detach:
                loss.backward(retain_graph=True)
            else:
                # keep the graph: create_graph=True is needed for the Hessian-vector product
                torch.autograd.grad(loss, input_tensor, retain_graph=True, create_graph=True)
        cam_per_layer = self.compute_cam_per_layer(input_tensor, targets)
        return self.aggregate_multi_layers(cam_per_layer)

    def compute_cam_per_layer(self, input_tensor, targets):
        if self.detach:
            activations_list = [a.cpu().data.numpy() for a in self.activations_and_grads.activations]
            grads_list = [g.cpu().data.numpy() for g in self.activations_and_grads.gradients]
        else:
            activations_list = list(self.activations_and_grads.activations)
            grads_list = list(self.activations_and_grads.gradients)
        target_size = (input_tensor.size(-1), input_tensor.size(-2))  # (width, height) as cv2 wants
        out = []
        for i, layer in enumerate(self.target_layers):
            a = activations_list[i] if i < len(activations_list) else None
            g = grads_list[i] if i < len(grads_list) else None
            cam = self.get_cam_image(input_tensor, layer, targets, a, g)
            cam = np.maximum(cam, 0)
            scaled = scale_cam_image(cam, target_size)
            out.append(scaled[:, None, :])
        return out

    def aggregate_multi_layers(self, cam_per_target_layer):
        cam = np.concatenate(cam_per_target_layer, axis=1)
        cam = np.maximum(cam, 0)
        result = np.mean(cam, axis=1)
        return scale_cam_image(result)

    def __call__(self, input_tensor, targets=None):
        return self.forward(input_tensor, targets)


class GradCAM(BaseCAM):
    def get_cam_weights(self, input_tensor, target_layer, targets, activations, grads):
        return np.mean(grads, axis=(2, 3))


class HiResCAM(BaseCAM):
    def get_cam_image(self, input_tensor, target_layer, targets, activations, grads):
        return (grads * activations).sum(axis=1)


class GradCAMElementWise(BaseCAM):
    def get_cam_image(self, input_tensor, target_layer, targets, activations, grads):
        return np.maximum(grads * activations, 0).sum(axis=1)


class LayerCAM(BaseCAM):
    def get_cam_image(self, input_tensor, target_layer, targets, activations, grads):
        return (np.maximum(grads, 0) * activations).sum(axis=1)


class XGradCAM(BaseCAM):
    def get_cam_weights(self, input_tensor, target_layer, targets, activations, grads):
        sum_activations = np.sum(activations, axis=(2, 3))
        eps = 1e-7
        weights = grads * activations / (sum_activations[:, :, None, None] + eps)
        return weights.sum(axis=(2, 3))


class GradCAMPlusPlus(BaseCAM):
    def get_cam_weights(self, input_tensor, target_layer, targets, activations, grads):
        grads_power_2 = grads ** 2
        grads_power_3 = grads_power_2 * grads
        sum_activations = np.sum(activations, axis=(2, 3))
        eps = 0.000001
        aij = grads_power_2 / (2 * grads_power_2 + sum_activations[:, :, None, None] * grads_power_3 + eps)
        aij = np.where(grads != 0, aij, 0)
        weights = np.maximum(grads, 0) * aij
        return np.sum(weights, axis=(2, 3))


class RandomCAM(BaseCAM):
    def get_cam_weights(self, input_tensor, target_layer, targets, activations, grads):
        return np.random.uniform(-1, 1, size=(grads.shape[0], grads.shape[1]))


class _ShapleyBase(BaseCAM):
    """The fork's Shapley classes: live activations and gradients, W = G - HA/2 with
    HA = grad(G, A, grad_outputs=A) through the double-backward graph."""

    def __init__(self, model, target_layers):
        super().__init__(model, target_layers, compute_input_gradient=True, uses_gradients=True,
                         detach=False)

    def shapley_weight(self):
        activations = self.activations_and_grads.activations[-1]
        grads = self.activations_and_grads.gradients[-1]
        hvp = torch.autograd.grad(outputs=grads, inputs=activations, grad_outputs=activations,
                                  retain_graph=True, allow_unused=True)[0]
        if hvp is None:
            hvp = torch.tensor(0)
        weight = (grads - 0.5 * hvp).detach().cpu().numpy()
        return weight, activations.detach().cpu().numpy()


class ShapleyCAM_mean(_ShapleyBase):  # the paper's ShapleyCAM
    def get_cam_image(self, input_tensor, target_layer, targets, activations, grads):
        w, a = self.shapley_weight()
        return (np.mean(w, axis=(2, 3))[:, :, None, None] * a).sum(axis=1)


class ShapleyCAM_hires(_ShapleyBase):  # ShapleyCAM-H
    def get_cam_image(self, input_tensor, target_layer, targets, activations, grads):
        w, a = self.shapley_weight()
        return (w * a).sum(axis=1)


class ShapleyCAM(_ShapleyBase):  # the fork's plainly named class is ShapleyCAM-E
    def get_cam_image(self, input_tensor, target_layer, targets, activations, grads):
        w, a = self.shapley_weight()
        return np.maximum(w * a, 0).sum(axis=1)


CLASSES = {
    "gradcam": GradCAM, "hirescam": HiResCAM, "gradcam-e": GradCAMElementWise, "layercam": LayerCAM,
    "xgradcam": XGradCAM, "gradcam++": GradCAMPlusPlus, "randomcam": RandomCAM,
    "shapleycam": ShapleyCAM_mean, "shapleycam-h": ShapleyCAM_hires, "shapleycam-e": ShapleyCAM,
}


# ---------------------------------------------------------------- the evaluation script

def make_model(model_path):
    """torchvision's eager ResNet with the weights of camlab's TorchScript file, on DEVICE: the depth and
    the block (basic as ResNet-18/34, bottleneck as ResNet-50/101) come from the weights' names."""
    from torchvision.models.resnet import BasicBlock, Bottleneck, ResNet

    sd = torch.jit.load(model_path, map_location="cpu").state_dict()
    blocks = [1 + max(int(k.split(".")[1]) for k in sd if k.startswith("layer%d." % i)) for i in range(1, 5)]
    block = Bottleneck if "layer1.0.conv3.weight" in sd else BasicBlock
    m = ResNet(block, blocks, num_classes=sd["fc.weight"].shape[0])
    m.load_state_dict(sd, strict=True)
    return m.eval().to(DEVICE)


TRANSFORM = transforms.Compose([
    transforms.Resize(256), transforms.CenterCrop(224), transforms.ToTensor(),
    transforms.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225]),
])


def load_batch(paths):
    """Decode, preprocess and copy to the device: what the paper's loop does with each DataLoader batch."""
    return torch.stack([TRANSFORM(Image.open(p).convert("RGB")) for p in paths]).to(DEVICE)


def preload(paths, batch):
    """Every batch decoded and on the device before any timing; returns the batches and the seconds."""
    sync()
    t0 = time.perf_counter()
    xs = [load_batch(paths[s:s + batch]) for s in range(0, len(paths), batch)]
    sync()
    return xs, time.perf_counter() - t0


def pearson(a, b):
    a = a.ravel().astype(np.float64)
    b = b.ravel().astype(np.float64)
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        return None
    a = a - a.mean()
    b = b - b.mean()
    den = np.sqrt((a * a).sum() * (b * b).sum())
    if den == 0:
        return None
    return float((a * b).sum() / den)


def evaluate_batch(model, cam, x):
    """One batch of the evaluation: class, CAM, O, D, Coherency's second CAM, the per-image metrics."""
    with torch.no_grad():
        logits = model(x)  # the prediction forward
    probs = torch.softmax(logits, dim=1).cpu()
    classes = logits.argmax(dim=1).tolist()
    targets = [ClassifierOutputReST(c) for c in classes]
    grayscale = cam(input_tensor=x, targets=targets)  # (B, H, W) NumPy on the CPU
    h = torch.from_numpy(grayscale).unsqueeze(1).to(x.device)  # back to the device
    xh = x * h
    with torch.no_grad():
        p_o = torch.softmax(model(xh), dim=1).cpu()
        p_d = torch.softmax(model(x * (1 - h)), dim=1).cpu()
    grayscale2 = cam(input_tensor=xh, targets=targets)  # Coherency: the same CAM on x * H
    rows = []
    for i, c in enumerate(classes):
        y = float(probs[i, c])
        o = float(p_o[i, c])
        d = float(p_d[i, c])
        r = pearson(grayscale[i], grayscale2[i])
        rows.append({
            "class": c, "y": y, "o": o, "d": d,
            "ad": max(0.0, y - o) / y, "ic": 1.0 if o > y else 0.0, "add": max(0.0, y - d) / y,
            "com": float(np.abs(grayscale[i]).mean()), "coh": 0.0 if r is None else (r + 1) / 2,
        })
    return rows


def run_method(name, model_path, paths, batch, warmup, xs=None):
    """One method with a fresh model over the images: decoded inside the timed loop, or the preloaded
    device batches xs. Returns wall and CPU seconds, the decoding's seconds and the per-image rows."""
    model = make_model(model_path)
    cam = CLASSES[name](model, [model.layer4[-1]])
    if warmup:  # one untimed batch: the steady state is what 50 000 images see
        evaluate_batch(model, cam, xs[0] if xs else load_batch(paths[:batch]))
    rows, t_decode = [], 0.0
    sync()
    c0 = time.process_time()
    t0 = time.perf_counter()
    for b, s in enumerate(range(0, len(paths), batch)):
        if xs:
            x = xs[b]
        else:
            td = time.perf_counter()
            x = load_batch(paths[s:s + batch])
            t_decode += time.perf_counter() - td
        for p, row in zip(paths[s:s + batch], evaluate_batch(model, cam, x)):
            row["path"] = os.path.basename(p)
            rows.append(row)
    sync()
    dt = time.perf_counter() - t0
    cpu = time.process_time() - c0
    cam.activations_and_grads.release()
    return dt, cpu, t_decode, rows


def forward_rate(model_path, paths, batch, xs=None):
    model = make_model(model_path)
    if not xs:
        xs, _ = preload(paths, batch)
    with torch.no_grad():
        model(xs[0])
        sync()
        t0 = time.perf_counter()
        done, passes = 0, 0
        while True:
            for x in xs:
                model(x)
            done += len(paths)
            passes += 1
            # one pass on a CPU; on a GPU a pass over a few batches takes a tenth of a second, so passes
            # until a second has gone (at most 20)
            if DEVICE.type != "cuda" or passes >= 20:
                break
            sync()
            if time.perf_counter() - t0 >= 1.0:
                break
        sync()
        return done / (time.perf_counter() - t0)


def compare(db, rows_by_method, methods):
    """Per-image agreement with a camlab results database (table images, joined with runs)."""
    con = sqlite3.connect(db)
    out = {}
    for m in methods:
        cur = con.execute("SELECT i.path, i.class, i.y, i.o, i.d, i.ad, i.add_, i.coh, i.com, i.ic "
                          "FROM images i JOIN runs r ON i.run_key = r.key WHERE r.method = ?", (m,))
        theirs = {os.path.basename(p): dict(zip(("class", "y", "o", "d", "ad", "add", "coh", "com", "ic"), v))
                  for p, *v in cur.fetchall()}
        mine = {r["path"]: r for r in rows_by_method.get(m, [])}
        common = sorted(set(theirs) & set(mine))
        if not common:
            continue
        st = {"n": len(common),
              "class_agree": sum(theirs[k]["class"] == mine[k]["class"] for k in common)}
        for key in ("y", "ad", "add", "com", "coh", "ic"):
            st[key] = max(abs(theirs[k][key] - mine[k][key]) for k in common)
        st["y_rel"] = max(abs(theirs[k]["y"] - mine[k]["y"]) / mine[k]["y"] for k in common)
        out[m] = st
        note = " (RandomCAM draws its own weights: no agreement expected)" if m == "randomcam" else ""
        print("agreement %-13s n=%d, class %d/%d, max |diff|: AD %.2e  ADD %.2e  Com %.2e  Coh %.2e  "
              "IC %.0f  Y %.2e (rel %.2e)%s" % (m, st["n"], st["class_agree"], st["n"], st["ad"], st["add"],
                                                st["com"], st["coh"], st["ic"], st["y"], st["y_rel"], note))
    con.close()
    return out


def main():
    global RESIZE
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="bench/models/resnet18_random.pt")
    ap.add_argument("--data", default="bench/data/synth", help="a flat folder of JPEGs (sorted by name)")
    ap.add_argument("-n", type=int, default=32, help="the first N images")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", choices=("cpu", "cuda"), default="cpu", help="where the models run")
    ap.add_argument("--preload", action="store_true",
                    help="decode every image once, onto the device, before timing (the timed loops then "
                    "exclude decoding, as PERF.md's GPU figures)")
    ap.add_argument("--methods", default=",".join(TABLE1))
    ap.add_argument("--resize", choices=("pil", "torch"), default="pil",
                    help="the stand-in for cv2.resize (per image, bilinear, half-pixel)")
    ap.add_argument("--no-warmup", action="store_true", help="time the first batch of each method too")
    ap.add_argument("--rows", nargs="+", metavar="CSV",
                    help="run nothing: compare the rows of these --dump files with --compare's database")
    ap.add_argument("--no-forward", action="store_true", help="skip the forward-only rate")
    ap.add_argument("--dump", help="write every per-image row to this CSV")
    ap.add_argument("--json", help="write the timings to this JSON file")
    ap.add_argument("--compare", help="a camlab results.sqlite to compare per-image metrics with")
    args = ap.parse_args()
    global DEVICE
    RESIZE = args.resize
    if args.rows:
        rows_by_method = {}
        for f in args.rows:
            for r in csv.DictReader(open(f)):
                m = r.pop("method")
                for k in r:
                    if k != "path":
                        r[k] = int(r[k]) if k == "class" else float(r[k])
                rows_by_method.setdefault(m, []).append(r)
        if not args.compare:
            sys.exit("reference.py: --rows needs --compare")
        compare(args.compare, rows_by_method, [m for m in TABLE1 if m in rows_by_method])
        return
    torch.set_num_threads(args.threads)
    np.random.seed(0)
    if args.device == "cuda" and not torch.cuda.is_available():
        sys.exit("reference.py: --device cuda, but torch %s sees no CUDA device" % torch.__version__)
    DEVICE = torch.device(args.device)

    exts = (".jpg", ".jpeg", ".png")
    paths = sorted(os.path.join(args.data, f) for f in os.listdir(args.data) if f.lower().endswith(exts))
    paths = paths[:args.n]
    if len(paths) < args.n:
        sys.exit("reference.py: only %d images in %s" % (len(paths), args.data))
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    n = len(paths)
    device_name = torch.cuda.get_device_name(DEVICE) if DEVICE.type == "cuda" else "cpu"
    print("# reference: torch %s, torchvision %s, %d thread(s), batch %d, %d images, resize %s, %s"
          % (torch.__version__, torchvision.__version__, torch.get_num_threads(), args.batch, n, args.resize,
             "no warm-up" if args.no_warmup else "one untimed warm-up batch per method"))
    print("# device %s (%s), %s" % (args.device, device_name,
                                     "images preloaded on the device" if args.preload
                                     else "images decoded inside the timed loop"))
    if DEVICE.type == "cuda":
        try:  # the flags as torch's defaults leave them (newer torch also has fp32_precision)
            tf32 = "TF32 matmul %s / cudnn %s" % (torch.backends.cuda.matmul.allow_tf32,
                                                  torch.backends.cudnn.allow_tf32)
        except Exception as e:  # noqa: BLE001 - only printed
            tf32 = "TF32 flags unreadable (%s)" % e
        print("# cudnn %s, cudnn.benchmark %s, %s" % (torch.backends.cudnn.version(),
                                                      torch.backends.cudnn.benchmark, tf32))
    xs, decode_rate = None, None
    if args.preload:
        xs, t = preload(paths, args.batch)
        decode_rate = n / t
        print("%-34s %8.2f images/s  (%.2f s, PIL + torchvision, one process, to the device)"
              % ("decode+preprocess (preload)", decode_rate, t), flush=True)
    fwd = None
    if not args.no_forward:
        fwd = forward_rate(args.model, paths, args.batch, xs)
        print("%-34s %8.2f images/s" % ("forward only (decoded before)", fwd), flush=True)

    times, cpus, rows_by_method, decode = {}, {}, {}, 0.0

    def result():
        total = sum(times.values())
        return {"n": n, "batch": args.batch, "threads": args.threads, "forward": fwd,
                "device": args.device, "device_name": device_name, "preload": args.preload,
                "decode_rate": decode_rate, "torch": torch.__version__, "torchvision": torchvision.__version__,
                "methods": methods, "seconds": times, "cpu_seconds": cpus, "table_seconds": total,
                "table_rate": n / total if total else None, "table_cpu_seconds": sum(cpus.values()),
                "rate": {m: n / t for m, t in times.items()}}

    def save(res):
        """The files as they stand: rewritten after every method, so that a run stopped by a time limit
        keeps what it finished."""
        if args.dump:
            with open(args.dump, "w", newline="") as f:
                w = csv.writer(f)
                keys = ["path", "class", "y", "o", "d", "ad", "ic", "add", "com", "coh"]
                w.writerow(["method"] + keys)
                for m in methods:
                    for r in rows_by_method.get(m, []):
                        w.writerow([m] + [r[k] for k in keys])
        if args.json:
            with open(args.json, "w") as f:
                json.dump(res, f, indent=1)

    save(result())
    for m in methods:
        dt, cpu, td, rows = run_method(m, args.model, paths, args.batch, not args.no_warmup, xs)
        times[m] = dt
        cpus[m] = cpu
        decode += td
        rows_by_method[m] = rows
        print("%-34s %8.2f images/s  (%.1f s, CPU %.1f s, decode %.2f s)"
              % (m + " + six metrics", n / dt, dt, cpu, td), flush=True)
        save(result())
    res = result()
    if times:
        print("%-34s %8.3f images/s  (%.1f s, CPU %.1f s, %d methods, decode %.1f s of it)"
              % ("table: sum of the methods", res["table_rate"], res["table_seconds"],
                 res["table_cpu_seconds"], len(methods), decode))
    if args.compare:
        res["agreement"] = compare(args.compare, rows_by_method, methods)
        save(res)


if __name__ == "__main__":
    main()
