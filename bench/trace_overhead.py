#!/usr/bin/env python3
"""What activation tracing costs: RetinaNet v2 (seeded), one image, forward pass with and without a
digest-only trace (`repro detect --profile` vs `repro detect --profile --profile-trace`, the same code path
as `repro detect --trace` without writing the file).

Alternating rounds (plain, traced, plain, traced, ...), each process with one warm-up pass then --runs timed
passes; prints the best and median total seconds of each and the overhead (traced / plain - 1), and the CPU
seconds one pass costs with and without tracing (from wait4's rusage, model construction subtracted), which a
busy machine disturbs less than wall time. The issue's target is <= 10 % with digests only.

    swift build -c release --product repro
    python3 bench/trace_overhead.py [--repro .build/release/repro] [--image Tests/Fixtures/detect/sample-scene.png]
                                    [--threads 2] [--runs 3] [--rounds 2]
The built-in sample scene (640x480) is resized to 800x1067 (canvas 800x1088), the reference shape.
"""
import argparse
import json
import os
import statistics
import subprocess

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))


def run(repro, image, threads, runs, traced):
    """Wall seconds of each timed pass, and the process's CPU seconds (user + system, from wait4)."""
    cmd = [repro, "detect", image, "--profile", "--profile-runs", str(runs), "--profile-warmup", "1",
           "--threads", str(threads), "--no-progress"] + (["--profile-trace"] if traced else [])
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    out = p.stdout.read()
    _, status, usage = os.wait4(p.pid, 0)
    assert status == 0, cmd
    record = json.loads(out.strip().splitlines()[-1])
    return [r["total"] for r in record["runs"]], usage.ru_utime + usage.ru_stime


def cpu_per_pass(repro, image, threads, runs, traced):
    """CPU seconds of one pass: (CPU of 1 + runs passes - CPU of 1 pass) / runs, so model construction cancels out."""
    return (run(repro, image, threads, 1 + runs, traced)[1] - run(repro, image, threads, 1, traced)[1]) / runs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repro", default=os.path.join(ROOT, ".build/release/repro"))
    ap.add_argument("--image", default=os.path.join(ROOT, "Tests/Fixtures/detect/sample-scene.png"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=2)
    a = ap.parse_args()
    plain, traced, cpu_plain, cpu_traced = [], [], [], []
    for _ in range(a.rounds):
        plain += run(a.repro, a.image, a.threads, a.runs, False)[0]
        traced += run(a.repro, a.image, a.threads, a.runs, True)[0]
        cpu_plain.append(cpu_per_pass(a.repro, a.image, a.threads, a.runs, False))
        cpu_traced.append(cpu_per_pass(a.repro, a.image, a.threads, a.runs, True))
    load = open("/proc/loadavg").read().split()[:3] if os.path.exists("/proc/loadavg") else ["?"]
    print(f"| | best s | median s |\n| --- | ---: | ---: |")
    print(f"| plain | {min(plain):.3f} | {statistics.median(plain):.3f} |")
    print(f"| traced (digests) | {min(traced):.3f} | {statistics.median(traced):.3f} |")
    print(f"overhead: best {100 * (min(traced) / min(plain) - 1):+.1f} %, median "
          f"{100 * (statistics.median(traced) / statistics.median(plain) - 1):+.1f} % "
          f"({a.threads} threads, {len(plain)} runs each, load average {' '.join(load)})")
    cp, ct = min(cpu_plain), min(cpu_traced)
    print(f"CPU seconds per pass (user + system, all threads; robust to other load): plain {cp:.3f}, traced {ct:.3f}; "
          f"tracing adds {ct - cp:.3f} s of CPU per pass, {100 * (ct - cp) / min(plain):.1f} % of the best plain wall time "
          f"if it runs on the critical path")


if __name__ == "__main__":
    main()
