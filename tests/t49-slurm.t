#!/bin/sh
# t49-slurm.t - big studies in shards: `camlab run --shard I/N` runs every N-th chunk of 64 images of
# every run into OUTPUT/shards/, `camlab merge` gathers the shards into the numbers of a single-process
# run (saying which are missing, exit 1 until all are there), and `camlab submit` runs the shards as a
# Slurm array followed by the merge: with a stand-in sbatch that runs the jobs at once, and, where
# slurm-wlm and munge are installed and the test runs as root, on a real one-node Slurm started here
# (../shared/docs/SLURM.md's recipe), including a shard resubmitted with --only.
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
FM=/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz
[ -f $FM ] || skip_all "dataset-fashion-mnist is not installed"
command -v sqlite3 >/dev/null || skip_all "no sqlite3 command"

spec() { # spec NAME: 200 images (4 chunks of 64), 2 groups of 2 methods
	cat >"$TMP/$1.yaml" <<EOS
name: $1
output: $TMP/$1
batch: 16
models: [{name: fashion, file: $PWD/experiments/models/fashion_mnist_cnn.pt, layers: {pre_gap: features.block5}}]
data: {path: $FM, limit: 200}
methods: [gradcam, shapleycam]
utilities: [logit, rest]
outputs: {plots: false}
EOS
}
# kspec FILE OUTPUT NAME: 72 images (chunks of 64 and 8), one slow method (a shard can be stopped midway)
kspec() {
	cat >"$1" <<EOS
name: $3
output: $2
batch: 8
models: [{name: fashion, file: $PWD/experiments/models/fashion_mnist_cnn.pt, layers: {pre_gap: features.block5}}]
data: {path: $FM, limit: 72}
methods: [shapleycam]
utilities: [logit]
outputs: {plots: false}
EOS
}
# same_results REF GOT: byte for byte, the CSV exports and every results table of the database
same_results() {
	cmp "$1/images.csv" "$2/images.csv" && cmp "$1/aggregates.csv" "$2/aggregates.csv" &&
		cmp "$1/user_metrics.csv" "$2/user_metrics.csv" && dump_tables "$1" >"$TMP/.ref.tables" &&
		dump_tables "$2" >"$TMP/.got.tables" && cmp "$TMP/.ref.tables" "$TMP/.got.tables" &&
		test "$(wc -l <"$TMP/.ref.tables")" -gt 100
}
dump_tables() {
	sqlite3 -cmd '.timeout 10000' "$1/results.sqlite" \
		'SELECT * FROM images ORDER BY run_key, idx' 'SELECT * FROM aggregates ORDER BY run_key' \
		'SELECT run_key, idx, h, w, hex(data) FROM heatmaps ORDER BY run_key, idx' \
		'SELECT model, idx, path, h, w, hex(rgb) FROM inputs ORDER BY model, idx' \
		'SELECT * FROM classes ORDER BY model, idx' 'SELECT * FROM user_metrics ORDER BY run_key, idx, name' \
		'SELECT * FROM skipped ORDER BY run_key, idx' \
		'SELECT key, model, layer, method, utility, target, config, nr_images, state FROM runs ORDER BY key'
}
# jobs_of FILE: job and mjob, the array's and the merge's job ids that submit printed
jobs_of() {
	job=$(sed -n 's/.* as job \([0-9]*\), the merge as job \([0-9]*\)$/\1/p' "$1")
	mjob=$(sed -n 's/.* as job \([0-9]*\), the merge as job \([0-9]*\)$/\2/p' "$1")
	[ -n "$job" ] && [ -n "$mjob" ]
}
# (waiting up to 10 s for a lock: a merge job may still be closing the database it wrote)
agg() { sqlite3 -cmd '.timeout 10000' "$1/results.sqlite" 'SELECT r.method, r.utility, a.n, round(a.ad, 6), round(a.coh, 6), round(a.add_, 6) FROM aggregates a JOIN runs r ON r.key = a.run_key ORDER BY 1, 2'; }
for n in one sh fake few; do spec $n; done
sed -i 's/limit: 200/limit: 40/' $TMP/few.yaml # one chunk: shard 1 of 2 has nothing to do

test_expect_success 'a single process, for reference' "
	$CAMLAB run --no-progress $TMP/one.yaml 2>$TMP/one.log && agg $TMP/one >$TMP/one.agg &&
	test \$(wc -l <$TMP/one.agg) -eq 4
"

test_expect_success 'shards 0 and 2 of 3 run their chunks; merge says shard 1 is missing and exits 1' "
	$CAMLAB run --no-progress --shard 0/3 $TMP/sh.yaml 2>$TMP/s0.log &&
	test_grep 'shard 0 of 3 \(chunks of 64 images\), results in .*/sh/shards/shard-000-of-003' $TMP/s0.log &&
	test_grep 'fashion/pre_gap gradcam logit predicted x 2 method\(s\): 72 image\(s\)' $TMP/s0.log &&
	$CAMLAB run --no-progress --shard 2/3 $TMP/sh.yaml 2>$TMP/s2.log &&
	test_grep 'x 2 method\(s\): 64 image\(s\)' $TMP/s2.log &&
	test_must_fail $CAMLAB merge $TMP/sh.yaml 2>$TMP/m1.log && cat $TMP/m1.log &&
	test_grep '^shard 0 of 3: 288 image result\(s\)' $TMP/m1.log &&
	test_grep '^shard 2 of 3: 256 image result\(s\)' $TMP/m1.log &&
	test_grep '^shard 1 of 3: missing \(never started\)' $TMP/m1.log &&
	test_grep '0 of 4 run\(s\) done; run the missing or incomplete shards again' $TMP/m1.log &&
	test_grep '^1 shard\(s\) of 3 missing or incomplete; this runs them again and merges after them:' $TMP/m1.log &&
	test_grep \"^  camlab submit --tasks 3 --only 1 '\$(realpath $TMP/sh.yaml)'\\\$\" $TMP/m1.log &&
	$CAMLAB status $TMP/sh >$TMP/st1 && cat $TMP/st1 && test_grep '^shard-001-of-003: missing \(never started\)' $TMP/st1 &&
	test_grep \"^  camlab submit --tasks 3 --only 1 '\$(realpath $TMP/sh.yaml)'\\\$\" $TMP/st1 &&
	$CAMLAB plan $TMP/sh.yaml >$TMP/plan.out && test_grep '^4 runs: 0 done, 4 partial' $TMP/plan.out &&
	test_grep '^2 shard folder\(s\) in .*/sh/shards: .camlab merge .*sh.yaml. gathers them' $TMP/plan.out
"

test_expect_success 'the missing shard, merged: the numbers of the single process, and its report' "
	$CAMLAB run --no-progress --shard 1/3 $TMP/sh.yaml 2>$TMP/s1.log &&
	$CAMLAB merge $TMP/sh.yaml 2>$TMP/m2.log && cat $TMP/m2.log &&
	test_grep '^shard 1 of 3: 256 image result\(s\)' $TMP/m2.log &&
	test_grep 'merged 3 shard folder\(s\) into .*: 4 of 4 run\(s\) done' $TMP/m2.log &&
	agg $TMP/sh >$TMP/sh.agg && cmp $TMP/one.agg $TMP/sh.agg && same_results $TMP/one $TMP/sh &&
	sqlite3 $TMP/sh/results.sqlite 'SELECT count(*) FROM images' | test_grep '^800\$' /dev/stdin &&
	test -f $TMP/sh/report/index.html && ls $TMP/sh/report/tables/*.md &&
	$CAMLAB status $TMP/sh >$TMP/status && cat $TMP/status &&
	test_grep '^done +4 run\(s\), 800 of 800 image results stored' $TMP/status &&
	test_grep '^shard-001-of-003: 256 image results stored; runs: done 4' $TMP/status
"

test_expect_success 'a shard run again resumes: nothing is recomputed' "
	$CAMLAB run --no-progress --shard 1/3 $TMP/sh.yaml 2>$TMP/s1b.log &&
	test \$(grep -c '(already done)' $TMP/s1b.log) -eq 2
"

if ! command -v "$PY" >/dev/null 2>&1; then
	test_skip "a shard another process is running is not started twice" "no python at $PY to hold the lock"
else
test_expect_success 'a shard another process is running is not started twice' "
	$PY -c 'import fcntl, sys, time
f = open(sys.argv[1], \"w\"); fcntl.lockf(f, fcntl.LOCK_EX); open(sys.argv[2], \"w\").close(); time.sleep(20)' \
		$TMP/sh/shards/shard-001-of-003/lock $TMP/locked &
	holder=\$! && i=0 && while [ ! -f $TMP/locked ] && [ \$i -lt 100 ]; do sleep 0.1; i=\$((i + 1)); done &&
	test_must_fail $CAMLAB run --no-progress --shard 1/3 $TMP/sh.yaml 2>$TMP/lock.err;
	$CAMLAB status $TMP/sh >$TMP/lock.status; kill \$holder; cat $TMP/lock.status &&
	test_grep '^shard-001-of-003: 256 image results stored; runs: done 4; running now\$' $TMP/lock.status &&
	test_grep 'another process is running this shard \(.*shard-001-of-003/lock is locked\): not starting a second one' $TMP/lock.err
"
fi

test_expect_success 'a shard with no images need not run: the merge of the other is complete, exit 0' "
	$CAMLAB run --no-progress --shard 0/2 $TMP/few.yaml 2>/dev/null &&
	$CAMLAB status $TMP/few >$TMP/few.status && cat $TMP/few.status &&
	test_grep '^no merged results yet \\(camlab merge gathers the shards into .*/few/results.sqlite\\)' $TMP/few.status &&
	test_grep '^shard-000-of-002: 160 image results stored; runs: done 4\$' $TMP/few.status &&
	test_grep '^shard-001-of-002: nothing to do \\(never started\\)' $TMP/few.status &&
	! grep -q 'camlab submit' $TMP/few.status &&
	$CAMLAB merge $TMP/few.yaml 2>$TMP/few.log && cat $TMP/few.log &&
	test_grep '^shard 1 of 2: nothing to do \\(40 image\\(s\\) make 1 chunk\\(s\\) of 64\\)' $TMP/few.log &&
	test_grep 'merged 1 shard folder\\(s\\) into .*: 4 of 4 run\\(s\\) done\$' $TMP/few.log &&
	! grep -q 'camlab submit' $TMP/few.log
"

test_expect_success 'bad --shard values and a merge without shards are clear errors' "
	test_must_fail $CAMLAB run --shard 3/3 $TMP/sh.yaml 2>$TMP/err &&
	test_grep \"shard needs I/N with 0 <= I < N, not '3/3'\" $TMP/err &&
	test_must_fail $CAMLAB run --shard x $TMP/sh.yaml 2>$TMP/err &&
	test_grep \"shard needs I/N\" $TMP/err &&
	test_must_fail $CAMLAB run --shard 0/99999999999 $TMP/sh.yaml 2>$TMP/err &&
	test_grep \"shard 0/99999999999: at most 10000 shards \\(Slurm's MaxArraySize\" $TMP/err &&
	test_must_fail $CAMLAB submit --tasks 10001 $TMP/sh.yaml 2>$TMP/err &&
	test_grep 'tasks: 10001 is out of range: 1 to 10000 shards' $TMP/err &&
	mkdir $TMP/sh/shards/shard-000-of-005 && test_must_fail $CAMLAB merge $TMP/sh.yaml 2>$TMP/err &&
	test_must_fail $CAMLAB submit --dry-run --no-check --only 1 $TMP/sh.yaml 2>>$TMP/err && rmdir $TMP/sh/shards/shard-000-of-005 && cat $TMP/err &&
	test \$(grep -c 'shards in .*/sh/shards are of different counts (3 and 5): a merge gathers the shards of one count' $TMP/err) -eq 2 &&
	test_must_fail $CAMLAB merge $TMP/one.yaml 2>$TMP/err &&
	test_grep 'no shards in .*/one/shards: run .camlab submit. \(Slurm\) or .camlab run --shard I/N. first' $TMP/err
"

test_expect_success 'submit --dry-run writes the array and merge scripts' "
	$CAMLAB submit --dry-run --tasks 5 --throttle 2 --partition gpu --time 1:00:00 --sbatch=--qos=long \
		--cpus-per-task 4 $TMP/fake.yaml >$TMP/dry.out && cat $TMP/dry.out &&
	test_grep \"^sbatch --parsable --array=0-4%2 '$TMP/fake/slurm/shard.sbatch'\" $TMP/dry.out &&
	test_grep 'afterany:JOBID' $TMP/dry.out &&
	S=$TMP/fake/slurm/shard.sbatch && cat \$S &&
	test_grep '^#SBATCH --partition=\"gpu\"\$' \$S && test_grep '^#SBATCH --time=\"1:00:00\"\$' \$S &&
	test_grep '^#SBATCH \"--qos=long\"\$' \$S && test_grep '^#SBATCH --cpus-per-task=4' \$S &&
	test_grep \"^#SBATCH --output=\\\"$TMP/fake/slurm/shard-%a.%A.log\\\"\\\$\" \$S &&
	test_grep '^#SBATCH --output=\".*/merge.%j.log\"\$' $TMP/fake/slurm/merge.sbatch &&
	test_grep 'run --no-progress --shard .\\\$SLURM_ARRAY_TASK_ID/5.' \$S &&
	! grep -q -- '--gres' \$S &&
	test_grep \" merge '$TMP/fake.yaml'\" $TMP/fake/slurm/merge.sbatch &&
	test_must_fail $CAMLAB submit --dry-run --tasks 3 --only 1,3 $TMP/fake.yaml 2>$TMP/err &&
	test_grep 'only needs shard numbers from 0 to 2' $TMP/err
"

test_expect_success 'submit --only takes the shards count from the output folder, and refuses another' "
	$CAMLAB submit --dry-run --no-check --only 1-2 $TMP/sh.yaml >$TMP/dry2.out && cat $TMP/dry2.out &&
	test_grep '^sbatch --parsable --array=1-2 ' $TMP/dry2.out &&
	test_grep 'run --no-progress --shard .\\\$SLURM_ARRAY_TASK_ID/3.' $TMP/sh/slurm/shard.sbatch &&
	test_must_fail $CAMLAB submit --dry-run --no-check --tasks 8 --only 2 $TMP/sh.yaml 2>$TMP/err && cat $TMP/err &&
	test_grep 'sh/shards holds shards of 3: submit them with --tasks 3 \\(or without --tasks\\); to start again with 8 shards, remove .*/sh/shards first' $TMP/err
"

test_expect_success 'submit warns of shards that will have nothing to do' "
	$CAMLAB submit --dry-run --no-check --tasks 6 $TMP/fake.yaml >/dev/null 2>$TMP/err && cat $TMP/err &&
	test_grep '^warning: 6 shards for 200 image\\(s\\), 4 chunk\\(s\\) of 64: shards 4-5 will have nothing to do \\(--tasks 4 is enough\\)' $TMP/err
"

# A stand-in sbatch: runs the array's tasks (or the merge) at once, one after the other, as Slurm would
# run the scripts, and prints a job id.
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

test_expect_success 'submit with a stand-in sbatch: the array, then the merge after it, to the reference numbers' "
	PATH=$TMP/bin:\$PATH FAKE_LOG=$TMP/fake.calls $CAMLAB submit --tasks 3 $TMP/fake.yaml >$TMP/sub.out &&
	cat $TMP/sub.out $TMP/fake.calls &&
	test_grep '^submitted fake: shards 0-2 of 3 as job 101, the merge as job 102' $TMP/sub.out &&
	test_grep '^--parsable --dependency=afterany:101 ' $TMP/fake.calls &&
	test_grep 'merged 3 shard folder\(s\)' $TMP/fake.calls.jobs &&
	same_results $TMP/one $TMP/fake
"

# a spec whose path has a line break, then a command: it must stay inside its word in the job scripts
NL="$TMP/nl dir"
mkdir -p "$NL"
nlspec="$NL/q
touch pwned
.yaml"
spec nl && sed 's/limit: 200/limit: 8/; s/methods: .*/methods: [gradcam]/; s/utilities: .*/utilities: [logit]/' \
	$TMP/nl.yaml >"$nlspec"
test_expect_success 'a line break in the spec path runs nothing in the job scripts' '
	(cd "$NL" && PATH=$TMP/bin:$PATH FAKE_LOG=$TMP/nl.calls $CAMLAB submit --no-check --tasks 2 "$nlspec") \
		>$TMP/nl.out 2>&1; cat $TMP/nl.out $TMP/nl.calls.jobs &&
	test ! -e "$NL/pwned" && test_grep "^submitted nl: shards 0-1 of 2" $TMP/nl.out &&
	test_grep "merged 2 shard folder\(s\) into .*: 1 of 1 run\(s\) done\$" $TMP/nl.calls.jobs &&
	test_grep "^shard 1 of 2: nothing to do" $TMP/nl.calls.jobs
'

test_expect_success 'a failing sbatch is a clear error' "
	printf '#!/bin/sh\necho sbatch: error: invalid partition >&2\nexit 1\n' >$TMP/bin/sbatch &&
	test_must_fail env PATH=$TMP/bin:\$PATH $CAMLAB submit --no-check $TMP/fake.yaml 2>$TMP/err &&
	cat $TMP/err && test_grep 'sbatch failed \(exit status 1\): sbatch --parsable --array=0-2 ' $TMP/err &&
	mkdir -p $TMP/empty && test_must_fail env PATH=$TMP/empty $CAMLAB submit --no-check $TMP/fake.yaml 2>$TMP/err &&
	test_grep 'no sbatch here: submit from a Slurm login node' $TMP/err
"

# ---- a real Slurm on this machine (../shared/docs/SLURM.md)
real_slurm() {
	for c in slurmctld slurmd munged sbatch squeue sinfo; do
		command -v $c >/dev/null || [ -x /usr/sbin/$c ] || { echo "no $c (slurm-wlm, munge)"; return 1; }
	done
	[ "$(id -u)" -eq 0 ] || { echo "not root: cannot start slurmctld, slurmd and munged"; return 1; }
	# another Slurm here (a real one, or an earlier run's still exiting) would own the ports
	if ps -C slurmctld,slurmd -o stat= 2>/dev/null | grep -qv Z; then
		echo "a slurmctld or slurmd is already running here"
		return 1
	fi
	host=$(hostname -s)
	getent hosts "$host" >/dev/null || { echo "$host does not resolve"; return 1; }
	S=$TMP/slurm
	mkdir -p $S/state $S/spool $S/fakedev
	# two stand-in GPUs (character devices, as gres wants), so that --gres=gpu:N is scheduled
	mknod $S/fakedev/nvidia0 c 1 3 && mknod $S/fakedev/nvidia1 c 1 3 || { echo "cannot mknod"; return 1; }
	printf 'AutoDetect=off\nNodeName=%s Name=gpu File=%s/fakedev/nvidia[0-1]\n' "$host" "$S" >$S/gres.conf
	cat >$S/slurm.conf <<EOS
ClusterName=camlabtest
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MaxArraySize=1001
StateSaveLocation=$S/state
SlurmdSpoolDir=$S/spool
SlurmctldPidFile=$S/slurmctld.pid
SlurmdPidFile=$S/slurmd.pid
SlurmctldLogFile=$S/slurmctld.log
SlurmdLogFile=$S/slurmd.log
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
JobAcctGatherType=jobacct_gather/none
MpiDefault=none
GresTypes=gpu
NodeName=$host NodeAddr=127.0.0.1 CPUs=2 RealMemory=4000 Gres=gpu:2 State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOS
	export SLURM_CONF=$S/slurm.conf
	if ! pgrep -x munged >/dev/null; then
		install -d -o munge -g munge /run/munge && runuser -u munge -- /usr/sbin/munged ||
			{ echo "cannot start munged"; return 1; }
		STARTED_MUNGE=1
	fi
	/usr/sbin/slurmctld -c && /usr/sbin/slurmd || { echo "cannot start slurmctld or slurmd"; return 1; }
	i=0
	while [ $i -lt 30 ]; do
		sinfo -h -o '%t' 2>/dev/null | grep -q idle && return 0
		sleep 1
		i=$((i + 1))
	done
	echo "the node did not come up idle in 30 s"
	return 1
}
# wait_idle: until Slurm has no job left (a merge job goes on building its report after its log line)
wait_idle() {
	i=0
	while [ $i -lt 60 ] && [ -n "$(squeue -h 2>/dev/null)" ]; do
		sleep 1
		i=$((i + 1))
	done
}
stop_slurm() {
	# the jobs first (a finished job's step lingers a moment), then the daemons started here
	wait_idle
	pids=
	for f in slurmd slurmctld; do
		[ -f "$S/$f.pid" ] && pids="$pids $(cat $S/$f.pid)"
	done
	[ -n "$pids" ] && kill $pids 2>/dev/null
	[ -n "${STARTED_MUNGE:-}" ] && pkill -x munged
	# until they are gone (a zombie no longer owns its ports)
	i=0
	while [ $i -lt 100 ] && [ -n "$pids" ] &&
		ps -o stat= -p $(echo $pids | tr ' ' ,) 2>/dev/null | grep -qv Z; do
		sleep 0.1
		i=$((i + 1))
	done
}
# wait_file FILE PATTERN SECONDS
wait_file() {
	i=0
	while [ $i -lt $3 ]; do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 1
		i=$((i + 1))
	done
	return 1
}

if real_slurm >$TMP/why 2>&1; then
	# (72 images, one run: a chunk of 64 and one of 8, whatever the shards' count)
	kspec $TMP/kref.yaml $TMP/kref kref
	kspec $TMP/real.yaml $TMP/real real
	test_expect_success 'submit on a real Slurm: 3 shards 2 at a time, then the merge, to the reference results' "
		$CAMLAB run --no-progress $TMP/kref.yaml 2>$TMP/kref.log &&
		$CAMLAB submit --tasks 3 --throttle 2 $TMP/real.yaml >$TMP/real.out && cat $TMP/real.out &&
		test_grep '^submitted real: shards 0-2%2 of 3 as job [0-9]*, the merge as job [0-9]*' $TMP/real.out &&
		jobs_of $TMP/real.out && wait_file $TMP/real/slurm/merge.\$mjob.log 'merged 3 shard folder' 180 && wait_idle &&
		cat $TMP/real/slurm/merge.\$mjob.log && same_results $TMP/kref $TMP/real &&
		test -f $TMP/real/slurm/shard-2.\$job.log
	"
	# names with a space and a % everywhere: the project folder (the jobs' working folder), the output
	# folder (the logs' names are Slurm patterns), the experiment's name (the jobs' names)
	P="$TMP/sc d%ir"
	mkdir -p "$P"
	kspec "$P/my s%jtudy.yaml" "../o w%jx/out" '"my study%x"'
	CMT='--comment=a "b" #c\d'
	test_expect_success 'a space and a % in every name, and an idle shard, on a real Slurm: the reference results' '
		(cd "$P" && $CAMLAB submit --no-check --tasks 3 --sbatch="$CMT" "my s%jtudy.yaml") >$TMP/q.out 2>&1; cat $TMP/q.out &&
		jobs_of $TMP/q.out && scontrol show job $mjob | grep -F " Comment=${CMT#--comment=}" &&
		test_grep "^warning: 3 shards for 72 image\(s\), 2 chunk\(s\) of 64: shard 2 will have nothing to do \(--tasks 2 is enough\)" $TMP/q.out &&
		jobs_of $TMP/q.out && O="$TMP/o w%jx/out" && test_grep "^#SBATCH --job-name=\"camlab-my study%x\"\$" "$O/slurm/shard.sbatch" &&
		wait_file "$O/slurm/merge.$mjob.log" "merged 3 shard folder" 180 && wait_idle && cat "$O/slurm/merge.$mjob.log" &&
		test_grep "^shard 2 of 3: nothing to do \(72 image\(s\) make 2 chunk\(s\) of 64\)" "$O/slurm/merge.$mjob.log" &&
		test_grep "merged 3 shard folder\(s\) into .*: 1 of 1 run\(s\) done\$" "$O/slurm/merge.$mjob.log" &&
		test_grep "^shard 0 \(job [0-9]*\) on " "$O/slurm/shard-0.$job.log" && test -f "$O/slurm/shard-2.$job.log" &&
		same_results $TMP/kref "$O"
	'
	# a shard killed midway and one cancelled while pending, named by merge and status with the command
	# that runs them again; that command, run, completes the results (one log per attempt kept). The
	# shard of 64 images takes a second on a quiet machine: it pauses 0.4 s after each batch (sbatch
	# passes the environment on) so that the kill lands midway, not after its last batch
	kspec $TMP/kill.yaml $TMP/kill kill
	K=$TMP/kill/shards/shard-000-of-003/results.sqlite
	test_expect_success 'a shard killed midway, one cancelled while pending: named, resubmitted, the reference results' '
		wait_idle && CAMLAB_TEST_BATCH_PAUSE_MS=400 $CAMLAB submit --no-check --tasks 3 --throttle 1 $TMP/kill.yaml >$TMP/k.out &&
		cat $TMP/k.out &&
		jobs_of $TMP/k.out && scancel ${job}_1 && i=0 &&
		while [ $i -lt 900 ] && [ "$(sqlite3 -cmd ".timeout 5000" $K "SELECT count(*) FROM images" 2>/dev/null || echo 0)" -lt 8 ]; do
			sleep 0.1; i=$((i + 1)); done && scancel ${job}_0 &&
		M=$TMP/kill/slurm/merge.$mjob.log && wait_file $M "merged 3 shard" 180 && wait_idle && cat $M &&
		test_grep "^shard 0 of 3: [0-9]+ image result\(s\), incomplete \(stopped partway: killed, cancelled, out of time or failed; its log says\)" $M &&
		test_grep "^shard 1 of 3: no results \(not started yet, cancelled, or stopped before storing any\)" $M &&
		test_grep "^shard 2 of 3: nothing to do" $M && test_grep "0 of 1 run\(s\) done; run the missing or incomplete" $M &&
		test_grep "^2 shard\(s\) of 3 missing or incomplete; this runs them again and merges after them:\$" $M &&
		test_grep "^  camlab submit --tasks 3 --only 0-1 .--no-check. .--throttle=1. .$TMP/kill.yaml.\$" $M &&
		test_grep "CANCELLED" $TMP/kill/slurm/shard-0.$job.log && ! test -e $TMP/kill/slurm/shard-1.$job.log &&
		$CAMLAB status $TMP/kill >$TMP/k.status && cat $TMP/k.status &&
		test_grep "^shard-000-of-003: [0-9]+ image results stored; runs: partial 1; incomplete \(stopped partway" $TMP/k.status &&
		test_grep "^shard-001-of-003: no results \(not started yet, cancelled, or stopped before storing any\)" $TMP/k.status &&
		test_grep "^shard-002-of-003: 0 image results stored; runs: done 1; nothing to do\$" $TMP/k.status &&
		grep "^  camlab submit" $M >$TMP/k.cmd && grep "^  camlab submit" $TMP/k.status | cmp - $TMP/k.cmd &&
		first=$mjob first_job=$job && cmd=$(sed -n "s/^  camlab submit //p" $M) && eval "$CAMLAB submit $cmd" >$TMP/k2.out && cat $TMP/k2.out &&
		test_grep "^submitted kill: shards 0-1%1 of 3 as job" $TMP/k2.out && jobs_of $TMP/k2.out &&
		wait_file $TMP/kill/slurm/merge.$mjob.log "merged 3 shard" 180 && wait_idle && cat $TMP/kill/slurm/merge.$mjob.log &&
		test_grep "1 of 1 run\(s\) done\$" $TMP/kill/slurm/merge.$mjob.log && ! grep -q "camlab submit" $TMP/kill/slurm/merge.$mjob.log &&
		test_grep "0 of 1 run" $TMP/kill/slurm/merge.$first.log && test_grep "CANCELLED" $TMP/kill/slurm/shard-0.$first_job.log &&
		test_grep "^shard 0 of 3 done" $TMP/kill/slurm/shard-0.$job.log && test_grep "^shard 1 of 3 done" $TMP/kill/slurm/shard-1.$job.log &&
		$CAMLAB status $TMP/kill >$TMP/k2.status && ! grep -q "camlab submit" $TMP/k2.status &&
		same_results $TMP/kref $TMP/kill
	'
	kspec $TMP/gres.yaml $TMP/gres gres
	test_expect_success 'submit --gpus-per-task 1: the tasks get a GPU each from Slurm (two stand-in GPUs)' "
		wait_idle && $CAMLAB submit --tasks 3 --gpus-per-task 1 $TMP/gres.yaml >$TMP/gres.out && cat $TMP/gres.out &&
		test_grep '^#SBATCH --gres=gpu:1' $TMP/gres/slurm/shard.sbatch &&
		jobs_of $TMP/gres.out && wait_file $TMP/gres/slurm/merge.\$mjob.log 'merged 3 shard folder' 180 && wait_idle &&
		cat $TMP/gres/slurm/shard-*.log | grep '^shard' &&
		test \$(cat $TMP/gres/slurm/shard-*.log | grep -c '^shard [0-2] (job [0-9]*) on .*, GPUs [01]\$') -eq 3 &&
		same_results $TMP/kref $TMP/gres
	"
	stop_slurm
else
	echo "# no real Slurm here: $(tail -n 1 $TMP/why)"
	stop_slurm 2>/dev/null
fi

test_done
