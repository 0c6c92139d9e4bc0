#!/bin/sh
# t31-predict.t - known accuracies through camlab's whole input pipeline: MobileNet-V2 on the ImageNet
# sample (>= 85% top-1; the shared models' README measured 88.9% on a 1000-image sample) and the CIFAR
# ResNet-20 on the lossless CIFAR-10 test images (20/20 documented), with labels from a CSV and from
# an ImageFolder tree.
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
[ -f "$SHARED/models/mobilenet_v2_imagenet.pt" ] || skip_all "no shared models at $SHARED"
$PY -c 'import json' 2>/dev/null || skip_all "no $PY"

# Labels of the ImageNet sample: the WNID in the file name, ranked in sorted order.
$PY - "$SHARED" "$TMP/labels.csv" <<'PYEOF'
import json, os, sys
shared, out = sys.argv[1:3]
idx = json.load(open(os.path.join(shared, "data/imagenet_meta/imagenet_class_index.json")))
rank = {v[0]: int(k) for k, v in idx.items()}
with open(out, "w") as f:
    f.write("filename,label\n")
    for fn in sorted(os.listdir(os.path.join(shared, "data/imagenet_sample"))):
        if fn.endswith(".JPEG"):
            f.write("%s,%d\n" % (fn, rank[fn.split("_")[0]]))
PYEOF

test_expect_success 'MobileNet-V2 top-1 on the ImageNet sample is at least 85%' "
	$CAMLAB predict --model $SHARED/models/mobilenet_v2_imagenet.pt --size 224 --mean 0.5,0.5,0.5 --std 0.5,0.5,0.5 \
		--dataset $SHARED/data/imagenet_sample --labels $TMP/labels.csv --batch 25 -q >$TMP/out &&
	cat $TMP/out &&
	test_grep '^accuracy: top-1 [01]\.[0-9]+ \\([0-9]+/250\\)' $TMP/out &&
	awk '/^accuracy:/ { exit !(\$3 >= 0.85) }' $TMP/out
"

test_expect_success 'ResNet-20 gets all 20 lossless CIFAR-10 test images right' "
	mkdir -p $TMP/cifar &&
	for f in $SHARED/data/foolbox_samples/cifar10_*.png; do
		b=\$(basename \$f .png); echo \"\$b.png,\${b##*_}\"; done >$TMP/cifar.csv &&
	$CAMLAB predict --model $SHARED/models/resnet20_cifar10.pt --size 0 --dataset $SHARED/data/foolbox_samples \
		--labels $TMP/cifar.csv --limit 1000 -q >$TMP/out 2>&1 &&
	cat $TMP/out && test_grep 'top-1 1.0000 \\(20/20\\)' $TMP/out
"

test_expect_success 'predictions print class names and the label' "
	$CAMLAB predict --model $SHARED/models/mobilenet_v2_imagenet.pt --size 224 --mean 0.5,0.5,0.5 --std 0.5,0.5,0.5 \
		--classes $SHARED/data/imagenet_meta/imagenet_class_index.json --top 3 \
		--dataset $SHARED/data/imagenet_sample --labels $TMP/labels.csv --limit 2 >$TMP/out &&
	test_grep \"n01440764_tench.JPEG: 0 'tench' 0\\.[0-9]+ .* label 0\$\" $TMP/out &&
	test_grep 'hammerhead.JPEG: 842 .* label 4 MISS' $TMP/out &&
	test_grep 'top-1 0.5000 \\(1/2\\), top-3' $TMP/out
"

test_expect_success 'class folders named after the model'\''s classes (ImageNet wnids) label by name, not position' "
	mkdir -p $TMP/wn/n01440764 $TMP/wn/n01494475 &&
	cp $SHARED/data/imagenet_sample/n01440764_tench.JPEG $TMP/wn/n01440764/ &&
	cp $SHARED/data/imagenet_sample/n01494475_hammerhead.JPEG $TMP/wn/n01494475/ &&
	$CAMLAB predict --model $SHARED/models/mobilenet_v2_imagenet.pt --mean 0.5,0.5,0.5 --std 0.5,0.5,0.5 \
		--classes $SHARED/data/imagenet_meta/imagenet_class_index.json --dataset $TMP/wn >$TMP/out 2>$TMP/err &&
	test_grep \"note: .* \\(folder 'n01494475' is class 4, not 1 as its sorted position\\)\" $TMP/err &&
	test_grep 'tench.JPEG: .* label 0\$' $TMP/out && test_grep 'hammerhead.JPEG: .* label 4( MISS)?\$' $TMP/out
"

test_expect_success 'CIFAR-10 class folders by name: cat, dog and ship are classes 3, 5 and 8' "
	mkdir -p $TMP/c10 && tar xzf $SHARED/data/cifar10_test/cifar10_test_jpg.tar.gz -C $TMP/c10 \
		test/cat/0000.jpg test/cat/0001.jpg test/dog/0000.jpg test/dog/0001.jpg test/ship/0000.jpg test/ship/0001.jpg &&
	printf '%s\\n' airplane automobile bird cat deer dog frog horse ship truck >$TMP/c10.txt &&
	$CAMLAB predict --model $SHARED/models/resnet20_cifar10.pt --size 0 --classes $TMP/c10.txt \
		--dataset $TMP/c10/test >$TMP/out 2>$TMP/err && cat $TMP/out &&
	test_grep 'cat/0000.jpg: .* label 3' $TMP/out && test_grep 'dog/0000.jpg: .* label 5' $TMP/out &&
	test_grep 'ship/0001.jpg: .* label 8' $TMP/out && test_grep 'top-1 1.0000 \\(6/6\\)' $TMP/out &&
	mv $TMP/c10/test/dog $TMP/c10/test/dogz &&
	$CAMLAB predict --model $SHARED/models/resnet20_cifar10.pt --size 0 --classes $TMP/c10.txt \
		--dataset $TMP/c10/test >$TMP/out 2>$TMP/err &&
	test_grep \"warning: 2 of the dataset's 3 class folders are named after the model's classes but 'dogz' is not\" $TMP/err &&
	test_grep 'cat/0000.jpg: .* label 0 MISS' $TMP/out
"

test_expect_success 'camlab run labels the same folders by name: stored labels, and true targets, are 3, 5, 8' "
	mv $TMP/c10/test/dogz $TMP/c10/test/dog &&
	cat >$TMP/c10.yaml <<-EOS &&
	name: c10
	output: $TMP/c10out
	models:
	  - name: r20
	    file: $SHARED/models/resnet20_cifar10.pt
	    input_size: 0
	    classes: $TMP/c10.txt
	    layers: {pre_gap: f.layer3}
	data: {path: $TMP/c10/test}
	methods: [gradcam]
	targets: [true]
	metrics: [ad]
	EOS
	$CAMLAB run --no-progress $TMP/c10.yaml 2>$TMP/err &&
	test_grep 'note: .*class folders are named after the model.s classes' $TMP/err &&
	sqlite3 $TMP/c10out/results.sqlite 'SELECT DISTINCT label, class FROM images ORDER BY 1' | tr '\\n' ' ' >$TMP/labels &&
	test \"\$(cat $TMP/labels)\" = '3|3 5|5 8|8 '
"

test_expect_success 'a label the model has no class for is a warning; --top 1 reports top-1 alone' "
	mkdir -p $TMP/flat && cp $TMP/c10/test/cat/0000.jpg $TMP/flat/a.jpg && cp $TMP/c10/test/cat/0001.jpg $TMP/flat/b.jpg &&
	printf 'filename,label\\na.jpg,42\\nb.jpg,3\\n' >$TMP/flat.csv &&
	$CAMLAB predict --model $SHARED/models/resnet20_cifar10.pt --size 0 --top 1 --dataset $TMP/flat \
		--labels $TMP/flat.csv >$TMP/out 2>$TMP/err &&
	test_grep 'warning: .*a.jpg: label 42 is out of range: the model has 10 classes \\(0 to 9\\)' $TMP/err &&
	test_grep '^accuracy: top-1 0\\.5000 \\(1/2\\)\$' $TMP/out
"

test_done
