-- a syntax error on line 4
experiment {
  name = "broken",
  batch = = 3,
}
