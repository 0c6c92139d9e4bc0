"""fidelity_models.py - the tiny models of the Shapley-fidelity tests (t80, t81), made with the Debian
python's torch: their target layer 'feat' is a 3 x 3 grid (9 players, 512 coalitions, few enough to
enumerate). game.pt has a nonlinear head (a 3 x 3 convolution that mixes neighbouring positions, ReLU,
a linear map); quad.pt's logits are quadratic in A (a linear map plus squares of another), so that with
the logit utility the CRG game's Shapley values are ShapleyCAM-H's map before ReLU exactly. prefix() and
head() are each model's two parts written again here, for the brute force. Usage: fidelity_models.py DIR (writes DIR/game.pt,
DIR/quad.pt and DIR/imgs/*.png, four 12 x 12 images)."""
import os
import sys

import numpy as np
import torch
import torch.nn as nn


class Game(nn.Module):
    def __init__(self):
        super().__init__()
        self.feat = nn.Conv2d(3, 4, 3, stride=4, padding=1)  # 12 x 12 -> 3 x 3
        self.mix = nn.Conv2d(4, 6, 3, padding=1)
        self.fc = nn.Linear(54, 5)

    def forward(self, x):
        a = self.feat(x)
        return self.fc(torch.relu(self.mix(a)).flatten(1))


class Quad(nn.Module):
    def __init__(self):
        super().__init__()
        self.pool = nn.AvgPool2d(4)  # 12 x 12 -> 3 x 3
        self.feat = nn.Conv2d(3, 4, 1)
        self.lin = nn.Linear(36, 5)
        self.quad = nn.Linear(36, 6)
        self.mix = nn.Linear(6, 5, bias=False)

    def forward(self, x):
        f = self.feat(self.pool(x)).flatten(1)
        q = self.quad(f)
        return self.lin(f) + self.mix(q * q)


def prefix(name, m, x):
    """A, the output of 'feat', for input x."""
    return m.feat(x) if name == "game" else m.feat(m.pool(x))


def head(name, m, a):
    """The logits of a (B, 4, 3, 3) through model m's part above 'feat'."""
    if name == "game":
        return m.fc(torch.relu(m.mix(a)).flatten(1))
    f = a.flatten(1)
    q = m.quad(f)
    return m.lin(f) + m.mix(q * q)


if __name__ == "__main__":
    from PIL import Image
    out = sys.argv[1]
    for name, cls in [("game", Game), ("quad", Quad)]:
        torch.manual_seed(1)
        torch.jit.script(cls().eval()).save(os.path.join(out, name + ".pt"))
    os.makedirs(os.path.join(out, "imgs"), exist_ok=True)
    rng = np.random.RandomState(3)
    for i in range(4):
        Image.fromarray((rng.rand(12, 12, 3) * 255).astype("uint8")).save(os.path.join(out, "imgs/%d.png" % i))
