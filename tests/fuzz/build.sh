#!/bin/sh
# build.sh - compile the libFuzzer targets with clang, ASan and UBSan into build-fuzz/ (run from the
# repository root; FUZZ_OUT names another folder). cam/ is linked without libtorch: the parsers never
# call the tensor code, so each ts_* function they reference gets a stub that aborts.
#   tests/fuzz/build.sh && build-fuzz/fuzz_yaml -max_total_time=60 tests/check/
#   build-fuzz/fuzz_image -max_total_time=60 $(mktemp -d) tests/fuzz/corpus/image
# Targets: fuzz_yaml and fuzz_lua (the spec front ends, both fuzz_spec.c), fuzz_image (the decoders), fuzz_dataset (IDX,
# list and CSV label files), fuzz_meta (model sidecars and class-name files), fuzz_quote (lib/quote.h's
# quoting functions, checked by tests/unit/quote_decode.h); each has a seed corpus in
# tests/fuzz/corpus/NAME (NAME without fuzz_).
set -e
command -v clang >/dev/null || { echo "build.sh: clang not found" >&2; exit 1; }
out=${FUZZ_OUT:-build-fuzz}
mkdir -p $out
CFLAGS="-g -O1 -std=c11 -fsanitize=fuzzer-no-link,address,undefined -D_DEFAULT_SOURCE -I. \
	-DCAMLAB_VERSION=\"fuzz\" -DCAMLAB_SOURCE_DIR=\"$PWD\" $(pkg-config --cflags yaml-0.1 lua5.4 libpng zlib libxxhash)"
LIBS="$(pkg-config --libs yaml-0.1 lua5.4 libpng zlib libxxhash) -ljpeg -lm"
objs=
for src in dsl/*.c lib/*.c cam/methods.c cam/multilayer.c cam/fullgrad.c cam/smooth.c cam/utility.c cam/metrics.c cam/image.c cam/dataset.c cam/model.c; do
	obj=$out/$(echo "$src" | tr / _ | sed 's/\.c$/.o/')
	clang $CFLAGS -c "$src" -o "$obj"
	objs="$objs $obj"
done
nm -u $objs 2>/dev/null | awk '$2 ~ /^ts_/ { print $2 }' | sort -u |
	awk '{ printf "void %s(void);\nvoid %s(void) { abort(); }\n", $1, $1 }' >$out/ts_stubs.body
{ echo '#include <stdlib.h>'; cat $out/ts_stubs.body; } >$out/ts_stubs.c
clang $CFLAGS -c $out/ts_stubs.c -o $out/ts_stubs.o
for ext in yaml lua; do
	clang $CFLAGS -DSPEC_EXT="\".$ext\"" -fsanitize=fuzzer tests/fuzz/fuzz_spec.c $objs $out/ts_stubs.o $LIBS \
		-o $out/fuzz_$ext
	echo "$out/fuzz_$ext"
done
for target in image dataset meta quote; do
	clang $CFLAGS -fsanitize=fuzzer tests/fuzz/fuzz_$target.c $objs $out/ts_stubs.o $LIBS -o $out/fuzz_$target
	echo "$out/fuzz_$target"
done
