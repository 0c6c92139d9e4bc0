#!/bin/sh
# t62-read-file.t - runs the C unit test test_fs (tests/unit/test_fs.c), which speaks TAP itself:
# lib/fs.h's read_file on a file with NUL bytes, one over the size cap, /dev/zero, a missing file and
# a folder.
cd "$(dirname "$0")/.." || exit 1
BIN=${CAMLAB_BUILD:-build}/tests/test_fs
[ -x "$BIN" ] || { echo "1..0 # SKIP $BIN not built"; exit 0; }
exec "$BIN"
