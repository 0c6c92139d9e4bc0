#!/bin/sh
# t72-lua-sandbox.t - the Lua sandbox cannot be hung and its definitions cannot change one another
# (dsl/sandbox.c, interp/luacam.c; docs/security.md): C functions that loop without returning to the VM
# are refused before they start, finalisers are refused, every call has a wall clock with a watchdog
# behind it, each call of a definition runs in a fresh state, and a spec cannot nest past SPEC_MAX_DEPTH.
# Each hang below hung camlab for hours (or for ever) before; each must now end within seconds.
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
FM=/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz
MODEL=$PWD/experiments/models/fashion_mnist_cnn.pt

# a spec that fails at its first line when the guard works (no models needed: the error comes first)
spec_fails_fast() { # NAME LUA PATTERN
	printf '%s\nexperiment { name = "x" }\n' "$2" >"$TMP/$1.lua"
	test_expect_success "$1: fails at once with the limit named" "
		test_must_fail timeout 20 $CAMLAB check $TMP/$1.lua 2>$TMP/err; rc=\$?; cat $TMP/err;
		test \$rc -eq 0 && test_grep \"^$TMP/$1.lua:1:1: error: $3\" $TMP/err
	"
}

spec_fails_fast question-marks 'local s = ("a"):rep(40); s:match(("a?"):rep(40) .. ("a"):rep(40))' \
	"string.match: a pattern with 40 repetitions on a string of 40 bytes could backtrack for hours"
spec_fails_fast table-move 'table.move({}, 1, 1e15, 2)' \
	"table.move: moving 1000000000000000 elements passes the sandbox's limit of 16777216"
spec_fails_fast finaliser 'setmetatable({}, {__gc = function() while true do end end})' \
	"setmetatable: a finaliser \\(__gc\\) is not allowed in the sandbox"
spec_fails_fast table-insert-len 'table.insert(setmetatable({}, {__len = function() return 1e15 end}), 1, 0)' \
	"table.insert: a table of length 1000000000000000 passes the sandbox's limit of 16777216"
spec_fails_fast plain-find 'local s = ("a"):rep(1e6); s:find(("a"):rep(5e4) .. "b", 1, true)' \
	"string.find: a pattern of 50001 bytes on a string of 1000000 bytes passes the sandbox's limit of 1000000000 comparisons"

test_expect_success 'string.rep of nothing returns at once, patterns of specs still work' "
	printf 'assert((\"\"):rep(1e15) == \"\" and (\"\"):rep(1e15, \"\") == \"\")\nassert((\"ab\"):rep(3, \",\") == \"ab,ab,ab\")\nassert((\"x=1\"):match(\"^(%%w+)=(%%-?%%d+)\$\") == \"x\")\nexperiment { name = \"x\" }\n' >$TMP/rep.lua &&
	test_must_fail timeout 20 $CAMLAB check $TMP/rep.lua 2>$TMP/err; cat $TMP/err;
	test_grep 'no models' $TMP/err && ! grep -q 'rep.lua:[0-9]' $TMP/err
"

test_expect_success 'a spec has a wall clock, for work in C functions within the instruction budget' "
	printf 'for i = 1, 1e6 do local s = (\"x\"):rep(1e5) end\nexperiment { name = \"x\" }\n' >$TMP/clock.lua &&
	start=\$(date +%s) &&
	test_must_fail env CAMLAB_LUA_SECONDS=0.5 timeout 60 $CAMLAB check $TMP/clock.lua 2>$TMP/err; cat $TMP/err;
	test_grep '^$TMP/clock.lua:1:1: error: wall-clock limit of 0.5 s exceeded \\(CAMLAB_LUA_SECONDS sets it\\)' $TMP/err &&
	test \$((\$(date +%s) - start)) -lt 10
"

test_expect_success 'a finaliser of a trusted (--allow-unsafe) spec that hangs lua_close is ended by the watchdog' "
	printf 'setmetatable({}, {__gc = function() while true do end end})\nexperiment { name = \"x\" }\n' >$TMP/gc.lua &&
	CAMLAB_LUA_SECONDS=0.5 timeout 60 $CAMLAB check --allow-unsafe $TMP/gc.lua 2>$TMP/err; rc=\$?; cat $TMP/err;
	test \$rc -eq 124 &&
	test_grep '^fatal: closing a Lua state \\(a finaliser\\?\\) ran past its wall-clock limit of 0.5 s by 10 s inside a C function' $TMP/err
"

test_expect_success 'nesting past 256 levels is an error at the bracket that passes it' "
	{ printf 'name = '; head -c 100000 /dev/zero | tr '\\000' '{'; echo; } >$TMP/deep.lua &&
	test_must_fail timeout 20 $CAMLAB check $TMP/deep.lua 2>$TMP/err; cat $TMP/err;
	test_grep '^$TMP/deep.lua:1:264: error: tables and brackets nested deeper than 256 levels\$' $TMP/err &&
	{ printf 'experiment { name = '; head -c 220 /dev/zero | tr '\\000' '{'; head -c 220 /dev/zero | tr '\\000' '}'; echo ' }'; } >$TMP/deep2.lua &&
	test_must_fail $CAMLAB check $TMP/deep2.lua 2>$TMP/err; cat $TMP/err;
	test_grep \"^$TMP/deep2.lua:1:240: error: nested too deeply for Lua's parser \\\\(C stack overflow\" $TMP/err
"

test_expect_success 'check warns when a definition reads a global the spec sets' "
	cat >$TMP/globals.lua <<-EOS &&
	SCALE = 2
	function helper(x) return x * SCALE end
	method('scaled', function(A, G, HA) return (helper(G) * A):sum(2) end)
	method('own', function(A, G, HA) local SCALE = 3; return (G * A * SCALE):sum(2) end)
	experiment { name = 'g', models = { { file = '$MODEL', layers = 'features.block5' } },
	  data = { path = '$MODEL' }, methods = { 'scaled', 'own' } }
	EOS
	$CAMLAB check $TMP/globals.lua 2>$TMP/err; cat $TMP/err;
	test_grep \"globals.lua:3:[0-9]+: warning: method 'scaled' reads 'helper', a global the spec sets: a definition runs apart from the spec and sees only camlab's built-ins, so 'helper' is nil there\" $TMP/err &&
	! grep -q \"method 'own'\" $TMP/err
"

if [ ! -f $FM ] || ! command -v sqlite3 >/dev/null; then
	test_skip 'definitions: hangs, isolation and errors' 'dataset-fashion-mnist or sqlite3 is missing'
	test_done
	exit
fi

spec_head() { # spec_head NAME N
	printf 'name: %s\noutput: %s\nmodels: [{name: fashion, file: %s, layers: {pre_gap: features.block5}}]\ndata: {path: %s, limit: %s}\nbatch: 2\n' \
		"$1" "$TMP/$1" "$MODEL" "$FM" "$2"
}

test_expect_success 'definitions: hangs and odd errors fail their runs at once, with the reason' "
	{ spec_head defs 4 && cat <<EOS; } >$TMP/defs.yaml &&
methods: [plain, counter, qmarks, move, fin, meta, pspin, tabl]
define:
  methods:
    plain: 'return function(A, G, HA) return (G * A):sum(2) end'
    counter: 'return function(A, G, HA) n = (n or 0) + 1; return (G * A):sum(2) * (n == 1 and 1 or -1) end'
    qmarks: 'return function(A, G, HA) local s = (\"a\"):rep(40); s:match((\"a?\"):rep(40) .. (\"a\"):rep(40)) end'
    move: 'return function(A, G, HA) table.move({}, 1, 1e15, 2) end'
    fin: 'setmetatable({}, {__gc = function() while true do end end}) return function(A, G, HA) return (G * A):sum(2) end'
    meta: 'return function(A, G, HA) local m = getmetatable(A); m.__gc = function() while true do end end end'
    pspin: 'return function(A, G, HA) while true do pcall(function() while true do end end) end end'
    tabl: 'return function(A, G, HA) error({code = 1}) end'
EOS
	test_must_fail timeout 120 $CAMLAB run --no-progress $TMP/defs.yaml 2>$TMP/err; rc=\$?; cat $TMP/err;
	test \$rc -ne 124 && $CAMLAB status $TMP/defs >$TMP/st && cat $TMP/st &&
	test_grep '^done +2 run' $TMP/st &&
	test_grep \"^failed: .*qmarks rest predicted: method 'qmarks' failed: .*string.match: a pattern with 40 repetitions\" $TMP/st &&
	test_grep \"^failed: .*move rest predicted: method 'move' failed: .*table.move: moving 1000000000000000 elements\" $TMP/st &&
	test_grep \"^failed: .*fin rest predicted: definition of 'fin' does not load: .*setmetatable: a finaliser \\\\(__gc\\\\) is not allowed\" $TMP/st &&
	test_grep \"^failed: .*meta rest predicted: method 'meta' failed: .*attempt to index a string value\" $TMP/st &&
	test_grep \"^failed: .*pspin rest predicted: method 'pspin' failed: instruction budget of 10000000 exceeded\" $TMP/st &&
	test_grep \"^failed: .*tabl rest predicted: method 'tabl' failed: error object is a table, not a message\" $TMP/st
"

test_expect_success 'a call keeps no state for the next: a counter in a global gives every batch the same map' "
	q=\"SELECT i.idx, round(i.ad, 5), round(i.coh, 5), round(i.com, 5) FROM images i JOIN runs r ON r.key = i.run_key WHERE r.method = '%s' ORDER BY i.idx\" &&
	sqlite3 $TMP/defs/results.sqlite \"\$(printf \"\$q\" plain)\" >$TMP/a &&
	sqlite3 $TMP/defs/results.sqlite \"\$(printf \"\$q\" counter)\" >$TMP/b &&
	test \$(wc -l <$TMP/a) -eq 4 && diff $TMP/a $TMP/b
"

test_expect_success 'a definition call has a wall clock, for tensor work within the instruction budget' "
	{ spec_head slow 2 && cat <<EOS; } >$TMP/slow.yaml &&
methods: [slow]
define:
  methods:
    slow: 'return function(A, G, HA) for i = 1, 1e6 do A = A + 0 end return (G * A):sum(2) end'
EOS
	start=\$(date +%s) &&
	test_must_fail env CAMLAB_LUA_SECONDS=1 timeout 120 $CAMLAB run --no-progress $TMP/slow.yaml 2>$TMP/err; cat $TMP/err;
	test_grep \"method 'slow' failed: wall-clock limit of 1 s exceeded\" $TMP/err &&
	test \$((\$(date +%s) - start)) -lt 60
"

# Issue 15, item 3: zz's relu = ... changed um's relu, and the resumed run stored images 4-7 of um
# with zz's relu under um's unchanged run key.
test_expect_success 'a definition cannot change another: a resumed run gives the numbers of a fresh one' "
	{ spec_head iso 8 && cat <<EOS; } >$TMP/iso1.yaml &&
methods: [um]
define:
  methods:
    um: 'return function(A, G, HA) return (relu(G) * A):sum(2) end'
EOS
	{ cat $TMP/iso1.yaml && echo \"    zz: 'relu = function(x) return x * -1 end; return function(A, G, HA) return (relu(G) * A):sum(2) end'\"; } |
		sed 's/methods: \\[um\\]/methods: [um, zz]/' >$TMP/iso2.yaml &&
	sed 's#output: .*#output: $TMP/fresh#' $TMP/iso1.yaml >$TMP/fresh.yaml &&
	$CAMLAB run --no-progress --limit 4 $TMP/iso1.yaml 2>/dev/null &&
	$CAMLAB run --no-progress $TMP/iso2.yaml 2>/dev/null &&
	$CAMLAB run --no-progress $TMP/fresh.yaml 2>/dev/null &&
	q=\"SELECT i.idx, round(i.ad, 5), round(i.coh, 5), round(i.com, 5) FROM images i JOIN runs r ON r.key = i.run_key WHERE r.method = 'um' ORDER BY i.idx\" &&
	sqlite3 $TMP/iso/results.sqlite \"\$q\" >$TMP/resumed && sqlite3 $TMP/fresh/results.sqlite \"\$q\" >$TMP/fresh.txt &&
	test \$(wc -l <$TMP/fresh.txt) -eq 8 && diff $TMP/fresh.txt $TMP/resumed
"

test_done
