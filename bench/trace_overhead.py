#!/usr/bin/env python3
"""What activation tracing costs: RetinaNet v2 (seeded), one image, forward pass with and without a
digest-only trace (`repro detect --profile` vs `repro detect --profile --profile-trace`, the same code path
as `repro detect --trace` without writing the file).

Alternating rounds (plain, traced, plain, traced, ...), each process with one warm-up pass then --runs timed
passes; prints the best and median total seconds of each and the overhead (traced / plain - 1). The issue's
target is <= 10 % with digests only.

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
    cmd = [repro, "detect", image, "--profile", "--profile-runs", str(runs), "--profile-warmup", "1",
           "--threads", str(threads), "--no-progress"] + (["--profile-trace"] if traced else [])
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    record = json.loads(out.strip().splitlines()[-1])
    return [r["total"] for r in record["runs"]]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repro", default=os.path.join(ROOT, ".build/release/repro"))
    ap.add_argument("--image", default=os.path.join(ROOT, "Tests/Fixtures/detect/sample-scene.png"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=2)
    a = ap.parse_args()
    plain, traced = [], []
    for _ in range(a.rounds):
        plain += run(a.repro, a.image, a.threads, a.runs, False)
        traced += run(a.repro, a.image, a.threads, a.runs, True)
    load = open("/proc/loadavg").read().split()[:3] if os.path.exists("/proc/loadavg") else ["?"]
    print(f"| | best s | median s |\n| --- | ---: | ---: |")
    print(f"| plain | {min(plain):.3f} | {statistics.median(plain):.3f} |")
    print(f"| traced (digests) | {min(traced):.3f} | {statistics.median(traced):.3f} |")
    print(f"overhead: best {100 * (min(traced) / min(plain) - 1):+.1f} %, median "
          f"{100 * (statistics.median(traced) / statistics.median(plain) - 1):+.1f} % "
          f"({a.threads} threads, {len(plain)} runs each, load average {' '.join(load)})")


if __name__ == "__main__":
    main()
