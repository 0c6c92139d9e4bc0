#!/bin/sh
# t76-layers.t - the project's files call one way (docs/hacking.md): by nm over the build's objects, no
# two call each other, directly or round a circle, in dsl/ or anywhere in the project; and the IR
# (dsl/experiment.o) calls no other dsl file.
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
need_python
OBJ=$BUILD/CMakeFiles/camlab_core.dir/dsl
command -v nm >/dev/null && ls $OBJ/*.o >/dev/null 2>&1 || skip_all "no nm, or no dsl objects in $OBJ"

cat >$TMP/graph.py <<'PYEOF'
# graph.py DIR: A -> B where A's object uses a symbol B's defines; print the edges and any cycle
import glob, os, subprocess, sys
defs, undefs = {}, {}
for o in sorted(glob.glob(sys.argv[1] + "/*.o")):
    n = os.path.basename(o)[:-4]
    rows = [l.split() for l in subprocess.run(["nm", o], capture_output=True, text=True).stdout.splitlines()]
    defs[n] = {r[2] for r in rows if len(r) == 3 and r[1] in "TDRBC"}
    undefs[n] = {r[1] for r in rows if len(r) == 2 and r[0] == "U"}
owner = {s: n for n, ss in defs.items() for s in ss}
edges = {n: sorted({owner[s] for s in undefs[n] if s in owner and owner[s] != n}) for n in defs}
for n in edges:
    print(n, "->", " ".join(edges[n]))
state, bad = {}, []
def visit(n, path):
    state[n] = 1
    for m in edges[n]:
        if state.get(m) == 1:
            bad.append(path[path.index(m):] + [m])
        elif not state.get(m):
            visit(m, path + [m])
    state[n] = 2
for n in edges:
    if not state.get(n):
        visit(n, [n])
for c in bad:
    print("cycle:", " -> ".join(c))
if [m for m in edges.get("experiment", []) if m != "diag"]:
    print("the IR calls up:", edges["experiment"])
    bad.append(1)
sys.exit(1 if bad else 0)
PYEOF

test_expect_success 'dsl objects: no calls round a circle, the IR at the bottom' "
	$PY $TMP/graph.py $OBJ >$TMP/out; ret=\$?; cat $TMP/out; test \$ret = 0 &&
	test_grep '^load -> .*lua .*yaml' $TMP/out
"

cat >$TMP/all.py <<'PYEOF'
# all.py DIR: every object below DIR (folder/name); print each set of objects that call round a circle
import glob, os, subprocess, sys
sys.setrecursionlimit(10000)
defs, undefs = {}, {}
for o in sorted(glob.glob(sys.argv[1] + "/**/*.o", recursive=True)):
    n = os.path.relpath(o, sys.argv[1])[:-4]
    rows = [l.split() for l in subprocess.run(["nm", o], capture_output=True, text=True).stdout.splitlines()]
    defs[n] = {r[2] for r in rows if len(r) == 3 and r[1] in "TDRBC"}
    undefs[n] = {r[1] for r in rows if len(r) == 2 and r[0] == "U"}
owner = {s: n for n, ss in defs.items() for s in ss}
edges = {n: sorted({owner[s] for s in undefs[n] if s in owner and owner[s] != n}) for n in defs}
index, low, stack, on, comps = {}, {}, [], set(), []
def strong(v):
    index[v] = low[v] = len(index)
    stack.append(v)
    on.add(v)
    for w in edges[v]:
        if w not in index:
            strong(w)
            low[v] = min(low[v], low[w])
        elif w in on:
            low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        comp = []
        while True:
            w = stack.pop()
            on.discard(w)
            comp.append(w)
            if w == v:
                break
        if len(comp) > 1:
            comps.append(sorted(comp))
for v in edges:
    if v not in index:
        strong(v)
for c in comps:
    print("call round a circle:", " ".join(c))
print(len(edges), "objects")
sys.exit(1 if comps else 0)
PYEOF

test_expect_success 'every object of the project: no two call each other, directly or round a circle' "
	$PY $TMP/all.py $BUILD/CMakeFiles/camlab_core.dir >$TMP/all; ret=\$?; cat $TMP/all; test \$ret = 0 &&
	test_grep '^[0-9][0-9]* objects' $TMP/all
"

test_done
