"""hvp_closed_form.py - is SCIENCE.md's closed-form Hessian-vector product worth having?

On a network that is piecewise linear above the target layer, HA = J^T (d2U/dy2) (J A): one forward-mode
product (J A, a JVP) and one backward instead of the double backward camlab's shim does
(grad(G, A, grad_outputs=A) with create_graph=True). This times both, in Debian's torch 1.13 on the CPU,
for a random-initialised torchvision ResNet-18 cut after layer1, layer2 and layer3 (above the cut:
the rest of the residual stages, pooling and the linear head; all piecewise linear in eval mode), with
the ReST utility on the predicted class, and checks that they agree.

    /usr/bin/python3 bench/hvp_closed_form.py [batch] [repeats]
"""
import statistics
import sys
import time

import torch
import torch.autograd.forward_ad as fwAD
import torchvision

batch = int(sys.argv[1]) if len(sys.argv) > 1 else 8
repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 5
torch.manual_seed(0)
torch.set_num_threads(2)
m = torchvision.models.resnet18().eval()
stages = [m.layer1, m.layer2, m.layer3, m.layer4]


def prefix(x, cut):
    x = m.maxpool(m.relu(m.bn1(m.conv1(x))))
    for s in stages[:cut]:
        x = s(x)
    return x


def suffix(a, cut):
    for s in stages[cut:]:
        a = s(a)
    return m.fc(torch.flatten(m.avgpool(a), 1))


def rest(y):
    c = y.argmax(1, keepdim=True)
    return (y.gather(1, c) + torch.log_softmax(y, 1).gather(1, c)).sum()


def double_backward(a0, cut):
    a = a0.clone().requires_grad_()
    g, = torch.autograd.grad(rest(suffix(a, cut)), a, create_graph=True)
    ha, = torch.autograd.grad(g, a, grad_outputs=a0)
    return g, ha


def closed_form(a0, cut):
    a = a0.clone().requires_grad_()
    y = suffix(a, cut)
    g, = torch.autograd.grad(rest(y), a, retain_graph=True)
    with torch.no_grad(), fwAD.dual_level():
        _, ja = fwAD.unpack_dual(suffix(fwAD.make_dual(a0, a0), cut))
    p = torch.softmax(y.detach(), 1)
    # d2U/dy2 = -(diag p - p p^T) for ReST (and log-softmax): its product with J A
    v = -(p * ja - p * (p * ja).sum(1, keepdim=True))
    ha, = torch.autograd.grad(y, a, grad_outputs=v)
    return g, ha


x = torch.randn(batch, 3, 224, 224)
print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch {batch}, median of {repeats}")
print("cut after | A shape | double backward ms | closed form ms | ratio | max |dHA|/max|HA| | max |dG|")
for cut in (3, 2, 1):
    with torch.no_grad():
        a0 = prefix(x, cut)
    times = {double_backward: [], closed_form: []}
    for _ in range(repeats):
        for f in times:
            t = time.perf_counter()
            out = f(a0, cut)
            times[f].append(time.perf_counter() - t)
            if f is double_backward:
                g1, h1 = out
            else:
                g2, h2 = out
    td = statistics.median(times[double_backward]) * 1e3
    tc = statistics.median(times[closed_form]) * 1e3
    print(f"layer{cut} | {tuple(a0.shape[1:])} | {td:.1f} | {tc:.1f} | {tc / td:.2f} | "
          f"{((h1 - h2).abs().max() / h1.abs().max()).item():.1e} | {(g1 - g2).abs().max().item():.1e}")
