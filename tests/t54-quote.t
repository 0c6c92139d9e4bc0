#!/bin/sh
# t54-quote.t - runs the C unit test test_quote (tests/unit/test_quote.c), which speaks TAP itself: each
# quoting function of lib/quote.h on hostile names, read back by a decoder of the target's rules and,
# where installed, by gnuplot and pdflatex -shell-escape in a folder that shows any command they ran.
cd "$(dirname "$0")/.." || exit 1
BIN=${CAMLAB_BUILD:-build}/tests/test_quote
[ -x "$BIN" ] || { echo "1..0 # SKIP $BIN not built"; exit 0; }
exec "$BIN"
