#!/bin/sh
# t60-check-json.t - camlab check --format json gives every diagnostic the text form gives (file, line,
# column, severity, message) plus the suggestion of a "did you mean", as one JSON array, for any name a
# spec holds; and camlab help schema is a JSON Schema (draft-07) of the YAML language that accepts every
# shipped experiment and rejects the specs whose unknown keys and wrong types check rejects.
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
need_python

cat >$TMP/agree.py <<'PYEOF'
# agree.py CAMLAB FILE...: the JSON diagnostics of each file say what its text diagnostics say
import json, subprocess, sys
camlab = sys.argv[1]
for f in sys.argv[2:]:
    t = subprocess.run([camlab, "check", f], capture_output=True)
    j = subprocess.run([camlab, "check", "--format", "json", f], capture_output=True)
    assert t.returncode == j.returncode, (f, t.returncode, j.returncode)
    diags = json.loads(j.stdout.decode("utf-8"))
    text = [l for l in t.stderr.decode("utf-8", "replace").splitlines() if l.startswith(f + ":")]
    made = []
    for d in diags:
        assert set(d) == {"file", "line", "column", "severity", "message", "suggestion"}, d
        assert d["severity"] in ("error", "warning")
        if d["line"] is None:
            made.append(f'{d["file"]}: {d["severity"]}: {d["message"]}')
        else:
            made.append(f'{d["file"]}:{d["line"]}:{d["column"]}: {d["severity"]}: {d["message"]}')
        if "; did you mean '" in d["message"]:
            assert f"; did you mean '{d['suggestion']}'?" in d["message"], d
        else:
            assert d["suggestion"] is None, d
    assert made == text, (f, made, text)
    assert (t.returncode == 0) == (not any(d["severity"] == "error" for d in diags)), f
PYEOF

test_expect_success 'JSON and text diagnostics agree on every spec of tests/check' "
	$PY $TMP/agree.py $CAMLAB tests/check/*.yaml
"

test_expect_success 'a valid spec is an empty array; several files are one array' "
	$CAMLAB check --format json tests/check/valid.yaml >$TMP/v.json && test \"\$(cat $TMP/v.json)\" = '[]' &&
	test_must_fail $CAMLAB check --format json tests/check/valid.yaml tests/check/unknown-top-key.yaml tests/check/many-errors.yaml >$TMP/m.json &&
	$PY -c '
import json
d = json.load(open(\"$TMP/m.json\"))
assert {x[\"file\"] for x in d} == {\"tests/check/unknown-top-key.yaml\", \"tests/check/many-errors.yaml\"}, d
assert {\"metrics\", \"device\", \"shuffle\"} <= {x[\"suggestion\"] for x in d}, d
'
"

# A key and a method named with a quote, a backslash, a tab, a newline (a block scalar), a control
# byte and a byte that is not UTF-8: the JSON is valid and the message keeps the (escaped) name.
printf 'models: [{file: x.pt, layers: {a: b}}]\ndata: d\n"we\\"ird\\\\\\t\\x01": 1\nmethods:\n  - |\n    gradcam\n    \\"x\n  - "\\xff\\x07</x>"\n' >$TMP/hostile.yaml

test_expect_success 'hostile names: valid JSON, each diagnostic on its own line' "
	cat $TMP/hostile.yaml &&
	test_must_fail $CAMLAB check --format json $TMP/hostile.yaml >$TMP/h.json && cat $TMP/h.json &&
	$PY -c '
import json
raw = open(\"$TMP/h.json\", \"rb\").read()
d = json.loads(raw.decode(\"utf-8\"))
msgs = \" \".join(x[\"message\"] for x in d)
assert \"unknown key \" in msgs and \"we\\\"ird\" in msgs, msgs
assert \"gradcam\\\\n\" in msgs, msgs
assert len(raw.splitlines()) == len(d) + 2, raw
' &&
	$PY $TMP/agree.py $CAMLAB $TMP/hostile.yaml
"

test_expect_success 'usage errors: an unknown format, --canonical with json' "
	$CAMLAB check --format xml tests/check/valid.yaml 2>$TMP/u1; test \$? -eq 2 &&
	test_grep \"unknown format 'xml'\" $TMP/u1 &&
	$CAMLAB check --format json --canonical tests/check/valid.yaml 2>$TMP/u2; test \$? -eq 2
"

if ! "$PY" -c 'import jsonschema, yaml' 2>/dev/null; then
	test_skip 'the schema' "$PY lacks jsonschema or yaml (Debian: python3-jsonschema, python3-yaml)"
	test_done
	exit $?
fi

cat >$TMP/schema.py <<'PYEOF'
# schema.py SCHEMA CAMLAB SHIPPED... -- CHECKED...: the schema is draft-07; it accepts each shipped
# experiment; for each checked spec PyYAML reads, it rejects those whose unknown keys or wrong types
# check rejects, and accepts those check accepts.
import json, re, subprocess, sys
import jsonschema, yaml
schema = json.load(open(sys.argv[1]))
jsonschema.Draft7Validator.check_schema(schema)
v = jsonschema.Draft7Validator(schema)
camlab, rest = sys.argv[2], sys.argv[3:]
split = rest.index("--")
shipped, checked = rest[:split], rest[split + 1:]
bad = []
for f in shipped:
    errs = list(v.iter_errors(yaml.safe_load(open(f, encoding="utf-8"))))
    if errs:
        bad.append(f"{f}: a shipped experiment the schema rejects: {errs[0].message}")
keytype = re.compile(r"^(unknown key |expected .* for '.*', not )")
nr = 0
for f in checked:
    try:
        doc = yaml.safe_load(open(f, encoding="utf-8"))
    except Exception:
        continue  # a syntax error: check's to report, not a schema's
    out = subprocess.run([camlab, "check", "--format", "json", f], capture_output=True)
    diags = [d for d in json.loads(out.stdout) if d["severity"] == "error"]
    errs = list(v.iter_errors(doc))
    nr += 1
    if any(keytype.match(d["message"]) for d in diags) and not errs:
        bad.append(f"{f}: check rejects a key or type ({diags[0]['message']}), the schema accepts")
    if not diags and errs:
        bad.append(f"{f}: check accepts, the schema rejects: {errs[0].message}")
assert nr >= 10, nr
assert not bad, "\n".join(bad)
PYEOF

FM=/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz
# Each spec is a valid one with one key misspelt or one value of the wrong type, at every level.
mutants() {
	base='models: [{name: m, file: '$PWD'/experiments/models/fashion_mnist_cnn.pt, layers: {g: features.block5}}]'
	i=0
	while IFS= read -r line; do
		i=$((i + 1))
		printf '%s\ndata: {path: %s, limit: 2}\n%s\n' "$1" "$FM" "$line" >$TMP/mut/$i.yaml
	done <<'MUT'
methds: [gradcam]
batch: eight
batch: 0
seed: -1
device: gpu
precision: fp64
channels_last: maybe
outputs: {tables: sometimes}
outputs: {figures: [{image: 0, by: layerz}]}
outputs: {figures: [{image: 0, bye: method}]}
outputs: {formats: {a: 1}}
grid: {exclude: [{methd: gradcam}]}
grid: {exclude: 3}
grid: {zipp: [method, utility]}
define: {methods: {x: [1, 2]}}
define: {metods: {x: "return 1"}}
methods: {gradcam: 1}
quirk: none
MUT
	for m in \
		"models: [{name: m, file: $PWD/experiments/models/fashion_mnist_cnn.pt, layers: {g: features.block5}, input_size: big}]" \
		"models: [{name: m, file: $PWD/experiments/models/fashion_mnist_cnn.pt, layers: {g: features.block5}, mean: [1, 2]}]" \
		"models: [{name: m, file: $PWD/experiments/models/fashion_mnist_cnn.pt, layers: {g: {path: features.block5, layot: auto}}}]" \
		"models: [{name: m, file: $PWD/experiments/models/fashion_mnist_cnn.pt, layers: {g: {path: features.block5, layout: bcwh}}}]" \
		"models: [{name: m, fille: $PWD/experiments/models/fashion_mnist_cnn.pt, layers: {g: features.block5}}]" \
		"models: 3"; do
		i=$((i + 1))
		printf '%s\ndata: {path: %s, limit: 2}\n' "$m" "$FM" >$TMP/mut/$i.yaml
	done
	printf '%s\ndata: {path: %s, limt: 2}\n' "$base" "$FM" >$TMP/mut/data-key.yaml
	printf '%s\ndata: {path: %s, limit: -2}\n' "$base" "$FM" >$TMP/mut/data-limit.yaml
	printf '%s\ndata: {path: %s, shuffle: "yes"}\n' "$base" "$FM" >$TMP/mut/data-quoted.yaml
	printf '%s\nmodel: []\ndata: %s\n' "$base" "$FM" >$TMP/mut/alias-twice.yaml
	printf '%s\ndata: {path: %s, limit: 2}\n' "$base" "$FM" >$TMP/mut/valid.yaml
}
mkdir $TMP/mut && mutants "models: [{name: m, file: $PWD/experiments/models/fashion_mnist_cnn.pt, layers: {g: features.block5}}]"

test_expect_success 'camlab help schema: draft-07, accepts every shipped experiment, rejects what check rejects for keys and types' "
	$CAMLAB help schema >$TMP/schema.json &&
	ls experiments/*.yaml experiments/*/*.yaml | grep -v '^experiments/models/' >$TMP/shipped &&
	test \$(wc -l <$TMP/shipped) -ge 7 &&
	for f in $TMP/mut/*.yaml; do $CAMLAB check \$f >/dev/null 2>&1 || echo \$f; done >$TMP/rejected &&
	test \$(wc -l <$TMP/rejected) -eq \$((\$(ls $TMP/mut | wc -l) - 1)) &&
	$PY $TMP/schema.py $TMP/schema.json $CAMLAB \$(cat $TMP/shipped) -- tests/check/*.yaml $TMP/mut/*.yaml
"

test_done
