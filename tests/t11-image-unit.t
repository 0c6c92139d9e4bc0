#!/bin/sh
# t11-image-unit.t - runs the C unit test test_image (tests/unit/test_image.c), which speaks TAP itself.
cd "$(dirname "$0")/.." || exit 1
BIN=${CAMLAB_BUILD:-build}/tests/test_image
[ -x "$BIN" ] || { echo "Bail out! $BIN is not built: run tools/setup"; exit 1; }  # not a skip: see tests/lib.sh
exec "$BIN"
