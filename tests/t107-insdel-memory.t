#!/bin/sh
# t107-insdel-memory.t - insertion and deletion forward their perturbed images in bounded batches: on
# MobileNet-V2 at 224 x 224, 111 images a forward (the old 64 MiB cap on their input) took 2.5 GiB and
# twice the CPU of 34 (bench/RESULTS.md, "Insertion and deletion"). A two-image run of insertion (202
# images to forward) must stay under 1.5 GiB of peak memory; the values themselves are t77's.
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
MODEL=$SHARED/models/mobilenet_v2_imagenet.pt
DATA=$SHARED/data/imagenet_sample
[ -f "$MODEL" ] && [ -d "$DATA" ] || skip_all "no shared MobileNet-V2 or ImageNet sample in $SHARED"
[ -x /usr/bin/time ] || skip_all "no /usr/bin/time"

cat >$TMP/ins.yaml <<EOS
name: insdel-memory
output: $TMP/out
models:
  - name: mobilenetv2
    file: $MODEL
    input_size: 224
    mean: [0.5, 0.5, 0.5]
    std: [0.5, 0.5, 0.5]
    layers: {pre_gap: Conv_1}
data: {path: $DATA, limit: 2}
batch: 2
methods: [gradcam]
targets: [predicted]
metrics: [insertion]
outputs: {tables: false, plots: false}
EOS

/usr/bin/time -f '%M' -o $TMP/peak "$CAMLAB" run --no-progress $TMP/ins.yaml >$TMP/log 2>&1
test_ok $? "a two-image insertion run on MobileNet-V2 succeeds" || cat $TMP/log

peak=$(tail -n 1 $TMP/peak)
test_expect_success "its peak memory stays under 1.5 GiB (it was ${peak} KiB)" '
	[ "$peak" -lt $((1536 * 1024)) ]
'

test_done
