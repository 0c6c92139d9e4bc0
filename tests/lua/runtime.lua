-- a runtime error inside experiment{}: calling nil on line 4
experiment {
  name = "runtime",
  batch = compute_batch(),
}
