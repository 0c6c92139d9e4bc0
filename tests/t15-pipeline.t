#!/bin/sh
# t15-pipeline.t - decoding in worker threads changes nothing: the unit test test_batch
# (tests/unit/test_batch.c) compares the batches and messages of 2, 4 and 8 workers with the serial
# ones, and `camlab predict` prints the same with --workers 4 as with --workers 1.
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
UNIT=$PWD/$BUILD/tests/test_batch
need_built "$UNIT"

test_expect_success 'test_batch: workers give the serial batches, skips and messages' "
	$UNIT >$TMP/unit 2>&1; status=\$?
	grep -v '^ok ' $TMP/unit
	[ \$status -eq 0 ] && ! grep -q '^not ok' $TMP/unit && grep -q '^1\\.\\.[1-9]' $TMP/unit
"

test_expect_success '--workers needs a non-negative integer' "
	test_must_fail $CAMLAB predict --workers x --model none.pt a.jpg 2>$TMP/err &&
	test_grep \"workers needs a non-negative integer, not 'x'\" $TMP/err
"

MODEL=$SHARED/models/mobilenet_v2_imagenet.pt
SAMPLE=$SHARED/data/imagenet_sample
if [ -f "$MODEL" ] && [ -d "$SAMPLE" ]; then
	# The first 60 sample images, with a truncated copy of one and a missing file among them.
	ls "$SAMPLE" | grep '\.JPEG$' | head -n 60 | sed "s|^|$SAMPLE/|" >$TMP/list.txt
	head -c 20000 "$(sed -n 3p $TMP/list.txt)" >$TMP/cut.jpg
	sed -i -e "10a $TMP/cut.jpg" -e "30a $TMP/missing.jpg" $TMP/list.txt

	# predict NAME ARGS...: stdout (and the exit status) in $TMP/NAME.out, stderr in $TMP/NAME.err
	predict() {
		name=$1
		shift
		$CAMLAB predict --model "$MODEL" --size 224 --mean 0.5,0.5,0.5 --std 0.5,0.5,0.5 --top 3 \
			--dataset $TMP/list.txt --batch 7 --threads 1 "$@" >$TMP/$name.out 2>$TMP/$name.err
		echo "exit $?" >>$TMP/$name.out
	}
	test_expect_success 'predict prints the same with --workers 4 (and 0) as with --workers 1' "
		predict w1 --workers 1 && predict w4 --workers 4 && predict w0 --workers 0 &&
		test_grep '^images: 60 predicted, 2 skipped' $TMP/w1.out &&
		test_grep '^exit 1' $TMP/w1.out &&
		test_grep 'cut.jpg.: file is truncated' $TMP/w1.err &&
		diff $TMP/w1.out $TMP/w4.out && diff $TMP/w1.err $TMP/w4.err &&
		diff $TMP/w1.out $TMP/w0.out && diff $TMP/w1.err $TMP/w0.err
	"
else
	echo "# no shared model or ImageNet sample at $SHARED: skipping the predict comparison"
fi

test_done
