"""transformer_ref.py - the check of t78-vit.t and t79-swin.t: gradient methods at the layers users pick
in torchvision's vit_b_16 (tokens: a class token, then a 14x14 grid) and swin_t (channels last), with
random weights, checked against an independent reference in the Debian python's torch written from pytorch-grad-cam's definitions:
  - activations and gradients: activations_and_gradients.py, ActivationsAndGradients (a forward hook on
    the target layer, the gradient of its output), reshape_transform applied to both;
  - the reshape: utils/reshape_transforms.py, vit_reshape_transform (drop the class token, the rest to
    (B, C, 14, 14)) and swinT_reshape_transform (channels first; torchvision's Swin already gives
    (B, 7, 7, C), so its reshape to (B, h, w, C) is the identity and only the transposes remain);
  - the loss: base_cam.py, BaseCAM.forward with ClassifierOutputTarget (the target's logit);
  - the maps: base_cam.py, BaseCAM.get_cam_image (weights[:, :, None, None] * activations, summed over
    channels) and compute_cam_per_layer + aggregate_multi_layers (ReLU, scale_cam_image, twice);
  - the weights: grad_cam.py GradCAM.get_cam_weights (mean of the gradients), hirescam.py (gradients
    times activations, summed), grad_cam_elementwise.py (the same under a ReLU), layer_cam.py (ReLU of
    the gradients times activations), xgrad_cam.py, grad_cam_plusplus.py, shapley_cam.py
    (ShapleyCAM.get_cam_weights: the mean of grads - 0.5 * hvp, the HVP with grad_outputs=activations;
    camlab's direction leaves the class token out, see below).
t101-vit-trained.t imports reference(), cam(), scale() and hvp_differences() for the trained ViT.
Exporting and running ViT-B/16 and Swin-T is slow on a CPU: one image, batch 1.
"""
import os, subprocess, sys
import numpy as np
import torch
import torch.nn.functional as F
from tap import ok, diag, rel, done

# every method computed from A, G and HA alone (eigengradcam's SVD projection is t25's)
METHODS = ["gradcam", "hirescam", "gradcam-e", "layercam", "xgradcam", "gradcam++", "shapleycam", "shapleycam-h",
           "shapleycam-e"]


def vit_reshape(t):  # reshape_transforms.py vit_reshape_transform, height = width (14 for ViT-B/16)
    side = int(round((t.size(1) - 1) ** 0.5))
    r = t[:, 1:, :].reshape(t.size(0), side, side, t.size(2))
    return r.transpose(2, 3).transpose(1, 2)


def swin_reshape(t):  # reshape_transforms.py swinT_reshape_transform on (B, 7, 7, C)
    return t.transpose(2, 3).transpose(1, 2)


def weights(name, a, g, hvp):
    """(B, C) channel weights, or (B, C, h, w) for the element-wise methods, as each upstream file."""
    if name == "gradcam":
        return g.mean((2, 3))
    if name == "xgradcam":
        s = a.sum((2, 3))
        return (g * a / (s[:, :, None, None] + 1e-7)).sum((2, 3))
    if name == "gradcam++":
        g2, g3 = g ** 2, g ** 3
        s = a.sum((2, 3))
        aij = g2 / (2 * g2 + s[:, :, None, None] * g3 + 1e-6)
        aij = torch.where(g != 0, aij, torch.zeros_like(aij))
        return (torch.clamp(g, min=0) * aij).sum((2, 3))
    if name == "shapleycam":
        return (g - 0.5 * hvp).mean((2, 3))
    raise KeyError(name)


def cam(name, a, g, hvp):
    # shapleycam-h and -e are camlab's (SCIENCE.md): HiResCAM's and GradCAM-E's forms of grads - hvp / 2
    if name == "shapleycam-h":
        return ((g - 0.5 * hvp) * a).sum(1)
    if name == "shapleycam-e":
        return torch.clamp((g - 0.5 * hvp) * a, min=0).sum(1)
    if name == "hirescam":
        return (g * a).sum(1)
    if name == "gradcam-e":
        return torch.clamp(g * a, min=0).sum(1)
    if name == "layercam":
        return (torch.clamp(g, min=0) * a).sum(1)
    return (weights(name, a, g, hvp)[:, :, None, None] * a).sum(1)


def scale(c, size):  # utils/image.py scale_cam_image: min-max, then resized (bilinear)
    c = c - c.flatten(1).min(1)[0][:, None, None]
    c = c / (1e-7 + c.flatten(1).max(1)[0][:, None, None])
    return F.interpolate(c[:, None], size=size, mode="bilinear", align_corners=False)[:, 0]


def reference(model, module, reshape, x, t, fixed):
    """A, G, HA and every method's signed map, as pytorch-grad-cam computes them."""
    saved = {}
    h = module.register_forward_hook(lambda m, i, o: saved.__setitem__("a", o))
    out = model(x)
    h.remove()
    act = saved["a"]
    loss = out.gather(1, t).sum()
    g_full, = torch.autograd.grad(loss, act, create_graph=True)
    # shapley_cam.py: the HVP along the whole activation (fixed 0), or with the first fixed tokens held
    # fixed, as camlab does (they are not part of the map)
    direction = act.detach().clone()
    direction[:, :fixed] = 0
    hvp_full, = torch.autograd.grad(g_full, act, grad_outputs=direction, allow_unused=True)
    if hvp_full is None:
        hvp_full = torch.zeros_like(act)
    a, g, hvp = (reshape(v.detach()).double() for v in (act, g_full, hvp_full))
    return out.detach(), a, g, hvp


def hvp_differences(model, module, reshape, x, t, fixed, eps):
    """reference()'s HVP without a double backward: central differences of the gradient,
    (G(A + eps D) - G(A - eps D)) / (2 eps) with D the activation (its first `fixed` tokens 0), the layer's
    output replaced by a forward hook. In float64 its error is ~eps^2 and ~1e-16/eps: a check of the
    second derivatives autograd gives (LayerNorm's, attention's), not a second use of them."""
    saved = {}
    h = module.register_forward_hook(lambda m, i, o: saved.__setitem__("a", o.detach().clone()))
    with torch.no_grad():
        model(x)
    h.remove()
    direction = saved["a"].clone()
    direction[:, :fixed] = 0
    grads = []
    for step in (eps, -eps):
        def moved(m, i, o, step=step):
            saved["a"] = (o.detach() + step * direction).requires_grad_(True)
            return saved["a"]
        h = module.register_forward_hook(moved)
        out = model(x)
        h.remove()
        g, = torch.autograd.grad(out.gather(1, t).sum(), saved["a"])
        grads.append(g)
    return reshape((grads[0] - grads[1]) / (2 * eps)).double()


def main():
    import torchvision  # here: t101 imports this file for a model of its own, torchvision or not
    tool, tmp, img, which = sys.argv[1:5]
    torch._C._set_graph_executor_optimize(False)
    for name, ctor, layer, reshape, prefix, getmod in [
        ("vit_b_16", torchvision.models.vit_b_16, "encoder.layers.encoder_layer_11.ln_1", vit_reshape, 1,
         lambda m: m.encoder.layers.encoder_layer_11.ln_1),
        ("swin_t", torchvision.models.swin_t, "features.7.1.norm1", swin_reshape, 0, lambda m: m.features[7][1].norm1),
        ("swin_t", torchvision.models.swin_t, "norm", swin_reshape, 0, lambda m: m.norm),
    ]:
        if name != which:
            continue
        pt = os.path.join(tmp, name + ".pt")
        out = os.path.join(tmp, layer)
        os.makedirs(out)
        r = subprocess.run([tool, "passes", "--model", pt, "--size", "224", "--layer", layer, "--utility", "logit",
                            "--target", "predicted", "--methods", ",".join(METHODS), "--batch", "1", "--threads", "2",
                            "-o", out, img], capture_output=True, text=True)
        if not ok(r.returncode == 0, "%s at %s: cam_tool passes runs" % (name, layer)):
            diag(r.stderr)
            continue
        L = lambda n: np.load(os.path.join(out, n + ".npy"))
        model = ctor().eval()  # the same weights, in eager mode, so hooks see the layer
        model.load_state_dict(torch.jit.load(pt).state_dict())
        x = torch.from_numpy(L("x"))
        t = torch.from_numpy(L("target")).long()
        logits, A, G, HA = reference(model, getmod(model), reshape, x, t, prefix)
        ok(torch.equal(t, logits.argmax(1, keepdim=True)), "%s at %s: the same predicted class" % (name, layer))
        # an all-zero gradient (a head initialised to zero) would make every comparison below pass
        ok(float(G.abs().max()) > 0, "%s at %s: G is not zero (max %.2e)" % (name, layer, G.abs().max()))
        # Swin's norm feeds pooling and a linear head: piecewise linear above, so with the logit HA is zero
        # (t64's collapse); elsewhere attention makes it curved
        linear_above = layer == "norm"
        ok((float(HA.abs().max()) == 0) == linear_above, "%s at %s: HA is %szero (max %.2e)"
           % (name, layer, "" if linear_above else "not ", HA.abs().max()))
        for what, mine, ref in [("A", L("a"), A), ("dU/dA", L("g"), G), ("HA", L("ha"), HA)]:
            e = rel(mine, ref.numpy())
            ok(e < 1e-3, "%s at %s: %s as the reference (max rel err %.2e)" % (name, layer, what, e))
        for meth in METHODS:
            S = cam(meth, A, G, HA)
            e = rel(L("S_" + meth), S.numpy())
            ok(e < 1e-3, "%s at %s: %s signed map as upstream's (max rel err %.2e)" % (name, layer, meth, e))
            H = scale(scale(torch.clamp(S, min=0), x.shape[2:]), x.shape[2:])
            e = float(np.abs(L("H_" + meth) - H.numpy()).max())
            ok(e < 1e-3, "%s at %s: %s final map as upstream's (max abs err %.2e)" % (name, layer, meth, e))
        if prefix:
            # shapley_cam.py takes the HVP along the activation, class token included; camlab holds the
            # prefix tokens fixed (they are not players of the map's game), so the two differ by
            # -H[grid, cls] a_cls / 2 in W. That term, not rounding, is the difference: it is far above
            # the float32 agreement with the reference of camlab's direction (t101 shows the same in
            # float64 against central differences, docs/transformers.md).
            _, _, _, HA_up = reference(model, getmod(model), reshape, x, t, 0)
            e_up = rel(L("S_shapleycam"), cam("shapleycam", A, G, HA_up).numpy())
            e_fixed = rel(L("S_shapleycam"), cam("shapleycam", A, G, HA).numpy())
            ok(e_up > 10 * e_fixed, "%s: ShapleyCAM with upstream's HVP direction (class token too) differs by "
               "max rel %.2e, far above rounding (%.2e)" % (name, e_up, e_fixed))
            # quirk shapley-prefix-tokens takes upstream's direction: its maps are shapley_cam.py's
            q = out + "-quirk"
            os.makedirs(q)
            shapleys = ["shapleycam", "shapleycam-h", "shapleycam-e"]
            r = subprocess.run([tool, "passes", "--model", pt, "--size", "224", "--layer", layer, "--utility", "logit",
                                "--target", "predicted", "--methods", ",".join(shapleys), "--batch", "1", "--threads",
                                "2", "--lean", "--quirk", "shapley-prefix-tokens", "-o", q, img],
                               capture_output=True, text=True)
            if ok(r.returncode == 0, "%s: cam_tool passes --quirk shapley-prefix-tokens runs" % name):
                haq = np.load(os.path.join(q, "ha.npy"))
                e = rel(haq, HA_up.numpy())
                ok(e < 1e-3 and float(np.abs(haq).max()) > 0, "%s with the quirk: HA as upstream's (max rel err "
                   "%.2e; max |HA| %.2e)" % (name, e, float(np.abs(haq).max())))
                for meth in shapleys:
                    S = cam(meth, A, G, HA_up)
                    e = rel(np.load(os.path.join(q, "S_%s.npy" % meth)), S.numpy())
                    ok(e < 1e-3, "%s with the quirk: %s signed map as upstream's (max rel err %.2e)" % (name, meth, e))
                    H = scale(scale(torch.clamp(S, min=0), x.shape[2:]), x.shape[2:])
                    e = float(np.abs(np.load(os.path.join(q, "H_%s.npy" % meth)) - H.numpy()).max())
                    ok(e < 1e-3, "%s with the quirk: %s final map as upstream's (max abs err %.2e)" % (name, meth, e))
            else:
                diag(r.stderr)
    done()


if __name__ == "__main__":
    main()
