-- methods.lua - REFERENCE DEFINITIONS of the paper's CAM methods, in the experiment language's own Lua.
--
-- camlab runs the C implementations (cam/methods.c); these state the same formulas (docs/SCIENCE.md,
-- "Methods") readably, so that a test can run both on the same inputs and compare the maps. Each takes
--   A   the target layer's activations        B x C x h x w
--   G   dU/dA, U the utility of the logits    B x C x h x w
--   HA  (d2U/dA2) A, a Hessian-vector product B x C x h x w (only the Shapley methods use it)
-- and returns S, the B x h x w map before the final ReLU. Dimensions count from 1: 2 is the channel,
-- {3, 4} the positions. camlab then makes the heat map H = minmax(bilinear(relu(S))).
--
-- The names are the built-in ones; a spec cannot redefine them (experiment_validate refuses), so this
-- file is loaded only by camlab itself, never as a spec.

-- GradCAM: channel weights are the gradient averaged over positions (a Type-II CRG explainer).
--   S = sum_k mean_j(G_kj) A_k
method("gradcam", function(A, G, HA)
  local w = G:mean({ 3, 4 }, true)        -- B x C x 1 x 1
  return (w * A):sum(2)
end)

-- HiResCAM: the element-wise product, no averaging (Type-I: before the ReLU, S_j is the first-order
-- Shapley value of position j).
--   S = sum_k G_k * A_k
method("hirescam", function(A, G, HA)
  return (G * A):sum(2)
end)

-- LayerCAM: only positive gradients weigh, position by position.
--   S = sum_k relu(G_k) * A_k
method("layercam", function(A, G, HA)
  return (relu(G) * A):sum(2)
end)

-- ShapleyCAM: GradCAM with the gradient corrected by half the Hessian-vector product, so that the
-- weights are second-order Shapley values of the channels (the paper's method; the fork's class
-- ShapleyCAM_mean). With the logit utility on a piecewise-linear head HA = 0 and this is GradCAM.
--   W = G - 1/2 HA;  S = sum_k mean_j(W_kj) A_k
method("shapleycam", function(A, G, HA)
  local W = G - 0.5 * HA
  local w = W:mean({ 3, 4 }, true)
  return (w * A):sum(2)
end)
