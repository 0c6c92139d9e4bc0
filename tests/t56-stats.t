#!/bin/sh
# t56-stats.t - runs the C unit test test_stats (tests/unit/test_stats.c), which speaks TAP itself: the
# statistics of reports/stats.c (bootstrap intervals, Wilcoxon, Holm, best marks, ranks, Friedman,
# Nemenyi) against the literature and against scipy and numpy run by $CAMLAB_PYTHON (/usr/bin/python3).
cd "$(dirname "$0")/.." || exit 1
BIN=${CAMLAB_BUILD:-build}/tests/test_stats
[ -x "$BIN" ] || { echo "1..0 # SKIP $BIN not built"; exit 0; }
exec "$BIN"
