-- load is there for text, not for binary chunks
local f = load("return 1 + 1")
assert(f() == 2)
local g = load(string.dump(f), "bin", "b")
