#!/bin/sh
# metric_cost.sh - what each evaluation metric costs on this machine: experiments/evaluation.yaml's model
# and images, one method (GradCAM, ReST, predicted class), one `camlab run` per metric on N images, each
# in a fresh folder; a metric's cost is its run less the run of a metric that needs no forward (Com),
# which pays the start-up, the model, the decoding and the map. Prints a Markdown table: process CPU
# seconds and wall seconds per image, and images/s of the metric alone (from CPU time, one core).
#
#   bench/metric_cost.sh [N]          (default 8 images; BUILD=build, SHARED=../shared, OUT=a temp dir)
set -u
cd "$(dirname "$0")/.." || exit 1
N=${1:-8}
BUILD=${BUILD:-build}
SHARED=${SHARED:-$(cd .. && pwd)/shared}
OUT=${OUT:-$(mktemp -d)}
mkdir -p "$OUT" || exit 1
CAMLAB=$PWD/$BUILD/camlab
[ -x "$CAMLAB" ] || { echo "error: no camlab at '$CAMLAB' (cmake --build $BUILD)" >&2; exit 1; }
[ -f "$SHARED/models/mobilenet_v2_imagenet.pt" ] || { echo "error: no shared model in '$SHARED'" >&2; exit 1; }

# spec NAME METRICS: a one-method run of the evaluation's model on N images
spec() {
	cat >"$OUT/$1.yaml" <<EOF
name: cost-$1
output: $OUT/$1
models:
  - name: mobilenetv2
    file: $SHARED/models/mobilenet_v2_imagenet.pt
    input_size: 224
    mean: [0.5, 0.5, 0.5]
    std: [0.5, 0.5, 0.5]
    layers: {pre_gap: Conv_1}
data: {path: $SHARED/data/imagenet_sample, limit: $N}
batch: $N
methods: [gradcam]
utilities: [rest]
targets: [predicted]
metrics: [$2]
outputs: {tables: false, plots: false}
EOF
}

# run NAME: "cpu wall" seconds of the whole process (a finished run's times are reused: RERUN=1 redoes it)
run() {
	if [ -z "${RERUN:-}" ] && [ -s "$OUT/$1.time" ] && [ -f "$OUT/$1/results.sqlite" ]; then
		awk '{ printf "%.3f %.3f\n", $1 + $2, $3 }' "$OUT/$1.time"
		return
	fi
	/usr/bin/time -f '%U %S %e' -o "$OUT/$1.time" "$CAMLAB" run --no-progress "$OUT/$1.yaml" \
		>"$OUT/$1.log" 2>&1 || { echo "error: the run '$1' failed:" >&2; cat "$OUT/$1.log" >&2; exit 1; }
	awk '{ printf "%.3f %.3f\n", $1 + $2, $3 }' "$OUT/$1.time"
}

echo "# $N images, MobileNet-V2 Conv_1, GradCAM; $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg) at the start; $(date -u '+%F %H:%M UTC')"
echo
echo "| metric | forwards per image | CPU s/image | wall s/image | images/s (metric alone, CPU) |"
echo "|---|---|---|---|---|"
spec base com
set -- $(run base)
base_cpu=$1 base_wall=$2
for m in "ad:1 (x * H; O, shared with coh, ic, gain)" "add:1 (x * (1 - H))" "coh:1 + a backward (the map of x * H)" \
	"gain:1 (O, shared with ad)" "road:19 (18 imputed images and x) + 18 sparse solves" "arcc:9 (8 imputed and x) + 1 (Coh) + 8 sparse solves" \
	"insertion:101 (+ a blur)" "deletion:101" "ad, coh, com, adcc, ic, add:3 (the paper's six)" \
	"sanity:(forward + backward) per randomised step above the layer" \
	"fidelity:2 + 64 (hw - 1) forwards of the network above the layer (3074 at 7x7)" \
	"discrimination:2 (forward + backward), second and least likely class"; do
	name=${m%%:*} fw=${m#*:}
	stem=$(echo "$name" | tr -d ' ,')
	spec "$stem" "$name"
	set -- $(run "$stem")
	awk -v m="$name" -v fw="$fw" -v c="$1" -v w="$2" -v bc="$base_cpu" -v bw="$base_wall" -v n="$N" 'BEGIN {
		c = (c - bc) / n; w = (w - bw) / n
		r = "-"
		if (c > 0)
			r = sprintf("%.2f", 1 / c)
		printf "| %s | %s | %.3f | %.3f | %s |\n", m, fw, c, w, r }'
done
echo
echo "Baseline (com, no forward beyond the pass): $base_cpu s CPU, $base_wall s wall for the whole process."
