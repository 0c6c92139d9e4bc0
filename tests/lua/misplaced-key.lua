-- keys written in the wrong section: named with the section they belong to
experiment {
  name = "misplaced",
  zip = { "method" },
  models = { { file = "m.pt", device = "cpu" } },
}
