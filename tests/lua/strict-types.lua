-- strict-types.lua - the same values as strict-types.yaml: a quoted value is a string, never a boolean or
-- a number; a number with an integral value (8.0, 1e3) is an integer; both front ends say the same (t41)
experiment {
  batch = "8",
  seed = "3",
  channels_last = "false",
  models = {
    { name = "m", file = "../../experiments/models/fashion_mnist_cnn.pt", input_size = 28.5, resize = 32.0, mean = "0.5", std = { "1", 1, 1 },
      layers = "features.block5" },
  },
  data = { path = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz", limit = 1e3, shuffle = "yes", seed = 2.5 },
  outputs = { tables = "True", plots = "off" },
}
