#!/bin/sh
# t98-road-nested.t - ROAD's one factorisation per direction (ROAD_IMPUTE_NESTED: the masks of one
# direction are nested, so each mask's system is a leading block of one factor) against one factorisation
# per mask: the unit test test_road_impute (tests/unit/test_road_impute.c: smooth and tied maps, masks
# that are not nested, noise; values and the equations themselves), then road_bench both ways on
# pytorch-grad-cam's stored ResNet-20 maps (20 images): the same ROAD values to 1e-6, 2 factorisations
# per image instead of up to 18.
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
UNIT=$BUILD/tests/test_road_impute
TOOL=$BUILD/bench/road_bench
REF=$SHARED/reference/pytorch-grad-cam
[ -x "$UNIT" ] || skip_all "$UNIT not built"
"$UNIT" >$TMP/unit.out
rc=$?
sed -e '/^1\.\./d' $TMP/unit.out
n=$(grep -c '^\(not \)\?ok ' $TMP/unit.out)
i=$n
i=$((i + 1))
if [ $rc = 0 ] && [ $n -gt 0 ]; then echo "ok $i - test_road_impute passed ($n checks)"; else echo "not ok $i - test_road_impute failed (status $rc)"; fi

if [ ! -x "$TOOL" ] || [ ! -f "$REF/resnet20/pregap/gradcam.npy" ] || [ ! -f "$SHARED/models/resnet20_cifar10.pt" ]; then
	echo "ok $((i + 1)) # SKIP road_bench, the ResNet-20 reference maps or the model absent"
	echo "1..$((i + 1))"
	exit 0
fi
ARGS="--model $SHARED/models/resnet20_cifar10.pt --images $REF/resnet20/input_rgb_uint8.npy
--maps $REF/resnet20/pregap/gradcam.npy --targets 3,8,8,0,6,6,1,6,3,1,0,9,5,7,9,8,5,7,8,6
--mean 0.485,0.456,0.406 --std 0.229,0.224,0.225"
OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 "$TOOL" $ARGS >$TMP/per-mask.txt 2>$TMP/per-mask.err
a=$?
OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 "$TOOL" $ARGS --nested >$TMP/nested.txt 2>$TMP/nested.err
b=$?
i=$((i + 1))
if [ $a = 0 ] && [ $b = 0 ] && [ -s $TMP/nested.txt ]; then echo "ok $i - road_bench ran both ways"; else
	echo "not ok $i - road_bench failed ($a, $b)"; sed 's/^/# /' $TMP/per-mask.err $TMP/nested.err; fi
sed 's/^/# per mask: /' $TMP/per-mask.err
sed 's/^/# nested: /' $TMP/nested.err
i=$((i + 1))
d=$(awk 'NR == FNR { for (k = 1; k <= NF; k++) v[FNR, k] = $k; next }
	{ for (k = 1; k <= NF; k++) { e = $k - v[FNR, k]; e = e < 0 ? -e : e; if (e > m) m = e } }
	END { printf "%.3g", m + 0 }' $TMP/per-mask.txt $TMP/nested.txt)
same_rows=$(awk 'END { print NR }' $TMP/nested.txt)
if [ "$same_rows" = 20 ] && awk "BEGIN { exit !($d <= 1e-6) }"; then
	echo "ok $i - ROAD values of the two paths agree to 1e-6 (max |diff| $d, 20 images)"
else
	echo "not ok $i - ROAD values differ (max |diff| $d, $same_rows rows)"
fi
i=$((i + 1))
if grep -q ' 40 factorisations (40 families nested, 0 not)' $TMP/nested.err; then
	echo "ok $i - nested: 2 factorisations per image (40 for 20 images)"
else
	echo "not ok $i - nested: not 2 factorisations per image"
fi
echo "1..$i"
