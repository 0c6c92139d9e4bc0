#!/bin/sh
# t75-dsl-keys.t - every plain key of the language (dsl/keys.c's fields, and batch and formats), given a
# wrong value, fails with the same message in YAML and in Lua (dsl/reader.c reads both), at the value in
# YAML and at the key in Lua (Lua keeps no positions for table fields: lua.c places a key by scanning the
# text). One spec per key and language, so that each message is the key's own. The list of keys is
# checked against `camlab help schema` (the key table), so that a new key cannot go untested here.
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
need_python

cat >$TMP/keys.py <<'PYEOF'
# keys.py CAMLAB DIR: write, check and compare a YAML and a Lua spec for each key; print what differs
import json, os, re, subprocess, sys
camlab, d = sys.argv[1], sys.argv[2]
model = os.path.abspath("experiments/models/fashion_mnist_cnn.pt")
# wrong values by the key's type (keys.h): the same text in both languages, and a string where it reads
# as no number or boolean; a string key takes any scalar, so it is given a list
bad = {"str": ("[1]", "{ 1 }"), "int": ("'eight'", '"eight"'), "u64": ("-1", "-1"),
       "bool": ("'maybe'", '"maybe"'), "floats3": ("'x'", '"x"'), "choice": ("bogus", '"bogus"'),
       "names": ("'a,,b'", '"a,,b"'), "grid": ("'x'", '"x"')}
# (section, key, type): every field of dsl/keys.c, and batch and formats
keys = [("layer", k, t) for k, t in [("path", "str"), ("layout", "choice"), ("name", "str"),
                                    ("prefix_tokens", "int"), ("grid", "grid")]] + \
    [("model", k, t) for k, t in [("name", "str"), ("file", "str"), ("input_size", "int"), ("resize", "int"),
                                  ("mean", "floats3"), ("std", "floats3"), ("classes", "str")]] + \
    [("data", k, t) for k, t in [("path", "str"), ("labels", "str"), ("limit", "int"), ("shuffle", "bool"),
                                 ("seed", "u64")]] + \
    [("exclude", k, "str") for k in ("model", "layer", "method", "utility", "target")] + \
    [("figure", k, t) for k, t in [("image", "str"), ("by", "choice")]] + \
    [("outputs", k, t) for k, t in [("tables", "bool"), ("plots", "bool"), ("paper", "str"), ("formats", "names")]] + \
    [("statistics", k, t) for k, t in [("bootstrap", "int"), ("alpha", "str"), ("seed", "u64"), ("test", "choice")]] + \
    [("ablation", k, "str") for k in ("over", "baseline")] + \
    [("top", k, t) for k, t in [("name", "str"), ("output", "str"), ("device", "choice"), ("precision", "choice"),
                                ("channels_last", "bool"), ("seed", "u64"), ("methods", "names"),
                                ("utilities", "names"), ("targets", "names"), ("metrics", "names"),
                                ("quirk", "choice"), ("batch", "int")]]

def specs(section, key, y, l):
    # the key is alone on its own line, line 3 in both; its value starts at VALUE's column
    m_y, m_l = f"{{file: {model}, layers: {{a: features.block5}}}}", f'{{ file = "{model}", layers = {{ a = "features.block5" }} }}'
    if section == "top":
        return (f"models: [{m_y}]\ndata: {{path: /tmp}}\n{key}: {y}\n",
                f'experiment {{\n  models = {{ {m_l} }}, data = {{ path = "/tmp" }},\n  {key} = {l},\n}}\n')
    other = {"path": "name: a, ", "name": "path: features.block5, "}.get(key, "name: a, path: features.block5, ")
    other_l = other.replace(": ", ' = "').replace(", ", '", ')
    wrap = {"layer": ("data: {path: /tmp}\nmodels:\n  - {file: %s, layers: [{%sKV}]}\n" % (model, other),
                      'experiment {\n  data = { path = "/tmp" }, models = {\n  { file = "%s", layers = { { %sKV } } } },\n}\n' % (model, other_l)),
            "model": ("data: {path: /tmp}\nmodels:\n  - KV\n" + ("" if key == "file" else f"    file: {model}\n") +
                      "    layers: {a: features.block5}\n",
                      'experiment {\n  data = { path = "/tmp" }, models = {\n  { KV, ' +
                      ("" if key == "file" else f'file = "{model}", ') + 'layers = { a = "features.block5" } } },\n}\n'),
            "data": (f"models: [{m_y}]\ndata:\n  KV\n",
                     f'experiment {{\n  models = {{ {m_l} }}, data = {{\n  KV }},\n}}\n'),
            "exclude": (f"models: [{m_y}]\ngrid:\n  exclude: [{{KV}}]\n",
                        f'experiment {{\n  models = {{ {m_l} }},\n  grid = {{ exclude = {{ {{ KV }} }} }},\n}}\n'),
            "figure": (f"models: [{m_y}]\noutputs:\n  figures: [{{KV}}]\n",
                       f'experiment {{\n  models = {{ {m_l} }},\n  outputs = {{ figures = {{ {{ KV }} }} }},\n}}\n'),
            "outputs": (f"models: [{m_y}]\noutputs:\n  KV\n",
                        f'experiment {{\n  models = {{ {m_l} }}, outputs = {{\n  KV }},\n}}\n'),
            "ablation": (f"models: [{m_y}]\nablations:\n  - {{KV}}\n",
                         f'experiment {{\n  models = {{ {m_l} }},\n  ablations = {{ {{ KV }} }},\n}}\n'),
            "statistics": (f"models: [{m_y}]\nstatistics:\n  KV\n",
                           f'experiment {{\n  models = {{ {m_l} }}, statistics = {{\n  KV }},\n}}\n')}[section]
    ys, ls = wrap
    return ys.replace("KV", f"{key}: {y}"), ls.replace("KV", f"{key} = {l}")

# the list above is written by hand, so it is checked against the language's own key table (camlab help
# schema): a key added there and not here fails, unless it is structured (tested by its own test)
structured = {("top", k) for k in ("include", "models", "model", "data", "grid", "define", "outputs", "statistics",
                                   "ablations", "ablation", "method", "utility", "target", "metric")} | \
    {("model", "layers"), ("model", "layer")}
schema = json.loads(subprocess.run([camlab, "help", "schema"], capture_output=True, text=True, check=True).stdout)
defs = schema.get("definitions") or schema.get("$defs")
def props(o):
    for alt in [o] + o.get("anyOf", []):
        if "properties" in alt:
            return alt["properties"]
    return {}
sections = {"top": schema["properties"], "layer": {**defs["layer"]["properties"], **defs["layer_item"]["properties"]},
            "model": defs["model"]["properties"], "exclude": defs["exclude"]["properties"],
            "figure": defs["figure"]["properties"], "ablation": defs["ablation"]["properties"],
            "data": props(schema["properties"]["data"]), "outputs": props(schema["properties"]["outputs"]),
            "statistics": props(schema["properties"]["statistics"])}
tested = {(s, k) for s, k, _ in keys}
failed = 0
for section, ks in sections.items():
    for k in ks:
        if (section, k) not in tested and (section, k) not in structured and not (section == "outputs" and k in ("figures", "figure")):
            print(f"{section}.{k}: in the key table, not in this test's list")
            failed += 1
for section, key, t in keys:
    y, l = bad[t]
    ys, ls = specs(section, key, y, l)
    msgs = {}
    for lang, text, value in (("yaml", ys, y), ("lua", ls, l)):
        f = os.path.join(d, f"{section}-{key}.{lang}")
        open(f, "w").write(text)
        line = text.split("\n")[2]
        want = line.index(f"{key}: " if lang == "yaml" else f"{key} =") + 1
        if lang == "yaml":
            want += len(key) + 2
            if t == "names":
                want += 3  # the empty name, in the quotes after "a,"
        elif t == "names":
            want += len(key) + 6  # Lua places a name of a string where it starts in the literal
        err = subprocess.run([camlab, "check", f], capture_output=True, text=True).stderr
        mine = [e for e in err.splitlines() if f"for '{key}'" in e or f"bad '{key}'" in e or "'bogus'" in e or "empty name in" in e]
        if not mine:
            print(f"{section}.{key} ({lang}): no error about it:\n{err}")
            failed += 1
            continue
        m = re.match(r"[^:]*:(\d+):(\d+): error: (.*)", mine[0])
        if not m or (int(m[1]), int(m[2])) != (3, want):
            print(f"{section}.{key} ({lang}): not at 3:{want}: {mine[0]}")
            failed += 1
        # the type names differ by language: YAML's lists and mappings are Lua's tables
        msgs[lang] = re.sub(r"not a (list|mapping)$", "not a table", m[3] if m else mine[0])
    if len(msgs) == 2 and msgs["yaml"] != msgs["lua"]:
        print(f"{section}.{key}: YAML says '{msgs['yaml']}', Lua says '{msgs['lua']}'")
        failed += 1
print(f"{len(keys)} keys")
sys.exit(1 if failed else 0)
PYEOF

test_expect_success 'every key given a wrong value: the same message in YAML and in Lua, where it is written' "
	mkdir $TMP/specs &&
	$PY $TMP/keys.py $CAMLAB $TMP/specs >$TMP/out; ret=\$?; cat $TMP/out; test \$ret = 0 &&
	test_grep '^46 keys\$' $TMP/out
"

test_done
