#!/usr/bin/python3
"""count_bold.py PLAIN STATS - how many bold cells of a report's tables survive the significance test.

PLAIN and STATS are two report/tables folders of one results database: PLAIN written without the spec's
`statistics` key (the paper's convention: the best value of a column in bold, ties included), STATS with
it (bold: the best and every method a paired test cannot tell from it). In the methods tables a group is
a column, in the ablation table a method's column; RandomCAM and ADCC (no per-image values, so no test)
are left out, and so are cells without a value; the faithfulness, fidelity and sanity tables count as the
methods tables do. A paper-bold cell survives when its group's test-bold cells are exactly the paper's: the
test then backs the claim that the bold method(s) beat the others. Prints per table and in all.
"""
import glob
import os
import sys


def cells(path):
    """(group, row, column, bold) of a Markdown table written by camlab report."""
    rows = [l for l in open(path, encoding="utf-8") if l.startswith("| ") and not l.startswith("| :")]
    head = [c.strip() for c in rows[0].strip("|\n").split("|")]
    ablation = "Utility" in head
    out, method = [], None
    for r in rows[1:]:
        cs = [c.strip() for c in r.strip("|\n").split("|")]
        method = cs[0] or method
        group, row = (method, cs[1]) if ablation else ("", cs[0])
        for h, c in zip(head, cs):
            # a cell without a value (a metric the run did not compute) is no group member
            if h in ("Method", "Utility") or h.startswith("ADCC") or method == "RandomCAM" or c == "\u2013":
                continue
            out.append(((group, h), row, c.startswith("**")))
    return out


def bold_sets(path):
    sets = {}
    for g, row, bold in cells(path):
        sets.setdefault(g, set())
        if bold:
            sets[g].add(row)
    return sets


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: count_bold.py PLAIN_TABLES_DIR STATS_TABLES_DIR")
    tot = [0, 0, 0, 0, 0]
    for p in sorted(glob.glob(os.path.join(sys.argv[1], "*.md"))):
        a, b = bold_sets(p), bold_sets(os.path.join(sys.argv[2], os.path.basename(p)))
        same = [g for g in a if a[g] == b.get(g)]
        n = [len(a), len(same), sum(len(v) for v in a.values()), sum(len(a[g]) for g in same),
             sum(len(v) for v in b.values())]
        print("%s: %d groups, %d where the test bolds exactly the paper's cells; paper bold cells %d, "
              "surviving %d; bold cells with the test %d" % (os.path.basename(p), *n))
        tot = [x + y for x, y in zip(tot, n)]
    print("all: %d groups, %d surviving; paper bold cells %d, surviving %d; bold cells with the test %d" % tuple(tot))


if __name__ == "__main__":
    main()
