-- type errors name the key and where it was written
experiment {
  name = "types",
    methods = true,
  batch = "eight",
  data = { path = "d", shuffle = "yes", limit = -1 },
}
