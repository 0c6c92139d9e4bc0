#!/bin/sh
# t59-init.t - camlab init writes a commented starter experiment that camlab check accepts: for the
# shipped Fashion-MNIST model, and for a model of the user's (here a copy without its sidecar, under a
# name with quotes and a $(...)), with the model's module paths listed and the layer that global pooling
# and the linear head follow chosen (without the sidecar too); it never overwrites a file.
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
FM=/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz
[ -f $FM ] || skip_all "dataset-fashion-mnist is not installed"

test_expect_success 'without --model: the shipped model, its pre_gap layer, and check accepts it' "
	$CAMLAB init $TMP/a >$TMP/a.out && cat $TMP/a.out &&
	test_grep '^wrote $TMP/a/experiment.yaml' $TMP/a.out &&
	test_grep '^      pre_gap: \"features.block5\"\$' $TMP/a/experiment.yaml &&
	test_grep '^methods: \\[cam, ' $TMP/a/experiment.yaml &&
	$CAMLAB check $TMP/a/experiment.yaml
"

test_expect_success 'the file lists every module path and layer name camlab layers lists' "
	$CAMLAB layers --model experiments/models/fashion_mnist_cnn.pt | grep -v ' = ' >$TMP/layers &&
	test \$(wc -l <$TMP/layers) -gt 5 &&
	while read -r path type; do
		grep -qE \"^      #   \$path +\$type\\\$\" $TMP/a/experiment.yaml || { echo \"not listed: \$path \$type\"; exit 1; }
	done <$TMP/layers &&
	$CAMLAB layers --model experiments/models/fashion_mnist_cnn.pt | grep ' = ' >$TMP/aliases &&
	test \$(wc -l <$TMP/aliases) -ge 1 &&
	while read -r name eq path; do
		grep -qE \"^      #   \$name += \$path\\\$\" $TMP/a/experiment.yaml || { echo \"not listed: \$name = \$path\"; exit 1; }
	done <$TMP/aliases
"

test_expect_success 'it never overwrites a file' "
	cp $TMP/a/experiment.yaml $TMP/keep &&
	echo '# mine' >>$TMP/a/experiment.yaml && cp $TMP/a/experiment.yaml $TMP/mine &&
	test_must_fail $CAMLAB init $TMP/a 2>$TMP/over.err && cat $TMP/over.err &&
	test_grep 'exists: camlab init never overwrites' $TMP/over.err &&
	cmp $TMP/mine $TMP/a/experiment.yaml
"

M='we"ird$(touch pwned)'\''m'
mkdir -p "$TMP/models" && cp experiments/models/fashion_mnist_cnn.pt "$TMP/models/$M.pt"
export M

test_expect_success '--model without a sidecar, a hostile file name, a FILE.yaml in a new folder' "
	cd $TMP && $CAMLAB init --model \"$TMP/models/\$M.pt\" $TMP/b/c/mine.yaml >$TMP/b.out && cat $TMP/b.out $TMP/b/c/mine.yaml &&
	test_grep '^      pre_gap: \"features.block5\"\$' $TMP/b/c/mine.yaml &&
	test_grep 'no sidecar' $TMP/b/c/mine.yaml &&
	$CAMLAB check --models $TMP/b/c/mine.yaml >$TMP/b.check 2>&1 && cat $TMP/b.check &&
	test_grep \"layer 'pre_gap' \\(features.block5\\): A 128x7x7\" $TMP/b.check &&
	! ls $TMP | grep pwned
"

if "$PY" -c 'import yaml' 2>/dev/null; then
	test_expect_success 'the model file name is read back from the YAML as written' "
		$PY -c '
import os, sys, yaml
spec = yaml.safe_load(open(sys.argv[1]))
assert spec[\"models\"][0][\"file\"] == sys.argv[2], spec[\"models\"][0][\"file\"]
' $TMP/b/c/mine.yaml \"$TMP/models/\$M.pt\"
	"
else
	test_skip 'the model file name is read back from the YAML as written' "no PyYAML for $PY"
fi

if [ -f "$SHARED/models/resnet20_cifar10.pt" ]; then
	test_expect_success 'a CIFAR ResNet: f.layer3, not the trunk f nor the head h' "
		$CAMLAB init --model $SHARED/models/resnet20_cifar10.pt $TMP/r >$TMP/r.out && cat $TMP/r.out &&
		test_grep '^      pre_gap: \"f.layer3\"\$' $TMP/r/experiment.yaml && $CAMLAB check $TMP/r/experiment.yaml
	"
else
	test_skip 'a CIFAR ResNet: f.layer3, not the trunk f nor the head h' "no $SHARED/models/resnet20_cifar10.pt"
fi

test_fails_with 'a model that does not exist' "cannot read model" $CAMLAB init --model $TMP/none.pt $TMP/d
test_expect_success 'a usage error' "
	$CAMLAB init a b 2>$TMP/u.err; test \$? -eq 2 && test_grep '^usage: camlab init' $TMP/u.err
"

test_done
