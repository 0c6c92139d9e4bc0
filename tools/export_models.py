#!/usr/bin/python3
"""Export the paper's twelve ImageNet classifiers to TorchScript files camlab reads.

Usage:
    /usr/bin/python3 tools/export_models.py OUTDIR [--random] [NAME ...]

Writes OUTDIR/<name>.pt for resnet18 resnet50 resnet101 resnet152 resnext50 vgg16 efficientnetb0
mobilenetv2 (torchvision), vit_b_16 and swin_t (torchvision >= 0.13; only when named: the tests' token
and channels-last networks) and swint_t swint_s swint_b swint_l (timm >= 0.9, if installed). Pretrained
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
# Transformers: layers encoder.layers.encoder_layer_11.ln_1 (tokens, a class token first: layout bnc),
# features.7.1.norm1 and norm (channels last: bhwc). Only when named.
TORCHVISION_EXTRA = {"vit_b_16": "vit_b_16", "swin_t": "swin_t"}
TIMM = {
    "swint_t": "swin_tiny_patch4_window7_224", "swint_s": "swin_small_patch4_window7_224",
    "swint_b": "swin_base_patch4_window7_224", "swint_l": "swin_large_patch4_window7_224",
}


def build(name, random):
    if name in TORCHVISION or name in TORCHVISION_EXTRA:
        import torchvision
        ctor = getattr(torchvision.models, TORCHVISION.get(name) or TORCHVISION_EXTRA[name], None)
        if ctor is None:
            raise SystemExit("%s needs a newer torchvision than %s" % (name, torchvision.__version__))
        if random:
            model = ctor()
            # ViT's head starts at zero (a trained start), which makes every logit and gradient of a
            # random export zero: give such heads random weights too.
            for m in model.modules():
                if isinstance(m, torch.nn.Linear) and not m.weight.any():
                    torch.nn.init.normal_(m.weight, std=0.02)
            return model
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
        known = list(TORCHVISION) + list(TORCHVISION_EXTRA) + list(TIMM)
        if name not in known:
            raise SystemExit("unknown model '%s'; known: %s" % (name, " ".join(known)))
        try:
            model = build(name, random).eval()
        except SystemExit:
            raise
        except Exception as e:  # no cached weights and no network
            print("skipping %s: %s" % (name, str(e).splitlines()[0]), file=sys.stderr)
            continue
        # With gradients off, nn.MultiheadAttention takes its fast path, a fused op
        # (_native_multi_head_attention) that has no derivative: the transformers are traced with them on,
        # and not checked (the checker's second trace runs without gradients, so takes the fast path).
        slow = name in TORCHVISION_EXTRA
        with torch.set_grad_enabled(slow):
            traced = torch.jit.trace(model, torch.randn(1, 3, 224, 224), check_trace=not slow)
        path = os.path.join(out, name + ".pt")
        traced.save(path)
        print("wrote", path)


if __name__ == "__main__":
    main(sys.argv[1:])
