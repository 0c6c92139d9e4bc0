#!/bin/sh
# t16-torch-load.t - libtorch is loaded when camlab first needs a tensor (cam/torch_load.c): commands
# that never touch one (check, plan, status, report, help) run without it, the others load the shim
# from $CAMLAB_TORCH_SHIM, beside the executable, or where it was built, and a shim that cannot be
# loaded is a clear error that loses nothing.
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
FM=/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz
[ -f $FM ] || skip_all "dataset-fashion-mnist is not installed"
SHIM=$(dirname "$CAMLAB")/libcamlab_torch.so
[ -f "$SHIM" ] || skip_all "no $SHIM beside $CAMLAB"

cat >"$TMP/fm.yaml" <<EOS
name: fm
output: $TMP/results
models: [{name: fashion, file: $PWD/experiments/models/fashion_mnist_cnn.pt, layers: {pre_gap: features.block5}}]
data: {path: $FM, limit: 40}
batch: 20
methods: [gradcam]
utility: rest
metrics: [ad, ic]
EOS
NOSHIM=$TMP/no-such-shim.so

test_expect_success 'check, plan and help never load libtorch' "
	CAMLAB_TORCH_SHIM=$NOSHIM $CAMLAB check $TMP/fm.yaml >$TMP/check &&
	test_grep 'ok: 1 model' $TMP/check &&
	CAMLAB_TORCH_SHIM=$NOSHIM $CAMLAB plan $TMP/fm.yaml >$TMP/plan &&
	test_grep '^1 runs?: ' $TMP/plan &&
	CAMLAB_TORCH_SHIM=$NOSHIM $CAMLAB help metrics >$TMP/help &&
	test -s $TMP/help
"

# the dynamic loader's own account of the libraries it opens (glibc's LD_DEBUG=files)
test_expect_success 'the loader opens libtorch for version, not for check' "
	LD_DEBUG=files $CAMLAB version 2>$TMP/ld.version >/dev/null &&
	test_grep 'file=.*libtorch_cpu' $TMP/ld.version &&
	LD_DEBUG=files $CAMLAB check $TMP/fm.yaml 2>$TMP/ld.check >/dev/null &&
	test_grep 'file=.*libyaml' $TMP/ld.check &&
	! grep -E 'file=.*(libtorch|libcamlab_torch)' $TMP/ld.check
"

test_expect_success 'a shim that cannot be loaded: the path, the reason, exit 1' "
	CAMLAB_TORCH_SHIM=$NOSHIM $CAMLAB version >$TMP/out 2>$TMP/err; echo \$? >$TMP/rc &&
	cat $TMP/err && test \$(cat $TMP/rc) -eq 1 &&
	test_grep \"^camlab: cannot load libtorch through '$NOSHIM': \" $TMP/err &&
	test_grep 'set CAMLAB_TORCH_SHIM to the path of libcamlab_torch.so' $TMP/err
"

test_expect_success 'a library that is not the shim: which function it lacks' "
	lib=\$(ldconfig -p | sed -n 's/.*libz\\.so\\.1 .*=> //p' | head -n 1) && test -n \"\$lib\" &&
	CAMLAB_TORCH_SHIM=\$lib $CAMLAB version 2>$TMP/err; test \$? -eq 1 &&
	test_grep \"'\$lib' lacks ts_error: it was built from other sources than this camlab\" $TMP/err
"

test_expect_success 'run with no shim: the error, no results; then the same run completes' "
	test_must_fail env CAMLAB_TORCH_SHIM=$NOSHIM $CAMLAB run --no-progress $TMP/fm.yaml 2>$TMP/err &&
	test_grep 'cannot load libtorch' $TMP/err &&
	CAMLAB_TORCH_SHIM=$NOSHIM $CAMLAB plan $TMP/fm.yaml | test_grep '^1 runs?: .*1 (pending|new)' /dev/stdin &&
	$CAMLAB run --no-progress $TMP/fm.yaml 2>$TMP/log && cat $TMP/log &&
	test_grep ': 40 image\\(s\\) in' $TMP/log &&
	CAMLAB_TORCH_SHIM=$NOSHIM $CAMLAB status $TMP/results >$TMP/status && cat $TMP/status &&
	test_grep '^done +1 run\(s\), 40 of 40 image results stored' $TMP/status &&
	CAMLAB_TORCH_SHIM=$NOSHIM $CAMLAB report $TMP/results 2>&1
"

test_expect_success 'the shim beside the executable comes before the one it was built with' "
	mkdir $TMP/bin && cp $CAMLAB $TMP/bin/camlab &&
	$TMP/bin/camlab version | test_grep '^cuda devices: [0-9]+$' /dev/stdin &&
	echo 'not a library' >$TMP/bin/libcamlab_torch.so &&
	test_must_fail $TMP/bin/camlab version 2>$TMP/err &&
	test_grep \"cannot load libtorch through '$TMP/bin/libcamlab_torch.so'\" $TMP/err &&
	CAMLAB_TORCH_SHIM=$SHIM $TMP/bin/camlab version | test_grep '^cuda devices: ' /dev/stdin
"

test_expect_success 'version names the libtorch and where it was loaded from' "
	$CAMLAB version >$TMP/version && cat $TMP/version &&
	test_grep \"^libtorch [0-9.]+, (CPU only|with CUDA), loaded from $SHIM\\$\" $TMP/version
"

# cmake --install: bin/camlab finds its shim in lib/camlab, whichever build it came from
if command -v cmake >/dev/null && [ -f "$(dirname "$CAMLAB")/cmake_install.cmake" ]; then
	test_expect_success 'an installed camlab loads its installed shim and runs' "
		cmake --install $(dirname "$CAMLAB") --prefix $TMP/inst >$TMP/install.log &&
		$TMP/inst/bin/camlab version >$TMP/version && cat $TMP/version &&
		test_grep \"loaded from $TMP/inst/bin/../lib/camlab/libcamlab_torch.so\\$\" $TMP/version &&
		$TMP/inst/bin/camlab predict -q --model $PWD/experiments/models/fashion_mnist_cnn.pt --dataset $FM \\
			--labels ${FM%%images-idx3-ubyte.gz}labels-idx1-ubyte.gz --limit 200 >$TMP/acc &&
		cat $TMP/acc && test_grep '^accuracy: top-1 0\\.9[0-9]+ \\([0-9]+/200\\)' $TMP/acc
	"
else
	test_skip 'an installed camlab loads its installed shim and runs' 'no cmake, or not a CMake build folder'
fi

test_done
