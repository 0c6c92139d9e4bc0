#!/bin/sh
# t91-include.t - specs made of several files: include merges them in order, later files and the
# including file winning key by key; models are extended or refined by name; errors point into the file
# where the wrong value was written, with the chain of includes; cycles, devices, FIFOs and nesting too
# deep are errors; a Lua spec's include() merges the same way; the database names the files with hashes.
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
FM=/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz
[ -f $FM ] || skip_all "dataset-fashion-mnist is not installed"
M=$PWD/experiments/models/fashion_mnist_cnn.pt
mkdir -p $TMP/common $TMP/models
ln -s $M $TMP/models/cnn.pt

# paths in an included file are its own folder's
cat >$TMP/common/models.yaml <<EOS
models:
  - name: a
    file: ../models/cnn.pt
    layers: {pre_gap: features.block5}
  - name: b
    file: ../models/cnn.pt
    input_size: 28
    layers: {pre_gap: features.block5}
EOS
cat >$TMP/common/data.yaml <<EOS
data: {path: $FM, limit: 5, shuffle: true}
methods: [gradcam]
EOS
cat >$TMP/common/data2.yaml <<EOS
data: {limit: 6}
methods: [shapleycam]
EOS

cat >$TMP/merged.yaml <<EOS
include: [common/models.yaml, common/data.yaml, common/data2.yaml]
name: m
data: {seed: 4}
EOS
cat >$TMP/written.yaml <<EOS
name: m
models:
  - {name: a, file: $TMP/models/cnn.pt, layers: {pre_gap: features.block5}}
  - {name: b, file: $TMP/models/cnn.pt, input_size: 28, layers: {pre_gap: features.block5}}
data: {path: $FM, limit: 6, shuffle: true, seed: 4}
methods: [shapleycam]
EOS

test_expect_success 'later files and the including file win key by key' "
	$CAMLAB check --canonical $TMP/written.yaml >$TMP/want &&
	$CAMLAB check --canonical $TMP/merged.yaml >$TMP/got &&
	cmp $TMP/want $TMP/got
"

test_expect_success 'a models list picks included models by name and refines them' "
	cat >$TMP/pick.yaml <<-EOS &&
	include: [common/models.yaml, common/data.yaml]
	models:
	  - {name: b, input_size: 32, layers: {last: features.conv4}}
	  - a
	  - {name: c, file: $M, layers: {pre_gap: features.block5}}
	EOS
	$CAMLAB check --canonical $TMP/pick.yaml >$TMP/pick &&
	grep '^model ' $TMP/pick | tr '\n' ' ' | test_grep '^model b model a model c \$' /dev/stdin &&
	test_grep '^  input_size 32\$' $TMP/pick &&
	test \$(grep -c '^  layer ' $TMP/pick) -eq 4
"

test_expect_success 'a models mapping extends the included list and refines by name' "
	cat >$TMP/ext.yaml <<-EOS &&
	include: [common/models.yaml, common/data.yaml]
	models:
	  a: {layers: {last: features.conv4}}
	  d: {file: $M, layers: {pre_gap: features.block5}}
	EOS
	$CAMLAB check --canonical $TMP/ext.yaml >$TMP/ext &&
	grep '^model ' $TMP/ext | tr '\n' ' ' | test_grep '^model a model b model d \$' /dev/stdin &&
	test \$(grep -c '^  layer ' $TMP/ext) -eq 4
"

test_expect_success 'a name no included file has: an error with the nearest' "
	printf 'include: [common/models.yaml, common/data.yaml]\nmodels: [aa, zzz]\n' >$TMP/nomodel.yaml &&
	$CAMLAB check $TMP/nomodel.yaml 2>$TMP/err; test \$? -eq 1 &&
	test_grep \"nomodel.yaml:2:10: error: no model 'aa' in the included files; did you mean 'a'\\?\" $TMP/err
"

test_expect_success 'an error in an included file points there, with the chain of includes' "
	printf 'models:\n  - name: a\n    file: ../models/cnn.pt\n    input_size: big\n    layers: {pre_gap: features.block5}\n' >$TMP/common/bad.yaml &&
	printf '# the middle\ninclude: [bad.yaml]\n' >$TMP/common/mid.yaml &&
	printf 'include: [common/data.yaml, common/mid.yaml]\n' >$TMP/chain.yaml &&
	$CAMLAB check $TMP/chain.yaml 2>$TMP/err; test \$? -eq 1 && cat $TMP/err &&
	grep -Fx \"$TMP/common/bad.yaml:4:17: error: expected an integer for 'input_size', not 'big' (included from $TMP/common/mid.yaml:2:11, from $TMP/chain.yaml:1:29)\" $TMP/err &&
	$CAMLAB check --format json $TMP/chain.yaml | test_grep '\"file\": \"$TMP/common/bad.yaml\", \"line\": 4, \"column\": 17' /dev/stdin
"

test_expect_success 'a cycle is an error' "
	printf 'include: [b.yaml]\n' >$TMP/common/a.yaml &&
	printf 'include: [a.yaml]\n' >$TMP/common/b.yaml &&
	printf 'include: [common/a.yaml, common/data.yaml, common/models.yaml]\n' >$TMP/cycle.yaml &&
	$CAMLAB check $TMP/cycle.yaml 2>$TMP/err; test \$? -eq 1 &&
	test_grep \"b.yaml:1:11: error: include cycle: '.*common/b.yaml' includes '.*common/a.yaml', which is being read\" $TMP/err &&
	printf 'include: [self.yaml]\n' >$TMP/self.yaml &&
	$CAMLAB check $TMP/self.yaml 2>$TMP/err2; test \$? -eq 1 && test_grep 'include cycle' $TMP/err2
"

test_expect_success 'devices, FIFOs, folders, missing files and deep nesting are refused' "
	mkfifo $TMP/fifo.yaml &&
	printf 'include: [/dev/zero, fifo.yaml, common, nothere.yaml]\n' >$TMP/dev.yaml &&
	$CAMLAB check $TMP/dev.yaml 2>$TMP/err; test \$? -eq 1 &&
	test_grep \"cannot include '/dev/zero': not a regular file\" $TMP/err &&
	test_grep \"cannot include '.*fifo.yaml': not a regular file\" $TMP/err &&
	test_grep \"cannot include '.*common': not a regular file\" $TMP/err &&
	test_grep \"cannot include '.*nothere.yaml': No such file\" $TMP/err &&
	i=0; while [ \$i -lt 20 ]; do printf 'include: [d%d.yaml]\n' \$((i + 1)) >$TMP/d\$i.yaml; i=\$((i + 1)); done &&
	printf 'seed: 1\n' >$TMP/d20.yaml &&
	$CAMLAB check $TMP/d0.yaml 2>$TMP/err2; test \$? -eq 1 &&
	test_grep 'includes nested more than 16 deep' $TMP/err2
"

test_expect_success 'overrides apply to the merged spec' "
	$CAMLAB check --canonical $TMP/merged.yaml models.b.input_size=30 data.limit=7 >$TMP/ov &&
	test_grep '^  input_size 30\$' $TMP/ov && test_grep '^  limit 7\$' $TMP/ov
"

test_expect_success 'Lua: include() merges the same way' "
	cat >$TMP/common/models.lua <<-EOS &&
	return { models = {
	  { name = 'a', file = '$TMP/models/cnn.pt', layers = { pre_gap = 'features.block5' } },
	  { name = 'b', file = '$TMP/models/cnn.pt', input_size = 28, layers = { pre_gap = 'features.block5' } },
	} }
	EOS
	printf 'return { data = { path = \"%s\", limit = 5, shuffle = true }, methods = { \"gradcam\" } }\n' $FM >$TMP/common/data.lua &&
	printf 'return { data = { limit = 6 }, methods = { \"shapleycam\" } }\n' >$TMP/common/data2.lua &&
	cat >$TMP/merged.lua <<-EOS &&
	include('common/models.lua')
	include('common/data.lua')
	include('common/data2.lua')
	experiment { name = 'm', data = { seed = 4 } }
	EOS
	$CAMLAB check --canonical $TMP/merged.lua >$TMP/got_lua &&
	cmp $TMP/want $TMP/got_lua &&
	printf 'include(\"../merged2.lua\")\nreturn { }\n' >$TMP/common/loop.lua &&
	printf 'include(\"common/loop.lua\")\nexperiment { }\n' >$TMP/merged2.lua &&
	$CAMLAB check $TMP/merged2.lua 2>$TMP/lerr; test \$? -eq 1 && test_grep 'include cycle' $TMP/lerr &&
	printf 'include(\"/dev/zero\")\nexperiment { }\n' >$TMP/dev.lua &&
	$CAMLAB check $TMP/dev.lua 2>$TMP/lerr2; test \$? -eq 1 &&
	test_grep 'not a regular file' $TMP/lerr2
"

test_expect_success 'the database keeps the spec as written and the included files with their hashes' "
	$CAMLAB run --no-progress $TMP/merged.yaml output=$TMP/out data.limit=2 2>$TMP/run.log &&
	sqlite3 $TMP/out/results.sqlite 'SELECT text FROM specs' >$TMP/text &&
	test_grep '^include: \[common/models.yaml' $TMP/text &&
	test_grep \"^#   include $TMP/common/data2.yaml \\(xxh64 [0-9a-f]{16}\\), from $TMP/merged.yaml:1:49\\\$\" $TMP/text &&
	test_grep '^#   override argument 5: data.limit=2' $TMP/text &&
	sqlite3 $TMP/out/results.sqlite 'SELECT canonical FROM specs' | test_grep '^  limit 2\$' /dev/stdin
"

test_done
