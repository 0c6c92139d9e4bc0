-- unknown keys, one at the top and one in a model
experiment {
  name = "typo",
  metircs = { "ad" },
  models = { { file = "m.pt", layrs = "features" } },
}
