#!/bin/sh
# t78-vit.t - gradient methods at encoder.layers.encoder_layer_11.ln_1 (tokens: a class token, then a
# 14x14 grid) in torchvision's vit_b_16 with random weights, against tests/transformer_ref.py's
# independent reference written from pytorch-grad-cam's definitions (its comment says which file and
# function each part follows). Exporting and running the network is slow on a CPU: one image, batch 1.
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
TOOL=$BUILD/tests/cam_tool
need_built "$TOOL"
need_python torch torchvision numpy
"$PY" -c 'import torchvision.models as m; m.vit_b_16' 2>/dev/null ||
	skip_all "torchvision at $PY has no vit_b_16 (0.13 or later has)"
IMG=$SHARED/data/imagenet_sample/n01440764_tench.JPEG
[ -f "$IMG" ] || skip_all "no shared images at $SHARED"
"$PY" tools/export_models.py "$TMP" --random vit_b_16 >"$TMP/export.log" 2>&1 ||
	{ cat "$TMP/export.log"; echo "Bail out! tools/export_models.py failed"; exit 1; }
PYTHONPATH=tests exec $PY tests/transformer_ref.py "$TOOL" "$TMP" "$IMG" vit_b_16
