#!/usr/bin/env python3
"""Times Repro's SGEMM and RetinaNet convolutions beside PyTorch and NumPy.

Runs, in one go and on the same shapes:
  * Repro: `swift run -c release --package-path Benchmarks repro-bench` (GFLOP/s lines),
  * PyTorch: torch.matmul and torch.nn.functional.conv2d (oneDNN), 1 and 2 threads,
  * NumPy/OpenBLAS: square matmul and the conv shapes as the equivalent GEMM
    (M = out channels, K = in channels x kernel area, N = output pixels), in a
    child process with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset (that
    command only) and OPENBLAS_NUM_THREADS = 1 or 2;
and prints a table of best-of-N GFLOP/s and ratios (Repro best / other best).
"repro NHWC" times Conv2d.forward(nhwc:) (no layout conversion; ratios use
the NCHW column); "repro direct" forces Conv2d.Algorithm.direct (on 3x3 stride-1
shapes the default is Winograd F(4x4,3x3); GFLOP/s there are "effective":
direct-convolution FLOPs / time). "repro cpu-time" divides by process CPU time instead of wall time (what the
code does when it has the cores to itself; see repro-bench). "% of peak" is
against the FMA peak measured in the same run at the same thread count (12
independent FMA chains per thread, best over the rounds; printed below), so the
column means the same on every CPU (a nominal clock-times-lanes figure does not:
boost clocks differ from machine to machine).

The script makes its own virtualenv in bench/.venv (torch 2.15, numpy) unless
REPRO_VENV points at an existing one. Usage:
    python3 bench/tensor_bench.py [--reps 5] [--threads 1,2] [--rounds 1] [--markdown]

--rounds R runs the three engines R times in alternation (Repro, then PyTorch and
NumPy per thread count) and keeps, for every engine and row, its best GFLOP/s over
the rounds (the median column is the median of the rounds' medians). On a shared VM
one engine's run can land in a slow minute; alternating rounds give every engine
the same chances, and best-of-rounds is symmetric.
"""
import argparse
import json
import os
import subprocess
import sys
import venv

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# (name, C_in, H, W, C_out, k, stride, pad) — names match repro-bench's.
CONVS = [
    ("3x3_256-256_100x136", 256, 100, 136, 256, 3, 1, 1),
    ("3x3_256-819_100x136", 256, 100, 136, 819, 3, 1, 1),
    ("1x1_1024-256_50x68", 1024, 50, 68, 256, 1, 1, 0),
    ("1x1_2048-256_25x34", 2048, 25, 34, 256, 1, 1, 0),
    ("3x3s2_512-512_50x68", 512, 50, 68, 512, 3, 2, 1),
    ("7x7s2_3-64_800x1088", 3, 800, 1088, 64, 7, 2, 3),
]
SQUARES = [512, 1024, 2048]


def ensure_venv():
    py = os.environ.get("REPRO_VENV")
    if py:
        return os.path.join(py, "bin", "python")
    path = os.path.join(ROOT, "bench", ".venv")
    python = os.path.join(path, "bin", "python")
    if not os.path.exists(python):
        venv.create(path, with_pip=True)
        subprocess.check_call([python, "-m", "pip", "install", "-q", "torch==2.15.*", "numpy"])
    return python


def conv_out(h, k, s, p):
    return (h + 2 * p - k) // s + 1


WORKER = r'''
import json, sys, time
lib, threads, reps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
convs = json.loads(sys.argv[4]); squares = json.loads(sys.argv[5])
def best(f):
    f(); ts = []
    for _ in range(reps):
        t0 = time.perf_counter(); f(); ts.append(time.perf_counter() - t0)
    ts.sort(); return ts[0], ts[len(ts) // 2]
out = []
if lib == "torch":
    import torch
    torch.set_num_threads(threads)
    g = torch.Generator().manual_seed(0)
    with torch.inference_mode():
        for n in squares:
            a = torch.rand(n, n, generator=g); b = torch.rand(n, n, generator=g)
            out.append(("gemm", f"{n}x{n}x{n}", 2.0 * n ** 3, best(lambda: torch.matmul(a, b))))
        for name, c, h, w, o, k, s, p in convs:
            x = torch.rand(1, c, h, w, generator=g); wt = torch.rand(o, c, k, k, generator=g)
            oh = (h + 2 * p - k) // s + 1; ow = (w + 2 * p - k) // s + 1
            f = lambda: torch.nn.functional.conv2d(x, wt, stride=s, padding=p)
            out.append(("conv", name, 2.0 * o * c * k * k * oh * ow, best(f)))
else:
    import numpy as np
    rng = np.random.default_rng(0)
    for n in squares:
        a = rng.random((n, n), dtype=np.float32); b = rng.random((n, n), dtype=np.float32)
        out.append(("gemm", f"{n}x{n}x{n}", 2.0 * n ** 3, best(lambda: a @ b)))
    for name, c, h, w, o, k, s, p in convs:
        oh = (h + 2 * p - k) // s + 1; ow = (w + 2 * p - k) // s + 1
        a = rng.random((o, c * k * k), dtype=np.float32); b = rng.random((c * k * k, oh * ow), dtype=np.float32)
        out.append(("conv", name, 2.0 * o * c * k * k * oh * ow, best(lambda: a @ b)))
print(json.dumps([(kind, name, flops / t[0] / 1e9, flops / t[1] / 1e9) for kind, name, flops, t in out]))
'''


def run_python(python, lib, threads, reps):
    env = dict(os.environ)
    if lib == "numpy":
        env.pop("OPENBLAS_CORETYPE", None)
        env.pop("OPENBLAS_L2_SIZE", None)
        env["OPENBLAS_NUM_THREADS"] = str(threads)
    env["OMP_NUM_THREADS"] = str(threads)
    out = subprocess.check_output(
        [python, "-c", WORKER, lib, str(threads), str(reps), json.dumps(CONVS), json.dumps(SQUARES)], env=env)
    return {(k, n): (b, m) for k, n, b, m in json.loads(out)}


def run_repro(threads, reps):
    pkg = os.path.join(ROOT, "Benchmarks")
    subprocess.check_call(["swift", "build", "-c", "release", "--package-path", pkg, "--product", "repro-bench"],
                          stdout=subprocess.DEVNULL)
    exe = os.path.join(pkg, ".build", "release", "repro-bench")
    out = subprocess.check_output([exe, "--threads", ",".join(map(str, threads)), "--reps", str(reps),
                                   "--algorithms", "direct"], text=True)
    res = {}
    for line in out.splitlines():
        kind, name, t, best, med, cpu = line.split()
        res[(kind, name, int(t))] = (float(best), float(med), float(cpu))
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args()
    threads = [int(t) for t in args.threads.split(",")]
    python = ensure_venv()

    def merge(acc, new):
        # Best over rounds; medians collected and reduced below.
        for key, val in new.items():
            best, med = val[0], val[1]
            old = acc.get(key)
            acc[key] = (max(best, old[0]) if old else best, (old[1] if old else []) + [med]) + tuple(
                max(a, b) for a, b in zip(val[2:], old[2:] if old else val[2:]))
        return acc

    def reduce(acc):
        return {k: (v[0], sorted(v[1])[len(v[1]) // 2]) + tuple(v[2:]) for k, v in acc.items()}

    repro_acc, torch_acc, numpy_acc = {}, {t: {} for t in threads}, {t: {} for t in threads}
    for rnd in range(args.rounds):
        if args.rounds > 1:
            print(f"round {rnd + 1}/{args.rounds}", file=sys.stderr)
        merge(repro_acc, run_repro(threads, args.reps))
        for t in threads:
            merge(torch_acc[t], run_python(python, "torch", t, args.reps))
            merge(numpy_acc[t], run_python(python, "numpy", t, args.reps))
    repro = reduce(repro_acc)
    rows = []
    for t in threads:
        torch_r = reduce(torch_acc[t])
        numpy_r = reduce(numpy_acc[t])
        # The FMA peak measured in this run at t threads (best over the rounds).
        peak = repro.get(("peak", "fma-chains", t), (float("nan"),))[0]
        for kind, name in [("gemm", f"{n}x{n}x{n}") for n in SQUARES] + [("conv", c[0]) for c in CONVS]:
            ours = repro.get((kind, name, t))
            if ours is None:
                continue
            tb = torch_r[(kind, name)][0]
            nb = numpy_r[(kind, name)][0]
            nhwc = repro.get(("conv-nhwc", name, t), (float("nan"),))[0]
            direct = repro.get(("conv-alg-direct", name, t), (float("nan"),))[0]
            rows.append((kind, name, t, ours[0], ours[1], ours[2], 100 * ours[0] / peak, nhwc, direct, tb, nb,
                         ours[0] / tb, ours[0] / nb, nhwc / tb, nhwc / nb))
    hdr = ("kind", "shape", "thr", "repro best", "repro median", "repro cpu-time", "% of peak", "repro NHWC",
           "repro direct", "torch", "numpy", "x torch", "x numpy", "NHWC x torch", "NHWC x numpy")
    if args.markdown:
        print("| " + " | ".join(hdr) + " |")
        print("|" + "---|" * len(hdr))
        for r in rows:
            print("| %s | %s | %d | %.1f | %.1f | %.1f | %.0f %% | %.1f | %.1f | %.1f | %.1f | %.2f | %.2f | %.2f | %.2f |" % r)
    else:
        print("%-5s %-22s %3s %10s %12s %14s %13s %10s %12s %8s %8s %8s %8s %12s %12s" % hdr)
        for r in rows:
            print("%-5s %-22s %3d %10.1f %12.1f %14.1f %12.0f%% %10.1f %12.1f %8.1f %8.1f %8.2f %8.2f %12.2f %12.2f" % r)
    for t in threads:
        print(f"# measured peak ({t} thread(s), 12 FMA chains): {repro.get(('peak', 'fma-chains', t), ('n/a',))[0]} GFLOP/s")


if __name__ == "__main__":
    main()
