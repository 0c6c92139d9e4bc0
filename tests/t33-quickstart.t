#!/bin/sh
# t33-quickstart.t - the embedded default: the Fashion-MNIST classifier committed in
# experiments/models/ keeps its documented accuracy (91.86% on the 10 000 test images of Debian's
# dataset-fashion-mnist, as camlab reads them), and the README's main command runs as written.
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
FM=/usr/share/datasets/fashion-mnist
[ -f $FM/t10k-images-idx3-ubyte.gz ] || skip_all "dataset-fashion-mnist is not installed"
MODEL=experiments/models/fashion_mnist_cnn.pt

test_expect_success 'the default model classifies the Fashion-MNIST test set at its documented 91.86% (+-0.1)' "
	$CAMLAB predict --model $MODEL --dataset $FM/t10k-images-idx3-ubyte.gz --batch 500 -q >$TMP/out &&
	cat $TMP/out &&
	test_grep '^accuracy: top-1 0\\.9[0-9]+ \\([0-9]+/10000\\)' $TMP/out &&
	awk '/^accuracy:/ { exit !(\$3 >= 0.9176 && \$3 <= 0.9196) }' $TMP/out &&
	grep -q '91.86%' experiments/models/README.md
"

test_expect_success 'its sidecar names the layers and classes' "
	$CAMLAB layers --model $MODEL >$TMP/layers &&
	test_grep '^pre_gap +=  *features.block5\$' $TMP/layers &&
	$CAMLAB predict --model $MODEL --dataset $FM/t10k-images-idx3-ubyte.gz --limit 1 --top 1 >$TMP/one &&
	test_grep \"ubyte.gz#0: 9 'Ankle boot' 0\\.[0-9]+ label 9\" $TMP/one
"

test_expect_success "the README's main command runs as written (with --limit 3)" "
	cmd=\$(sed -n 's/^    tools\\/setup && //p' README.md | head -n 1) &&
	test \"\$cmd\" = 'build/camlab run experiments/quickstart.yaml' &&
	mkdir -p $TMP/repo && cp -r experiments $TMP/repo/ &&
	(cd $TMP/repo && $CAMLAB run --no-progress --limit 3 experiments/quickstart.yaml) >$TMP/log 2>&1 && tail -n 4 $TMP/log &&
	test \$(sqlite3 $TMP/repo/out/quickstart/results.sqlite 'SELECT count(*) FROM runs') -eq 30 &&
	test \$(sqlite3 $TMP/repo/out/quickstart/results.sqlite 'SELECT count(*) FROM images') -eq 90
"

test_done
