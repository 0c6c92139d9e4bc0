#!/bin/sh
# t84-report-browser.t - the report as a reader sees it: a small run (two layers, statistics, the
# faithfulness metrics, figures) and its index.html opened by headless Chromium
# (tests/report/browser_check.py): every image loads, every link reaches a file or an anchor, nothing on
# the console, no plot title wider than its plot; a full-page screenshot is kept.
#
# The screenshot and the report it shows stay in $CAMLAB_KEEP/t84 when CAMLAB_KEEP is set, else in
# build/t84-report-browser/ (index.png beside the report/ folder), for a person to look at.
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
CHROMIUM=${CAMLAB_CHROMIUM:-$(command -v chromium || command -v chromium-browser)}
[ -n "$CHROMIUM" ] || skip_all "no chromium (Debian's package chromium) to open the report with"
command -v gnuplot >/dev/null || skip_all "no gnuplot to draw the report's plots"
need_python
KEEP=${CAMLAB_KEEP:+$CAMLAB_KEEP/t84}
KEEP=${KEEP:-$PWD/$BUILD/t84-report-browser}
FASHION=/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz
[ -f "$FASHION" ] || skip_all "no Fashion-MNIST test set ($FASHION: package dataset-fashion-mnist)"

cat >$TMP/small.yaml <<EOF
name: browser check
output: $TMP/out
batch: 8
models:
  - name: fashion_cnn
    file: $PWD/experiments/models/fashion_mnist_cnn.pt
    layers: {pre_gap: features.block5, conv4: features.conv4}
data: {path: $FASHION, limit: 8}
methods: [gradcam, randomcam, shapleycam]
utilities: [rest]
targets: [predicted]
metrics: [ad, coh, com, adcc, ic, add, road, insertion, gain]
statistics: {bootstrap: 200, alpha: 0.05, seed: 0}
outputs:
  tables: true
  plots: true
  figures:
    - {image: 0, by: method}
EOF

test_expect_success 'a small run with statistics writes its report' "
	$CAMLAB run --no-progress $TMP/small.yaml >$TMP/run.out 2>&1 &&
	test -f $TMP/out/report/index.html
"

test_expect_success 'Chromium: images load, links resolve, no console error, titles fit' "
	rm -rf '$KEEP' && mkdir -p '$KEEP' &&
	$PY tests/report/browser_check.py '$CHROMIUM' $TMP/out/report/index.html '$KEEP/index.png' >$TMP/check.out;
	s=\$?; cat $TMP/check.out; cp -r $TMP/out/report '$KEEP/report'; test \$s = 0
"

test_expect_success 'the screenshot is a PNG of the whole page' "
	$PY -c '
import struct, sys
b = open(sys.argv[1], \"rb\").read(24)
assert b[:8] == b\"\\x89PNG\\r\\n\\x1a\\n\", \"not a PNG\"
w, h = struct.unpack(\">II\", b[16:24])
assert w == 1280 and h > 2000, (w, h)
' '$KEEP/index.png' && echo '# screenshot: $KEEP/index.png'
"

# the checker must see what it is there to see: a report with one of each defect
test_expect_success 'a broken report is caught: missing image, dead link and anchor, console error, cut title' "
	cp -r $TMP/out/report $TMP/bad && rm $TMP/bad/plots/metric-AD.png &&
	sed -i 's|<nav>|<a href=\"#nowhere\">x</a><a href=\"tables/none.md\">y</a><script>console.error(\"boom\")</script><nav>|' \
		$TMP/bad/index.html &&
	sed -i 's|\\(<text>Average drop (AD)\\)|\\1 and a title far too long to fit in the picture of this plot, whatever its width, drawn here|' \
		$TMP/bad/plots/metric-AD.svg &&
	test_must_fail $PY tests/report/browser_check.py '$CHROMIUM' $TMP/bad/index.html $TMP/bad.png >$TMP/bad.out;
	cat $TMP/bad.out &&
	test_grep \"image 'plots/metric-AD.png' does not load\" $TMP/bad.out &&
	test_grep \"link '#nowhere': no element with that id\" $TMP/bad.out &&
	test_grep \"link 'tables/none.md': no such file\" $TMP/bad.out &&
	test_grep 'console error: boom' $TMP/bad.out &&
	test_grep \"plots/metric-AD.svg': text outside the picture: Average drop\" $TMP/bad.out
"

test_done
