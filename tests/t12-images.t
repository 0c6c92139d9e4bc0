#!/bin/sh
# t12-images.t - image decoding and torchvision-style preprocessing against PIL and torchvision.
# Each real and synthetic image goes through image_tool and through the Debian python's
# Image.open(p).convert('RGB') / Resize(256) / CenterCrop(224); decode must be bit-identical.
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
TOOL=$BUILD/tests/image_tool
DATA=$SHARED/data
need_built "$TOOL"
[ -d "$DATA/imagenet_sample" ] || skip_all "no shared data at $DATA"
need_python torchvision PIL numpy
PYTHONPATH=tests $PY - "$TOOL" "$DATA" "$TMP" <<'PYEOF'
import os, subprocess, sys
import numpy as np
from PIL import Image
import torchvision.transforms as T
from tap import ok, diag, done

tool, data, tmp = sys.argv[1:4]
def run_img(args):
    out = os.path.join(tmp, "out.bin")
    r = subprocess.run([tool] + args + [out], capture_output=True, text=True)
    if r.returncode != 0:
        return None, r.stderr
    w, h = map(int, r.stdout.split())
    return np.fromfile(out, np.uint8).reshape(h, w, 3), r.stderr

def compare(path, label, resize=256, crop=224, decode=True):
    im = Image.open(path).convert("RGB")
    if decode:
        got, err = run_img(["decode", path])
        ref = np.asarray(im)
        ok(got is not None and got.shape == ref.shape and (got == ref).all(),
           "%s: decode is identical to PIL" % label)
    got, err = run_img(["preprocess", path, str(resize), str(crop)])
    t = im
    if resize > 0:
        t = T.Resize(resize)(t)
    if crop > 0:
        t = T.CenterCrop(crop)(t)
    ref = np.asarray(t)
    if got is None or got.shape != ref.shape:
        ok(False, "%s: Resize(%d)+CenterCrop(%d) shape %s vs %s (%s)" %
           (label, resize, crop, None if got is None else got.shape, ref.shape, err.strip()))
        return
    d = np.abs(got.astype(int) - ref.astype(int))
    diag("%s %dx%d: mean abs diff %.4f, max %d" % (label, im.size[0], im.size[1], d.mean(), d.max()))
    ok(d.max() == 0,
       "%s: Resize(%d)+CenterCrop(%d) is identical to torchvision" % (label, resize, crop))

# Real images: ImageNet JPEGs, a PNG, a BMP, a .jfif, a progressive JPEG, a grey PNG.
real = [
    ("imagenet_sample/n01440764_tench.JPEG", "tench.JPEG"),
    ("imagenet_sample/n01494475_hammerhead.JPEG", "hammerhead.JPEG"),
    ("photos_gradcam/both.png", "both.png"),
    ("photos_coral/bird.bmp", "bird.bmp"),
    ("photos_coral/grace_hopper.bmp", "grace_hopper.bmp"),
    ("photos_gradcam/dog_cat.jfif", "dog_cat.jfif"),
    ("photos_gradcam/horses.jpg", "horses.jpg (progressive)"),
    ("foolbox_samples/mnist_00_7.png", "mnist_00_7.png (grey, upscaled)"),
]
for rel, label in real:
    if not os.path.exists(os.path.join(data, rel)):
        print("# %s is not in this copy of the shared data: not compared" % rel)
        continue
    compare(os.path.join(data, rel), label)

# Synthetic images for the modes the shared data lacks, made with PIL from a real photo.
base = Image.open(os.path.join(data, "photos_gradcam/both.png")).convert("RGB")
rng = np.random.default_rng(7)
noise = Image.fromarray(rng.integers(0, 256, (61, 83, 3), dtype=np.uint8))
synth = []
def save(name, img, **kw):
    p = os.path.join(tmp, name)
    img.save(p, **kw)
    synth.append((p, name))
rgba = base.convert("RGBA"); rgba.putalpha(Image.linear_gradient("L").resize(base.size))
save("rgba.png", rgba)
save("la.png", base.convert("LA"))
pal = base.convert("P", palette=Image.ADAPTIVE, colors=37); pal.info["transparency"] = 3
save("palette_trns.png", pal, transparency=3)
save("bilevel.png", base.convert("1"))
save("grey_trns.png", base.convert("L"), transparency=17)
save("rgb_trns.png", base, transparency=(1, 2, 3))
save("grey.jpg", base.convert("L"), quality=90)
save("cmyk.jpg", base.convert("CMYK"), quality=90)
save("progressive.jpg", base, quality=85, progressive=True)
save("subsampled.jpg", noise, quality=75, subsampling=2)
save("rgb32.bmp", base.convert("RGBA"))
save("pal8.bmp", base.convert("P", palette=Image.ADAPTIVE, colors=200))
save("bilevel.bmp", base.convert("1"))
save("grey.pgm", base.convert("L"))
save("rgb.ppm", noise)
arr16 = (np.asarray(base).astype(np.uint16) * 257 + 3).astype(">u2")
with open(os.path.join(tmp, "rgb16.raw"), "wb") as f:
    f.write(arr16.tobytes())
# PIL cannot write 16-bit RGB PNG; image_tool round-trips through libpng is not independent,
# so write it with zlib by hand.
import zlib, struct
def png16(path, a):
    h, w, _ = a.shape
    raw = b"".join(b"\x00" + a[y].tobytes() for y in range(h))
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, 2, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
png16(os.path.join(tmp, "rgb16.png"), arr16)
synth.append((os.path.join(tmp, "rgb16.png"), "rgb16.png"))
for p, label in synth:
    compare(p, label)

# Size rules: odd margins (Python's round-half-even crop offsets), crop without resize, padding
# when the crop is larger than the image, resize only, and a tall image.
odd = os.path.join(tmp, "odd.png")
Image.fromarray(rng.integers(0, 256, (259, 301, 3), dtype=np.uint8)).save(odd)
compare(odd, "259x301 crop only", resize=0, crop=224, decode=False)
compare(odd, "259x301 crop 256 (round half even)", resize=0, crop=256, decode=False)
compare(odd, "259x301 resize only", resize=100, crop=0, decode=False)
compare(noise_p := os.path.join(tmp, "rgb.ppm"), "61x83 padded crop", resize=0, crop=100, decode=False)
compare(noise_p, "61x83 resize 299 crop 299", resize=299, crop=299, decode=False)
tall = os.path.join(tmp, "tall.png")
Image.fromarray(rng.integers(0, 256, (700, 97, 3), dtype=np.uint8)).save(tall)
compare(tall, "97x700 tall", resize=256, crop=224, decode=False)

# Normalisation: ToTensor + Normalize(ImageNet) in float32.
import torch
p = os.path.join(data, "imagenet_sample/n01440764_tench.JPEG")
im = T.CenterCrop(224)(T.Resize(256)(Image.open(p).convert("RGB")))
im.save(os.path.join(tmp, "crop.png"))
r = subprocess.run([tool, "normalize", os.path.join(tmp, "crop.png"), os.path.join(tmp, "n.f32")],
                   capture_output=True, text=True)
got = np.fromfile(os.path.join(tmp, "n.f32"), np.float32).reshape(3, 224, 224)
ref = T.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])(T.ToTensor()(im)).numpy()
d = np.abs(got - ref).max()
diag("normalize max abs diff %g" % d)
ok(d < 1e-6, "normalize matches ToTensor+Normalize")

# PNG writing: what image_write_png writes, PIL reads back unchanged.
p = os.path.join(data, "photos_coral/cat.bmp")
if not os.path.exists(p):  # a partial copy of the shared data (the GPU machine's)
    p = os.path.join(data, "imagenet_sample/n01440764_tench.JPEG")
r = subprocess.run([tool, "writepng", p, os.path.join(tmp, "w.png")], capture_output=True)
ok(r.returncode == 0 and (np.asarray(Image.open(os.path.join(tmp, "w.png"))) ==
                          np.asarray(Image.open(p).convert("RGB"))).all(),
   "image_write_png round-trips through PIL")

done()
PYEOF
