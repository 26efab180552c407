#!/usr/bin/env python3
"""Writes the PyTorch references for ReproNN's losses and dropout:

    Tests/Fixtures/losses/losses.json    per-element losses, sum, mean and input gradients (sum and mean)
    Tests/Fixtures/losses/dropout.json   torch's CPU F.dropout outputs after manual_seed

Losses: `F.cross_entropy`, `F.binary_cross_entropy_with_logits`, `F.l1_loss`, `F.mse_loss`,
`F.smooth_l1_loss` and torchvision's `sigmoid_focal_loss` / `generalized_box_iou_loss`, on awkward
shapes (spatial cross-entropy, one class, ignored targets, class weights, label smoothing, logits of
+-100, beta = 0 and |d| == beta, identical and disjoint boxes). Gradients come from autograd with
respect to the first argument (the prediction). Every float is stored as its float32 bit pattern.

Dropout: for each size (1, 7, 16, 17, 1000, a 2x3x5x7 tensor) and p in {0, 0.1, 0.5, 0.9, 1}:
`torch.manual_seed(seed)`, `y = F.dropout(x, p, training=True)`, then `torch.rand(3)` (which shows
how many draws dropout consumed). `nn.Dropout(p)` in training mode is checked to give the same bits.

    /work/venv/bin/python scripts/make_loss_fixtures.py

Needs torch and torchvision (torchvision's compiled ops are replaced by scripts/torchvision_cpu_nms.py
where they cannot load; the losses used here are pure Python).
"""
import json
import os
import struct
import sys

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, ".."))
sys.dont_write_bytecode = True
sys.path.insert(0, HERE)
import torchvision_cpu_nms  # noqa: E402

torchvision_cpu_nms.install()
from torchvision.ops import generalized_box_iou_loss, sigmoid_focal_loss  # noqa: E402

OUT = os.path.join(ROOT, "Tests", "Fixtures", "losses")


def f32(t):
    flat = t.detach().to(torch.float32).contiguous().reshape(-1).tolist()
    return {"encoding": "f32", "bits": [struct.unpack("<I", struct.pack("<f", v))[0] for v in flat]}


def ints(t):
    return {"encoding": "int", "values": [int(v) for v in t.reshape(-1).tolist()]}


def run(fn, x, *args, **kw):
    """Loss for reductions none/sum/mean and the gradients of sum and mean w.r.t. x."""
    out = {}
    for red in ("none", "sum", "mean"):
        xx = x.detach().clone().requires_grad_(True)
        y = fn(xx, *args, reduction=red, **kw)
        out[red] = f32(y)
        if red != "none":
            y.backward()
            out["grad_" + red] = f32(xx.grad)
    return out


def case(name, loss, x, target, params, fn, **kw):
    c = {"name": name, "loss": loss, "shape": list(x.shape), "input": f32(x), "params": params}
    if target.dtype == torch.int64:
        c["target"] = ints(target)
    else:
        c["target"] = f32(target)
    c["target_shape"] = list(target.shape)
    c.update(run(fn, x, target, **kw))
    return c


def loss_cases():
    g = torch.Generator().manual_seed(20261203)
    rn = lambda *s: torch.randn(*s, generator=g)  # noqa: E731
    cases = []

    # Cross-entropy.
    x = rn(5, 4) * 3
    y = torch.randint(0, 4, (5,), generator=g)
    cases.append(case("ce_plain", "cross_entropy", x, y, {}, F.cross_entropy))
    x = rn(6, 3, 2, 3) * 2
    y = torch.randint(0, 3, (6, 2, 3), generator=g)
    y[0, 0, 1] = -100
    y[3, 1, 2] = -100
    w = torch.tensor([0.3, 1.7, 0.9])
    cases.append(case("ce_spatial_weight_ignore", "cross_entropy", x, y, {"weight": f32(w)},
                      F.cross_entropy, weight=w))
    x = rn(7, 5)
    y = torch.randint(0, 5, (7,), generator=g)
    y[1] = 2
    w = torch.tensor([1.0, 0.5, 2.0, 0.25, 1.5])
    cases.append(case("ce_smooth_weight_ignore2", "cross_entropy", x, y,
                      {"weight": f32(w), "ignore_index": 2, "label_smoothing": 0.1},
                      F.cross_entropy, weight=w, ignore_index=2, label_smoothing=0.1))
    x = torch.tensor([[100.0, -100.0, 0.0], [-100.0, -100.0, 100.0], [100.0, 100.0, -100.0], [-100.0, 0.0, 100.0]])
    y = torch.tensor([1, 2, 0, 0])
    cases.append(case("ce_extreme", "cross_entropy", x, y, {"label_smoothing": 0.2},
                      F.cross_entropy, label_smoothing=0.2))
    x = rn(8, 10) * 4
    y = torch.randint(0, 10, (8,), generator=g)
    y[2] = -100
    y[5] = -100
    cases.append(case("ce_smooth_ignore", "cross_entropy", x, y, {"label_smoothing": 0.3},
                      F.cross_entropy, label_smoothing=0.3))
    x = rn(3, 1)
    y = torch.zeros(3, dtype=torch.int64)
    cases.append(case("ce_one_class", "cross_entropy", x, y, {}, F.cross_entropy))
    x = rn(2, 4, 5) * 2
    y = torch.randint(0, 4, (2, 5), generator=g)
    w = torch.tensor([2.0, 0.1, 1.0, 3.0])
    cases.append(case("ce_1d_smooth_weight", "cross_entropy", x, y, {"weight": f32(w), "label_smoothing": 0.15},
                      F.cross_entropy, weight=w, label_smoothing=0.15))

    # BCE with logits.
    x = rn(5, 3) * 3
    t = torch.rand(5, 3, generator=g)
    w = torch.tensor([0.5, 2.0, 1.0])
    pw = torch.tensor([3.0, 0.5, 1.0])
    cases.append(case("bce_weight_posweight", "bce_with_logits", x, t, {"weight": f32(w), "pos_weight": f32(pw)},
                      F.binary_cross_entropy_with_logits, weight=w, pos_weight=pw))
    x = torch.tensor([100.0, -100.0, 100.0, -100.0, 0.0, 30.0, -30.0])
    t = torch.tensor([1.0, 0.0, 0.0, 1.0, 0.5, 1.0, 0.0])
    cases.append(case("bce_extreme", "bce_with_logits", x, t, {}, F.binary_cross_entropy_with_logits))
    x = rn(3, 2, 4) * 2
    t = (torch.rand(3, 2, 4, generator=g) > 0.5).float()
    w = torch.rand(3, 2, 4, generator=g) + 0.5
    cases.append(case("bce_full_weight", "bce_with_logits", x, t, {"weight": f32(w)},
                      F.binary_cross_entropy_with_logits, weight=w))

    # torchvision's sigmoid focal loss.
    x = rn(6, 4) * 3
    t = (torch.rand(6, 4, generator=g) > 0.7).float()
    cases.append(case("focal_default", "sigmoid_focal", x, t, {"alpha": 0.25, "gamma": 2.0}, sigmoid_focal_loss))
    x = rn(9) * 2
    t = torch.rand(9, generator=g)
    cases.append(case("focal_noalpha_gamma0", "sigmoid_focal", x, t, {"alpha": -1.0, "gamma": 0.0},
                      sigmoid_focal_loss, alpha=-1.0, gamma=0.0))
    x = torch.tensor([[100.0, -100.0, 3.0], [-100.0, 100.0, -2.5]])
    t = torch.tensor([[1.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
    cases.append(case("focal_extreme_gamma1p5", "sigmoid_focal", x, t, {"alpha": 0.6, "gamma": 1.5},
                      sigmoid_focal_loss, alpha=0.6, gamma=1.5))

    # L1, MSE, smooth L1.
    x = rn(3, 5)
    t = rn(3, 5)
    t[0, 0] = x[0, 0]
    cases.append(case("l1", "l1", x, t, {}, F.l1_loss))
    x = rn(4, 2, 3) * 2
    t = rn(4, 2, 3)
    cases.append(case("mse", "mse", x, t, {}, F.mse_loss))
    x = rn(4, 6)
    t = x + rn(4, 6)
    t[0, 1] = x[0, 1]
    t[1, 2] = x[1, 2] - 1.0
    t[1, 3] = x[1, 3] + 1.0
    for beta in (1.0, 0.5, 0.0):
        cases.append(case(f"smooth_l1_beta{beta}", "smooth_l1", x, t, {"beta": beta},
                          F.smooth_l1_loss, beta=beta))
    x = torch.tensor([0.0, 2.5, -1.0, 4.0, 0.25])
    t = torch.tensor([0.0, 0.0, 0.0, 0.0, 0.0])
    cases.append(case("smooth_l1_edges", "smooth_l1", x, t, {"beta": 2.5}, F.smooth_l1_loss, beta=2.5))

    # torchvision's generalized IoU loss (prediction first).
    b1 = torch.tensor([[0.0, 0.0, 10.0, 10.0], [5.0, 5.0, 15.0, 25.0], [0.0, 0.0, 2.0, 2.0],
                       [1.0, 2.0, 7.5, 9.0], [3.0, 3.0, 4.0, 8.0], [10.0, 0.0, 12.0, 30.0]])
    b2 = torch.tensor([[1.0, 2.0, 9.0, 12.0], [6.0, 0.0, 11.0, 20.0], [5.0, 5.0, 8.0, 9.0],
                       [1.0, 2.0, 7.5, 9.0], [0.5, 4.0, 6.0, 7.0], [11.0, 1.0, 13.5, 29.0]])
    b1[0] += rn(4) * 0.1
    cases.append(case("giou", "generalized_box_iou", b1, b2, {"eps": 1e-7}, generalized_box_iou_loss))
    return cases


def dropout_cases():
    out = []
    g = torch.Generator().manual_seed(7)
    for shape in ([1], [7], [16], [17], [1000], [2, 3, 5, 7]):
        n = 1
        for s in shape:
            n *= s
        x = torch.randn(n, generator=g).reshape(shape)
        x.view(-1)[0] = -abs(float(x.view(-1)[0]))   # a negative to show -0.0 when dropped
        for p in (0.0, 0.1, 0.5, 0.9, 1.0):
            seed = 1000 + len(out)
            torch.manual_seed(seed)
            y = F.dropout(x, p, training=True)
            after = torch.rand(3)
            torch.manual_seed(seed)
            m = torch.nn.Dropout(p)
            m.train()
            y2 = m(x)
            assert torch.equal(y.view(torch.int32), y2.view(torch.int32)), "nn.Dropout differs from F.dropout"
            out.append({"seed": seed, "p": p, "shape": shape, "input": f32(x), "output": f32(y),
                        "rand_after": f32(after)})
    return out


def main():
    os.makedirs(OUT, exist_ok=True)
    meta = {"torch": torch.__version__, "script": "scripts/make_loss_fixtures.py",
            "aten_capability": torch.backends.cpu.get_cpu_capability()}
    with open(os.path.join(OUT, "losses.json"), "w") as f:
        json.dump({"meta": meta, "cases": loss_cases()}, f, separators=(",", ":"))
    with open(os.path.join(OUT, "dropout.json"), "w") as f:
        json.dump({"meta": meta, "cases": dropout_cases()}, f, separators=(",", ":"))
    for name in ("losses.json", "dropout.json"):
        print(name, os.path.getsize(os.path.join(OUT, name)), "bytes")


if __name__ == "__main__":
    main()
