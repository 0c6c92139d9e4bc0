#!/bin/sh
# t26-upstream-explain.t - the methods taken from pytorch-grad-cam and the utility finer are usable by
# name in `camlab explain` and in specs (t25 checks their numbers against upstream's).
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
MODEL=$SHARED/models/resnet20_cifar10.pt
[ -f "$MODEL" ] || skip_all "no shared models at $SHARED"
NEW=eigencam,eigengradcam,kpcacam,segeigencam,fem,sobelcam
M="--model $MODEL --size 0 --mean 0.485,0.456,0.406 --std 0.229,0.224,0.225 --layer f.layer3"
IMGS="$SHARED/data/foolbox_samples/cifar10_00_3.png $SHARED/data/foolbox_samples/cifar10_01_8.png"

test_expect_success 'explain runs every new method with the utility finer, in one batch' "
	$CAMLAB explain $M --method $NEW,gradcam --utility finer --batch 2 --raw -o $TMP/ex $IMGS >$TMP/log &&
	for m in eigencam eigengradcam kpcacam segeigencam fem sobelcam gradcam; do
		test -f $TMP/ex/cifar10_00_3_\$m.npy && test -f $TMP/ex/cifar10_01_8_\$m.png &&
		test -f $TMP/ex/cifar10_01_8_\${m}_raw.npy || { echo \"no maps of \$m\"; exit 1; }
	done
"

test_expect_success 'camlab help lists them' "
	$CAMLAB help methods >$TMP/help &&
	for m in eigencam eigengradcam kpcacam segeigencam fem sobelcam; do
		test_grep \"^\$m +\" $TMP/help || exit 1
	done &&
	$CAMLAB help utilities | test_grep '^  finer ' /dev/stdin
"

test_expect_success 'a spec may name them and the utility finer' "
	cat >$TMP/spec.yaml <<-EOS &&
	models: [{file: $MODEL, layers: f.layer3}]
	data: $SHARED/data/foolbox_samples
	methods: [eigencam, EigenGradCAM, kpcacam, segeigencam, fem, sobelcam, gradcam]
	utilities: [finer, rest]
	EOS
	$CAMLAB check $TMP/spec.yaml >$TMP/out 2>&1 &&
	test_grep ': ok' $TMP/out
"

test_done
