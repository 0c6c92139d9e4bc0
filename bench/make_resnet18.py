"""make_resnet18.py - the inputs of the benchmarks: a random-initialised torchvision ResNet-18 (run_cpu.sh,
run_reference.sh: PERF.md's CPU setting) or ResNet-50 (run_gpu.sh: PERF.md's GPU setting) traced to
TorchScript with torch.manual_seed(0), and N synthetic 500x375 photo-like JPEGs in a flat folder (speed does
not depend on the weights or the pixels). Existing files are kept; image i depends only on i, so asking for
more images later adds the same ones a single larger run would have made.

    /usr/bin/python3 bench/make_resnet18.py bench/models bench/data/synth [N]
    python3 bench/make_resnet18.py --arch resnet50 bench/models bench/data/synth50 1536

writes MODEL_DIR/resnet18_random.pt (or resnet50_random.pt) and DATA_DIR/synth_000.jpg ... (the number has
at least three digits, more when N > 1000, so that the names sort in order; a folder made with fewer digits
is renamed to the new width). The images are made by
--jobs processes (default: one per core); the model only when it is missing.
"""
import argparse
import multiprocessing
import os

import numpy as np
from PIL import Image


def make_image(job):
    """One image from its index alone: smooth colour fields plus a little grain (closer to a photo's JPEG
    cost than pure noise)."""
    out, i = job
    rng = np.random.default_rng([0, i])
    low = Image.fromarray(rng.integers(0, 256, (6, 8, 3), dtype=np.uint8))
    img = np.asarray(low.resize((500, 375), Image.BICUBIC), dtype=np.int16)
    img = img + rng.integers(-12, 13, img.shape, dtype=np.int16)
    Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(out, quality=90)
    return out


def name_width(data_dir, n):
    """Digits of the image numbers: at least three, enough for n, and never fewer than the folder already
    uses; images numbered with fewer digits are renamed, so that no image is there under two names."""
    found = []
    for f in os.listdir(data_dir):
        stem = f[len("synth_"):-len(".jpg")]
        if f.startswith("synth_") and f.endswith(".jpg") and stem.isdigit():
            found.append((f, stem))
    width = max([3, len(str(n - 1))] + [len(s) for _, s in found])
    for f, stem in found:
        if len(stem) < width:
            new = os.path.join(data_dir, "synth_%0*d.jpg" % (width, int(stem)))
            if os.path.exists(new):
                os.remove(os.path.join(data_dir, f))
            else:
                os.rename(os.path.join(data_dir, f), new)
    return width


def make_model(model_dir, arch):
    path = os.path.join(model_dir, "%s_random.pt" % arch)
    if os.path.exists(path):
        return
    import torch  # only here: the images need neither torch nor its start-up time
    import torchvision

    torch.manual_seed(0)
    m = getattr(torchvision.models, arch)().eval()
    with torch.no_grad():
        t = torch.jit.trace(m, torch.randn(1, 3, 224, 224))
    t.save(path)
    print("wrote", path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model_dir")
    ap.add_argument("data_dir")
    ap.add_argument("n", nargs="?", type=int, default=32, help="images (default 32)")
    ap.add_argument("--arch", choices=("resnet18", "resnet50"), default="resnet18")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="processes making the images")
    args = ap.parse_args()
    os.makedirs(args.model_dir, exist_ok=True)
    os.makedirs(args.data_dir, exist_ok=True)

    width = name_width(args.data_dir, args.n)
    jobs = [(os.path.join(args.data_dir, "synth_%0*d.jpg" % (width, i)), i) for i in range(args.n)]
    jobs = [j for j in jobs if not os.path.exists(j[0])]
    if len(jobs) > 1 and args.jobs > 1:
        # fork where there is one (nothing has started threads yet); else the platform's default
        methods = multiprocessing.get_all_start_methods()
        ctx = multiprocessing.get_context("fork" if "fork" in methods else None)
        with ctx.Pool(min(args.jobs, len(jobs))) as pool:
            for _ in pool.imap_unordered(make_image, jobs, chunksize=16):
                pass
    else:
        for j in jobs:
            make_image(j)
    print("%d image(s) in %s (%d new)" % (args.n, args.data_dir, len(jobs)))
    make_model(args.model_dir, args.arch)


if __name__ == "__main__":
    main()
