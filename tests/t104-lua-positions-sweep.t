#!/bin/sh
# t104-lua-positions-sweep.t - a Lua spec's wrong value that came from the command line points at the
# argument, and one from an included file at that file's line:col with the chain of includes, as in YAML
# (t90, t91); `camlab submit --sweep` checks every point, then submits one array whose tasks run every
# point (scripts quoted), and a resubmitted sweep resumes: its run keys are `camlab plan --sweep`'s.
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
FM=/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz
[ -f $FM ] || skip_all "dataset-fashion-mnist is not installed"
command -v sqlite3 >/dev/null || skip_all "no sqlite3 command"
M=$PWD/experiments/models/fashion_mnist_cnn.pt

cat >$TMP/spec.lua <<EOS
experiment {
  name = "ov", output = "$TMP/ov",
  models = { { name = "fashion", file = "$M", layers = { pre_gap = "features.block5" } } },
  data = { path = "$FM", limit = 20 },
  methods = { "gradcam" },
}
EOS
cat >$TMP/spec.yaml <<EOS
name: ov
output: $TMP/ov
models:
  - name: fashion
    file: $M
    layers: {pre_gap: features.block5}
data: {path: $FM, limit: 20}
methods: [gradcam]
EOS

test_expect_success 'Lua: a wrong value from an override is the argument'"'"'s error, as in YAML' "
	for f in spec.yaml spec.lua; do
		$CAMLAB check $TMP/\$f data.seed=x 'data.path=[1]' models.fashion.input_size=-3 methods=gradcam,shapleycm \
			'models.0.layers={pre_gap: 3}' 2>$TMP/err.\$f; test \$? -eq 1 || exit 1
		cat $TMP/err.\$f
		test_grep \"^argument 3: error: expected a non-negative integer for 'seed', not 'x'\\\$\" $TMP/err.\$f &&
		test_grep \"^argument 4: error: expected a path for 'path', not a (table|list)\\\$\" $TMP/err.\$f &&
		test_grep \"^argument 5: error: expected an integer from 0 to 65536 for 'input_size', not -3\\\$\" $TMP/err.\$f &&
		test_grep \"^argument 6: error: unknown method 'shapleycm'; did you mean 'shapleycam'\\\\?\\\$\" $TMP/err.\$f &&
		! grep -q '^/' $TMP/err.\$f || exit 1
	done
"

mkdir -p $TMP/common
printf 'return {\n  data = {\n    seed = "big" },\n  methods = { "gradcam", "shapleycm" },\n}\n' >$TMP/common/bad.lua
printf -- '-- the middle\nlocal t = include("bad.lua")\nreturn { }\n' >$TMP/common/mid.lua
cat >$TMP/inc.lua <<EOS
  include("common/mid.lua")
experiment {
  name = "inc", output = "$TMP/inc",
  models = { { name = "fashion", file = "$M", layers = { pre_gap = "features.block5" } } },
  data = { path = "$FM", limit = 20 },
}
EOS
cat >$TMP/common/model.lua <<EOS
return { models = {
  { name = "a", file = "$M", layers = { pre_gap = "features.block5" } },
  { name = "b", file = "$M",
    input_size = "big", layers = { pre_gap = "features.block5" } },
} }
EOS
cat >$TMP/inc2.lua <<EOS
include("common/model.lua")
experiment { name = "inc2", models = { "a", "b" }, data = { path = "$FM", limit = 20, seed = 1 }, methods = { "gradcam" } }
EOS

test_expect_success 'Lua: a wrong value from an included file points there, with the chain of includes' "
	$CAMLAB check $TMP/inc.lua 2>$TMP/err; test \$? -eq 1 && cat $TMP/err &&
	grep -Fx \"$TMP/common/bad.lua:3:5: error: expected a non-negative integer for 'seed', not 'big' (included from $TMP/common/mid.lua:2:11, from $TMP/inc.lua:1:3)\" $TMP/err &&
	grep -Fx \"$TMP/common/bad.lua:4:26: error: unknown method 'shapleycm'; did you mean 'shapleycam'? (included from $TMP/common/mid.lua:2:11, from $TMP/inc.lua:1:3)\" $TMP/err &&
	$CAMLAB check --format json $TMP/inc.lua | test_grep '\"file\": \"$TMP/common/bad.lua\", \"line\": 3, \"column\": 5' /dev/stdin &&
	$CAMLAB check $TMP/inc2.lua 2>$TMP/err2; test \$? -eq 1 && cat $TMP/err2 &&
	grep -Fx \"$TMP/common/model.lua:4:5: error: expected an integer for 'input_size', not 'big' (included from $TMP/inc2.lua:1:1)\" $TMP/err2
"

# ---- camlab submit --sweep, with t49's stand-in sbatch: it runs the array's tasks, then the merge, at once
mkdir -p $TMP/bin
cat >$TMP/bin/sbatch <<'EOS'
#!/bin/sh
echo "$*" >>"$FAKE_LOG"
array="" script=""
for a in "$@"; do
	case $a in
	--array=*) array=${a#--array=} ;;
	--*) ;;
	*) script=$a ;;
	esac
done
n=$(wc -l <"$FAKE_LOG")
if [ -n "$array" ]; then
	case $array in *-*) ids=$(seq "${array%%-*}" "${array#*-}") ;; *) ids=$(echo "$array" | tr , ' ') ;; esac
	for i in $ids; do SLURM_ARRAY_TASK_ID=$i sh "$script" >>"$FAKE_LOG.jobs" 2>&1; done
else
	sh "$script" >>"$FAKE_LOG.jobs" 2>&1
fi
echo "10$n"
EOS
chmod +x $TMP/bin/sbatch
# 72 images: two chunks of 64 and 8, so two shards
cat >$TMP/sw.lua <<EOS
experiment {
  name = "sw", output = "$TMP/sw", batch = 24,
  models = { { name = "fashion", file = "$M", layers = { pre_gap = "features.block5" } } },
  data = { path = "$FM", limit = 72 },
  methods = { "gradcam" }, utilities = { "rest" },
  outputs = { plots = false },
}
EOS
SW="--sweep utilities=rest,logit"

test_expect_success 'submit --sweep: every point checked before anything is written or submitted' "
	PATH=$TMP/bin:\$PATH FAKE_LOG=$TMP/bad.calls $CAMLAB submit --tasks 2 --sweep utilities=rest,lgit $TMP/sw.lua \
		2>$TMP/err; test \$? -eq 1 && cat $TMP/err &&
	test_grep \"unknown utility 'lgit'\" $TMP/err && test_grep 'with utilities=lgit' $TMP/err &&
	test_grep 'nothing submitted' $TMP/err && ! test -e $TMP/sw && ! test -e $TMP/bad.calls &&
	$CAMLAB submit --tasks 2 --no-check --sweep output=$TMP/a,$TMP/b $TMP/sw.lua 2>$TMP/err2; test \$? -eq 1 &&
	test_grep 'points write into different folders' $TMP/err2
"

test_expect_success 'submit --sweep --dry-run: one array and one merge, each naming the sweep and the overrides, quoted' "
	$CAMLAB submit --dry-run --no-check --tasks 2 --sweep 'utilities=rest,logit' $TMP/sw.lua \"name=it's\" >$TMP/dry &&
	cat $TMP/dry $TMP/sw/slurm/shard.sbatch $TMP/sw/slurm/merge.sbatch &&
	test \$(grep -c '^sbatch ' $TMP/dry) -eq 2 &&
	grep -F \" run --no-progress --shard \\\"\\\$SLURM_ARRAY_TASK_ID/2\\\" --sweep 'utilities=rest,logit' '$TMP/sw.lua' 'name=it'\\\\''s'\" $TMP/sw/slurm/shard.sbatch &&
	grep -F \" merge --sweep 'utilities=rest,logit' '$TMP/sw.lua' 'name=it'\\\\''s'\" $TMP/sw/slurm/merge.sbatch &&
	test_grep 'for each of the sweep.s 2 points' $TMP/sw/slurm/shard.sbatch &&
	rm -r $TMP/sw
"

test_expect_success 'a sweep submitted with a shard missing, then resubmitted: it resumes, with the run keys of plan --sweep' "
	PATH=$TMP/bin:\$PATH FAKE_LOG=$TMP/sw1.calls $CAMLAB submit --no-check --tasks 2 --only 0 $SW $TMP/sw.lua >$TMP/sub1 2>&1;
	cat $TMP/sub1 $TMP/sw1.calls.jobs &&
	test_grep '^submitted sw: shards 0 of 2 as job 101, the merge as job 102' $TMP/sub1 &&
	test \$(grep -c 'sweep point [12] of 2' $TMP/sw1.calls.jobs) -eq 4 &&
	test_grep 'shard 1 of 2: missing' $TMP/sw1.calls.jobs &&
	redo=\$(sed -n 's/^  \\(camlab submit --tasks 2 --only 1 .*\\)/\\1/p' $TMP/sw1.calls.jobs | head -n 1) &&
	echo \"\$redo\" | test_grep \"^camlab submit --tasks 2 --only 1 '--no-check' '--sweep=utilities=rest,logit' '$TMP/sw.lua'\\\$\" /dev/stdin &&
	sqlite3 $TMP/sw/shards/shard-000-of-002/results.sqlite 'SELECT run_key, idx, ad FROM images ORDER BY 1, 2' >$TMP/shard0 &&
	test \$(wc -l <$TMP/shard0) -eq 128 &&
	redo=\$(echo \"\$redo\" | sed 's|^camlab|$CAMLAB|') &&
	PATH=$TMP/bin:\$PATH FAKE_LOG=$TMP/sw2.calls sh -c \"\$redo\" >$TMP/sub2 2>&1; cat $TMP/sub2 $TMP/sw2.calls.jobs &&
	test_grep '^submitted sw: shards 1 of 2' $TMP/sub2 &&
	test \$(grep -c 'merged 2 shard folder.s. into .*: 1 of 1 run.s. done\$' $TMP/sw2.calls.jobs) -eq 2 &&
	sqlite3 $TMP/sw/shards/shard-000-of-002/results.sqlite 'SELECT run_key, idx, ad FROM images ORDER BY 1, 2' | cmp - $TMP/shard0 &&
	$CAMLAB plan $SW $TMP/sw.lua >$TMP/plan && cat $TMP/plan &&
	test \$(grep -c '^1 runs: 1 done' $TMP/plan) -eq 2 &&
	grep -oE '^[0-9a-f]{16} ' $TMP/plan | tr -d ' ' | sort >$TMP/keys_plan &&
	sqlite3 $TMP/sw/results.sqlite 'SELECT key FROM runs' | sort >$TMP/keys_db && cmp $TMP/keys_plan $TMP/keys_db &&
	test \$(wc -l <$TMP/keys_db) -eq 2 &&
	test \$(sqlite3 $TMP/sw/results.sqlite 'SELECT count(*) FROM images') -eq 144
"

test_expect_success 'run --sweep: the progress line says which point of how many is running' "
	$CAMLAB run --no-progress --log-every 0.001 --limit 8 --sweep utilities=rest,logit $TMP/sw.lua output=$TMP/prog \
		2>$TMP/prog.log && cat $TMP/prog.log &&
	test_grep '^\\[point 1/2\\] \\[run 1/1\\] fashion/pre_gap gradcam rest ' $TMP/prog.log &&
	test_grep '^\\[point 2/2\\] \\[run 1/1\\] fashion/pre_gap gradcam logit ' $TMP/prog.log &&
	$CAMLAB run --no-progress --log-every 0.001 --limit 8 $TMP/sw.lua output=$TMP/prog1 2>$TMP/prog1.log &&
	test_grep '^\\[run 1/1\\]' $TMP/prog1.log && ! grep -q 'point' $TMP/prog1.log
"

test_done
