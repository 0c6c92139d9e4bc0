#!/bin/sh
# t13-datasets.t - dataset layouts: ImageFolder (checked against torchvision's own listing),
# flat folders with a CSV, list files and Fashion-MNIST's IDX files, and their error messages.
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
TOOL=$BUILD/tests/image_tool
DATA=$(cd "$SHARED/data" 2>/dev/null && pwd)
IDX=/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz
need_built "$TOOL"
[ -f "$DATA/photos_gradcam/both.png" ] || skip_all "no shared data at ../shared/data"

img=$DATA/photos_gradcam/both.png

# ImageFolder: nested folders, mixed-case extensions, a hidden class, non-images.
F=$TMP/folder
mkdir -p "$F/cat/sub" "$F/cat/sub b" "$F/Dog" "$F/.hidden" "$F/bird"
for p in cat/z.jpg cat/sub/a.png "cat/sub b/c.JPG" cat/x.JPEG cat/readme.txt Dog/1.bmp Dog/0.PNG \
	.hidden/h.png bird/b.webp bird/a.tiff; do
	cp "$img" "$F/$p"
done
"$TOOL" list "$F" >"$TMP/got" 2>"$TMP/err"
test_ok $? "ImageFolder opens"
if $PY -c 'import torchvision' 2>/dev/null; then
	$PY - "$F" >"$TMP/want" <<'PYEOF'
import sys
from torchvision.datasets import ImageFolder
ds = ImageFolder(sys.argv[1])
print("%d items" % len(ds.samples))
for i, c in enumerate(ds.classes):
    print("class %d %s" % (i, c))
for i, (p, l) in enumerate(ds.samples):
    print("%d\t%d\t%s" % (i, l, p))
PYEOF
	cmp -s "$TMP/got" "$TMP/want"
	test_ok $? "ImageFolder order, classes and labels equal torchvision's ImageFolder"
	cmp -s "$TMP/got" "$TMP/want" || diff "$TMP/got" "$TMP/want" | sed 's/^/# /'
else
	test_skip "ImageFolder order, classes and labels equal torchvision's ImageFolder" "no torchvision in $PY"
fi
mkdir "$F/empty"
test_fails_with "ImageFolder with an empty class is an error naming it" "class 'empty'" "$TOOL" list "$F"
test_fails_with "ImageFolder refuses a labels file" "ImageFolder" "$TOOL" list "$F" "$TMP/none.csv"

# Flat folder with a CSV of labels (header, quotes, CRLF, spaces).
L=$TMP/flat
mkdir "$L"
for p in b.jpg a.png c.bmp d.PPM; do cp "$img" "$L/$p"; done
echo hello >"$L/notes.txt"
printf 'filename,label\r\na.png,3\r\n"c.bmp", 5\r\n\r\nother.png,1\r\n' >"$TMP/labels.csv"
"$TOOL" list "$L" "$TMP/labels.csv" >"$TMP/got" 2>"$TMP/err"
test_ok $? "flat folder with CSV opens"
printf '4 items\n0\t3\t%s/a.png\n1\t-1\t%s/b.jpg\n2\t5\t%s/c.bmp\n3\t-1\t%s/d.PPM\n' "$L" "$L" "$L" "$L" >"$TMP/want"
cmp -s "$TMP/got" "$TMP/want"
test_ok $? "flat folder: sorted images only, CSV labels, unknown files -1"
"$TOOL" list "$L" >"$TMP/got" 2>&1 && grep -c '	-1	' "$TMP/got" | grep -qx 4
test_ok $? "flat folder without labels: all -1"
printf 'a.png,1\nb.jpg,2\nc.bmp,x7\n' >"$TMP/bad.csv"
test_fails_with "bad CSV label names the file and line 3" "bad.csv':3: bad label 'x7'" "$TOOL" list "$L" "$TMP/bad.csv"
printf 'filename,label\na.png,1\nb.jpg,-1\n' >"$TMP/neg.csv"
test_fails_with "a negative CSV label (later 'no label') names the file and line 3" \
	"neg.csv':3: negative label '-1': labels are class indices, 0 or more" "$TOOL" list "$L" "$TMP/neg.csv"
# a labels path from someone else's spec: a device is refused at a cap instead of filling the memory
test_fails_with "a labels file that never ends (/dev/zero) is refused at the size cap" \
	"'/dev/zero' is larger than 268435456 bytes" "$TOOL" list "$L" /dev/zero
test_fails_with "a folder as labels file says so" "cannot read '$TMP': it is a folder" "$TOOL" list "$L" "$TMP"
printf 'a.png,1\nb.jpg\n' >"$TMP/bad2.csv"
test_fails_with "CSV line without a comma names line 2" "bad2.csv':2:" "$TOOL" list "$L" "$TMP/bad2.csv"
printf 'a.png,1\na.png,2\n' >"$TMP/dup.csv"
test_fails_with "duplicate CSV entry is an error" "duplicate entry for 'a.png'" "$TOOL" list "$L" "$TMP/dup.csv"
test_fails_with "missing CSV is an error naming it" "nope.csv" "$TOOL" list "$L" "$TMP/nope.csv"

# List file: comments, blanks, labels, spaces in names, absolute paths.
mkdir "$TMP/list"
cp "$img" "$TMP/list/a b.png"
printf '# images\n\nfolder/one.png 4\n  a b.png\n%s\t7\nnum 12x\n' "$img" >"$TMP/list/items.txt"
"$TOOL" list "$TMP/list/items.txt" >"$TMP/got" 2>"$TMP/err"
test_ok $? "list file opens"
printf '4 items\n0\t4\t%s/list/folder/one.png\n1\t-1\t%s/list/a b.png\n2\t7\t%s\n3\t-1\t%s/list/num 12x\n' \
	"$TMP" "$TMP" "$img" "$TMP" >"$TMP/want"
cmp -s "$TMP/got" "$TMP/want"
test_ok $? "list file: paths relative to the list, labels, comments and blanks skipped"
cmp -s "$TMP/got" "$TMP/want" || diff "$TMP/got" "$TMP/want" | sed 's/^/# /'
printf 'folder/one.png 4\na b.png -1\n' >"$TMP/list/neg.txt"
test_fails_with "a negative label in a list file names the file and line 2" \
	"neg.txt':2: negative label '-1': labels are class indices, 0 or more" "$TOOL" list "$TMP/list/neg.txt"
"$TOOL" load "$TMP/list/items.txt" 1 "$TMP/one.bin" >/dev/null
test_ok $? "dataset_load decodes a list item"
printf 'a b.png\nfolder/one.png\na b.png\n' >"$TMP/list/twice.txt"
"$TOOL" list "$TMP/list/twice.txt" >"$TMP/got" 2>"$TMP/err" &&
	grep -q "names 1 image(s) more than once (such as '.*/list/a b.png')" "$TMP/err" &&
	grep -q '^3 items' "$TMP/got"
test_ok $? "a list naming an image twice keeps both and says so"
test_fails_with "dataset_load of a missing listed file names it" "folder/one.png" \
	"$TOOL" load "$TMP/list/items.txt" 0 "$TMP/one.bin"
printf '# nothing\n' >"$TMP/empty.txt"
test_fails_with "an empty list is an error" "no images listed in" "$TOOL" list "$TMP/empty.txt"
test_fails_with "a missing dataset is an error naming it" "$TMP/missing" "$TOOL" list "$TMP/missing"
"$TOOL" list "$img" >"$TMP/got" && grep -q "^1 items" "$TMP/got"
test_ok $? "a single image file is a one-item dataset"

# IDX: Fashion-MNIST's test split.
if [ -f "$IDX" ]; then
	"$TOOL" list "$IDX" >"$TMP/got" 2>"$TMP/err"
	test_ok $? "IDX opens"
	head -1 "$TMP/got" | grep -qx "10000 items"
	test_ok $? "IDX has 10000 items"
	[ "$(sed -n '2,6p' "$TMP/got" | cut -f2 | tr '\n' ' ')" = "9 2 1 1 6 " ]
	test_ok $? "IDX first labels are 9 2 1 1 6 (from the sibling label file)"
	sed -n 2p "$TMP/got" | grep -q "	$IDX#0\$"
	test_ok $? "IDX item path is FILE#N"
	LBL=$(dirname "$IDX")/t10k-labels-idx1-ubyte.gz
	"$TOOL" list "$IDX" "$LBL" | sed -n 11p | cut -f2 | grep -qx 7
	test_ok $? "IDX labels from an explicit label file (item 9 is 7)"
	test_fails_with "IDX label file as images is an error" "IDX label file" "$TOOL" list "$LBL"
	test_fails_with "wrong labels file for IDX is an error" "labels.csv' is not an IDX label file" \
		"$TOOL" list "$IDX" "$TMP/labels.csv"
	gzip -dc "$IDX" | head -c 100000 >"$TMP/trunc-images-idx3-ubyte"
	test_fails_with "truncated IDX is an error" "truncated IDX data" "$TOOL" list "$TMP/trunc-images-idx3-ubyte"
	if $PY -c 'import numpy' 2>/dev/null; then
		"$TOOL" load "$IDX" 3 "$TMP/r3.bin" >/dev/null &&
			$PY - "$IDX" "$TMP/r3.bin" <<'PYEOF'
import gzip, sys
import numpy as np
raw = np.frombuffer(gzip.open(sys.argv[1]).read()[16:], np.uint8).reshape(-1, 28, 28)
got = np.fromfile(sys.argv[2], np.uint8).reshape(28, 28, 3)
sys.exit(0 if all((got[:, :, c] == raw[3]).all() for c in range(3)) else 1)
PYEOF
		test_ok $? "IDX record 3 loads as grey RGB equal to the raw bytes"
	else
		test_skip "IDX record 3 loads as grey RGB equal to the raw bytes" "no numpy in $PY"
	fi
else
	echo "# $IDX missing (apt-get install dataset-fashion-mnist)"
	for i in 1 2 3 4 5 6 7 8 9; do test_skip "IDX test $i" "no Fashion-MNIST"; done
fi

test_done
