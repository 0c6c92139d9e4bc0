#!/bin/sh
# t41-lua.t - the Lua front end (dsl/lua.c): its C unit test (tests/unit/test_lua_front.c: the IR, error
# positions, the sandbox, the instruction budget and memory cap, 200 mutated specs), then `camlab check`
# on the fixtures in tests/lua/, whose messages are part of the contract: positions inside the later
# tables of a list, and the same messages as the YAML front end for the same bad values.
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
UNIT=$BUILD/tests/test_lua_front
[ -x "$UNIT" ] || skip_all "$UNIT not built"
F=tests/lua

test_expect_success 'the C unit test test_lua_front passes' "
	$UNIT >$TMP/unit 2>&1; status=\$?; grep -v '^ok' $TMP/unit;
	test \$status -eq 0 && ! grep -q '^not ok' $TMP/unit
"

[ -f /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz ] || test_skip 'twin.lua and twin.yaml have the same canonical text' 'dataset-fashion-mnist is not installed'
[ -f /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz ] && test_expect_success 'twin.lua and twin.yaml have the same canonical text' "
	$CAMLAB check --canonical $F/twin.lua >$TMP/lua &&
	$CAMLAB check --canonical $F/twin.yaml >$TMP/yaml &&
	diff -u $TMP/yaml $TMP/lua
" 

test_expect_success 'an endless loop stops at the instruction budget, with its line' "
	test_must_fail $CAMLAB check $F/loop.lua 2>$TMP/err &&
	test_grep '^$F/loop.lua:3:0: error: instruction budget of 10000000 exceeded \\(an endless loop\\?\\)\$' $TMP/err
"

test_expect_success 'a memory bomb stops at the memory cap' "
	test_must_fail $CAMLAB check $F/membomb.lua 2>$TMP/err &&
	test_grep '^$F/membomb.lua:2:0: error: memory cap of 64 MiB exceeded\$' $TMP/err
"

test_expect_success 'io, os and require are not in the sandbox' "
	test_must_fail $CAMLAB check $F/sandbox-io.lua $F/sandbox-os.lua $F/sandbox-require.lua 2>$TMP/err &&
	test_grep \"sandbox-io.lua:3:0: error: attempt to index a nil value \\(global 'io'\\)\" $TMP/err &&
	test_grep \"sandbox-os.lua:2:0: error: attempt to index a nil value \\(global 'os'\\)\" $TMP/err &&
	test_grep \"sandbox-require.lua:3:0: error: attempt to call a nil value \\(global 'require'\\)\" $TMP/err
"

test_expect_success '--unsafe opens them' "
	cat >$TMP/env.lua <<-EOS &&
	experiment {
	  name = os.getenv('CAMLAB_T41_NAME'),
	  models = { { file = '$PWD/experiments/models/fashion_mnist_cnn.pt', layers = 'features.block5' } },
	  data = { path = '$PWD/experiments/models/fashion_mnist_cnn.pt' },
	}
	EOS
	test_must_fail $CAMLAB check $TMP/env.lua 2>$TMP/err &&
	test_grep \"env.lua:2:0: error: attempt to index a nil value \\(global 'os'\\)\" $TMP/err &&
	CAMLAB_T41_NAME=from_env $CAMLAB check --unsafe --canonical $TMP/env.lua >$TMP/out &&
	test_grep '^name from_env\$' $TMP/out
"

test_expect_success 'syntax and runtime errors carry file:line' "
	test_must_fail $CAMLAB check $F/syntax.lua $F/runtime.lua 2>$TMP/err &&
	test_grep \"^$F/syntax.lua:4:0: error: unexpected symbol near '='\" $TMP/err &&
	test_grep \"^$F/runtime.lua:4:0: error: attempt to call a nil value \\(global 'compute_batch'\\)\" $TMP/err
"

test_expect_success 'unknown keys: line:col and did you mean' "
	test_must_fail $CAMLAB check $F/unknown-key.lua 2>$TMP/err &&
	test_grep \"^$F/unknown-key.lua:4:3: error: unknown key 'metircs'; did you mean 'metrics'\\?\" $TMP/err &&
	test_grep \"^$F/unknown-key.lua:5:31: error: unknown key 'layrs' in 'model'; did you mean 'layers'\\?\" $TMP/err
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

test_expect_success 'experiment{} twice is an error at the second call' "
	test_must_fail $CAMLAB check $F/twice.lua 2>$TMP/err &&
	test_grep '^$F/twice.lua:4:0: error: experiment\\{\\} is called a second time \\(first at line 2\\)' $TMP/err
"

test_done
