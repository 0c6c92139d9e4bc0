# stats_fixture.py - the independent side of tests/t74-report-statistics.t: makes a results database
# with known per-image values, and checks camlab report's tables against a computation of its own
# (numpy, scipy; the bootstrap draws with the PRNG reports/stats.h specifies, written again here as
# tests/unit/test_stats.c's python side writes it).
#
#   stats_fixture.py make DIR [STATISTICS-LINE]   DIR/results.sqlite; the line goes into the spec's
#                                                canonical text ("statistics bootstrap 1000 ...")
#   stats_fixture.py check DIR [STATISTICS-LINE]  compare DIR/report/tables with what they should be;
#                                                prints each difference, exits 1 if any
#   (STATS_FIXTURE_N=5000 makes a larger database, for timing the report)
#   stats_fixture.py layer DIR                   add a second layer (runs of other values) to DIR's
#                                                database: two settings, for the critical differences
#   stats_fixture.py cd DIR                      check DIR/report/plots/cd-*.gp: average ranks, Friedman
import math
import os
import sqlite3
import sys

import numpy as np
import scipy.stats as st

M64 = (1 << 64) - 1
N = int(os.environ.get("STATS_FIXTURE_N", "30"))  # images: the exact Wilcoxon distribution (n <= 50)
METHODS = ["randomcam", "gradcam++", "hirescam", "gradcam", "shapleycam"]  # the paper's order
SHOWN = {"randomcam": "RandomCAM", "gradcam++": "GradCAM++", "hirescam": "HiResCAM", "gradcam": "GradCAM",
         "shapleycam": "ShapleyCAM"}
COLS = ["ad", "coh", "com", "ic", "add_"]
HEADS = [("AD", 0), ("Coh", 1), ("Com", 0), ("ADCC", 1), ("IC", 1), ("ADD", 1)]


def rotl(x, k):
    return ((x << k) | (x >> (64 - k))) & M64


class Rng:
    def __init__(s, seed):
        x = seed
        s.s = []
        for _ in range(4):
            x = (x + 0x9e3779b97f4a7c15) & M64
            z = ((x ^ (x >> 30)) * 0xbf58476d1ce4e5b9) & M64
            z = ((z ^ (z >> 27)) * 0x94d049bb133111eb) & M64
            s.s.append(z ^ (z >> 31))

    def next(s):
        s0, s1, s2, s3 = s.s
        r = (rotl((s1 * 5) & M64, 7) * 9) & M64
        t = (s1 << 17) & M64
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = rotl(s3, 45)
        s.s = [s0, s1, s2, s3]
        return r

    def below(s, n):
        th = ((1 << 64) - n) % n
        while True:
            x = s.next()
            if x >= th:
                return x % n


def values():
    """Per method, per image: {col: value or None}. Close methods, far ones, a missing value."""
    g = np.random.default_rng(17)
    base = {c: g.uniform(0.2, 0.7, N) for c in COLS}
    shift = {"randomcam": -0.15, "gradcam++": 0.08, "hirescam": 0.004, "gradcam": 0.0, "shapleycam": -0.003}
    noise = {"randomcam": 0.05, "gradcam++": 0.03, "hirescam": 0.01, "gradcam": 0.0, "shapleycam": 0.01}
    v = {}
    for m in METHODS:
        rows = []
        for i in range(N):
            row = {}
            for c in COLS:
                # lower is better for AD and Com: a better method lowers them, raises the others
                sign = 1 if c in ("ad", "com") else -1
                x = base[c][i] + sign * shift[m] + noise[m] * g.standard_normal()
                row[c] = round(min(max(x, 0.0), 0.99), 6)
            rows.append(row)
        v[m] = rows
    v["hirescam"][3]["coh"] = None  # one image without Coh: the marks use the images all rows have
    return v


def mean(xs):
    s = 0.0
    for x in xs:
        s += x
    return s / len(xs)


def adcc(ad, coh, com):
    return 3.0 / (1.0 / coh + 1.0 / (1.0 - com) + 1.0 / (1.0 - ad))


def make(d, line):
    v = values()
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, "results.sqlite")
    db = sqlite3.connect(path)
    # the tables of store/store.h's schema (version 1) that the report reads
    db.executescript(
        "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);"
        "CREATE TABLE specs(id INTEGER PRIMARY KEY, path TEXT, text TEXT, canonical TEXT, camlab_version TEXT,"
        " created TEXT);"
        "CREATE TABLE runs(key TEXT PRIMARY KEY, spec_id INTEGER, model TEXT, layer TEXT, layer_path TEXT,"
        " method TEXT, utility TEXT, target TEXT, config TEXT, nr_images INTEGER, state TEXT, error TEXT,"
        " created TEXT, finished TEXT);"
        "CREATE TABLE images(run_key TEXT, idx INTEGER, path TEXT, label INTEGER, class INTEGER, ad REAL,"
        " coh REAL, com REAL, ic REAL, add_ REAL, y REAL, o REAL, d REAL, PRIMARY KEY (run_key, idx));"
        "CREATE TABLE aggregates(run_key TEXT PRIMARY KEY, n INTEGER, ad REAL, coh REAL, com REAL, adcc REAL,"
        " ic REAL, add_ REAL);"
        "CREATE TABLE heatmaps(run_key TEXT, idx INTEGER, h INTEGER, w INTEGER, data BLOB,"
        " PRIMARY KEY (run_key, idx));"
        "CREATE TABLE inputs(model TEXT, idx INTEGER, path TEXT, h INTEGER, w INTEGER, rgb BLOB,"
        " PRIMARY KEY (model, idx));"
        "CREATE TABLE classes(model TEXT, idx INTEGER, name TEXT, PRIMARY KEY (model, idx));"
        "CREATE TABLE spec_runs(spec_id INTEGER, run_key TEXT, pos INTEGER, PRIMARY KEY (spec_id, run_key));"
        "CREATE TABLE user_metrics(run_key TEXT, idx INTEGER, name TEXT, value REAL,"
        " PRIMARY KEY (run_key, idx, name));"
        "CREATE TABLE outputs(key TEXT PRIMARY KEY, value TEXT);"
        "CREATE TABLE figures(idx INTEGER, by TEXT, PRIMARY KEY (idx, by));"
        "CREATE TABLE skipped(run_key TEXT, idx INTEGER, path TEXT, PRIMARY KEY (run_key, idx));")
    canonical = "camlab-experiment 1\nname stats\n" + (line + "\n" if line else "")
    db.execute("INSERT INTO meta VALUES ('schema_version', '1')")
    db.execute("INSERT INTO specs VALUES (1, 'stats.yaml', 'name: stats', ?, '0.1.0', '2025-01-01T00:00:00Z')",
               (canonical,))
    for k, val in [("name", "stats"), ("tables", "1"), ("plots", "1"), ("formats", "markdown,latex,csv"),
                   ("spec_id", "1")]:
        db.execute("INSERT INTO outputs VALUES (?, ?)", (k, val))
    for j, m in enumerate(METHODS):
        key = "%016x" % (j + 1)
        db.execute("INSERT INTO runs VALUES (?, 1, 'net', 'l', 'l', ?, 'rest', 'predicted', ?, ?, 'done', NULL,"
                   " '2025-01-01T00:00:00Z', '2025-01-01T00:00:00Z')", (key, m, "method=" + m, N))
        db.execute("INSERT INTO spec_runs VALUES (1, ?, ?)", (key, j))
        for i, row in enumerate(v[m]):
            db.execute("INSERT INTO images VALUES (?, ?, ?, 0, 0, ?, ?, ?, ?, ?, NULL, NULL, NULL)",
                       (key, i, "img%d.png" % i, row["ad"], row["coh"], row["com"], row["ic"], row["add_"]))
        avg = {c: mean([r[c] for r in v[m] if r[c] is not None]) for c in COLS}
        db.execute("INSERT INTO aggregates VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                   (key, N, avg["ad"], avg["coh"], avg["com"], adcc(avg["ad"], avg["coh"], avg["com"]),
                    avg["ic"], avg["add_"]))
    db.commit()
    db.close()


def q(x):
    """llround(x * 10000) printed as camlab prints hundredths."""
    y = x * 10000.0
    n = int(math.floor(abs(y) + 0.5))
    return "%s%d.%02d" % ("-" if y < 0 and n else "", n // 100, n % 100)


def boot_ci(xs, B, alpha, seed):
    r = Rng(seed)
    n = len(xs)
    means = []
    for _ in range(B):
        s = 0.0
        for _ in range(n):
            s += xs[r.below(n)]
        means.append(s / n)
    lo, hi = np.percentile(np.array(means), [100 * (alpha / 2), 100 * (1 - alpha / 2)])
    return lo, hi


def boot_p(d, B, alpha, seed):
    r = Rng(seed)
    n = len(d)
    m = []
    for _ in range(B):
        s = 0.0
        for _ in range(n):
            s += d[r.below(n)]
        m.append(s / n)
    m = np.array(m)
    return min(1.0, 2 * min(1 + np.sum(m <= 0), 1 + np.sum(m >= 0)) / (B + 1))


def adcc_ci(rows, B, alpha, seed):
    t = [(r["ad"], r["coh"], r["com"]) for r in rows if None not in (r["ad"], r["coh"], r["com"])]
    r = Rng(seed)
    n = len(t)
    m = []
    for _ in range(B):
        s = [0.0, 0.0, 0.0]
        for _ in range(n):
            k = r.below(n)
            for j in range(3):
                s[j] += t[k][j]
        m.append(adcc(s[0] / n, s[1] / n, s[2] / n))
    return np.percentile(np.array(sorted(m)), [100 * (alpha / 2), 100 * (1 - alpha / 2)])


def holm(p):
    m = len(p)
    order = sorted(range(m), key=lambda i: (p[i], i))
    adj = [0.0] * m
    for j, i in enumerate(order):
        adj[i] = max(min(1.0, (m - r) * p[order[r]]) for r in range(j + 1))
    return adj


def check(d, line):
    v = values()
    B, alpha, seed, test = 1000, 0.05, 0, "wilcoxon"
    if line:
        w = line.split()
        B, alpha, seed, test = int(w[2]), float(w[4]), int(w[6]), w[8]
    bad = []
    agg = {}
    ci = {}
    for m in METHODS:
        rows = v[m]
        a = {c: mean([r[c] for r in rows if r[c] is not None]) for c in COLS}
        agg[m] = [a["ad"], a["coh"], a["com"], adcc(a["ad"], a["coh"], a["com"]), a["ic"], a["add_"]]
        ci[m] = []
        for c in ["ad", "coh", "com", None, "ic", "add_"]:
            if c is None:
                ci[m].append(adcc_ci(rows, B, alpha, seed))
            else:
                ci[m].append(boot_ci([r[c] for r in rows if r[c] is not None], B, alpha, seed))
    stem = os.path.join(d, "report", "tables", "methods.net.l.rest.predicted")

    # CSV: always the intervals
    want = ["Method," + ",".join("%s,%s_lo,%s_hi" % (h, h, h) for h, _ in HEADS)]
    for m in METHODS:
        want.append(SHOWN[m] + "," + ",".join("%s,%s,%s" % (q(agg[m][k]), q(ci[m][k][0]), q(ci[m][k][1]))
                                               for k in range(6)))
    got = open(stem + ".csv").read().splitlines()
    if got != want:
        bad.append("csv:\n  got  %s\n  want %s" % ("\n       ".join(got), "\n       ".join(want)))

    # the marks
    ranked = METHODS[1:]
    marks = {m: [""] * 6 for m in METHODS}
    for k, (h, up) in enumerate(HEADS):
        qs = {m: int(q(agg[m][k]).replace(".", "")) for m in ranked}
        order = sorted(set(qs.values()), reverse=bool(up))
        if line and h != "ADCC":
            col = ["ad", "coh", "com", None, "ic", "add_"][k]
            common = [i for i in range(N) if all(v[m][i][col] is not None for m in ranked)]
            V = [[v[m][i][col] for i in common] for m in ranked]
            means = [mean(x) for x in V]
            d_ = 1 if up else -1
            ref = 0
            for j in range(len(ranked)):
                if d_ * means[j] > d_ * means[ref]:
                    ref = j
            others = [j for j in range(len(ranked)) if means[j] != means[ref]]
            if test == "wilcoxon":
                ps = [st.wilcoxon(V[j], V[ref]).pvalue for j in others]
            else:
                ps = [boot_p([a - b for a, b in zip(V[j], V[ref])], B, alpha, seed) for j in others]
            adj = holm(ps)
            for j in range(len(ranked)):
                marks[ranked[j]][k] = "best"
            for j, a in zip(others, adj):
                marks[ranked[j]][k] = "best" if a >= alpha else ""
        else:
            for m in ranked:
                if qs[m] == order[0]:
                    marks[m][k] = "best"
                elif not line and len(order) > 1 and qs[m] == order[1]:
                    marks[m][k] = "second"

    # Markdown: "mean ± half-width" with statistics, the mean alone without
    want = []
    for m in METHODS:
        cells = []
        for k in range(6):
            c = q(agg[m][k])
            if line:
                c += " \u00b1 " + q((ci[m][k][1] - ci[m][k][0]) / 2)
            c = {"best": "**%s**", "second": "<u>%s</u>", "": "%s"}[marks[m][k]] % c
            cells.append(c)
        want.append("| %s | %s |" % (SHOWN[m], " | ".join(cells)))
    got = [x for x in open(stem + ".md").read().splitlines() if x.startswith("| ") and "Method" not in x and not x.startswith("| :")]
    if got != want:
        bad.append("md:\n  got  %s\n  want %s" % ("\n       ".join(got), "\n       ".join(want)))
    caption = open(stem + ".md").read().splitlines()[0]
    name = {"wilcoxon": "Wilcoxon signed-rank test", "bootstrap": "paired bootstrap test"}[test]
    if line and name not in caption:
        bad.append("the caption does not name the %s: %s" % (name, caption))
    if not line and "Best in bold, second underlined" not in caption:
        bad.append("the caption without statistics changed: %s" % caption)
    for b in bad:
        print(b)
    # say what the marks were, so that a reader sees the test tells something apart
    print("marks: " + "; ".join("%s %s" % (m, "".join("B" if x == "best" else "s" if x else "." for x in marks[m]))
                               for m in ranked))
    return 1 if bad else 0


def layer(d):
    """Layer l2: each method's aggregates with the methods' order changed, so the ranks differ."""
    db = sqlite3.connect(os.path.join(d, "results.sqlite"))
    runs = db.execute("SELECT key, method FROM runs ORDER BY key").fetchall()
    for j, (key, m) in enumerate(runs):
        k2 = key + "e"
        db.execute("INSERT INTO runs SELECT ?, spec_id, model, 'l2', 'l2', method, utility, target, config,"
                   " nr_images, state, error, created, finished FROM runs WHERE key = ?", (k2, key))
        db.execute("INSERT INTO spec_runs VALUES (1, ?, ?)", (k2, 10 + j))
        a = db.execute("SELECT n, ad, coh, com, adcc, ic, add_ FROM aggregates WHERE run_key = ?", (key,)).fetchone()
        # l2 swaps GradCAM and HiResCAM on every metric
        other = {"gradcam": "hirescam", "hirescam": "gradcam"}.get(m)
        if other:
            okey = [k for k, mm in runs if mm == other][0]
            a = db.execute("SELECT n, ad, coh, com, adcc, ic, add_ FROM aggregates WHERE run_key = ?",
                           (okey,)).fetchone()
        db.execute("INSERT INTO aggregates VALUES (?, ?, ?, ?, ?, ?, ?, ?)", (k2,) + tuple(a))
    db.commit()
    db.close()


def cd(d):
    db = sqlite3.connect(os.path.join(d, "results.sqlite"))
    bad = []
    for k, (h, up) in enumerate(HEADS):
        col = ["ad", "coh", "com", "adcc", "ic", "add_"][k]
        rows = []
        for lay in ("l", "l2"):
            row = []
            for m in METHODS[1:]:
                row.append(db.execute("SELECT a.%s FROM aggregates a JOIN runs r ON r.key = a.run_key"
                                      " WHERE r.layer = ? AND r.method = ?" % col, (lay, m)).fetchone()[0])
            rows.append(row)
        S = np.array(rows)
        ranks = np.mean([st.rankdata(-x if up else x) for x in S], axis=0)
        fr = st.friedmanchisquare(*S.T)
        gp = open(os.path.join(d, "report", "plots", "cd-%s.gp" % h)).read()
        for m, r in zip(METHODS[1:], ranks):
            if "'%s (%.2f)'" % (SHOWN[m], r) not in gp:
                bad.append("cd-%s: no label '%s (%.2f)'" % (h, SHOWN[m], r))
        if "Friedman p = %.2g;" % fr.pvalue not in gp:
            bad.append("cd-%s: not Friedman p = %.2g" % (h, fr.pvalue))
        q = st.studentized_range.ppf(0.95, 4, np.inf) / np.sqrt(2)
        if "CD = %.2f" % (q * np.sqrt(4 * 5 / (6 * 2))) not in gp:
            bad.append("cd-%s: not CD = %.2f" % (h, q * np.sqrt(4 * 5 / (6 * 2))))
    for b in bad:
        print(b)
    return 1 if bad else 0


if __name__ == "__main__":
    if sys.argv[1] == "layer":
        layer(sys.argv[2])
        sys.exit(0)
    if sys.argv[1] == "cd":
        sys.exit(cd(sys.argv[2]))
    line = sys.argv[3] if len(sys.argv) > 3 else ""
    if sys.argv[1] == "make":
        make(sys.argv[2], line)
        sys.exit(0)
    sys.exit(check(sys.argv[2], line))
