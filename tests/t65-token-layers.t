#!/bin/sh
# t65-token-layers.t - token layers with a class token: a tiny torchvision VisionTransformer (32x32
# input, 8x8 patches: a class token then a 4x4 grid, 17 tokens) exported at test time. Before prefix
# tokens were known, its token layers failed with "17 tokens do not form a square grid".
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
need_python torch torchvision
"$PY" -c 'import torchvision.models.vision_transformer' 2>/dev/null ||
	skip_all "torchvision at $PY has no VisionTransformer (0.12 or later has)"
IMG=$SHARED/data/foolbox_samples/cifar10_00_3.png
[ -f "$IMG" ] || skip_all "no shared images at $SHARED"
MODEL=$TMP/tiny_vit.pt
"$PY" - "$MODEL" <<'PYEOF' || { echo "Bail out! cannot export the tiny ViT"; exit 1; }
import sys, torch
from torchvision.models.vision_transformer import VisionTransformer
torch.manual_seed(0)
m = VisionTransformer(image_size=32, patch_size=8, num_layers=1, num_heads=2, hidden_dim=16, mlp_dim=32,
                      num_classes=10).eval()
torch.nn.init.normal_(m.heads.head.weight, std=0.5)  # torchvision starts it at zero
with torch.enable_grad():  # without gradients attention takes a fused path that has no derivative
    torch.jit.trace(m, torch.randn(1, 3, 32, 32), check_trace=False).save(sys.argv[1])
PYEOF
L=encoder.layers.encoder_layer_0.ln_1
M="--model $MODEL --size 32 --mean 0.5,0.5,0.5 --std 0.5,0.5,0.5 --layer $L --batch 1"

test_expect_success 'layers --shapes marks the token layer and gives its prefix tokens and grid' "
	$CAMLAB layers --model $MODEL --shapes --size 32 >$TMP/layers 2>$TMP/err &&
	test_grep '^$L +LayerNorm +\(1, 16, 4, 4\) bnc 1\+4x4 \*\$' $TMP/layers &&
	test_grep '^conv_proj +Conv2d +\(1, 16, 4, 4\) bchw\$' $TMP/layers &&
	$CAMLAB layers --model $MODEL >$TMP/plain && test_grep '^$L +LayerNorm\$' $TMP/plain
"

test_expect_success 'explain maps the token layer, the class token left out (detected)' "
	$CAMLAB explain $M --method gradcam,shapleycam --raw -o $TMP/ex $IMG >$TMP/out 2>&1 &&
	test -f $TMP/ex/cifar10_00_3_gradcam.npy && test -f $TMP/ex/cifar10_00_3_shapleycam_raw.npy
"

test_expect_success 'explain takes --prefix-tokens and --grid' "
	$CAMLAB explain $M --prefix-tokens 1 --grid 4x4 --method gradcam -o $TMP/ex2 $IMG >$TMP/out 2>&1 &&
	test -f $TMP/ex2/cifar10_00_3.npy -o -f $TMP/ex2/cifar10_00_3_gradcam.npy
"

test_expect_success 'a grid that does not fit says what to give' "
	test_must_fail $CAMLAB explain $M --grid 5x5 --method gradcam -o $TMP/ex3 $IMG >$TMP/out 2>&1 &&
	test_grep '17 tokens do not make a 5x5 grid; give the prefix tokens' $TMP/out &&
	test_must_fail $CAMLAB explain $M --grid 4y4 -o $TMP/ex4 $IMG >$TMP/out 2>&1 &&
	test_grep \"bad grid '4y4'\" $TMP/out
"

test_expect_success 'specs take prefix_tokens and grid on a layer' "
	cat >$TMP/spec.yaml <<-EOS &&
	models:
	  - file: $MODEL
	    input_size: 32
	    layers: {tok: {path: $L, layout: bnc, prefix_tokens: 1, grid: [4, 4]}}
	data: $SHARED/data/foolbox_samples
	methods: [gradcam]
	EOS
	$CAMLAB check $TMP/spec.yaml >$TMP/out 2>&1 && test_grep ': ok' $TMP/out &&
	cat >$TMP/bad.yaml <<-EOS &&
	models:
	  - file: $MODEL
	    layers: {tok: {path: $L, layout: bhwc, grid: [4, x]}}
	data: $SHARED/data/foolbox_samples
	methods: [gradcam]
	EOS
	test_must_fail $CAMLAB check $TMP/bad.yaml >$TMP/out 2>&1 &&
	test_grep \"bad 'grid' for layer 'tok'\" $TMP/out &&
	test_grep \"layer 'tok' has layout 'bhwc'\" $TMP/out
"

test_done
