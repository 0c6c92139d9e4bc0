#!/bin/sh
# t102-fused-one-pass.t - a fused layer's passes are one forward through all its layers (ts_chain in
# cam/torch_shim.h, cam_multi_pass in cam/multilayer.h), not a pass per layer: the maps, A, G and HA equal
# those of the passes per layer (CAMLAB_TEST_FUSED_PER_LAYER=1) to 1e-6 of their largest value, and
# CAMLAB_DEBUG's count says one forward a batch where it was one a layer. Layers one inside another fall
# back to a pass each; fidelity and sanity, defined at one layer, are refused at a fused layer by check.
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
TOOL=$BUILD/tests/cam_tool
need_built "$TOOL"
R20=$SHARED/models/resnet20_cifar10.pt
MNV2=$SHARED/models/mobilenet_v2_imagenet.pt
NORM="--mean 0.485,0.456,0.406 --std 0.229,0.224,0.225"

# ---- check: the metrics defined at one layer's activations ----
touch "$TMP/m.pt"
cat >"$TMP/f.yaml" <<EOS
name: fused
models:
  - file: $TMP/m.pt
    layers: {plain: layer4, fused: [layer3, layer4]}
data: $TMP
methods: [gradcam]
metrics: [ad, fidelity, sanity]
EOS
cat >"$TMP/f.lua" <<EOS
experiment {
  name = "fused",
  models = { { file = "$TMP/m.pt", layers = { plain = "layer4", fused = { "layer3", "layer4" } } } },
  data = "$TMP",
  methods = { "gradcam" },
  metrics = { "ad", "fidelity", "sanity" },
}
EOS
test_fails_with 'check: fidelity at a fused layer, at the metric' \
	"f.yaml:7:15: error: metric 'fidelity' is defined at one layer's activations; layer 'fused' of model 'm' fuses several ('layer3,layer4')" \
	"$CAMLAB" check "$TMP/f.yaml"
test_fails_with 'check: sanity at a fused layer, at the metric' "f.yaml:7:25: error: metric 'sanity' is defined at one layer's" \
	"$CAMLAB" check "$TMP/f.yaml"
test_fails_with 'check: the same in Lua' "f.lua:6:[0-9]*: error: metric 'fidelity' is defined at one layer's" \
	"$CAMLAB" check "$TMP/f.lua"
sed 's/, fused: \[layer3, layer4\]//' "$TMP/f.yaml" >"$TMP/plain.yaml"
test_expect_success 'check: both at plain layers are fine' "$CAMLAB check $TMP/plain.yaml"

# ---- numbers: one pass against a pass per layer ----
if ! [ -f "$R20" ]; then
	skip_reason="no shared models at $SHARED"
elif ! "$PY" -c 'import numpy' 2>/dev/null; then
	skip_reason="$PY lacks numpy (set CAMLAB_PYTHON)"
else
	skip_reason=
fi

# passes NAME MODEL LAYERS METHODS ARGS...: cam_tool's arrays of both ways into $TMP/NAME.{one,per}, and
# its CAMLAB_DEBUG lines into $TMP/NAME.{one,per}.log
passes() {
	name=$1 model=$2 layers=$3 methods=$4
	shift 4
	mkdir -p "$TMP/$name.one" "$TMP/$name.per" &&
	CAMLAB_DEBUG=1 "$TOOL" passes --model "$model" --layer "$layers" --methods "$methods" -o "$TMP/$name.one" \
		"$@" 2>"$TMP/$name.one.log" &&
	CAMLAB_DEBUG=1 CAMLAB_TEST_FUSED_PER_LAYER=1 "$TOOL" passes --model "$model" --layer "$layers" \
		--methods "$methods" -o "$TMP/$name.per" "$@" 2>"$TMP/$name.per.log"
}
# same NAME: every array of the one pass equals the per-layer one to 1e-6 of its largest value
same() {
	"$PY" - "$TMP/$1.one" "$TMP/$1.per" <<-'PYEOF'
	import glob, os, sys
	import numpy as np
	one, per = sys.argv[1:3]
	files = sorted(glob.glob(os.path.join(per, "*.npy")))
	assert len(files) > 5, "too few arrays: %s" % files
	bad = 0
	for f in files:
	    b = np.load(f).astype(np.float64)
	    a = np.load(os.path.join(one, os.path.basename(f))).astype(np.float64)
	    d = np.abs(a - b).max() / max(np.abs(b).max(), 1e-30) if a.shape == b.shape else np.inf
	    print("%s: %.3g" % (os.path.basename(f), d))
	    bad += not d <= 1e-6
	sys.exit(bad != 0)
	PYEOF
}
IMGS=$(ls "$SHARED"/data/foolbox_samples/cifar10_0*.png 2>/dev/null | head -n 4 | tr "\n" " ")
if [ -n "$skip_reason" ]; then
	test_skip 'resnet20 f.layer2,f.layer3: one pass equals a pass per layer' "$skip_reason"
	test_skip 'the one pass is one forward for the batch, the old way two' "$skip_reason"
	test_skip 'the layers listed deepest first give the same maps' "$skip_reason"
	test_skip 'layers one inside another fall back to a pass per layer' "$skip_reason"
	test_skip 'mobilenet_v2 Conv_1,expanded_conv_16_project: one pass equals a pass per layer' "$skip_reason"
	test_skip 'camlab run: one forward per batch of a fused layer' "$skip_reason"
else
	# softmax: HA is not zero, so the Hessian-vector products at both layers are compared too
	test_expect_success 'resnet20 f.layer2,f.layer3: one pass equals a pass per layer' "
		passes r20 $R20 f.layer2,f.layer3 gradcam,shapleycam,hirescam,refinecam,ablationcam \
			--utility softmax --target predicted --size 0 $NORM $IMGS &&
		same r20
	"
	test_expect_success 'the one pass is one forward for the batch, the old way two' "
		test_grep '^debug: fused layer of 2 layers: 1 forwards for 1 batches' $TMP/r20.one.log &&
		test_grep '^debug: fused layer of 2 layers: 2 forwards for 1 batches' $TMP/r20.per.log
	"
	test_expect_success 'the layers listed deepest first give the same maps' "
		passes rev $R20 f.layer3,f.layer1,f.layer2 gradcam,refinecam --utility logit --target predicted \
			--size 0 $NORM $IMGS &&
		test_grep '3 layers: 1 forwards' $TMP/rev.one.log && same rev
	"
	test_expect_success 'layers one inside another fall back to a pass per layer' "
		passes nest $R20 f.layer3,f.layer3.1 gradcam --utility logit --target predicted --size 0 $NORM $IMGS &&
		test_grep 'a pass per layer' $TMP/nest.one.log &&
		test_grep '2 layers: 2 forwards for 1 batches' $TMP/nest.one.log && same nest
	"
	if [ -f "$MNV2" ]; then
		MIMGS=$(ls "$SHARED"/data/imagenet_sample/*.JPEG | head -n 2 | tr "\n" " ")
		test_expect_success 'mobilenet_v2 Conv_1,expanded_conv_16_project: one pass equals a pass per layer' "
			passes mnv2 $MNV2 Conv_1,expanded_conv_16_project gradcam,gradcam++,refinecam,shapleycam --utility softmax \
				--target predicted --mean 0.5,0.5,0.5 --std 0.5,0.5,0.5 $MIMGS &&
			test_grep '1 forwards for 1 batches' $TMP/mnv2.one.log && same mnv2
		"
	else
		test_skip 'mobilenet_v2 Conv_1,expanded_conv_16_project: one pass equals a pass per layer' \
			"no $MNV2"
	fi
	cat >"$TMP/run.yaml" <<-EOS
	name: fusedrun
	output: $TMP/out
	models: [{file: $R20, input_size: 0, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225],
	          layers: {both: [f.layer2, f.layer3]}}]
	data: {path: $SHARED/data/foolbox_samples, limit: 3}
	batch: 2
	methods: [gradcam, refinecam]
	metrics: [ad]
	EOS
	test_expect_success 'camlab run: one forward per batch of a fused layer' "
		CAMLAB_DEBUG=1 $CAMLAB run $TMP/run.yaml >$TMP/runlog 2>&1 &&
		test_grep 'fused layer of 2 layers: 2 forwards for 2 batches' $TMP/runlog
	"
fi

test_done
