#!/usr/bin/env python3
"""Generator throughput: Repro vs PyTorch 2.15, single thread, in one run.

Fills 10 M floats with Repro's Philox4x32 uniform and torch-compatible rand/randn
(TorchGenerator), and times torch.rand / torch.randn of the same size with one thread.
Prints seconds, Gfloat/s and the ratio (Repro throughput / torch throughput; > 1 is faster).

    python3 bench/rng_bench.py [--count N] [--repeats R]
"""
import argparse
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _venv  # noqa: E402

_venv.ensure_venv()

import torch  # noqa: E402


def best(repeats, fn):
    b = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        b = min(b, time.perf_counter() - t0)
    return b


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=10_000_000)
    ap.add_argument("--repeats", type=int, default=7)
    a = ap.parse_args()

    exe = _venv.build_swift_bench()
    ours = json.loads(subprocess.check_output([exe, "rng", "--count", str(a.count), "--repeats", str(a.repeats)]))
    torch.set_num_threads(1)
    g = torch.Generator().manual_seed(42)
    t = torch.empty(a.count)
    td = torch.empty(a.count, dtype=torch.float64)
    theirs = {
        "rand": best(a.repeats, lambda: t.uniform_(0, 1, generator=g)),
        "rand_f64": best(a.repeats, lambda: td.uniform_(0, 1, generator=g)),
        "randn": best(a.repeats, lambda: t.normal_(0, 1, generator=g)),
    }
    pairs = [
        ("Philox4x32 uniform (Float)", "philox_uniform", "rand"),
        ("TorchGenerator.rand (Float)", "torch_rand", "rand"),
        ("TorchGenerator.rand (Double)", "torch_rand_f64", "rand_f64"),
        ("TorchGenerator.randn (Float)", "torch_randn", "randn"),
    ]
    print(f"torch {torch.__version__}, capability {torch.backends.cpu.get_cpu_capability()}, 1 thread, "
          f"{a.count:,} elements, best of {a.repeats}")
    print(f"{'case':32} {'Repro s':>9} {'torch s':>9} {'ratio':>7}")
    for label, ok, tk in pairs:
        if ok not in ours["seconds"]:
            continue
        o, th = ours["seconds"][ok], theirs[tk]
        print(f"{label:32} {o:9.4f} {th:9.4f} {th / o:7.2f}x")


if __name__ == "__main__":
    main()
