-- a small spec
experiment {
  name = "quickstart",
  output = "out/quick",
  batch = 32,
  models = { { name = "cnn", file = "model.pt", input_size = 28, layers = { pre_gap = "features.block5" } } },
  data = { path = "data.gz", limit = 200 },
  methods = { "gradcam", "scorecam" },
  targets = { "predicted", "top3" },
  metrics = "all",
}
