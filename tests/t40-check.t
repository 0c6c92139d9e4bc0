#!/bin/sh
# t40-check.t - camlab check on golden specs: tests/check/NAME.yaml beside NAME.expected, the exact
# diagnostics (file:line:col, the key, the nearest valid name) or the one-line summary, and the exit
# status; syntax errors, empty and binary files fail cleanly; a spec written two ways has one canonical
# text; 200 random mutations of a valid spec load without a crash.
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
[ -f /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz ] ||
	skip_all "no Fashion-MNIST (package dataset-fashion-mnist)"

# Goldens hold paths relative to the repository root; absolute paths in canonical texts become @ROOT@.
run_check() {
	"$CAMLAB" check "$@" >"$TMP/out" 2>&1
	echo "exit $?" >>"$TMP/out"
	sed "s|$PWD|@ROOT@|g" "$TMP/out" >"$TMP/actual"
}

for spec in tests/check/*.yaml; do
	name=${spec%.yaml}
	[ -f "$name.expected" ] || continue
	test_expect_success "golden $(basename "$name")" "
		run_check $spec &&
		diff -u $name.expected $TMP/actual
	"
done

test_expect_success 'several files: every one reported, status 1 if any fails' "
	run_check tests/check/valid.yaml tests/check/misspelt-method.yaml &&
	grep -q '^tests/check/valid.yaml: ok:' $TMP/actual &&
	grep -q '^tests/check/misspelt-method.yaml:5:20: error:' $TMP/actual &&
	grep -q '^exit 1$' $TMP/actual
"

test_expect_success 'a missing file and an unknown extension are errors, not crashes' "
	test_must_fail $CAMLAB check tests/check/no-such-spec.yaml 2>$TMP/err &&
	test_grep \"no-such-spec.yaml: error: cannot open the spec\" $TMP/err &&
	test_must_fail $CAMLAB check tests/check/valid.expected 2>$TMP/err &&
	test_grep 'should end in .yaml, .yml or .lua' $TMP/err
"

test_expect_success 'check --help and usage errors' "
	$CAMLAB check --help >$TMP/help && test_grep '^usage: camlab check' $TMP/help &&
	test_must_fail $CAMLAB check 2>/dev/null &&
	test_must_fail $CAMLAB check --bogus tests/check/valid.yaml 2>/dev/null
"

test_expect_success 'the canonical text of the valid spec' "
	run_check --canonical tests/check/valid.yaml &&
	diff -u tests/check/valid.canonical $TMP/actual
"

test_expect_success 'two spellings of one experiment have one canonical text' "
	$CAMLAB check --canonical tests/check/twin-a.yaml >$TMP/a &&
	$CAMLAB check --canonical tests/check/twin-b.yaml >$TMP/b &&
	diff -u $TMP/a $TMP/b
"

test_expect_success 'a null model name is the name left out: from the file, or the mapping key' "
	cat >$TMP/absent.yaml <<-EOS &&
	models: [{file: $PWD/experiments/models/fashion_mnist_cnn.pt, layers: features.block5}]
	data: /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz
	EOS
	sed 's/{file/{name: null, file/' $TMP/absent.yaml >$TMP/null.yaml &&
	$CAMLAB check --canonical $TMP/absent.yaml | sed 1,3d >$TMP/a &&
	$CAMLAB check --canonical $TMP/null.yaml | sed 1,3d >$TMP/b &&
	diff -u $TMP/a $TMP/b && test_grep '^model fashion_mnist_cnn\$' $TMP/b &&
	cat >$TMP/keyed.yaml <<-EOS &&
	models: {m1: {name: ~, file: $PWD/experiments/models/fashion_mnist_cnn.pt, layers: features.block5}}
	data: /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz
	EOS
	$CAMLAB check --canonical $TMP/keyed.yaml >$TMP/out && test_grep '^model m1\$' $TMP/out
"

test_expect_success 'a well-known method: a user definition near it is still suggested; explain says the same' "
	cat >$TMP/def.yaml <<-EOS &&
	models: [{file: $PWD/experiments/models/fashion_mnist_cnn.pt, layers: features.block5}]
	data: /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz
	methods: [finercam]
	define: {methods: {finercam_x: 'return function(A, G, HA) return A:sum(2) end'}}
	EOS
	test_must_fail $CAMLAB check $TMP/def.yaml 2>$TMP/err &&
	test_grep \"error: unknown method 'finercam'; did you mean 'finercam_x'\\?\$\" $TMP/err &&
	test_must_fail $CAMLAB explain --method Finer_CAM,Eigen_CAM,gradcam_elementwise 2>$TMP/err &&
	test_grep \"^error: unknown method 'finer-cam': FinerCAM is method 'gradcam' with utility 'finer' \\(camlab help utilities\\)\$\" $TMP/err &&
	test_grep \"^error: unknown method 'eigen-cam'; did you mean 'eigencam'\\? \\(pytorch-grad-cam's EigenCAM\\)\$\" $TMP/err &&
	test_grep \"^error: unknown method 'gradcam-elementwise'; did you mean 'gradcam-e'\\? \\(pytorch-grad-cam's GradCAMElementWise\\)\$\" $TMP/err
"

test_expect_success 'lists nested 100 000 deep fail at once, at the 257th level (not after a minute)' "
	awk 'BEGIN { printf \"name: \"; for (i = 0; i < 100000; i++) printf \"[\"; for (i = 0; i < 100000; i++) printf \"]\"; print \"\" }' >$TMP/deep.yaml &&
	start=\$(date +%s) &&
	test_must_fail $CAMLAB check $TMP/deep.yaml 2>$TMP/err &&
	test \$((\$(date +%s) - start)) -le 2 &&
	test_grep 'deep.yaml:1:262: error: lists and mappings nested more than 256 levels deep\$' $TMP/err &&
	awk 'BEGIN { printf \"name: \"; for (i = 0; i < 255; i++) printf \"[\"; for (i = 0; i < 255; i++) printf \"]\"; print \"\" }' >$TMP/deep.yaml &&
	test_must_fail $CAMLAB check $TMP/deep.yaml 2>$TMP/err &&
	! grep -q 'nested' $TMP/err && test_grep \"expected a string for 'name', not a list\" $TMP/err
"

test_expect_success 'a NUL in a quoted string and control characters in names are errors at their position' "
	printf 'name: \"ab\\\\0cd\"\nmodels: [{name: \"m\\\\nx\", file: %s/experiments/models/fashion_mnist_cnn.pt, layers: features.block5}]\ndata: /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz\ntargets: [\"tab\\\\x1b[31mby\"]\n' $PWD >$TMP/ctl.yaml &&
	cat $TMP/ctl.yaml &&
	test_must_fail $CAMLAB check $TMP/ctl.yaml 2>$TMP/err && cat $TMP/err &&
	test_grep \"ctl.yaml:1:7: error: a NUL character \\(.0\\) in 'ab...': strings cannot hold one\\$\" $TMP/err &&
	test_grep \"ctl.yaml:2:17: error: bad model name 'm...': it holds a control character \\(byte 0x0a\\)\" $TMP/err &&
	test_grep \"ctl.yaml:4:11: error: bad target name 'tab...': it holds a control character \\(byte 0x1b\\)\" $TMP/err &&
	cat >$TMP/ctl.lua <<-EOS &&
	experiment {
	  name = \"ok\\\\nforged line\",
	  models = { { name = \"m\", file = \"$PWD/experiments/models/fashion_mnist_cnn.pt\", layers = \"features.block5\" } },
	  data = \"/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz\",
	}
	EOS
	cat $TMP/ctl.lua &&
	test_must_fail $CAMLAB check $TMP/ctl.lua 2>$TMP/err && cat $TMP/err &&
	test_grep \"ctl.lua:2:3: error: bad experiment name 'ok...': it holds a control character \\(byte 0x0a\\)\" $TMP/err &&
	cat >$TMP/nul.lua <<-EOS &&
	experiment {
	  name = \"ab\\\\0cd\",
	  models = { { name = \"m\", file = \"$PWD/experiments/models/fashion_mnist_cnn.pt\", layers = \"features.block5\" } },
	  data = \"/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz\",
	}
	EOS
	cat $TMP/nul.lua &&
	test_must_fail $CAMLAB check $TMP/nul.lua 2>$TMP/err && cat $TMP/err &&
	test_grep \"nul.lua:1:1: error: a NUL character \\(.0\\) in 'ab...': strings cannot hold one\" $TMP/err
"

test_expect_success '200 random mutations of a valid spec: no crash' "
	$BUILD/tests/test_yaml_mutate 200 >$TMP/tap &&
	! grep -q '^not ok' $TMP/tap
"

test_done
