#!/bin/sh
# t42-experiments.t - the experiments that ship with camlab: golden `camlab plan` outputs (run ids are
# hashes of the model file's content and the configuration, so they are the same on every machine), the
# paper's experiment files are valid and expand to the paper's grids once models and data are in place,
# and the twin on ../shared's CIFAR ResNet-20 runs with its report.
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
FM=/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz
[ -f $FM ] || skip_all "dataset-fashion-mnist is not installed"

golden() { # golden SPEC EXPECTED: plan of SPEC (copied to TMP so nothing has run) against EXPECTED
	mkdir -p $TMP/g/experiments $TMP/g/tests/plan && cp -r experiments/models $TMP/g/experiments/ &&
	cp "$1" $TMP/g/$1 && (cd $TMP/g && $CAMLAB plan $1) | sed "s#$TMP/g#@ROOT@#g" >$TMP/plan.out &&
	diff -u "$2" $TMP/plan.out
}

test_expect_success 'plan of the quickstart (golden)' "
	golden experiments/quickstart.yaml tests/plan/quickstart.expected
"

test_expect_success 'plan of a partial grid: exclude, zip and a top-2 target (golden)' "
	golden tests/plan/grid.yaml tests/plan/grid.expected
"

test_expect_success 'plan of zipped models, layers and methods (golden)' "
	golden tests/plan/zip.yaml tests/plan/zip.expected
"

# The paper's files, with stand-ins for the twelve exported networks and ImageNet validation.
mkdir -p $TMP/p/models/imagenet $TMP/p/data/imagenet/val/n01440764 $TMP/p/data/fig1 &&
cp -r experiments $TMP/p/ &&
for n in resnet18 resnet50 resnet101 resnet152 resnext50 vgg16 efficientnetb0 mobilenetv2 swint_t swint_s swint_b swint_l; do
	ln -s $PWD/experiments/models/fashion_mnist_cnn.pt $TMP/p/models/imagenet/$n.pt
done
printf 'P6\n4 4\n255\n%048d' 0 >$TMP/p/data/imagenet/val/n01440764/a.ppm
cp $TMP/p/data/imagenet/val/n01440764/a.ppm $TMP/p/data/fig1/both.ppm

test_expect_success "the paper's experiment files are valid" "
	for f in $TMP/p/experiments/paper/*.yaml; do $CAMLAB check \$f || exit 1; done
"

test_expect_success "they expand to the paper's grids" "
	for x in paper_pre_gap:120 paper_last_conv:120 table5_rest_ablation:6 fig1_targets:6 fig5_vgg16_methods:9 fig6_utilities:6; do
		$CAMLAB plan $TMP/p/experiments/paper/\${x%%:*}.yaml | tail -n 1 >$TMP/last &&
		test_grep \"^\${x##*:} runs: 0 done\" $TMP/last || exit 1
	done &&
	$CAMLAB plan $TMP/p/experiments/paper/paper_pre_gap.yaml | test_grep '^[0-9a-f]{16} +pending +0 +swint_l +pre_gap +shapleycam +rest +predicted' /dev/stdin
"

# fig5 and fig6 draw 8 images at random and show the first ones: a figure's number is a position among
# the experiment's images (as a dataset index it was almost never among the drawn ones: no figure).
cat >$TMP/figs.yaml <<EOS
name: figs
output: $TMP/figs
models: [{name: fashion, file: $PWD/experiments/models/fashion_mnist_cnn.pt, layers: [pre_gap]}]
data: {path: $FM, limit: 6, shuffle: true, seed: 5}
methods: [gradcam, hirescam]
metrics: [ad]
outputs:
  tables: false
  plots: false
  figures: [{image: 0}, {image: 5}, {image: 6}]
EOS
if command -v gnuplot >/dev/null && gnuplot -e 'set terminal' 2>&1 | grep -q pngcairo; then
	test_expect_success 'figures of a shuffled experiment: numbers are positions among its images' "
		$CAMLAB run --no-progress $TMP/figs.yaml 2>$TMP/figs.err &&
		test_grep 'figs.yaml:10:37: figure image 6: the experiment has 6 image\\(s\\), 0 to 5; no figure for it' $TMP/figs.err &&
		test \$(grep -c 'no figure' $TMP/figs.err) = 1 &&
		first=\$(cut -d, -f7 $TMP/figs/images.csv | sed 1d | sort -n | head -n 1) &&
		ls $TMP/figs/report/figures >$TMP/figs.list && test \$(wc -l <$TMP/figs.list) = 2 &&
		test_grep \"^image\$first\\.by-method\\.fashion\\.pre_gap\\.png\" $TMP/figs.list &&
		test_grep \"Image \$first \\(t10k-images-idx3-ubyte.gz#\$first\\): fashion, layer pre_gap\" $TMP/figs/report/index.html
	"
	# Heatmaps are kept only for the images figures show: a figure added to a finished experiment
	# has its image computed again (and only it), not a warning that nothing is stored.
	test_expect_success 'a figure added after the run: its image is computed again, nothing else' "
		sed '/figures:/d' $TMP/figs.yaml >$TMP/nofigs.yaml && sed -i 's#/figs\$#/nofigs#' $TMP/nofigs.yaml &&
		$CAMLAB run --no-progress $TMP/nofigs.yaml 2>$TMP/nofigs1.err &&
		test_grep '6 image\\(s\\) in' $TMP/nofigs1.err && test -z \"\$(ls $TMP/nofigs/report/figures 2>/dev/null)\" &&
		sed 's#^  plots: false#  plots: false\\n  figures: [{image: 2}]#' $TMP/nofigs.yaml >$TMP/nofigs2.yaml &&
		$CAMLAB run --no-progress $TMP/nofigs2.yaml 2>$TMP/nofigs2.err &&
		test_grep 'x 2 method\\(s\\): 1 image\\(s\\) in' $TMP/nofigs2.err && ! grep -q 'no figure' $TMP/nofigs2.err &&
		test \$(ls $TMP/nofigs/report/figures | wc -l) = 1 &&
		test \$(sqlite3 $TMP/nofigs/results.sqlite 'SELECT count(*) FROM images') = 12 &&
		test \$(sqlite3 $TMP/nofigs/results.sqlite 'SELECT group_concat(n) FROM aggregates') = 6,6 &&
		$CAMLAB run --no-progress $TMP/nofigs2.yaml 2>$TMP/nofigs3.err &&
		test_grep 'already done' $TMP/nofigs3.err
	"
else
	test_skip 'figures of a shuffled experiment' 'no gnuplot with pngcairo'
	test_skip 'a figure added after the run' 'no gnuplot with pngcairo'
fi

[ -f "$SHARED/models/resnet20_cifar10.pt" ] || { echo "# no ../shared: the shared twins are not run"; test_done; exit; }

test_expect_success 'the CIFAR ResNet-20 twin runs (2 images) and writes its report' "
	cp -r experiments $TMP/s && mkdir -p $TMP/s2 && mv $TMP/s $TMP/s2/experiments && ln -s $SHARED $TMP/shared2 &&
	sed -i 's#\\.\\./\\.\\./\\.\\./shared/#$SHARED/#' $TMP/s2/experiments/shared/cifar10.txt $TMP/s2/experiments/shared/resnet20_cifar10.yaml &&
	$CAMLAB run --no-progress --limit 2 $TMP/s2/experiments/shared/resnet20_cifar10.yaml 2>$TMP/log && tail -n 3 $TMP/log &&
	$CAMLAB plan $TMP/s2/experiments/shared/resnet20_cifar10.yaml | test_grep '^60 runs: 0 done, 60 partial' /dev/stdin &&
	test -f $TMP/s2/out/resnet20_cifar10/report/index.html &&
	ls $TMP/s2/out/resnet20_cifar10/report/tables/ | test_grep '^methods.resnet20.pre_gap.rest.predicted.md\$' /dev/stdin
"

test_done
