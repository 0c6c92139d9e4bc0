define_method("relu_grad_cam", function(A, G) return A:sum(2) end)
experiment {
  name = "defs",
  models = { m = { file = "m.pt", layers = { last = { path = "layer4", layout = "bchw" } } } },
  data = { path = "d.csv", shuffle = false, seed = 7 },
  methods = { "relu_grad_cam" },
  grid = { exclude = { { method = "gradcam" } }, zip = { "method" } },
  outputs = { tables = true, formats = { "markdown", "csv" } },
}
