-- item-positions.lua - an error about a list item points at the item, whatever it is (a number, a long or
-- escaped string, an expression, a table, true), as YAML's do (t41); an item that cannot be placed (a
-- list built elsewhere) is reported at the list's key
local more = { "softmx" }
experiment {
  models = { { file = "../../experiments/models/fashion_mnist_cnn.pt", layers = { "features.block5", 7 } } },
  data = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz",
  methods = { "gradcam", -- a comment with a comma, a brace { and "shapleycm"
    [[shapleycm]], "hires" .. "cm", 'layer\x63am', "xgradcm",
    { "x" }; true, },
  targets = { 3, -3, 1e3, 2.5 },
  utilities = more,
  metrics = { table.unpack({ "ad", "cohh" }) },
  grid = { zip = { "methods", 1 } },
}
