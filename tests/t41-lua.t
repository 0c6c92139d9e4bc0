#!/bin/sh
# t41-lua.t - the Lua front end (dsl/lua.c): its C unit test (tests/unit/test_lua_front.c: the IR, error
# positions, the sandbox, the instruction budget and memory cap, 200 mutated specs), then `camlab check`
# on the fixtures in tests/lua/, whose messages are part of the contract: positions inside the later
# tables of a list, and the same messages as the YAML front end for the same bad values.
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
UNIT=$BUILD/tests/test_lua_front
need_built "$UNIT"
F=tests/lua

test_expect_success 'the C unit test test_lua_front passes' "
	$UNIT >$TMP/unit 2>&1; status=\$?; grep -v '^ok' $TMP/unit;
	test \$status -eq 0 && ! grep -q '^not ok' $TMP/unit
"

# The twins name Fashion-MNIST's test images and a model by paths from tests/lua. Their copies in $TMP name
# the shipped model by its absolute path and, for the images, a one-image IDX file made here (check reads
# its header), so that the comparison runs, and can fail, without the dataset package.
IDX=$TMP/fm/t10k-images-idx3-ubyte.gz
mkdir "$TMP/fm" && { printf '\0\0\10\3\0\0\0\1\0\0\0\34\0\0\0\34'; head -c 784 /dev/zero; } >"$IDX" || exit 1
for e in lua yaml; do
	sed "s#/usr/share/datasets/fashion-mnist/#$TMP/fm/#; s#\.\./\.\./#$PWD/#g" $F/twin.$e >$TMP/twin.$e || exit 1
done

test_expect_success 'twin.lua and twin.yaml have the same canonical text' "
	$CAMLAB check --canonical $TMP/twin.lua >$TMP/lua &&
	$CAMLAB check --canonical $TMP/twin.yaml >$TMP/yaml &&
	diff -u $TMP/yaml $TMP/lua &&
	test_grep '^  path $IDX\$' $TMP/lua && test_grep '^define method relu_grad_cam' $TMP/lua
"

test_expect_success 'an endless loop stops at the instruction budget, with its line' "
	test_must_fail $CAMLAB check $F/loop.lua 2>$TMP/err &&
	test_grep '^$F/loop.lua:3:1: error: instruction budget of 10000000 exceeded \\(an endless loop\\?\\)\$' $TMP/err
"

test_expect_success 'a memory bomb stops at the memory cap' "
	test_must_fail $CAMLAB check $F/membomb.lua 2>$TMP/err &&
	test_grep '^$F/membomb.lua:2:1: error: memory cap of 64 MiB exceeded\$' $TMP/err
"

test_expect_success 'a backtracking pattern is refused at once, not run for hours' "
	test_must_fail timeout 60 $CAMLAB check $F/pattern-bomb.lua 2>$TMP/err &&
	test_grep \"^$F/pattern-bomb.lua:3:1: error: string.find: a pattern with 3 repetitions on a string of 3000 bytes could backtrack for hours\" $TMP/err &&
	$CAMLAB check $F/patterns.lua
"

test_expect_success 'io, os and require are not in the sandbox' "
	test_must_fail $CAMLAB check $F/sandbox-io.lua $F/sandbox-os.lua $F/sandbox-require.lua 2>$TMP/err &&
	test_grep \"sandbox-io.lua:3:1: error: attempt to index a nil value \\(global 'io'\\)\" $TMP/err &&
	test_grep \"sandbox-os.lua:2:1: error: attempt to index a nil value \\(global 'os'\\)\" $TMP/err &&
	test_grep \"sandbox-require.lua:3:1: error: attempt to call a nil value \\(global 'require'\\)\" $TMP/err
"

test_expect_success '--allow-unsafe (or --unsafe) opens them, for check, plan and run alike' "
	cat >$TMP/env.lua <<-EOS &&
	experiment {
	  name = os.getenv('CAMLAB_T41_NAME'),
	  models = { { file = '$PWD/experiments/models/fashion_mnist_cnn.pt', layers = 'features.block5' } },
	  data = { path = '$PWD/experiments/models/fashion_mnist_cnn.pt' },
	}
	EOS
	test_must_fail $CAMLAB check $TMP/env.lua 2>$TMP/err &&
	test_grep \"env.lua:2:1: error: attempt to index a nil value \\(global 'os'\\) \\(io, os and require are closed to specs unless camlab is given --allow-unsafe\\)\" $TMP/err &&
	CAMLAB_T41_NAME=from_env $CAMLAB check --unsafe --canonical $TMP/env.lua >$TMP/out &&
	test_grep '^name from_env\$' $TMP/out &&
	CAMLAB_T41_NAME=from_env $CAMLAB check --allow-unsafe --canonical $TMP/env.lua >$TMP/out &&
	test_grep '^name from_env\$' $TMP/out &&
	for o in --unsafe --allow-unsafe; do
		test_must_fail $CAMLAB plan $TMP/env.lua 2>$TMP/err && test_grep \"global 'os'\" $TMP/err &&
		CAMLAB_T41_NAME=from_env $CAMLAB plan \$o $TMP/env.lua 2>$TMP/err >/dev/null &&
		! grep -q \"global 'os'\" $TMP/err || exit 1
	done
"

test_expect_success 'syntax and runtime errors carry file:line' "
	test_must_fail $CAMLAB check $F/syntax.lua $F/runtime.lua 2>$TMP/err &&
	test_grep \"^$F/syntax.lua:4:1: error: unexpected symbol near '='\" $TMP/err &&
	test_grep \"^$F/runtime.lua:4:1: error: attempt to call a nil value \\(global 'compute_batch'\\)\" $TMP/err
"

test_expect_success 'unknown keys: line:col and did you mean' "
	test_must_fail $CAMLAB check $F/unknown-key.lua 2>$TMP/err &&
	test_grep \"^$F/unknown-key.lua:4:3: error: unknown key 'metircs'; did you mean 'metrics'\\?\" $TMP/err &&
	test_grep \"^$F/unknown-key.lua:5:31: error: unknown key 'layrs' in 'model'; did you mean 'layers'\\?\" $TMP/err
"

test_expect_success 'a key in the wrong section: the section it belongs to' "
	test_must_fail $CAMLAB check $F/misplaced-key.lua 2>$TMP/err &&
	test_grep \"^$F/misplaced-key.lua:4:3: error: unknown key 'zip': it is a key of 'grid'\\$\" $TMP/err &&
	test_grep \"^$F/misplaced-key.lua:5:31: error: unknown key 'device' in 'model': it is a key of the top level\\$\" $TMP/err
"

# the items of models = { {...}, {...} } found past the tables, strings and comments of the ones before
test_expect_success 'errors in a later table of a list point into that table' "
	cat >$TMP/expected <<-EOS &&
	$F/nested-items.lua:5:19: error: model file 'a.pt' not found
	$F/nested-items.lua:6:21: error: model file 'b.pt' not found
	$F/nested-items.lua:6:65: error: unknown layout 'bhcw'; did you mean 'bchw'?
	$F/nested-items.lua:7:19: error: model file 'c.pt' not found
	$F/nested-items.lua:7:19: error: model 'c' has no layers: name at least one under 'layers'
	$F/nested-items.lua:7:34: error: unknown key 'layrs' in 'model'; did you mean 'layers'?
	$F/nested-items.lua:9:3: error: data path 'data' not found
	EOS
	test_must_fail $CAMLAB check $F/nested-items.lua 2>$TMP/err &&
	diff -u $TMP/expected $TMP/err
"

test_expect_success 'the same bad values give the same messages in YAML and in Lua' "
	test_must_fail $CAMLAB check $F/bad-values.yaml 2>$TMP/yaml.err &&
	test_must_fail $CAMLAB check $F/bad-values.lua 2>$TMP/lua.err &&
	sed 's/^[^ ]* //' $TMP/yaml.err | sort >$TMP/yaml.msg &&
	sed 's/^[^ ]* //' $TMP/lua.err | sort >$TMP/lua.msg &&
	cat $TMP/lua.msg && test \$(wc -l <$TMP/lua.msg) -eq 21 &&
	diff -u $TMP/yaml.msg $TMP/lua.msg
"

# twins: NAME.yaml and NAME.lua hold the same values; their messages (without file:line:col) must agree
same_messages() {
	test_must_fail $CAMLAB check $F/$1.yaml 2>$TMP/yaml.err &&
	test_must_fail $CAMLAB check $F/$1.lua 2>$TMP/lua.err &&
	sed 's/^[^ ]* //' $TMP/yaml.err | sort >$TMP/yaml.msg &&
	sed 's/^[^ ]* //' $TMP/lua.err | sort >$TMP/lua.msg &&
	cat $TMP/lua.msg && test $(wc -l <$TMP/lua.msg) -eq $2 &&
	diff -u $TMP/yaml.msg $TMP/lua.msg
}

test_expect_success 'NaN and infinities in mean and std: the same errors in YAML and in Lua' "
	same_messages non-finite 6 &&
	test_grep \"^error: expected a finite number for 'mean', not NaN\$\" $TMP/lua.msg &&
	test_grep \"^error: expected a finite number for 'std', not infinity\$\" $TMP/lua.msg &&
	test_grep \"^$F/non-finite.lua:7:88: error: bad std: every value must be > 0\$\" $TMP/lua.err
"

test_expect_success 'a quoted value is no boolean or number, 8.0 is an integer: in YAML and in Lua' "
	same_messages strict-types 10 &&
	test_grep \"^error: expected true or false for 'plots', not 'off' \\(a quoted value is a string, not a boolean\\)\$\" $TMP/yaml.msg &&
	test_grep \"^error: expected an integer for 'batch', not '8' \\(a quoted value is a string, not a number\\)\$\" $TMP/yaml.msg &&
	! grep -E \"'(resize|limit)'\" $TMP/yaml.msg
"

test_expect_success 'numbers with an integral value: the same canonical text in YAML and in Lua' "
	cat >$TMP/int.yaml <<-EOS &&
	models: [{file: $PWD/experiments/models/fashion_mnist_cnn.pt, input_size: 28.0, layers: features.block5}]
	data: {path: $IDX, limit: 1e3}
	batch: 8.0
	EOS
	cat >$TMP/int.lua <<-EOS &&
	experiment {
	  models = { { file = '$PWD/experiments/models/fashion_mnist_cnn.pt', input_size = 56 / 2, layers = 'features.block5' } },
	  data = { path = '$IDX', limit = 1e3 },
	  batch = 2^3,
	}
	EOS
	$CAMLAB check --canonical $TMP/int.yaml | sed 1,3d >$TMP/yaml &&
	$CAMLAB check --canonical $TMP/int.lua | sed 1,3d >$TMP/lua &&
	diff -u $TMP/yaml $TMP/lua && test_grep '^batch 8\$' $TMP/lua && test_grep '^  limit 1000\$' $TMP/lua &&
	test_grep '^  input_size 28\$' $TMP/lua
"

test_expect_success 'keys in comments and strings are not where a key was written' "
	cat >$TMP/expected <<-EOS &&
	$F/key-comments.lua:6:6: error: expected an integer for 'batch', not 'eight'
	$F/key-comments.lua:10:3: error: expected an integer >= 0 for 'limit', not -1
	$F/key-comments.lua:11:6: error: expected a non-negative integer for 'seed', not '-1'
	EOS
	test_must_fail $CAMLAB check $F/key-comments.lua 2>$TMP/err &&
	diff -u $TMP/expected $TMP/err
"

test_expect_success 'items of the wrong type do not hide unknown names or a zip mismatch' "
	cat >$TMP/expected <<-EOS &&
	$F/list-errors.lua:6:15: error: unknown method 'bogus'
	$F/list-errors.lua:6:24: error: expected a name in 'methods', not a table
	$F/list-errors.lua:6:33: error: expected a name in 'methods', not true
	$F/list-errors.lua:6:39: error: unknown method 'gradcm'; did you mean 'gradcam'?
	$F/list-errors.lua:7:17: error: zip: methods has 4 values, utilities 2
	$F/list-errors.lua:8:44: error: unknown dimension 'modell' in 'zip'; did you mean 'model'?
	EOS
	test_must_fail $CAMLAB check $F/list-errors.lua 2>$TMP/err &&
	diff -u $TMP/expected $TMP/err
"

# items found by walking the list's table constructor, past comments and strings with commas and braces
test_expect_success 'errors about a list item point at the item, whatever it is' "
	cat >$TMP/expected <<-EOS &&
	$F/item-positions.lua: warning: zip: only 'method' given; zip needs two dimensions
	$F/item-positions.lua:6:102: error: expected a module path or {name, path, layout} in 'layers', not a number
	$F/item-positions.lua:6:102: error: layer '?' has no module path
	$F/item-positions.lua:9:5: error: unknown method 'shapleycm'; did you mean 'shapleycam'?
	$F/item-positions.lua:9:20: error: unknown method 'hirescm'; did you mean 'hirescam'?
	$F/item-positions.lua:9:52: error: unknown method 'xgradcm'; did you mean 'xgradcam'?
	$F/item-positions.lua:10:5: error: expected a name in 'methods', not a table
	$F/item-positions.lua:10:14: error: expected a name in 'methods', not true
	$F/item-positions.lua:11:18: error: bad target '-3': a class index is >= 0
	$F/item-positions.lua:11:22: error: bad target '1000.0': a class index is an integer >= 0
	$F/item-positions.lua:11:27: error: bad target '2.5': a class index is an integer >= 0
	$F/item-positions.lua:12:3: error: unknown utility 'softmx'; did you mean 'softmax'?
	$F/item-positions.lua:13:36: error: unknown metric 'cohh'; did you mean 'coh'?
	$F/item-positions.lua:14:31: error: expected a dimension name in 'zip', not a number
	EOS
	test_must_fail $CAMLAB check $F/item-positions.lua 2>$TMP/err &&
	diff -u $TMP/expected $TMP/err
"

test_expect_success 'name = nil is a model name not given, as YAML null is' "
	cat >$TMP/nil.lua <<-EOS &&
	experiment {
	  models = { { name = nil, file = '$PWD/experiments/models/fashion_mnist_cnn.pt', layers = 'features.block5' } },
	  data = '$IDX',
	}
	EOS
	cat >$TMP/nil.yaml <<-EOS &&
	models: [{name: ~, file: $PWD/experiments/models/fashion_mnist_cnn.pt, layers: features.block5}]
	data: $IDX
	EOS
	$CAMLAB check --canonical $TMP/nil.lua | sed 1,3d >$TMP/lua &&
	$CAMLAB check --canonical $TMP/nil.yaml | sed 1,3d >$TMP/yaml &&
	diff -u $TMP/yaml $TMP/lua && test_grep '^model fashion_mnist_cnn\$' $TMP/lua
"

test_expect_success 'a model keyed by its name: an inner name that differs is an error' "
	test_must_fail $CAMLAB check $F/model-mapping-name.lua 2>$TMP/err &&
	test_grep \"^$F/model-mapping-name.lua:5:12: error: name 'other' differs from the model's key 'm1'\" $TMP/err &&
	test \$(wc -l <$TMP/err) -eq 1
"

test_expect_success 'experiment{} twice is an error at the second call' "
	test_must_fail $CAMLAB check $F/twice.lua 2>$TMP/err &&
	test_grep '^$F/twice.lua:4:1: error: experiment\\{\\} is called a second time \\(first at line 2\\)' $TMP/err
"

test_done
