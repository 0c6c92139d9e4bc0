-- bad-values.lua - the same bad values as bad-values.yaml: both front ends read them through one field
-- table (dsl/keys.c), so they give the same messages (t41).
experiment {
  name = "bad",
  device = "cuda:x",
  precision = "fp33",
  channels_last = "maybe",
  seed = -4,
  batch = 0,
  models = {
    { name = "m", file = "m.pt", input_size = 70000, resize = "x", mean = { 1, 2 }, std = 0.5,
      layers = { a = { path = "features", layout = "bhcw" }, b = { path = "g", layout = 3 } } },
  },
  data = { path = "d", limit = -1, shuffle = "perhaps", seed = "x" },
  method = {},
  utility = "rest, ,logit",
  metric = "ad",
  outputs = { tables = 2, formats = { "md", "tex" }, figures = { { image = 3, by = "methd" } } },
}
