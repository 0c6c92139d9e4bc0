#!/bin/sh
# t92-table5-declared.t - the paper's Table 5 as a declared ablation (issue 19): the spec's
# `ablations: [{over: utility, baseline: rest}]` (as experiments/paper/table5_rest_ablation.yaml
# declares it) gives the utility ablation table byte for byte as reports made it before the key
# existed (t50's golden, from its fixed database), adds the differences to ReST and their plot, and
# changes no run key: a tiny run of the shipped spec's grid, run again with the declaration, computes
# nothing and keeps every table it had.
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
SHIPPED=experiments/paper/table5_rest_ablation.yaml
GOLDEN=tests/report/golden
T5=ablation.resnet50.last_conv.predicted
GNUPLOT=
command -v gnuplot >/dev/null && gnuplot -e 'set terminal' 2>&1 | grep -q pngcairo && GNUPLOT=yes

# The shipped declaration, as written (the block from "ablations:" to the next top-level key).
awk '/^ablations:/ { on = 1; print; next } on && /^[^ #-]/ { on = 0 } on' $SHIPPED >$TMP/decl.yaml
test_expect_success 'the shipped Table 5 spec declares its ablation' "
	test_grep '^  - [{]over: utility, baseline: rest[}]' $TMP/decl.yaml
"

# fixture DIR CANONICAL: t50's database with the spec's canonical text replaced.
fixture() {
	mkdir -p "$1" && sqlite3 "$1/results.sqlite" <tests/report/fixture.sql &&
	$PY -c 'import sqlite3, sys; c = sqlite3.connect(sys.argv[1]);
c.execute("UPDATE specs SET canonical = ?", (sys.argv[2],)); c.commit()' "$1/results.sqlite" "$2"
}

if command -v sqlite3 >/dev/null; then
	test_expect_success 'declared over the utility with baseline rest: the Table 5 golden, byte for byte' "
		fixture $TMP/fx 'name fixture
ablation utility rest
' && $CAMLAB report $TMP/fx >/dev/null &&
		for e in md tex csv; do diff -u $GOLDEN/$T5.\$e $TMP/fx/report/tables/$T5.\$e || exit 1; done
	"
	test_expect_success 'and its differences to ReST: ReST rows left out, value minus ReST' "
		f=$TMP/fx/report/tables/$T5.vs-rest.md && test_grep 'Differences to the ReST utility' \$f &&
		! grep -q '| ReST |' \$f &&
		test_grep '^[|] GradCAM [|] pre-softmax [|] -1[.]91 [|] -0[.]63 [|] [+]0[.]64 [|] [+]0[.]47 [|] [+]5[.]00 [|] [+]1[.]63 [|]\$' \$f &&
		test_grep '^[|]  [|] post-softmax [|] [+]8[.]09 [|]' \$f &&
		test_grep 'vs-rest.tex' $TMP/fx/report/tables/tables.tex
	"
	test_expect_success 'ablations: [] (canonical \"ablations none\") drops the utility ablation' "
		fixture $TMP/none 'name fixture
ablations none
' && $CAMLAB report $TMP/none >/dev/null &&
		! ls $TMP/none/report/tables/ablation* 2>/dev/null && ls $TMP/none/report/tables/methods.* >/dev/null
	"
else
	test_skip 'the Table 5 golden' 'no sqlite3 command to build the fixture database'
	test_skip 'its differences' 'no sqlite3 command'
	test_skip 'ablations none' 'no sqlite3 command'
fi

# A tiny run of the shipped spec's grid (its methods, utilities, targets and metrics lines, two layers)
# on the Fashion-MNIST classifier: first without the key, as before (and without plots, to be quick), then
# with the shipped declaration.
FM=/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz
MODEL=$PWD/experiments/models/fashion_mnist_cnn.pt
if [ -f $FM ]; then
	{
		echo "name: t5"
		echo "models: [{name: fashion, file: $MODEL, layers: {pre_gap: features.block5, last_conv: features.block5.conv}}]"
		echo "data: {path: $FM, limit: 4}"
		echo "batch: 4"
		echo "outputs: {plots: false}"
		grep -E '^(methods|utilities|targets|metrics):' $SHIPPED
	} >$TMP/before.yaml
	grep -v '^outputs:' $TMP/before.yaml | cat - $TMP/decl.yaml >$TMP/after.yaml
	test_expect_success 'a tiny run of the shipped grid, without the key' "
		grep -q '^utilities: .*rest' $TMP/before.yaml &&
		$CAMLAB run $TMP/before.yaml >/dev/null 2>$TMP/err1 || { cat $TMP/err1; false; }
	"
	cp -R $TMP/out $TMP/before
	test_expect_success 'with the declaration: the same run keys, nothing computed again' "
		$CAMLAB run $TMP/after.yaml >$TMP/run2 2>&1 &&
		! grep -q ' [1-9][0-9]* image(s) in' $TMP/run2 &&
		cut -d, -f1-9 $TMP/before/t5/runs.csv >$TMP/keys1 && cut -d, -f1-9 $TMP/out/t5/runs.csv >$TMP/keys2 &&
		diff -u $TMP/keys1 $TMP/keys2 && test \$(wc -l <$TMP/keys1) = 7
	"
	test_expect_success 'every table as before, the differences to ReST added' "
		ls $TMP/before/t5/report/tables >$TMP/l1 && ls $TMP/out/t5/report/tables >$TMP/l2 &&
		for f in \$(cat $TMP/l1); do
			[ \$f = tables.tex ] || cmp $TMP/before/t5/report/tables/\$f $TMP/out/t5/report/tables/\$f || exit 1
		done &&
		grep -v -x -F -f $TMP/l1 $TMP/l2 >$TMP/new &&
		printf '%s\n' ablation.fashion.last_conv.predicted.vs-rest.csv ablation.fashion.last_conv.predicted.vs-rest.md \
			ablation.fashion.last_conv.predicted.vs-rest.tex ablation.fashion.pre_gap.predicted.vs-rest.csv \
			ablation.fashion.pre_gap.predicted.vs-rest.md ablation.fashion.pre_gap.predicted.vs-rest.tex >$TMP/want &&
		diff -u $TMP/want $TMP/new
	"
	if [ -n "$GNUPLOT" ]; then
		test_expect_success 'the plot of the differences, drawn without a word from gnuplot' "
			test -s $TMP/out/t5/report/plots/ablation.fashion.pre_gap.predicted.vs-rest.png &&
			! grep -i -e gnuplot -e warning $TMP/run2 &&
			test_grep 'id=\"plots-ablation.fashion.pre_gap.predicted.vs-rest\"' $TMP/out/t5/report/index.html
		"
	else
		test_skip 'the plot of the differences' 'no gnuplot with pngcairo'
	fi
else
	test_skip 'a tiny run of the shipped grid' 'dataset-fashion-mnist is not installed'
	test_skip 'the same run keys' 'dataset-fashion-mnist is not installed'
	test_skip 'every table as before' 'dataset-fashion-mnist is not installed'
	test_skip 'the plot of the differences' 'dataset-fashion-mnist is not installed'
fi

test_done
