# extra_stats.py - the independent side of tests/t99-extra-statistics.t: the tables of the metrics beyond
# the paper's six (faithfulness, fidelity, sanity and discrimination) recomputed from an output folder's
# images.csv and runs.csv alone: each mean, its bootstrap interval (the PRNG of reports/stats.h, as
# stats_fixture.py writes it again), and the bold marks (the best by the metric's direction; with
# statistics, Holm-corrected Wilcoxon (scipy) or paired bootstrap tests against the best method).
#
#   extra_stats.py check DIR [STATISTICS-LINE]  compare DIR/report/tables/{faithfulness,fidelity,sanity}.*
#                                              with what they should be; prints each difference and the
#                                              marks, exits 1 if any differs or no such table exists
#   extra_stats.py inject DIR                  give DIR's runs per-image fidelity, sanity and
#                                              discrimination values (in results.sqlite and images.csv)
#   extra_stats.py layer DIR                   add a second layer whose values permute the methods'
#   extra_stats.py cd DIR NAME...              check DIR/report/plots/cd-NAME.gp: ranks, Friedman p
import csv
import glob
import os
import sqlite3
import sys

import numpy as np
import scipy.stats as st

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from stats_fixture import boot_ci, boot_p, holm, mean, q  # noqa: E402

# the tables' column heads, their image_metrics names, and which way is better (the issue's list:
# higher for ROAD, ARCC, insertion, gain, fidelity's rho and the share passing the sanity check; lower
# for deletion, fidelity's L2 error, the sanity check's Spearman and the discrimination overlaps)
HEADS = {"ROAD": ("road", 1), "ARCC": ("arcc", 1), "Ins": ("insertion", 1), "Del": ("deletion", 0),
         "AG": ("gain", 1), "rho": ("fidelity", 1), "L2": ("fidelity_l2", 0),
         "San.rho": ("sanity_spearman", 0), "San.pass": ("sanity_pass", 1),
         "Disc.r": ("disc_pearson_second", 0), "Disc.mass": ("disc_mass_second", 0)}
SHOWN = {"randomcam": "RandomCAM", "gradcam++": "GradCAM++", "xgradcam": "XGradCAM", "layercam": "LayerCAM",
         "hirescam": "HiResCAM", "gradcam": "GradCAM", "shapleycam": "ShapleyCAM"}
INJECTED = ["fidelity", "fidelity_l2", "sanity_spearman", "sanity_pass", "disc_pearson_second",
            "disc_mass_second"]


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def load(d):
    """runs: key -> run row; vals[key][name] = [(idx, value)] in index order, finite values only."""
    runs = {r["key"]: r for r in read_csv(os.path.join(d, "runs.csv"))}
    vals = {}
    for row in read_csv(os.path.join(d, "images.csv")):
        for name, _ in HEADS.values():
            if row.get(name, ""):
                x = float(row[name])
                if np.isfinite(x):
                    vals.setdefault(row["run_key"], {}).setdefault(name, []).append((int(row["idx"]), x))
    for k in vals:
        for name in vals[k]:
            vals[k][name].sort()
    return runs, vals


def check_table(path, runs, vals, line, bad, summary):
    B, alpha, seed, test = 1000, 0.05, 0, "wilcoxon"
    if line:
        w = line.split()
        B, alpha, seed, test = int(w[2]), float(w[4]), int(w[6]), w[8]
    stem = os.path.basename(path)[:-4]
    _, model, layer, utility, target = stem.split(".")
    keys = {r["method"]: k for k, r in runs.items()
            if (r["model"], r["layer"], r["utility"], r["target"]) == (model, layer, utility, target)}
    got = open(path).read().splitlines()
    heads = got[0].split(",")[1::3]
    want_head = "Method," + ",".join("%s,%s_lo,%s_hi" % (h, h, h) for h in heads)
    if got[0] != want_head:
        bad.append("%s: head %s, want %s" % (stem, got[0], want_head))
    shown = [r.split(",")[0] for r in got[1:]]
    methods = [m for s in shown for m in SHOWN if SHOWN[m] == s]
    agg, ci = {}, {}
    for m in methods:
        for h in heads:
            xs = [v for _, v in vals.get(keys[m], {}).get(HEADS[h][0], [])]
            agg[m, h] = mean(xs) if xs else None
            ci[m, h] = boot_ci(xs, B, alpha, seed) if xs else None
    want = [want_head]
    for m in methods:
        cells = []
        for h in heads:
            cells.append("%s,%s,%s" % (q(agg[m, h]), q(ci[m, h][0]), q(ci[m, h][1])) if agg[m, h] is not None
                         else ",,")
        want.append(SHOWN[m] + "," + ",".join(cells))
    if got != want:
        bad.append("%s.csv:\n  got  %s\n  want %s" % (stem, "\n       ".join(got), "\n       ".join(want)))

    marks = {m: {} for m in methods}
    ranked = [m for m in methods if m != "randomcam"]
    for h in heads:
        col, up = HEADS[h]
        have = [m for m in ranked if agg[m, h] is not None]
        if not have:
            continue
        if line and len(have) > 1:
            common = sorted(set.intersection(*[set(i for i, _ in vals[keys[m]][col]) for m in have]))
            V = [[dict(vals[keys[m]][col])[i] for i in common] for m in have]
            means = [mean(x) for x in V]
            sgn = 1 if up else -1
            ref = 0
            for j in range(len(have)):
                if sgn * means[j] > sgn * means[ref]:
                    ref = j
            others = [j for j in range(len(have)) if means[j] != means[ref]]
            if test == "wilcoxon":
                ps = [st.wilcoxon(V[j], V[ref]).pvalue if any(a != b for a, b in zip(V[j], V[ref])) else 1.0
                      for j in others]
            else:
                ps = [boot_p([a - b for a, b in zip(V[j], V[ref])], B, alpha, seed) for j in others]
            adj = holm(ps)
            for j in range(len(have)):
                marks[have[j]][h] = "best"
            for j, a in zip(others, adj):
                marks[have[j]][h] = "best" if a >= alpha else ""
        else:
            qs = {m: int(q(agg[m, h]).replace(".", "").replace("-", "")) * (-1 if q(agg[m, h])[0] == "-" else 1)
                  for m in have}
            order = sorted(set(qs.values()), reverse=bool(up))
            for m in have:
                marks[m][h] = "best" if qs[m] == order[0] else (
                    "second" if not line and len(order) > 1 and qs[m] == order[1] else "")
    want = []
    for m in methods:
        cells = []
        for h in heads:
            if agg[m, h] is None:
                cells.append("\u2013")
                continue
            c = q(agg[m, h])
            if line:
                c += " \u00b1 " + q((ci[m, h][1] - ci[m, h][0]) / 2)
            cells.append({"best": "**%s**", "second": "<u>%s</u>", "": "%s"}[marks[m].get(h, "")] % c)
        want.append("| %s | %s |" % (SHOWN[m], " | ".join(cells)))
    md = open(path[:-4] + ".md").read().splitlines()
    got = [x for x in md if x.startswith("| ") and "Method" not in x and not x.startswith("| :")]
    if got != want:
        bad.append("%s.md:\n  got  %s\n  want %s" % (stem, "\n       ".join(got), "\n       ".join(want)))
    name = {"wilcoxon": "Wilcoxon signed-rank test", "bootstrap": "paired bootstrap test"}[test]
    if line and (name not in md[0] or "ADCC" in md[0]):
        bad.append("%s: the caption does not name the %s (or names ADCC): %s" % (stem, name, md[0]))
    if not line and not md[0].endswith("Best in bold, second underlined.**"):
        bad.append("%s: the caption without statistics changed: %s" % (stem, md[0]))
    summary.append("%s: %s" % (stem.split(".")[0], "; ".join(
        "%s %s" % (m, "".join("B" if marks[m].get(h) == "best" else "s" if marks[m].get(h) else "."
                              for h in heads)) for m in ranked)))


def check(d, line):
    runs, vals = load(d)
    bad, summary = [], []
    tables = sorted(p for k in ("faithfulness", "fidelity", "sanity")
                    for p in glob.glob(os.path.join(d, "report", "tables", k + ".*.csv")))
    if not tables:
        bad.append("no faithfulness, fidelity or sanity table in %s" % d)
    for p in tables:
        check_table(p, runs, vals, line, bad, summary)
    for b in bad:
        print(b)
    for s in summary:
        print("marks " + s)
    return 1 if bad else 0


def inject(d):
    """Per-image values of the metrics a run without models would not compute, a method apart or close."""
    g = np.random.default_rng(5)
    db = sqlite3.connect(os.path.join(d, "results.sqlite"))
    rows = db.execute("SELECT r.key, r.method, i.idx FROM images i JOIN runs r ON r.key = i.run_key"
                      " ORDER BY r.key, i.idx").fetchall()
    n = 1 + max(i for _, _, i in rows)
    base = {c: g.uniform(0.2, 0.7, n) for c in INJECTED}
    shift = {"randomcam": -0.3, "gradcam++": 0.1, "layercam": 0.004, "gradcam": 0.0, "xgradcam": -0.05}
    extra = {}
    for key, m, i in rows:
        for c in INJECTED:
            if c == "sanity_pass":
                x = float((base[c][i] + shift.get(m, 0)) > 0.45)
            else:
                sign = -1 if HEADS[[h for h in HEADS if HEADS[h][0] == c][0]][1] == 0 else 1
                x = round(base[c][i] + sign * shift.get(m, 0) + 0.02 * g.standard_normal(), 6)
            if c == "fidelity_l2" and m == "layercam" and i == 1:
                continue  # one image without a value: the marks use the images all rows have
            extra[key, i, c] = x
            db.execute("INSERT INTO image_metrics VALUES (?, ?, ?, ?)", (key, i, c, x))
    db.commit()
    db.close()
    path = os.path.join(d, "images.csv")
    old = read_csv(path)
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(old[0].keys()) + INJECTED, lineterminator="\n")
        w.writeheader()
        for r in old:
            for c in INJECTED:
                r[c] = repr(extra[r["run_key"], int(r["idx"]), c]) if (r["run_key"], int(r["idx"]), c) in extra else ""
            w.writerow(r)


def layer(d):
    """Layer l2: the runs again, each method's values those of the next method in the list (a rotation)."""
    db = sqlite3.connect(os.path.join(d, "results.sqlite"))
    runs = db.execute("SELECT key, method FROM runs ORDER BY method").fetchall()
    ranked = [r for r in runs if r[1] != "randomcam"]
    for j, (key, m) in enumerate(runs):
        k2 = key + "e"
        src = key if m == "randomcam" else ranked[(ranked.index((key, m)) + 1) % len(ranked)][0]
        db.execute("INSERT INTO runs SELECT ?, spec_id, model, 'l2', 'l2', method, utility, target, config,"
                   " nr_images, state, error, created, finished FROM runs WHERE key = ?", (k2, key))
        db.execute("INSERT INTO spec_runs VALUES (1, ?, ?)", (k2, 10 + j))
        for t in ("images", "aggregates"):
            cols = [c[1] for c in db.execute("PRAGMA table_info(%s)" % t)][1:]
            db.execute("INSERT INTO %s SELECT ?, %s FROM %s WHERE run_key = ?" % (t, ", ".join(cols), t), (k2, src))
        db.execute("INSERT INTO image_metrics SELECT ?, idx, name, value FROM image_metrics WHERE run_key = ?",
                   (k2, src))
    db.execute("UPDATE spec_runs SET spec_id = (SELECT value FROM outputs WHERE key = 'spec_id')")
    db.commit()
    db.close()


def cd(d, names):
    db = sqlite3.connect(os.path.join(d, "results.sqlite"))
    bad = []
    for h in names:
        col, up = HEADS[h]
        methods = [m for (m,) in db.execute("SELECT DISTINCT method FROM runs WHERE method != 'randomcam'")]
        methods.sort(key=lambda m: list(SHOWN).index(m))
        # the settings are the methods tables: each layer, utility and target
        blocks = db.execute("SELECT DISTINCT layer, utility, target FROM runs").fetchall()
        S = np.array([[db.execute("SELECT avg(m.value) FROM image_metrics m JOIN runs r ON r.key = m.run_key"
                                  " WHERE r.layer = ? AND r.utility = ? AND r.target = ? AND r.method = ?"
                                  " AND m.name = ?", b + (m, col)).fetchone()[0]
                       for m in methods] for b in blocks])
        ranks = np.mean([st.rankdata(-x if up else x) for x in S], axis=0)
        fr = st.friedmanchisquare(*S.T)
        path = os.path.join(d, "report", "plots", "cd-%s.gp" % h.replace(".", "_"))
        if not os.path.exists(path):
            bad.append("no %s" % path)
            continue
        gp = open(path).read()
        for m, r in zip(methods, ranks):
            if "'%s (%.2f)'" % (SHOWN[m], r) not in gp:
                bad.append("cd-%s: no label '%s (%.2f)'" % (h, SHOWN[m], r))
        if "Friedman p = %.2g;" % fr.pvalue not in gp:
            bad.append("cd-%s: not Friedman p = %.2g" % (h, fr.pvalue))
    for b in bad:
        print(b)
    return 1 if bad else 0


if __name__ == "__main__":
    what, d = sys.argv[1], sys.argv[2]
    if what == "inject":
        inject(d)
        sys.exit(0)
    if what == "layer":
        layer(d)
        sys.exit(0)
    if what == "cd":
        sys.exit(cd(d, sys.argv[3:]))
    sys.exit(check(d, sys.argv[3] if len(sys.argv) > 3 else ""))
