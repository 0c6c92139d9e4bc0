-- what specs do with patterns still works under the guard: plain finds, captures, sets, gsub
local s = ("a"):rep(3000)
assert(s:find("aab", 1, true) == nil)
assert(string.find(("a"):rep(20000), "b") == nil)
assert(("resnet50_layer4"):match("^(%w+)_(.-)$") == "resnet50")
local n = 0
for w in ("a,b,c"):gmatch("[^,]+") do n = n + 1 end
assert(n == 3)
assert((("x y  z"):gsub("%s+", "")) == "xyz")
assert(not pcall(string.match, s, "a*a*a*b"))
experiment {
  name = "patterns",
  models = { { file = "../../experiments/models/fashion_mnist_cnn.pt", layers = { "pre_gap" } } },
  data = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz",
}
