#!/usr/bin/python3
"""Train camlab's embedded default model: a small GAP CNN on Fashion-MNIST.

Run with Debian's python (torch 1.13 from Debian packages):

    /usr/bin/python3 tools/train_fashion_mnist.py

Data: the Debian package `dataset-fashion-mnist`
(/usr/share/datasets/fashion-mnist/*-ubyte.gz, MIT licence), parsed here with
gzip + numpy (IDX format); nothing is downloaded.

Input: 3x28x28 RGB.  camlab always feeds RGB and turns grey images into RGB by
replicating the channel, so the model is trained on the grey image replicated
to 3 channels, scaled x/255 and normalised with a per-channel mean/std that is
computed from the training set (rounded to 4 decimals, same for the 3
channels).

Outputs (relative to the repository root):
    experiments/models/fashion_mnist_cnn.pt    TorchScript (torch.jit.script)
    experiments/models/fashion_mnist_cnn.yaml  camlab sidecar
    experiments/models/README.md               what it is, how it was made

Reproducible: fixed seeds, torch.use_deterministic_algorithms(True), a seeded
generator for the data order, 2 threads.
"""

import argparse
import gzip
import os
import struct
import sys
import time
from collections import OrderedDict

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

DATA_DIR = "/usr/share/datasets/fashion-mnist"
CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
           "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
SEED = 20240601
# channel widths of the five conv blocks
WIDTHS = (16, 32, 32, 64, 128)


def read_idx(path):
    """Parse a gzipped IDX file (big-endian header) into a numpy array."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    zero, dtype_code, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype_code != 0x08:
        raise ValueError("%s: not an unsigned-byte IDX file" % path)
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    arr = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if arr.size != int(np.prod(dims)):
        raise ValueError("%s: size mismatch" % path)
    return arr.reshape(dims)


def load_split(name):
    x = read_idx(os.path.join(DATA_DIR, "%s-images-idx3-ubyte.gz" % name))
    y = read_idx(os.path.join(DATA_DIR, "%s-labels-idx1-ubyte.gz" % name))
    return torch.from_numpy(x.copy()), torch.from_numpy(y.astype(np.int64))


def conv_bn_relu(cin, cout, inplace=False):
    return [nn.Conv2d(cin, cout, 3, padding=1, bias=False),
            nn.BatchNorm2d(cout),
            nn.ReLU(inplace=inplace)]


def build_model(widths=WIDTHS):
    c1, c2, c3, c4, c5 = widths
    layers = OrderedDict()
    cin = 3
    for i, cout in enumerate((c1, c2), start=1):
        conv, bn, relu = conv_bn_relu(cin, cout)
        layers["conv%d" % i], layers["bn%d" % i], layers["relu%d" % i] = conv, bn, relu
        cin = cout
    layers["pool1"] = nn.MaxPool2d(2)                       # 14x14
    for i, cout in enumerate((c3, c4), start=3):
        conv, bn, relu = conv_bn_relu(cin, cout)
        layers["conv%d" % i], layers["bn%d" % i], layers["relu%d" % i] = conv, bn, relu
        cin = cout
    layers["pool2"] = nn.MaxPool2d(2)                       # 7x7
    # last block, on purpose with an in-place ReLU: camlab must capture
    # features.block5.conv's output before the in-place op overwrites it.
    conv, bn, relu = conv_bn_relu(cin, c5, inplace=True)
    layers["block5"] = nn.Sequential(OrderedDict(
        [("conv", conv), ("bn", bn), ("relu", relu)]))     # pre_gap: 7x7xc5
    return nn.Sequential(OrderedDict([
        ("features", nn.Sequential(layers)),
        ("pool", nn.AdaptiveAvgPool2d(1)),
        ("flatten", nn.Flatten()),
        ("fc", nn.Linear(c5, len(CLASSES))),
    ]))


def to_input(x_u8, mean, std):
    """uint8 (N,28,28) -> normalised float (N,3,28,28)."""
    x = x_u8.float().div_(255.0).sub_(mean).div_(std)
    return x.unsqueeze(1).expand(-1, 3, -1, -1).contiguous()


@torch.no_grad()
def accuracy(model, x_u8, y, mean, std, bs=1000):
    correct = 0
    for i in range(0, len(y), bs):
        logits = model(to_input(x_u8[i:i + bs], mean, std))
        correct += int((logits.argmax(1) == y[i:i + bs]).sum())
    return correct / len(y)


def write_sidecar(path, mean, std):
    names = ", ".join(CLASSES)  # none needs quoting: no ':', '#', leading specials
    m = ", ".join(["%.4f" % mean] * 3)
    s = ", ".join(["%.4f" % std] * 3)
    with open(path, "w") as f:
        f.write("# camlab model sidecar: metadata the TorchScript file does not carry\n")
        f.write("input_size: 28          # the model's input height and width\n")
        f.write("resize: 0               # shorter-side resize before the centre crop; 0 = none\n")
        f.write("mean: [%s]\n" % m)
        f.write("std: [%s]\n" % s)
        f.write("classes: [%s]\n" % names)
        f.write("layers:                 # friendly names for target layers -> module paths as named_modules() prints them\n")
        f.write("  pre_gap: features.block5\n")
        f.write("  last_conv: features.block5.conv\n")


def write_readme(path, info):
    modules = "\n".join("    %-24s %s" % (n, t) for n, t in info["modules"])
    text = """# experiments/models

## fashion_mnist_cnn.pt — camlab's embedded default model

A small CNN classifier for **Fashion-MNIST** (10 classes), saved as TorchScript
(`torch.jit.script`, torch {torch_version}).  It is a GAP + single linear head
network, so the original CAM (Zhou et al. 2016) is defined on its last feature
map.

* Data: the Debian package `dataset-fashion-mnist`
  (`/usr/share/datasets/fashion-mnist/{{train,t10k}}-{{images-idx3,labels-idx1}}-ubyte.gz`),
  Fashion-MNIST by Zalando Research, MIT licence.  Parsed directly from the IDX
  files; nothing is downloaded.
* Input: `1x3x28x28` RGB, float.  The grey image is replicated to 3 channels
  (camlab converts grey to RGB the same way), scaled `x/255`, then normalised
  with per-channel mean **{mean:.4f}** and std **{std:.4f}** (the same value for all three
  channels; computed from the 60k training images, rounded to 4 decimals).
* Output: 10 logits, classes in order: {classes}.
* Architecture (`named_modules()` names):

{modules}

  Target layers for camlab (see `fashion_mnist_cnn.yaml`):
  * `pre_gap` = `features.block5` — output right before global average pooling
    (128x7x7, after ReLU).
  * `last_conv` = `features.block5.conv` — the last convolution (before BN and
    the **in-place** ReLU `features.block5.relu`; kept in-place on purpose so
    camlab's hook must copy the output before it is overwritten).
* Training: {epochs} epochs, batch {batch}, SGD (momentum 0.9, nesterov,
  weight decay 5e-4) with a one-cycle LR schedule (max lr {lr}), random
  horizontal flips; seed {seed}, `torch.use_deterministic_algorithms(True)`,
  seeded data order, 2 threads.
* Measured: test accuracy **{acc:.2f}%** on the full 10,000-image test set
  (recomputed from the reloaded TorchScript file: {acc_reload:.2f}%); training
  time {train_s:.0f} s wall on 2 CPU cores; file size {size} bytes.

Rebuild (Debian's python, which has torch 1.13.1 from Debian packages):

    /usr/bin/python3 tools/train_fashion_mnist.py

This rewrites `fashion_mnist_cnn.pt`, `fashion_mnist_cnn.yaml` and this README.
Bit-identical weights across machines are not guaranteed (different CPU/BLAS
kernels), but the run is deterministic on a given machine.

## fashion_mnist_cnn.yaml

The camlab sidecar: input size, resize, mean/std, class names and friendly
layer names -> module paths.
""".format(torch_version=torch.__version__, mean=info["mean"], std=info["std"],
           classes=", ".join("`%s`" % c for c in CLASSES), modules=modules,
           epochs=info["epochs"], batch=info["batch"], lr=info["lr"],
           seed=SEED, acc=100 * info["acc"], acc_reload=100 * info["acc_reload"],
           train_s=info["train_s"], size=info["size"])
    with open(path, "w") as f:
        f.write(text)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=0.1)
    ap.add_argument("--outdir", default=os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "experiments", "models"))
    args = ap.parse_args()
    outdir = os.path.normpath(args.outdir)
    os.makedirs(outdir, exist_ok=True)

    torch.manual_seed(SEED)
    np.random.seed(SEED)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(2)
    # denormal floats appear in the backward pass after a few hundred steps
    # and slow x86 CPUs down several-fold; flushing them costs nothing here.
    torch.set_flush_denormal(True)

    x_tr, y_tr = load_split("train")
    x_te, y_te = load_split("t10k")
    print("train", tuple(x_tr.shape), "test", tuple(x_te.shape))
    xf = x_tr.double() / 255.0
    mean = round(float(xf.mean()), 4)
    std = round(float(xf.std()), 4)
    del xf
    print("mean %.4f std %.4f" % (mean, std))

    model = build_model()
    opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9,
                          nesterov=True, weight_decay=5e-4)
    steps_per_epoch = (len(y_tr) + args.batch - 1) // args.batch
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=args.lr, epochs=args.epochs, steps_per_epoch=steps_per_epoch,
        pct_start=0.25)
    gen = torch.Generator().manual_seed(SEED)

    t0 = time.time()
    for epoch in range(args.epochs):
        model.train()
        perm = torch.randperm(len(y_tr), generator=gen)
        tot, n = 0.0, 0
        for i in range(0, len(perm), args.batch):
            idx = perm[i:i + args.batch]
            xb = to_input(x_tr[idx], mean, std)
            flip = torch.rand(len(idx), generator=gen) < 0.5
            xb[flip] = xb[flip].flip(3)
            yb = y_tr[idx]
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(xb), yb)
            loss.backward()
            opt.step()
            sched.step()
            tot += float(loss) * len(idx)
            n += len(idx)
        model.eval()
        acc = accuracy(model, x_te, y_te, mean, std)
        print("epoch %d loss %.4f test acc %.2f%% (%.0f s)"
              % (epoch + 1, tot / n, 100 * acc, time.time() - t0), flush=True)
    train_s = time.time() - t0
    model.eval()
    acc = accuracy(model, x_te, y_te, mean, std)
    print("train time %.1f s, test accuracy %.2f%%" % (train_s, 100 * acc))

    pt = os.path.join(outdir, "fashion_mnist_cnn.pt")
    scripted = torch.jit.script(model)
    scripted.save(pt)
    size = os.path.getsize(pt)
    print("saved %s (%d bytes)" % (pt, size))

    # --- verification from the saved file ---
    loaded = torch.jit.load(pt)
    loaded.eval()
    acc_reload = accuracy(loaded, x_te, y_te, mean, std)
    print("reloaded test accuracy %.2f%%" % (100 * acc_reload))
    modules = [(n, m.original_name) for n, m in loaded.named_modules()]
    print("named_modules():")
    for n, t in modules:
        print("  %-24s %s" % (n if n else "''", t))
    names = {n for n, _ in modules}
    assert "features.block5" in names and "features.block5.conv" in names
    with torch.no_grad():
        xb = to_input(x_te[:64], mean, std)
        d = float((loaded(xb) - model(xb)).abs().max())
    print("max |scripted - eager| = %.3g" % d)
    assert d < 1e-4, "scripted forward differs from eager"
    assert acc_reload == acc

    write_sidecar(os.path.join(outdir, "fashion_mnist_cnn.yaml"), mean, std)
    write_readme(os.path.join(outdir, "README.md"), dict(
        mean=mean, std=std, modules=[(n, t) for n, t in modules if n],
        epochs=args.epochs, batch=args.batch, lr=args.lr, acc=acc,
        acc_reload=acc_reload, train_s=train_s, size=size))
    print("wrote sidecar and README in", outdir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
