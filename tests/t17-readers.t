#!/bin/sh
# t17-readers.t - runs the C unit test test_readers (tests/unit/test_readers.c), which speaks TAP itself:
# the cases the libFuzzer targets in tests/fuzz found, and random mutations of their seed corpora read by
# the image decoders, the dataset readers (IDX, CSV labels, list files) and the model metadata readers.
cd "$(dirname "$0")/.." || exit 1
BIN=${CAMLAB_BUILD:-build}/tests/test_readers
[ -x "$BIN" ] || { echo "Bail out! $BIN is not built: run tools/setup"; exit 1; }  # not a skip: see tests/lib.sh
exec "$BIN"
