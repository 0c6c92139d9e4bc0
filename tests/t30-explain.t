#!/bin/sh
# t30-explain.t - camlab explain end to end on a real ImageNet model and photo: GradCAM puts 'bull
# mastiff' on the dog and 'tabby' on the cat of photos_gradcam/both.png (dog above, cat below), the
# outputs are what the issue promises, and every error path is a clear message, not a crash.
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
MODEL=$SHARED/models/mobilenet_v2_imagenet.pt
[ -f "$MODEL" ] || skip_all "no shared models at $SHARED"
# The checks of the written maps and overlays need numpy and PIL in $PY; without them they are skipped.
NP=
"$PY" -c 'import numpy, PIL' 2>/dev/null && NP=yes
py_test() { # py_test NAME 'commands': test_expect_success when $PY has numpy and PIL
	if [ -n "$NP" ]; then test_expect_success "$@"; else test_skip "$1" "$PY lacks numpy or PIL"; fi
}
BOTH=$SHARED/data/photos_gradcam/both.png
M="--model $MODEL --mean 0.5,0.5,0.5 --std 0.5,0.5,0.5 --classes $SHARED/data/imagenet_meta/imagenet_class_index.json"

test_expect_success 'explain both.png for bull mastiff and tabby' "
	$CAMLAB explain $M --layer Conv_1 --target 243,tabby -o $TMP/both $BOTH >$TMP/log &&
	test_grep \"both.png: predicted 243 'bull_mastiff' p=0\\.[0-9]+\" $TMP/log &&
	test -f $TMP/both/both_gradcam_c243.png && test -f $TMP/both/both_gradcam_c281.npy
"

py_test 'the heatmaps are float32 224x224 in [0,1]' "
	$PY -c '
import numpy as np, sys
for c in (243, 281):
    h = np.load(\"$TMP/both/both_gradcam_c%d.npy\" % c)
    assert h.dtype == np.float32 and h.shape == (224, 224), (h.dtype, h.shape)
    assert h.min() >= 0 and h.max() <= 1 and h.max() > 0.99, (h.min(), h.max())
'
"

py_test 'bull mastiff lights the dog, tabby the cat' "
	$PY -c '
import numpy as np
dog = np.load(\"$TMP/both/both_gradcam_c243.npy\")
cat = np.load(\"$TMP/both/both_gradcam_c281.npy\")
print(\"dog map: top %.3f bottom %.3f; cat map: top %.3f bottom %.3f\" % (dog[:112].mean(), dog[112:].mean(), cat[:112].mean(), cat[112:].mean()))
assert dog[:112].mean() > 1.5 * dog[112:].mean()
assert cat[112:].mean() > 1.5 * cat[:112].mean()
'
"

py_test 'the overlay is an RGB PNG of the input size' "
	$PY -c '
from PIL import Image
im = Image.open(\"$TMP/both/both_gradcam_c243.png\")
assert im.size == (224, 224) and im.mode == \"RGB\", (im.size, im.mode)
'
"

test_expect_success 'several methods in one call, with --raw' "
	$CAMLAB explain $M --layer Conv_1 --method gradcam,shapleycam,HiResCAM,gradcam_e --raw -o $TMP/multi $BOTH >$TMP/log &&
	for m in gradcam shapleycam hirescam gradcam-e; do test -f $TMP/multi/both_\$m.npy && test -f $TMP/multi/both_\${m}_raw.npy || exit 1; done
"

py_test '--raw keeps the signs: HiResCAM before its ReLU has negative and positive values' "
	$PY -c '
import numpy as np
r = np.load(\"$TMP/multi/both_hirescam_raw.npy\")
assert r.min() < 0 < r.max(), (r.min(), r.max())
'
"

py_test '--precision bf16 and --channels-last: the same picture, not the same numbers' "
	$CAMLAB explain $M --layer Conv_1 --target 243,tabby --precision bf16 --channels-last -o $TMP/bf16 $BOTH >$TMP/log &&
	$PY -c '
import numpy as np
a = np.load(\"$TMP/both/both_gradcam_c243.npy\")
b = np.load(\"$TMP/bf16/both_gradcam_c243.npy\")
d = np.abs(a - b).max()
print(\"max |bf16 - fp32| %.4f, correlation %.4f\" % (d, np.corrcoef(a.ravel(), b.ravel())[0, 1]))
assert 0 < d < 0.25 and np.corrcoef(a.ravel(), b.ravel())[0, 1] > 0.98
'
"

test_expect_success 'a bad precision suggests one; fp16 and tf32 on a CPU are errors' "
	test_must_fail $CAMLAB explain $M --layer Conv_1 --precision bf61 -o $TMP/x $BOTH 2>$TMP/err &&
	test_grep \"unknown precision 'bf61'; did you mean 'bf16'\" $TMP/err &&
	test_must_fail $CAMLAB explain $M --layer Conv_1 --precision fp16 -o $TMP/x $BOTH 2>$TMP/err &&
	test_grep 'precision fp16 needs a CUDA device' $TMP/err &&
	test_must_fail $CAMLAB explain $M --layer Conv_1 --precision tf32 -o $TMP/x $BOTH 2>$TMP/err &&
	test_grep 'precision tf32 needs a CUDA device' $TMP/err
"

test_expect_success 'an unknown layer lists the nearest names' "
	test_must_fail $CAMLAB explain $M --layer Conv_2 -o $TMP/x $BOTH 2>$TMP/err &&
	test_grep \"unknown layer 'Conv_2'.*did you mean 'Conv_1'\" $TMP/err
"

test_expect_success 'a layer that is not a module at all shows how modules are named' "
	test_must_fail $CAMLAB explain $M --layer zzzzzzzz -o $TMP/x $BOTH 2>$TMP/err &&
	test_grep \"unknown layer 'zzzzzzzz'.*its modules include 'Conv'\" $TMP/err
"

test_expect_success 'an unknown method suggests the right one' "
	test_must_fail $CAMLAB explain $M --layer Conv_1 --method shapleycm -o $TMP/x $BOTH 2>$TMP/err &&
	test_grep \"unknown method 'shapleycm'; did you mean 'shapleycam'\" $TMP/err
"

test_expect_success 'an unreadable image is reported and skipped; the others are explained' "
	printf 'not an image' >$TMP/broken.png &&
	head -c 2000 $SHARED/data/imagenet_sample/n01440764_tench.JPEG >$TMP/truncated.jpg &&
	test_must_fail $CAMLAB explain $M --size 224 --layer Conv_1 -o $TMP/skip $TMP/broken.png $TMP/truncated.jpg $BOTH >$TMP/log 2>$TMP/err &&
	test_grep 'broken.png' $TMP/err && test_grep 'truncated.jpg' $TMP/err &&
	test_grep 'skipped 2 unreadable' $TMP/err &&
	test -f $TMP/skip/both_gradcam.npy
"

test_expect_success 'a missing model file is named' "
	test_must_fail $CAMLAB explain --model $TMP/nope.pt --layer Conv_1 -o $TMP/x $BOTH 2>$TMP/err &&
	test_grep \"cannot open model '.*nope.pt'\" $TMP/err
"

test_expect_success 'a file that is not TorchScript is an error, not a crash' "
	test_must_fail $CAMLAB explain --model $BOTH --layer Conv_1 -o $TMP/x $BOTH 2>$TMP/err &&
	test_grep \"cannot load model\" $TMP/err
"

if have_cuda; then
	# A GPU machine: the check becomes a CUDA device that is not there, and a device camlab does not know.
	test_expect_success 'a CUDA device that does not exist is a clear error' "
		test_must_fail $CAMLAB explain $M --device cuda:99 --layer Conv_1 -o $TMP/x $BOTH 2>$TMP/err &&
		test_grep \"device 'cuda:99' does not exist\" $TMP/err &&
		test_must_fail $CAMLAB explain $M --device tpu --layer Conv_1 -o $TMP/x $BOTH 2>$TMP/err &&
		test_grep \"unsupported device 'tpu'\" $TMP/err
	"
else
	test_expect_success 'a CUDA device on a machine without one is a clear error' "
		test_must_fail $CAMLAB explain $M --device cuda:0 --layer Conv_1 -o $TMP/x $BOTH 2>$TMP/err &&
		test_grep \"device 'cuda:0' is not available\" $TMP/err &&
		test_must_fail $CAMLAB explain $M --device tpu --layer Conv_1 -o $TMP/x $BOTH 2>$TMP/err &&
		test_grep \"unsupported device 'tpu'\" $TMP/err
	"
fi

test_expect_success 'missing arguments are usage errors' "
	test_must_fail $CAMLAB explain $M -o $TMP/x $BOTH 2>$TMP/err &&
	test_grep 'no target layer' $TMP/err &&
	test_must_fail $CAMLAB explain $M --layer Conv_1 $BOTH 2>$TMP/err &&
	test_grep 'no output folder' $TMP/err &&
	test_must_fail $CAMLAB explain $M --layer Conv_1 -o $TMP/x 2>$TMP/err &&
	test_grep 'no images given' $TMP/err &&
	test_must_fail $CAMLAB explain $M --layer Conv_1 --target true -o $TMP/x $BOTH 2>$TMP/err &&
	test_grep 'has no label' $TMP/err
"

test_expect_success 'images that share a file name get files named after their folders, not overwritten' "
	mkdir -p $TMP/same/a $TMP/same/b && cp $BOTH $TMP/same/a/pic.png && cp $BOTH $TMP/same/b/pic.png &&
	cp $SHARED/data/photos_gradcam/dog.jpg $TMP/same/a/pic.jpg && cp $BOTH $TMP/same/b/other.png &&
	$CAMLAB explain $M --layer Conv_1 -o $TMP/same/out $TMP/same/a/pic.png $TMP/same/a/pic.jpg \
		$TMP/same/b/pic.png $TMP/same/b/other.png >/dev/null 2>$TMP/err &&
	test_grep 'note: 3 image\\(s\\) share a file name' $TMP/err &&
	(cd $TMP/same/out && ls) >$TMP/list &&
	printf '%s\\n' a_pic_jpg_gradcam.npy a_pic_jpg_gradcam.png a_pic_png_gradcam.npy a_pic_png_gradcam.png \
		b_pic_gradcam.npy b_pic_gradcam.png other_gradcam.npy other_gradcam.png >$TMP/expect &&
	diff -u $TMP/expect $TMP/list &&
	cmp $TMP/same/out/a_pic_png_gradcam.npy $TMP/same/out/b_pic_gradcam.npy &&
	! cmp -s $TMP/same/out/a_pic_png_gradcam.npy $TMP/same/out/a_pic_jpg_gradcam.npy
"

test_expect_success 'a class name two classes share is refused with both indices; repeated targets make one map' "
	test_must_fail $CAMLAB explain $M --layer Conv_1 --target crane -o $TMP/amb $BOTH 2>$TMP/err &&
	test_grep \"class name 'crane' is ambiguous: 2 classes are called that \\(134, 517\\); give the index\" $TMP/err &&
	test ! -e $TMP/amb/both_gradcam.npy &&
	$CAMLAB explain $M --layer Conv_1 --target tabby,Tabby,281,top2,top1,top2 -o $TMP/dedup $BOTH >/dev/null 2>$TMP/err &&
	test_grep 'wrote 3 heatmaps' $TMP/err &&
	(cd $TMP/dedup && ls *.npy) >$TMP/list &&
	printf '%s\\n' both_gradcam_c281.npy both_gradcam_top1.npy both_gradcam_top2.npy >$TMP/expect &&
	diff -u $TMP/expect $TMP/list
"

test_expect_success 'every target is checked against the model before any map is written' "
	test_must_fail $CAMLAB explain $M --layer Conv_1 --target predicted,1000 -o $TMP/range $BOTH >/dev/null 2>$TMP/err &&
	test_grep 'target class 1000 is out of range: the model has 1000 classes \\(0 to 999\\)' $TMP/err &&
	test -z \"\$(ls $TMP/range)\" &&
	test_must_fail $CAMLAB explain $M --layer Conv_1 --layout bnc -o $TMP/bnc $BOTH >/dev/null 2>$TMP/err &&
	test_grep 'layout bnc needs a layer output of 3 dimensions \\(B, tokens, C\\), not 4' $TMP/err
"

test_expect_success '--utility all is the five utilities, once each' "
	$CAMLAB explain $M --layer Conv_1 --utility all,rest -o $TMP/uall $BOTH >/dev/null 2>$TMP/err &&
	test_grep 'wrote 5 heatmaps' $TMP/err &&
	for u in logit softmax logsoftmax rest finer; do test -f $TMP/uall/both_gradcam_\$u.npy || exit 1; done
"

test_expect_success 'every command has --help' "
	for c in explain predict layers; do $CAMLAB \$c --help | test_grep '^usage: camlab' /dev/stdin || exit 1; done &&
	$CAMLAB --help | test_grep 'commands:' /dev/stdin &&
	$CAMLAB help explain | test_grep '^usage: camlab explain' /dev/stdin &&
	test_must_fail $CAMLAB frobnicate 2>$TMP/err && test_grep 'not a camlab command' $TMP/err &&
	test_must_fail $CAMLAB explian 2>$TMP/err && test_grep \"'explian' is not a camlab command; did you mean 'explain'\" $TMP/err
"

test_done
