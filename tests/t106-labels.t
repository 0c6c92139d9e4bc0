#!/bin/sh
# t106-labels.t - methods as users know them everywhere (issue 18): the report's tables name every
# built-in method and utility as its paper or pytorch-grad-cam does (EigenCAM, KPCA-CAM, SobelCAM,
# FullGrad, the Finer utility), a method-parameter variant as KPCA-CAM(gamma=0.5); and a spec's
# `methods: all` behaves as explain's --method all, layer by layer: refinecam at a fused layer (and only
# there), cam left out with a note at a token layer (a ViT block, layout bnc) while a CNN's layer before
# pooling keeps it, and cam named at that token layer refused by check at its position.
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
CNN=$PWD/experiments/models/fashion_mnist_cnn.pt
VIT=$PWD/experiments/models/fashion_mnist_vit.pt
FM=/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz

# the spec side needs no model file or data: check reads neither
cat >$TMP/cam.yaml <<EOF
name: cam
models:
  - name: vit
    file: $VIT
    layers: {blk: {path: blocks.3.norm1, layout: bnc}}
data: {path: $FM, limit: 2}
methods: [gradcam, cam]
EOF
test_expect_success 'cam named at a token layer: an error at its position, saying why' "
	test_must_fail $CAMLAB check $TMP/cam.yaml 2>$TMP/err &&
	test_grep '^$TMP/cam.yaml:7:20: error: method .cam. needs a linear head on pooled channels, and layer .blk. of model .vit. is a token layer' $TMP/err
"

cat >$TMP/all.yaml <<EOF
name: all
output: $TMP/out/all
models:
  - name: vit
    file: $VIT
    layers:
      f: {path: "blocks.2.norm1,blocks.3.norm1", layout: bnc}
      blk: blocks.3.norm1
  - name: cnn
    file: $CNN
    layers: {f: [features.pool2, features.block5], last: features.block5}
data: {path: $FM, limit: 2}
methods: all
utilities: [logit]
metrics: [ad]
outputs: {plots: false}
EOF
# check reads no model: it knows the layers the spec declares as tokens, a run the others (below)
test_expect_success 'all: refinecam where the grid has a fused layer, left out at its plain layers; cam not at tokens' "
	$CAMLAB check --canonical $TMP/all.yaml >$TMP/canon 2>$TMP/warn &&
	test_grep '^methods cam .* refinecam fullgrad\$' $TMP/canon &&
	test_grep '^exclude model=vit layer=f method=cam ' $TMP/canon &&
	test_grep '^exclude model=vit layer=blk method=refinecam ' $TMP/canon &&
	test_grep '^exclude model=cnn layer=last method=refinecam ' $TMP/canon &&
	test \$(grep -c '^exclude' $TMP/canon) = 3 &&
	test_grep 'all.yaml:13:10: warning: all leaves out cam at layer .f. of model .vit.: .*token layer' $TMP/warn
"

if [ ! -f $FM ]; then
	for i in 1 2; do test_skip "a tiny run ($i)" 'dataset-fashion-mnist is not installed'; done
elif [ ! -f $VIT ]; then
	for i in 1 2; do test_skip "a tiny run ($i)" "no $VIT (made by tools/train_fashion_mnist_vit.py)"; done
else
	cat >$TMP/names.yaml <<EOF
name: names
output: $TMP/out/names
models: {cnn: {file: $CNN, layers: {last: features.block5}}}
data: {path: $FM, limit: 2}
methods: [gradcam, eigencam, eigengradcam, {kpcacam: {gamma: 0.5}}, segeigencam, fem, sobelcam, fullgrad]
utilities: [finer]
metrics: [ad]
outputs: {plots: false}
EOF
	T=$TMP/out/names/report/tables/methods.cnn.last.finer.predicted
	test_expect_success 'the tables name the methods and the utility as users know them' "
		{ $CAMLAB run $TMP/names.yaml >$TMP/run 2>&1 || { cat $TMP/run; false; }; } &&
		for m in GradCAM EigenCAM EigenGradCAM 'KPCA-CAM[(]gamma=0[.]5[)]' SegEigenCAM FEM SobelCAM FullGrad; do
			test_grep \"^[|] \$m [|]\" $T.md && test_grep \"^\$m,\" $T.csv &&
			test_grep \">\$m<\" $TMP/out/names/report/index.html || return 1
		done &&
		test_grep 'Finer utility' $T.md && ! grep -q 'eigen\|kpca\|sobel\|fullgrad\|^[|] fem' $T.md
	"
	# the ViT block (layout found by the model) and the CNN's fused layer, whose first layer is inside
	# the network, lose cam when the run loads the models; the CNN's layer before pooling keeps it. The
	# ViT block's table: its head row and 19 methods (all less cam and refinecam); the plan as the run.
	test_expect_success 'a run of all: RefineCAM in the fused layers tables only, CAM only where defined' "
		{ $CAMLAB run $TMP/all.yaml >$TMP/run 2>&1 || { cat $TMP/run; false; }; } &&
		test_grep 'all.yaml:13:10: warning: all leaves out cam at layer .blk. of model .vit.: method .cam. needs the layer to feed global average pooling and the linear head directly' $TMP/run &&
		test_grep 'all.yaml:13:10: warning: all leaves out cam at layer .f. of model .cnn.: method .cam. needs the layer to feed global average pooling and the linear head directly' $TMP/run &&
		test \$(grep -c 'leaves out cam' $TMP/run) = 3 &&
		! grep -q 'error' $TMP/run && t=$TMP/out/all/report/tables/methods &&
		test_grep '^[|] RefineCAM [|]' \$t.vit.f.logit.predicted.md &&
		test_grep '^[|] RefineCAM [|]' \$t.cnn.f.logit.predicted.md &&
		! grep -q '^[|] RefineCAM [|]' \$t.vit.blk.logit.predicted.md \$t.cnn.last.logit.predicted.md &&
		! grep -q '^[|] CAM [|]' \$t.vit.f.logit.predicted.md \$t.vit.blk.logit.predicted.md \$t.cnn.f.logit.predicted.md &&
		test_grep '^[|] CAM [|]' \$t.cnn.last.logit.predicted.md &&
		test \$(grep -c '^[|] [A-Z]' \$t.vit.blk.logit.predicted.md) = 20 &&
		$CAMLAB plan $TMP/all.yaml >$TMP/plan 2>/dev/null && test \$(grep -c ' cam  ' $TMP/plan) = 1
	"
fi
test_done
