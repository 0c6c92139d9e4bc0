-- batch = "comment mention": keys in comments and strings are not where the key was written
--[==[ a long comment: seed = 1,
        limit = 2 ]==]
local spec = { name = "key-comments", -- seed = 3 would be nice
  labels_note = "limit = 4" }
spec.batch = "eight"
spec.labels_note = nil
spec.models = { { file = "../../experiments/models/fashion_mnist_cnn.pt", layers = "features.block5" } }
spec.data = { path = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz", --[[ limit = 5 ]] shuffle = false,
  limit = -1 }
spec.seed = -1
experiment(spec)
