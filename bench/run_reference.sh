#!/bin/sh
# run_reference.sh - PERF.md's CPU comparison, measured in one run on this machine: camlab against the
# paper's reference procedure (bench/reference.py, a re-implementation of its pytorch-grad-cam evaluation)
# on the same random-initialised ResNet-18 (layer4.1), the same N JPEGs, batch 8, ReST, predicted class,
# the six metrics: GradCAM alone, ShapleyCAM alone, and the ten-method table of Table 1 (the reference
# run once per method, a fresh model each, as the paper's scripts do; camlab runs the table as one
# experiment). Prints a table with PERF.md's target ratios (1.8x one method, 2.5x the table) and the
# per-image agreement of the two on every method.
#
#   bench/run_reference.sh            (N=32: about 3 minutes on an idle 2-core machine, 9 under load 5)
#
# Environment: N (images, default 32), THREADS (default 2: torch threads of both, OMP_NUM_THREADS; where
# the machine has more cores both are pinned to THREADS cores with taskset, as camlab takes one thread a
# core), REPEAT (default 1: the whole comparison again), BUILD (camlab's build folder, default build;
# configured and built when it has no camlab), PYTHON (default /usr/bin/python3: Debian's, with torch 1.13
# and torchvision 0.14), OUT (results, default out/bench/reference-DATE: fresh, so nothing is resumed),
# RESIZE (pil or torch: reference.py's stand-in for cv2.resize, default pil).
#
# The reference runs as four processes (one per group of methods, a fresh model per method) interleaved
# with camlab's three runs, so that a change of load on a shared machine hits both sides alike.
#
# Timing. Reference: the per-batch loop of each method (JPEG decoding included), after one untimed warm-up
# batch, without Python's start-up, imports or model loading; the table is N / the sum of the ten methods'
# times. camlab: "e2e" is the wall time of the whole `camlab run` process (start-up, model loading, the
# cold first batch, decoding, results database) and the ratio columns use it; "loop" is the rate camlab's
# own log line reports for the group (model loading and the batches, without the process start-up of
# about 0.5 s). "CPU s": user + system CPU time (all threads) of the reference's timed loops and of the
# whole camlab processes (with /usr/bin/time): steadier than wall time when the machine is shared.
set -u
cd "$(dirname "$0")/.." || exit 1

N=${N:-32}
THREADS=${THREADS:-2}
REPEAT=${REPEAT:-1}
BUILD=${BUILD:-build}
PYTHON=${PYTHON:-/usr/bin/python3}
RESIZE=${RESIZE:-pil}
OUT=${OUT:-out/bench/reference-$(date +%Y%m%d-%H%M%S)}
CAMLAB=$BUILD/camlab
export OMP_NUM_THREADS="$THREADS" MKL_NUM_THREADS="$THREADS"

if ! "$PYTHON" -c 'import torch, torchvision, PIL' 2>/dev/null; then
	echo "error: '$PYTHON' lacks torch, torchvision or PIL (set PYTHON)" >&2
	exit 1
fi
if [ ! -x "$CAMLAB" ]; then
	echo "== building camlab in $BUILD"
	{ cmake -S . -B "$BUILD" >/dev/null && cmake --build "$BUILD" -j"$(nproc)" >/dev/null; } || {
		echo "error: could not build camlab in $BUILD" >&2
		exit 1
	}
fi
"$PYTHON" bench/make_resnet18.py bench/models bench/data/synth "$N" >/dev/null || {
	echo "error: could not make the ResNet-18 model or the JPEGs" >&2
	exit 1
}

PIN=
if [ "$(nproc)" -gt "$THREADS" ] && command -v taskset >/dev/null; then
	PIN="taskset -c 0-$((THREADS - 1))"
fi
mkdir -p "$OUT" || exit 1
OUT=$(cd "$OUT" && pwd)
root=$(pwd)

load() { cut -d' ' -f1-3 /proc/loadavg; }
now() { date +%s.%N; }

# The committed specs, with absolute paths, the first N images and a fresh output folder.
render() { # spec rep
	name=$(basename "$1" .yaml)
	sed -e "s|^output: .*|output: $OUT/$name-$2|" \
		-e "s|file: \.\./models/|file: $root/bench/models/|" \
		-e "s|^data: \.\./data/synth\$|data: {path: $root/bench/data/synth, limit: $N}|" \
		"$1" >"$OUT/$name-$2.yaml"
	echo "$OUT/$name-$2.yaml"
}

# reference PART METHODS [OPTION]: one process for these methods, each with a fresh model
reference() {
	part=$1 methods=$2
	shift 2
	echo "-- reference: $methods (load average $(load))"
	# shellcheck disable=SC2086
	$PIN "$PYTHON" bench/reference.py --model bench/models/resnet18_random.pt --data bench/data/synth \
		-n "$N" --threads "$THREADS" --resize "$RESIZE" --methods "$methods" "$@" \
		--dump "$OUT/reference-$rep$part.csv" --json "$OUT/reference-$rep$part.json" || exit 1
}

# camlab NAME REP: runs the spec, appends "NAME e2e_rate loop_rate" to $OUT/camlab-REP.txt
camlab_run() {
	spec=$(render "bench/experiments/resnet18_$1.yaml" "$2")
	timer=
	[ -x /usr/bin/time ] && timer="/usr/bin/time -f %U+%S -o $OUT/$1-$2.cpu"
	t0=$(now)
	# shellcheck disable=SC2086
	$timer $PIN "$CAMLAB" run --no-progress "$spec" 2>"$OUT/$1-$2.log" >/dev/null || {
		echo "error: camlab run $spec failed:" >&2
		cat "$OUT/$1-$2.log" >&2
		exit 1
	}
	t1=$(now)
	# the log line: "... x 10 method(s): 32 image(s) in 12.3 s, 2.6 images/s": the rate from its count and time
	loop=$(sed -n 's/.*: \([0-9]*\) image(s) in \([0-9.]*\) s,.*/\1 \2/p' "$OUT/$1-$2.log" | tail -1 |
		awk '$2 > 0 { printf "%.3f", $1 / $2 }')
	e2e=$(echo "$N $t0 $t1" | awk '{ printf "%.3f", $1 / ($3 - $2) }')
	cpu=0
	[ -n "$timer" ] && cpu=$(tail -1 "$OUT/$1-$2.cpu" | awk -F+ '{ print $1 + $2 }')
	printf '%-12s end to end %7.3f images/s (%.1f s, CPU %s s), loop %s images/s\n' "$1" "$e2e" \
		"$(echo "$t0 $t1" | awk '{ print $2 - $1 }')" "$cpu" "${loop:-?}"
	echo "$1 $e2e ${loop:-0} $cpu" >>"$OUT/camlab-$2.txt"
}

echo "# PERF.md CPU comparison: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) core(s), $THREADS thread(s)${PIN:+ ($PIN)}"
echo "# $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'); N=$N images, batch 8; results in $OUT"
rep=1
while [ "$rep" -le "$REPEAT" ]; do
	echo
	echo "== repetition $rep: load average before: $(load)"
	: >"$OUT/camlab-$rep.txt"
	# Interleaved, so that a change of load on a shared machine hits both sides alike: the reference's
	# first four methods, camlab's table, the reference's next four, then each single method of camlab
	# next to the reference's run of it (which also counts in the reference's table).
	reference a "randomcam,gradcam++,xgradcam,layercam"
	camlab_run table "$rep"
	reference b "gradcam-e,shapleycam-e,hirescam,shapleycam-h" --no-forward
	camlab_run gradcam "$rep"
	reference c gradcam --no-forward
	camlab_run shapleycam "$rep"
	reference d shapleycam --no-forward
	echo "-- agreement with camlab's results database (table run), per image"
	"$PYTHON" bench/reference.py --rows "$OUT"/reference-"$rep"[abcd].csv \
		--compare "$OUT/resnet18_table-$rep/results.sqlite" || exit 1
	echo "-- load average after: $(load)"
	"$PYTHON" - "$OUT/camlab-$rep.txt" "$OUT"/reference-"$rep"[abcd].json <<'EOF'
import json, sys
parts = [json.load(open(f)) for f in sys.argv[2:]]
ref = {"rate": {}, "cpu_seconds": {}, "forward": parts[0]["forward"]}
for p in parts:
    ref["rate"].update(p["rate"])
    ref["cpu_seconds"].update(p["cpu_seconds"])
n = parts[0]["n"]
ref["table_rate"] = n / sum(n / r for r in ref["rate"].values())
ref["table_cpu_seconds"] = sum(ref["cpu_seconds"].values())
cl = {}
for line in open(sys.argv[1]):
    name, e2e, loop, cpu = line.split()
    cl[name] = (float(e2e), float(loop), float(cpu))
cpu = ref["cpu_seconds"]
rows = [("GradCAM + six metrics", ref["rate"]["gradcam"], cpu["gradcam"], cl["gradcam"], 1.8),
        ("ShapleyCAM + six metrics", ref["rate"]["shapleycam"], cpu["shapleycam"], cl["shapleycam"], 1.8),
        ("ten-method table", ref["table_rate"], ref["table_cpu_seconds"], cl["table"], 2.5)]
print()
# cores busy = CPU time / wall time: near the thread count on a quiet machine, near 1 or below when
# other work takes the cores; a ratio is only trustworthy where both sides had the cores alike.
print("| setting | reference images/s | camlab images/s (e2e) | ratio (e2e) | camlab images/s (loop) "
      "| ratio (loop) | CPU s ref / camlab | CPU ratio | cores busy ref / camlab | PERF.md target | met (e2e) |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for name, r, rcpu, (e2e, loop, ccpu), target in rows:
    print("| %s | %.3f | %.3f | **%.2fx** | %.3f | %.2fx | %.1f / %.1f | %s | %.1f / %.1f | %.1fx | %s |"
          % (name, r, e2e, e2e / r, loop, loop / r if loop else 0, rcpu, ccpu,
             "%.2fx" % (rcpu / ccpu) if ccpu else "-", rcpu / (n / r), ccpu / (n / e2e) if ccpu else 0,
             target, "yes" if e2e / r >= target else "no"))
print("reference forward only: %.2f images/s (PERF.md's idle machine: 33.6)" % ref["forward"])
EOF
	rep=$((rep + 1))
done
