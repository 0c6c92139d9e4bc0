-- Errors in the second table of a list whose first holds tables and braces of its own: positions
-- point into the second (t41).
experiment {
  models = {
    { name = "a", file = "a.pt", mean = { 0.5, 0.5, 0.5 }, layers = { f = { path = "f" } } }, -- {
    { name = "b}{", file = "b.pt", layers = { g = { path = "g", layout = "bhcw" } } },
    { name = "c", file = "c.pt", layrs = "x" },
  },
  data = "data",
}
