#!/usr/bin/python3
"""Export the paper's twelve ImageNet classifiers to TorchScript files camlab reads.

Usage:
    /usr/bin/python3 tools/export_models.py OUTDIR [--random] [NAME ...]

Writes OUTDIR/<name>.pt for resnet18 resnet50 resnet101 resnet152 resnext50 vgg16 efficientnetb0
mobilenetv2 (torchvision) and swint_t swint_s swint_b swint_l (timm >= 0.9, if installed). Pretrained
weights are the libraries' defaults (weights="DEFAULT", pretrained=True): torchvision takes them from the
torch hub cache (~/.cache/torch/hub/checkpoints, $TORCH_HOME) and timm from the Hugging Face cache, and
both download them when they are missing and a network is reachable. camlab itself never downloads
anything. --random exports randomly initialised networks instead (for trying the experiment files, and
for the tests). No sidecar is written: the experiment files give size, mean and std themselves.

Each model is traced with torch.jit.trace on a 1x3x224x224 input in eval mode; module paths stay those of
named_modules(), so the layer names in experiments/paper/*.yaml (layer4.2, features.28, norm, ...) apply.
"""
import os
import sys

import torch

TORCHVISION = {
    "resnet18": "resnet18", "resnet50": "resnet50", "resnet101": "resnet101", "resnet152": "resnet152",
    "resnext50": "resnext50_32x4d", "vgg16": "vgg16", "efficientnetb0": "efficientnet_b0",
    "mobilenetv2": "mobilenet_v2",
}
TIMM = {
    "swint_t": "swin_tiny_patch4_window7_224", "swint_s": "swin_small_patch4_window7_224",
    "swint_b": "swin_base_patch4_window7_224", "swint_l": "swin_large_patch4_window7_224",
}


def build(name, random):
    if name in TORCHVISION:
        import torchvision
        ctor = getattr(torchvision.models, TORCHVISION[name])
        if random:
            return ctor()
        try:
            return ctor(weights="DEFAULT")
        except TypeError:  # torchvision < 0.13
            return ctor(pretrained=True)
    try:
        import timm
    except ImportError:
        raise SystemExit("%s needs timm, which is not installed (Debian does not package it)" % name)
    return timm.create_model(TIMM[name], pretrained=not random)


def main(argv):
    args = [a for a in argv if not a.startswith("--")]
    random = "--random" in argv
    if not args:
        raise SystemExit(__doc__)
    out, names = args[0], args[1:] or list(TORCHVISION) + list(TIMM)
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    for name in names:
        if name not in TORCHVISION and name not in TIMM:
            raise SystemExit("unknown model '%s'; known: %s" % (name, " ".join(list(TORCHVISION) + list(TIMM))))
        try:
            model = build(name, random).eval()
        except SystemExit:
            raise
        except Exception as e:  # no cached weights and no network
            print("skipping %s: %s" % (name, str(e).splitlines()[0]), file=sys.stderr)
            continue
        with torch.no_grad():
            traced = torch.jit.trace(model, torch.randn(1, 3, 224, 224))
        path = os.path.join(out, name + ".pt")
        traced.save(path)
        print("wrote", path)


if __name__ == "__main__":
    main(sys.argv[1:])
