#!/usr/bin/env python3
"""The SHA-256 work of a digest-only trace, replayed in thread CPU time (docs/diagnosing.md, "Overhead").

Reads a trace JSON (`repro detect IMAGE --trace X.json`), writes one "bytes repeat" line per entry of its
first image (repeat = the entry's digest equals the previous entry's: the cases the recorder reuses), builds
bench/trace_hash_replay.c with the package's SHA-NI code and runs it (x86-64 with SHA-NI, clang or cc).

    .build/release/repro detect Tests/Fixtures/detect/sample-scene.png --trace /tmp/full.trace.json
    python3 bench/trace_hash_replay.py /tmp/full.trace.json
"""
import json
import math
import os
import subprocess
import sys
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))


def main():
    modules = json.load(open(sys.argv[1]))["images"][0]["modules"]
    itemsize = {"float32": 4, "float64": 8, "int64": 8, "uint8": 1}
    with tempfile.TemporaryDirectory() as tmp:
        sizes = os.path.join(tmp, "sizes.txt")
        with open(sizes, "w") as f:
            for i, m in enumerate(modules):
                repeat = int(i > 0 and m["sha256"] == modules[i - 1]["sha256"])
                f.write(f"{math.prod(m['shape']) * itemsize[m['dtype']]} {repeat}\n")
        exe = os.path.join(tmp, "replay")
        accel = os.path.join(ROOT, "Sources/_ReproDigestAccel")
        subprocess.run([os.environ.get("CC", "clang"), "-O2", "-I", os.path.join(accel, "include"), "-o", exe,
                        os.path.join(ROOT, "bench/trace_hash_replay.c"), os.path.join(accel, "sha256_shani.c")], check=True)
        total = sum(math.prod(m["shape"]) * itemsize[m["dtype"]] for m in modules)
        print(f"{len(modules)} entries, {total / 1e9:.3f} GB")
        subprocess.run([exe, sizes], check=True)
    print("load average", open("/proc/loadavg").read().split()[:3])


if __name__ == "__main__":
    main()
