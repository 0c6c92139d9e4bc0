#!/bin/sh
# t44-lua-methods.t - methods, utilities and metrics defined in Lua run on the device through camlab's
# tensor bindings: the reference definitions in stdlib/methods.lua give the same numbers as the C
# implementations, a method that is not in the paper runs end to end, a Lua ReST utility equals the
# built-in one, and Lua metrics are stored per image beside the paper's.
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
FM=/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz
[ -f $FM ] || skip_all "dataset-fashion-mnist is not installed"
command -v sqlite3 >/dev/null || skip_all "no sqlite3 command"

# The lines the small specs below start with: name NAME, output $TMP/NAME, the Fashion-MNIST CNN at
# its layer before pooling and the first N test images.
spec_head() { # spec_head NAME N
	printf 'name: %s\noutput: %s\nmodels: [{name: fashion, file: %s, layers: {pre_gap: features.block5}}]\ndata: {path: %s, limit: %s}\n' \
		"$1" "$TMP/$1" "$PWD/experiments/models/fashion_mnist_cnn.pt" "$FM" "$2"
}

# A Lua spec: the stdlib definitions renamed lua_<name>, beside the built-in methods of the same name.
{
	sed 's/^method("\([a-z+-]*\)"/method("lua_\1"/' stdlib/methods.lua
	cat <<EOS
method("posgrad_shapley", function(A, G, HA)   -- not in the paper: positive parts of the Shapley weights
  local W = G - 0.5 * HA
  return (relu(W) * A):sum(2)
end)
experiment {
  name = "lua_methods",
  output = "$TMP/out",
  batch = 40,
  models = { { name = "fashion", file = "$PWD/experiments/models/fashion_mnist_cnn.pt", layers = { pre_gap = "features.block5" } } },
  data = { path = "$FM", limit = 80 },
  methods = { "gradcam", "lua_gradcam", "hirescam", "lua_hirescam", "layercam", "lua_layercam",
              "shapleycam", "lua_shapleycam", "posgrad_shapley" },
  utilities = { "rest" },
}
EOS
} >$TMP/spec.lua

test_expect_success 'a Lua spec with method definitions checks and runs' "
	$CAMLAB check $TMP/spec.lua &&
	$CAMLAB run --no-progress $TMP/spec.lua 2>$TMP/log && cat $TMP/log &&
	$CAMLAB plan $TMP/spec.lua | test_grep '^9 runs: 9 done' /dev/stdin
"

test_expect_success 'the stdlib definitions equal the C methods, image by image' "
	for m in gradcam hirescam layercam shapleycam; do
		q=\"SELECT i.idx, i.class, round(i.ad, 5), round(i.coh, 5), round(i.com, 5), round(i.add_, 5) FROM images i JOIN runs r ON r.key = i.run_key WHERE r.method = '%s' ORDER BY i.idx\"
		sqlite3 $TMP/out/results.sqlite \"\$(printf \"\$q\" \$m)\" >$TMP/c &&
		sqlite3 $TMP/out/results.sqlite \"\$(printf \"\$q\" lua_\$m)\" >$TMP/l &&
		test \$(wc -l <$TMP/c) -eq 80 && cmp $TMP/c $TMP/l || { echo \"\$m differs\"; exit 1; }
	done
"

test_expect_success 'the new method has its own numbers' "
	sqlite3 $TMP/out/results.sqlite \"SELECT r.method, a.n, a.coh FROM aggregates a JOIN runs r ON r.key = a.run_key WHERE r.method IN ('posgrad_shapley', 'shapleycam')\" >$TMP/agg &&
	cat $TMP/agg && test \$(wc -l <$TMP/agg) -eq 2 &&
	test \$(cut -d'|' -f3 $TMP/agg | sort -u | wc -l) -eq 2
"

test_expect_success 'a user method returning the wrong shape fails its run with a reason, the others go on' "
	{ spec_head bad 10 && cat <<EOS; } >$TMP/bad.yaml &&
methods: [gradcam, wrong_shape]
define:
  methods:
    wrong_shape: 'return function(A, G, HA) return A * G end'
EOS
	test_must_fail $CAMLAB run --no-progress $TMP/bad.yaml 2>$TMP/err &&
	test_grep \"method 'wrong_shape' must return a B x h x w map\" $TMP/err &&
	$CAMLAB status $TMP/bad | test_grep '^done +1 run' /dev/stdin &&
	$CAMLAB status $TMP/bad | test_grep \"^failed: .*wrong_shape rest predicted: method 'wrong_shape' must return a B x h x w map\" /dev/stdin
"

test_expect_success 'an endless loop in a user method is stopped by the instruction budget' "
	{ spec_head loop 4 && cat <<EOS; } >$TMP/loop.yaml &&
methods: [spin]
define:
  methods:
    spin: 'return function(A, G, HA) while true do end end'
EOS
	test_must_fail $CAMLAB run --no-progress $TMP/loop.yaml 2>$TMP/err &&
	test_grep 'instruction budget' $TMP/err &&
	$CAMLAB status $TMP/loop | test_grep '^failed: .*spin rest predicted: .*instruction budget' /dev/stdin
"

test_expect_success 'a backtracking pattern in a definition fails its runs at once' "
	{ spec_head pat 4 && cat <<EOS; } >$TMP/pat.yaml &&
methods: [gradcam, slow]
define:
  methods:
    slow: 'return function(A, G, HA) local s = (\"a\"):rep(3000); s:match(\".-.-.-b\"); return (G * A):sum(2) end'
EOS
	test_must_fail timeout 120 $CAMLAB run --no-progress $TMP/pat.yaml 2>$TMP/err &&
	test_grep 'string.match: a pattern with 3 repetitions on a string of 3000 bytes' $TMP/err &&
	$CAMLAB status $TMP/pat >$TMP/st && test_grep '^done +1 run' $TMP/st
"

test_expect_success 'a definition whose own code loops or hoards memory is stopped when it loads' "
	{ spec_head load 4 && cat <<EOS; } >$TMP/load.yaml &&
methods: [gradcam, spin, hog]
define:
  methods:
    spin: 'while true do end return function(A, G, HA) return (G * A):sum(2) end'
    hog: 'local x = {} for i = 1, 1e8 do x[i] = (\"x\"):rep(1000) .. i end return function(A, G, HA) return (G * A):sum(2) end'
EOS
	test_must_fail timeout 300 $CAMLAB run --no-progress $TMP/load.yaml 2>$TMP/err &&
	test_grep \"load.yaml:8:5: error: definition of 'spin' does not load: instruction budget\" $TMP/err &&
	test_grep \"load.yaml:9:5: error: definition of 'hog' does not load: memory cap of 256 MiB exceeded\" $TMP/err &&
	$CAMLAB status $TMP/load >$TMP/st && cat $TMP/st && test_grep '^done +1 run' $TMP/st &&
	test_grep \"^failed: .*spin rest predicted: definition of 'spin' does not load: instruction budget\" $TMP/st &&
	sed 's#output: .*#output: $TMP/load2#; /hog:/d; s/methods: \\[gradcam, spin, hog\\]/methods: [spin]/' $TMP/load.yaml >$TMP/load2.yaml &&
	test_must_fail $CAMLAB run --no-progress $TMP/load2.yaml 2>$TMP/err2 &&
	test_grep 'runs 1-1/1 fashion/pre_gap spin rest predicted x 1 method\\(s\\): failed \\(see above\\)\$' $TMP/err2
"

test_expect_success 'a definition that does not compile is found by check, at its position' "
	sed 's#output: .*#output: $TMP/syn#; /hog:/d; s/methods: \\[gradcam, spin, hog\\]/methods: [gradcam, spin]/' $TMP/load.yaml >$TMP/syn.yaml &&
	sed -i \"s/spin: .*/spin: 'return function(A, G, HA) return (G * A):sum(2 + end'/\" $TMP/syn.yaml && cat $TMP/syn.yaml &&
	test_must_fail $CAMLAB check $TMP/syn.yaml 2>$TMP/err &&
	test_grep \"syn.yaml:8:5: error: method 'spin' does not compile: .*unexpected symbol near 'end'\" $TMP/err
"

test_expect_success 'a method that hoards memory when called fails its run with the reason; the others go on' "
	{ spec_head bomb 4 && cat <<EOS; } >$TMP/bomb.yaml &&
methods: [gradcam, bomb]
define:
  methods:
    bomb: 'return function(A, G, HA) local t = {} for i = 1, 1e6 do t[i] = (\"x\"):rep(100000) .. i end return (G * A):sum(2) end'
EOS
	test_must_fail timeout 300 $CAMLAB run --no-progress $TMP/bomb.yaml 2>$TMP/err &&
	$CAMLAB status $TMP/bomb >$TMP/st && cat $TMP/st &&
	test_grep '^done +1 run' $TMP/st &&
	test_grep \"^failed: .*bomb rest predicted: method 'bomb' failed: memory cap of 256 MiB exceeded\" $TMP/st
"

test_expect_success 'a utility and metrics written in Lua' "
	cat >$TMP/um.yaml <<EOS &&
name: um
output: $TMP/um
batch: 30
models: [{name: fashion, file: $PWD/experiments/models/fashion_mnist_cnn.pt, layers: {pre_gap: features.block5}}]
data: {path: $FM, limit: 60}
methods: [gradcam, shapleycam]
utilities: [rest, my_rest]
metrics: [ad, coh, my_ad, top_mass]
define:
  utilities:
    my_rest: 'return function(logits, target) return gather(logits, 2, target) + gather(log_softmax(logits, 2), 2, target) end'
  metrics:
    my_ad: 'return function(H, y, o, d) return (y - o):clamp(0, 1e9) / y end'
    top_mass: 'return function(H, y, o, d) return (H * H:gt(0.5)):sum({2, 3}) / (H:sum({2, 3}) + 1e-7) end'
EOS
	$CAMLAB run --no-progress $TMP/um.yaml 2>$TMP/log && cat $TMP/log &&
	q=\"SELECT r.method, i.idx, i.class, round(i.ad, 6), round(i.coh, 6) FROM images i JOIN runs r ON r.key = i.run_key WHERE r.utility = '%s' ORDER BY 1, 2\" &&
	sqlite3 $TMP/um/results.sqlite \"\$(printf \"\$q\" rest)\" >$TMP/a && sqlite3 $TMP/um/results.sqlite \"\$(printf \"\$q\" my_rest)\" >$TMP/b &&
	test \$(wc -l <$TMP/a) -eq 120 && cmp $TMP/a $TMP/b &&
	sqlite3 $TMP/um/results.sqlite \"SELECT count(*) FROM user_metrics u JOIN images i ON i.run_key = u.run_key AND i.idx = u.idx WHERE u.name = 'my_ad' AND abs(u.value - i.ad) < 1e-6\" | test_grep '^240\$' /dev/stdin &&
	sqlite3 $TMP/um/results.sqlite \"SELECT count(*) FROM user_metrics WHERE name = 'top_mass' AND value > 0 AND value <= 1\" | test_grep '^240\$' /dev/stdin &&
	test_grep '^model,layer,method,utility,target,name,n,mean\$' $TMP/um/user_metrics.csv
"

test_done
