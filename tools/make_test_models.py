#!/usr/bin/python3
"""Write the small, random-initialised TorchScript models camlab's tests use.

Usage (Debian's python, which has torch 1.13 + torchvision 0.14):

    /usr/bin/python3 tools/make_test_models.py OUTDIR

Runs in a few seconds; nothing it writes is committed.  Every model is built
under its own fixed seed (so output does not depend on which models are
written first), put in eval mode and saved as TorchScript.  For each model
NAME the script writes into OUTDIR:

    NAME.pt           the TorchScript module
    NAME.input.f32    a seeded random input, raw little-endian float32, NCHW
    NAME.logits.f32   the reference logits torch computes for that input,
                      raw little-endian float32, shape (1, K)
    NAME.txt          plain-text description, one item a line:
                        input 1 3 H W
                        logits 1 K
                        layer PATH D0 D1 ...   (output shape of a target module
                                                 as named_modules() names it)

Models (input sizes are H x W, all inputs 1x3xHxW):

  resnet18_traced.pt, resnet18_scripted.pt   64x64, 10 classes
      torchvision.models.resnet18(num_classes=10), random init (seed 1),
      eval mode; torch.jit.trace with a 1x3x64x64 example / torch.jit.script.
      layers: layer4.1 (1,512,2,2)  layer4.1.conv2 (1,512,2,2)
              layer3.0 (1,256,4,4)
      (layer4.1.conv2 is followed by bn2 and the block's in-place ReLU.)

  vgg_inplace.pt   32x32, 10 classes, scripted
      features = [0 conv 3->8, 1 ReLU, 2 conv 8->16, 3 ReLU(inplace=True),
      4 MaxPool2d(2)], pool = AdaptiveAvgPool2d(1), flatten, classifier =
      Linear(16,10).  Target `features.2` is immediately overwritten by the
      in-place ReLU `features.3`.
      layers: features.2 (1,16,32,32)  features.3 (1,16,32,32)
              features.4 (1,16,16,16)

  swin_like_bhwc.pt   32x32, 10 classes, scripted
      patch_embed = Conv2d(3,16,8,stride 8) -> (B,16,4,4); permute to
      channels-last (B,4,4,16); norm = LayerNorm(16) (output channels-last,
      B,H,W,C); mean over H,W; head = Linear(16,10).
      layers: patch_embed (1,16,4,4)  norm (1,4,4,16)

  quadratic_game.pt   6x6, 3 classes, scripted
      body = Conv2d(3,3,kernel 2,stride 2) -> A of shape (B,3,3,3), no
      nonlinearity after it (A may be negative); then with a = flatten(A)
      (27 values, C-order: channel, row, col):
          logits = lin(a) + 0.5 * quad(a)**2
      lin, quad = Linear(27,3) with bias.  Every logit y_c is an exact
      quadratic polynomial of A:  y_c = b_c + w_c.a + 0.5*(u_c.a + v_c)^2 .
      layers: body (1,3,3,3)  lin (1,3)  quad (1,3)

  mlp_head_gap.pt   16x16, 10 classes, scripted
      features = [conv Conv2d(3,8,3,pad 1), bn BatchNorm2d(8) (random
      running stats), relu ReLU] -> pool AdaptiveAvgPool2d(1) -> flatten ->
      fc Linear(8,10).  Piecewise-linear head on a non-negative layer
      (identities such as HiResCAM == GradCAM hold on `features`).
      layers: features (1,8,16,16)  features.conv (1,8,16,16)
              features.relu (1,8,16,16)
"""

import os
import sys
from collections import OrderedDict

import numpy as np
import torch
import torch.nn as nn

torch.set_num_threads(2)


class VggInplace(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(8, 16, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
        )
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.classifier = nn.Linear(16, 10)

    def forward(self, x):
        return self.classifier(self.flatten(self.pool(self.features(x))))


class SwinLike(nn.Module):
    def __init__(self, dim: int = 16):
        super().__init__()
        self.patch_embed = nn.Conv2d(3, dim, 8, stride=8)
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, 10)

    def forward(self, x):
        x = self.patch_embed(x)          # B,C,4,4
        x = x.permute(0, 2, 3, 1)        # B,4,4,C
        x = self.norm(x)                 # B,4,4,C (channels-last)
        x = x.mean(dim=(1, 2))           # B,C
        return self.head(x)


class QuadraticGame(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Conv2d(3, 3, 2, stride=2)   # 6x6 -> 3x3, 3 channels
        self.lin = nn.Linear(27, 3)
        self.quad = nn.Linear(27, 3)

    def forward(self, x):
        a = torch.flatten(self.body(x), 1)
        q = self.quad(a)
        return self.lin(a) + 0.5 * q * q


class MlpHeadGap(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(OrderedDict([
            ("conv", nn.Conv2d(3, 8, 3, padding=1)),
            ("bn", nn.BatchNorm2d(8)),
            ("relu", nn.ReLU()),
        ]))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(8, 10)

    def forward(self, x):
        return self.fc(self.flatten(self.pool(self.features(x))))


def randomise_bn(model):
    """Give BatchNorm layers non-trivial (seeded) eval statistics."""
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            with torch.no_grad():
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 1.5)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)


def layer_shapes(model, x, paths):
    mods = dict(model.named_modules())
    shapes = {}
    hooks = []
    for p in paths:
        def hook(_m, _i, out, p=p):
            shapes[p] = tuple(out.shape)
        hooks.append(mods[p].register_forward_hook(hook))
    with torch.no_grad():
        model(x)
    for h in hooks:
        h.remove()
    return [(p, shapes[p]) for p in paths]


def write_f32(path, t):
    np.ascontiguousarray(t.detach().numpy(), dtype="<f4").tofile(path)


def save(outdir, name, eager, ts, x, layers):
    pt = os.path.join(outdir, name + ".pt")
    ts.save(pt)
    loaded = torch.jit.load(pt)
    with torch.no_grad():
        ref = eager(x)
        got = loaded(x)
    d = float((ref - got).abs().max())
    assert d <= 1e-5 * max(1.0, float(ref.abs().max())), (name, d)
    names = {n for n, _ in loaded.named_modules()}
    for p, _ in layers:
        assert p in names, (name, p)
    write_f32(os.path.join(outdir, name + ".input.f32"), x)
    write_f32(os.path.join(outdir, name + ".logits.f32"), got)
    with open(os.path.join(outdir, name + ".txt"), "w") as f:
        f.write("input %s\n" % " ".join(map(str, x.shape)))
        f.write("logits %s\n" % " ".join(map(str, got.shape)))
        for p, s in layers:
            f.write("layer %s %s\n" % (p, " ".join(map(str, s))))
    print("%-22s input %-14s logits %-7s %s" % (
        name, "x".join(map(str, x.shape)), "x".join(map(str, got.shape)),
        "  ".join("%s%s" % (p, list(s)) for p, s in layers)))


def seeded_input(seed, h, w):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(1, 3, h, w, generator=g)


def main(argv):
    if len(argv) != 2:
        sys.stderr.write("usage: %s OUTDIR\n" % argv[0])
        return 2
    outdir = argv[1]
    os.makedirs(outdir, exist_ok=True)

    # 1. resnet18, traced and scripted
    import torchvision
    torch.manual_seed(1)
    m = torchvision.models.resnet18(num_classes=10).eval()
    randomise_bn(m)
    x = seeded_input(101, 64, 64)
    paths = ["layer4.1", "layer4.1.conv2", "layer3.0"]
    shapes = layer_shapes(m, x, paths)
    with torch.no_grad():
        traced = torch.jit.trace(m, x)
    save(outdir, "resnet18_traced", m, traced, x, shapes)
    save(outdir, "resnet18_scripted", m, torch.jit.script(m), x, shapes)

    # 2. VGG-like with an in-place ReLU right after the target conv
    torch.manual_seed(2)
    m = VggInplace().eval()
    x = seeded_input(102, 32, 32)
    shapes = layer_shapes(m, x, ["features.2", "features.3", "features.4"])
    save(outdir, "vgg_inplace", m, torch.jit.script(m), x, shapes)

    # 3. channels-last (B,H,W,C) target layer
    torch.manual_seed(3)
    m = SwinLike().eval()
    with torch.no_grad():   # non-trivial LayerNorm affine parameters
        m.norm.weight.uniform_(0.5, 1.5)
        m.norm.bias.uniform_(-0.2, 0.2)
    x = seeded_input(103, 32, 32)
    shapes = layer_shapes(m, x, ["patch_embed", "norm"])
    save(outdir, "swin_like_bhwc", m, torch.jit.script(m), x, shapes)

    # 4. head exactly quadratic in the body's activations
    torch.manual_seed(4)
    m = QuadraticGame().eval()
    x = seeded_input(104, 6, 6)
    shapes = layer_shapes(m, x, ["body", "lin", "quad"])
    save(outdir, "quadratic_game", m, torch.jit.script(m), x, shapes)

    # 5. conv-BN-ReLU, GAP, linear
    torch.manual_seed(5)
    m = MlpHeadGap().eval()
    randomise_bn(m)
    x = seeded_input(105, 16, 16)
    shapes = layer_shapes(m, x, ["features", "features.conv", "features.relu"])
    save(outdir, "mlp_head_gap", m, torch.jit.script(m), x, shapes)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
