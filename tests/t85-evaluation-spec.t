#!/bin/sh
# t85-evaluation-spec.t - the shipped experiments/evaluation.yaml (issue 17): it checks and plans as
# documented (ten methods, the paper's six metrics, the faithfulness ones, sanity, fidelity and
# discrimination, statistics on), its ../shared
# paths reach the shared model and images, and a cut-down copy of it (two methods, two images) runs and
# reports the faithfulness table with every metric filled in (sanity and fidelity left out there:
# t81 and t82 run them; here they would cost a minute for two images).
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
SPEC=experiments/evaluation.yaml

test_expect_success 'evaluation.yaml checks: 10 methods, 14 metrics' "
	$CAMLAB check $SPEC >$TMP/check &&
	test_grep ': ok: 1 model, 1 layer, 10 methods, 1 utility, 1 target, 14 metrics$' $TMP/check
"

test_expect_success 'its canonical text asks for the statistics and the faithfulness metrics' "
	$CAMLAB check --canonical $SPEC >$TMP/canon &&
	test_grep '^statistics bootstrap 1000 alpha 0.05 seed 0 test wilcoxon$' $TMP/canon &&
	test_grep 'road' $TMP/canon && test_grep 'arcc' $TMP/canon && test_grep 'insertion' $TMP/canon &&
	test_grep 'deletion' $TMP/canon && test_grep 'gain' $TMP/canon &&
	test_grep 'sanity' $TMP/canon && test_grep 'fidelity' $TMP/canon && test_grep 'discrimination' $TMP/canon
"

if [ ! -f "$SHARED/models/mobilenet_v2_imagenet.pt" ] || [ ! -d "$SHARED/data/imagenet_sample" ]; then
	test_skip 'the shared paths resolve' "no shared MobileNet-V2 or ImageNet sample in $SHARED"
	test_skip 'a cut-down run fills the faithfulness table' "no shared MobileNet-V2 or ImageNet sample in $SHARED"
	test_done
	exit
fi

test_expect_success 'the shared paths resolve: 10 runs over 50 images' "
	$CAMLAB plan $SPEC | tail -n 1 >$TMP/plan &&
	test_grep '^10 runs: ' $TMP/plan &&
	$CAMLAB check --models $SPEC >/dev/null
"

# the same experiment on two images and two methods, written into $TMP
sed -e 's#\.\./\.\./shared/#'"$SHARED"'/#' -e "s#^output: .*#output: $TMP/out#" \
	-e 's#^methods: .*#methods: [gradcam, shapleycam]#' -e 's#limit: 50#limit: 2#' \
	-e 's#, sanity, fidelity##' $SPEC >$TMP/eval.yaml
test_expect_success 'a cut-down run fills the faithfulness table' "
	$CAMLAB run --no-progress $TMP/eval.yaml >$TMP/run.out 2>&1 &&
	T=\$(ls $TMP/out/report/tables/faithfulness.*.md) && cat \$T &&
	test_grep '^[|] ShapleyCAM [|] [^–]*[|]\$' \$T && test_grep '^[|] GradCAM [|] [^–]*[|]\$' \$T &&
	test_grep 'Mean ± half-width' $TMP/out/report/tables/methods.*.md
"

test_done
