#!/bin/sh
# t73-road.t - ROAD and ARCC (cam/road.c, through bench/road_bench) against pytorch-grad-cam's stored
# values: the stored gradcam maps of resnet20 (20 images) and mobilenet_v2 (16 images), both layers, the
# same targets, noise 0; each percentile, the averages, the combined score and ARCC's road part within
# 1e-3 per image (README "Comparing in a test"), complexity within 1e-6, ARCC from the stored coherency.
# The tie cases (no pixel kept: the image becomes 0) are among them and counted.
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
TOOL=$BUILD/bench/road_bench
REF=$SHARED/reference/pytorch-grad-cam
[ -x "$TOOL" ] || skip_all "$TOOL not built"
[ -f "$REF/refs.json" ] || skip_all "no pytorch-grad-cam reference at $REF"
need_python numpy
PYTHONPATH=tests $PY - "$TOOL" "$SHARED" "$TMP" <<'PYEOF'
import json, os, subprocess, sys
import numpy as np
from tap import ok, diag, done

tool, shared, tmp = sys.argv[1:4]
ref = os.path.join(shared, "reference/pytorch-grad-cam")
refs = json.load(open(os.path.join(ref, "refs.json")))
env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")

def run(model, layer, percentiles, target, extra=[]):
    R = refs["models"][model]
    inp = R["input"]
    args = [tool, "--model", os.path.join(shared, R["shared_model"]),
            "--images", os.path.join(ref, model, "input_rgb_uint8.npy"),
            "--maps", os.path.join(ref, model, layer, "gradcam.npy"),
            "--targets", ",".join(map(str, R["pred"])),
            "--mean", ",".join(map(str, inp["mean"])), "--std", ",".join(map(str, inp["std"])),
            "--percentiles", ",".join(map(str, percentiles)), "--target", target, "--batch", "36"] + extra
    r = subprocess.run(args, capture_output=True, text=True, env=env)
    if r.returncode:
        diag(r.stderr)
        return None
    diag(r.stderr.strip())
    return np.loadtxt(r.stdout.splitlines(), ndmin=2)

def ties(maps, percentiles):
    """(image, p) pairs where MoRF keeps no pixel (as upstream: float32 map < float64 percentile)."""
    return sum(int(not (m < np.float32(np.percentile(m, p))).any()) for m in maps for p in percentiles)

for model, layer in (("resnet20", "pregap"), ("resnet20", "lastconv"),
                     ("mobilenet_v2", "pregap"), ("mobilenet_v2", "lastconv")):
    name = "%s %s" % (model, layer)
    mpath = os.path.join(shared, refs["models"][model]["shared_model"])
    if not os.path.exists(mpath) or not os.path.exists(os.path.join(ref, model, layer, "gradcam.npy")):
        ok(True, "# SKIP %s: %s or its maps absent" % (name, mpath))
        continue
    M = refs["models"][model]["metrics"][layer + "/gradcam"]
    P = M["percentiles"]
    n = len(P)
    maps = np.load(os.path.join(ref, model, layer, "gradcam.npy"))
    a = run(model, layer, P, "softmax")
    if not ok(a is not None and a.shape == (len(maps), 2 * n + 4), name + ": road_bench ran"):
        continue
    diag("%s: %d (image, p) pairs keep no pixel" % (name, ties(maps, P)))
    for key, got in (("road_morf_per_percentile", a[:, :n]), ("road_lerf_per_percentile", a[:, n:2 * n]),
                     ("road_morf_avg", a[:, 2 * n]), ("road_lerf_avg", a[:, 2 * n + 1]),
                     ("road_combined", a[:, 2 * n + 2])):
        d = np.abs(got - np.array(M[key])).max()
        ok(d <= 1e-3, "%s: %s within 1e-3 (max |diff| %.2g)" % (name, key, d))
    parts = M["arcc_parts"]
    d = np.abs(a[:, -1] - np.array(parts["complexity"])).max()
    ok(d <= 1e-6, "%s: complexity within 1e-6 (%.2g)" % (name, d))
    b = run(model, layer, [20, 40, 60, 80], "logit", ["--coherency", ",".join("%.17g" % c for c in parts["coherency"])])
    if not ok(b is not None, name + ": ARCC's road ran"):
        continue
    road = b[:, -3]
    d = np.abs(road - np.array(parts["road_combined_logit_20_40_60_80"])).max()
    ok(d <= 1e-3 * max(1, np.abs(parts["road_combined_logit_20_40_60_80"]).max()), "%s: ARCC's road (logits) within 1e-3 relative (max |diff| %.2g)" % (name, d))
    d = np.abs(b[:, -1] - np.array(M["arcc"])).max()
    ok(d <= 1e-3, "%s: arcc within 1e-3 (%.2g)" % (name, d))
done()
PYEOF
