#!/bin/sh
# t50-report.t - camlab report rebuilds DIR/report from the results database alone: golden tables
# from a small fixed database (tests/report/fixture.sql: ties, RandomCAM best on every column, a
# method with uncomputed metrics, the utility ablation, the paper's columns), plots whose gnuplot
# scripts run without a word of warning, heatmap figures, an offline index.html, and clear errors.
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
command -v sqlite3 >/dev/null || skip_all "no sqlite3 command to build the fixture database"
GOLDEN=tests/report/golden
GNUPLOT=
command -v gnuplot >/dev/null && gnuplot -e 'set terminal' 2>&1 | grep -q pngcairo && GNUPLOT=yes

# fixture DIR [SQL...]: a results database made from fixture.sql, then the extra statements.
fixture() {
	mkdir -p "$1" && sqlite3 "$1/results.sqlite" <tests/report/fixture.sql && shift_dir=$1 && shift &&
	for sql in "$@"; do sqlite3 "$shift_dir/results.sqlite" "$sql" || return 1; done
}

# png_size FILE: "W H" of a PNG, or fails when FILE is not one.
png_size() {
	$PY -c '
import struct, sys
b = open(sys.argv[1], "rb").read(24)
assert b[:8] == b"\x89PNG\r\n\x1a\n" and b[12:16] == b"IHDR", "not a PNG"
print(*struct.unpack(">II", b[16:24]))
' "$1"
}

test_expect_success 'camlab report builds the report and says where its index is' "
	fixture $TMP/fx &&
	$CAMLAB report $TMP/fx >$TMP/out 2>$TMP/err &&
	echo 'report: $TMP/fx/report/index.html' >$TMP/expect && diff -u $TMP/expect $TMP/out &&
	if [ -n '$GNUPLOT' ]; then test ! -s $TMP/err || { cat $TMP/err; false; }; fi &&
	test -f $TMP/fx/report/index.html
"

for t in methods.resnet50.last_conv.rest.predicted ablation.resnet50.last_conv.predicted \
	methods.fashion_cnn.pre_gap.rest.predicted; do
	test_expect_success "golden table $t (Markdown, LaTeX, CSV)" "
		for e in md tex csv; do diff -u $GOLDEN/$t.\$e $TMP/fx/report/tables/$t.\$e || exit 1; done
	"
done

test_expect_success 'RandomCAM is best everywhere but never marked; ties share the mark' "
	f=$TMP/fx/report/tables/methods.resnet50.last_conv.rest.predicted.md &&
	test_grep '^\| RandomCAM \| 5\.00 \| 99\.00 \| 10\.00 \| 90\.00 \| 90\.00 \| 90\.00 \|' \$f &&
	test_grep '^\| GradCAM \| \*\*16\.91\*\* \| <u>95\.63</u> \|' \$f &&
	test_grep '^\| ShapleyCAM \| \*\*16\.91\*\* \| <u>95\.63</u> \|' \$f &&
	test_grep '^\| HiResCAM \| <u>18\.00</u> \|' \$f &&
	test_grep '^\| myowncam \| – \| 50\.00 \| 50\.00 \| – \| \*\*30\.00\*\* \|' \$f
"

test_expect_success 'the methods come in the paper order, others after' "
	cut -d, -f1 $TMP/fx/report/tables/methods.resnet50.last_conv.rest.predicted.csv >$TMP/order &&
	printf 'Method\nRandomCAM\nGradCAM++\nHiResCAM\nGradCAM\nShapleyCAM\nmyowncam\n' >$TMP/expect &&
	diff -u $TMP/expect $TMP/order
"

test_expect_success 'a superseded run and a failed run stay out of the tables; the index names the failure' "
	! grep -q '99\.99' $TMP/fx/report/tables/*.md &&
	test_grep 'Failed runs' $TMP/fx/report/index.html &&
	test_grep 'hirescam rest predicted: out of memory' $TMP/fx/report/index.html &&
	test_grep '1 other run with results left out' $TMP/fx/report/index.html
"

test_expect_success 'the index and camlab status summarise the same runs' "
	test_grep 'Runs: 12 done, 1 failed, 1 partial; 12 with results in the tables\\.' $TMP/fx/report/index.html &&
	$CAMLAB status $TMP/fx >$TMP/status &&
	cat >$TMP/expect <<-EOF &&
	done        12 run(s), 55 of 1100 image results stored
	failed       1 run(s), 0 of 50 image results stored
	partial      1 run(s), 5 of 50 image results stored
	failed: 000000000000000d fashion_cnn/pre_gap hirescam rest predicted: out of memory
	spec 1: fixture.yaml (camlab 0.1.0, 2025-01-01T00:00:00Z)
	EOF
	diff -u $TMP/expect $TMP/status
"

test_expect_success 'tables with one utility have no ablation; one table per model, layer, utility, target' "
	(cd $TMP/fx/report/tables && ls *.md) >$TMP/list &&
	printf '%s\n' ablation.resnet50.last_conv.predicted.md methods.fashion_cnn.pre_gap.rest.predicted.md \
		methods.resnet50.last_conv.logit.predicted.md methods.resnet50.last_conv.rest.predicted.md \
		methods.resnet50.last_conv.softmax.predicted.md >$TMP/expect &&
	diff -u $TMP/expect $TMP/list
"

test_expect_success 'paper columns only beside the model the paper table names' "
	test_grep 'paper: resnet50, last conv\. \(layer4\.2\.conv3\)' \
		$TMP/fx/report/tables/methods.resnet50.last_conv.logit.predicted.tex &&
	! grep -q paper $TMP/fx/report/tables/methods.fashion_cnn.pre_gap.rest.predicted.md
"

test_expect_success 'paper table names: NETWORK/pre-pool, NETWORK/LAYER, with or without tableN/' "
	for key in resnet50/pre-pool resnet50/layer4.2 table3/resnet50/layer4.2 resnet50/B; do
		rm -rf $TMP/pp && fixture $TMP/pp \"UPDATE outputs SET value = '\$key' WHERE key = 'paper'\" &&
		CAMLAB_GNUPLOT=/nonexistent $CAMLAB report $TMP/pp >/dev/null 2>&1 &&
		grep -q '| GradCAM | .* | 13\.84 | 97\.07 | 38\.42 | 78\.64 | 40\.05 | 43\.82 |$' \
			$TMP/pp/report/tables/methods.resnet50.last_conv.rest.predicted.md ||
		{ echo \"key \$key\"; grep GradCAM $TMP/pp/report/tables/methods.resnet50.last_conv.rest.predicted.md; exit 1; }
	done
"

test_expect_success 'paper: auto gives each model and layer of the paper its own paper columns, others none' "
	rm -rf $TMP/pa && fixture $TMP/pa \"UPDATE outputs SET value = 'auto' WHERE key = 'paper'\" &&
	CAMLAB_GNUPLOT=/nonexistent $CAMLAB report $TMP/pa >/dev/null 2>&1 &&
	test_grep '^\\| GradCAM \\| .* \\| 16\\.91 \\| 95\\.63 \\| 36\\.36 \\| 78\\.53 \\| 36\\.21 \\| 38\\.37 \\|\$' \\
		$TMP/pa/report/tables/methods.resnet50.last_conv.rest.predicted.md &&
	test_grep 'published values for resnet50, last conv\\. \\(layer4\\.2\\.conv3\\)' $TMP/pa/report/tables/methods.resnet50.last_conv.rest.predicted.md &&
	! grep -q paper $TMP/pa/report/tables/methods.fashion_cnn.pre_gap.rest.predicted.md
"

test_expect_success 'check warns about a paper table the report could not use, at its position' "
	cat >$TMP/pw.yaml <<-EOS &&
	models: [{name: fashion, file: $PWD/experiments/models/fashion_mnist_cnn.pt, layers: {pre_gap: features.block5}}]
	data: {path: $PWD/experiments/models/fashion_mnist_cnn.pt}
	outputs: {paper: table1/mobilenet_v3/pre_gap}
	EOS
	$CAMLAB check $TMP/pw.yaml 2>$TMP/err &&
	test_grep \"pw.yaml:3:18: warning: unknown network 'mobilenet_v3' in paper table .*did you mean 'mobilenetv2'\" $TMP/err &&
	sed -i 's#table1/mobilenet_v3/pre_gap#auto#' $TMP/pw.yaml && $CAMLAB check $TMP/pw.yaml 2>$TMP/err &&
	test_grep 'warning: paper: auto: no model and layer is one of the paper' $TMP/err
"

test_expect_success 'an unknown paper table is a warning with the nearest name, and no paper columns' "
	rm -rf $TMP/pp && fixture $TMP/pp \"UPDATE outputs SET value = 'resnet05/last-conv' WHERE key = 'paper'\" &&
	CAMLAB_GNUPLOT=/nonexistent $CAMLAB report $TMP/pp >/dev/null 2>$TMP/err &&
	test_grep \"unknown network 'resnet05' in paper table 'resnet05/last-conv'; did you mean 'resnet50'\" $TMP/err &&
	! grep -q paper $TMP/pp/report/tables/methods.resnet50.last_conv.rest.predicted.md &&
	rm -rf $TMP/pp && fixture $TMP/pp \"UPDATE outputs SET value = 'resnet50/layer9' WHERE key = 'paper'\" &&
	CAMLAB_GNUPLOT=/nonexistent $CAMLAB report $TMP/pp >/dev/null 2>$TMP/err &&
	test_grep \"'layer9' is not a setting of resnet50; use last-conv, pre-pool, layer4.2.conv3, layer4.2\" $TMP/err
"

test_expect_success 'formats and tables settings are followed' "
	rm -rf $TMP/fm && fixture $TMP/fm \"UPDATE outputs SET value = 'csv' WHERE key = 'formats'\" &&
	CAMLAB_GNUPLOT=/nonexistent $CAMLAB report $TMP/fm >/dev/null 2>&1 &&
	ls $TMP/fm/report/tables | grep -qv '\.csv$' && exit 1;
	test -f $TMP/fm/report/tables/methods.resnet50.last_conv.rest.predicted.csv &&
	sqlite3 $TMP/fm/results.sqlite \"UPDATE outputs SET value = '0' WHERE key = 'tables'\" &&
	CAMLAB_GNUPLOT=/nonexistent $CAMLAB report $TMP/fm >/dev/null 2>&1 &&
	test -z \"\$(ls $TMP/fm/report/tables)\" && test_grep 'asks for no tables' $TMP/fm/report/index.html
"

test_expect_success 'the index works offline: every link is a file of the report, nothing external' "
	! grep -Eiq '(src|href)=\"(https?:)?//' $TMP/fx/report/index.html &&
	! grep -Eiq '<link|<script|@import|url\(' $TMP/fx/report/index.html &&
	grep -Eo '(src|href)=\"[^\"#][^\"]*\"' $TMP/fx/report/index.html | sed 's/^[a-z]*=\"//; s/\"\$//' | sort -u >$TMP/links &&
	test -s $TMP/links &&
	while read -r l; do test -f $TMP/fx/report/\$l || { echo \"missing \$l\"; exit 1; }; done <$TMP/links
"

test_expect_success 'a rebuild gives the same tables and leaves nothing stale' "
	cp -r $TMP/fx $TMP/rb &&
	touch $TMP/rb/report/tables/stale.md $TMP/rb/report/plots/stale.png &&
	CAMLAB_GNUPLOT=/nonexistent $CAMLAB report $TMP/rb >/dev/null 2>&1 &&
	test ! -e $TMP/rb/report/tables/stale.md && test ! -e $TMP/rb/report/plots/stale.png &&
	diff -r $TMP/fx/report/tables $TMP/rb/report/tables
"

test_expect_success 'without gnuplot: a warning, the tables and the index, exit 0' "
	rm -rf $TMP/ng && fixture $TMP/ng &&
	CAMLAB_GNUPLOT=$TMP/no-such-gnuplot $CAMLAB report $TMP/ng >$TMP/out 2>$TMP/err &&
	test_grep \"warning: cannot run '$TMP/no-such-gnuplot'; the report has no plots or figures\" $TMP/err &&
	test \$(wc -l <$TMP/err) -eq 1 &&
	test -f $TMP/ng/report/tables/methods.resnet50.last_conv.rest.predicted.md &&
	test_grep 'no plots or figures' $TMP/ng/report/index.html
"

test_expect_success 'errors: no database, no folder, bad usage' "
	mkdir $TMP/empty &&
	test_must_fail $CAMLAB report $TMP/empty >$TMP/out 2>$TMP/err &&
	test_grep \"error: no results database '$TMP/empty/results.sqlite'\" $TMP/err && test ! -s $TMP/out &&
	test ! -e $TMP/empty/results.sqlite && test ! -e $TMP/empty/report &&
	test_must_fail $CAMLAB report >/dev/null 2>$TMP/err && test_grep 'usage: camlab report DIR' $TMP/err &&
	test_must_fail $CAMLAB report --bogus $TMP/fx >/dev/null 2>$TMP/err && test_grep \"unknown option '--bogus'\" $TMP/err &&
	$CAMLAB report --help | test_grep 'usage: camlab report DIR' /dev/stdin
"

test_expect_success 'a database that is not camlab'\''s is refused and left as it was, by report and status' "
	mkdir $TMP/foreign && sqlite3 $TMP/foreign/results.sqlite 'CREATE TABLE x(a)' &&
	test_must_fail $CAMLAB report $TMP/foreign >$TMP/out 2>$TMP/err && test ! -s $TMP/out &&
	test_grep \"'$TMP/foreign/results.sqlite' is not a camlab results database\" $TMP/err &&
	test_must_fail $CAMLAB status $TMP/foreign >$TMP/out 2>$TMP/err && test ! -s $TMP/out &&
	test_grep 'is not a camlab results database' $TMP/err &&
	test \"\$(sqlite3 $TMP/foreign/results.sqlite .tables)\" = x && test ! -e $TMP/foreign/report
"

test_expect_success 'a half-truncated database is called damaged, with its path, by report and status' "
	mkdir $TMP/cut && cp $TMP/fx/results.sqlite $TMP/cut/ &&
	truncate -s \$((\$(stat -c %s $TMP/cut/results.sqlite) / 2)) $TMP/cut/results.sqlite &&
	test_must_fail $CAMLAB report $TMP/cut >$TMP/out 2>$TMP/err && cat $TMP/err &&
	test_grep \"error: '$TMP/cut/results.sqlite' is damaged, or not a camlab results database: database disk image is malformed\" $TMP/err &&
	test_must_fail $CAMLAB status $TMP/cut >$TMP/out 2>$TMP/err &&
	test_grep \"error: '$TMP/cut/results.sqlite' is damaged\" $TMP/err &&
	printf 'not a database at all, but long enough to have a header %0400d' 0 >$TMP/cut/results.sqlite &&
	test_must_fail $CAMLAB status $TMP/cut >$TMP/out 2>$TMP/err &&
	test_grep \"error: '$TMP/cut/results.sqlite' is damaged, or not a camlab results database: file is not a database\" $TMP/err
"

if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
	AS_OTHER="setpriv --reuid=65534 --regid=65534 --clear-groups"
elif [ "$(id -u)" != 0 ]; then
	AS_OTHER=env
else
	AS_OTHER=
fi
if [ -n "$AS_OTHER" ]; then
test_expect_success 'a write-protected database (an archived study) still gives its report and status' "
	rm -rf $TMP/ro && fixture $TMP/ro && chmod 444 $TMP/ro/results.sqlite && chmod o+x $TMP &&
	if [ '$AS_OTHER' != env ]; then chown -R 65534:65534 $TMP/ro; fi &&
	sum=\$(cksum <$TMP/ro/results.sqlite) &&
	CAMLAB_GNUPLOT=/nonexistent $AS_OTHER $CAMLAB report $TMP/ro >$TMP/out 2>/dev/null &&
	test_grep 'report: .*/ro/report/index.html' $TMP/out &&
	test -f $TMP/ro/report/tables/methods.resnet50.last_conv.rest.predicted.md &&
	$AS_OTHER $CAMLAB status $TMP/ro | test_grep '^done +12 run' /dev/stdin &&
	test \"\$(cksum <$TMP/ro/results.sqlite)\" = \"\$sum\"
"
else
	test_skip 'a write-protected database (an archived study) still gives its report and status' 'running as root without setpriv'
fi

if [ -z "$GNUPLOT" ]; then
	echo "# skipping the plot and figure tests: no gnuplot with pngcairo"
	test_done
	exit $?
fi

test_expect_success 'the plots: a bar chart per metric, the ablation, per-image box plots; PNG and SVG' "
	cd $TMP/fx/report/plots &&
	for s in metric-AD metric-Coh metric-Com metric-ADCC metric-IC metric-ADD \
		ablation.resnet50.last_conv.predicted distribution.resnet50.last_conv.rest.predicted \
		distribution.fashion_cnn.pre_gap.rest.predicted; do
		test -f \$s.gp && test -f \$s.svg && png_size \$s.png >/dev/null || { echo \"\$s\"; exit 1; }
	done &&
	grep -q '<svg' metric-AD.svg && test_grep 'set ylabel \"AD \(%\)\"' metric-AD.gp &&
	test_grep 'lower is better' metric-AD.gp && test_grep \"title 'ShapleyCAM'\" metric-AD.gp
"

test_expect_success 'every gnuplot script reruns without a word on stdout or stderr' "
	cd $TMP/fx/report/plots && for gp in *.gp; do
		gnuplot \$gp >$TMP/gp.out 2>&1 && test ! -s $TMP/gp.out || { echo \"\$gp:\"; cat $TMP/gp.out; exit 1; }
	done
"

test_expect_success 'a metric that is zero everywhere plots without a word (no empty y range)' "
	rm -rf $TMP/z0 && fixture $TMP/z0 'UPDATE images SET ic = 0' 'UPDATE aggregates SET ic = 0' &&
	$CAMLAB report $TMP/z0 >/dev/null 2>$TMP/err && ! grep -v 'no heatmaps of image 0' $TMP/err &&
	png_size $TMP/z0/report/plots/metric-IC.png >/dev/null
"

test_expect_success 'the box plots draw the images beyond the whiskers as circles' "
	rm -rf $TMP/ol && fixture $TMP/ol \"WITH RECURSIVE n(i) AS (SELECT 5 UNION ALL SELECT i + 1 FROM n WHERE i < 12)
		INSERT INTO images SELECT '0000000000000001', i, 'x.png', 0, 0, 0.01 + i / 1000.0, NULL, NULL, 0, 0.5,
		0.9, 0.5, 0.4 FROM n\" \"INSERT INTO images VALUES ('0000000000000001', 13, 'y.png', 0, 0, 0.95, NULL, NULL,
		0, 0.5, 0.9, 0.5, 0.4)\" &&
	$CAMLAB report $TMP/ol >/dev/null 2>&1 &&
	gp=$TMP/ol/report/plots/distribution.resnet50.last_conv.rest.predicted.gp &&
	test_grep '^.out0 << EOD\$' \$gp && test_grep '^1 95\\.0000\$' \$gp &&
	test_grep 'out0 using 1:2 with points' \$gp &&
	(cd $TMP/ol/report/plots && gnuplot \$(basename \$gp) >$TMP/gp.out 2>&1) && test ! -s $TMP/gp.out
"

test_expect_success 'names with gnuplot'\''s special characters (%, quotes, backslash, &) plot without a word' "
	rm -rf $TMP/pc && fixture $TMP/pc \
		\"UPDATE runs SET model = 'Res%Net \\\"50\\\" & co_1\\\\' WHERE model = 'resnet50'\" &&
	$CAMLAB report $TMP/pc >/dev/null 2>$TMP/err && ! grep -v 'no heatmaps of image 0' $TMP/err &&
	test_grep 'Res%%Net' $TMP/pc/report/plots/metric-AD.gp &&
	png_size $TMP/pc/report/plots/metric-AD.png >/dev/null && grep -q 'Res%Net' $TMP/pc/report/plots/metric-AD.svg
"

test_expect_success 'the figures: by method (pre-softmax and ReST rows) and by utility, 4x4 inputs enlarged' "
	ls $TMP/fx/report/figures >$TMP/list &&
	printf '%s\n' image0.by-method.resnet50.last_conv.png image0.by-utility.resnet50.last_conv.png >$TMP/expect &&
	diff -u $TMP/expect $TMP/list &&
	set -- \$(png_size $TMP/fx/report/figures/image0.by-method.resnet50.last_conv.png) &&
	test \$1 -gt 600 && test \$2 -gt 350 && test \$1 -gt \$2
"
test_done
