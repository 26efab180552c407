#!/usr/bin/env python3
"""Checks `repro random` against the real libraries for seeds nobody chose: PyTorch 2.15, NumPy 2.x, CPython.

Draws random seeds (from os.urandom, printed so a failure can be replayed with --seeds), runs
`repro random STREAM --seed S --count N --format hex` for every stream, computes the same values
with torch / numpy / random, and compares bit patterns. Needs torch: creates scripts/.venv
(or uses REPRO_VENV). Never run by the tests or CI.

    python3 scripts/check_random_streams.py [--trials 20] [--seeds 1,2,3]
"""
import argparse
import os
import random
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..")


def ensure_venv():
    venv = os.environ.get("REPRO_VENV") or os.path.join(HERE, ".venv")
    py = os.path.join(venv, "bin", "python")
    if os.path.realpath(sys.prefix) == os.path.realpath(venv):
        return
    if not os.path.exists(py):
        subprocess.check_call([sys.executable, "-m", "venv", venv])
        subprocess.check_call([py, "-m", "pip", "install", "-q", "torch==2.15.0", "numpy==2.4.6"])
    os.execv(py, [py, *sys.argv])


ensure_venv()
sys.dont_write_bytecode = True  # no __pycache__ in scripts/
sys.path.insert(0, HERE)
from make_random_stream_vectors import reference as library_values  # noqa: E402  (imports torch, numpy)


def reference(stream, s, n):
    """The library's values in `--format hex` form, or None where the library refuses the seed."""
    try:
        return library_values(stream, s, n)
    except (ValueError, RuntimeError, OverflowError, TypeError):
        return None


def streams(rng):
    lo = rng.randrange(-1000, 1000)
    return [
        "torch.rand", "torch.rand64", "torch.randn", f"torch.randint:{lo}:{lo + rng.randrange(1, 2**40)}",
        f"torch.randint:0:{rng.randrange(1, 2**28)}", f"torch.randperm:{rng.randrange(1, 3000)}",
        f"torch.bernoulli:{rng.choice(['0.3', '0.5', '0.77'])}", f"torch.RandomSampler:{rng.randrange(1, 500)}",
        "numpy.legacy.random_sample", "numpy.legacy.standard_normal", f"numpy.legacy.randint:{lo}:{lo + rng.randrange(1, 2**40)}",
        f"numpy.legacy.permutation:{rng.randrange(1, 500)}", "numpy.default_rng.random", "numpy.default_rng.standard_normal",
        f"numpy.default_rng.integers:{lo}:{lo + rng.randrange(1, 2**50)}", f"numpy.default_rng.permutation:{rng.randrange(1, 500)}",
        "numpy.MT19937.raw", "numpy.PCG64.raw", "numpy.PCG64DXSM.raw", "numpy.Philox.raw", "numpy.SFC64.raw",
        "python.random", f"python.getrandbits:{rng.randrange(1, 200)}", f"python.randrange:{rng.randrange(1, 10**12)}",
        f"python.shuffle:{rng.randrange(1, 500)}", "python.gauss",
    ]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument("--seeds", help="comma-separated seeds to use instead of random ones")
    a = ap.parse_args()
    subprocess.check_call(["swift", "build", "-c", "release", "--product", "repro"], cwd=ROOT, stdout=sys.stderr)
    exe = os.path.join(subprocess.check_output(["swift", "build", "-c", "release", "--show-bin-path"], cwd=ROOT,
                                               text=True).strip(), "repro")
    rng = random.Random(int.from_bytes(os.urandom(8), "little"))
    seeds = [int(x) for x in a.seeds.split(",")] if a.seeds else [
        rng.choice([rng.randrange(0, 2**32), rng.randrange(0, 2**64), rng.randrange(-2**63, 0)]) for _ in range(a.trials)]
    checked = failed = 0
    for s in seeds:
        for stream in streams(rng):
            n = rng.choice([1, 5, 15, 16, 17, 40, 100])
            if stream.split(":")[0] in ("torch.randperm", "torch.RandomSampler", "numpy.legacy.permutation",
                                       "numpy.default_rng.permutation", "python.shuffle"):
                n = min(n, int(stream.split(":")[1]))
            want = reference(stream, s, n)
            env = dict(os.environ, REPRO_NO_REEXEC="1")
            r = subprocess.run([exe, "random", stream, "--seed", str(s), "--count", str(n)], capture_output=True,
                               text=True, env=env)
            if want is None:
                ok = r.returncode != 0
            else:
                ok = r.returncode == 0 and r.stdout.split() == want
            checked += 1
            if not ok:
                failed += 1
                print(f"MISMATCH seed={s} stream={stream} count={n}\n  repro: {r.stdout.split()[:6]} {r.stderr.strip()[:200]}\n"
                      f"  ref:   {None if want is None else want[:6]}")
    print(f"seeds: {','.join(map(str, seeds))}")
    print(f"{checked - failed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
