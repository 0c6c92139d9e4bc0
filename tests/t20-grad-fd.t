#!/bin/sh
# t20-grad-fd.t - runs the C unit test test_grad_fd (tests/unit/test_grad_fd.c), which speaks TAP itself.
cd "$(dirname "$0")/.." || exit 1
BIN=${CAMLAB_BUILD:-build}/tests/test_grad_fd
[ -x "$BIN" ] || { echo "Bail out! $BIN is not built: run tools/setup"; exit 1; }  # not a skip: see tests/lib.sh
exec "$BIN"
