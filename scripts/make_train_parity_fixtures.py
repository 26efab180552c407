#!/usr/bin/env python3
"""Writes the PyTorch references for ResNet-18 training parity and the loss gaps:

    Tests/Fixtures/train/resnet18_parity.safetensors
    Tests/Fixtures/losses/soft_targets.json

ResNet-18 (torchvision `resnet18(num_classes=10)` after `torch.manual_seed(0)`; Repro rebuilds the
same bits from the seed, see ResNetExportTests) on a batch of 4 images 64x64 (`input`, NCHW,
`torch.manual_seed(1)` then `randn`; `target` class indices), batch norm in training mode:

- `grad.*`: the mean cross-entropy (`grad.loss`) and every parameter's gradient after one
  backward.
- `grad64.*`: the same backward in float64 (model and batch `.double()`), summaries in float64, and
  `grad.<key>.error64`: torch float32's distance to it (the measure below) -- Repro's is printed next to it.
- `sgd.*`: three steps of `SGD(lr=0.01, momentum=0.9, weight_decay=1e-4)` on that batch (each step:
  forward in train mode, which updates the running statistics, backward, step); `adamw.*`: the same with
  `AdamW(lr=1e-3, weight_decay=0.01)`. For each:
  - `<set>.losses`: the float32 losses of the single-threaded run (steps 1 and 2 are compared tightly);
  - `<set>.ref.*`: the float64 run, the exact reference: `ref.losses`, every parameter's summary
    (`.samples` of the final weights, `.maxabs`/`.l2`/`.tm` of the change final - initial, all float64)
    and every running statistic in full (`ref.after.<key>`); `<set>.after.*num_batches_tracked`;
  - `<set>.spread.*`: torch's own spread -- each float32 variant's distance to the float64 run, one
    row per variant (VARIANTS: threads 1/2/4, oneDNN off, ATen capability default/AVX2 in subprocesses,
    and three runs with noise of NOISE x each tensor's largest gradient added to step 1's gradients):
    `spread.losses` [V, 3] relative loss errors, `spread.<parameter>` [V, 2] (sample error / the
    reference change's maxabs, max(|norm error|, |projection error|) / the reference change's norm),
    `spread.<running statistic>` [V, 1] (largest error / the reference's largest magnitude).
  ResNet18TrainingParityTests measures Repro the same way and holds it to a multiple of the spread.

soft_targets.json (the format of losses.json, scripts/make_loss_fixtures.py): `F.cross_entropy`
with probability targets (same shape as the input) with and without class weights and label
smoothing, `[N, C]` and `[N, C, d]`; and torchvision's `generalized_box_iou_loss` with the
gradient with respect to the target boxes too (`target_grad_sum`, `target_grad_mean`), which
autograd gives (the loss is built from both boxes with differentiable ops).

    /work/venv/bin/python scripts/make_train_parity_fixtures.py

The float32 reference runs single-threaded on ATen's default CPU capability of the machine (recorded in
the metadata with the variants' names and capabilities). Takes a few minutes (ten subprocesses).
"""
import json
import math
import os
import subprocess
import sys
import tempfile

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
# Noise injected into the noise variants' step-1 gradients, relative to each tensor's largest gradient.
NOISE = 1e-6
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
    return {k: p.grad.detach().double() for k, p in m.named_parameters()}


OPTIMIZERS = {
    "sgd": lambda p: torch.optim.SGD(p, lr=0.01, momentum=0.9, weight_decay=1e-4),
    "adamw": lambda p: torch.optim.AdamW(p, lr=1e-3, weight_decay=0.01),
}

# torch's own spread: float32 runs that are all "PyTorch" and differ by rounding only (name, environment,
# configuration). The first is the fixture's float32 reference (single thread, the machine's capability).
VARIANTS = [
    ("threads1", {}, {"threads": 1}),
    ("threads2", {}, {"threads": 2}),
    ("threads4", {}, {"threads": 4}),
    ("mkldnn-off", {}, {"threads": 1, "mkldnn": False}),
    ("capability-default", {"ATEN_CPU_CAPABILITY": "default"}, {"threads": 1}),
    ("capability-avx2", {"ATEN_CPU_CAPABILITY": "avx2"}, {"threads": 1}),
    ("noise-1", {}, {"threads": 1, "noise": NOISE, "seed": 1}),
    ("noise-2", {}, {"threads": 1, "noise": NOISE, "seed": 2}),
    ("noise-3", {}, {"threads": 1, "noise": NOISE, "seed": 3}),
]
REFERENCE = ("float64", {}, {"threads": 1, "float64": True})


def trajectory(name, config):
    """Three steps of optimizer `name` under `config`; returns (losses, final state in float64)."""
    dtype = torch.float64 if config.get("float64") else torch.float32
    m = model().to(dtype)
    m.train()
    opt = OPTIMIZERS[name](m.parameters())
    x, t = batch()
    x = x.to(dtype)
    noise = torch.Generator().manual_seed(config.get("seed", 0))
    losses = []
    for step in range(3):
        opt.zero_grad()
        loss = F.cross_entropy(m(x), t)
        loss.backward()
        if step == 0 and config.get("noise"):
            for p in m.parameters():
                scale = config["noise"] * float(p.grad.abs().max())
                p.grad.add_((torch.randn(p.grad.shape, generator=noise, dtype=torch.float64) * scale).to(dtype))
        opt.step()
        losses.append(loss.item())
    return losses, {k: v.detach().clone() if v.dtype == torch.int64 else v.detach().double().clone()
                    for k, v in m.state_dict().items()}


def worker(config_json, out):
    """Subprocess entry: runs both optimizers under one variant (its environment set by the parent)."""
    config = json.loads(config_json)
    torch.set_num_threads(config["threads"])
    torch.backends.mkldnn.enabled = config.get("mkldnn", True)
    result = {"capability": torch.backends.cpu.get_cpu_capability()}
    for name in OPTIMIZERS:
        result[name] = trajectory(name, config)
    torch.save(result, out)


def run_variants(variants):
    """Runs every variant in its own process (ATEN_CPU_CAPABILITY is read at start-up), two at a time."""
    tmp = tempfile.mkdtemp()
    jobs = []
    for i, (vname, env, config) in enumerate(variants):
        out = os.path.join(tmp, f"{i}.pt")
        jobs.append((vname, out, subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--variant", json.dumps(config), out],
            env={**os.environ, **env})))
        if len(jobs) % 2 == 0:
            jobs[-2][2].wait()
    results = {}
    for vname, out, proc in jobs:
        if proc.wait() != 0:
            raise SystemExit(f"variant {vname} failed")
        results[vname] = torch.load(out, weights_only=False)
    return results


def change_summary(store, key, final, initial):
    """The float64 reference's final weights: samples of the weights, maxabs/l2/tm of the change."""
    flat = final.reshape(-1)
    step = max(1, math.ceil(flat.numel() / SAMPLES))
    store[f"{key}.samples"] = flat[::step].clone()
    d = flat - initial.reshape(-1).double()
    store[f"{key}.maxabs"] = d.abs().max().reshape(1)
    store[f"{key}.l2"] = d.norm().reshape(1)
    store[f"{key}.tm"] = (d * thue_morse(d.numel())).sum().reshape(1)


def change_error(final, reference, initial):
    """(sample error / reference change's maxabs, norm-or-projection error / reference change's norm):
    the test's measure of a float32 run against the float64 reference, over the same samples."""
    flat, ref = final.reshape(-1), reference.reshape(-1)
    step = max(1, math.ceil(flat.numel() / SAMPLES))
    d = flat - initial.reshape(-1).double()
    d0 = ref - initial.reshape(-1).double()
    tm = thue_morse(d.numel())
    samples = float((flat[::step] - ref[::step]).abs().max()) / float(d0.abs().max())
    norm = max(abs(float(d.norm() - d0.norm())), abs(float((d * tm).sum() - (d0 * tm).sum()))) / float(d0.norm())
    return [samples, norm]


def steps(store, name, results, initial):
    """The float64 reference of optimizer `name` and every float32 variant's distance to it."""
    ref_losses, ref = results[REFERENCE[0]][name]
    names = [v[0] for v in VARIANTS]
    store[f"{name}.losses"] = torch.tensor(results[names[0]][name][0], dtype=torch.float32)
    store[f"{name}.ref.losses"] = torch.tensor(ref_losses, dtype=torch.float64)
    store[f"{name}.spread.losses"] = torch.tensor(
        [[abs(a - b) / abs(b) for a, b in zip(results[v][name][0], ref_losses)] for v in names], dtype=torch.float64)
    for k, v in ref.items():
        if "num_batches" in k:
            store[f"{name}.after.{k}"] = results[names[0]][name][1][k].reshape(-1)
        elif "running" in k:
            store[f"{name}.ref.after.{k}"] = v.reshape(-1)
            scale = float(v.abs().max())
            store[f"{name}.spread.{k}"] = torch.tensor(
                [[float((results[n][name][1][k] - v).abs().max()) / scale] for n in names], dtype=torch.float64)
        else:
            change_summary(store, f"{name}.ref.{k}", v, initial[k])
            store[f"{name}.spread.{k}"] = torch.tensor(
                [change_error(results[n][name][1][k], v, initial[k]) for n in names], dtype=torch.float64)
    worst = store[f"{name}.spread.losses"].max(dim=0).values.tolist()
    print(f"{name}: float64 losses {ref_losses}; torch float32 spread of the losses (relative) {worst}")
    for n_i, n in enumerate(names):
        w = max(float(store[f"{name}.spread.{k}"][n_i].max()) for k in ref if "num_batches" not in k)
        print(f"  {n:20s} losses {results[n][name][0]}  worst tensor error {w:.3e}")


def gradients64(store, grads32):
    """The float64 gradients (`grad64.*`, summaries in float64) and torch float32's error against them."""
    m = model().double()
    m.train()
    x, t = batch()
    loss = F.cross_entropy(m(x.double()), t)
    loss.backward()
    store["grad64.loss"] = loss.detach().reshape(1)
    worst = [0.0, 0.0]
    for k, p in m.named_parameters():
        change_summary(store, f"grad64.{k}", p.grad, torch.zeros_like(p.grad))
        err = change_error(grads32[k], p.grad, torch.zeros_like(p.grad))
        store[f"grad.{k}.error64"] = torch.tensor(err, dtype=torch.float64)
        worst = [max(a, b) for a, b in zip(worst, err)]
    print("torch float32 gradients against float64: worst sample error", worst[0], "of max, worst norm error", worst[1])


def resnet_fixture():
    store = {}
    gradients64(store, gradients(store))
    results = run_variants(VARIANTS + [REFERENCE])
    initial = {k: v.detach().clone() for k, v in model().state_dict().items()}
    for name in OPTIMIZERS:
        steps(store, name, results, initial)
    path = os.path.join(ROOT, "Tests", "Fixtures", "train", "resnet18_parity.safetensors")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    meta = {"torch": torch.__version__, "torchvision": torchvision.__version__,
            "aten_capability": torch.backends.cpu.get_cpu_capability(), "seed": str(SEED),
            "samples": str(SAMPLES), "noise": repr(NOISE), "script": "scripts/make_train_parity_fixtures.py",
            "variants": ",".join(v[0] for v in VARIANTS),
            "capabilities": ",".join(results[v[0]]["capability"] for v in VARIANTS)}
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
    if len(sys.argv) == 4 and sys.argv[1] == "--variant":
        worker(sys.argv[2], sys.argv[3])
        raise SystemExit(0)
    soft_fixture()
    resnet_fixture()
