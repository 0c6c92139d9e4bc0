#!/bin/sh
# t20-grad-fd.t - runs the C unit test test_grad_fd (tests/unit/test_grad_fd.c), which speaks TAP itself.
cd "$(dirname "$0")/.." || exit 1
BIN=${CAMLAB_BUILD:-build}/tests/test_grad_fd
[ -x "$BIN" ] || { echo "1..0 # SKIP $BIN not built"; exit 0; }
exec "$BIN"
