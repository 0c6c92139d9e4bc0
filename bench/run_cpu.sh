#!/bin/sh
# run_cpu.sh - the CPU speed baseline: bench_methods on the shared pretrained models and on PERF.md's
# CPU setting (random-initialised ResNet-18 at layer4.1, batch 8, 500x375 JPEGs resized to 256 and
# cropped to 224), so later speed work compares against the same table.
#
#   bench/run_cpu.sh [all|shared|resnet18]      (default all; 6 minutes with THREADS=1 on a loaded 2-core machine)
#
# Environment: BENCH (default build/bench/bench_methods), SHARED (default ../shared), THREADS (default:
# all cores), REPEAT (default 3), PYTHON (default /usr/bin/python3, for the ResNet-18 export).
set -u
cd "$(dirname "$0")/.." || exit 1

mode=${1:-all}
BENCH=${BENCH:-build/bench/bench_methods}
SHARED=${SHARED:-../shared}
THREADS=${THREADS:-$(nproc)}
REPEAT=${REPEAT:-3}
PYTHON=${PYTHON:-/usr/bin/python3}
status=0

case $mode in
all | shared | resnet18) ;;
*)
	echo "usage: bench/run_cpu.sh [all|shared|resnet18]" >&2
	exit 2
	;;
esac
if [ ! -x "$BENCH" ]; then
	echo "error: no benchmark binary at '$BENCH' (cmake --build build, or set BENCH)" >&2
	exit 1
fi

run() {
	echo "== $*"
	start=$(date +%s)
	"$BENCH" --threads "$THREADS" --repeat "$REPEAT" "$@" || status=1
	echo "(wall time $(($(date +%s) - start)) s)"
	echo
}

echo "# camlab bench_methods, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) core(s), $THREADS thread(s)"
echo "# $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'); load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo

if [ "$mode" != resnet18 ]; then
	if [ ! -d "$SHARED/models" ] || [ ! -d "$SHARED/data" ]; then
		echo "skipping the shared models: '$SHARED' is missing (set SHARED to its folder)"
		echo
	else
		cifar="--size 0 --mean 0.485,0.456,0.406 --std 0.229,0.224,0.225"
		# foolbox_samples sorts its 20 CIFAR-10 PNGs first; the Fashion-MNIST ones after them are 28x28.
		cifar_data="--dataset $SHARED/data/foolbox_samples --limit 20"
		# shellcheck disable=SC2086
		run --model "$SHARED/models/resnet20_cifar10.pt" --layer f.layer3 $cifar $cifar_data \
			--images 128 --images-slow 8
		# shellcheck disable=SC2086
		run --model "$SHARED/models/resnet56_cifar10.pt" --layer f.layer3 $cifar $cifar_data \
			--images 64 --images-slow 8
		# ScoreCAM costs 1280 forwards per image here: two images are enough to see its rate.
		run --model "$SHARED/models/mobilenet_v2_imagenet.pt" --layer Conv_1 --size 224 \
			--mean 0.5,0.5,0.5 --std 0.5,0.5,0.5 --dataset "$SHARED/data/imagenet_sample" \
			--images 32 --images-slow 2
	fi
fi

if [ "$mode" != shared ]; then
	if ! "$PYTHON" -c 'import torch, torchvision, PIL' 2>/dev/null; then
		echo "skipping ResNet-18: '$PYTHON' lacks torch, torchvision or PIL (set PYTHON)"
		echo
	elif "$PYTHON" bench/make_resnet18.py bench/models bench/data/synth 32 >/dev/null; then
		# PERF.md's CPU setting; --size 224 resizes to 256 and crops 224, normalisation is ImageNet's.
		run --model bench/models/resnet18_random.pt --layer layer4.1 --size 224 \
			--mean 0.485,0.456,0.406 --std 0.229,0.224,0.225 --dataset bench/data/synth \
			--batch 8 --images 32 --images-slow 2
	else
		echo "error: could not make the ResNet-18 model or images" >&2
		status=1
	fi
fi
exit $status
