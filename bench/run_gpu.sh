#!/bin/sh
# run_gpu.sh - PERF.md's GPU comparison (issue 6), in one unattended run of at most BUDGET seconds: camlab
# against the paper's reference procedure (bench/reference.py --device cuda) on a random-initialised
# ResNet-50 (layer4.2, the same weights on both sides), N synthetic 500x375 JPEGs, batch 128, ReST,
# predicted class, the six metrics. Prints everything to stdout and writes the tables to RESULTS
# (markdown); the whole transcript goes to RESULTS without .md plus .log, and the small files of the run
# (logs, rendered specs, the reference's JSON and CSV, the results databases) to RESULTS without .md
# plus -files/.
#
#   BUILD=build-gpu PYTHON=python3 RESULTS=$OUT/gpu_bench.md bench/run_gpu.sh     (about 3 minutes)
#   DEVICE=cpu N=16 N_REF=4 N_TABLE_REF=2 BATCH=2 BUDGET=2400 BUILD=build-bench \
#       PYTHON=/usr/bin/python3 bench/run_gpu.sh                (the same steps on a CPU, as a test)
#
# Stages, in this order, each under a time limit so that the script ends within BUDGET seconds (a stage
# that no longer fits prints "skipped: time"; one that runs out of time is stopped, and what it finished
# is still reported, marked partial):
#   1. the model (bench/models/resnet50_random.pt, traced, torch.manual_seed(0)) and N JPEGs in
#      bench/data/synth50 (bench/make_resnet18.py --arch resnet50), and the python's torch and device;
#   2. the reference: (a) images preloaded on the device (PERF.md's setting: decode rate, forward only,
#      ShapleyCAM + six metrics, GradCAM + six metrics) on N_REF images; (b) ShapleyCAM + six metrics end to
#      end, decoding inside the timed loop (the paper's script, DataLoader num_workers=0) on N_REF images;
#      (c) the ten-method table of Table 1, one fresh model per method, images preloaded (as PERF.md's
#      13.0 images/s), on N_TABLE_REF images: rate = N_TABLE_REF / the sum of the methods' times;
#   3. camlab (run --workers WORKERS --no-progress on a copy of the committed spec with absolute paths, N
#      images, a fresh output folder): ShapleyCAM + six metrics in fp32, the same in bf16 with
#      channels_last (where this camlab's experiment language has those keys), the ten-method table in
#      fp32; "e2e" = images / wall time of the whole process (start-up, model loading, decoding, results
#      database), "loop" = the rate of camlab's own log line; then bench_methods' decode+preprocess stage
#      (camlab's JPEG decoding with WORKERS threads, to the device) and its forward-only rate; then, where
#      time is left, ShapleyCAM in tf32 with two worker processes on the one device (--devices D,D; fp32
#      on a CPU), the ten-method table in tf32 and ShapleyCAM in fp16 with channels_last (CUDA only);
#   4. the tables: every stage's images/s, the ratios against PERF.md's targets (>= 1500 images/s end to
#      end for ShapleyCAM + six metrics in fp32; a table >= 12x the reference's), the bf16 - fp32 and
#      fp16 - fp32 differences of each metric's mean (target: within 0.5 points), and the per-image agreement of
#      camlab's runs with the reference's (reference.py --compare).
#
# Environment: BUILD (camlab's build folder, default build; not built here), PYTHON (default python3:
# torch, torchvision, PIL, numpy), RESULTS (default BENCH_OUT/gpu_bench.md), BENCH_OUT (the run's folder,
# default out/bench/gpu-DATE; fresh), DEVICE (default cuda; cpu renders device: cpu into the specs and
# runs the reference on the CPU, for testing), N (default 1536), BATCH (default 128 on cuda, 8 on cpu),
# N_REF (default 512), N_TABLE_REF (default 256), BUDGET (seconds, default 240; every stage's limits scale
# with it), THREADS (the reference's torch threads) and WORKERS (camlab's decoding threads): default all
# cores; REFERENCE=0 runs camlab's stages only (a change of camlab measured on a short lease).
set -u
cd "$(dirname "$0")/.." || exit 1
T0=$(date +%s)
START=$(date +%s.%N)

N=${N:-1536}
DEVICE=${DEVICE:-cuda}
case $DEVICE in
cuda*) BATCH=${BATCH:-128} ;;
*) BATCH=${BATCH:-8} ;;
esac
N_REF=${N_REF:-512}
N_TABLE_REF=${N_TABLE_REF:-256}
[ "$N_REF" -gt "$N" ] && N_REF=$N
[ "$N_TABLE_REF" -gt "$N" ] && N_TABLE_REF=$N
BUDGET=${BUDGET:-240}
BUILD=${BUILD:-build}
PYTHON=${PYTHON:-python3}
CORES=$(nproc)
THREADS=${THREADS:-$CORES}
WORKERS=${WORKERS:-$CORES}
BENCH_OUT=${BENCH_OUT:-out/bench/gpu-$(date +%Y%m%d-%H%M%S)}
RESULTS=${RESULTS:-$BENCH_OUT/gpu_bench.md}
CAMLAB=$BUILD/camlab
BENCH=$BUILD/bench/bench_methods
# A build made by tools/device_build runs with the libraries its camlab-env.sh points to: camlab and
# bench_methods get that LD_LIBRARY_PATH (env LD_LIBRARY_PATH="$CL_LD"); the python keeps its own.
CL_LD=${LD_LIBRARY_PATH:-}
if [ -f "$BUILD/camlab-env.sh" ]; then
	# shellcheck disable=SC1091
	CL_LD=$(. "$BUILD/camlab-env.sh" >&2 && printf %s "${LD_LIBRARY_PATH:-}")
fi
DEADLINE=$((T0 + BUDGET - 4))
export PYTHONUNBUFFERED=1

mkdir -p "$BENCH_OUT" "$(dirname "$RESULTS")" || exit 1
OUTD=$(cd "$BENCH_OUT" && pwd)
RESULTS=$(cd "$(dirname "$RESULTS")" && pwd)/$(basename "$RESULTS")
root=$(pwd)
MODEL=$root/bench/models/resnet50_random.pt
DATA=$root/bench/data/synth50
STATE=$OUTD/stages.txt
: >"$STATE"

now() { date +%s.%N; }
# seconds scaled to BUDGET (the limits below are for 240 s)
sc() { echo $(($1 * BUDGET / 240)); }

# begin KEY NAME NEED CAP RESERVE: this stage may take LIMIT = min(CAP, time left - RESERVE) seconds,
# where RESERVE keeps room for the stages after it; when LIMIT < NEED it prints "skipped: time", records
# it and fails.
begin() {
	left=$((DEADLINE - $(date +%s)))
	LIMIT=$((left - $(sc "$5")))
	cap=$(sc "$4")
	[ "$LIMIT" -gt "$cap" ] && LIMIT=$cap
	echo
	echo "== $2 ($(($(date +%s) - T0)) s in; $left s left; limit $LIMIT s)"
	need=$(sc "$3")
	[ "$need" -lt 1 ] && need=1 # never "timeout 0", which is no limit at all
	if [ "$LIMIT" -lt "$need" ]; then
		echo "skipped: time"
		echo "$1 skipped" >>"$STATE"
		return 1
	fi
	STAGE_T0=$(now)
}

# done_stage KEY RC [FIELDS...]: records the stage's exit status and wall seconds
done_stage() {
	key=$1 rc=$2
	shift 2
	wall=$(echo "$STAGE_T0 $(now)" | awk '{ printf "%.3f", $2 - $1 }')
	case $rc in
	0) ;;
	124 | 137) echo "stopped: the stage ran out of its $LIMIT s (what it finished is kept)" ;;
	*) echo "failed: exit status $rc" ;;
	esac
	echo "$key $rc $wall $*" >>"$STATE"
}

# the committed spec with absolute paths, N images, DEVICE, BATCH, a fresh output folder and the extra
# top-level lines given
render() { # SPEC KEY [LINE...]
	src=$1 key=$2
	shift 2
	rm -rf "${OUTD:?}/$key" # fresh: nothing is resumed
	sed -e "s|^output: .*|output: $OUTD/$key|" \
		-e "s|file: \.\./models/|file: $root/bench/models/|" \
		-e "s|^data: \.\./data/synth50\$|data: {path: $DATA, limit: $N}|" \
		-e "s|^device: .*|device: $DEVICE|" \
		-e "s|^batch: .*|batch: $BATCH|" \
		"$src" >"$OUTD/$key.yaml"
	for line in "$@"; do
		echo "$line" >>"$OUTD/$key.yaml"
	done
	echo "$OUTD/$key.yaml"
}

# reference KEY OPTIONS...: bench/reference.py within LIMIT, its timings to KEY.json, its rows to KEY.csv
reference() {
	key=$1
	shift
	timeout -k 3 "$LIMIT" "$PYTHON" bench/reference.py --device "$DEVICE" --model "$MODEL" --data "$DATA" \
		--batch "$BATCH" --threads "$THREADS" --json "$OUTD/$key.json" --dump "$OUTD/$key.csv" "$@"
	done_stage "$key" $?
}

# camlab_run KEY SPEC [OPTION...]: camlab run within LIMIT; records the wall time and its log line's rate
camlab_run() {
	key=$1 spec=$2
	shift 2
	echo "$CAMLAB run --no-progress --workers $WORKERS $* $spec"
	STAGE_T0=$(now)
	timeout -k 3 "$LIMIT" env LD_LIBRARY_PATH="$CL_LD" "$CAMLAB" run --no-progress --workers "$WORKERS" "$@" \
		"$spec" >"$OUTD/$key.out" 2>"$OUTD/$key.log"
	rc=$?
	cat "$OUTD/$key.log"
	# "runs 1-1/1 ... x 1 method(s): 1536 image(s) in 1.0 s, 1536.4 images/s"
	loop=$(sed -n 's/.*: \([0-9]*\) image(s) in \([0-9.]*\) s, \([0-9.]*\) images\/s.*/\1 \2 \3/p' \
		"$OUTD/$key.log" | tail -1)
	# "..., 1650.2 after the first batch (...": without model loading and the cold start (0: not given)
	steady=$(sed -n 's/.* images\/s, \([0-9.]*\) after the first batch.*/\1/p' "$OUTD/$key.log" | tail -1)
	done_stage "$key" "$rc" "${loop:-0 0 0}" "${steady:-0}"
}

# agreement: reference.py's per-image comparison (its compare()) of the reference's rows with camlab's
# databases, in one process: KEY CSV DB for each pair; the output of each to agree_KEY.txt
agreement() {
	[ "${REFERENCE:-1}" != 0 ] || return 0
	begin agreement "agreement with the reference, per image" 4 30 1 || return
	STAGE_T0=$(now)
	timeout -k 3 "$LIMIT" "$PYTHON" - "$OUTD" "$@" <<'EOF'
import contextlib, csv, io, os, sys

sys.path.insert(0, "bench")
import reference

outd, args = sys.argv[1], sys.argv[2:]
for key, rows, db in zip(args[0::3], args[1::3], args[2::3]):
    if not os.path.isfile(rows) or not os.path.isfile(db):
        print("%s: nothing to compare (%s or %s is missing)" % (key, os.path.basename(rows), db))
        continue
    by_method = {}
    for r in csv.DictReader(open(rows)):
        m = r.pop("method")
        for k in r:
            if k != "path":
                r[k] = int(r[k]) if k == "class" else float(r[k])
        by_method.setdefault(m, []).append(r)
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        reference.compare(db, by_method, [m for m in reference.TABLE1 if m in by_method])
    text = buf.getvalue() or "no image in common\n"
    open(os.path.join(outd, "agree_%s.txt" % key), "w").write(text)
    print("-- %s: %s against %s" % (key, os.path.basename(rows), db))
    print(text, end="")
EOF
	done_stage agreement $?
}

main() {
	echo "# PERF.md GPU comparison (issue 6): $(date -u '+%Y-%m-%d %H:%M UTC'), $CORES core(s), budget $BUDGET s"
	echo "# $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'); device $DEVICE; N=$N, batch $BATCH," \
		"reference on $N_REF images (table $N_TABLE_REF); run folder $OUTD; results $RESULTS"
	if command -v nvidia-smi >/dev/null; then
		timeout 30 nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1 |
			head -1 | tee "$OUTD/gpu.txt"
	fi
	timeout 30 env LD_LIBRARY_PATH="$CL_LD" "$CAMLAB" version 2>&1 | paste -sd';' - | sed 's/;/; /g' | tee "$OUTD/camlab_version.txt"

	# 1. inputs
	if begin make "make: ResNet-50 and $N JPEGs" 10 60 150; then
		timeout -k 3 "$LIMIT" "$PYTHON" bench/make_resnet18.py --arch resnet50 bench/models bench/data/synth50 "$N"
		rc=$?
		[ "$rc" -eq 0 ] && timeout -k 3 "$LIMIT" "$PYTHON" -c '
import sys, torch, torchvision
cuda = torch.cuda.is_available()
print("python: torch %s, torchvision %s, CUDA %s, device %s" % (torch.__version__, torchvision.__version__,
      torch.version.cuda, torch.cuda.get_device_name() if cuda else "none"))
sys.exit(0 if cuda or sys.argv[1] == "cpu" else 3)' "$DEVICE" | tee "$OUTD/python.txt"
		done_stage make "$rc"
	fi
	if [ ! -f "$MODEL" ]; then
		echo "error: no model $MODEL: nothing can run" >&2
		return 1
	fi

	# 2. the reference (REFERENCE=0: camlab's stages only, to measure a change of camlab on a short lease)
	if [ "${REFERENCE:-1}" != 0 ] && begin ref_pre "reference, preloaded: decode, forward, ShapleyCAM and GradCAM + six metrics, $N_REF images" \
		12 45 110; then
		reference ref_pre -n "$N_REF" --preload --methods shapleycam,gradcam
	fi
	if [ "${REFERENCE:-1}" != 0 ] && begin ref_e2e "reference, end to end (decoding in the loop): ShapleyCAM + six metrics, $N_REF images" \
		10 35 95; then
		reference ref_e2e -n "$N_REF" --no-forward --methods shapleycam
	fi
	if [ "${REFERENCE:-1}" != 0 ] && begin ref_table "reference, preloaded: the ten-method table, $N_TABLE_REF images" 15 60 80; then
		reference ref_table -n "$N_TABLE_REF" --preload --no-forward
	fi

	# 3. camlab
	if [ -x "$CAMLAB" ]; then
		if begin cl_fp32 "camlab: ShapleyCAM + six metrics, fp32, $N images" 6 40 48; then
			camlab_run cl_fp32 "$(render bench/experiments/resnet50_gpu_shapleycam.yaml cl_fp32)"
		fi
		# PyTorch's default arithmetic (TensorFloat-32 convolutions), which the reference runs with
		case $DEVICE in
		cuda*)
			if begin cl_tf32 "camlab: ShapleyCAM + six metrics, tf32, $N images" 6 30 40; then
				camlab_run cl_tf32 "$(render bench/experiments/resnet50_gpu_shapleycam.yaml cl_tf32 \
					"precision: tf32")"
			fi
			;;
		esac
		if begin cl_bf16 "camlab: ShapleyCAM + six metrics, bf16, $N images" 6 35 36; then
			spec=$(render bench/experiments/resnet50_gpu_shapleycam.yaml cl_bf16 "precision: bf16" \
				"channels_last: true")
			if ! env LD_LIBRARY_PATH="$CL_LD" "$CAMLAB" check "$spec" >"$OUTD/cl_bf16.check" 2>&1; then
				cat "$OUTD/cl_bf16.check"
				echo "(this camlab rejects channels_last: trying precision: bf16 alone)"
				spec=$(render bench/experiments/resnet50_gpu_shapleycam.yaml cl_bf16 "precision: bf16")
			fi
			if env LD_LIBRARY_PATH="$CL_LD" "$CAMLAB" check "$spec" >"$OUTD/cl_bf16.check" 2>&1; then
				camlab_run cl_bf16 "$spec"
			else
				cat "$OUTD/cl_bf16.check"
				echo "skipped: this camlab has no precision key"
				echo "cl_bf16 unsupported" >>"$STATE"
			fi
		fi
		case $DEVICE in
		cuda*)
			# what a user gets by default on a GPU: batch: auto (the first batch sizes the rest)
			if begin cl_auto "camlab: ShapleyCAM + six metrics, fp32, batch auto, $N images" 6 30 30; then
				spec=$(render bench/experiments/resnet50_gpu_shapleycam.yaml cl_auto)
				sed -i 's/^batch: .*/batch: auto/' "$spec"
				camlab_run cl_auto "$spec"
				grep 'batch auto' "$OUTD/cl_auto.log"
			fi
			;;
		esac
		if begin cl_table "camlab: the ten-method table, fp32, $N images" 8 60 14; then
			camlab_run cl_table "$(render bench/experiments/resnet50_gpu_table.yaml cl_table)"
		fi
	else
		echo "error: no camlab at $CAMLAB: its stages are skipped" >&2
	fi
	if [ ! -x "$BENCH" ]; then
		echo
		echo "== camlab decode-only: no $BENCH, skipped"
	elif begin decode "camlab decode-only (bench_methods: decode+preprocess to the device, forward), $N images" \
		5 25 8; then
		timeout -k 3 "$LIMIT" env LD_LIBRARY_PATH="$CL_LD" "$BENCH" --model "$MODEL" --layer layer4.2 --size 224 \
			--mean 0.485,0.456,0.406 --std 0.229,0.224,0.225 --dataset "$DATA" --limit "$N" \
			--device "$DEVICE" --batch "$BATCH" --workers "$WORKERS" --methods gradcam --images "$N" \
			--repeat 1 >"$OUTD/decode.out" 2>"$OUTD/decode.log"
		rc=$?
		cat "$OUTD/decode.log" "$OUTD/decode.out"
		done_stage decode "$rc" "$(awk '/^decode\+preprocess / { d = $2 } /^forward only / { f = $3 }
			END { print (d ? d : 0), (f ? f : 0) }' "$OUTD/decode.out")"
	fi

	# 3b. what the last lease left unmeasured, each stage skipped where time is short
	if [ -x "$CAMLAB" ]; then
		# two worker processes on the one device sharing the run's images (--devices D,D): one's host
		# work (waiting for images, maps to the host, the database) overlaps the other's kernels
		# (tf32 on CUDA, as cl_tf32; a CPU has fp32 only)
		prec=fp32
		case $DEVICE in cuda*) prec=tf32 ;; esac
		if begin cl_2proc "camlab: ShapleyCAM + six metrics, $prec, two processes on one device, $N images" \
			6 30 6; then
			camlab_run cl_2proc "$(render bench/experiments/resnet50_gpu_shapleycam.yaml cl_2proc \
				"precision: $prec")" --devices "$DEVICE,$DEVICE"
		fi
		case $DEVICE in
		cuda*)
			if begin cl_table_tf32 "camlab: the ten-method table, tf32, $N images" 8 45 4; then
				camlab_run cl_table_tf32 "$(render bench/experiments/resnet50_gpu_table.yaml cl_table_tf32 \
					"precision: tf32")"
			fi
			if begin cl_fp16 "camlab: ShapleyCAM + six metrics, fp16, channels_last, $N images" 6 25 2; then
				camlab_run cl_fp16 "$(render bench/experiments/resnet50_gpu_shapleycam.yaml cl_fp16 \
					"precision: fp16" "channels_last: true")"
			fi
			;;
		esac
	fi

	# 4. agreement and the tables
	agreement table "$OUTD/ref_table.csv" "$OUTD/cl_table/results.sqlite" \
		fp32 "$OUTD/ref_pre.csv" "$OUTD/cl_fp32/results.sqlite" \
		bf16 "$OUTD/ref_pre.csv" "$OUTD/cl_bf16/results.sqlite"
	echo
	echo "== tables ($(($(date +%s) - T0)) s in)"
	"$PYTHON" - "$OUTD" "$RESULTS" <<'EOF'
import glob, json, os, sqlite3, sys, time

outd, results = sys.argv[1], sys.argv[2]
env = os.environ
stages = {}
for line in open(os.path.join(outd, "stages.txt")):
    f = line.split()
    stages[f[0]] = f[1:]


def read(name):
    try:
        return open(os.path.join(outd, name)).read().strip()
    except OSError:
        return ""


def status(key):
    s = stages.get(key)
    if s is None:
        return "not run"
    if s[0] == "skipped":
        return "skipped: time"
    if s[0] == "unsupported":
        return "skipped: this camlab has no precision key"
    return {"0": "ok", "124": "partial: ran out of time", "137": "partial: ran out of time"}.get(
        s[0], "failed (exit status %s)" % s[0])


def ref(key):
    try:
        return json.load(open(os.path.join(outd, key + ".json")))
    except (OSError, ValueError):
        return None


METRICS = ("ad", "coh", "com", "ic", "add_")


def adcc(ad, coh, com):
    """ADCC of the averages, as camlab's aggregates (a harmonic mean; nan where a term is 0)."""
    try:
        return 3.0 / (1.0 / coh + 1.0 / (1.0 - com) + 1.0 / (1.0 - ad))
    except (TypeError, ZeroDivisionError):
        return float("nan")


def db(key):
    """Per method: images done and the metric means (the aggregates row, or from the images where the run
    did not finish), from a camlab results database."""
    p = os.path.join(outd, key, "results.sqlite")
    if not os.path.exists(p):
        return {}
    con = sqlite3.connect(p)
    out = {}
    for rk, method in con.execute("SELECT key, method FROM runs"):
        agg = con.execute("SELECT n, ad, coh, com, ic, add_, adcc FROM aggregates WHERE run_key = ?",
                          (rk,)).fetchone()
        if agg is None:
            agg = con.execute("SELECT count(*), avg(ad), avg(coh), avg(com), avg(ic), avg(add_) FROM images "
                              "WHERE run_key = ?", (rk,)).fetchone()
            if agg[0]:
                ad, coh, com = agg[1], agg[2], agg[3]
                agg = agg + (adcc(ad, coh, com),)
        n = agg[0] if agg else 0
        out[method] = {"key": rk, "n": n or 0}
        if n:
            out[method].update(zip(METRICS + ("adcc",), agg[1:]))
    con.close()
    return out


def camlab(key):
    """(e2e rate, loop rate, images, wall, rate after the first batch) of a camlab stage, or None."""
    s = stages.get(key)
    d = db(key)
    if s is None or s[0] in ("skipped", "unsupported") or not d:
        return None
    n = min(v["n"] for v in d.values())
    wall = float(s[1])
    loop = 0.0
    if len(s) > 4 and s[0] == "0":
        # the log's rate has one decimal, its seconds too: the rate where it is large, else images / seconds
        loop = float(s[4]) if float(s[4]) >= 10 or float(s[3]) <= 0 else float(s[2]) / float(s[3])
    steady = float(s[5]) if len(s) > 5 and s[0] == "0" else 0.0
    return (n / wall if wall > 0 else 0.0, loop, n, wall, steady)


def fmt(v, digits=1):
    return "-" if v is None else ("%.*f" % (digits, v))


pre, e2e, table = ref("ref_pre"), ref("ref_e2e"), ref("ref_table")
cl32, cl16, cltab = camlab("cl_fp32"), camlab("cl_bf16"), camlab("cl_table")
ref_shap_pre = pre["rate"].get("shapleycam") if pre else None
ref_grad_pre = pre["rate"].get("gradcam") if pre else None
ref_shap_e2e = e2e["rate"].get("shapleycam") if e2e else None
ref_fwd = pre.get("forward") if pre else None
ref_table, table_note = None, ""
if table and table["seconds"]:
    k = len(table["seconds"])
    mean = sum(table["seconds"].values()) / k
    ref_table = table["n"] / (mean * 10)
    if k < 10:
        table_note = " (estimated from %d of the 10 methods: the stage ran out of time)" % k
dec = stages.get("decode")
cl_decode = float(dec[2]) if dec and dec[0] == "0" and float(dec[2]) > 0 else None
cl_fwd = float(dec[3]) if dec and dec[0] == "0" and float(dec[3]) > 0 else None

gpu = read("gpu.txt") or (pre or e2e or table or {}).get("device_name", "unknown")
pyinfo = read("python.txt") or "python: %s" % (
    "torch %s, torchvision %s" % (pre["torch"], pre["torchvision"]) if pre else "unknown")
L = []
w = L.append
w("# camlab against the reference on %s: bench/run_gpu.sh, %s" % (gpu.split(",")[0], time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())))
w("")
w("Device: %s. %s. camlab: %s. %s CPU core(s). Device setting: %s." % (
    gpu, pyinfo.replace("python: ", "Reference: "), read("camlab_version.txt") or "unknown", env["CORES"],
    env["DEVICE"]))
w("ResNet-50 random init (torch.manual_seed(0); the same weights on both sides), layer4.2, batch %s, ReST, "
  "predicted class, six metrics, synthetic 500x375 JPEGs (Resize 256, CenterCrop 224). camlab on N=%s "
  "images with --workers %s; the reference on %s images (its table on %s), %s thread(s), one untimed "
  "warm-up batch per method. Budget %s s; the script took %.0f s."
  % (env["BATCH"], env["N"], env["WORKERS"], env["N_REF"], env["N_TABLE_REF"], env["THREADS"], env["BUDGET"],
     time.time() - float(env["START"])))
w("")
w("## Every stage")
w("")
w("| side | stage | images | images/s | PERF.md (H200) | status |")
w("|---|---|---|---|---|---|")


def row(side, stage, n, rate, perf, st, digits=1):
    if side == "reference" and rate is not None and st.startswith("partial"):
        st = "ok (the stage stopped later)"  # each of the reference's figures is whole once it is there
    elif side == "camlab" and rate and st.startswith("partial"):
        st = "partial: ran out of time (the images it finished / the time: a lower bound)"
    w("| %s | %s | %s | %s | %s | %s |" % (side, stage, n if n is not None else "-", fmt(rate, digits), perf, st))


row("reference", "decode+preprocess (PIL + torchvision, one process, to the device)", pre and pre["n"],
    pre and pre.get("decode_rate"), "284 (1 worker), 698 (8)", status("ref_pre"))
row("reference", "forward only (images on the device)", pre and pre["n"], ref_fwd, "7201", status("ref_pre"))
row("reference", "ShapleyCAM + six metrics, images on the device", pre and pre["n"], ref_shap_pre, "119",
    status("ref_pre"))
row("reference", "GradCAM + six metrics, images on the device", pre and pre["n"], ref_grad_pre, "169",
    status("ref_pre"))
row("reference", "ShapleyCAM + six metrics, end to end (decoding in the loop, num_workers=0)", e2e and e2e["n"],
    ref_shap_e2e, "75.4", status("ref_e2e"))
row("reference", "ten-method table, images on the device, n / sum of the methods' times" + table_note,
    table and table["n"], ref_table, "13.0", status("ref_table"), 2)
if table and table["rate"]:
    w("| reference | (its methods: %s) | | | 103-168 | |" % ", ".join(
        "%s %.1f" % (m, r) for m, r in table["rate"].items()))
for key, name in (("cl_fp32", "ShapleyCAM + six metrics, fp32 (strict)"),
                  ("cl_tf32", "ShapleyCAM + six metrics, tf32 (PyTorch's default arithmetic, as the reference)"),
                  ("cl_auto", "ShapleyCAM + six metrics, fp32, batch: auto"),
                  ("cl_bf16", "ShapleyCAM + six metrics, bf16 "
                  + ("+ channels_last" if "channels_last" in read("cl_bf16.yaml") else "(no channels_last)")),
                  ("cl_fp16", "ShapleyCAM + six metrics, fp16 + channels_last"),
                  ("cl_2proc", "ShapleyCAM + six metrics, tf32 (fp32 on a CPU), two processes on the one device (--devices D,D)"),
                  ("cl_table", "ten-method table, fp32"),
                  ("cl_table_tf32", "ten-method table, tf32")):
    c = camlab(key)
    row("camlab", name + ", end to end (process wall time)", c and c[2], c and c[0], "", status(key))
    if key == "cl_2proc":
        continue  # each worker's log line has only its part of the images
    row("camlab", name + ", loop (its log line)", c and c[2], c and (c[1] or None), "", status(key))
    row("camlab", name + ", after the first batch (its log line: no model loading, no cold start)",
        c and c[2], c and (c[4] or None), "", status(key))
row("camlab", "decode+preprocess (bench_methods, %s workers, to the device)" % env["WORKERS"], env["N"],
    cl_decode, "", status("decode"))
row("camlab", "forward only (bench_methods, images on the device)", env["N"], cl_fwd, "", status("decode"))
w("")
w("## Against PERF.md's targets")
w("")
w("| comparison | camlab images/s | reference images/s | ratio | target | met |")
w("|---|---|---|---|---|---|")


def ratio_row(name, c, r, target, met, keys=()):
    notes = ["%s %s" % (k, status(k)) for k in keys if status(k) != "ok"]
    w("| %s | %s | %s | %s | %s | %s |" % (name, fmt(c), fmt(r), "**%.2fx**" % (c / r) if c and r else "-",
                                         target, (met if c else "-") + (" (%s)" % "; ".join(notes) if notes else "")))


c32 = cl32[0] if cl32 else None
ratio_row("ShapleyCAM + six metrics, fp32, end to end vs the reference end to end", c32, ref_shap_e2e,
          ">= 1500 images/s (20x the reference's 75)", "yes" if c32 and c32 >= 1500 else "no",
          ("cl_fp32", "ref_e2e"))
ratio_row("the same vs the reference with images on the device", c32, ref_shap_pre, "12.6x (1500 vs 119)",
          "yes" if c32 and ref_shap_pre and c32 / ref_shap_pre >= 12.6 else "no", ("cl_fp32",))
l32 = cl32[1] if cl32 else None
ratio_row("ShapleyCAM + six metrics, fp32, camlab's loop vs the reference end to end", l32, ref_shap_e2e,
          ">= 1500 images/s", "yes" if l32 and l32 >= 1500 else "no", ("cl_fp32",))
# tf32 is the reference's arithmetic (PyTorch's default); the rate after the first batch is the steady one
cltf = camlab("cl_tf32")
for name, v in (("tf32, end to end", cltf and cltf[0]), ("tf32, loop", cltf and cltf[1]),
                ("tf32, after the first batch", cltf and (cltf[4] or None))):
    ratio_row("ShapleyCAM + six metrics, %s, vs the reference end to end" % name, v, ref_shap_e2e,
              ">= 1500 images/s", "yes" if v and v >= 1500 else "no", ("cl_tf32",))
if ref_fwd:
    ratio_row("ShapleyCAM fp32 e2e vs the three-forward bound (reference forward / 3)", c32, ref_fwd / 3,
              "0.6 of the bound (PERF.md: ~2400)", "yes" if c32 and c32 >= 0.6 * ref_fwd / 3 else "no",
              ("cl_fp32",))
cl2 = camlab("cl_2proc")
ratio_row("ShapleyCAM + six metrics, tf32 (fp32 on a CPU), two processes on one device, end to end, vs the reference end to end",
          cl2 and cl2[0], ref_shap_e2e, ">= 1500 images/s", "yes" if cl2 and cl2[0] >= 1500 else "no",
          ("cl_2proc",))
c16 = cl16[0] if cl16 else None
ratio_row("ShapleyCAM + six metrics, bf16 vs camlab's own fp32 (both e2e)", c16, c32, "faster than fp32",
          "yes" if c16 and c32 and c16 > c32 else "no", ("cl_fp32", "cl_bf16"))
ct = cltab[0] if cltab else None
ratio_row("ten-method table, fp32, end to end vs the reference's table" + table_note, ct, ref_table,
          ">= 12x (>= 160 images/s against 13.0)", "yes" if ct and ref_table and ct / ref_table >= 12 else "no",
          ("cl_table", "ref_table"))
cltt = camlab("cl_table_tf32")
for name, v in (("end to end", cltt and cltt[0]), ("loop", cltt and cltt[1])):
    ratio_row("ten-method table, tf32, %s vs the reference's table" % name + table_note, v, ref_table,
              ">= 12x (>= 160 images/s against 13.0)", "yes" if v and ref_table and v / ref_table >= 12 else "no",
              ("cl_table_tf32", "ref_table"))
if cl_decode:
    ratio_row("decode+preprocess, camlab vs the reference's one process", cl_decode,
              pre and pre.get("decode_rate"), "several times a Python loader per core; >= 1500 to feed fp32",
              "yes" if cl_decode >= 1500 else "no", ("decode", "ref_pre"))
w("")
w("camlab's e2e includes its process start-up, model loading, the cold first batch, decoding and the results "
  "database, and the reference's table has its images preloaded and one warm-up batch per method: both "
  "favour the reference.")
w("")
for low, lname in (("cl_bf16", "bf16"), ("cl_fp16", "fp16")):
    w("## %s against fp32 (camlab, ShapleyCAM, the mean of each metric over the same images)" % lname)
    w("")
    d32, d16 = db("cl_fp32").get("shapleycam"), db(low).get("shapleycam")
    if d32 and d16 and d32["n"] and d16["n"] and d32["n"] != d16["n"]:
        # a run stopped early: the means over the images both have, not the runs' aggregates
        con = sqlite3.connect(os.path.join(outd, "cl_fp32", "results.sqlite"))
        con.execute("ATTACH ? AS b", (os.path.join(outd, low, "results.sqlite"),))
        for side, d in (("a", d32), ("b", d16)):
            v = con.execute("SELECT avg({0}.ad), avg({0}.coh), avg({0}.com), avg({0}.ic), avg({0}.add_) FROM images a "
                            "JOIN b.images b ON a.idx = b.idx WHERE a.run_key = ? AND b.run_key = ?".format(side),
                            (d32["key"], d16["key"])).fetchone()
            d.update(zip(METRICS, v))
            d["adcc"] = adcc(d["ad"], d["coh"], d["com"])
        con.close()
        w("(a run stopped early: the means below are over the images both runs finished)")
        w("")
    if d32 and d16 and d32["n"] and d16["n"]:
        w("| metric | fp32 | %s | %s - fp32 (points) | within 0.5 points |" % (lname, lname))
        w("|---|---|---|---|---|")
        for m, name in (("ad", "AD"), ("coh", "Coh"), ("com", "Com"), ("ic", "IC"), ("add_", "ADD"),
                        ("adcc", "ADCC")):
            dv = 100 * (d16[m] - d32[m])
            w("| %s | %.4f | %.4f | %+.3f | %s |" % (name, d32[m], d16[m], dv, "yes" if abs(dv) <= 0.5 else "no"))
        con = sqlite3.connect(os.path.join(outd, "cl_fp32", "results.sqlite"))
        con.execute("ATTACH ? AS b", (os.path.join(outd, low, "results.sqlite"),))
        r = con.execute("SELECT count(*), sum(a.class = b.class), max(abs(a.ad - b.ad)), max(abs(a.add_ - b.add_)), "
                        "max(abs(a.coh - b.coh)), max(abs(a.com - b.com)), max(abs(a.y - b.y) / a.y) FROM images a "
                        "JOIN b.images b ON a.idx = b.idx WHERE a.run_key = ? AND b.run_key = ?",
                        (d32["key"], d16["key"])).fetchone()
        con.close()
        w("")
        w("%d images (fp32 %d, %s %d); per image: predicted class equal on %s, max |%s - fp32| AD %s, ADD %s, "
          "Coh %s, Com %s, relative Y %s." % ((r[0], d32["n"], lname, d16["n"], "-" if r[1] is None else "%d" % r[1],
                                               lname) + tuple("-" if v is None else "%.2e" % v for v in r[2:])))
    else:
        w("not available: %s / %s" % (status("cl_fp32"), status(low)))
    w("")
w("## Per-image agreement of camlab with the reference (bench/reference.py --compare)")
for key, what in (("table", "the table runs (the reference's %s images)" % env["N_TABLE_REF"]),
                  ("fp32", "ShapleyCAM fp32 (the reference's preloaded run)"),
                  ("bf16", "ShapleyCAM bf16 (the reference's preloaded run, fp32)")):
    w("")
    w("%s:" % what)
    w("")
    w("```")
    w(read("agree_%s.txt" % key) or "not available")
    w("```")
text = "\n".join(L) + "\n"
with open(results, "w") as f:
    f.write(text)
print(text)
EOF
}

LOG=${RESULTS%.md}.log
FILES=${RESULTS%.md}-files
export START CORES DEVICE BATCH N N_REF N_TABLE_REF WORKERS THREADS BUDGET
{
	main
	echo $? >"$OUTD/main.rc"
} 2>&1 | tee "$LOG"
# the small files of the run, beside RESULTS (results databases under 64 MiB)
mkdir -p "$FILES"
for f in "$OUTD"/*.yaml "$OUTD"/*.log "$OUTD"/*.out "$OUTD"/*.json "$OUTD"/*.csv "$OUTD"/*.txt "$OUTD"/*.check; do
	[ -f "$f" ] && cp "$f" "$FILES/"
done
for d in "$OUTD"/cl_*/; do
	db=${d}results.sqlite
	[ -f "$db" ] && [ "$(wc -c <"$db")" -lt 67108864 ] && cp "$db" "$FILES/$(basename "$d").sqlite"
done
echo "total $(($(date +%s) - T0)) s; tables in $RESULTS, transcript in $LOG, files in $FILES"
exit "$(cat "$OUTD/main.rc" 2>/dev/null || echo 1)"
