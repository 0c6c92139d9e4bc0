#!/usr/bin/python3
"""road_reference.py - upstream's ROAD algorithm in Debian's python (torch, numpy, scipy), to time
bench/road_bench against on the same CPU and to print the same per-image values.

Written from the definition in pytorch-grad-cam (jacobgil/pytorch-grad-cam):
  pytorch_grad_cam/metrics/road.py, NoisyLinearImputer.setup_sparse_system and __call__ (the system is
  built row by row in a scipy lil_matrix and solved by scipy.sparse.linalg.spsolve on its CSC form, one
  solve per mask for all channels), ROADMostRelevantFirstAverage / ROADLeastRelevantFirstAverage /
  ROADCombined; and pytorch_grad_cam/metrics/perturbation_confidence.py, PerturbationConfidenceMetric
  (one forward of the batch, then the batch of imputed images per percentile), RemoveMostRelevantFirst and
  RemoveLeastRelevantFirst (np.percentile threshold, strict <, on 1 - map for LeRF),
  AveragerAcrossThresholds (float32 mean over percentiles).

usage: road_reference.py --model F.pt --images U8.npy --maps F32.npy --targets C,C,... [--mean ...]
       [--std ...] [--percentiles 10,20,...] [--target softmax|logit] [--noise 0] [--threads 1]
Prints per image: MoRF per percentile, LeRF per percentile, MoRF avg, LeRF avg, combined; s/image to stderr.
"""
import argparse
import sys
import time

import numpy as np
import torch
from scipy.sparse import csc_matrix, lil_matrix
from scipy.sparse.linalg import spsolve

# (dy, dx) and weight of each of the 8 neighbours: 1/6 for edges, 1/12 for diagonals.
NEIGHBOURS = [((dy, dx), 1 / 6 if dy == 0 or dx == 0 else 1 / 12)
              for dy in (-1, 0, 1) for dx in (-1, 0, 1) if dy or dx]


def impute(img, keep, noise):
    """img (C, H, W) float32 tensor, keep (H, W) 0/1: each removed pixel the weighted mean of its
    in-image neighbours, jointly, as upstream's sparse system (A = W_UU - diag(sum of in-image
    weights), b = -W_UK x_K), solved by spsolve."""
    C, H, W = img.shape
    keepf = keep.reshape(-1)
    x = img.reshape(C, -1).numpy()
    unknown = np.flatnonzero(keepf == 0)
    var = np.zeros(H * W, dtype=int)
    var[unknown] = np.arange(len(unknown))
    n = len(unknown)
    A = lil_matrix((n, n))
    b = np.zeros((n, C))
    total = np.ones(n)
    ys, xs = unknown // W, unknown % W
    for (dy, dx), w in NEIGHBOURS:
        yy, xx = ys + dy, xs + dx
        inside = (yy >= 0) & (xx >= 0) & (yy < H) & (xx < W)
        total[~inside] -= w
        rows = np.flatnonzero(inside)
        q = yy[inside] * W + xx[inside]
        known = keepf[q] > 0.5
        b[rows[known], :] -= w * x[:, q[known]].T
        A[rows[~known], var[q[~known]]] = w
    A[np.arange(n), np.arange(n)] = -total
    v = torch.tensor(spsolve(csc_matrix(A), b), dtype=torch.float)
    out = img.reshape(C, -1).clone()
    out[:, unknown] = v.reshape(n, -1).t() + noise * torch.randn_like(v.reshape(n, -1).t())
    return out.reshape(C, H, W)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--images", required=True)
    ap.add_argument("--maps", required=True)
    ap.add_argument("--targets", required=True)
    ap.add_argument("--mean", default="0.5,0.5,0.5")
    ap.add_argument("--std", default="0.5,0.5,0.5")
    ap.add_argument("--percentiles", default="10,20,30,40,50,60,70,80,90")
    ap.add_argument("--target", default="softmax", choices=["softmax", "logit"])
    ap.add_argument("--noise", type=float, default=0.0)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    model = torch.jit.load(a.model).eval()
    u8 = np.load(a.images)
    maps = np.load(a.maps)
    mean = torch.tensor([float(v) for v in a.mean.split(",")]).view(1, 3, 1, 1)
    std = torch.tensor([float(v) for v in a.std.split(",")]).view(1, 3, 1, 1)
    x = (torch.from_numpy(u8).permute(0, 3, 1, 2).float() / 255 - mean) / std
    cls = [int(v) for v in a.targets.split(",")]
    percentiles = [float(v) for v in a.percentiles.split(",")]

    def score(out):
        if a.target == "softmax":
            out = torch.softmax(out, dim=-1)
        return np.float32([o[c].item() for o, c in zip(out, cls)])

    t0 = time.time()
    c0 = time.process_time()
    with torch.no_grad():
        base = score(model(x))
    res = {}
    for lerf in (0, 1):
        rows = []
        for p in percentiles:
            imputed = []
            for i in range(len(cls)):
                m = torch.from_numpy(maps[i])
                m = 1 - m if lerf else m
                thr = np.percentile(m.numpy(), p)
                keep = np.float32(m < thr)
                imputed.append(impute(x[i], keep, a.noise))
            with torch.no_grad():
                rows.append(score(model(torch.stack(imputed))) - base)
        res[lerf] = np.float32(rows)
    secs, cpu = time.time() - t0, time.process_time() - c0
    morf_avg, lerf_avg = res[0].mean(axis=0), res[1].mean(axis=0)
    for i in range(len(cls)):
        vals = list(res[0][:, i]) + list(res[1][:, i]) + [morf_avg[i], lerf_avg[i], (lerf_avg[i] - morf_avg[i]) / 2]
        print(" ".join("%.9g" % v for v in vals))
    print("road_reference: %d images %dx%d, %d percentiles x 2, %d thread(s): %.4f s/image wall, "
          "%.4f s/image CPU" % (len(cls), u8.shape[1], u8.shape[2], len(percentiles), a.threads,
                                secs / len(cls), cpu / len(cls)), file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
