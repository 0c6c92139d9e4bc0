#!/bin/sh
# t32-figures.t - camlab explain's <image>_grid.png: with several methods, utilities or targets each
# image gets one labelled grid (input first, then the overlays), laid out as the lists ask; odd file
# names are safe, and a missing gnuplot costs only the figure.
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
MODEL=$SHARED/models/resnet20_cifar10.pt
[ -f "$MODEL" ] || skip_all "no shared models at $SHARED"
$PY -c 'import numpy, PIL' 2>/dev/null || skip_all "$PY lacks numpy or PIL"
command -v gnuplot >/dev/null || skip_all "no gnuplot"
gnuplot -e 'set terminal' 2>&1 | grep -q pngcairo || skip_all "gnuplot lacks pngcairo"
IMG0=$SHARED/data/foolbox_samples/cifar10_00_3.png
IMG1=$SHARED/data/foolbox_samples/cifar10_01_8.png
EX="$CAMLAB explain --model $MODEL --size 0 --mean 0.485,0.456,0.406 --std 0.229,0.224,0.225 --layer f.layer3"
# Temporary folders of the figure code land here, to check that they are removed.
mkdir "$TMP/tmp" && export TMPDIR="$TMP/tmp"

# grid.py PNG [INPUT]: the pictures of a grid are the runs of at least 100 non-white rows and (within
# those rows) columns; prints "ROWS COLS". With INPUT, also checks that the first cell is INPUT
# enlarged 5 times with nearest-neighbour pixels.
cat >"$TMP/grid.py" <<'EOF'
import sys
import numpy as np
from PIL import Image
im = Image.open(sys.argv[1])
assert im.format == 'PNG', im.format
px = np.asarray(im.convert('RGB')).astype(int)
ink = (px < 245).any(axis=2)
def runs(v):
    out, start = [], None
    for i, x in enumerate(list(v) + [False]):
        if x and start is None:
            start = i
        if not x and start is not None:
            out.append((start, i))
            start = None
    return [r for r in out if r[1] - r[0] >= 100]
rows = runs(ink.any(axis=1))
cols = runs(ink[np.concatenate([np.arange(a, b) for a, b in rows])].any(axis=0))
if len(sys.argv) > 2:
    (y0, y1), (x0, x1) = rows[0], cols[0]
    assert (x1 - x0, y1 - y0) == (160, 160), (x0, x1, y0, y1)
    ref = np.asarray(Image.open(sys.argv[2]).convert('RGB').resize((160, 160), Image.NEAREST))
    diff = np.abs(px[y0:y1, x0:x1] - ref.astype(int)).mean()
    assert diff < 4, diff
print(len(rows), len(cols))
EOF
grid() {
	$PY "$TMP/grid.py" "$@"
}

test_expect_success 'three methods: one grid per image, 1 row of input and 3 overlays' "
	$EX --method gradcam,hirescam,shapleycam -o $TMP/m $IMG0 $IMG1 2>$TMP/err &&
	! grep -E 'warning|error' $TMP/err &&
	test -f $TMP/m/cifar10_00_3_grid.png && test -f $TMP/m/cifar10_01_8_grid.png &&
	test -f $TMP/m/cifar10_00_3_shapleycam.png &&
	$PY -c '
from PIL import Image
w, h = Image.open(\"$TMP/m/cifar10_00_3_grid.png\").size
assert w > 2.5 * h and w >= 4 * 160, (w, h)
' &&
	test \"\$(grid $TMP/m/cifar10_00_3_grid.png $IMG0)\" = '1 4' &&
	test \"\$(grid $TMP/m/cifar10_01_8_grid.png $IMG1)\" = '1 4'
"

test_expect_success 'the temporary folders are removed' "
	test -z \"\$(ls -A $TMP/tmp)\"
"

test_expect_success 'three utilities by two methods: 3 rows of 3 pictures' "
	$EX --utility logit,softmax,rest --method gradcam,shapleycam -o $TMP/u $IMG0 &&
	test -f $TMP/u/cifar10_00_3_gradcam_softmax.png &&
	test \"\$(grid $TMP/u/cifar10_00_3_grid.png)\" = '3 3'
"

test_expect_success 'targets side by side; with utilities too, utilities are the rows' "
	$EX --target 3,5,least -o $TMP/t $IMG0 &&
	test \"\$(grid $TMP/t/cifar10_00_3_grid.png)\" = '1 4' &&
	$EX --target predicted,least --utility logit,rest -o $TMP/tu $IMG0 &&
	test \"\$(grid $TMP/tu/cifar10_00_3_grid.png)\" = '2 3'
"

test_expect_success 'all three lists: utility x target rows, method columns' "
	$EX --target predicted,least --utility logit,rest --method gradcam,hirescam,layercam -o $TMP/all $IMG0 &&
	test \"\$(grid $TMP/all/cifar10_00_3_grid.png)\" = '4 4'
"

test_expect_success 'one method, utility and target: no grid' "
	$EX --method shapleycam -o $TMP/one $IMG0 $IMG1 &&
	test -f $TMP/one/cifar10_00_3_shapleycam.png &&
	! ls $TMP/one | grep grid
"

test_expect_success 'names with quotes, spaces and backquotes reach the figure safely' "
	mkdir -p \"$TMP/in dir\" \"$TMP/work\" &&
	cp $IMG0 \"$TMP/in dir/it's a \\\"cat\\\" \\\`touch pwned\\\` @x.png\" &&
	(cd $TMP/work && $EX --method gradcam,hirescam -o \"$TMP/out 'q' dir\" \"$TMP/in dir\"/*.png 2>$TMP/err) &&
	! grep -E 'warning|error' $TMP/err &&
	test -f \"$TMP/out 'q' dir/it's a \\\"cat\\\" \\\`touch pwned\\\` @x_grid.png\" &&
	test -z \"\$(find $TMP -name pwned)\" && test -z \"\$(ls -A $TMP/tmp)\"
"

test_expect_success 'without gnuplot: one warning, exit 0, the per-method files' "
	CAMLAB_GNUPLOT=/nonexistent $EX --method gradcam,hirescam -o $TMP/ng $IMG0 $IMG1 2>$TMP/err &&
	test_grep \"^warning: cannot draw '.*cifar10_00_3_grid.png': cannot run gnuplot '/nonexistent'\" $TMP/err &&
	test \$(grep -c warning $TMP/err) = 1 &&
	for f in cifar10_00_3 cifar10_01_8; do
		for m in gradcam hirescam; do test -f $TMP/ng/\${f}_\$m.png && test -f $TMP/ng/\${f}_\$m.npy || exit 1; done
	done &&
	! ls $TMP/ng | grep grid && test -z \"\$(ls -A $TMP/tmp)\"
"

test_expect_success 'a failing gnuplot is a warning too, and leaves no partial figure' "
	CAMLAB_GNUPLOT=false $EX --method gradcam,hirescam -o $TMP/bad $IMG0 2>$TMP/err &&
	test_grep \"^warning: .*gnuplot 'false' failed\" $TMP/err &&
	! ls $TMP/bad | grep grid && test -f $TMP/bad/cifar10_00_3_gradcam.png
"

test_done
