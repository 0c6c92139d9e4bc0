-- model-mapping-name.lua - in the mapping form of models the key is the name: an inner name that
-- differs is an error at it; the same one is fine
experiment {
  models = {
    m1 = { name = "other", file = "../../experiments/models/fashion_mnist_cnn.pt", layers = "features.block5" },
    m2 = { name = "m2", file = "../../experiments/models/fashion_mnist_cnn.pt", layers = "features.block5" },
  },
  data = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz",
}
