#!/usr/bin/env python3
"""ResNet-18 forward + backward: Repro's autograd (`repro train-bench`) beside PyTorch, in one run.

What it measures (both engines, same conditions):
  * model: torchvision resnet18, random weights from torch.manual_seed(SEED) — Repro's
    `ResNet(configuration: .resnet18, seed:)` replays torchvision's initialisation;
  * input: BATCH x 3 x SIZE x SIZE with x[i] = ((i * 7919) % 1000) / 1000 - 0.5 (flat index, NHWC order on
    Repro's side), labels (i * 37) % 1000; mean cross-entropy; BatchNorm in training mode;
  * threads: --threads (torch.set_num_threads / `--threads`);
  * one warm-up, then --runs timed forward + backward passes, each phase timed on its own; best and
    median seconds, and Repro / PyTorch per phase; also the process CPU seconds of each phase (steadier
    than wall time on a loaded machine; torch's OpenMP spin-waiting counts, so compare at --threads 1);
  * the optimizer step, timed separately: SGD (momentum 0.9) and AdamW (lr 1e-3, weight decay 0.01)
    over every ResNet-18 parameter with the gradients of the last backward (torch's single-tensor
    CPU loop; Repro's bit-identical update on the parameter tensors, without re-preparing the model);
  * Repro also reports the canonical reduction's cost on ResNet-18's convolution shapes: the weight
    gradient by the sample-tree GEMM (the canonical tree of per-sample products) versus one batched
    GEMM, and the unfused per-sample GEMMs + tree adds it replaced (`reduction`, best of 2 each);
  * memory: each engine in its own child process; resident set after the forward and the peak
    through forward + backward (/proc/self/status VmRSS / VmHWM, read in the child), and the
    process peak from os.wait4 (which includes the optimizers' states).

Run: python3 bench/train_bench.py [--batch 16] [--size 224] [--threads 2] [--runs 3] [--repro PATH]
(builds `repro` in release mode unless --repro is given; uses REPRO_VENV or bench/.venv for torch).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import _venv  # noqa: E402

TORCH_WORKER = r'''
import json, sys, time
args = json.loads(sys.argv[1])
import torch
torch.set_num_threads(args["threads"])
sys.path.insert(0, args["scripts"])
import torchvision_cpu_nms
torchvision_cpu_nms.install()
from torchvision.models import resnet18


def mib(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


torch.manual_seed(args["seed"])
model = resnet18(weights=None).train()
b, s = args["batch"], args["size"]
i = torch.arange(b * s * s * 3)
x = (((i * 7919) % 1000).float() / 1000 - 0.5).reshape(b, s, s, 3).permute(0, 3, 1, 2).contiguous()
y = (torch.arange(b) * 37) % 1000
fwd, bwd, fwd_cpu, bwd_cpu, rss_forward = [], [], [], [], 0.0
for r in range(args["runs"] + 1):
    model.zero_grad(set_to_none=True)
    t, c = time.perf_counter(), time.process_time()
    loss = torch.nn.functional.cross_entropy(model(x), y)
    t1, c1 = time.perf_counter(), time.process_time()
    rss_forward = max(rss_forward, mib("VmRSS"))
    loss.backward()
    t2, c2 = time.perf_counter(), time.process_time()
    del loss
    if r > 0:
        fwd.append(t1 - t)
        bwd.append(t2 - t1)
        fwd_cpu.append(c1 - c)
        bwd_cpu.append(c2 - c1)
peak_fb = mib("VmHWM")


def steps(opt):
    times = []
    for r in range(args["runs"] + 1):
        t = time.perf_counter()
        opt.step()
        if r > 0:
            times.append(time.perf_counter() - t)
    return times


# torch's default for CPU tensors is the single-tensor loop (foreach=None resolves to it); said explicitly.
sgd = steps(torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, foreach=False))
adamw = steps(torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01, foreach=False))
print(json.dumps({"forward_s": fwd, "backward_s": bwd, "forward_cpu_s": fwd_cpu, "backward_cpu_s": bwd_cpu, "forward_backward_s": [f + g for f, g in zip(fwd, bwd)],
                  "rss_after_forward_mib": rss_forward, "peak_rss_forward_backward_mib": peak_fb,
                  "sgd_step_s": sgd, "adamw_step_s": adamw}))
'''


def run_child(cmd):
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    out = p.stdout.read()
    _, status, usage = os.wait4(p.pid, 0)
    if status != 0:
        raise SystemExit(f"{cmd[0]} failed with status {status}")
    return json.loads(out.strip().splitlines()[-1]), usage.ru_maxrss / 1024


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repro")
    a = ap.parse_args()
    _venv.ensure_venv(["torchvision"])
    repro = a.repro
    if not repro:
        subprocess.check_call(["swift", "build", "-c", "release", "--product", "repro"], cwd=ROOT)
        repro = os.path.join(ROOT, ".build", "release", "repro")
    args = {"threads": a.threads, "seed": a.seed, "batch": a.batch, "size": a.size, "runs": a.runs,
            "scripts": os.path.join(ROOT, "scripts")}
    torch_out, torch_rss = run_child([sys.executable, "-c", TORCH_WORKER, json.dumps(args)])
    repro_out, repro_rss = run_child([repro, "train-bench", "--batch", str(a.batch), "--size", str(a.size),
                                      "--threads", str(a.threads), "--runs", str(a.runs), "--seed", str(a.seed)])
    print(f"ResNet-18 {a.size}x{a.size} batch {a.batch}, {a.threads} threads, BatchNorm in training mode; "
          f"best of {a.runs} runs after a warm-up (median in brackets), seconds")
    print("| phase | PyTorch | Repro | Repro / PyTorch (best) |")
    print("| --- | --- | --- | --- |")
    for key, label in [("forward_s", "forward"), ("backward_s", "backward (with Repro's canonical reduction)"),
                       ("forward_backward_s", "forward + backward"), ("sgd_step_s", "SGD step (momentum 0.9)"),
                       ("adamw_step_s", "AdamW step")]:
        t, r = torch_out[key], repro_out[key]
        print(f"| {label} | {min(t):.3f} ({statistics.median(t):.3f}) | {min(r):.3f} ({statistics.median(r):.3f}) "
              f"| {min(r) / min(t):.2f}x |")
    # Process CPU seconds (all threads) per phase: on a loaded machine wall time mostly measures the
    # scheduler; CPU time is steadier, but counts torch's OpenMP spin-waiting (compare at --threads 1).
    print("| CPU seconds (best) | PyTorch | Repro | Repro / PyTorch |")
    print("| --- | --- | --- | --- |")
    for key, label in [("forward_cpu_s", "forward"), ("backward_cpu_s", "backward")]:
        t, r = min(torch_out[key]), min(repro_out[key])
        print(f"| {label} | {t:.3f} | {r:.3f} | {r / t:.2f}x |")
    print("| memory, MiB | PyTorch | Repro | Repro / PyTorch |")
    print("| --- | --- | --- | --- |")
    for label, tv, rv in [("resident after the forward", torch_out["rss_after_forward_mib"], repro_out["rss_after_forward_mib"]),
                          ("peak through forward + backward", torch_out["peak_rss_forward_backward_mib"],
                           repro_out["peak_rss_forward_backward_mib"]),
                          ("process peak (with optimizer states)", torch_rss, repro_rss)]:
        print(f"| {label} | {tv:.0f} | {rv:.0f} | {rv / tv:.2f}x |")
    red = repro_out["reduction"]
    print(f"weight gradient on ResNet-18's conv shapes: batched GEMM {red['batched_gemm_s']:.3f} s, "
          f"sample-tree GEMM {red['per_sample_tree_s']:.3f} s "
          f"(canonical-reduction overhead {100 * (red['per_sample_tree_s'] / red['batched_gemm_s'] - 1):.0f} %), "
          f"unfused per-sample GEMMs + tree adds {red['unfused_tree_s']:.3f} s")
    print(f"uptime: {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}")


if __name__ == "__main__":
    main()
