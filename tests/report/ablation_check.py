# ablation_check.py - the independent side of tests/t93-ablations.t: from an output folder's images.csv
# alone, each declared ablation's differences to its baseline (means x100, ADCC of the means) and their
# paired bootstrap intervals (the PRNG of reports/stats.h, as stats_fixture.py writes it), compared with
# the CSV tables camlab report wrote, and the bold marks of the Markdown tables (the interval excludes 0).
#
#   ablation_check.py DIR B ALPHA SEED DIM=BASELINE...    prints each difference; exits 1 if any
import csv
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from stats_fixture import Rng, q  # noqa: E402

COLS = ["ad", "coh", "com", "adcc", "ic", "add_"]
HEADS = ["AD", "Coh", "Com", "ADCC", "IC", "ADD"]
FIELDS = ["model", "layer", "utility", "target"]
SHOWN = {"gradcam": "GradCAM", "hirescam": "HiResCAM", "rest": "ReST", "logit": "pre-softmax",
         "softmax": "post-softmax"}


def adcc(ad, coh, com):
    """As C computes it: a mean Coh of 0 (or Com, AD of 1) gives 3 / inf = 0, not an exception."""
    with np.errstate(divide="ignore"):
        return float(3.0 / (1.0 / np.float64(coh) + 1.0 / (1.0 - np.float64(com)) + 1.0 / (1.0 - np.float64(ad))))


def load(d):
    runs = {}
    with open(os.path.join(d, "images.csv"), newline="") as f:
        for r in csv.DictReader(f):
            k = (r["model"], r["layer"], r["method"], r["utility"], r["target"])
            runs.setdefault(k, {})[int(r["idx"])] = {c: float(r[c]) for c in COLS if c != "adcc" and r[c] != ""}
    return runs


def means(imgs):
    m = {c: np.mean([v[c] for v in imgs.values()]) for c in COLS if c != "adcc"}
    m["adcc"] = adcc(m["ad"], m["coh"], m["com"])
    return m


def paired(a, b, c, B, alpha, seed):
    common = sorted(set(a) & set(b))
    r, n, out = Rng(seed), len(common), []
    for _ in range(B):
        s = [0.0] * 6
        for _ in range(n):
            i = common[r.below(n)]
            if c == "adcc":
                for j, x in enumerate(("ad", "coh", "com")):
                    s[j] += a[i][x]
                    s[3 + j] += b[i][x]
            else:
                s[0] += a[i][c] - b[i][c]
        if c == "adcc":
            out.append(adcc(s[0] / n, s[1] / n, s[2] / n) - adcc(s[3] / n, s[4] / n, s[5] / n))
        else:
            out.append(s[0] / n)
    return np.percentile(np.array(out), [100 * alpha / 2, 100 * (1 - alpha / 2)])


def check(d, B, alpha, seed, dim, base, runs, bad):
    fixed = [f for f in FIELDS if f != dim]
    key = {"model": 0, "layer": 1, "utility": 3, "target": 4}
    settings = {}
    for k in runs:
        settings.setdefault(tuple(k[key[f]] for f in fixed), []).append(k)
    checked = 0
    for s, ks in settings.items():
        name = "ablation-%s.%s.vs-%s" % (dim, ".".join(s), base)
        got = {}
        with open(os.path.join(d, "report", "tables", name + ".csv"), newline="") as f:
            for row in csv.DictReader(f):
                got[(row["Method"], row[dim.capitalize()])] = row
        md = open(os.path.join(d, "report", "tables", name + ".md")).read()
        for k in ks:
            if k[key[dim]] == base:
                continue
            b = list(k)
            b[key[dim]] = base
            a_img, b_img = runs[k], runs[tuple(b)]
            ma, mb = means(a_img), means(b_img)
            row = got.get((SHOWN.get(k[2], k[2]), SHOWN.get(k[key[dim]], k[key[dim]])))
            if row is None:
                bad.append("%s: no row for %s" % (name, k))
                continue
            for c, h in zip(COLS, HEADS):
                lo, hi = paired(a_img, b_img, c, B, alpha, seed)
                want = (q(ma[c] - mb[c]), q(lo), q(hi))
                have = (row[h], row[h + "_lo"], row[h + "_hi"])
                print("%s %s %s %s: %s want %s" % (name, k[2], k[key[dim]], h, have, want))
                if have != want:
                    bad.append("%s %s %s: %s, want %s" % (name, k, h, have, want))
                sign = lambda x: ("+" if x.strip("-0.") and not x.startswith("-") else "") + x  # noqa: E731
                cell = "%s [%s, %s]" % (sign(want[0]), sign(want[1]), sign(want[2]))
                if lo > 0 or hi < 0:
                    cell = "**" + cell + "**"
                if "| " + cell + " |" not in md:
                    bad.append("%s %s %s: no cell '%s' in the Markdown" % (name, k, h, cell))
            checked += 1
    return checked


def main():
    d, B, alpha, seed = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
    runs, bad, n = load(d), [], 0
    for a in sys.argv[5:]:
        dim, base = a.split("=", 1)
        n += check(d, B, alpha, seed, dim, base, runs, bad)
    for b in bad:
        print("BAD " + b)
    print("%d rows checked" % n)
    sys.exit(1 if bad or not n else 0)


main()
