"""make_resnet18.py - the inputs of run_cpu.sh's PERF.md setting: a random-initialised torchvision
ResNet-18 traced to TorchScript, and synthetic 500x375 photo-like JPEGs (speed does not depend on the
weights or the pixels). Run with Debian's python (torch 1.13, the torch the shim runs against):

    /usr/bin/python3 bench/make_resnet18.py bench/models bench/data/synth [N]
"""
import os
import sys

import numpy as np
import torch
import torchvision
from PIL import Image


def main():
    model_dir, data_dir = sys.argv[1], sys.argv[2]
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 32
    os.makedirs(model_dir, exist_ok=True)
    os.makedirs(data_dir, exist_ok=True)

    path = os.path.join(model_dir, "resnet18_random.pt")
    if not os.path.exists(path):
        torch.manual_seed(0)
        m = torchvision.models.resnet18().eval()
        with torch.no_grad():
            t = torch.jit.trace(m, torch.randn(1, 3, 224, 224))
        t.save(path)
        print("wrote", path)

    rng = np.random.default_rng(0)
    for i in range(n):
        out = os.path.join(data_dir, "synth_%03d.jpg" % i)
        if os.path.exists(out):
            continue
        # Smooth colour fields plus a little grain: closer to a photo's JPEG cost than pure noise.
        low = Image.fromarray(rng.integers(0, 256, (6, 8, 3), dtype=np.uint8))
        img = np.asarray(low.resize((500, 375), Image.BICUBIC), dtype=np.int16)
        img = img + rng.integers(-12, 13, img.shape, dtype=np.int16)
        Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(out, quality=90)
    print("images in", data_dir)


if __name__ == "__main__":
    main()
