-- list-errors.lua - items of the wrong type do not hide the list's other problems (as list-errors.yaml in
-- tests/check): the unknown names are reported beside them, and zip still compares lengths
experiment {
  models = { { file = "../../experiments/models/fashion_mnist_cnn.pt", layers = "features.block5" } },
  data = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz",
  methods = { "bogus", { "x" }, true, "gradcm" },
  utilities = { "rest", "logit" },
  grid = { zip = { "methods", "utilities", "modell" } },
}
