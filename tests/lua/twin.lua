-- twin.lua - the same experiment as twin.yaml, written in Lua; tests/unit/test_lua_front.c checks that
-- both give the same canonical text.
local fm = "/usr/share/datasets/fashion-mnist/"

experiment {
  name = "twin",
  output = "../../out/twin",
  device = "cpu",
  batch = 32,
  seed = 7,
  models = {
    { name = "fashion_cnn", file = "../../experiments/models/fashion_mnist_cnn.pt",
      input_size = 28, resize = 0,
      mean = { 0.286, 0.286, 0.286 }, std = { 0.353, 0.353, 0.353 },
      -- a mapping: the IR takes it in sorted key order, whatever order Lua walks it in
      layers = { pre_gap = "features.block5",
                 last_conv = { path = "features.block5.conv", layout = "bchw" } } },
  },
  data = { path = fm .. "t10k-images-idx3-ubyte.gz", limit = 200, shuffle = true, seed = 3 },
  methods = { "gradcam", "shapleycam", "relu_grad_cam" },
  utility = { "rest", "logit" },          -- the alias of utilities
  targets = { "predicted", "least" },
  metrics = "all",
  grid = { exclude = { { method = "gradcam", target = "least" } }, zip = { "utility", "target" } },
  outputs = { tables = true, formats = { "markdown", "csv" }, plots = false,
              figures = { { image = 0, by = "method" }, { image = 3 } } },
}

method("relu_grad_cam", function(A, G, HA)
  return (relu(G) * A):sum(2)
end)
