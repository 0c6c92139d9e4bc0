-- user definitions keep their source
experiment { name = "defs", methods = { "twice_grad", "gradcam" } }

method("twice_grad", function(A, G, HA) return (G * A * 2):sum(2) end)
local function norm_util(y, c) return y[c] end
utility("norm_util", norm_util)
metric("m1", function(H) return H:mean() end) metric("m2", function(H)
  return H:max()
end)
local scale = 3
method("scaled", function(A, G) return G * scale end)
