#!/bin/sh
# t22-identities.t - runs the C unit test test_identities (tests/unit/test_identities.c), which speaks TAP itself.
cd "$(dirname "$0")/.." || exit 1
BIN=${CAMLAB_BUILD:-build}/tests/test_identities
[ -x "$BIN" ] || { echo "Bail out! $BIN is not built: run tools/setup"; exit 1; }  # not a skip: see tests/lib.sh
exec "$BIN"
