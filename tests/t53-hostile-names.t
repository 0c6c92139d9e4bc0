#!/bin/sh
# t53-hostile-names.t - names from a spec reach gnuplot, LaTeX, HTML, Markdown and CSV as text, never as
# code (lib/quote.h): a model, layer and user method whose names would run `touch` in gnuplot (backquotes
# in a double-quoted string), a shell ($(...)) or pdflatex -shell-escape (\write18) go through camlab run
# and camlab report; no marker file appears, and every report file shows the names literally.
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
FM=/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz
[ -f $FM ] || skip_all "dataset-fashion-mnist is not installed"
command -v gnuplot >/dev/null && gnuplot -e 'set terminal' 2>&1 | grep -q pngcairo ||
	skip_all "no gnuplot with pngcairo: the names never reach gnuplot"

P=$TMP/pwned
# The names, as camlab should show them. YAML single quotes keep backslashes; '' is one quote.
MODEL="m\`touch $P.model\`'\"<script>alert(1)</script>"
LAYER="l\$(touch $P.layer)@x|y%s\\write18{touch $P.tex}"
METHOD="x\`touch $P.method\`*_[a](b)&amp;\\input{/etc/hostname}"
yq() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/''/g")"; }

cat >$TMP/spec.yaml <<EOS
name: hostile
output: $TMP/out
models: [{name: $(yq "$MODEL"), file: $PWD/experiments/models/fashion_mnist_cnn.pt, layers: {$(yq "$LAYER"): features.block5}}]
data: {path: $FM, limit: 2}
methods: [gradcam, $(yq "$METHOD")]
metrics: [ad, coh]
define:
  methods:
    $(yq "$METHOD"): "return function(A, G, HA) return (G * A):sum(2) end"
outputs:
  figures: [{image: 0, by: method}]
EOS

no_marker() {
	ls $TMP | grep '^pwned' && { echo "a name ran as code: $(ls $TMP | grep '^pwned')"; return 1; }
	return 0
}

test_expect_success 'camlab run: the names run nothing' "
	$CAMLAB run --no-progress $TMP/spec.yaml >$TMP/run.out 2>$TMP/run.err &&
	no_marker && test -f $TMP/out/report/index.html
"

test_expect_success 'camlab report on the folder: the names run nothing' "
	rm -rf $TMP/pwned* $TMP/out/report && $CAMLAB report $TMP/out >$TMP/report.out 2>$TMP/report.err &&
	no_marker && ls $TMP/out/report/plots/*.svg && ls $TMP/out/report/figures/*.png &&
	! grep -i error $TMP/report.err  # gnuplot may warn that long names crowd the tics
"

# What each format shows for a name, by the rules lib/quote.h states.
html() { printf '%s' "$1" | sed 's/&/\&amp;/g; s/</\&lt;/g; s/>/\&gt;/g; s/"/\&quot;/g; s/'\''/\&#39;/g'; }
md() { printf '%s' "$1" | sed 's/&/\&amp;/g; s/</\&lt;/g; s/>/\&gt;/g; s/[][\\`*_|~$]/\\&/g'; }

test_expect_success 'index.html shows the names as text, with no markup of theirs' "
	for n in \"\$MODEL\" \"\$LAYER\" \"\$METHOD\"; do
		grep -qF \"\$(html \"\$n\")\" $TMP/out/report/index.html || { echo \"not in index.html: \$(html \"\$n\")\"; exit 1; }
	done &&
	! grep -q '<script' $TMP/out/report/index.html
"

# Every row of a Markdown table has the same number of unescaped pipes.
cat >$TMP/columns.py <<'EOF'
import re, sys
rows = [l for l in open(sys.argv[1]) if l.startswith("|")]
cols = {len(re.findall(r"\|", re.sub(r"\\.", "", l))) for l in rows}
assert len(rows) >= 3 and len(cols) == 1, cols
EOF

test_expect_success 'the Markdown table shows the names escaped: no raw HTML, code span or column' "
	f=\$(ls $TMP/out/report/tables/*.md) && cat \$f &&
	grep -qF \"\$(md \"\$METHOD\")\" \$f && grep -qF \"\$(md \"\$MODEL\")\" \$f &&
	! grep -q '<script' \$f && $PY $TMP/columns.py \$f
"

test_expect_success 'the CSV table and runs.csv give the names back' "
	$PY -c '
import csv, glob, sys
want = set(sys.argv[1:])
got = set()
for f in glob.glob(\"$TMP/out/report/tables/*.csv\") + [\"$TMP/out/runs.csv\"]:
    for row in csv.reader(open(f, newline=\"\")):
        got.update(row)
missing = want - got
assert not missing, missing
' \"\$MODEL\" \"\$LAYER\" \"\$METHOD\"
"

test_expect_success 'the plots and figure show the names literally (SVG text; no script)' "
	! grep -l '<script' $TMP/out/report/plots/*.svg &&
	grep -qF 'm\`touch $P.model\`' $TMP/out/report/plots/*.svg &&
	grep -qF 'x\`touch $P.method\`' $TMP/out/report/plots/*.svg &&
	grep -q noenhanced $TMP/out/report/plots/*.gp
"

if command -v pdflatex >/dev/null; then
	# -shell-escape on purpose: a name that reached TeX as \write18 would run its command.
	test_expect_success 'pdflatex -shell-escape builds tables.tex and runs nothing' "
		rm -f $TMP/pwned* && cd $TMP/out/report/tables &&
		pdflatex -shell-escape -interaction=nonstopmode -halt-on-error tables.tex >$TMP/tex.log 2>&1 ||
			{ tail -n 20 $TMP/tex.log; exit 1; }
		no_marker && test -s tables.pdf &&
		grep -qF 'textbackslash{}write18' *.tex
	"
else
	test_skip 'pdflatex -shell-escape builds tables.tex and runs nothing' 'no pdflatex'
fi

# camlab explain's grid: the image's file name and the output folder reach grid.gp.
cat >$TMP/png.py <<'EOF'
import struct, sys, zlib
def chunk(t, d):
    return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
raw = b"".join(b"\0" + bytes((x * 9 + y * 5) % 256 for x in range(28)) for y in range(28))
sys.stdout.buffer.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 28, 28, 8, 0, 0, 0, 0))
                        + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
EOF
# A file name holds no '/': the commands name their marker files through the environment.
export PWNED_IMAGE=$P.image PWNED_DIR=$P.dir
IMG="$TMP/i\`touch \$PWNED_IMAGE\`\$(touch \$PWNED_IMAGE)'\"@x%s.png"
EXDIR="$TMP/ex\`touch \$PWNED_DIR\`'"
if $PY $TMP/png.py >"$IMG"; then
	test_expect_success 'camlab explain: a hostile image name and output folder run nothing in grid.gp' "
		rm -f $TMP/pwned* &&
		$CAMLAB explain --model $PWD/experiments/models/fashion_mnist_cnn.pt --layer pre_gap \
			--method gradcam,hirescam -o \"\$EXDIR\" \"\$IMG\" >$TMP/ex.out 2>$TMP/ex.err &&
		no_marker && ls \"\$EXDIR\" | grep -q '_grid\\.png\$' && ! grep -i warning $TMP/ex.err
	"
else
	test_skip 'camlab explain: a hostile image name and output folder run nothing in grid.gp' "no $PY"
fi

test_done
