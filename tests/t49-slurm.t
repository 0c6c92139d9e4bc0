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
	$CAMLAB plan $TMP/sh.yaml >$TMP/plan.out && test_grep '^4 runs: 0 done, 4 partial' $TMP/plan.out &&
	test_grep '^2 shard folder\(s\) in .*/sh/shards: .camlab merge .*sh.yaml. gathers them' $TMP/plan.out
"

test_expect_success 'the missing shard, merged: the numbers of the single process, and its report' "
	$CAMLAB run --no-progress --shard 1/3 $TMP/sh.yaml 2>$TMP/s1.log &&
	$CAMLAB merge $TMP/sh.yaml 2>$TMP/m2.log && cat $TMP/m2.log &&
	test_grep '^shard 1 of 3: 256 image result\(s\)' $TMP/m2.log &&
	test_grep 'merged 3 shard folder\(s\) into .*: 4 of 4 run\(s\) done' $TMP/m2.log &&
	agg $TMP/sh >$TMP/sh.agg && cmp $TMP/one.agg $TMP/sh.agg &&
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
	test_must_fail $CAMLAB run --no-progress --shard 1/3 $TMP/sh.yaml 2>$TMP/lock.err; kill \$holder;
	test_grep 'another process is running this shard \(.*shard-001-of-003/lock is locked\): not starting a second one' $TMP/lock.err
"
fi

test_expect_success 'a shard with no images need not run: the merge of the other is complete, exit 0' "
	$CAMLAB run --no-progress --shard 0/2 $TMP/few.yaml 2>/dev/null &&
	$CAMLAB status $TMP/few >$TMP/few.status && cat $TMP/few.status &&
	test_grep '^no merged results yet \\(camlab merge gathers the shards into .*/few/results.sqlite\\)' $TMP/few.status &&
	test_grep '^shard-000-of-002: 160 image results stored; runs: done 4' $TMP/few.status &&
	$CAMLAB merge $TMP/few.yaml 2>$TMP/few.log && cat $TMP/few.log &&
	test_grep '^shard 1 of 2: missing \\(never started\\)' $TMP/few.log &&
	test_grep 'merged 1 shard folder\\(s\\) into .*: 4 of 4 run\\(s\\) done' $TMP/few.log &&
	test_grep 'the missing shards had no images' $TMP/few.log
"

test_expect_success 'bad --shard values and a merge without shards are clear errors' "
	test_must_fail $CAMLAB run --shard 3/3 $TMP/sh.yaml 2>$TMP/err &&
	test_grep \"shard needs I/N with 0 <= I < N, not '3/3'\" $TMP/err &&
	test_must_fail $CAMLAB run --shard x $TMP/sh.yaml 2>$TMP/err &&
	test_grep \"shard needs I/N\" $TMP/err &&
	test_must_fail $CAMLAB merge $TMP/one.yaml 2>$TMP/err &&
	test_grep 'no shards in .*/one/shards: run .camlab submit. \(Slurm\) or .camlab run --shard I/N. first' $TMP/err
"

test_expect_success 'submit --dry-run writes the array and merge scripts' "
	$CAMLAB submit --dry-run --tasks 5 --throttle 2 --partition gpu --time 1:00:00 --sbatch=--qos=long \
		--cpus-per-task 4 $TMP/fake.yaml >$TMP/dry.out && cat $TMP/dry.out &&
	test_grep \"^sbatch --parsable --array=0-4%2 '$TMP/fake/slurm/shard.sbatch'\" $TMP/dry.out &&
	test_grep 'afterany:JOBID' $TMP/dry.out &&
	S=$TMP/fake/slurm/shard.sbatch && cat \$S &&
	test_grep '^#SBATCH --partition=gpu' \$S && test_grep '^#SBATCH --time=1:00:00' \$S &&
	test_grep '^#SBATCH --qos=long' \$S && test_grep '^#SBATCH --cpus-per-task=4' \$S &&
	test_grep \"^#SBATCH --output=$TMP/fake/slurm/shard-%a.log\" \$S &&
	test_grep 'run --no-progress --shard .\\\$SLURM_ARRAY_TASK_ID/5.' \$S &&
	! grep -q -- '--gres' \$S &&
	test_grep \" merge '$TMP/fake.yaml'\" $TMP/fake/slurm/merge.sbatch &&
	test_must_fail $CAMLAB submit --dry-run --tasks 3 --only 1,3 $TMP/fake.yaml 2>$TMP/err &&
	test_grep 'only needs shard numbers from 0 to 2' $TMP/err
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
	agg $TMP/fake >$TMP/fake.agg && cmp $TMP/one.agg $TMP/fake.agg
"

test_expect_success 'a failing sbatch is a clear error' "
	printf '#!/bin/sh\necho sbatch: error: invalid partition >&2\nexit 1\n' >$TMP/bin/sbatch &&
	test_must_fail env PATH=$TMP/bin:\$PATH $CAMLAB submit --tasks 2 $TMP/fake.yaml 2>$TMP/err &&
	cat $TMP/err && test_grep 'sbatch failed \(exit status 1\): sbatch --parsable --array=0-1 ' $TMP/err &&
	mkdir -p $TMP/empty && test_must_fail env PATH=$TMP/empty $CAMLAB submit --tasks 2 $TMP/fake.yaml 2>$TMP/err &&
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
	spec real
	test_expect_success 'submit on a real Slurm: 3 shards 2 at a time, then the merge, to the reference numbers' "
		$CAMLAB submit --tasks 3 --throttle 2 $TMP/real.yaml >$TMP/real.out && cat $TMP/real.out &&
		test_grep '^submitted real: shards 0-2%2 of 3 as job [0-9]*, the merge as job [0-9]*' $TMP/real.out &&
		wait_file $TMP/real/slurm/merge.log 'merged 3 shard folder' 180 && wait_idle &&
		cat $TMP/real/slurm/merge.log && agg $TMP/real >$TMP/real.agg && cmp $TMP/one.agg $TMP/real.agg &&
		test -f $TMP/real/slurm/shard-2.log
	"
	test_expect_success 'a lost shard: the merge says so; resubmitted with --only, the merge completes' "
		wait_idle && rm -rf $TMP/real/shards/shard-001-of-003 $TMP/real/slurm/merge.log &&
		rm $TMP/real/results.sqlite* &&
		$CAMLAB merge $TMP/real.yaml 2>$TMP/rm.log; test \$? -eq 1 &&
		test_grep '^shard 1 of 3: missing' $TMP/rm.log &&
		$CAMLAB submit --tasks 3 --only 1 $TMP/real.yaml >$TMP/real2.out && cat $TMP/real2.out &&
		test_grep '^submitted real: shards 1 of 3 as job' $TMP/real2.out &&
		wait_file $TMP/real/slurm/merge.log 'merged 3 shard folder' 120 && wait_idle &&
		test_grep '4 of 4 run\(s\) done' $TMP/real/slurm/merge.log &&
		agg $TMP/real >$TMP/real.agg && cmp $TMP/one.agg $TMP/real.agg
	"
	spec gres
	test_expect_success 'submit --gpus-per-task 1: the tasks get a GPU each from Slurm (two stand-in GPUs)' "
		wait_idle && $CAMLAB submit --tasks 3 --gpus-per-task 1 $TMP/gres.yaml >$TMP/gres.out && cat $TMP/gres.out &&
		test_grep '^#SBATCH --gres=gpu:1' $TMP/gres/slurm/shard.sbatch &&
		wait_file $TMP/gres/slurm/merge.log 'merged 3 shard folder' 180 && wait_idle &&
		cat $TMP/gres/slurm/shard-*.log | grep '^shard' &&
		test \$(cat $TMP/gres/slurm/shard-*.log | grep -c '^shard [0-2] (job [0-9]*) on .*, GPUs [01]\$') -eq 3 &&
		agg $TMP/gres >$TMP/gres.agg && cmp $TMP/one.agg $TMP/gres.agg
	"
	stop_slurm
else
	echo "# no real Slurm here: $(tail -n 1 $TMP/why)"
	stop_slurm 2>/dev/null
fi

test_done
