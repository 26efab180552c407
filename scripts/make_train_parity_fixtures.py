#!/usr/bin/env python3
"""Writes the PyTorch references for ResNet-18 training parity and the loss gaps:

    Tests/Fixtures/train/resnet18_parity.safetensors
    Tests/Fixtures/losses/soft_targets.json

ResNet-18 (torchvision `resnet18(num_classes=10)` after `torch.manual_seed(0)`; Repro rebuilds the
same bits from the seed, see ResNetExportTests) on a batch of 4 images 64x64 (`input`, NCHW,
`torch.manual_seed(1)` then `randn`; `target` class indices), batch norm in training mode:

- `grad.*`: the mean cross-entropy (`grad.loss`) and every parameter's gradient after one
  backward.
- `sgd.*`: three steps of `SGD(lr=0.01, momentum=0.9, weight_decay=1e-4)` on that batch (each
  step: forward in train mode, which updates the running statistics, backward, step): the loss
  of each step's forward (`sgd.losses`), and the state after the third step.
- `adamw.*`: the same with `AdamW(lr=1e-3, weight_decay=0.01)`.

ResNet-18 holds 11.2 M values, so a tensor of more than SAMPLES values is stored as a summary:
`<set>.<key>.samples` (the values at flat indices 0, s, 2s, ... with s = ceil(n / SAMPLES)),
`.maxabs` (the largest magnitude, float32), and, computed in float64 over every element, `.l2`
(the Euclidean norm) and `.tm` (the Thue-Morse projection sum_i (-1)^popcount(i) * v_i). For the
step sets these describe the weight *change* `final - initial` (in float64), since the initial
weights are the same bits on both sides; `.samples` hold the final weights themselves. Running
statistics (`<set>.after.<key>`, all of them, ~9.6 k values each) and `num_batches_tracked` are
stored in full. Tensors of at most SAMPLES values are stored in full as `.samples` (s = 1).

soft_targets.json (the format of losses.json, scripts/make_loss_fixtures.py): `F.cross_entropy`
with probability targets (same shape as the input) with and without class weights and label
smoothing, `[N, C]` and `[N, C, d]`; and torchvision's `generalized_box_iou_loss` with the
gradient with respect to the target boxes too (`target_grad_sum`, `target_grad_mean`), which
autograd gives (the loss is built from both boxes with differentiable ops).

    /work/venv/bin/python scripts/make_train_parity_fixtures.py

Runs single-threaded on ATen's default CPU capability of the machine (recorded in the metadata).
"""
import json
import math
import os
import sys

import torch
import torch.nn.functional as F
from safetensors.torch import save_file

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, ".."))
sys.dont_write_bytecode = True
sys.path.insert(0, HERE)
import torchvision_cpu_nms  # noqa: E402

torchvision_cpu_nms.install()  # must precede the torchvision import
import torchvision  # noqa: E402
from torchvision.ops import generalized_box_iou_loss  # noqa: E402
from make_loss_fixtures import f32, run  # noqa: E402

SAMPLES = 512
SEED = 0
CLASSES = 10

torch.set_num_threads(1)


def thue_morse(n):
    """(-1)^popcount(i) for i in 0..<n, as float64."""
    i = torch.arange(n, dtype=torch.int64)
    parity = torch.zeros(n, dtype=torch.int64)
    while bool((i != 0).any()):
        parity ^= i & 1
        i = i >> 1
    return 1.0 - 2.0 * parity.double()


def summary(store, key, value, initial=None):
    """Stores `value` in full when small, else samples + maxabs + l2 + tm (of value - initial if given)."""
    flat = value.detach().reshape(-1).contiguous()
    n = flat.numel()
    step = max(1, math.ceil(n / SAMPLES))
    store[f"{key}.samples"] = flat[::step].clone()
    d = flat.double() - (initial.detach().reshape(-1).double() if initial is not None else 0)
    store[f"{key}.maxabs"] = d.abs().max().float().reshape(1)
    store[f"{key}.l2"] = d.norm().reshape(1)
    store[f"{key}.tm"] = (d * thue_morse(n)).sum().reshape(1)


def model():
    torch.manual_seed(SEED)
    return torchvision.models.resnet18(num_classes=CLASSES)


def batch():
    torch.manual_seed(1)
    x = torch.randn(4, 3, 64, 64)
    t = torch.tensor([3, 7, 0, 7])
    return x, t


def gradients(store):
    m = model()
    m.train()
    x, t = batch()
    loss = F.cross_entropy(m(x), t)
    loss.backward()
    store["input"] = x
    store["target"] = t
    store["grad.loss"] = loss.detach().reshape(1)
    for k, p in m.named_parameters():
        summary(store, f"grad.{k}", p.grad)


def steps(store, name, make_optimizer):
    m = model()
    initial = {k: v.detach().clone() for k, v in m.state_dict().items()}
    m.train()
    opt = make_optimizer(m.parameters())
    x, t = batch()
    losses = []
    for _ in range(3):
        opt.zero_grad()
        loss = F.cross_entropy(m(x), t)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    store[f"{name}.losses"] = torch.tensor(losses, dtype=torch.float32)
    for k, v in m.state_dict().items():
        if "running" in k or "num_batches" in k:
            store[f"{name}.after.{k}"] = v.detach().clone().reshape(-1)
        else:
            summary(store, f"{name}.{k}", v, initial=initial[k])


def resnet_fixture():
    store = {}
    gradients(store)
    steps(store, "sgd", lambda p: torch.optim.SGD(p, lr=0.01, momentum=0.9, weight_decay=1e-4))
    steps(store, "adamw", lambda p: torch.optim.AdamW(p, lr=1e-3, weight_decay=0.01))
    path = os.path.join(ROOT, "Tests", "Fixtures", "train", "resnet18_parity.safetensors")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    meta = {"torch": torch.__version__, "torchvision": torchvision.__version__,
            "aten_capability": torch.backends.cpu.get_cpu_capability(), "seed": str(SEED),
            "samples": str(SAMPLES), "script": "scripts/make_train_parity_fixtures.py"}
    save_file({k: v.contiguous() for k, v in store.items()}, path, metadata=meta)
    print(path, os.path.getsize(path), "bytes")


def soft_case(name, x, target, params, **kw):
    c = {"name": name, "loss": "cross_entropy", "shape": list(x.shape), "input": f32(x), "params": params,
         "target": f32(target), "target_shape": list(target.shape)}
    c.update(run(F.cross_entropy, x, target, **kw))
    return c


def giou_case(name, b1, b2):
    c = {"name": name, "loss": "generalized_box_iou", "shape": list(b1.shape), "input": f32(b1),
         "params": {"eps": 1e-7}, "target": f32(b2), "target_shape": list(b2.shape)}
    c.update(run(generalized_box_iou_loss, b1, b2))
    for red in ("sum", "mean"):
        bb = b2.detach().clone().requires_grad_(True)
        generalized_box_iou_loss(b1, bb, reduction=red).backward()
        c["target_grad_" + red] = f32(bb.grad)
    return c


def loss_cases():
    g = torch.Generator().manual_seed(20261204)
    rn = lambda *s: torch.randn(*s, generator=g)  # noqa: E731
    cases = []
    x = rn(5, 4) * 3
    p = torch.softmax(rn(5, 4), dim=1)
    cases.append(soft_case("ce_soft_plain", x, p, {}))
    x = rn(6, 5) * 2
    p = torch.softmax(rn(6, 5) * 2, dim=1)
    w = torch.tensor([1.0, 0.5, 2.0, 0.25, 1.5])
    cases.append(soft_case("ce_soft_weight_smooth", x, p, {"weight": f32(w), "label_smoothing": 0.1},
                           weight=w, label_smoothing=0.1))
    x = rn(3, 4, 5) * 2
    p = torch.softmax(rn(3, 4, 5), dim=1)
    w = torch.tensor([2.0, 0.1, 1.0, 3.0])
    cases.append(soft_case("ce_soft_spatial_weight", x, p, {"weight": f32(w)}, weight=w))
    # Targets that are not distributions (torch does not require it) and a one-hot row.
    x = rn(4, 3) * 4
    p = torch.rand(4, 3, generator=g) * 2
    p[1] = torch.tensor([0.0, 1.0, 0.0])
    cases.append(soft_case("ce_soft_unnormalised_smooth", x, p, {"label_smoothing": 0.3}, label_smoothing=0.3))
    x = torch.tensor([[100.0, -100.0, 0.0], [-100.0, -100.0, 100.0]])
    p = torch.tensor([[0.5, 0.5, 0.0], [0.0, 0.25, 0.75]])
    cases.append(soft_case("ce_soft_extreme", x, p, {}))

    b1 = torch.tensor([[0.0, 0.0, 10.0, 10.0], [5.0, 5.0, 15.0, 25.0], [0.0, 0.0, 2.0, 2.0],
                       [1.0, 2.0, 7.5, 9.0], [3.0, 3.0, 4.0, 8.0], [10.0, 0.0, 12.0, 30.0]])
    b2 = torch.tensor([[1.0, 2.0, 9.0, 12.0], [6.0, 0.0, 11.0, 20.0], [5.0, 5.0, 8.0, 9.0],
                       [1.5, 2.0, 7.0, 9.5], [0.5, 4.0, 6.0, 7.0], [11.0, 1.0, 13.5, 29.0]])
    b1[0] += rn(4) * 0.1
    b2[2] += rn(4) * 0.1
    cases.append(giou_case("giou_target_gradient", b1, b2))
    return cases


def soft_fixture():
    path = os.path.join(ROOT, "Tests", "Fixtures", "losses", "soft_targets.json")
    meta = {"torch": torch.__version__, "script": "scripts/make_train_parity_fixtures.py",
            "aten_capability": torch.backends.cpu.get_cpu_capability()}
    # ignore_index is refused with probability targets unless negative (torch's check).
    try:
        F.cross_entropy(torch.zeros(2, 3), torch.full((2, 3), 1 / 3), ignore_index=1)
        raise SystemExit("torch accepted ignore_index >= 0 with probability targets")
    except RuntimeError:
        pass
    with open(path, "w") as f:
        json.dump({"meta": meta, "cases": loss_cases()}, f, separators=(",", ":"))
    print(path, os.path.getsize(path), "bytes")


if __name__ == "__main__":
    soft_fixture()
    resnet_fixture()
