#!/usr/bin/python3
"""Train a small vision transformer on Fashion-MNIST, for looking at the maps of a trained ViT.

Run with Debian's python (torch 1.13 from Debian packages):

    /usr/bin/python3 tools/train_fashion_mnist_vit.py

The test networks of tools/export_models.py (torchvision's vit_b_16 and swin_t) have random weights: their
maps show whether camlab computes what pytorch-grad-cam computes, not what a trained transformer looks at.
This one is trained, small enough to keep in the repository (~0.6 MB) and to explain on the CPU in
seconds.

Data: the Debian package `dataset-fashion-mnist` (read as tools/train_fashion_mnist.py reads it, with the
same input convention: the grey image replicated to 3 channels, x/255, the training set's mean and std).

Architecture, ViT-style (Dosovitskiy et al. 2021): 4x4 patches (a 7x7 grid of 49 tokens) embedded to 64
channels by a strided convolution, a class token (so a block's output has 50 = 49 + 1 tokens: camlab's
`layout: bnc` drops the prefix token and finds the 7x7 grid), learned position embeddings, 4 pre-norm
blocks (LayerNorm, 4-head self-attention, LayerNorm, MLP 64-128-64 with GELU), a final LayerNorm and a
linear head on the class token. The layer users pick for Grad-CAM on a ViT is the last block's first
LayerNorm (pytorch-grad-cam's ViT example): `blocks.3.norm1`.

Outputs (relative to the repository root):
    experiments/models/fashion_mnist_vit.pt    TorchScript (torch.jit.script)
    experiments/models/fashion_mnist_vit.yaml  camlab sidecar
    experiments/models/fashion_mnist_vit.md    what it is, how it was made, what it measured

Reproducible on a given machine: fixed seeds, torch.use_deterministic_algorithms(True), a seeded
generator for the data order, one thread (results depend on the thread count).
"""

import argparse
import os
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from train_fashion_mnist import CLASSES, load_split, to_input, accuracy  # noqa: E402

SEED = 20261207
DIM, DEPTH, HEADS, MLP, PATCH = 64, 4, 4, 128, 4


class Block(nn.Module):
    def __init__(self, dim: int, heads: int, mlp: int):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, mlp), nn.GELU(), nn.Linear(mlp, dim))

    def forward(self, x):
        h = self.norm1(x)
        x = x + self.attn(h, h, h, need_weights=False)[0]
        return x + self.mlp(self.norm2(x))


class ViT(nn.Module):
    def __init__(self, dim: int = DIM, depth: int = DEPTH, heads: int = HEADS, mlp: int = MLP,
                 patch: int = PATCH, size: int = 28, classes: int = 10):
        super().__init__()
        grid = size // patch
        self.patch_embed = nn.Conv2d(3, dim, patch, stride=patch)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.randn(1, grid * grid + 1, dim) * 0.02)
        self.blocks = nn.Sequential(*[Block(dim, heads, mlp) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, classes)

    def forward(self, x):
        x = self.patch_embed(x).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1) + self.pos_embed
        x = self.norm(self.blocks(x))
        return self.head(x[:, 0])


def write_sidecar(path, mean, std):
    m = ", ".join(["%.4f" % mean] * 3)
    s = ", ".join(["%.4f" % std] * 3)
    with open(path, "w") as f:
        f.write("# camlab model sidecar: metadata the TorchScript file does not carry\n")
        f.write("input_size: 28\n")
        f.write("resize: 0\n")
        f.write("mean: [%s]\n" % m)
        f.write("std: [%s]\n" % s)
        f.write("classes: [%s]\n" % ", ".join(CLASSES))
        f.write("layers:                 # the last block's first LayerNorm: 50 tokens = class token + 7x7 grid\n")
        f.write("  last_norm1: blocks.3.norm1\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--outdir", default=os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "experiments", "models"))
    args = ap.parse_args()
    outdir = os.path.normpath(args.outdir)
    os.makedirs(outdir, exist_ok=True)

    torch.manual_seed(SEED)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)

    x_tr, y_tr = load_split("train")
    x_te, y_te = load_split("t10k")
    xf = x_tr.double() / 255.0
    mean, std = round(float(xf.mean()), 4), round(float(xf.std()), 4)
    del xf

    model = ViT()
    nparams = sum(p.numel() for p in model.parameters())
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.05)
    steps = (len(y_tr) + args.batch - 1) // args.batch
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, epochs=args.epochs,
                                                steps_per_epoch=steps, pct_start=0.2)
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
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(xb), y_tr[idx])
            loss.backward()
            opt.step()
            sched.step()
            tot += float(loss) * len(idx)
            n += len(idx)
        model.eval()
        print("epoch %d loss %.4f test acc %.2f%% (%.0f s)"
              % (epoch + 1, tot / n, 100 * accuracy(model, x_te, y_te, mean, std), time.time() - t0),
              flush=True)
    train_s = time.time() - t0
    model.eval()
    acc = accuracy(model, x_te, y_te, mean, std)

    pt = os.path.join(outdir, "fashion_mnist_vit.pt")
    torch.jit.script(model).save(pt)
    reloaded = torch.jit.load(pt)
    acc_reload = accuracy(reloaded, x_te, y_te, mean, std)
    write_sidecar(os.path.join(outdir, "fashion_mnist_vit.yaml"), mean, std)
    with open(os.path.join(outdir, "fashion_mnist_vit.md"), "w") as f:
        f.write("""# fashion_mnist_vit.pt: a small trained vision transformer

Made by `/usr/bin/python3 tools/train_fashion_mnist_vit.py` (its docstring has the architecture), torch
{tv}. A ViT on Fashion-MNIST: 4x4 patches (7x7 grid), {dim} channels, {depth} pre-norm blocks of {heads}-head
self-attention and a {mlp}-wide MLP, a class token read by a linear head; {nparams} parameters.

* Input: 1x3x28x28, the grey image replicated to RGB, x/255, mean {mean:.4f} and std {std:.4f} per channel
  (the training set's), as `fashion_mnist_cnn.pt`.
* Target layer: `last_norm1` = `blocks.3.norm1`, (B, 50, 64): the class token first, then the 7x7 grid
  (camlab: `layout: bnc`, the prefix token detected and dropped).
* Training: {epochs} epochs, batch {batch}, AdamW (weight decay 0.05), one-cycle LR (max {lr}), random
  horizontal flips; seed {seed}, deterministic algorithms, {threads} thread(s); {train_s:.0f} s wall on this
  machine's 2 cores.
* Measured: test accuracy **{acc:.2f}%** on the 10,000 test images (the reloaded TorchScript file:
  {acc_reload:.2f}%); file size {size} bytes.
""".format(tv=torch.__version__, dim=DIM, depth=DEPTH, heads=HEADS, mlp=MLP, nparams=nparams,
           mean=mean, std=std, epochs=args.epochs, batch=args.batch, lr=args.lr, seed=SEED,
           threads=args.threads, train_s=train_s, acc=100 * acc, acc_reload=100 * acc_reload, size=os.path.getsize(pt)))
    print("saved %s: test accuracy %.2f%% (reloaded %.2f%%), %d parameters, %.0f s"
          % (pt, 100 * acc, 100 * acc_reload, nparams, train_s))


if __name__ == "__main__":
    main()
