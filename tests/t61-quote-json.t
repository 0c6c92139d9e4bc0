#!/bin/sh
# t61-quote-json.t - runs the C unit test test_quote_json (tests/unit/test_quote_json.c): quote_json and
# quote_yaml on hostile and random names, read back by a JSON string decoder and by libyaml.
cd "$(dirname "$0")/.." || exit 1
BIN=${CAMLAB_BUILD:-build}/tests/test_quote_json
[ -x "$BIN" ] || { echo "1..0 # SKIP $BIN not built"; exit 0; }
exec "$BIN"
