#!/bin/sh
# t52-check-models.t - `camlab check --models` and the same check in `camlab submit`: each model is
# loaded and one real image put through it at each layer of the grid, so that what only the network can
# tell (a layer path it lacks, a layout that does not fit, class names that do not number its logits, a
# target it cannot have, CAM without its head) is an error at the spec's position before anything runs
# or is submitted; an unreadable first image is skipped; the shipped specs on ../shared pass it.
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
FM=/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz
[ -f $FM ] || skip_all "dataset-fashion-mnist is not installed"
MODEL=$PWD/experiments/models/fashion_mnist_cnn.pt

printf 'a\nb\nc\n' >$TMP/three.txt
cat >$TMP/bad.yaml <<EOS
name: bad
output: $TMP/out
models:
  - name: fashion
    file: $MODEL
    layers:
      pre_gap: features.block5
      typo: features.blok5
      conv4: features.conv4
      tokens: {path: features.block5.conv, layout: bnc}
  - name: three
    file: $MODEL
    classes: $TMP/three.txt
    layers: [pre_gap]
data: {path: $FM, limit: 5}
methods: [gradcam, cam]
targets: [predicted, top12, Sneaker, 12]
grid: {exclude: [{layer: tokens, method: cam}]}
EOS

test_expect_success 'a valid spec: each model and layer shown, A as the layer gives it' "
	$CAMLAB check --models experiments/quickstart.yaml >$TMP/ok.out &&
	test_grep \"^model 'fashion_cnn' .*#0 as 1x3x28x28\" $TMP/ok.out &&
	test_grep \"^  layer 'pre_gap' \\(features.block5\\): A 128x7x7\" $TMP/ok.out &&
	test_grep '^  10 classes, named' $TMP/ok.out &&
	test_grep 'quickstart.yaml: ok: 1 model' $TMP/ok.out
"

test_expect_success 'every problem only the models can tell, at its position' "
	test_must_fail $CAMLAB check --models $TMP/bad.yaml >$TMP/bad.out 2>$TMP/bad.err &&
	test_grep \"bad.yaml:8:13: error: model 'fashion': unknown layer 'features.blok5' in '.*'; did you mean 'features.block5'\" $TMP/bad.err &&
	test_grep \"bad.yaml:10:22: error: model 'fashion': layout bnc needs a layer output of 3 dimensions\" $TMP/bad.err &&
	test_grep \"bad.yaml:16:20: error: model 'fashion', layer 'conv4': method 'cam' needs the layer to feed global average pooling\" $TMP/bad.err &&
	test_grep \"bad.yaml:13:14: error: model 'three': it gives 10 logits, but has 3 class names in its classes file\" $TMP/bad.err &&
	test_grep \"bad.yaml:17:22: error: model 'fashion': target top12 asked for, but the model has 10 classes\" $TMP/bad.err &&
	test_grep \"bad.yaml:17:29: error: model 'three': unknown target 'Sneaker'\" $TMP/bad.err &&
	test_grep \"bad.yaml:17:38: error: model 'fashion': target class 12 is out of range: the model has 10 classes \\(0 to 9\\)\" $TMP/bad.err &&
	test \$(grep -c error: $TMP/bad.err) = 9 &&
	! grep -q \"pre_gap.*cam\\|'Sneaker'.*'fashion'\\|model 'fashion': unknown target\" $TMP/bad.err
"

test_expect_success 'without --models, check does not load the models' "
	$CAMLAB check $TMP/bad.yaml >$TMP/plain.out 2>&1 &&
	! grep -q error $TMP/plain.out
"

test_expect_success 'submit checks the models first and submits nothing when they fail' "
	test_must_fail $CAMLAB submit --dry-run $TMP/bad.yaml >$TMP/sub.out 2>$TMP/sub.err &&
	test_grep 'checking the models on one image' $TMP/sub.err &&
	test_grep \"bad.yaml:8:13: error: model 'fashion': unknown layer\" $TMP/sub.err &&
	test_grep 'nothing submitted' $TMP/sub.err &&
	test ! -e $TMP/out/slurm &&
	$CAMLAB submit --dry-run --no-check $TMP/bad.yaml >$TMP/sub2.out 2>&1 &&
	test -f $TMP/out/slurm/shard.sbatch
"

# A folder whose first image (in sorted order) is not an image: skipped, the next one is used.
mkdir -p $TMP/imgs
printf 'not a jpeg' >$TMP/imgs/a.jpg
cat >$TMP/skip.yaml <<EOS
name: skip
output: $TMP/skip
models: [{name: fashion, file: $MODEL, layers: [pre_gap]}]
data: {path: $TMP/imgs}
methods: [gradcam]
EOS
test_expect_success 'no readable image: an error at the data; an unreadable one is skipped' "
	test_must_fail $CAMLAB check --models $TMP/skip.yaml 2>$TMP/skip.err &&
	test_grep \"skip.yaml:4:14: error: model 'fashion': no image of the data could be read\" $TMP/skip.err &&
	{ printf 'P6\\n40 30\\n255\\n' && head -c 3600 /dev/zero; } >$TMP/imgs/b.ppm &&
	$CAMLAB check --models $TMP/skip.yaml >$TMP/skip.out 2>$TMP/skip.err &&
	test_grep 'a.jpg' $TMP/skip.err &&
	test_grep \"^model 'fashion' .*imgs/b.ppm as 1x3x28x28\" $TMP/skip.out
"

if [ -d ../shared/models ] && [ -d ../shared/data ]; then
	test_expect_success 'the shipped specs on ../shared pass with the real models' "
		$CAMLAB check --models experiments/shared/resnet20_cifar10.yaml >$TMP/r20.out &&
		test_grep \"^  layer 'pre_gap' \\(f.layer3\\): A 64x8x8\" $TMP/r20.out &&
		$CAMLAB check --models experiments/shared/mobilenet_v2_imagenet.yaml >$TMP/mv2.out &&
		test_grep \"^  layer 'pre_gap' \\(Conv_1\\): A 1280x7x7\" $TMP/mv2.out &&
		test_grep '^  1000 classes, named' $TMP/mv2.out
	"
else
	test_skip 'the shipped specs on ../shared' "../shared/models or ../shared/data is missing"
fi

test_done
