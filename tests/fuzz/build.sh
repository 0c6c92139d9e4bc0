#!/bin/sh
# build.sh - compile the libFuzzer targets with clang, ASan and UBSan into build-fuzz/ (run from the
# repository root). cam/'s name parsers are linked without libtorch: the spec checks never call the
# tensor code, so each ts_* function they reference gets a stub that aborts.
#   tests/fuzz/build.sh && build-fuzz/fuzz_yaml -max_total_time=60 tests/check/
set -e
command -v clang >/dev/null || { echo "build.sh: clang not found" >&2; exit 1; }
out=build-fuzz
mkdir -p $out
CFLAGS="-g -O1 -std=c11 -fsanitize=fuzzer-no-link,address,undefined -D_DEFAULT_SOURCE -I. \
	-DCAMLAB_VERSION=\"fuzz\" -DCAMLAB_SOURCE_DIR=\"$PWD\" $(pkg-config --cflags yaml-0.1 lua5.4)"
objs=
for src in dsl/*.c lib/*.c cam/methods.c cam/utility.c cam/metrics.c; do
	obj=$out/$(echo "$src" | tr / _ | sed 's/\.c$/.o/')
	clang $CFLAGS -c "$src" -o "$obj"
	objs="$objs $obj"
done
nm -u $objs 2>/dev/null | awk '$2 ~ /^ts_/ { print $2 }' | sort -u |
	awk '{ printf "void %s(void);\nvoid %s(void) { abort(); }\n", $1, $1 }' >$out/ts_stubs.body
{ echo '#include <stdlib.h>'; cat $out/ts_stubs.body; } >$out/ts_stubs.c
clang $CFLAGS -c $out/ts_stubs.c -o $out/ts_stubs.o
clang $CFLAGS -fsanitize=fuzzer tests/fuzz/fuzz_yaml.c $objs $out/ts_stubs.o \
	$(pkg-config --libs yaml-0.1 lua5.4) -lm -o $out/fuzz_yaml
echo "$out/fuzz_yaml"
