#!/usr/bin/env python3
"""Convolution weight gradient of ResNet-18 shapes (224x224, batch 16): Repro's sample-tree product
(per-sample FMA chains reduced by the canonical sample tree inside the GEMM), the unfused path it
replaced (per-sample GEMMs written out, then the tree adds; same bits), a plain batched GEMM over
all samples (K = N*OH*OW), and
PyTorch's `torch.nn.grad.conv2d_weight` (oneDNN), at the same thread counts, best of N.

Runs `repro-bench --only wgrad` (Benchmarks package, release) and a PyTorch worker, and prints a
table of milliseconds and ratios. Uses bench/.venv (see _venv.py) unless REPRO_VENV is set.
Usage: python3 bench/wgrad_bench.py [--threads 2] [--reps 5]   (batch 16, as GradBench.swift)
"""
import argparse
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _venv  # noqa: E402

# (name, C, H, O, k, stride, pad) — names match GradBench.swift.
SHAPES = [
    ("conv1_7x7_3-64_224", 3, 224, 64, 7, 2, 3),
    ("layer1_3x3_64-64_56", 64, 56, 64, 3, 1, 1),
    ("layer2_3x3_128-128_28", 128, 28, 128, 3, 1, 1),
    ("layer3_3x3_256-256_14", 256, 14, 256, 3, 1, 1),
    ("layer4_3x3_512-512_7", 512, 7, 512, 3, 1, 1),
    ("layer2_1x1_64-128_56_s2", 64, 56, 128, 1, 2, 0),
]

WORKER = r'''
import json, sys, time, torch
threads, reps, batch, shapes = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), json.loads(sys.argv[4])
torch.set_num_threads(threads)
g = torch.Generator().manual_seed(0)
out = {}
for name, c, h, o, k, s, p in shapes:
    x = torch.rand(batch, c, h, h, generator=g)
    oh = (h + 2 * p - k) // s + 1
    dy = torch.rand(batch, o, oh, oh, generator=g)
    f = lambda: torch.nn.grad.conv2d_weight(x, (o, c, k, k), dy, stride=s, padding=p)
    f(); ts = []
    for _ in range(reps):
        t0 = time.perf_counter(); f(); ts.append(time.perf_counter() - t0)
    out[name] = min(ts)
print(json.dumps(out))
'''


def main():
    _venv.ensure_venv()
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", default="2")
    ap.add_argument("--reps", type=int, default=5)
    args = ap.parse_args()
    pkg = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Benchmarks")
    subprocess.check_call(["swift", "build", "-c", "release", "--product", "repro-bench"], cwd=pkg, stdout=sys.stderr)
    binp = subprocess.check_output(["swift", "build", "-c", "release", "--show-bin-path"], cwd=pkg, text=True).strip()
    print(f"{'shape':26} {'thr':>3} {'repro ms':>9} {'batched':>9} {'unfused':>9} {'torch':>9} {'/batched':>8} "
          f"{'unf/batch':>9} {'/torch':>7}")
    for t in [int(v) for v in args.threads.split(",")]:
        totals = [0.0, 0.0, 0.0, 0.0]
        lines = subprocess.check_output([os.path.join(binp, "repro-bench"), "--only", "wgrad", "--threads", str(t),
                                         "--reps", str(args.reps)], text=True).split("\n")
        repro = {f[1]: (float(f[3]), float(f[4]), float(f[6])) for f in (l.split() for l in lines) if f and f[0] == "wgrad"}
        env = dict(os.environ, OMP_NUM_THREADS=str(t))
        torch_t = json.loads(subprocess.check_output(
            [sys.executable, "-c", WORKER, str(t), str(args.reps), "16", json.dumps(SHAPES)], env=env))
        for name, *_ in SHAPES:
            ours, batched, unfused = repro[name]
            totals = [a + b for a, b in zip(totals, (ours, batched, unfused, torch_t[name]))]
            print(f"{name:26} {t:3d} {ours * 1e3:9.2f} {batched * 1e3:9.2f} {unfused * 1e3:9.2f} {torch_t[name] * 1e3:9.2f} "
                  f"{ours / batched:8.3f} {unfused / batched:9.3f} {ours / torch_t[name]:7.3f}")
        ours, batched, unfused, torch_s = totals
        print(f"{'total':26} {t:3d} {ours * 1e3:9.2f} {batched * 1e3:9.2f} {unfused * 1e3:9.2f} {torch_s * 1e3:9.2f} "
              f"{ours / batched:8.3f} {unfused / batched:9.3f} {ours / torch_s:7.3f}")


if __name__ == "__main__":
    main()
