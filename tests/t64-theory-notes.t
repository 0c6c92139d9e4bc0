#!/bin/sh
# t64-theory-notes.t - where theory says a method collapses, camlab says so: with the logit utility at a
# layer under global pooling and a linear head (piecewise linear above it), the Hessian-vector product is
# zero and ShapleyCAM equals GradCAM (pytorch-grad-cam issue #582). The run logs it once, records it in
# the database, and the report notes it under that table only; with ReST (log-softmax) it does not hold.
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
FM=/usr/share/datasets/fashion-mnist
[ -f $FM/t10k-images-idx3-ubyte.gz ] || skip_all "dataset-fashion-mnist is not installed"
command -v sqlite3 >/dev/null || skip_all "no sqlite3 command"

test_expect_success 'a quickstart-sized run with utilities logit and rest' "
	cat >$TMP/spec.yaml <<-EOS &&
	output: $TMP/out
	batch: 4
	models:
	  - name: fashion_cnn
	    file: $PWD/experiments/models/fashion_mnist_cnn.pt
	    layers: {pre_gap: features.block5}
	data: {path: $FM/t10k-images-idx3-ubyte.gz, limit: 8}
	methods: [gradcam, shapleycam]
	utilities: [logit, rest]
	targets: [predicted]
	metrics: all
	outputs: {tables: true, plots: false}
	EOS
	$CAMLAB run --no-progress $TMP/spec.yaml >$TMP/log 2>&1 || { cat $TMP/log; exit 1; }
"

test_expect_success 'the log says it once, for the ShapleyCAM run with the logit utility' "
	grep 'Hessian-vector product is zero' $TMP/log >$TMP/notes &&
	cat $TMP/notes &&
	test \$(wc -l <$TMP/notes) -eq 1
"

test_expect_success 'the database records it for that run only' "
	sqlite3 $TMP/out/results.sqlite \"SELECT r.method, r.utility FROM outputs o JOIN runs r
		ON o.key = 'note:' || r.key WHERE o.value LIKE '%hvp-zero%'\" >$TMP/db &&
	cat $TMP/db &&
	test \"\$(cat $TMP/db)\" = 'shapleycam|logit'
"

test_expect_success 'the report notes it under the logit table, not the rest one' "
	T=$TMP/out/report/tables &&
	grep -q 'ShapleyCAM equals GradCAM' \$T/methods.fashion_cnn.pre_gap.logit.predicted.md &&
	grep -q 'ShapleyCAM equals GradCAM' \$T/methods.fashion_cnn.pre_gap.logit.predicted.tex &&
	test -f \$T/methods.fashion_cnn.pre_gap.rest.predicted.md &&
	! grep -q 'ShapleyCAM equals GradCAM' \$T/methods.fashion_cnn.pre_gap.rest.predicted.md
"

test_expect_success 'both tables note the identities of a layer under pooling and a linear head' "
	T=$TMP/out/report/tables &&
	grep -q 'HiResCAM and XGradCAM equal GradCAM' \$T/methods.fashion_cnn.pre_gap.logit.predicted.md &&
	grep -q 'HiResCAM and XGradCAM equal GradCAM' \$T/methods.fashion_cnn.pre_gap.rest.predicted.md
"

test_done
