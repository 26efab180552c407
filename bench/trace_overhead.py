#!/usr/bin/env python3
"""What activation tracing costs: RetinaNet v2 (seeded), one image, forward pass with and without a
digest-only trace (`repro detect --profile` vs `repro detect --profile --profile-trace [--trace-digest D]`,
the same code path as `repro detect --trace` without writing the file), for each digest algorithm: SHA-256
(the default) and repro-nh-v1 (the fast digest).

Alternating rounds (plain, traced with each digest, plain, ...), each process with one warm-up pass then --runs timed
passes; prints the best and median total seconds of each and the overhead (traced / plain - 1), and the CPU
seconds one pass costs with and without tracing (from wait4's rusage, model construction subtracted), which a
busy machine disturbs less than wall time. The issue's target is <= 10 % with digests only.

--works adds SHA-256 traces that do only part of the work (`--profile-trace-work`): observe (entries only),
hold (outputs held as for hashing, nothing hashed);
the split says what the observed path, holding and hashing each cost. The last line per traced variant gives
the recorder's statistics for one pass (bytes hashed and reused).

    swift build -c release --product repro
    python3 bench/trace_overhead.py [--repro .build/release/repro] [--image Tests/Fixtures/detect/sample-scene.png]
                                    [--threads 2] [--runs 3] [--rounds 2] [--digests sha256,repro-nh-v1]
                                    [--works observe,hold]
The built-in sample scene (640x480) is resized to 800x1067 (canvas 800x1088), the reference shape.
"""
import argparse
import json
import os
import statistics
import subprocess

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))


STATS = {}


def run(repro, image, threads, runs, digest):
    """Wall seconds of each timed pass, and the process's CPU seconds (user + system, from wait4);
    `digest` None runs untraced; "sha256/W" traces with SHA-256 doing only the work W."""
    cmd = [repro, "detect", image, "--profile", "--profile-runs", str(runs), "--profile-warmup", "1",
           "--threads", str(threads), "--no-progress"]
    if digest:
        algorithm, _, work = digest.partition("/")
        cmd += ["--profile-trace", "--trace-digest", algorithm] + (["--profile-trace-work", work] if work else [])
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    out = p.stdout.read()
    _, status, usage = os.wait4(p.pid, 0)
    assert status == 0, cmd
    record = json.loads(out.strip().splitlines()[-1])
    if record.get("trace"):
        STATS[digest] = record["trace"]
    return [r["total"] for r in record["runs"]], usage.ru_utime + usage.ru_stime


def cpu_per_pass(repro, image, threads, runs, digest):
    """CPU seconds of one pass: (CPU of 1 + runs passes - CPU of 1 pass) / runs, so model construction cancels out."""
    return (run(repro, image, threads, 1 + runs, digest)[1] - run(repro, image, threads, 1, digest)[1]) / runs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repro", default=os.path.join(ROOT, ".build/release/repro"))
    ap.add_argument("--image", default=os.path.join(ROOT, "Tests/Fixtures/detect/sample-scene.png"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--digests", default="sha256,repro-nh-v1", help="comma-separated digest algorithms to measure")
    ap.add_argument("--works", default="", help="comma-separated partial SHA-256 traces to add: observe, hold")
    a = ap.parse_args()
    digests = a.digests.split(",") + ["sha256/" + w for w in a.works.split(",") if w]
    wall = {d: [] for d in [None] + digests}
    cpu = {d: [] for d in [None] + digests}
    for _ in range(a.rounds):
        for d in [None] + digests:
            wall[d] += run(a.repro, a.image, a.threads, a.runs, d)[0]
            cpu[d].append(cpu_per_pass(a.repro, a.image, a.threads, a.runs, d))
    load = open("/proc/loadavg").read().split()[:3] if os.path.exists("/proc/loadavg") else ["?"]
    plain = wall[None]
    print("| | best s | median s | overhead (best) | overhead (median) | CPU s per pass |\n| --- | ---: | ---: | ---: | ---: | ---: |")
    for d in [None] + digests:
        w = wall[d]
        print(f"| {'plain' if d is None else 'traced, ' + d} | {min(w):.3f} | {statistics.median(w):.3f} | "
              f"{100 * (min(w) / min(plain) - 1):+.1f} % | {100 * (statistics.median(w) / statistics.median(plain) - 1):+.1f} % | "
              f"{min(cpu[d]):.3f} |")
    print(f"({a.threads} threads, {len(plain)} timed passes each, load average {' '.join(load)}; CPU seconds are user + "
          f"system of all threads per pass, model construction subtracted, the least disturbed by other load)")
    for d in digests:
        extra = min(cpu[d]) - min(cpu[None])
        print(f"{d}: tracing adds {extra:.3f} s of CPU per pass, {100 * extra / min(cpu[None]):.1f} % of the plain pass's CPU")
    for d in digests:
        print(f"{d}: {STATS.get(d)}")


if __name__ == "__main__":
    main()
