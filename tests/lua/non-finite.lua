-- non-finite.lua - the same values as non-finite.yaml: mean and std are finite numbers (std > 0), in both
-- front ends, with the same messages (t41)
experiment {
  models = {
    { name = "a", file = "../../experiments/models/fashion_mnist_cnn.pt", mean = 0/0, std = math.huge, layers = "features.block5" },
    { name = "b", file = "../../experiments/models/fashion_mnist_cnn.pt", mean = { 0.5, -math.huge, 0.5 }, std = { 1, 1, 0/0 }, layers = "features.block5" },
    { name = "c", file = "../../experiments/models/fashion_mnist_cnn.pt", mean = 1e39, std = -1, layers = "features.block5" },
  },
  data = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz",
}
